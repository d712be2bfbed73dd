//! Replays the committed corpus of the `datalink` fuzz target (`fuzz/corpus/datalink/`)
//! through the same calls as `fuzz/fuzz_targets/datalink.rs`: links parsing, service
//! descriptors, and a request for row 0 from every descriptor must return `Ok` or `Err`,
//! never panic.

use std::path::{Path, PathBuf};

use vo_datalink::BatchConfig;
use vo_datalink::descriptor::{self, NoRow};

/// The call sequence of the `datalink` fuzz target (kept in step with it).
fn datalink(data: &[u8]) {
    if let Ok((links, _warnings)) = vo_datalink::parse_links(data) {
        for link in links.links.iter().take(64) {
            let _ = link.http_url();
            let _ = link.to_json();
            let _ = links.descriptor_for(link);
        }
        let _ = links.by_id();
    }
    let Ok(votable) = votable::parse(data) else {
        return;
    };
    let (descriptors, _warnings) = descriptor::descriptors(&votable.document);
    let table = votable.tables().first();
    for desc in descriptors.iter().take(16) {
        let _ = desc.label();
        let _ = desc.describe();
        let _ = desc.access_url();
        match table {
            Some(table) => {
                let _ = desc.request_for_row(table, 0, &[]);
                let rows: Vec<usize> = (0..table.nrows().min(4)).collect();
                let _ = desc.batch_requests(table, &rows, &[], &BatchConfig::default());
            }
            None => {
                let _ = desc.request_for(&NoRow, &[]);
            }
        }
    }
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
fn datalink_corpus_never_panics() {
    let files = corpus("datalink");
    assert!(files.len() >= 10, "corpus too small: {}", files.len());
    for (path, data) in &files {
        let outcome = std::panic::catch_unwind(|| datalink(data));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn datalink_corpus_reaches_links_and_requests() {
    // The seeds must reach the success paths: links that parse, and descriptors that
    // produce a request for row 0 of a results table.
    let files = corpus("datalink");
    let links = files
        .iter()
        .filter(|(_, d)| vo_datalink::parse_links(d).is_ok())
        .count();
    let mut requests = 0;
    for (_, data) in &files {
        let Ok(votable) = votable::parse(data) else {
            continue;
        };
        let Some(table) = votable.tables().first() else {
            continue;
        };
        let (descriptors, _) = descriptor::descriptors(&votable.document);
        requests += descriptors
            .iter()
            .filter(|d| d.request_for_row(table, 0, &[]).is_ok())
            .count();
    }
    assert!(links >= 5, "only {links} links documents parse");
    assert!(requests >= 1, "no descriptor gives a request for row 0");
}
