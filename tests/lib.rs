//! The one integration-test binary (it links once): a module per surface.

mod model;
mod support;
mod validate;
mod validate_a;
