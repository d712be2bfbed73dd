//! cargo-fuzz target: UWS job documents and job lists, plus the VOSI parsers
//! (capabilities, availability, tableset, single table). Bytes in, `Ok` or `Err` out:
//! nothing may panic. Replayed by `crates/vo-tap/tests/fuzz_corpus.rs`.
#![no_main]

use vo_tap::{uws, vosi};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(job) = uws::parse_job(data) {
        let _ = job.main_result();
        let _ = job.parameter("QUERY");
    }
    let _ = uws::parse_job_list(data);
    let _ = uws::parse_phase(data);
    if let Ok(caps) = vosi::parse_capabilities(data) {
        let _ = caps.tap();
        let _ = caps.supports(vosi::TAP_STANDARD_ID);
    }
    let _ = vosi::parse_availability(data);
    if let Ok(set) = vosi::parse_tableset(data) {
        let names: Vec<String> = set.tables().take(64).map(|t| t.name.clone()).collect();
        for name in &names {
            assert!(
                set.table(name).is_some(),
                "listed table {name:?} not found by name"
            );
        }
    }
    let _ = vosi::parse_table(data);
});
