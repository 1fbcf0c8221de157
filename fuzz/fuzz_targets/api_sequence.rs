//! `api_sequence`: see `stowplan_fuzz::checks::api_sequence` for what is checked on every input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = stowplan_fuzz::checks::api_sequence(data) {
        panic!("invariant broken: {violation}");
    }
});
