//! The result of planning: per task, an instance or a failure; read-only until applied.

use crate::state::{ClusterState, GpuSet, InstanceIdx, Reservation, StateError, TaskId};

use super::{PlacementRequest, RequestError};

/// Plans `request` against `state`, changing nothing but the state's placement index (derived
/// data: see [`Engine`](super::Engine)).
///
/// Uses a scratch engine kept with the state, so repeated calls allocate nothing O(M).
///
/// # Errors
///
/// Only a malformed request ([`RequestError`]); tasks that fit nowhere are failures in the plan.
pub fn plan(state: &ClusterState, request: &PlacementRequest) -> Result<Plan, RequestError> {
    let mut cache = state.placement_index().lock();
    let super::persistent::IndexCache { scratch, index } = &mut *cache;
    scratch.run(state, request, index)
}

/// Why a task could not be placed (PL-FAIL-REASONS); `Display` gives ECS's `reason` string.
///
/// The variants from `Agent` to `DistinctInstance` are in PL-FAIL-CLOSEST's order, which is also
/// their `Ord`: a later variant means the instance got further.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureReason {
    /// `AGENT`: the agent is disconnected.
    Agent,
    /// `ATTRIBUTE`: a required attribute is missing.
    Attribute,
    /// `LOCATION`: the instance's AZ is not among the task's subnets' AZs.
    Location,
    /// `RESOURCE:CPU`.
    ResourceCpu,
    /// `RESOURCE:MEMORY`.
    ResourceMemory,
    /// `RESOURCE:GPU`.
    ResourceGpu,
    /// `RESOURCE:PORTS` (a TCP port in use, or the 100-port cap).
    ResourcePorts,
    /// `RESOURCE:PORTS_UDP`.
    ResourcePortsUdp,
    /// `RESOURCE:ENI`.
    ResourceEni,
    /// `MemberOf placement constraint unsatisfied.`
    MemberOf,
    /// `DistinctInstance placement constraint unsatisfied.`
    DistinctInstance,
    /// No instance is `ACTIVE`: `No Container Instances were found in your cluster.`
    /// (PL-RUNTASK-NO-INSTANCES; stowplan reports it per task, with no instance).
    NoContainerInstances,
}

impl FailureReason {
    /// Returns ECS's reason string.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Agent => "AGENT",
            FailureReason::Attribute => "ATTRIBUTE",
            FailureReason::Location => "LOCATION",
            FailureReason::ResourceCpu => "RESOURCE:CPU",
            FailureReason::ResourceMemory => "RESOURCE:MEMORY",
            FailureReason::ResourceGpu => "RESOURCE:GPU",
            FailureReason::ResourcePorts => "RESOURCE:PORTS",
            FailureReason::ResourcePortsUdp => "RESOURCE:PORTS_UDP",
            FailureReason::ResourceEni => "RESOURCE:ENI",
            FailureReason::MemberOf => "MemberOf placement constraint unsatisfied.",
            FailureReason::DistinctInstance => "DistinctInstance placement constraint unsatisfied.",
            FailureReason::NoContainerInstances => {
                "No Container Instances were found in your cluster."
            }
        }
    }
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A task that could not be placed: the reason of the closest instance, and which one it was
/// (PL-FAIL-CLOSEST). `instance` is `None` only for [`FailureReason::NoContainerInstances`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Failure {
    /// The reason, as ECS words it.
    pub reason: FailureReason,
    /// The closest matching instance.
    pub instance: Option<InstanceIdx>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason.as_str())
    }
}

/// A task placed on an instance, with the GPUs assigned to it (RES-GPU).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Placement {
    /// The instance.
    pub instance: InstanceIdx,
    /// The GPUs assigned (positions in the instance's registered GPU ids).
    pub gpus: GpuSet,
}

/// What happened to one task of the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Placed.
    Placed(Placement),
    /// Not placed.
    Failed(Failure),
}

impl Outcome {
    /// Returns the placement, if the task was placed.
    #[must_use]
    pub fn placement(&self) -> Option<&Placement> {
        match self {
            Outcome::Placed(placement) => Some(placement),
            Outcome::Failed(_) => None,
        }
    }

    /// Returns the failure, if the task was not placed.
    #[must_use]
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Outcome::Placed(_) => None,
            Outcome::Failed(failure) => Some(failure),
        }
    }
}

/// The planned placement of a batch: one [`Outcome`] per task, in order.
///
/// A plan only reads the state; [`Plan::apply`] commits it. It records the state's
/// [`version`](ClusterState::version) and refuses to apply to a state that changed since.
#[must_use = "a plan does nothing until it is applied"]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub(super) state_version: u64,
    pub(super) group: String,
    pub(super) reservation: Reservation,
    pub(super) outcomes: Vec<Outcome>,
    pub(super) rng_after: u64,
    pub(super) uses_state_rng: bool,
}

impl Plan {
    /// Returns one outcome per requested task, in order.
    #[must_use]
    pub fn outcomes(&self) -> &[Outcome] {
        &self.outcomes
    }

    /// Returns how many tasks were placed.
    #[must_use]
    pub fn n_placed(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|outcome| outcome.placement().is_some())
            .count()
    }

    /// Returns how many tasks failed.
    #[must_use]
    pub fn n_failed(&self) -> usize {
        self.outcomes.len() - self.n_placed()
    }

    /// Returns the random generator state after the batch.
    #[must_use]
    pub fn rng_after(&self) -> u64 {
        self.rng_after
    }

    /// Returns the state version the plan was made against.
    #[must_use]
    pub fn state_version(&self) -> u64 {
        self.state_version
    }

    /// Commits the plan: adds one task per placement (in order) and, for a request without a
    /// seed, stores the advanced generator state. Returns the new task ids in placement order.
    ///
    /// Either everything is committed or nothing changes.
    ///
    /// # Errors
    ///
    /// [`ApplyError::StaleState`] when the state changed since planning;
    /// [`ApplyError::State`] if the state refuses a task (the plan was made against another
    /// state with the same version), after undoing the tasks already added.
    pub fn apply(self, state: &mut ClusterState) -> Result<Vec<TaskId>, ApplyError> {
        if state.version() != self.state_version {
            return Err(ApplyError::StaleState {
                planned: self.state_version,
                current: state.version(),
            });
        }
        let version = state.version();
        let next_task_id = state.next_task_id().0;
        let mut task_ids = Vec::with_capacity(self.outcomes.len());
        for outcome in &self.outcomes {
            if let Outcome::Placed(placement) = outcome {
                let reservation = Reservation {
                    gpus: placement.gpus,
                    ..self.reservation.clone()
                };
                match state.add_task(placement.instance, &self.group, reservation) {
                    Ok(task_id) => task_ids.push(task_id),
                    Err(error) => {
                        state.roll_back(&task_ids, version, next_task_id);
                        return Err(ApplyError::State(error));
                    }
                }
            }
        }
        if self.uses_state_rng && state.placement_rng() != self.rng_after {
            state.set_placement_rng(self.rng_after);
        }
        Ok(task_ids)
    }
}

/// Why a plan could not be applied; the state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The state changed after the plan was made.
    #[error("the plan was made against state version {planned}, the state is at {current}")]
    StaleState {
        /// The version planned against.
        planned: u64,
        /// The version now.
        current: u64,
    },
    /// The state refused a task.
    #[error(transparent)]
    State(#[from] StateError),
}
