//! Value types of the cluster state: statuses, GPU sets, what an instance registers and what a
//! task reserves.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The most GPUs one container instance may register; GPU sets are 64-bit masks.
///
/// The largest EC2 GPU instances carry 8 or 16 GPUs, so 64 leaves ample room.
pub const MAX_GPUS_PER_INSTANCE: usize = 64;

/// The most reserved (static) host ports one instance may hold per protocol, its
/// registration-time reserved ports included (RES-PORTS-CAP, CI-RESERVED-PORTS).
///
/// ECS says "100 reserved ports" without naming a protocol; stowplan applies the cap to the
/// `PORTS` and `PORTS_UDP` pools separately, because they are separate resources (inferred).
pub const MAX_RESERVED_PORTS: usize = 100;

/// The longest task group name (PL-GROUP-RULES).
pub const MAX_GROUP_LEN: usize = 255;

/// The longest attribute name or value (CI-ATTR-NAME-VALUE).
pub const MAX_ATTRIBUTE_LEN: usize = 128;

/// The status of a container instance (CI-STATUS-VALUES).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InstanceStatus {
    /// The instance accepts new tasks (the only status placement considers, PL-CANDIDATES).
    #[default]
    Active,
    /// The instance accepts no new tasks; its service tasks are being replaced (CI-DRAIN-EFFECT).
    Draining,
    /// The instance was deregistered; it holds no tasks (CI-DEREGISTER).
    Inactive,
    /// A trunk ENI is being provisioned (awsvpc trunking).
    Registering,
    /// Trunk ENI provisioning failed.
    RegistrationFailed,
    /// A trunked instance is being deregistered.
    Deregistering,
}

impl InstanceStatus {
    /// Returns the ECS spelling of the status, e.g. `ACTIVE`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Active => "ACTIVE",
            InstanceStatus::Draining => "DRAINING",
            InstanceStatus::Inactive => "INACTIVE",
            InstanceStatus::Registering => "REGISTERING",
            InstanceStatus::RegistrationFailed => "REGISTRATION_FAILED",
            InstanceStatus::Deregistering => "DEREGISTERING",
        }
    }
}

impl std::fmt::Display for InstanceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transport protocol: TCP and UDP host ports are separate pools (RES-PORTS-PROTOCOL).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP, the `PORTS` resource.
    Tcp,
    /// UDP, the `PORTS_UDP` resource.
    Udp,
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// A set of GPUs of one instance, as a bit mask over the instance's registered GPU ids: bit `k`
/// is the `k`-th id in registration order (RES-GPU).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct GpuSet(pub u64);

impl GpuSet {
    /// The empty set.
    pub const EMPTY: GpuSet = GpuSet(0);

    /// Returns the set of the first `n` GPUs, `0..n` (all 64 when `n >= 64`).
    #[must_use]
    pub fn first(n: usize) -> GpuSet {
        if n >= MAX_GPUS_PER_INSTANCE {
            GpuSet(u64::MAX)
        } else {
            GpuSet((1u64 << n) - 1)
        }
    }

    /// Returns the number of GPUs in the set.
    #[must_use]
    pub fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// Returns true when the set holds no GPU.
    #[must_use]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Returns true when the two sets share a GPU.
    #[must_use]
    pub fn intersects(self, other: GpuSet) -> bool {
        self.0 & other.0 != 0
    }

    /// Returns true when every GPU of `self` is in `other`.
    #[must_use]
    pub fn is_subset(self, other: GpuSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// Returns the positions in the set, lowest first.
    pub fn positions(self) -> impl Iterator<Item = usize> {
        (0..MAX_GPUS_PER_INSTANCE).filter(move |k| self.0 & (1u64 << k) != 0)
    }

    /// Returns the `n` lowest positions of `self`, or `None` when the set has fewer than `n`.
    ///
    /// This is RES-GPU's assignment rule: the lowest unassigned ids in registration order.
    #[must_use]
    pub fn lowest(self, n: u32) -> Option<GpuSet> {
        if self.len() < n {
            return None;
        }
        let mut rest = self.0;
        let mut chosen = 0u64;
        for _ in 0..n {
            let bit = rest & rest.wrapping_neg();
            chosen |= bit;
            rest &= !bit;
        }
        Some(GpuSet(chosen))
    }
}

/// What a container instance registers (CI-REGISTER-RESOURCES, CI-ATTR-AUTO).
///
/// Built with [`InstanceSpec::new`] and the `with_*` setters; validated by
/// [`ClusterState::register`](super::ClusterState::register).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceSpec {
    /// The container instance id (the last part of its ARN); unique in the cluster.
    pub id: String,
    /// The container instance ARN; unique in the cluster. Empty means "derive nothing": the
    /// state stores it as given and checks uniqueness only when non-empty.
    pub arn: String,
    /// The EC2 instance id (or SSM managed-instance id), if known.
    pub ec2_instance_id: Option<String>,
    /// Registered CPU units (`CPU`).
    pub cpu: u32,
    /// Registered memory in MiB (`MEMORY`).
    pub memory: u32,
    /// Reserved TCP host ports (`PORTS`), e.g. 22, 2375, 2376, 51678, 51679.
    pub ports_tcp: Vec<u16>,
    /// Reserved UDP host ports (`PORTS_UDP`).
    pub ports_udp: Vec<u16>,
    /// GPU ids in registration order (`GPU`).
    pub gpu_ids: Vec<String>,
    /// How many awsvpc task ENIs the instance can attach; `None` = unknown, treated as unlimited
    /// (RES-ENI).
    pub eni_capacity: Option<u32>,
    /// Attributes, built-in (`ecs.*`) and custom, name → optional value.
    pub attributes: BTreeMap<String, Option<String>>,
    /// The agent version (`versionInfo.agentVersion`), if known.
    pub agent_version: Option<String>,
    /// Registration time in epoch seconds, from the caller's logical clock.
    pub registered_at: i64,
}

impl InstanceSpec {
    /// Returns a spec for an instance with the given id, CPU units and MiB of memory, no reserved
    /// ports, no GPUs, unknown ENI capacity and no attributes.
    #[must_use]
    pub fn new(id: impl Into<String>, cpu: u32, memory: u32) -> InstanceSpec {
        InstanceSpec {
            id: id.into(),
            cpu,
            memory,
            ..InstanceSpec::default()
        }
    }

    /// Sets the ARN.
    #[must_use]
    pub fn with_arn(mut self, arn: impl Into<String>) -> InstanceSpec {
        self.arn = arn.into();
        self
    }

    /// Sets the EC2 instance id.
    #[must_use]
    pub fn with_ec2_instance_id(mut self, ec2_instance_id: impl Into<String>) -> InstanceSpec {
        self.ec2_instance_id = Some(ec2_instance_id.into());
        self
    }

    /// Sets the reserved TCP ports.
    #[must_use]
    pub fn with_ports_tcp(mut self, ports: Vec<u16>) -> InstanceSpec {
        self.ports_tcp = ports;
        self
    }

    /// Sets the reserved UDP ports.
    #[must_use]
    pub fn with_ports_udp(mut self, ports: Vec<u16>) -> InstanceSpec {
        self.ports_udp = ports;
        self
    }

    /// Sets the GPU ids.
    #[must_use]
    pub fn with_gpu_ids(mut self, gpu_ids: Vec<String>) -> InstanceSpec {
        self.gpu_ids = gpu_ids;
        self
    }

    /// Sets the ENI capacity.
    #[must_use]
    pub fn with_eni_capacity(mut self, eni_capacity: Option<u32>) -> InstanceSpec {
        self.eni_capacity = eni_capacity;
        self
    }

    /// Adds (or replaces) an attribute.
    #[must_use]
    pub fn with_attribute(mut self, name: impl Into<String>, value: Option<&str>) -> InstanceSpec {
        self.attributes
            .insert(name.into(), value.map(str::to_owned));
        self
    }

    /// Sets the agent version.
    #[must_use]
    pub fn with_agent_version(mut self, agent_version: impl Into<String>) -> InstanceSpec {
        self.agent_version = Some(agent_version.into());
        self
    }

    /// Sets the registration time (epoch seconds).
    #[must_use]
    pub fn with_registered_at(mut self, registered_at: i64) -> InstanceSpec {
        self.registered_at = registered_at;
        self
    }
}

/// What one task holds on its instance, exactly, from placement until it stops (RES-RELEASE).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// CPU units (RES-CPU).
    pub cpu: u32,
    /// MiB of memory (RES-MEMORY).
    pub memory: u32,
    /// Static TCP host ports (RES-PORTS-BY-MODE).
    pub ports_tcp: Vec<u16>,
    /// Static UDP host ports (RES-PORTS-PROTOCOL).
    pub ports_udp: Vec<u16>,
    /// The GPUs assigned to the task (RES-GPU).
    pub gpus: GpuSet,
    /// Whether the task holds one ENI attachment (awsvpc, RES-ENI).
    pub eni: bool,
}

/// A task as the state records it: where it runs, its group and its reservation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// The instance the task runs on.
    pub instance: InstanceIdx,
    /// The task group (PL-GROUP-DEFAULT), e.g. `family:web` or `service:api`.
    pub group: String,
    /// What the task holds.
    pub reservation: Reservation,
}

use super::InstanceIdx;

/// Returns true when `name` is a valid attribute name (CI-ATTR-NAME-VALUE): 1–128 characters of
/// letters, digits, `-`, `_`, `/`, `\`, `.`.
#[must_use]
pub fn is_valid_attribute_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ATTRIBUTE_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '\\' | '.'))
}

/// Returns true when `value` is a valid attribute value (CI-ATTR-NAME-VALUE): 1–128 characters of
/// letters, digits, `-`, `_`, `.`, `@`, `/`, `\`, `:`, space, not starting or ending with a space.
#[must_use]
pub fn is_valid_attribute_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_ATTRIBUTE_LEN
        && !value.starts_with(' ')
        && !value.ends_with(' ')
        && value.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '/' | '\\' | ':' | ' ')
        })
}
