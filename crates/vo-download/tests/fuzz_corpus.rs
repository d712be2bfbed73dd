//! Replays the committed corpora of the `http_headers` and `z_decode` fuzz targets
//! (`fuzz/corpus/<target>/`) through the same calls as `fuzz/fuzz_targets/<target>.rs`:
//! nothing may panic, sanitized file names stay one path component, and decoders never
//! produce more than their output cap.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use vo_download::decompress::{self, Compression, DecodeLimits, ZDecoder};
use vo_download::headers::{parse_content_range, parse_etag, parse_range, parse_retry_after};
use vo_download::name::{MAX_NAME_BYTES, parse_content_disposition, sanitize_file_name};

/// Output cap of the `z_decode` target.
const CAP: u64 = 2 << 20;

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

fn header_value(raw: &[u8]) {
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

/// The call sequence of the `http_headers` fuzz target (kept in step with it).
fn http_headers(data: &[u8]) {
    header_value(data);
    for line in data.split(|&b| b == b'\n').take(64) {
        header_value(line.strip_suffix(b"\r").unwrap_or(line));
    }
}

/// The call sequence of the `z_decode` fuzz target (kept in step with it).
fn z_decode(data: &[u8]) {
    let mut out = Vec::new();
    let _ = ZDecoder::new(data, CAP).read_to_end(&mut out);
    assert!(
        out.len() as u64 <= CAP,
        "ZDecoder produced {} bytes",
        out.len()
    );
    for format in [Compression::Compress, Compression::Gzip] {
        out.clear();
        let _ = decompress::decoder(format, data, CAP).read_to_end(&mut out);
        assert!(
            out.len() as u64 <= CAP,
            "{format:?} produced {} bytes",
            out.len()
        );
        out.clear();
        let limits = DecodeLimits {
            max_output: CAP,
            max_ratio: Some(1000),
        };
        let _ = decompress::decoder_with_limits(format, data, limits).read_to_end(&mut out);
        assert!(
            out.len() as u64 <= CAP,
            "{format:?} produced {} bytes",
            out.len()
        );
    }
    let _ = Compression::sniff(data);
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
fn http_headers_corpus_never_panics() {
    let files = corpus("http_headers");
    assert!(files.len() >= 10, "corpus too small: {}", files.len());
    for (path, data) in &files {
        let outcome = std::panic::catch_unwind(|| http_headers(data));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn z_decode_corpus_never_panics() {
    let files = corpus("z_decode");
    assert!(files.len() >= 10, "corpus too small: {}", files.len());
    for (path, data) in &files {
        let outcome = std::panic::catch_unwind(|| z_decode(data));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn z_decode_corpus_decodes_and_hits_the_cap() {
    // The seeds must reach both the end of a valid stream and the output cap.
    let mut complete = 0;
    let mut capped = 0;
    for (_, data) in corpus("z_decode") {
        let mut out = Vec::new();
        match ZDecoder::new(&data[..], CAP).read_to_end(&mut out) {
            Ok(_) if !out.is_empty() => complete += 1,
            Err(e)
                if matches!(
                    decompress::DecodeError::from_io(&e),
                    Some(decompress::DecodeError::TooLarge { .. })
                ) =>
            {
                capped += 1;
            }
            _ => {}
        }
    }
    assert!(complete >= 4, "only {complete} .Z seeds decode");
    assert!(capped >= 1, "no .Z seed reaches the output cap");
}
