//! The cascade description of the `#this` row.
//!
//! calSelector describes the cascade it built in the `description` column of the `#this` row as
//! a list of `key="value"` pairs, e.g.
//! `category="IFS_SCI_FLUX" certified="true" complete="true" mode="Raw2Master" type="main" messages=""`.
//! This module tokenizes it properly (ESO's notebook uses regular expressions):
//! double- or single-quoted values with backslash escapes (`\"`, `\\`), empty values, bare values,
//! unknown keys kept in order. Anything that does not fit becomes a [`ParseWarning`], never a panic.

use serde::Serialize;

use crate::request::Mode;
use crate::warnings::ParseWarning;

/// The typed content of a cascade description.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CascadeSummary {
    /// Science category of the input frame (`category`), e.g. `IFS_SCI_FLUX`.
    pub category: Option<String>,
    /// Whether the cascade is certified (`certified`).
    pub certified: Option<bool>,
    /// Whether the cascade is complete (`complete`).
    pub complete: Option<bool>,
    /// The mode calSelector executed (`mode`).
    pub mode: Option<Mode>,
    /// The cascade type (`type`), e.g. `main`.
    pub cascade_type: Option<String>,
    /// calSelector's messages (`messages`); `Some("")` when present but empty.
    pub messages: Option<String>,
    /// Keys this crate does not know, and known keys whose value could not be typed, in order.
    pub extra: Vec<(String, String)>,
}

impl CascadeSummary {
    /// True if no key at all was found.
    pub fn is_empty(&self) -> bool {
        self.category.is_none()
            && self.certified.is_none()
            && self.complete.is_none()
            && self.mode.is_none()
            && self.cascade_type.is_none()
            && self.messages.is_none()
            && self.extra.is_empty()
    }

    /// The messages, trimmed, or None if absent or empty.
    pub fn messages_text(&self) -> Option<&str> {
        self.messages
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
    }
}

/// Longest description accepted; longer input is cut there with a warning.
const MAX_DESCRIPTION_LEN: usize = 1 << 20;

/// Parses a cascade description.
///
/// Never fails: what cannot be read is reported in the returned warnings.
/// A key given twice keeps its first value.
pub fn parse_description(input: &str) -> (CascadeSummary, Vec<ParseWarning>) {
    let mut warnings = Vec::new();
    let mut text = input;
    if text.len() > MAX_DESCRIPTION_LEN {
        let mut cut = MAX_DESCRIPTION_LEN;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text = &text[..cut];
        warnings.push(ParseWarning::Description {
            offset: cut,
            detail: format!("description longer than {MAX_DESCRIPTION_LEN} bytes, cut"),
        });
    }
    let pairs = tokenize(text, &mut warnings);
    let mut summary = CascadeSummary::default();
    let mut seen: Vec<String> = Vec::new();
    for (offset, key, value) in pairs {
        if seen.iter().any(|k| k == &key) {
            warnings.push(ParseWarning::Description {
                offset,
                detail: format!("key {key:?} given twice, first value kept"),
            });
            continue;
        }
        seen.push(key.clone());
        match key.as_str() {
            "category" => summary.category = Some(value),
            "type" => summary.cascade_type = Some(value),
            "messages" => summary.messages = Some(value),
            "certified" | "complete" => match parse_bool(&value) {
                Some(flag) if key == "certified" => summary.certified = Some(flag),
                Some(flag) => summary.complete = Some(flag),
                None => {
                    warnings.push(ParseWarning::Description {
                        offset,
                        detail: format!("{key}={value:?} is not true or false"),
                    });
                    summary.extra.push((key, value));
                }
            },
            "mode" => match value.parse::<Mode>() {
                Ok(mode) => summary.mode = Some(mode),
                Err(_) => {
                    warnings.push(ParseWarning::Description {
                        offset,
                        detail: format!("unknown mode {value:?}"),
                    });
                    summary.extra.push((key, value));
                }
            },
            _ => summary.extra.push((key, value)),
        }
    }
    (summary, warnings)
}

fn parse_bool(value: &str) -> Option<bool> {
    let trimmed = value.trim();
    if trimmed.eq_ignore_ascii_case("true") {
        Some(true)
    } else if trimmed.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Splits `key=value` pairs; returns (offset of the key, key, value).
fn tokenize(text: &str, warnings: &mut Vec<ParseWarning>) -> Vec<(usize, String, String)> {
    let bytes = text.as_bytes();
    let mut pairs = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        // Skip separators: whitespace, and commas or semicolons some writers put between pairs.
        while pos < bytes.len() && matches!(bytes[pos], b' ' | b'\t' | b'\r' | b'\n' | b',' | b';')
        {
            pos += 1;
        }
        if pos >= bytes.len() {
            break;
        }
        let key_start = pos;
        while pos < bytes.len() && !is_key_end(bytes[pos]) {
            pos += 1;
        }
        let key = &text[key_start..pos];
        // Optional spaces around `=`.
        let mut probe = pos;
        while probe < bytes.len() && matches!(bytes[probe], b' ' | b'\t') {
            probe += 1;
        }
        if probe >= bytes.len() || bytes[probe] != b'=' {
            // Not a pair: a stray word, or a quote where a key should be.
            let stray_end = if pos == key_start {
                skip_stray(text, pos)
            } else {
                pos
            };
            warnings.push(ParseWarning::Description {
                offset: key_start,
                detail: format!(
                    "expected key=\"value\", found {:?}",
                    excerpt(&text[key_start..stray_end])
                ),
            });
            pos = stray_end.max(key_start + 1);
            while pos < bytes.len() && !text.is_char_boundary(pos) {
                pos += 1;
            }
            continue;
        }
        pos = probe + 1;
        while pos < bytes.len() && matches!(bytes[pos], b' ' | b'\t') {
            pos += 1;
        }
        if key.is_empty() {
            warnings.push(ParseWarning::Description {
                offset: key_start,
                detail: "value without a key".to_owned(),
            });
        }
        let (value, next) = read_value(text, pos, warnings);
        pos = next;
        if !key.is_empty() {
            pairs.push((key_start, key.to_owned(), value));
        }
    }
    pairs
}

fn is_key_end(byte: u8) -> bool {
    matches!(
        byte,
        b'=' | b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'' | b',' | b';'
    )
}

/// Skips a token that is not a pair, including a quoted string, and returns where it ends.
fn skip_stray(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    match bytes.get(start) {
        Some(&quote @ (b'"' | b'\'')) => {
            let mut pos = start + 1;
            while pos < bytes.len() && bytes[pos] != quote {
                pos += if bytes[pos] == b'\\' { 2 } else { 1 };
            }
            (pos + 1).min(bytes.len())
        }
        _ => {
            let mut pos = start;
            while pos < bytes.len() && !matches!(bytes[pos], b' ' | b'\t' | b'\r' | b'\n') {
                pos += 1;
            }
            pos
        }
    }
}

/// Reads a quoted or bare value starting at `pos`; returns it and the position after it.
fn read_value(text: &str, pos: usize, warnings: &mut Vec<ParseWarning>) -> (String, usize) {
    let bytes = text.as_bytes();
    match bytes.get(pos) {
        None => (String::new(), pos),
        Some(&quote @ (b'"' | b'\'')) => {
            let mut value = String::new();
            let mut chars = text[pos + 1..].char_indices();
            while let Some((idx, ch)) = chars.next() {
                if ch == quote as char {
                    let after = pos + 1 + idx + 1;
                    if after < bytes.len() && !is_separator(bytes[after]) {
                        warnings.push(ParseWarning::Description {
                            offset: after,
                            detail: "missing space after a quoted value".to_owned(),
                        });
                    }
                    return (value, after);
                }
                if ch == '\\' {
                    match chars.next() {
                        Some((_, escaped)) if escaped == quote as char || escaped == '\\' => {
                            value.push(escaped)
                        }
                        Some((_, other)) => {
                            value.push('\\');
                            value.push(other);
                        }
                        None => value.push('\\'),
                    }
                } else {
                    value.push(ch);
                }
            }
            warnings.push(ParseWarning::Description {
                offset: pos,
                detail: "unterminated quoted value, read to the end".to_owned(),
            });
            (value, bytes.len())
        }
        Some(_) => {
            let mut end = pos;
            while end < bytes.len() && !is_separator(bytes[end]) {
                end += 1;
            }
            (text[pos..end].to_owned(), end)
        }
    }
}

fn is_separator(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b',' | b';')
}

fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_000_description() {
        let (summary, warnings) = parse_description(
            r#"category="IFS_SCI_FLUX" certified="true" complete="true" mode="Raw2Master" type="main" messages="""#,
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            summary,
            CascadeSummary {
                category: Some("IFS_SCI_FLUX".into()),
                certified: Some(true),
                complete: Some(true),
                mode: Some(Mode::Raw2Master),
                cascade_type: Some("main".into()),
                messages: Some(String::new()),
                extra: vec![],
            }
        );
    }

    #[test]
    fn escaped_quotes_single_quotes_and_unknown_keys() {
        let (summary, warnings) = parse_description(
            r#"messages="a \"quoted\" word and a \\ backslash \n" category='X Y' future=bare  weird = "sp""#,
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            summary.messages.as_deref(),
            Some(r#"a "quoted" word and a \ backslash \n"#)
        );
        assert_eq!(summary.category.as_deref(), Some("X Y"));
        assert_eq!(
            summary.extra,
            vec![
                ("future".to_owned(), "bare".to_owned()),
                ("weird".to_owned(), "sp".to_owned())
            ]
        );
    }

    #[test]
    fn garbage_is_a_warning() {
        let inputs = [
            "",
            "   ",
            "\"",
            "=",
            "==\"",
            "certified=\"maybe\" mode=\"Raw2Something\"",
            "category=\"unterminated",
            "stray words here",
            "a=\"1\"b=\"2\"",
            "\"orphan quoted\" category=\"C\"",
            "k=\"é\\",
            "é=ü ü",
            "category=\"A\" category=\"B\"",
        ];
        for input in inputs {
            let (summary, warnings) = parse_description(input);
            if input.trim().is_empty() {
                assert!(summary.is_empty() && warnings.is_empty());
            } else {
                assert!(
                    !warnings.is_empty(),
                    "no warning for {input:?}: {summary:?}"
                );
            }
        }
        let (summary, _) = parse_description("\"orphan quoted\" category=\"C\"");
        assert_eq!(summary.category.as_deref(), Some("C"));
        let (summary, _) = parse_description("category=\"A\" category=\"B\"");
        assert_eq!(summary.category.as_deref(), Some("A"));
        let (summary, _) = parse_description("certified=\"maybe\"");
        assert_eq!(summary.certified, None);
        assert_eq!(
            summary.extra,
            vec![("certified".to_owned(), "maybe".to_owned())]
        );
    }

    #[test]
    fn every_byte_string_is_total() {
        // A cheap exhaustive check over short strings from a hostile alphabet.
        let alphabet = ['a', '=', '"', '\'', '\\', ' ', 'é', ','];
        let mut stack = vec![String::new()];
        while let Some(prefix) = stack.pop() {
            let _ = parse_description(&prefix);
            if prefix.chars().count() < 5 {
                for ch in alphabet {
                    let mut next = prefix.clone();
                    next.push(ch);
                    stack.push(next);
                }
            }
        }
    }
}
