//! cargo-fuzz target: see `votable::fuzzing::tabledata`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    votable::fuzzing::tabledata(data);
});
