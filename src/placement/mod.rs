//! The deterministic placement engine: which container instance each task of a batch goes to,
//! or why it cannot go anywhere.
//!
//! # Pipeline (PL-ORDER)
//!
//! For each task of a [`PlacementRequest`], one after another (PL-BATCH):
//!
//! 1. **Candidates** (PL-CANDIDATES): `ACTIVE` instances with a connected agent. `ACTIVE`
//!    instances with a disconnected agent are rejected with `AGENT`; other statuses are not
//!    considered at all.
//! 2. **Filters**, in PL-FAIL-CLOSEST order, stopping at the first failure: `AGENT` →
//!    `ATTRIBUTE` → `LOCATION` → `RESOURCE:CPU` → `RESOURCE:MEMORY` → `RESOURCE:GPU` →
//!    `RESOURCE:PORTS` → `RESOURCE:PORTS_UDP` → `RESOURCE:ENI` → memberOf → distinctInstance.
//! 3. **Ranking** (PL-MULTI-STRATEGY): the strategy rules, lexicographically; `random` draws among
//!    the candidates tied on the earlier rules (see [`rng`]); remaining ties go to the instance
//!    registered first (PL-TIEBREAK).
//! 4. **Outcome**: a [`Placement`] (with GPU ids, RES-GPU), or a [`Failure`] naming the instance
//!    that got furthest in step 2 and its reason (PL-FAIL-CLOSEST).
//!
//! [`plan`] (or [`Engine::plan`]) only reads the state; [`Plan::apply`] commits. [`oracle`] is a
//! slow, obviously correct second implementation that the engine is tested against, and
//! [`explain()`] reports, per instance, why it was rejected or how it ranked.
//!
//! # Invariants (checked by property tests)
//!
//! - The engine and the oracle give the same plan for every state and request.
//! - Applying a plan never overcommits CPU, memory, GPUs or ENIs, never books a (port, protocol)
//!   twice on an instance, and never exceeds [`MAX_RESERVED_PORTS`](crate::state::MAX_RESERVED_PORTS).
//! - Every placement honours every constraint, counting earlier tasks of the batch.
//! - Placed plus failed equals the requested count.
//! - The same state, request and seed give the same plan.
//! - A plan that fails to apply leaves the state unchanged.

use crate::cql;
mod engine;
pub mod explain;
mod index;
pub mod oracle;
mod persistent;
mod plan;
mod request;
pub mod rng;
mod subject;

pub use engine::Engine;
pub use explain::{Explanation, Rejection, TaskExplanation, Verdict, explain};
pub(crate) use persistent::PlacementIndex;
pub use plan::{ApplyError, Failure, FailureReason, Outcome, Placement, Plan, plan};
pub use request::{
    BinpackField, Constraint, Demand, MAX_CONSTRAINTS, MAX_STRATEGY_RULES, MAX_TASKS_PER_PLAN,
    PlacementRequest, RequestError, SpreadField, StrategyRule, default_runtask_strategy,
};

#[cfg(test)]
mod tests;
