//! The ECS record of one task, kept compact: what changes over the task's life is stored,
//! what follows from its task definition is read from the shared definition when the task is
//! described ([`TaskRecord::to_model`]).
//!
//! A task used to hold a whole `model::Task` (about 1.4 KB of `Option`s before its strings,
//! plus a full `model::Container` per container). Issue 8 asks for at most 2 KiB per task in
//! the control plane and for RunTask at 200,000 tasks/s through the JSON API; both are spent
//! building, copying and freeing those structures. The record below keeps a handful of
//! strings, the statuses as one-byte enums and the task definition as an `Arc` shared with the
//! registry, and builds the AWS shape only when someone asks for it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{
    self, Attachment, Connectivity, Container, ContainerDefinition, HealthStatus, LaunchType,
    NetworkBinding, NetworkMode, TaskDefinition, TaskStopCode, Timestamp,
};
use crate::state::{InstanceIdx, TaskId};

/// A status on a task's or a container's path (TASK-TRANSITIONS), stored as one byte and
/// spelled as ECS spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    /// `PROVISIONING`: awsvpc resources, or waiting for capacity.
    Provisioning,
    /// `PENDING`.
    Pending,
    /// `ACTIVATING`.
    Activating,
    /// `RUNNING`.
    Running,
    /// `DEACTIVATING`.
    Deactivating,
    /// `STOPPING`.
    Stopping,
    /// `DEPROVISIONING`.
    Deprovisioning,
    /// `STOPPED`.
    Stopped,
}

impl TaskStatus {
    /// ECS's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Provisioning => "PROVISIONING",
            TaskStatus::Pending => "PENDING",
            TaskStatus::Activating => "ACTIVATING",
            TaskStatus::Running => "RUNNING",
            TaskStatus::Deactivating => "DEACTIVATING",
            TaskStatus::Stopping => "STOPPING",
            TaskStatus::Deprovisioning => "DEPROVISIONING",
            TaskStatus::Stopped => "STOPPED",
        }
    }
}

/// A task definition shared between the registry and the tasks launched from it. It is
/// written to snapshots as its ARN and linked back to the registry's revision on restore
/// ([`TaskRecord::relink`]); two records are equal when they name the same revision.
#[derive(Clone, Debug)]
pub(crate) struct SharedDefinition(pub(crate) Arc<TaskDefinition>);

impl SharedDefinition {
    fn arn(&self) -> &str {
        self.0.task_definition_arn.as_deref().unwrap_or_default()
    }
}

impl PartialEq for SharedDefinition {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.arn() == other.arn()
    }
}

impl Serialize for SharedDefinition {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.arn())
    }
}

impl<'de> Deserialize<'de> for SharedDefinition {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let arn = String::deserialize(deserializer)?;
        // A stand-in holding only the ARN until `relink` finds the revision.
        Ok(SharedDefinition(Arc::new(TaskDefinition {
            task_definition_arn: Some(arn),
            ..TaskDefinition::default()
        })))
    }
}

/// What changes on one container of a task; its name, image and sizes come from the task
/// definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContainerRecord {
    /// The UUID in its ARN.
    pub(crate) uuid: String,
    /// `lastStatus` (PENDING, RUNNING, STOPPED).
    pub(crate) last: TaskStatus,
    /// Whether it has started (it then has a `runtimeId`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) started: bool,
    /// `networkBindings`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) network_bindings: Vec<NetworkBinding>,
    /// `exitCode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) exit_code: Option<i32>,
    /// `reason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
}

/// The ECS record of one task: what DescribeTasks shows (built by [`TaskRecord::to_model`]),
/// plus the bookkeeping behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRecord {
    pub(crate) arn: String,
    pub(crate) definition: SharedDefinition,
    /// The reservation in the cluster's placement state, until the task stops.
    pub reservation: Option<TaskId>,
    /// The instance it runs on (EC2/EXTERNAL).
    pub instance: Option<InstanceIdx>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) container_instance_arn: Option<String>,
    /// Why the task will fail to start (its roles, spec §3.4), decided at launch; the agent
    /// stops it with `TaskFailedToStart` instead of starting it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_failure: Option<String>,
    pub(crate) last: TaskStatus,
    pub(crate) desired: TaskStatus,
    pub(crate) version: i64,
    pub(crate) launch_type: LaunchType,
    pub(crate) group: String,
    pub(crate) created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stopping_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stopped_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) execution_stopped_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pulled_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) connectivity: Option<Connectivity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) connectivity_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stop_code: Option<TaskStopCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stopped_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) started_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) health_status: Option<HealthStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) capacity_provider_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) platform_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) availability_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) overrides: Option<Box<model::TaskOverride>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) tags: Vec<model::Tag>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) attachments: Vec<Attachment>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) gpu_ids: Vec<String>,
    pub(crate) containers: Vec<ContainerRecord>,
}

impl TaskRecord {
    /// `taskArn`.
    pub fn task_arn(&self) -> &str {
        &self.arn
    }

    /// `lastStatus`.
    pub fn last_status(&self) -> &str {
        self.last.as_str()
    }

    /// `desiredStatus`.
    pub fn desired_status(&self) -> &str {
        self.desired.as_str()
    }

    /// `containerInstanceArn` (EC2/EXTERNAL tasks).
    pub fn container_instance_arn(&self) -> Option<&str> {
        self.container_instance_arn.as_deref()
    }

    /// Whether it runs on Fargate.
    pub fn is_fargate(&self) -> bool {
        matches!(self.launch_type, LaunchType::Fargate)
    }

    /// `stoppedReason`.
    pub fn stopped_reason(&self) -> Option<&str> {
        self.stopped_reason.as_deref()
    }

    /// `startedAt`: when it reached RUNNING.
    pub fn started_at(&self) -> Option<Timestamp> {
        self.started_at
    }

    /// `startedBy`.
    pub fn started_by(&self) -> Option<&str> {
        self.started_by.as_deref()
    }

    /// `taskDefinitionArn`.
    pub fn task_definition_arn(&self) -> &str {
        self.definition.arn()
    }

    /// The task definition's family (ListTasks `family`).
    pub fn family(&self) -> &str {
        self.definition.0.family.as_deref().unwrap_or_default()
    }

    /// The task definition it was launched from.
    pub fn definition(&self) -> &TaskDefinition {
        &self.definition.0
    }

    /// Whether it walks the awsvpc path (PROVISIONING, DEPROVISIONING).
    pub fn awsvpc(&self) -> bool {
        self.network_mode() == Some(&NetworkMode::Awsvpc)
    }

    /// The network mode of its task definition (absent = bridge).
    pub fn network_mode(&self) -> Option<&NetworkMode> {
        self.definition.0.network_mode.as_ref()
    }

    /// The container definitions, in order.
    pub(crate) fn container_definitions(&self) -> &[ContainerDefinition] {
        self.definition
            .0
            .container_definitions
            .as_deref()
            .unwrap_or_default()
    }

    /// The awsvpc task's ENI as its containers show it: (attachment id, private IPv4 address).
    pub(crate) fn eni(&self) -> Option<(Option<&str>, &str)> {
        let attachment = self.attachments.first()?;
        attachment
            .details
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|d| d.name.as_deref() == Some("privateIPv4Address"))
            .and_then(|d| d.value.as_deref())
            .map(|ip| (attachment.id.as_deref(), ip))
    }

    /// The launch's container overrides (none when it had no overrides).
    pub(crate) fn container_overrides(&self) -> &[model::ContainerOverride] {
        self.overrides
            .as_deref()
            .and_then(|o| o.container_overrides.as_deref())
            .unwrap_or_default()
    }

    /// Whether the container at `position` is essential (its exit stops the task).
    pub(crate) fn essential(&self, position: usize) -> bool {
        self.container_definitions()
            .get(position)
            .is_none_or(|c| c.essential.unwrap_or(true))
    }

    /// Moves `lastStatus` on one step, counting a new version.
    pub(crate) fn set_last(&mut self, status: TaskStatus) {
        self.last = status;
        self.bump();
    }

    /// Counts a change the task's `version` shows.
    pub(crate) fn bump(&mut self) {
        self.version += 1;
    }

    /// Desired STOPPED with `code` and `reason` (the version is the caller's to count).
    pub(crate) fn mark_stopping(&mut self, code: TaskStopCode, reason: impl Into<String>) {
        self.desired = TaskStatus::Stopped;
        self.stop_code = Some(code);
        self.stopped_reason = Some(reason.into());
    }

    /// Links the task definition back to the registry's revision after a restore.
    pub(crate) fn relink(&mut self, registry: &crate::registry::Registry) {
        if let Ok(shared) = registry.describe_shared(self.definition.arn()) {
            self.definition = SharedDefinition(Arc::clone(shared));
        }
    }

    /// The task as DescribeTasks shows it (TASK-DESCRIBE), tags included.
    pub fn to_model(&self) -> model::Task {
        let definition = &self.definition.0;
        let (prefix, cluster_name, task_id) = split_task_arn(&self.arn);
        let private_ip = self.eni();
        let container_overrides = self.container_overrides();
        let containers = self
            .container_definitions()
            .iter()
            .zip(&self.containers)
            .enumerate()
            .map(|(position, (container, state))| {
                let o = container_overrides
                    .iter()
                    .find(|c| c.name == container.name);
                let cpu = o.and_then(|o| o.cpu).or(container.cpu).unwrap_or(0);
                let memory = o.and_then(|o| o.memory).or(container.memory);
                let memory_reservation = o
                    .and_then(|o| o.memory_reservation)
                    .or(container.memory_reservation);
                let name = container.name.as_deref().unwrap_or_default();
                Container {
                    container_arn: Some(format!(
                        "{prefix}:container/{cluster_name}/{task_id}/{}",
                        state.uuid
                    )),
                    task_arn: Some(self.arn.clone()),
                    name: container.name.clone(),
                    image: container.image.clone(),
                    runtime_id: state.started.then(|| format!("{task_id}-{name}")),
                    last_status: Some(state.last.as_str().to_string()),
                    exit_code: state.exit_code,
                    reason: state.reason.clone(),
                    network_bindings: Some(state.network_bindings.clone()),
                    network_interfaces: Some(match private_ip {
                        Some((attachment_id, ip)) => vec![model::NetworkInterface {
                            attachment_id: attachment_id.map(str::to_string),
                            private_ipv4_address: Some(ip.to_string()),
                            ..Default::default()
                        }],
                        None => Vec::new(),
                    }),
                    cpu: Some(cpu.to_string()),
                    memory: memory.map(|m| m.to_string()),
                    memory_reservation: memory_reservation.map(|m| m.to_string()),
                    gpu_ids: (position == 0 && !self.gpu_ids.is_empty())
                        .then(|| self.gpu_ids.clone()),
                    ..Container::default()
                }
            })
            .collect();
        let fargate = self.is_fargate();
        model::Task {
            attachments: Some(self.attachments.clone()),
            availability_zone: self.availability_zone.clone(),
            capacity_provider_name: self.capacity_provider_name.clone(),
            cluster_arn: Some(format!("{prefix}:cluster/{cluster_name}")),
            connectivity: self.connectivity.clone(),
            connectivity_at: self.connectivity_at,
            container_instance_arn: self.container_instance_arn.clone(),
            containers: Some(containers),
            cpu: self
                .overrides
                .as_deref()
                .and_then(|o| o.cpu.clone())
                .or_else(|| definition.cpu.clone()),
            created_at: Some(self.created_at),
            desired_status: Some(self.desired.as_str().to_string()),
            enable_execute_command: Some(false),
            execution_stopped_at: self.execution_stopped_at,
            group: Some(self.group.clone()),
            health_status: self.health_status.clone(),
            last_status: Some(self.last.as_str().to_string()),
            launch_type: Some(self.launch_type.clone()),
            memory: self
                .overrides
                .as_deref()
                .and_then(|o| o.memory.clone())
                .or_else(|| definition.memory.clone()),
            overrides: Some(match self.overrides.as_deref() {
                Some(overrides) => overrides.clone(),
                None => model::TaskOverride {
                    container_overrides: Some(Vec::new()),
                    inference_accelerator_overrides: Some(Vec::new()),
                    ..Default::default()
                },
            }),
            platform_family: fargate.then(|| "Linux".to_string()),
            platform_version: self.platform_version.clone(),
            pull_started_at: self.pulled_at,
            pull_stopped_at: self.pulled_at,
            started_at: self.started_at,
            started_by: self.started_by.clone(),
            stop_code: self.stop_code.clone(),
            stopped_at: self.stopped_at,
            stopped_reason: self.stopped_reason.clone(),
            stopping_at: self.stopping_at,
            tags: Some(self.tags.clone()),
            task_arn: Some(self.arn.clone()),
            task_definition_arn: definition.task_definition_arn.clone(),
            version: Some(self.version),
            ephemeral_storage: definition.ephemeral_storage.clone(),
            ..model::Task::default()
        }
    }
}

/// `arn:…:task/<cluster>/<id>` → (`arn:…`, cluster name, id).
pub(crate) fn split_task_arn(arn: &str) -> (&str, &str, &str) {
    // `arn:aws:ecs:<region>:<account>` ends at the fifth colon.
    let Some((end, _)) = arn.match_indices(':').nth(4) else {
        return (arn, "", "");
    };
    let rest = arn[end + 1..]
        .strip_prefix("task/")
        .unwrap_or(&arn[end + 1..]);
    let (cluster, id) = rest.rsplit_once('/').unwrap_or(("", rest));
    (&arn[..end], cluster, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_arns_split_into_prefix_cluster_and_id() {
        assert_eq!(
            split_task_arn("arn:aws:ecs:us-east-1:123456789012:task/prod/abc"),
            ("arn:aws:ecs:us-east-1:123456789012", "prod", "abc")
        );
    }

    #[test]
    fn statuses_serialise_as_ecs_spells_them() {
        for status in [
            TaskStatus::Provisioning,
            TaskStatus::Pending,
            TaskStatus::Activating,
            TaskStatus::Running,
            TaskStatus::Deactivating,
            TaskStatus::Stopping,
            TaskStatus::Deprovisioning,
            TaskStatus::Stopped,
        ] {
            let json = serde_json::to_value(status).unwrap();
            assert_eq!(json, status.as_str());
            assert_eq!(serde_json::from_value::<TaskStatus>(json).unwrap(), status);
        }
    }
}
