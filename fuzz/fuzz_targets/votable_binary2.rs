//! cargo-fuzz target: see `votable::fuzzing::binary2`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    votable::fuzzing::binary2(data);
});
