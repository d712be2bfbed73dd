//! Replays the committed corpus of the `calselector_tree` fuzz target
//! (`fuzz/corpus/calselector_tree/`) through the same calls as
//! `fuzz/fuzz_targets/calselector_tree.rs`: the first line of a file is the reply's content
//! type, the rest its body. Every call must return `Ok` or `Err`, never panic.

use std::path::{Path, PathBuf};

use eso_calselector::{AssociationTree, TreeLimits, multipart, parse_description};

fn exercise(tree: &AssociationTree) {
    let _ = tree.nodes();
    let _ = tree.files();
    let _ = tree.calibration_files();
    let _ = tree.all_certified_and_complete();
    let _ = tree.to_text();
    let _ = tree.to_json();
    let _ = tree.to_dot();
}

/// Splits the input into the content type (first line) and the body (the rest).
fn content_type_and_body(data: &[u8]) -> (String, &[u8]) {
    let (first, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[data.len()..]),
    };
    let content_type = String::from_utf8_lossy(first);
    (content_type.trim_end_matches('\r').to_owned(), body)
}

/// The call sequence of the `calselector_tree` fuzz target (kept in step with it).
fn calselector_tree(data: &[u8]) {
    let (content_type, body) = content_type_and_body(data);
    if let Ok((tree, _warnings)) = AssociationTree::parse(data) {
        exercise(&tree);
    }
    let _ = multipart::split(&content_type, body);
    let limits = TreeLimits::default();
    if let Ok(documents) = multipart::parse_tree_reply(Some(&content_type), body, &limits) {
        for doc in documents.iter().take(16) {
            if let Ok(tree) = &doc.tree {
                exercise(tree);
            }
        }
    }
    let _ = parse_description(&String::from_utf8_lossy(data));
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
fn calselector_tree_corpus_never_panics() {
    let files = corpus("calselector_tree");
    assert!(files.len() >= 10, "corpus too small: {}", files.len());
    for (path, data) in &files {
        let outcome = std::panic::catch_unwind(|| calselector_tree(data));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn calselector_tree_corpus_reaches_trees_and_parts() {
    // The seeds must reach the success paths: whole trees, and multipart replies whose
    // parts hold trees.
    let files = corpus("calselector_tree");
    let trees = files
        .iter()
        .filter(|(_, d)| AssociationTree::parse(d).is_ok())
        .count();
    let mut part_trees = 0;
    for (_, data) in &files {
        let (content_type, body) = content_type_and_body(data);
        if !content_type.starts_with("multipart/") {
            continue;
        }
        if let Ok(documents) =
            multipart::parse_tree_reply(Some(&content_type), body, &TreeLimits::default())
        {
            part_trees += documents.iter().filter(|d| d.tree.is_ok()).count();
        }
    }
    assert!(trees >= 2, "only {trees} trees parse");
    assert!(
        part_trees >= 2,
        "only {part_trees} multipart parts hold a tree"
    );
}
