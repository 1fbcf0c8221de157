//! # stowplan
//!
//! Amazon ECS orchestration modelled in memory, as a pure library: no I/O, no threads, no wall
//! clock, no global randomness. Same inputs, same bytes out.
//!
//! The crate is built in layers, each a module that imports only the ones below it
//! (ARCHITECTURE.md has the map):
//!
//! 1. [`json`]: JSON pointers (RFC 6901), input limits, parsing with line and column.
//! 2. [`model`]: serde types for the AWS ECS API shapes, faithful to `ecs-service-2.json`.
//! 3. [`validate`]: every rule ECS applies to a task definition, as diagnostics with JSON pointers.
//! 4. [`registry`]: task-definition families, revisions, ARNs and statuses.
//! 5. [`cql`]: the cluster query language (lexer, parser, printer, evaluator).
//! 6. [`state`] and [`placement`]: cluster state and the deterministic placement engine.
//! 7. [`planner`]: the offline capacity planner (vector bin packing with a bounded local search).
//! 8. [`iam`]: the IAM policy language and evaluator (no ECS knowledge inside).
//!
//! With the cargo feature `server`, `server` speaks ECS's JSON protocol over HTTP (the only
//! module that does I/O; the `stowplan-server` binary runs it).
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]
#![warn(missing_debug_implementations)]

pub mod api;
pub mod autoscaling;
pub mod control;
pub mod cql;
pub mod iam;
pub mod json;
pub mod model;
pub mod placement;
pub mod planner;
pub mod registry;
pub mod scenario;
pub mod schema;
#[cfg(feature = "server")]
pub mod server;
pub mod state;

pub mod validate;

// README.md's code compiles and runs as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
