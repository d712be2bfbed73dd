//! Local file names: `Content-Disposition` parsing (RFC 6266 with RFC 8187 `filename*`),
//! a sanitiser for anything a server sends, and the choice of the final name.
//!
//! **Local file names are ours.**
//! A trusted name given by the caller (such as an ESO `dp_id`) is preferred, and the server's
//! name (from `Content-Disposition` or the URL) only selects an allow-listed suffix.
//! Without a trusted name the server's name is used after [`sanitize_file_name`], which
//! guarantees a single normal path component that stays inside the target directory
//! (RFC 6266 §4.3: path information must be ignored).

use percent_encoding::percent_decode_str;
use std::path::{Component, Path};
use url::Url;

/// Longest file name accepted, in bytes (the usual file-system limit).
pub const MAX_NAME_BYTES: usize = 255;

/// Why no safe file name could be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Nothing usable was left after sanitising (empty, `.`, `..`, only dots or spaces).
    #[error("file name {raw:?} has no usable characters")]
    Empty {
        /// The name as received (escaped when displayed).
        raw: String,
    },
}

/// A parsed `Content-Disposition` header value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContentDisposition {
    /// The disposition type, lower-cased (`attachment`, `inline`, ...).
    pub disposition: String,
    /// The `filename` parameter, unquoted.
    pub filename: Option<String>,
    /// The `filename*` parameter (RFC 8187), decoded; `None` if absent or undecodable.
    pub filename_ext: Option<String>,
}

impl ContentDisposition {
    /// The name a recipient should use: `filename*` when it decoded, else `filename`.
    /// The result is untrusted and must go through [`sanitize_file_name`].
    pub fn file_name(&self) -> Option<&str> {
        self.filename_ext.as_deref().or(self.filename.as_deref())
    }
}

/// Parses a `Content-Disposition` header value (RFC 6266).
///
/// Raw bytes are read as UTF-8 when valid, else as ISO-8859-1.
/// Unknown parameters are ignored; for repeated parameters the first one wins.
/// Returns `None` when there is no disposition type.
///
/// ```
/// use vo_download::name::parse_content_disposition;
/// let cd = parse_content_disposition(b"attachment; filename=\"a.fits\"; filename*=UTF-8''%E2%82%AC.fits").unwrap();
/// assert_eq!(cd.file_name(), Some("\u{20ac}.fits"));
/// ```
pub fn parse_content_disposition(raw: &[u8]) -> Option<ContentDisposition> {
    let text = match std::str::from_utf8(raw) {
        Ok(s) => s.to_owned(),
        Err(_) => raw.iter().map(|&b| char::from(b)).collect(),
    };
    let mut parser = Params {
        rest: text.as_str(),
    };
    let disposition = parser.token()?.to_ascii_lowercase();
    let mut cd = ContentDisposition {
        disposition,
        ..Default::default()
    };
    let mut seen_filename = false;
    let mut seen_ext = false;
    while let Some((name, value)) = parser.next_param() {
        let name = name.to_ascii_lowercase();
        if name == "filename" && !seen_filename {
            seen_filename = true;
            cd.filename = Some(value);
        } else if name == "filename*" && !seen_ext {
            seen_ext = true;
            cd.filename_ext = decode_ext_value(&value);
        }
    }
    Some(cd)
}

/// A small cursor over `; name=value` parameter lists.
struct Params<'a> {
    rest: &'a str,
}

impl<'a> Params<'a> {
    fn skip_ws(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t']);
    }

    fn token(&mut self) -> Option<&'a str> {
        self.skip_ws();
        let end = self
            .rest
            .find([';', '=', ' ', '\t', ','])
            .unwrap_or(self.rest.len());
        if end == 0 {
            return None;
        }
        let (token, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(token)
    }

    /// Reads the next `; name = value` pair, skipping malformed parts.
    fn next_param(&mut self) -> Option<(String, String)> {
        loop {
            self.skip_ws();
            // Skip to the next ';'.
            match self.rest.find(';') {
                Some(idx) => self.rest = &self.rest[idx + 1..],
                None => return None,
            }
            let Some(name) = self.token() else { continue };
            self.skip_ws();
            let Some(after_eq) = self.rest.strip_prefix('=') else {
                continue;
            };
            self.rest = after_eq;
            self.skip_ws();
            let value = if self.rest.starts_with('"') {
                self.quoted_string()
            } else {
                let end = self.rest.find(';').unwrap_or(self.rest.len());
                let (value, rest) = self.rest.split_at(end);
                self.rest = rest;
                value.trim_end_matches([' ', '\t']).to_owned()
            };
            return Some((name.to_owned(), value));
        }
    }

    /// Reads a quoted string starting at `"`, handling backslash escapes; an unterminated
    /// string runs to the end of the value.
    fn quoted_string(&mut self) -> String {
        let mut out = String::new();
        let mut chars = self.rest.char_indices().skip(1);
        let mut end = self.rest.len();
        while let Some((idx, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        out.push(escaped);
                    }
                }
                '"' => {
                    end = idx + 1;
                    break;
                }
                other => out.push(other),
            }
        }
        self.rest = &self.rest[end..];
        out
    }
}

/// Decodes an RFC 8187 `ext-value`: `charset'[language]'percent-encoded`.
/// UTF-8 and ISO-8859-1 are supported; anything else yields `None`.
fn decode_ext_value(value: &str) -> Option<String> {
    let mut parts = value.splitn(3, '\'');
    let charset = parts.next()?.trim();
    let _language = parts.next()?;
    let encoded = parts.next()?;
    let bytes: Vec<u8> = percent_decode_str(encoded).collect();
    if charset.eq_ignore_ascii_case("utf-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case("iso-8859-1") {
        Some(bytes.iter().map(|&b| char::from(b)).collect())
    } else {
        None
    }
}

/// Characters replaced by `_`: bidirectional and invisible formatting controls.
fn is_format_control(c: char) -> bool {
    matches!(c,
        '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}'
        | '\u{feff}')
}

fn is_replaced(c: char) -> bool {
    c.is_control()
        || is_format_control(c)
        || matches!(c, '<' | '>' | '"' | '|' | '?' | '*')
        || (cfg!(windows) && c == ':')
}

/// Windows device names, reserved on that platform whatever the extension.
fn is_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let upper = stem.to_ascii_uppercase();
    matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || ((upper.starts_with("COM") || upper.starts_with("LPT"))
        && upper.len() == 4
        && upper.as_bytes()[3].is_ascii_digit())
}

/// Turns an untrusted name into a safe single file name, or fails.
///
/// * only the last segment after `/` and `\` is kept;
/// * control characters, bidi and other invisible format controls and `<>"|?*` become `_`
///   (and `:` on Windows; ESO names such as `FORS2.2021-01-02T00:59:12.533` keep it on Unix);
/// * leading `.` and `-` become `_`; trailing dots and spaces are removed;
/// * Windows device names (`CON`, `NUL`, `COM1`, ...) get a leading `_` on every platform;
/// * names longer than [`MAX_NAME_BYTES`] are shortened, keeping a short extension;
/// * empty results (including `.` and `..`) are an error.
///
/// The result is always exactly one [`Component::Normal`], so joining it to a directory
/// yields a child of that directory.
///
/// # Errors
/// [`NameError::Empty`] when nothing usable remains.
///
/// ```
/// use vo_download::name::sanitize_file_name;
/// assert_eq!(sanitize_file_name("../../.bashrc")?, "_bashrc");
/// assert_eq!(sanitize_file_name("/etc/passwd")?, "passwd");
/// assert!(sanitize_file_name("..").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sanitize_file_name(raw: &str) -> Result<String, NameError> {
    let empty = || NameError::Empty {
        raw: raw.to_owned(),
    };
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let mut name: String = last
        .chars()
        .map(|c| if is_replaced(c) { '_' } else { c })
        .collect();
    let trimmed_len = name.trim_end_matches(['.', ' ']).len();
    name.truncate(trimmed_len);
    let name = name.trim_start_matches(' ');
    if name.is_empty() {
        return Err(empty());
    }
    let mut name = match name.strip_prefix(['.', '-']) {
        Some(rest) => format!("_{rest}"),
        None => name.to_owned(),
    };
    if is_device_name(&name) {
        name.insert(0, '_');
    }
    if name.len() > MAX_NAME_BYTES {
        name = shorten(&name);
    }
    debug_assert!(is_single_component(&name));
    if !is_single_component(&name) {
        return Err(empty());
    }
    Ok(name)
}

/// Shortens a name to [`MAX_NAME_BYTES`], keeping an extension of up to 16 bytes.
fn shorten(name: &str) -> String {
    let ext = match name.rfind('.') {
        Some(idx) if idx > 0 && name.len() - idx <= 16 => &name[idx..],
        _ => "",
    };
    let mut budget = MAX_NAME_BYTES - ext.len();
    let stem = &name[..name.len() - ext.len()];
    while !stem.is_char_boundary(budget) {
        budget -= 1;
    }
    let stem = &stem[..budget];
    // Without an extension the cut end is the name's end: no trailing dot or space there.
    let stem = if ext.is_empty() {
        stem.trim_end_matches(['.', ' '])
    } else {
        stem
    };
    format!("{stem}{ext}")
}

fn is_single_component(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(components.next(), Some(Component::Normal(c)) if c == std::ffi::OsStr::new(name))
        && components.next().is_none()
}

/// File name suffixes the downloader recognises, longest first.
pub const KNOWN_SUFFIXES: &[&str] = &[
    ".fits.Z", ".fits.gz", ".fits.fz", ".tar.gz", ".fits", ".fit", ".fts", ".fz", ".vot", ".xml",
    ".tar", ".tgz", ".txt", ".csv", ".json", ".zip", ".pdf", ".png", ".jpg", ".gz", ".Z",
];

/// The known suffix `name` ends with (`.Z` case-sensitively, others case-insensitively).
pub fn known_suffix(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    KNOWN_SUFFIXES.iter().copied().find(|suffix| {
        lower.ends_with(&suffix.to_ascii_lowercase())
            && (!suffix.ends_with('Z') || name.ends_with('Z'))
    })
}

/// A suffix for a `Content-Type` (parameters ignored).
pub fn suffix_for_content_type(content_type: &str) -> Option<&'static str> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    Some(match essence.as_str() {
        "application/fits" | "image/fits" | "application/x-fits" => ".fits",
        "application/x-votable+xml" | "application/votable+xml" => ".vot",
        "text/xml" | "application/xml" => ".xml",
        "text/plain" => ".txt",
        "text/csv" => ".csv",
        "application/json" => ".json",
        "application/x-tar" => ".tar",
        "application/gzip" | "application/x-gzip" => ".gz",
        "application/x-compress" => ".Z",
        "application/zip" => ".zip",
        "application/pdf" => ".pdf",
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        _ => return None,
    })
}

/// The last non-empty path segment of a URL, percent-decoded, if any.
pub fn url_last_segment(url: &Url) -> Option<String> {
    let segment = url.path_segments()?.rev().find(|s| !s.is_empty())?;
    Some(percent_decode_str(segment).decode_utf8_lossy().into_owned())
}

/// Chooses the local file name for a download.
///
/// 1. With a `trusted` name (e.g. a `dp_id` given by the caller): that name, sanitised, plus
///    the suffix of the server's name (`Content-Disposition`, else the URL) or of the
///    `Content-Type`, unless the trusted name already ends with it.
/// 2. Else the sanitised `Content-Disposition` name.
/// 3. Else the sanitised last URL segment, plus a `Content-Type` suffix if it has none.
///
/// # Errors
/// [`NameError::Empty`] when no source gives a usable name.
pub fn choose_file_name(
    trusted: Option<&str>,
    content_disposition: Option<&ContentDisposition>,
    content_type: Option<&str>,
    url: &Url,
) -> Result<String, NameError> {
    let server_name = content_disposition.and_then(ContentDisposition::file_name);
    let url_name = url_last_segment(url);
    let suffix = server_name
        .and_then(known_suffix)
        .or_else(|| url_name.as_deref().and_then(known_suffix))
        .or_else(|| content_type.and_then(suffix_for_content_type));
    if let Some(trusted) = trusted {
        return Ok(with_suffix(sanitize_file_name(trusted)?, suffix));
    }
    if let Some(name) = server_name.and_then(|n| sanitize_file_name(n).ok()) {
        return Ok(name);
    }
    match url_name.as_deref().map(sanitize_file_name) {
        Some(Ok(name)) => Ok(with_suffix(name, suffix)),
        Some(Err(e)) => Err(e),
        None => Err(NameError::Empty {
            raw: url.path().to_owned(),
        }),
    }
}

fn with_suffix(name: String, suffix: Option<&str>) -> String {
    match suffix {
        Some(suffix) if known_suffix(&name) != Some(suffix) => {
            // "X.fits" + ".fits.Z" gives "X.fits.Z", not "X.fits.fits.Z".
            let rest = match known_suffix(&name) {
                Some(have) if suffix.starts_with(have) => &suffix[have.len()..],
                _ => suffix,
            };
            let combined = format!("{name}{rest}");
            if combined.len() > MAX_NAME_BYTES {
                shorten(&combined)
            } else {
                combined
            }
        }
        _ => name,
    }
}

/// Names under which a download with this base name may already exist: the name itself
/// and the name followed by each known suffix (with compressed forms also decompressed).
/// Used to skip complete files before any request is sent.
pub fn candidate_names(base: &str) -> Vec<String> {
    let mut names = vec![base.to_owned()];
    for suffix in KNOWN_SUFFIXES {
        if known_suffix(base) != Some(suffix) {
            names.push(format!("{base}{suffix}"));
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cd(raw: &str) -> Option<String> {
        parse_content_disposition(raw.as_bytes()).and_then(|c| c.file_name().map(str::to_owned))
    }

    #[test]
    fn content_disposition_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("attachment; filename=\"foo.html\"", Some("foo.html")),
            ("attachment; filename=foo.html", Some("foo.html")),
            ("inline; filename=\"foo.html\"", Some("foo.html")),
            ("attachment", None),
            ("ATTACHMENT; FILENAME=\"foo.html\"", Some("foo.html")),
            ("attachment; filename=\"f\\oo.html\"", Some("foo.html")),
            (
                "attachment; filename=\"\\\"quoting\\\" tested.html\"",
                Some("\"quoting\" tested.html"),
            ),
            (
                "attachment; filename=\"Here's a semicolon;.html\"",
                Some("Here's a semicolon;.html"),
            ),
            (
                "attachment; foo=\"bar\"; filename=\"foo.html\"",
                Some("foo.html"),
            ),
            (
                "attachment; filename=\"foo-%41.html\"",
                Some("foo-%41.html"),
            ),
            (
                "attachment; filename*=UTF-8''foo-%c3%a4.html",
                Some("foo-\u{e4}.html"),
            ),
            (
                "attachment; filename*=iso-8859-1''foo-%E4.html",
                Some("foo-\u{e4}.html"),
            ),
            (
                "attachment; filename*=UTF-8'en'%E2%82%AC%20rates",
                Some("\u{20ac} rates"),
            ),
            (
                "attachment; filename=\"foo.html\"; filename*=UTF-8''bar.html",
                Some("bar.html"),
            ),
            (
                "attachment; filename*=UTF-8''bar.html; filename=\"foo.html\"",
                Some("bar.html"),
            ),
            ("attachment; filename*=UTF-8''foo-%c3.html", None),
            (
                "attachment; filename*=x-unknown''foo.html; filename=a.txt",
                Some("a.txt"),
            ),
            (
                "attachment; filename=\"foo.html\"; filename=\"bar.html\"",
                Some("foo.html"),
            ),
            (
                "attachment; filename = \"spaced.fits\" ",
                Some("spaced.fits"),
            ),
            (
                "attachment; filename=\"unterminated.fits",
                Some("unterminated.fits"),
            ),
            ("attachment; filename*=UTF-8''..%2F..%2Fx", Some("../../x")),
            ("", None),
            (";;;", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(cd(raw).as_deref(), *expected, "{raw}");
        }
        assert_eq!(
            parse_content_disposition(b"Attachment; filename=a").map(|c| c.disposition),
            Some("attachment".to_owned())
        );
    }

    #[test]
    fn latin1_raw_bytes() {
        let parsed = parse_content_disposition(b"attachment; filename=\"caf\xe9.txt\"").unwrap();
        assert_eq!(parsed.file_name(), Some("caf\u{e9}.txt"));
    }

    #[test]
    fn sanitize_table() {
        let ok: &[(&str, &str)] = &[
            ("../../.bashrc", "_bashrc"),
            ("/etc/passwd", "passwd"),
            ("..\\..\\x", "x"),
            ("a/../../b", "b"),
            ("%2e%2e%2f", "%2e%2e%2f"),
            ("evil\0name", "evil_name"),
            ("bell\x07\x1b[31m.fits", "bell__[31m.fits"),
            ("CON", "_CON"),
            ("nul.txt", "_nul.txt"),
            ("com1", "_com1"),
            ("console", "console"),
            ("abc\u{202e}txt.exe", "abc_txt.exe"),
            ("-rf", "_rf"),
            ("name. . .", "name"),
            ("  spaced.fits", "spaced.fits"),
            (
                "ADP.2021-01-02T00:59:12.533.fits",
                if cfg!(windows) {
                    "ADP.2021-01-02T00_59_12.533.fits"
                } else {
                    "ADP.2021-01-02T00:59:12.533.fits"
                },
            ),
            ("what?*<>|\".txt", "what______.txt"),
        ];
        for (raw, expected) in ok {
            assert_eq!(sanitize_file_name(raw).as_deref(), Ok(*expected), "{raw:?}");
        }
        for bad in ["", ".", "..", "...", "a/..", "/", "x/", "  ", ". ."] {
            assert!(sanitize_file_name(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}.fits", "a".repeat(300));
        let short = sanitize_file_name(&long).unwrap();
        assert_eq!(short.len(), MAX_NAME_BYTES);
        assert!(short.ends_with(".fits"));
        let long_utf8 = "\u{e9}".repeat(200);
        let short = sanitize_file_name(&long_utf8).unwrap();
        assert!(short.len() <= MAX_NAME_BYTES);
    }

    #[test]
    fn c_colon_on_unix_is_a_plain_name() {
        let name = sanitize_file_name("C:foo").unwrap();
        assert!(is_single_component(&name));
    }

    #[test]
    fn suffixes() {
        assert_eq!(known_suffix("a.fits.Z"), Some(".fits.Z"));
        assert_eq!(known_suffix("a.FITS"), Some(".fits"));
        assert_eq!(known_suffix("a.fits.gz"), Some(".fits.gz"));
        assert_eq!(known_suffix("a.tar.gz"), Some(".tar.gz"));
        assert_eq!(known_suffix("a.Z"), Some(".Z"));
        assert_eq!(known_suffix("a.z"), None);
        assert_eq!(known_suffix("FORS2.2021-01-02T00:59:12.533"), None);
        assert_eq!(
            suffix_for_content_type("application/fits; x=y"),
            Some(".fits")
        );
        assert_eq!(suffix_for_content_type("text/html"), None);
    }

    #[test]
    fn choose_names() {
        let url = Url::parse(
            "https://dataportal.eso.org/dataportal_new/file/ADP.2021-01-02T00:59:12.533",
        )
        .unwrap();
        let cd_fits =
            parse_content_disposition(b"attachment; filename=\"ADP.2021-01-02T00:59:12.533.fits\"");
        let cd_evil = parse_content_disposition(b"attachment; filename=\"../../evil.fits.Z\"");
        let dp = "ADP.2021-01-02T00:59:12.533";
        let sep = if cfg!(windows) { "_" } else { ":" };
        let expect = |s: &str| s.replace(':', sep);
        assert_eq!(
            choose_file_name(Some(dp), cd_fits.as_ref(), None, &url).unwrap(),
            expect("ADP.2021-01-02T00:59:12.533.fits")
        );
        assert_eq!(
            choose_file_name(Some(dp), cd_evil.as_ref(), None, &url).unwrap(),
            expect("ADP.2021-01-02T00:59:12.533.fits.Z")
        );
        assert_eq!(
            choose_file_name(Some(dp), None, Some("application/fits"), &url).unwrap(),
            expect("ADP.2021-01-02T00:59:12.533.fits")
        );
        assert_eq!(
            choose_file_name(Some(dp), None, None, &url).unwrap(),
            expect(dp)
        );
        assert_eq!(
            choose_file_name(None, cd_evil.as_ref(), None, &url).unwrap(),
            "evil.fits.Z"
        );
        assert_eq!(
            choose_file_name(None, None, Some("application/fits"), &url).unwrap(),
            expect("ADP.2021-01-02T00:59:12.533.fits")
        );
        let url2 = Url::parse("http://h/x/data.fits.Z?x=1").unwrap();
        assert_eq!(
            choose_file_name(None, None, Some("application/x-compress"), &url2).unwrap(),
            "data.fits.Z"
        );
        let url3 = Url::parse("http://h/").unwrap();
        assert!(choose_file_name(None, None, None, &url3).is_err());
        let url4 = Url::parse("http://h/a/%2E%2E").unwrap();
        assert!(choose_file_name(None, None, None, &url4).is_err());
        let url5 = Url::parse("http://h/a/..%2F..%2Fetc%2Fpasswd").unwrap();
        assert_eq!(choose_file_name(None, None, None, &url5).unwrap(), "passwd");
    }

    #[test]
    fn candidates_include_suffixed_forms() {
        let names = candidate_names("X");
        assert!(names.contains(&"X".to_owned()));
        assert!(names.contains(&"X.fits".to_owned()));
        assert!(names.contains(&"X.fits.Z".to_owned()));
    }

    proptest! {
        #[test]
        fn sanitized_names_stay_inside(raw in ".{0,300}") {
            if let Ok(name) = sanitize_file_name(&raw) {
                prop_assert!(is_single_component(&name));
                prop_assert!(name.len() <= MAX_NAME_BYTES);
                prop_assert!(!name.starts_with('.') && !name.starts_with('-'));
                prop_assert!(!name.chars().any(|c| c.is_control() || is_format_control(c)));
                prop_assert!(!name.ends_with('.') && !name.ends_with(' '));
                let dest = Path::new("/some/dest");
                let joined = dest.join(&name);
                prop_assert_eq!(joined.parent(), Some(dest));
            }
        }

        #[test]
        fn sanitized_path_like_names(parts in proptest::collection::vec("(\\.\\.|\\.|[a-z]{1,3}|/|\\\\|\u{202e}|\0|:)", 0..12)) {
            let raw: String = parts.concat();
            if let Ok(name) = sanitize_file_name(&raw) {
                let dest = Path::new("dest");
                let joined = dest.join(&name);
                prop_assert_eq!(joined.parent(), Some(dest));
                prop_assert!(is_single_component(&name));
            }
        }

        #[test]
        fn content_disposition_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Some(cd) = parse_content_disposition(&raw) {
                if let Some(name) = cd.file_name() {
                    let _ = sanitize_file_name(name);
                }
            }
        }
    }
}
