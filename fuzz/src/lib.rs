//! Fuzz targets for stowplan. The checks live in [`checks`], which the main crate's
//! `tests/fuzz_replay.rs` also includes, so `cargo test` replays the corpus through the very
//! same invariants.
#![forbid(unsafe_code)]

pub mod checks;
