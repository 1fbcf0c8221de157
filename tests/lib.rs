//! The one integration-test binary (it links once): a module per surface.

mod cql;
mod model;
mod placement;
mod planner;
mod roundtrip;
mod support;
mod validate;
mod validate_a;
mod validate_b;
