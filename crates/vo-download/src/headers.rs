//! Total parsers for the HTTP headers a download depends on: `Content-Range`, `Range`,
//! `Retry-After` and entity validators (RFC 9110 §14 and §10.2.3).
//!
//! Every function returns `None` for anything it does not understand; none of them panics.

use std::time::{Duration, SystemTime};

/// A parsed `Content-Range` response header (RFC 9110 §14.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentRange {
    /// `bytes first-last/complete` (`complete` is `None` for `*`).
    Bytes {
        /// First byte position, inclusive.
        first: u64,
        /// Last byte position, inclusive.
        last: u64,
        /// Complete length of the representation, if known.
        complete: Option<u64>,
    },
    /// `bytes */complete`, sent with 416 (Range Not Satisfiable).
    Unsatisfied {
        /// Complete length of the representation.
        complete: u64,
    },
}

fn parse_u64(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses a `Content-Range` value such as `bytes 100-199/1000` or `bytes */1000`.
///
/// ```
/// use vo_download::headers::{parse_content_range, ContentRange};
/// assert_eq!(parse_content_range("bytes 0-9/10"), Some(ContentRange::Bytes { first: 0, last: 9, complete: Some(10) }));
/// assert_eq!(parse_content_range("bytes */10"), Some(ContentRange::Unsatisfied { complete: 10 }));
/// assert_eq!(parse_content_range("bytes 9-0/10"), None);
/// ```
pub fn parse_content_range(value: &str) -> Option<ContentRange> {
    let value = value.trim();
    let (unit, rest) = value.split_once(' ')?;
    if !unit.eq_ignore_ascii_case("bytes") {
        return None;
    }
    let (range, complete) = rest.trim().split_once('/')?;
    let complete = match complete.trim() {
        "*" => None,
        text => Some(parse_u64(text)?),
    };
    if range.trim() == "*" {
        return complete.map(|complete| ContentRange::Unsatisfied { complete });
    }
    let (first, last) = range.split_once('-')?;
    let first = parse_u64(first)?;
    let last = parse_u64(last)?;
    if last < first || complete.is_some_and(|c| last >= c) {
        return None;
    }
    Some(ContentRange::Bytes {
        first,
        last,
        complete,
    })
}

/// A single byte range from a `Range` request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=first-` or `bytes=first-last`.
    From {
        /// First byte position.
        first: u64,
        /// Last byte position, inclusive, if given.
        last: Option<u64>,
    },
    /// `bytes=-n`: the last `n` bytes.
    Suffix(u64),
}

/// Parses a `Range` header holding exactly one byte range (multiple ranges give `None`).
pub fn parse_range(value: &str) -> Option<ByteRange> {
    let (unit, spec) = value.trim().split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return None;
    }
    let (first, last) = spec.trim().split_once('-')?;
    if first.trim().is_empty() {
        return Some(ByteRange::Suffix(parse_u64(last)?));
    }
    let first = parse_u64(first)?;
    let last = match last.trim() {
        "" => None,
        text => Some(parse_u64(text)?),
    };
    if last.is_some_and(|l| l < first) {
        return None;
    }
    Some(ByteRange::From { first, last })
}

/// The `Range` value asking for everything from `offset` on: `bytes=offset-`.
pub fn range_from(offset: u64) -> String {
    format!("bytes={offset}-")
}

/// Parses `Retry-After` (delta-seconds or an HTTP-date) into a wait from `now`.
/// A date in the past gives zero; garbage gives `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Some(seconds) = parse_u64(value) {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An entity tag (RFC 9110 §8.8.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ETag {
    /// `true` for `W/"..."` tags, which must not be used with `If-Range`.
    pub weak: bool,
    /// The tag including its quotes, as sent.
    pub tag: String,
}

/// Parses an `ETag` header value; `None` if it is not `"..."` or `W/"..."`.
pub fn parse_etag(value: &str) -> Option<ETag> {
    let value = value.trim();
    let (weak, tag) = match value.strip_prefix("W/") {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let valid = tag.len() >= 2
        && tag.starts_with('"')
        && tag.ends_with('"')
        && !tag[1..tag.len() - 1].contains('"')
        && tag
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80 || b == b'"');
    valid.then(|| ETag {
        weak,
        tag: tag.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn content_range_table() {
        let b = |first, last, complete| {
            Some(ContentRange::Bytes {
                first,
                last,
                complete,
            })
        };
        let cases: &[(&str, Option<ContentRange>)] = &[
            ("bytes 0-499/1234", b(0, 499, Some(1234))),
            ("bytes 500-1233/1234", b(500, 1233, Some(1234))),
            ("BYTES 1-1/*", b(1, 1, None)),
            (
                "bytes */1234",
                Some(ContentRange::Unsatisfied { complete: 1234 }),
            ),
            ("bytes */*", None),
            ("bytes 500-1234/1234", None),
            ("bytes 5-4/10", None),
            ("bytes -1-4/10", None),
            ("bytes +1-4/10", None),
            ("items 0-1/2", None),
            ("bytes 0-1", None),
            ("bytes 0-99999999999999999999999/1", None),
            ("", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(parse_content_range(raw), *expected, "{raw}");
        }
    }

    #[test]
    fn range_table() {
        assert_eq!(
            parse_range("bytes=100-"),
            Some(ByteRange::From {
                first: 100,
                last: None
            })
        );
        assert_eq!(
            parse_range("bytes=0-9"),
            Some(ByteRange::From {
                first: 0,
                last: Some(9)
            })
        );
        assert_eq!(parse_range("bytes=-5"), Some(ByteRange::Suffix(5)));
        assert_eq!(parse_range("bytes=0-1,5-6"), None);
        assert_eq!(parse_range("bytes=9-1"), None);
        assert_eq!(parse_range("pages=1-"), None);
        assert_eq!(
            parse_range(&range_from(42)),
            Some(ByteRange::From {
                first: 42,
                last: None
            })
        );
    }

    #[test]
    fn retry_after_table() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn etags() {
        assert_eq!(
            parse_etag("\"abc\""),
            Some(ETag {
                weak: false,
                tag: "\"abc\"".into()
            })
        );
        assert_eq!(
            parse_etag("W/\"abc\""),
            Some(ETag {
                weak: true,
                tag: "\"abc\"".into()
            })
        );
        assert_eq!(parse_etag("abc"), None);
        assert_eq!(parse_etag("\"a\"b\""), None);
        assert_eq!(parse_etag("\""), None);
    }

    proptest! {
        #[test]
        fn parsers_are_total(s in ".{0,64}") {
            let _ = parse_content_range(&s);
            let _ = parse_range(&s);
            let _ = parse_retry_after(&s, SystemTime::UNIX_EPOCH);
            let _ = parse_etag(&s);
        }

        #[test]
        fn content_range_round_trip(first in 0u64..1 << 50, len in 1u64..1 << 20, extra in 0u64..1000) {
            let last = first + len - 1;
            let complete = last + 1 + extra;
            let text = format!("bytes {first}-{last}/{complete}");
            prop_assert_eq!(parse_content_range(&text), Some(ContentRange::Bytes { first, last, complete: Some(complete) }));
        }
    }
}
