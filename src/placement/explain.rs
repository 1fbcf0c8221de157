//! Why each instance was or was not chosen, per task: the first filter that rejected it
//! (PL-FAIL-CLOSEST order) with the numbers, or the strategy keys that ranked it (PL-ORDER).
//!
//! Explanations come from the [`oracle`], which is slow but keeps every verdict;
//! the engine's plan is the same by test, so the explanation describes the engine's choice too.

use crate::state::{ClusterState, InstanceIdx, InstanceStatus};

use super::plan::{FailureReason, Outcome};
use super::{PlacementRequest, RequestError, oracle};

/// Explains every task of `request` against `state` (read-only). Costs about a full oracle run.
///
/// # Errors
///
/// Only a malformed request.
pub fn explain(
    state: &ClusterState,
    request: &PlacementRequest,
) -> Result<Explanation, RequestError> {
    oracle::decide(state, request).map(|(tasks, _)| Explanation { tasks })
}

/// The explanation of a batch: one entry per task, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// Per task.
    pub tasks: Vec<TaskExplanation>,
}

/// The explanation of one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskExplanation {
    /// What happened to the task.
    pub outcome: Outcome,
    /// Every instance in registration order, with its verdict.
    pub verdicts: Vec<(InstanceIdx, Verdict)>,
    /// How the winner was picked among the candidates with the best keys.
    pub decision: Decision,
}

/// How the winner was singled out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// No candidate: the task failed.
    NoCandidate,
    /// One candidate had strictly the best keys.
    Keys,
    /// `tied` candidates had the best keys before `random`; the draw picked the `k`-th
    /// (PL-RANDOM).
    Random {
        /// How many were tied.
        tied: usize,
        /// Which one, in registration order, from 0.
        k: usize,
    },
    /// `tied` candidates had equal keys; the one registered first won (PL-TIEBREAK).
    TieBreak {
        /// How many were tied.
        tied: usize,
    },
}

/// One instance's verdict for one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not `ACTIVE`: not considered (PL-CANDIDATES).
    NotCandidate(InstanceStatus),
    /// Rejected by a filter.
    Rejected(Rejection),
    /// Passed every filter; its keys, one per strategy rule before `random`.
    Ranked {
        /// The keys (remaining amount for binpack, bucket count for spread).
        keys: Vec<u64>,
    },
}

/// The first filter an instance failed, with the numbers that decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The agent is disconnected.
    Agent,
    /// A required attribute is missing or has another value.
    Attribute {
        /// The attribute.
        name: String,
        /// The value required, if any.
        value: Option<String>,
    },
    /// The instance's AZ is not one of the task's.
    Location {
        /// The instance's AZ, if it has one.
        zone: Option<String>,
    },
    /// Not enough CPU.
    Cpu {
        /// Asked for.
        requested: u32,
        /// Left.
        remaining: u32,
    },
    /// Not enough memory.
    Memory {
        /// Asked for.
        requested: u32,
        /// Left.
        remaining: u32,
    },
    /// Not enough free GPUs.
    Gpu {
        /// Asked for.
        requested: u32,
        /// Free.
        remaining: u32,
    },
    /// A TCP port problem.
    Ports(PortProblem),
    /// A UDP port problem.
    PortsUdp(PortProblem),
    /// No ENI attachment left.
    Eni {
        /// The capacity.
        capacity: u32,
        /// In use.
        used: u32,
    },
    /// The memberOf expression is false on the instance.
    MemberOf {
        /// The expression, as printed.
        expression: String,
    },
    /// The instance already holds a task of the group.
    DistinctInstance {
        /// The group.
        group: String,
    },
}

/// Why a port filter failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortProblem {
    /// The port is in use on the instance (reserved, or held by a task).
    InUse(u16),
    /// The task itself asks for the port twice (RES-PORTS-BY-MODE: never placeable).
    Repeated(u16),
    /// The instance would hold more than 100 reserved ports (RES-PORTS-CAP).
    Cap {
        /// Ports in use now.
        in_use: usize,
        /// Ports the task adds.
        requested: usize,
    },
}

impl Rejection {
    /// Returns the failure reason this rejection reports.
    #[must_use]
    pub fn reason(&self) -> FailureReason {
        match self {
            Rejection::Agent => FailureReason::Agent,
            Rejection::Attribute { .. } => FailureReason::Attribute,
            Rejection::Location { .. } => FailureReason::Location,
            Rejection::Cpu { .. } => FailureReason::ResourceCpu,
            Rejection::Memory { .. } => FailureReason::ResourceMemory,
            Rejection::Gpu { .. } => FailureReason::ResourceGpu,
            Rejection::Ports(_) => FailureReason::ResourcePorts,
            Rejection::PortsUdp(_) => FailureReason::ResourcePortsUdp,
            Rejection::Eni { .. } => FailureReason::ResourceEni,
            Rejection::MemberOf { .. } => FailureReason::MemberOf,
            Rejection::DistinctInstance { .. } => FailureReason::DistinctInstance,
        }
    }
}

impl std::fmt::Display for PortProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortProblem::InUse(port) => write!(f, "port {port} is in use"),
            PortProblem::Repeated(port) => write!(f, "the task asks for port {port} twice"),
            PortProblem::Cap { in_use, requested } => write!(
                f,
                "{in_use} ports in use + {requested} requested exceed the limit of {}",
                crate::state::MAX_RESERVED_PORTS
            ),
        }
    }
}

impl std::fmt::Display for Rejection {
    /// Writes the reason string, a colon, and the numbers, e.g.
    /// `RESOURCE:CPU: requested 512, remaining 256`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let reason = self.reason();
        match self {
            Rejection::Agent => write!(f, "{reason}: the agent is disconnected"),
            Rejection::Attribute {
                name,
                value: Some(value),
            } => {
                write!(f, "{reason}: requires {name} = {value}")
            }
            Rejection::Attribute { name, value: None } => write!(f, "{reason}: requires {name}"),
            Rejection::Location { zone } => {
                write!(
                    f,
                    "{reason}: availability zone {}",
                    zone.as_deref().unwrap_or("(none)")
                )
            }
            Rejection::Cpu {
                requested,
                remaining,
            }
            | Rejection::Memory {
                requested,
                remaining,
            }
            | Rejection::Gpu {
                requested,
                remaining,
            } => {
                write!(f, "{reason}: requested {requested}, remaining {remaining}")
            }
            Rejection::Ports(problem) | Rejection::PortsUdp(problem) => {
                write!(f, "{reason}: {problem}")
            }
            Rejection::Eni { capacity, used } => {
                write!(f, "{reason}: {used} of {capacity} attachments in use")
            }
            Rejection::MemberOf { expression } => write!(f, "{reason} ({expression})"),
            Rejection::DistinctInstance { group } => {
                write!(f, "{reason} (a task of {group} is already there)")
            }
        }
    }
}
