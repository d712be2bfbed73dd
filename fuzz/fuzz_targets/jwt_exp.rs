//! cargo-fuzz target: unverified JWT decoding and the expiry derived from it, on the input
//! read as UTF-8 (lossy). Nothing may panic, and `expiry` must agree with the decoded claims.
//! Replayed by `crates/vo-auth/tests/fuzz_corpus.rs`.
#![no_main]

use vo_auth::jwt::{decode_unverified, expiry};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let claims = decode_unverified(&token);
    assert_eq!(expiry(&token), claims.and_then(|c| c.expires_at));
});
