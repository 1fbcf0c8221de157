//! The rules, one file per area of the catalogue (`shared/spec/taskdef-rules.md`).
//!
//! Each area exposes `check(&mut Context)`; [`check_all`] runs them in the catalogue's order of
//! checks (§8), though the order only matters for the API facade, which reports the first error.

use super::Context;

mod container;
mod deps;
mod lint;
mod linux;
mod logging;
mod platform;
mod ports;
mod resources;
mod storage;
mod task;

/// Runs every rule over the request in `context`.
pub(super) fn check_all(context: &mut Context<'_>) {
    task::check(context);
    container::check(context);
    ports::check(context);
    deps::check(context);
    storage::check(context);
    logging::check(context);
    linux::check(context);
    resources::check(context);
    platform::check(context);
    lint::check(context);
}
