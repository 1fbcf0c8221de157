//! `iam`: see `stowplan_fuzz::checks::iam` for what is checked on every input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = stowplan_fuzz::checks::iam(data) {
        panic!("invariant broken: {violation}");
    }
});
