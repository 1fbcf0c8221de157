//! The one error type of the `state` surface.

use super::{InstanceIdx, InstanceStatus, Protocol, TaskId};

/// Why a state operation was refused. The state is unchanged whenever one is returned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The instance id is already registered.
    #[error("container instance id {0:?} is already registered")]
    DuplicateInstanceId(String),
    /// The instance ARN is already registered.
    #[error("container instance ARN {0:?} is already registered")]
    DuplicateInstanceArn(String),
    /// The instance id is empty.
    #[error("a container instance id must not be empty")]
    EmptyInstanceId,
    /// The state already holds `u32::MAX` instances.
    #[error("the cluster state cannot hold more than {max} container instances")]
    TooManyInstances {
        /// The limit.
        max: u64,
    },
    /// No instance has this index.
    #[error("no container instance has index {0}")]
    UnknownInstance(InstanceIdx),
    /// The operation needs an instance that is not `INACTIVE`.
    #[error("container instance {0} is INACTIVE (deregistered)")]
    InstanceInactive(InstanceIdx),
    /// `INACTIVE` is reached only through deregistration.
    #[error("status {0} cannot be set directly: deregister the instance instead")]
    StatusNotSettable(InstanceStatus),
    /// Deregistration without `force` while tasks run (CI-DEREGISTER).
    #[error("Found running tasks on the instance.")]
    TasksStillRunning {
        /// The instance.
        instance: InstanceIdx,
        /// How many tasks it holds.
        tasks: usize,
    },
    /// A port number of 0 (a dynamic port is not a reservation).
    #[error("port 0 ({protocol}) cannot be reserved: dynamic ports are not reservations")]
    PortZero {
        /// The protocol.
        protocol: Protocol,
    },
    /// The same port appears twice in one list.
    #[error("port {port} ({protocol}) is listed twice")]
    DuplicatePort {
        /// The port.
        port: u16,
        /// The protocol.
        protocol: Protocol,
    },
    /// The port is already in use on the instance.
    #[error("port {port} ({protocol}) is already in use on container instance {instance}")]
    PortInUse {
        /// The instance.
        instance: InstanceIdx,
        /// The port.
        port: u16,
        /// The protocol.
        protocol: Protocol,
    },
    /// More than `MAX_RESERVED_PORTS` static ports of one protocol on one instance
    /// (RES-PORTS-CAP).
    #[error(
        "{requested} reserved {protocol} ports on one container instance exceed the limit of {max}"
    )]
    TooManyReservedPorts {
        /// The protocol.
        protocol: Protocol,
        /// How many ports the instance would hold.
        requested: usize,
        /// The limit.
        max: usize,
    },
    /// More GPU ids than `MAX_GPUS_PER_INSTANCE`.
    #[error("{requested} GPU ids exceed the limit of {max} per container instance")]
    TooManyGpus {
        /// How many were given.
        requested: usize,
        /// The limit.
        max: usize,
    },
    /// A GPU id is listed twice or is empty.
    #[error("GPU id {0:?} is empty or listed twice")]
    InvalidGpuId(String),
    /// The attribute name breaks CI-ATTR-NAME-VALUE.
    #[error("invalid attribute name {0:?}: 1-128 letters, digits, '-', '_', '/', '\\' or '.'")]
    InvalidAttributeName(String),
    /// The attribute value breaks CI-ATTR-NAME-VALUE.
    #[error(
        "invalid value {value:?} for attribute {name:?}: 1-128 letters, digits, '-', '_', '.', '@', '/', '\\', ':' or inner spaces"
    )]
    InvalidAttributeValue {
        /// The attribute name.
        name: String,
        /// The value.
        value: String,
    },
    /// The group name is empty or longer than `MAX_GROUP_LEN` (PL-GROUP-RULES).
    #[error("task group {0:?} must be 1-255 characters")]
    InvalidGroup(String),
    /// Not enough CPU left on the instance (RES-CPU).
    #[error(
        "container instance {instance} has {remaining} CPU units left, the task needs {requested}"
    )]
    InsufficientCpu {
        /// The instance.
        instance: InstanceIdx,
        /// What the task asked for.
        requested: u32,
        /// What was left.
        remaining: u32,
    },
    /// Not enough memory left on the instance (RES-MEMORY).
    #[error("container instance {instance} has {remaining} MiB left, the task needs {requested}")]
    InsufficientMemory {
        /// The instance.
        instance: InstanceIdx,
        /// What the task asked for.
        requested: u32,
        /// What was left.
        remaining: u32,
    },
    /// A GPU asked for is not registered on the instance or is assigned to another task (RES-GPU).
    #[error("GPUs {requested:#x} are not all free on container instance {instance}")]
    GpuUnavailable {
        /// The instance.
        instance: InstanceIdx,
        /// The mask asked for.
        requested: u64,
    },
    /// No ENI attachment left on the instance (RES-ENI).
    #[error("container instance {instance} has no ENI attachment left (capacity {capacity})")]
    EniExhausted {
        /// The instance.
        instance: InstanceIdx,
        /// Its capacity.
        capacity: u32,
    },
    /// No task with this id was ever added.
    #[error("unknown task {0}")]
    UnknownTask(TaskId),
    /// The task was released before (or orphaned by a forced deregistration).
    #[error("task {0} was already released")]
    TaskAlreadyReleased(TaskId),
    /// A restored snapshot is inconsistent (e.g. a task id at or above `next_task_id`).
    #[error("inconsistent snapshot: {0}")]
    InconsistentSnapshot(String),
}
