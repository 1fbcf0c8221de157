//! The one integration-test binary (it links once): a module per surface.

mod api_props;
mod availability_props;
mod capacity;
mod cql;
mod fuzz_replay;
mod iam;
mod iam_ecs;
mod limits;
mod model;
mod placement;
mod planner;
mod roundtrip;
mod scenarios;
mod services_props;
mod support;
mod validate;
mod validate_a;
mod validate_b;
