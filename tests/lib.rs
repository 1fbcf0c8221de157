//! The one integration-test binary: modules per surface.

mod placement;
