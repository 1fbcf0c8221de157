//! The serialisable form of a [`ClusterState`]: canonical order, rebuilt and re-validated on load.

use serde::{Deserialize, Serialize};

use super::{ClusterState, InstanceSpec, InstanceStatus, Reservation, StateError, Task, TaskId};

/// A whole cluster state as data: instances in registration order, tasks by id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSnapshot {
    /// The mutation counter ([`ClusterState::version`]).
    pub version: u64,
    /// The next task id to be issued.
    pub next_task_id: u64,
    /// The placement random generator state.
    pub placement_rng: u64,
    /// The instances, in registration order.
    pub instances: Vec<InstanceSnapshot>,
}

/// One instance in a [`StateSnapshot`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceSnapshot {
    /// What it registered (attributes as they are now).
    pub spec: InstanceSpec,
    /// Its status.
    pub status: InstanceStatus,
    /// Whether its agent is connected.
    pub agent_connected: bool,
    /// The tasks it holds, in id order.
    pub tasks: Vec<TaskSnapshot>,
}

/// One task in an [`InstanceSnapshot`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSnapshot {
    /// The task id.
    pub id: TaskId,
    /// The task group.
    pub group: String,
    /// What it holds.
    pub reservation: Reservation,
}

pub(super) fn to_snapshot(state: &ClusterState) -> StateSnapshot {
    StateSnapshot {
        version: state.version,
        next_task_id: state.next_task_id,
        placement_rng: state.placement_rng,
        instances: state
            .instances
            .iter()
            .map(|instance| InstanceSnapshot {
                spec: instance.spec.clone(),
                status: instance.status,
                agent_connected: instance.agent_connected,
                tasks: instance
                    .tasks
                    .iter()
                    .filter_map(|task_id| {
                        state.tasks.get(task_id).map(|task| TaskSnapshot {
                            id: *task_id,
                            group: task.group.clone(),
                            reservation: task.reservation.clone(),
                        })
                    })
                    .collect(),
            })
            .collect(),
    }
}

pub(super) fn from_snapshot(snapshot: StateSnapshot) -> Result<ClusterState, StateError> {
    let mut state = ClusterState::new();
    for instance in snapshot.instances {
        let instance_idx = state.register(instance.spec)?;
        for task in instance.tasks {
            if task.id.0 >= snapshot.next_task_id {
                return Err(StateError::InconsistentSnapshot(format!(
                    "task {} is not below next_task_id {}",
                    task.id, snapshot.next_task_id
                )));
            }
            if state.tasks.contains_key(&task.id) {
                return Err(StateError::InconsistentSnapshot(format!(
                    "task {} appears twice",
                    task.id
                )));
            }
            state.check_task(instance_idx, &task.group, &task.reservation)?;
            state.hold(
                task.id,
                Task {
                    instance: instance_idx,
                    group: task.group,
                    reservation: task.reservation,
                },
            );
        }
        if instance.status == InstanceStatus::Inactive {
            if !state.instances[instance_idx.as_usize()].tasks.is_empty() {
                return Err(StateError::InconsistentSnapshot(format!(
                    "INACTIVE instance {instance_idx} holds tasks"
                )));
            }
            state.instances[instance_idx.as_usize()].status = InstanceStatus::Inactive;
            state.placement_index.touch(instance_idx.as_usize());
        } else {
            state.set_status(instance_idx, instance.status)?;
        }
        state.set_agent_connected(instance_idx, instance.agent_connected)?;
        state.refresh_candidate(instance_idx);
    }
    state.next_task_id = snapshot.next_task_id;
    state.version = snapshot.version;
    state.placement_rng = snapshot.placement_rng;
    Ok(state)
}

impl Serialize for ClusterState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_snapshot().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ClusterState {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let snapshot = StateSnapshot::deserialize(deserializer)?;
        ClusterState::from_snapshot(snapshot).map_err(serde::de::Error::custom)
    }
}
