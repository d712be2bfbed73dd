//! Replays the committed corpus of the `jwt_exp` fuzz target (`fuzz/corpus/jwt_exp/`)
//! through the same calls as `fuzz/fuzz_targets/jwt_exp.rs`: decoding never panics and
//! `expiry` agrees with the decoded claims.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use vo_auth::jwt::{decode_unverified, expiry};

/// The call sequence of the `jwt_exp` fuzz target (kept in step with it).
fn jwt_exp(data: &[u8]) {
    let token = String::from_utf8_lossy(data);
    let claims = decode_unverified(&token);
    assert_eq!(expiry(&token), claims.and_then(|c| c.expires_at));
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
fn jwt_exp_corpus_never_panics() {
    let files = corpus("jwt_exp");
    assert!(files.len() >= 10, "corpus too small: {}", files.len());
    for (path, data) in &files {
        let outcome = std::panic::catch_unwind(|| jwt_exp(data));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn jwt_exp_corpus_holds_the_expired_sample() {
    // The ESO sample token from seed 000 decodes, and its expiry lies in the past.
    let files = corpus("jwt_exp");
    let (_, data) = files
        .iter()
        .find(|(p, _)| p.ends_with("seed000_id_token.jwt"))
        .expect("seed000_id_token.jwt in the corpus");
    let token = String::from_utf8_lossy(data);
    let exp = expiry(&token).expect("the sample token has an exp claim");
    assert!(exp > SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000));
    assert!(exp < SystemTime::now());
}
