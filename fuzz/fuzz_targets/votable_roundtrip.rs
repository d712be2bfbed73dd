//! cargo-fuzz target: see `votable::fuzzing::roundtrip`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    votable::fuzzing::roundtrip(data);
});
