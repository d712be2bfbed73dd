//! Multipart replies: several association trees in one body.
//!
//! For several `dp_id`s calSelector answers `multipart/form-data; boundary=...;charset=UTF-8`
//! with one part per frame, each with `Content-Disposition: attachment; filename="<dp_id>_raw2raw.xml"`,
//! `Content-Type: application/xml;content=calselector` and `Content-Length`.
//! The body is split per RFC 2046 §5.1.1 (CRLF or bare LF line ends are both accepted, as ESO's
//! sample uses LF), each part's headers are kept, and the part's file name goes through a
//! sanitizer: a server name never becomes a path (RELIABILITY H1/H2; astroquery joins them
//! unsanitised).

use memchr::memmem;
use vo_download::name::{parse_content_disposition, sanitize_file_name};

use crate::tree::{AssociationTree, TreeLimits, escape_terminal};
use crate::warnings::ParseWarning;
use crate::{Error, Result};

/// Most parts accepted in one multipart body.
pub const MAX_PARTS: usize = 10_000;
/// Largest header block accepted for one part, in bytes.
pub const MAX_PART_HEADER_BYTES: usize = 64 << 10;

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Position of the part in the body (0-based).
    pub index: usize,
    /// Headers as sent (names as sent, values trimmed), in order.
    pub headers: Vec<(String, String)>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The `Content-Disposition` file name as sent: untrusted, never use it as a path.
    pub filename: Option<String>,
    /// The file name after `vo_download::name::sanitize_file_name` (path components dropped,
    /// dangerous characters replaced): a single path component, or None if refused or absent.
    pub safe_filename: Option<String>,
    /// The `Content-Length` header, if present and numeric.
    pub declared_length: Option<u64>,
    /// The part's body.
    pub body: Vec<u8>,
}

impl Part {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// An association tree read from a reply (a single XML body or one multipart part).
#[derive(Debug)]
pub struct TreeDocument {
    /// Index of the multipart part, or 0 for a single XML body.
    pub part: usize,
    /// The file name sent with the part (untrusted, for display only).
    pub filename: Option<String>,
    /// The sanitised file name, if the server sent an acceptable one.
    pub safe_filename: Option<String>,
    /// The science frame of the tree: the first main file of the root association.
    pub dp_id: Option<String>,
    /// The tree, or why it could not be read.
    pub tree: Result<AssociationTree>,
    /// The document's bytes as received (to save as `<dp_id>_<mode>.xml`).
    pub xml: Vec<u8>,
    /// What was odd in this document.
    pub warnings: Vec<ParseWarning>,
}

impl TreeDocument {
    /// True if this document is the tree of `dp_id`: the root's main files name it, or
    /// (when the tree could not be read) the part's file name starts with it.
    pub fn is_for(&self, dp_id: &str) -> bool {
        match &self.tree {
            Ok(tree) => tree.science_files().iter().any(|f| f.name == dp_id),
            Err(_) => self.filename.as_deref().is_some_and(|name| {
                name.strip_prefix(dp_id)
                    .is_some_and(|rest| rest.starts_with('_') || rest.starts_with('.'))
            }),
        }
    }
}

/// The local file name for a frame's association tree, `<dp_id>_raw2master.xml`, built from the
/// trusted `dp_id` the user asked for and sanitised.
///
/// # Errors
/// [`Error::InvalidDpId`] if nothing safe remains.
pub fn tree_file_name(dp_id: &str, mode: crate::Mode) -> Result<String> {
    let invalid = |reason| Error::InvalidDpId {
        dp_id: dp_id.escape_debug().to_string(),
        reason,
    };
    let dp_id = dp_id.trim();
    if dp_id.is_empty() || dp_id.contains(['/', '\\']) {
        return Err(invalid("not usable in a file name"));
    }
    let raw = format!("{dp_id}_{}.xml", mode.file_suffix());
    sanitize_file_name(&raw).map_err(|_| invalid("not usable in a file name"))
}

/// The boundary of a `multipart/*` content type, e.g.
/// `multipart/form-data; boundary=uFQl...;charset=UTF-8`.
///
/// # Errors
/// [`Error::Multipart`] if the type is not multipart or has no usable boundary.
pub fn boundary(content_type: &str) -> Result<String> {
    let (essence, params) = split_header_params(content_type);
    if !essence.to_ascii_lowercase().starts_with("multipart/") {
        return Err(Error::Multipart {
            reason: format!(
                "content type {:?} is not multipart",
                escape_terminal(essence)
            ),
        });
    }
    let boundary = params
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value)
        .ok_or_else(|| Error::Multipart {
            reason: "content type has no boundary".to_owned(),
        })?;
    // RFC 2046: 1 to 70 characters, no control characters.
    if boundary.is_empty() || boundary.len() > 70 || boundary.chars().any(|c| c.is_control()) {
        return Err(Error::Multipart {
            reason: format!("invalid boundary {:?}", escape_terminal(&boundary)),
        });
    }
    Ok(boundary)
}

/// Splits a multipart body into its parts.
///
/// # Errors
/// [`Error::Multipart`] if the content type has no boundary, the body holds no delimiter,
/// a header block is larger than [`MAX_PART_HEADER_BYTES`] or there are more than [`MAX_PARTS`].
pub fn split(content_type: &str, body: &[u8]) -> Result<(Vec<Part>, Vec<ParseWarning>)> {
    let boundary = boundary(content_type)?;
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut warnings = Vec::new();
    let finder = memmem::Finder::new(delimiter);

    // The first delimiter may follow a preamble; it must start a line.
    let mut pos = find_delimiter(&finder, body, 0).ok_or_else(|| Error::Multipart {
        reason: "no boundary delimiter in the body".to_owned(),
    })?;
    let mut parts = Vec::new();
    loop {
        let mut cursor = pos + delimiter.len();
        if body[cursor..].starts_with(b"--") {
            break; // close delimiter
        }
        // Transport padding, then the line end.
        while cursor < body.len() && matches!(body[cursor], b' ' | b'\t') {
            cursor += 1;
        }
        cursor = skip_line_end(body, cursor);
        let index = parts.len();
        if index >= MAX_PARTS {
            return Err(Error::Multipart {
                reason: format!("more than {MAX_PARTS} parts"),
            });
        }
        let (content_end, next) = match find_delimiter(&finder, body, cursor) {
            Some(next) => (strip_line_end_before(body, cursor, next), Some(next)),
            None => {
                warnings.push(ParseWarning::Multipart {
                    part: index,
                    detail: "no closing boundary, the part runs to the end of the body".to_owned(),
                });
                (body.len(), None)
            }
        };
        let part = parse_part(index, &body[cursor..content_end], &mut warnings)?;
        parts.push(part);
        match next {
            Some(next) => pos = next,
            None => break,
        }
    }
    Ok((parts, warnings))
}

/// Reads the association tree(s) of a reply: a single XML body, or a multipart body with one
/// tree per part. A part that cannot be read keeps its error in [`TreeDocument::tree`].
///
/// # Errors
/// For a single body, the tree's parse error; for multipart, the errors of [`split`].
/// [`Error::TooLarge`] if the body is larger than `limits.max_bytes`.
pub fn parse_tree_reply(
    content_type: Option<&str>,
    body: &[u8],
    limits: &TreeLimits,
) -> Result<Vec<TreeDocument>> {
    if body.len() > limits.max_bytes {
        return Err(Error::TooLarge {
            what: "calSelector reply",
            limit: limits.max_bytes,
        });
    }
    let is_multipart = content_type
        .map(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        })
        .unwrap_or(false);
    if !is_multipart {
        let (tree, warnings) = AssociationTree::parse_with(body, limits)?;
        return Ok(vec![TreeDocument {
            part: 0,
            filename: None,
            safe_filename: None,
            dp_id: tree.science_files().first().map(|f| f.name.clone()),
            tree: Ok(tree),
            xml: body.to_vec(),
            warnings,
        }]);
    }
    let (parts, split_warnings) = split(content_type.unwrap_or_default(), body)?;
    let mut documents = Vec::with_capacity(parts.len());
    for part in parts {
        let mut warnings: Vec<ParseWarning> = split_warnings
            .iter()
            .filter(|w| warning_part(w) == Some(part.index))
            .cloned()
            .collect();
        let tree = match AssociationTree::parse_with(&part.body, limits) {
            Ok((tree, tree_warnings)) => {
                warnings.extend(tree_warnings);
                Ok(tree)
            }
            Err(err) => Err(err),
        };
        documents.push(TreeDocument {
            part: part.index,
            dp_id: tree
                .as_ref()
                .ok()
                .and_then(|t| t.science_files().first())
                .map(|f| f.name.clone()),
            filename: part.filename,
            safe_filename: part.safe_filename,
            tree,
            xml: part.body,
            warnings,
        });
    }
    Ok(documents)
}

fn warning_part(warning: &ParseWarning) -> Option<usize> {
    match warning {
        ParseWarning::Multipart { part, .. } | ParseWarning::UnsafeFilename { part, .. } => {
            Some(*part)
        }
        _ => None,
    }
}

/// Finds the next delimiter at or after `from` that starts a line.
fn find_delimiter(finder: &memmem::Finder<'_>, body: &[u8], from: usize) -> Option<usize> {
    let mut start = from;
    while start <= body.len() {
        let found = start + finder.find(&body[start..])?;
        if found == 0 || body[found - 1] == b'\n' {
            return Some(found);
        }
        start = found + 1;
    }
    None
}

fn skip_line_end(body: &[u8], cursor: usize) -> usize {
    if body[cursor..].starts_with(b"\r\n") {
        cursor + 2
    } else if body[cursor..].starts_with(b"\n") {
        cursor + 1
    } else {
        cursor
    }
}

/// The end of a part's content: the line end before the next delimiter belongs to it.
fn strip_line_end_before(body: &[u8], start: usize, delimiter: usize) -> usize {
    let mut end = delimiter;
    if end > start && body[end - 1] == b'\n' {
        end -= 1;
        if end > start && body[end - 1] == b'\r' {
            end -= 1;
        }
    }
    end
}

fn parse_part(index: usize, raw: &[u8], warnings: &mut Vec<ParseWarning>) -> Result<Part> {
    // Headers end at the first empty line; a part may have no headers at all.
    let (header_bytes, body) = match find_blank_line(raw) {
        Some((headers_end, body_start)) => (&raw[..headers_end], &raw[body_start..]),
        None => {
            warnings.push(ParseWarning::Multipart {
                part: index,
                detail: "no blank line after the headers; treated as a body without headers"
                    .to_owned(),
            });
            (&raw[..0], raw)
        }
    };
    if header_bytes.len() > MAX_PART_HEADER_BYTES {
        return Err(Error::Multipart {
            reason: format!("part {index} has more than {MAX_PART_HEADER_BYTES} bytes of headers"),
        });
    }
    let header_text = String::from_utf8_lossy(header_bytes);
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in header_text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            // Obsolete line folding: continue the previous header.
            match headers.last_mut() {
                Some((_, value)) => {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                None => warnings.push(ParseWarning::Multipart {
                    part: index,
                    detail: "continuation line without a header".to_owned(),
                }),
            }
            continue;
        }
        match line.split_once(':') {
            Some((name, value)) if !name.trim().is_empty() => {
                headers.push((name.trim().to_owned(), value.trim().to_owned()))
            }
            _ => warnings.push(ParseWarning::Multipart {
                part: index,
                detail: format!("malformed header line {:?}", escape_terminal(line)),
            }),
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
    };
    let content_type = find("content-type");
    let declared_length = match find("content-length") {
        Some(value) => match value.parse::<u64>() {
            Ok(length) => Some(length),
            Err(_) => {
                warnings.push(ParseWarning::Multipart {
                    part: index,
                    detail: format!(
                        "Content-Length {:?} is not a number",
                        escape_terminal(&value)
                    ),
                });
                None
            }
        },
        None => None,
    };
    if let Some(length) = declared_length {
        if length != body.len() as u64 {
            warnings.push(ParseWarning::Multipart {
                part: index,
                detail: format!(
                    "Content-Length says {length} bytes, the part has {}",
                    body.len()
                ),
            });
        }
    }
    let filename = find("content-disposition")
        .and_then(|cd| parse_content_disposition(cd.as_bytes()))
        .and_then(|cd| cd.file_name().map(str::to_owned));
    let safe_filename = match &filename {
        Some(raw_name) => match sanitize_file_name(raw_name) {
            Ok(name) => {
                if &name != raw_name {
                    warnings.push(ParseWarning::UnsafeFilename {
                        part: index,
                        filename: escape_terminal(raw_name),
                        reason: format!("sanitised to {:?}", escape_terminal(&name)),
                    });
                }
                Some(name)
            }
            Err(err) => {
                warnings.push(ParseWarning::UnsafeFilename {
                    part: index,
                    filename: escape_terminal(raw_name),
                    reason: err.to_string(),
                });
                None
            }
        },
        None => None,
    };
    Ok(Part {
        index,
        headers,
        content_type,
        filename,
        safe_filename,
        declared_length,
        body: body.to_vec(),
    })
}

/// Returns (end of headers, start of body) for the first empty line (CRLF or LF).
fn find_blank_line(raw: &[u8]) -> Option<(usize, usize)> {
    if raw.starts_with(b"\r\n") {
        return Some((0, 2));
    }
    if raw.starts_with(b"\n") {
        return Some((0, 1));
    }
    let mut idx = 0;
    while let Some(offset) = memchr::memchr(b'\n', &raw[idx..]) {
        let nl = idx + offset;
        let rest = &raw[nl + 1..];
        if rest.starts_with(b"\r\n") {
            return Some((nl + 1, nl + 3));
        }
        if rest.starts_with(b"\n") {
            return Some((nl + 1, nl + 2));
        }
        idx = nl + 1;
    }
    None
}

/// Splits a header value into its first token and `name=value` parameters; quoted values
/// (with backslash escapes) are unquoted. Never fails: junk parameters are skipped.
fn split_header_params(value: &str) -> (&str, Vec<(String, String)>) {
    let (essence, mut rest) = match value.find(';') {
        Some(idx) => (value[..idx].trim(), &value[idx + 1..]),
        None => (value.trim(), ""),
    };
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            break;
        }
        let name_end = rest.find(['=', ';']).unwrap_or(rest.len());
        let name = rest[..name_end].trim().to_owned();
        rest = &rest[name_end..];
        if !rest.starts_with('=') {
            continue; // a parameter without a value
        }
        rest = rest[1..].trim_start();
        let param_value = if let Some(quoted) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            let mut consumed = quoted.len();
            while let Some((idx, ch)) = chars.next() {
                match ch {
                    '"' => {
                        consumed = idx + 1;
                        break;
                    }
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            out.push(escaped);
                        }
                    }
                    other => out.push(other),
                }
            }
            rest = &quoted[consumed.min(quoted.len())..];
            out
        } else {
            let end = rest.find(';').unwrap_or(rest.len());
            let token = rest[..end].trim().to_owned();
            rest = &rest[end..];
            token
        };
        if !name.is_empty() {
            params.push((name, param_value));
        }
    }
    (essence, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_from_content_type() {
        assert_eq!(
            boundary(
                "multipart/form-data; boundary=uFQlfs9nBIDEAIoz0_ZM-O2SXKsZ2iSd4h7H;charset=UTF-8"
            )
            .unwrap(),
            "uFQlfs9nBIDEAIoz0_ZM-O2SXKsZ2iSd4h7H"
        );
        assert_eq!(
            boundary("Multipart/Mixed; charset=x; BOUNDARY=\"a b;c\"").unwrap(),
            "a b;c"
        );
        assert!(boundary("application/xml").is_err());
        assert!(boundary("multipart/form-data").is_err());
        assert!(boundary("multipart/form-data; boundary=").is_err());
    }

    #[test]
    fn crlf_and_lf_bodies() {
        let crlf = b"preamble\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\n\r\nworld\r\n--b--\r\n";
        let (parts, warnings) = split("multipart/mixed; boundary=b", crlf).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].body, b"hello");
        assert_eq!(parts[0].content_type.as_deref(), Some("text/plain"));
        assert_eq!(parts[1].body, b"world");
        let lf = b"--b\nX: 1\n\nhello --b inside\n--bb not a delimiter\n--b--";
        let (parts, _) = split("multipart/mixed; boundary=b", lf).unwrap();
        // `--bb` starts a line and begins with the delimiter: RFC 2046 forbids such boundaries,
        // so it is taken as a delimiter with padding; what matters is no panic and no loss.
        assert!(!parts.is_empty());
        assert!(parts[0].body.starts_with(b"hello --b inside"));
    }

    #[test]
    fn truncated_and_garbage_bodies_do_not_panic() {
        for body in [
            &b""[..],
            b"--b",
            b"--b\n",
            b"--b\r\n",
            b"--b\nno blank line",
            b"--b\n\n",
            b"--b--",
            b"junk without delimiter",
            b"--b\nContent-Length: x\n\nbody\n--b--",
            b"--b\n Folded: first\n\nbody\n--b--",
        ] {
            let _ = split("multipart/mixed; boundary=b", body);
        }
        assert!(split("multipart/mixed; boundary=b", b"junk").is_err());
    }

    #[test]
    fn part_names_are_sanitised() {
        let body = b"--b\r\nContent-Disposition: attachment; filename=\"a.xml\"; filename*=UTF-8''..%2F%E2%82%AC.xml\r\n\r\nx\r\n--b\r\nContent-Disposition: attachment; filename=\"..\"\r\n\r\ny\r\n--b--";
        let (parts, warnings) = split("multipart/mixed; boundary=b", body).unwrap();
        assert_eq!(parts[0].filename.as_deref(), Some("../\u{20ac}.xml"));
        assert_eq!(parts[0].safe_filename.as_deref(), Some("\u{20ac}.xml"));
        assert_eq!(parts[1].safe_filename, None);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert_eq!(
            tree_file_name("SPHER.2016-09-26T03:04:09.308", crate::Mode::Raw2Master).ok(),
            (!cfg!(windows)).then(|| "SPHER.2016-09-26T03:04:09.308_raw2master.xml".to_owned())
        );
        assert!(tree_file_name("../etc", crate::Mode::Raw2Raw).is_err());
        assert!(tree_file_name(" ", crate::Mode::Raw2Raw).is_err());
    }
}
