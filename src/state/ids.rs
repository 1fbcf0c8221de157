//! Small exact identifiers: an instance is a `u32` index, a task a `u64` sequence number.

use serde::{Deserialize, Serialize};

/// The index of a container instance in its [`ClusterState`](super::ClusterState), which is also
/// its registration order: the first instance registered is `InstanceIdx(0)`.
///
/// Indexes are never reused: a deregistered instance stays in the state as `INACTIVE`, so an index
/// handed out once names the same instance for the life of the state. Comparing two indexes
/// compares registration sequence numbers (PL-TIEBREAK).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct InstanceIdx(pub u32);

impl InstanceIdx {
    /// Returns the index as a `usize`, for indexing the state's flat per-instance arrays.
    #[must_use]
    pub fn as_usize(self) -> usize {
        // A u32 always fits a usize on the 32- and 64-bit targets the crate supports.
        self.0 as usize
    }

    /// Returns the index for position `position` of a per-instance array, or `None` when the
    /// position does not fit a `u32` (more than four billion instances).
    #[must_use]
    pub fn from_usize(position: usize) -> Option<InstanceIdx> {
        u32::try_from(position).ok().map(InstanceIdx)
    }
}

impl std::fmt::Display for InstanceIdx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The identifier the state gives a task reservation when it is added.
///
/// Task ids are handed out in increasing order and never reused, so a released id can be told
/// apart from one that was never issued (`StateError::TaskAlreadyReleased` versus
/// `StateError::UnknownTask`). The control plane maps its task ARNs onto these ids.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct TaskId(pub u64);

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "task-{}", self.0)
    }
}
