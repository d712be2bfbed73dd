//! cargo-fuzz target: calSelector association trees and multipart replies.
//! The first line of the input is the reply's content type, the rest its body; the whole
//! input is also parsed as a tree and, as text, as a cascade description.
//! Nothing may panic. Replayed by `crates/eso-calselector/tests/fuzz_corpus.rs`.
#![no_main]

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

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (first, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[data.len()..]),
    };
    let content_type = String::from_utf8_lossy(first);
    let content_type = content_type.trim_end_matches('\r');

    if let Ok((tree, _warnings)) = AssociationTree::parse(data) {
        exercise(&tree);
    }
    let _ = multipart::split(content_type, body);
    let limits = TreeLimits::default();
    if let Ok(documents) = multipart::parse_tree_reply(Some(content_type), body, &limits) {
        for doc in documents.iter().take(16) {
            if let Ok(tree) = &doc.tree {
                exercise(tree);
            }
        }
    }
    let _ = parse_description(&String::from_utf8_lossy(data));
});
