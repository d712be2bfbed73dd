//! cargo-fuzz target: the HTTP header parsers of `vo-download` (`Content-Range`, `Range`,
//! `Retry-After`, `ETag`, `Content-Disposition`) and the file-name sanitizer.
//! The whole input and each of its lines are tried as a header value. Asserted inside the
//! target: a sanitized name is one normal path component, so joining it to a directory
//! stays inside that directory. Replayed by `crates/vo-download/tests/fuzz_corpus.rs`.
#![no_main]

use std::path::{Component, Path};
use std::time::{Duration, SystemTime};

use vo_download::headers::{parse_content_range, parse_etag, parse_range, parse_retry_after};
use vo_download::name::{MAX_NAME_BYTES, parse_content_disposition, sanitize_file_name};

fn check_name(raw: &str) {
    let Ok(name) = sanitize_file_name(raw) else {
        return;
    };
    let dir = Path::new("downloads");
    let joined = dir.join(&name);
    assert_eq!(joined.parent(), Some(dir), "{raw:?} sanitized to {name:?}");
    let mut components = Path::new(&name).components();
    assert!(
        matches!(components.next(), Some(Component::Normal(c)) if c == name.as_str())
            && components.next().is_none(),
        "{raw:?} sanitized to {name:?}, not a single normal component"
    );
    assert!(!name.is_empty() && name.len() <= MAX_NAME_BYTES, "{name:?}");
}

fn value(raw: &[u8]) {
    let text = String::from_utf8_lossy(raw);
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let _ = parse_content_range(&text);
    let _ = parse_range(&text);
    let _ = parse_retry_after(&text, now);
    let _ = parse_retry_after(&text, SystemTime::UNIX_EPOCH);
    let _ = parse_etag(&text);
    if let Some(cd) = parse_content_disposition(raw) {
        if let Some(name) = cd.file_name() {
            check_name(name);
        }
        if let Some(name) = &cd.filename {
            check_name(name);
        }
    }
    check_name(&text);
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    value(data);
    for line in data.split(|&b| b == b'\n').take(64) {
        value(line.strip_suffix(b"\r").unwrap_or(line));
    }
});
