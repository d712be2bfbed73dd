//! Fixture and source tidiness: metadata sidecars, secret scanning, `fixtures/INDEX.md`.
//!
//! The checks run as `#[test]`s in `xtask/tests/fixtures.rs` (rust-analyzer's tidy-test
//! style); `cargo xtask codegen` regenerates the index, and a test fails when it is stale.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::util;

/// Keys every `<case>.meta.json` must have.
pub const REQUIRED_KEYS: [&str; 8] = [
    "version",
    "url",
    "method",
    "status",
    "content_type",
    "date",
    "source",
    "docs",
];

/// Fixtures whose paths start with this (relative to `fixtures/`) may hold the public, expired
/// sample JWT of seed 000 and the mock token response: token-shaped strings are allowed there.
pub const TOKEN_SAMPLES_DIR: &str = "eso/auth/";

/// The `fixtures/` directory of the workspace.
pub fn fixtures_dir() -> PathBuf {
    util::root().join("fixtures")
}

/// Every file under `dir`, recursively, sorted, skipping hidden files and directories.
pub fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let entries = std::fs::read_dir(&current)
            .with_context(|| format!("reading {}", current.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("reading {}", current.display()))?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let file_type = entry
                .file_type()
                .with_context(|| format!("reading {}", path.display()))?;
            if file_type.is_dir() {
                stack.push(path);
            } else if file_type.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Whether a file under `fixtures/` is a fixture: not metadata, not the index, not a README,
/// and not a script that generates fixtures (`*.py`, `*.sh`), which documents itself.
pub fn is_data_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    !(name.ends_with(".meta.json")
        || name == "INDEX.md"
        || name == "README"
        || name.starts_with("README.")
        || name.ends_with(".py")
        || name.ends_with(".sh"))
}

/// The metadata sidecar of a fixture: the last extension replaced by `.meta.json`
/// (`cube.fits.Z` has `cube.fits.meta.json`).
pub fn meta_path(data: &Path) -> PathBuf {
    let stem = data
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    data.with_file_name(format!("{stem}.meta.json"))
}

/// File extensions of compressed files, whose sidecar may also drop the inner extension.
pub const COMPRESSION_EXTENSIONS: [&str; 5] = ["Z", "gz", "bz2", "xz", "zst"];

/// Where the metadata of a fixture may be, in order of preference: [`meta_path`], and for a
/// compressed file (`X.fits.Z`) also the sidecar of the uncompressed name (`X.meta.json`).
pub fn meta_candidates(data: &Path) -> Vec<PathBuf> {
    let mut candidates = vec![meta_path(data)];
    let compressed = data
        .extension()
        .is_some_and(|ext| COMPRESSION_EXTENSIONS.iter().any(|known| ext == *known));
    if compressed && let Some(stem) = data.file_stem() {
        candidates.push(meta_path(&data.with_file_name(stem)));
    }
    candidates
}

/// The metadata file of a fixture, if one exists (see [`meta_candidates`]).
pub fn find_meta(data: &Path) -> Option<PathBuf> {
    meta_candidates(data)
        .into_iter()
        .find(|path| path.is_file())
}

/// A path relative to `base`, with `/` separators, for messages and the index.
pub fn relative(base: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    rel.components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Problems with the text of a metadata file (empty when it is fine).
pub fn check_meta(text: &str) -> Vec<String> {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(err) => return vec![format!("not valid JSON: {err}")],
    };
    let Some(object) = value.as_object() else {
        return vec!["not a JSON object".to_owned()];
    };
    let mut problems = Vec::new();
    for key in REQUIRED_KEYS {
        let Some(field) = object.get(key) else {
            problems.push(format!("missing key {key:?}"));
            continue;
        };
        let ok = match key {
            "version" | "status" => field.as_u64().is_some(),
            "date" => field.as_str().is_some_and(is_iso_date),
            "source" | "docs" => field.as_str().is_some_and(|text| !text.trim().is_empty()),
            _ => field.is_string(),
        };
        if !ok {
            let wanted = match key {
                "version" | "status" => "a non-negative integer",
                "date" => "a YYYY-MM-DD string",
                "source" | "docs" => "a non-empty string",
                _ => "a string",
            };
            problems.push(format!("key {key:?} should be {wanted}, found {field}"));
        }
    }
    problems
}

fn is_iso_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(idx, byte)| match idx {
            4 | 7 => *byte == b'-',
            _ => byte.is_ascii_digit(),
        })
}

/// The kinds of secret the scanner looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// An HTTP `Authorization:` header with a value.
    AuthorizationHeader,
    /// `Bearer ey...`: a bearer JWT.
    BearerToken,
    /// `password=value` or `"password": "value"`.
    Password,
    /// A JWT: `eyJ<header>.eyJ<payload>`.
    Jwt,
    /// A long key-shaped value (`api_key=...`, `AKIA...`, `ghp_...`, a private key block...).
    ApiKey,
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretKind::AuthorizationHeader => "an Authorization header",
            SecretKind::BearerToken => "a bearer token",
            SecretKind::Password => "a password value",
            SecretKind::Jwt => "a JWT",
            SecretKind::ApiKey => "an API-key-shaped value",
        })
    }
}

/// A secret found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was found.
    pub kind: SecretKind,
    /// Byte offset of the match.
    pub offset: usize,
    /// 1-based line of the match.
    pub line: usize,
}

/// Whether a secret of `kind` is allowed in the fixture at `rel_path` (relative to `fixtures/`).
pub fn secret_allowed(rel_path: &str, kind: SecretKind) -> bool {
    rel_path.starts_with(TOKEN_SAMPLES_DIR)
        && matches!(
            kind,
            SecretKind::Jwt | SecretKind::BearerToken | SecretKind::ApiKey
        )
}

fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-'
}

fn token_run(bytes: &[u8], start: usize, accept: impl Fn(u8) -> bool) -> usize {
    bytes.get(start..).map_or(0, |rest| {
        rest.iter().take_while(|byte| accept(**byte)).count()
    })
}

fn positions<'a>(
    hay: &'a [u8],
    needle: &'a [u8],
    ignore_case: bool,
) -> impl Iterator<Item = usize> + 'a {
    hay.windows(needle.len())
        .enumerate()
        .filter_map(move |(idx, window)| {
            let hit = if ignore_case {
                window.eq_ignore_ascii_case(needle)
            } else {
                window == needle
            };
            hit.then_some(idx)
        })
}

fn skip_spaces(bytes: &[u8], mut idx: usize) -> usize {
    while bytes
        .get(idx)
        .is_some_and(|byte| *byte == b' ' || *byte == b'\t')
    {
        idx += 1;
    }
    idx
}

/// Whether a value is an obvious stand-in for a scrubbed secret (`[redacted]`, `***`, `<password>`,
/// `${ESO_PASSWORD}`, `REDACTED`, `xxx`...).
fn is_placeholder(value: &[u8]) -> bool {
    let text = String::from_utf8_lossy(value).to_ascii_lowercase();
    text.starts_with(['[', '<', '*', '$', '{', '%'])
        || [
            "redacted", "scrubbed", "xxx", "password", "secret", "hidden", "...",
        ]
        .iter()
        .any(|word| text.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '.') == *word)
}

/// Scans bytes (text or binary) for secrets.
pub fn find_secrets(bytes: &[u8]) -> Vec<Finding> {
    let mut hits: Vec<(SecretKind, usize)> = Vec::new();

    for idx in positions(bytes, b"authorization:", true) {
        let value = skip_spaces(bytes, idx + 14);
        let len = token_run(bytes, value, |byte| byte.is_ascii_graphic());
        if len > 0 && !is_placeholder(&bytes[value..value + len]) {
            hits.push((SecretKind::AuthorizationHeader, idx));
        }
    }
    for idx in positions(bytes, b"Bearer ey", false) {
        hits.push((SecretKind::BearerToken, idx));
    }
    for idx in positions(bytes, b"password=", true) {
        let value_start = idx + 9;
        let len = token_run(bytes, value_start, |byte| {
            !matches!(
                byte,
                b'&' | b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'' | b'<' | b';'
            )
        });
        if len > 0 && !is_placeholder(&bytes[value_start..value_start + len]) {
            hits.push((SecretKind::Password, idx));
        }
    }
    for idx in positions(bytes, b"\"password\"", true) {
        let colon = skip_spaces(bytes, idx + 10);
        if bytes.get(colon) == Some(&b':') {
            let quote = skip_spaces(bytes, colon + 1);
            let len = token_run(bytes, quote + 1, |byte| byte != b'"');
            if bytes.get(quote) == Some(&b'"')
                && len > 0
                && !is_placeholder(&bytes[quote + 1..quote + 1 + len])
            {
                hits.push((SecretKind::Password, idx));
            }
        }
    }
    for idx in positions(bytes, b"eyJ", false) {
        let run = token_run(bytes, idx + 3, is_token_byte);
        let dot = idx + 3 + run;
        if run >= 10 && bytes.get(dot..dot + 4) == Some(b".eyJ".as_slice()) {
            hits.push((SecretKind::Jwt, idx));
        }
    }
    // Key shapes: (prefix, minimum length of the run after it, accepted bytes).
    let upper_digit = |byte: u8| byte.is_ascii_uppercase() || byte.is_ascii_digit();
    type Accept<'a> = &'a dyn Fn(u8) -> bool;
    let shapes: [(&[u8], usize, Accept<'_>); 8] = [
        (b"AKIA", 16, &upper_digit),
        (b"ghp_", 30, &is_token_byte),
        (b"gho_", 30, &is_token_byte),
        (b"github_pat_", 30, &is_token_byte),
        (b"sk-", 32, &is_token_byte),
        (b"xoxb-", 20, &is_token_byte),
        (b"AIza", 35, &is_token_byte),
        (b"-----BEGIN", 0, &|_| true),
    ];
    for (prefix, min_run, accept) in shapes {
        for idx in positions(bytes, prefix, false) {
            if prefix == b"-----BEGIN" {
                let line_end = bytes[idx..]
                    .iter()
                    .position(|byte| *byte == b'\n')
                    .map_or(bytes.len(), |pos| idx + pos);
                if positions(&bytes[idx..line_end], b"PRIVATE KEY", false)
                    .next()
                    .is_some()
                {
                    hits.push((SecretKind::ApiKey, idx));
                }
                continue;
            }
            let before_ok = idx == 0 || !is_token_byte(bytes[idx - 1]);
            if before_ok && token_run(bytes, idx + prefix.len(), accept) >= min_run {
                hits.push((SecretKind::ApiKey, idx));
            }
        }
    }
    // key = long random value
    let names: [&[u8]; 7] = [
        b"api_key",
        b"apikey",
        b"api-key",
        b"access_token",
        b"refresh_token",
        b"client_secret",
        b"secret_key",
    ];
    for name in names {
        for idx in positions(bytes, name, true) {
            let mut pos = idx + name.len();
            if matches!(bytes.get(pos), Some(b'"' | b'\'')) {
                pos += 1;
            }
            pos = skip_spaces(bytes, pos);
            if !matches!(bytes.get(pos), Some(b'=' | b':')) {
                continue;
            }
            pos = skip_spaces(bytes, pos + 1);
            if matches!(bytes.get(pos), Some(b'"' | b'\'')) {
                pos += 1;
            }
            let run = token_run(bytes, pos, |byte| {
                is_token_byte(byte) || byte == b'.' || byte == b'/' || byte == b'+'
            });
            if run >= 16 {
                hits.push((SecretKind::ApiKey, idx));
            }
        }
    }

    hits.sort_by_key(|(_, offset)| *offset);
    hits.dedup();
    hits.into_iter()
        .map(|(kind, offset)| Finding {
            kind,
            offset,
            line: 1 + bytes[..offset]
                .iter()
                .filter(|byte| **byte == b'\n')
                .count(),
        })
        .collect()
}

/// One row of `fixtures/INDEX.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRow {
    /// Path relative to `fixtures/`.
    pub path: String,
    /// How it was made (`source` of its metadata).
    pub source: String,
    /// What it shows (`docs` of its metadata).
    pub docs: String,
}

/// The rows of the index, one per fixture, sorted by path.
pub fn index_rows(fixtures: &Path) -> Result<Vec<IndexRow>> {
    let mut rows = Vec::new();
    for path in walk(fixtures)? {
        if !is_data_file(&path) {
            continue;
        }
        let meta = find_meta(&path).unwrap_or_else(|| meta_path(&path));
        let (source, docs) = match std::fs::read_to_string(&meta) {
            Ok(text) => {
                let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let field = |key: &str| {
                    value
                        .get(key)
                        .and_then(Value::as_str)
                        .unwrap_or("(missing)")
                        .to_owned()
                };
                (field("source"), field("docs"))
            }
            Err(_) => ("(no metadata)".to_owned(), "(no metadata)".to_owned()),
        };
        rows.push(IndexRow {
            path: relative(fixtures, &path),
            source,
            docs,
        });
    }
    Ok(rows)
}

fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// The text of `fixtures/INDEX.md`.
pub fn render_index(fixtures: &Path) -> Result<String> {
    let rows = index_rows(fixtures)?;
    let mut out = String::new();
    out.push_str("# Fixtures\n\n");
    out.push_str(
        "<!-- Generated by `cargo xtask codegen` from the `*.meta.json` files: do not edit by hand. -->\n\n",
    );
    out.push_str(
        "Recorded and rebuilt responses used by the tests, laid out as `<service>/<protocol>/<case>.<ext>`.\n",
    );
    out.push_str(
        "Each fixture has a `<case>.meta.json` beside it (URL, method, status, content type, date, source, docs).\n",
    );
    out.push_str(
        "`cargo xtask fixtures --from dachs` re-records the DaCHS ones; a test in `xtask` fails when this file is stale.\n\n",
    );
    out.push_str(&format!("{} fixtures.\n\n", rows.len()));
    out.push_str("| path | source | docs |\n| --- | --- | --- |\n");
    for row in rows {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            row.path.replace('`', "'"),
            cell(&row.source),
            cell(&row.docs)
        ));
    }
    Ok(out)
}

/// Whether `codegen` should write the file or only check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Write the file when it differs.
    Overwrite,
    /// Write the file when it differs, and fail (rust-analyzer's `generate(true)` in tests).
    Verify,
}

/// Regenerates `fixtures/INDEX.md`.
///
/// In [`Mode::Verify`] a stale file is rewritten and an error returned, so that a test fails
/// once and passes on the next run after the file is committed.
pub fn codegen(mode: Mode) -> Result<()> {
    let fixtures = fixtures_dir();
    let contents = render_index(&fixtures)?;
    ensure_file_contents(&fixtures.join("INDEX.md"), &contents, mode)
}

/// Writes `contents` to `path` if it differs; in verify mode, also fails.
pub fn ensure_file_contents(path: &Path, contents: &str, mode: Mode) -> Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    if mode == Mode::Verify {
        bail!(
            "{} was not up to date and has been regenerated: run `cargo xtask codegen` and commit it",
            path.display()
        );
    }
    Ok(())
}

/// Every problem with the fixtures: missing or malformed metadata, orphan metadata, secrets.
pub fn fixture_problems(fixtures: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    problems.extend(metadata_problems(fixtures)?);
    problems.extend(secret_problems(fixtures)?);
    Ok(problems)
}

/// Fixtures without metadata, malformed metadata, metadata without a fixture.
pub fn metadata_problems(fixtures: &Path) -> Result<Vec<String>> {
    let files = walk(fixtures)?;
    let mut problems = Vec::new();
    for path in &files {
        let rel = relative(fixtures, path);
        if is_data_file(path) {
            match find_meta(path) {
                Some(meta) => {
                    let text = std::fs::read_to_string(&meta)
                        .with_context(|| format!("reading {}", meta.display()))?;
                    for problem in check_meta(&text) {
                        problems.push(format!("{}: {problem}", relative(fixtures, &meta)));
                    }
                }
                None => problems.push(format!(
                    "{rel}: no metadata file {} beside it",
                    relative(fixtures, &meta_path(path))
                )),
            }
        } else if let Some(stem) = rel.strip_suffix(".meta.json") {
            let has_data = files.iter().any(|other| {
                is_data_file(other)
                    && meta_candidates(other)
                        .iter()
                        .any(|candidate| relative(fixtures, candidate) == rel)
            });
            if !has_data {
                problems.push(format!(
                    "{rel}: metadata without a fixture named {stem}.<ext>"
                ));
            }
        }
    }
    Ok(problems)
}

/// Secrets found in any file under `fixtures/` (metadata and index included).
pub fn secret_problems(fixtures: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for path in walk(fixtures)? {
        let rel = relative(fixtures, &path);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        for finding in find_secrets(&bytes) {
            if !secret_allowed(&rel, finding.kind) {
                problems.push(format!(
                    "{rel}:{}: contains {} (scrub it)",
                    finding.line, finding.kind
                ));
            }
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<SecretKind> {
        find_secrets(text.as_bytes())
            .into_iter()
            .map(|finding| finding.kind)
            .collect()
    }

    #[test]
    fn finds_secrets() {
        assert_eq!(
            kinds("GET / HTTP/1.1\r\nAuthorization: Basic dXNlcjpwYXNz\r\n"),
            [SecretKind::AuthorizationHeader]
        );
        assert!(
            kinds("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
                .contains(&SecretKind::Jwt)
        );
        assert!(kinds("x Bearer eyJabc").contains(&SecretKind::BearerToken));
        assert_eq!(
            kinds("?user=a&password=hunter2&x=1"),
            [SecretKind::Password]
        );
        assert_eq!(kinds(r#"{"password": "hunter2"}"#), [SecretKind::Password]);
        assert_eq!(kinds("AKIAIOSFODNN7EXAMPLE"), [SecretKind::ApiKey]);
        assert_eq!(
            kinds("api_key=9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
            [SecretKind::ApiKey]
        );
        assert_eq!(
            kinds("-----BEGIN RSA PRIVATE KEY-----\nMIIE"),
            [SecretKind::ApiKey]
        );
        let finding = &find_secrets(b"a\nb\n?password=x")[0];
        assert_eq!((finding.line, finding.offset), (3, 5));
    }

    #[test]
    fn ignores_harmless_text() {
        assert!(kinds("password= &password=&password=\"\"").is_empty());
        assert!(kinds(r#"{"password": ""}"#).is_empty());
        assert!(kinds("&password=[redacted]&password=REDACTED&password=%3Credacted%3E").is_empty());
        assert!(kinds(r#"{"password": "***"}"#).is_empty());
        assert!(kinds("Authorization: [redacted]").is_empty());
        assert!(kinds("<FIELD name=\"access_url\" datatype=\"char\"/>").is_empty());
        assert!(kinds("eyJshort.eyJ and authorization: ").is_empty());
        assert!(kinds("-----BEGIN CERTIFICATE-----").is_empty());
        assert!(kinds("AAAAQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=").is_empty());
    }

    #[test]
    fn token_samples_dir_allows_tokens_only() {
        assert!(secret_allowed("eso/auth/token.json", SecretKind::Jwt));
        assert!(!secret_allowed("eso/auth/token.json", SecretKind::Password));
        assert!(!secret_allowed("eso/tap/x.vot", SecretKind::Jwt));
    }

    #[test]
    fn metadata_checks() {
        let good = r#"{"version":1,"url":"http://x/","method":"GET","status":200,
            "content_type":"text/xml","date":"2026-11-21","source":"recorded","docs":"d"}"#;
        assert!(check_meta(good).is_empty());
        let bad = r#"{"version":"1","url":"http://x/","status":200,
            "content_type":"text/xml","date":"21.11.2026","source":"","docs":"d"}"#;
        let problems = check_meta(bad);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(check_meta("[1]")[0].contains("not a JSON object"));
        assert!(check_meta("{")[0].contains("not valid JSON"));
    }

    #[test]
    fn meta_paths_strip_the_last_extension() {
        assert_eq!(
            meta_path(Path::new("a/b/cube.fits.Z")),
            Path::new("a/b/cube.fits.meta.json")
        );
        assert_eq!(meta_path(Path::new("a/x.vot")), Path::new("a/x.meta.json"));
        assert_eq!(
            meta_candidates(Path::new("f/SPHER.2016-09-26T03_04_09.308.fits.Z")),
            [
                Path::new("f/SPHER.2016-09-26T03_04_09.308.fits.meta.json"),
                Path::new("f/SPHER.2016-09-26T03_04_09.308.meta.json")
            ]
        );
        assert_eq!(meta_candidates(Path::new("a/x.vot")).len(), 1);
        assert!(!is_data_file(Path::new("a/x.meta.json")));
        assert!(!is_data_file(Path::new("INDEX.md")));
        assert!(!is_data_file(Path::new("eso/README.md")));
        assert!(!is_data_file(Path::new("download/fits/generate.py")));
        assert!(is_data_file(Path::new("a/x.vot")));
    }

    #[test]
    fn index_cells_are_escaped() {
        assert_eq!(cell("a | b\n  c"), "a \\| b c");
    }
}
