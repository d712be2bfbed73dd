//! Replays the committed corpus of the `uws_job` fuzz target (`fuzz/corpus/uws_job/`)
//! through the same calls as `fuzz/fuzz_targets/uws_job.rs`: every parser must return
//! `Ok` or `Err`, never panic.

use std::path::{Path, PathBuf};

use vo_tap::{uws, vosi};

/// The call sequence of the `uws_job` fuzz target (kept in step with it).
fn uws_job(data: &[u8]) {
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
}

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<(PathBuf, Vec<u8>)> = entries
        .map(|e| {
            let path = e
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path();
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, data)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn uws_job_corpus_never_panics() {
    let files = corpus("uws_job");
    assert!(files.len() >= 10, "corpus too small: {}", files.len());
    for (path, data) in &files {
        let outcome = std::panic::catch_unwind(|| uws_job(data));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn uws_job_corpus_holds_parseable_documents() {
    // The seeds must reach the parsers' success paths, not only their error paths.
    let files = corpus("uws_job");
    let jobs = files
        .iter()
        .filter(|(_, d)| uws::parse_job(d).is_ok())
        .count();
    let lists = files
        .iter()
        .filter(|(_, d)| uws::parse_job_list(d).is_ok())
        .count();
    let caps = files
        .iter()
        .filter(|(_, d)| vosi::parse_capabilities(d).is_ok())
        .count();
    let tables = files
        .iter()
        .filter(|(_, d)| vosi::parse_tableset(d).is_ok())
        .count();
    assert!(jobs >= 4, "only {jobs} job documents parse");
    assert!(lists >= 1, "no job list parses");
    assert!(caps >= 1, "no capabilities document parses");
    assert!(tables >= 1, "no tableset parses");
}
