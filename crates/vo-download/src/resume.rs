//! The resume decision as a pure function: given what is on disk (the `.part` length and the
//! validators stored in its sidecar) and the answer to a (possibly ranged) GET, decide whether
//! to append, start over, treat the file as complete, or fail.
//!
//! ```text
//!             local .part of N bytes, state S
//!                        |
//!        N > 0 ? GET Range: bytes=N-  If-Range: strong ETag | Last-Modified
//!                        |
//!   +--------------+-----+--------------+--------------------+
//!   | 200          | 206                | 416                | other
//!   v              v                    v                    v
//! WriteFromStart  Content-Range       Content-Range */L     Fail
//! (truncate .part) N-(L-1)/L,         and L == N ?
//!                  L == S.total,       yes: Complete
//!                  same strong ETag ?  no:  Restart
//!                  yes: Append at N
//!                  no:  Restart (discard body, new GET without Range)
//! ```
//!
//! A `200` to a ranged request means the range was ignored or the validator failed: the body
//! is the whole, possibly new, representation, so it is written from offset 0, never appended.

use crate::headers::{ContentRange, ETag, parse_etag, range_from};
use serde::{Deserialize, Serialize};

/// Version of the sidecar format.
pub const STATE_VERSION: u32 = 1;

/// What is stored beside a `.part` file (`<final>.part.json`) so that a later run can resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartState {
    /// Sidecar format version ([`STATE_VERSION`]).
    pub version: u32,
    /// The URL the bytes came from.
    pub url: String,
    /// The ETag of the representation, as sent (quotes included, `W/` prefix kept).
    pub etag: Option<String>,
    /// The `Last-Modified` value, as sent.
    pub last_modified: Option<String>,
    /// The complete length, if known.
    pub total: Option<u64>,
}

impl PartState {
    /// The state for a fresh response to `url`.
    pub fn new(url: &str, response: &ResponseMeta) -> Self {
        let total = match (response.status, response.content_range) {
            (206, Some(ContentRange::Bytes { complete, .. })) => complete,
            _ => response.content_length,
        };
        PartState {
            version: STATE_VERSION,
            url: url.to_owned(),
            etag: response.etag.as_ref().map(|e| {
                if e.weak {
                    format!("W/{}", e.tag)
                } else {
                    e.tag.clone()
                }
            }),
            last_modified: response.last_modified.clone(),
            total,
        }
    }

    /// The `If-Range` value: the strong ETag, else `Last-Modified`; never a weak ETag.
    pub fn if_range(&self) -> Option<String> {
        if let Some(etag) = self
            .etag
            .as_deref()
            .and_then(parse_etag)
            .filter(|e| !e.weak)
        {
            return Some(etag.tag);
        }
        self.last_modified.clone()
    }

    fn strong_etag(&self) -> Option<ETag> {
        self.etag
            .as_deref()
            .and_then(parse_etag)
            .filter(|e| !e.weak)
    }
}

/// Headers to add to a GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeHeaders {
    /// `Range` value, `bytes=N-`.
    pub range: Option<String>,
    /// `If-Range` value.
    pub if_range: Option<String>,
}

/// Plans the next request for a `.part` holding `local_len` bytes with sidecar `state`.
///
/// Resuming needs a sidecar for the same URL; otherwise the request starts from zero (the
/// caller must then truncate the `.part`).
pub fn plan_request(local_len: u64, state: Option<&PartState>, url: &str) -> RangeHeaders {
    match state {
        Some(state)
            if local_len > 0 && state.url == url && state.total.is_none_or(|t| local_len <= t) =>
        {
            RangeHeaders {
                range: Some(range_from(local_len)),
                if_range: state.if_range(),
            }
        }
        _ => RangeHeaders::default(),
    }
}

/// The parts of a response the decision depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseMeta {
    /// HTTP status code.
    pub status: u16,
    /// Parsed `Content-Range`, if present and valid.
    pub content_range: Option<ContentRange>,
    /// `Content-Length`, if present and valid.
    pub content_length: Option<u64>,
    /// Parsed `ETag`.
    pub etag: Option<ETag>,
    /// `Last-Modified`, as sent.
    pub last_modified: Option<String>,
}

/// What to do with a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Truncate the `.part` and write the body from offset 0.
    WriteFromStart {
        /// Expected complete length, from `Content-Length`.
        total: Option<u64>,
    },
    /// Append the body to the `.part` at `offset`.
    Append {
        /// Where the body starts; equals the local length.
        offset: u64,
        /// The complete length.
        total: u64,
    },
    /// The `.part` already holds the whole representation: verify and commit it.
    Complete {
        /// The complete length.
        total: u64,
    },
    /// Discard this response and the `.part`, then request again without `Range`.
    Restart {
        /// Why (for logs).
        reason: &'static str,
    },
    /// The response cannot be used.
    Fail {
        /// Its status code.
        status: u16,
    },
}

/// Decides what to do with `response` to a request for bytes from `requested` on
/// (`None` for a plain GET), with `local_len` bytes in the `.part` and its sidecar `state`.
pub fn decide(
    requested: Option<u64>,
    local_len: u64,
    state: Option<&PartState>,
    response: &ResponseMeta,
) -> Decision {
    match response.status {
        200 => Decision::WriteFromStart {
            total: response.content_length,
        },
        206 => decide_partial(requested, state, response),
        416 => match response.content_range {
            Some(ContentRange::Unsatisfied { complete })
                if requested.is_some()
                    && complete == local_len
                    && state.and_then(|s| s.total).is_none_or(|t| t == complete) =>
            {
                Decision::Complete { total: complete }
            }
            _ => Decision::Restart {
                reason: "range not satisfiable and local length differs",
            },
        },
        status => Decision::Fail { status },
    }
}

fn decide_partial(
    requested: Option<u64>,
    state: Option<&PartState>,
    response: &ResponseMeta,
) -> Decision {
    let Some(offset) = requested else {
        return Decision::Restart {
            reason: "partial content to a request without range",
        };
    };
    let Some(ContentRange::Bytes {
        first,
        last,
        complete: Some(total),
    }) = response.content_range
    else {
        return Decision::Restart {
            reason: "partial content without a usable content-range",
        };
    };
    if first != offset {
        return Decision::Restart {
            reason: "partial content starts at another offset",
        };
    }
    if last + 1 != total {
        return Decision::Restart {
            reason: "partial content does not run to the end",
        };
    }
    if state
        .and_then(|s| s.total)
        .is_some_and(|known| known != total)
    {
        return Decision::Restart {
            reason: "complete length changed",
        };
    }
    if response
        .content_length
        .is_some_and(|len| len != last - first + 1)
    {
        return Decision::Restart {
            reason: "content-length disagrees with content-range",
        };
    }
    let stored = state.and_then(PartState::strong_etag);
    let received = response.etag.as_ref().filter(|e| !e.weak);
    if let (Some(stored), Some(received)) = (stored, received) {
        if stored.tag != received.tag {
            return Decision::Restart {
                reason: "entity tag changed",
            };
        }
    }
    if let (Some(stored), Some(received)) = (
        state.and_then(|s| s.last_modified.as_deref()),
        response.last_modified.as_deref(),
    ) {
        if stored != received {
            return Decision::Restart {
                reason: "last-modified changed",
            };
        }
    }
    Decision::Append { offset, total }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::parse_content_range;
    use proptest::prelude::*;

    fn state(etag: Option<&str>, lm: Option<&str>, total: Option<u64>) -> PartState {
        PartState {
            version: STATE_VERSION,
            url: "http://h/f".into(),
            etag: etag.map(str::to_owned),
            last_modified: lm.map(str::to_owned),
            total,
        }
    }

    fn resp(status: u16, cr: Option<&str>, len: Option<u64>, etag: Option<&str>) -> ResponseMeta {
        ResponseMeta {
            status,
            content_range: cr.and_then(parse_content_range),
            content_length: len,
            etag: etag.and_then(parse_etag),
            last_modified: None,
        }
    }

    #[test]
    fn plans() {
        let s = state(
            Some("\"v1\""),
            Some("Tue, 01 Jan 2030 00:00:00 GMT"),
            Some(100),
        );
        assert_eq!(
            plan_request(40, Some(&s), "http://h/f"),
            RangeHeaders {
                range: Some("bytes=40-".into()),
                if_range: Some("\"v1\"".into())
            }
        );
        let weak = state(
            Some("W/\"v1\""),
            Some("Tue, 01 Jan 2030 00:00:00 GMT"),
            Some(100),
        );
        assert_eq!(
            plan_request(40, Some(&weak), "http://h/f")
                .if_range
                .as_deref(),
            Some("Tue, 01 Jan 2030 00:00:00 GMT")
        );
        let weak_only = state(Some("W/\"v1\""), None, Some(100));
        assert_eq!(
            plan_request(40, Some(&weak_only), "http://h/f").if_range,
            None
        );
        assert_eq!(
            plan_request(0, Some(&s), "http://h/f"),
            RangeHeaders::default()
        );
        assert_eq!(
            plan_request(40, None, "http://h/f"),
            RangeHeaders::default()
        );
        assert_eq!(
            plan_request(40, Some(&s), "http://h/other"),
            RangeHeaders::default()
        );
        assert_eq!(
            plan_request(101, Some(&s), "http://h/f"),
            RangeHeaders::default()
        );
        assert_eq!(
            plan_request(100, Some(&s), "http://h/f").range.as_deref(),
            Some("bytes=100-")
        );
    }

    #[test]
    fn decision_table() {
        let s = state(Some("\"v1\""), None, Some(100));
        let cases: Vec<(&str, Option<u64>, u64, ResponseMeta, Decision)> = vec![
            (
                "fresh 200",
                None,
                0,
                resp(200, None, Some(100), None),
                Decision::WriteFromStart { total: Some(100) },
            ),
            (
                "200 to range restarts",
                Some(40),
                40,
                resp(200, None, Some(100), Some("\"v2\"")),
                Decision::WriteFromStart { total: Some(100) },
            ),
            (
                "good 206",
                Some(40),
                40,
                resp(206, Some("bytes 40-99/100"), Some(60), Some("\"v1\"")),
                Decision::Append {
                    offset: 40,
                    total: 100,
                },
            ),
            (
                "206 without etag",
                Some(40),
                40,
                resp(206, Some("bytes 40-99/100"), None, None),
                Decision::Append {
                    offset: 40,
                    total: 100,
                },
            ),
            (
                "206 wrong start",
                Some(40),
                40,
                resp(206, Some("bytes 30-99/100"), None, None),
                Decision::Restart {
                    reason: "partial content starts at another offset",
                },
            ),
            (
                "206 other total",
                Some(40),
                40,
                resp(206, Some("bytes 40-119/120"), None, None),
                Decision::Restart {
                    reason: "complete length changed",
                },
            ),
            (
                "206 short range",
                Some(40),
                40,
                resp(206, Some("bytes 40-49/100"), None, None),
                Decision::Restart {
                    reason: "partial content does not run to the end",
                },
            ),
            (
                "206 star total",
                Some(40),
                40,
                resp(206, Some("bytes 40-99/*"), None, None),
                Decision::Restart {
                    reason: "partial content without a usable content-range",
                },
            ),
            (
                "206 no content-range",
                Some(40),
                40,
                resp(206, None, None, None),
                Decision::Restart {
                    reason: "partial content without a usable content-range",
                },
            ),
            (
                "206 etag changed",
                Some(40),
                40,
                resp(206, Some("bytes 40-99/100"), None, Some("\"v2\"")),
                Decision::Restart {
                    reason: "entity tag changed",
                },
            ),
            (
                "206 length mismatch",
                Some(40),
                40,
                resp(206, Some("bytes 40-99/100"), Some(10), None),
                Decision::Restart {
                    reason: "content-length disagrees with content-range",
                },
            ),
            (
                "206 unrequested",
                None,
                0,
                resp(206, Some("bytes 0-99/100"), None, None),
                Decision::Restart {
                    reason: "partial content to a request without range",
                },
            ),
            (
                "416 complete",
                Some(100),
                100,
                resp(416, Some("bytes */100"), None, None),
                Decision::Complete { total: 100 },
            ),
            (
                "416 other size",
                Some(100),
                100,
                resp(416, Some("bytes */90"), None, None),
                Decision::Restart {
                    reason: "range not satisfiable and local length differs",
                },
            ),
            (
                "416 without content-range",
                Some(100),
                100,
                resp(416, None, None, None),
                Decision::Restart {
                    reason: "range not satisfiable and local length differs",
                },
            ),
            (
                "404",
                None,
                0,
                resp(404, None, None, None),
                Decision::Fail { status: 404 },
            ),
            (
                "503",
                Some(40),
                40,
                resp(503, None, None, None),
                Decision::Fail { status: 503 },
            ),
        ];
        for (name, requested, local, response, expected) in cases {
            assert_eq!(
                decide(requested, local, Some(&s), &response),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn state_from_response() {
        let r = ResponseMeta {
            last_modified: Some("x".into()),
            ..resp(206, Some("bytes 5-9/10"), Some(5), Some("W/\"a\""))
        };
        let s = PartState::new("u", &r);
        assert_eq!(s.total, Some(10));
        assert_eq!(s.etag.as_deref(), Some("W/\"a\""));
        assert_eq!(s.if_range().as_deref(), Some("x"));
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<PartState>(&json).unwrap(), s);
    }

    proptest! {
        /// Model check: whatever the server answers, appending only ever happens at the local
        /// length and a 416 only completes when the local length is the complete length.
        #[test]
        fn never_splices(local in 0u64..200, status in prop_oneof![Just(200u16), Just(206), Just(416), 100u16..600],
                         first in 0u64..200, last in 0u64..300, total in 0u64..300, star in any::<bool>()) {
            let s = state(None, None, None);
            let cr = if status == 416 { format!("bytes */{total}") } else if star { format!("bytes {first}-{last}/*") } else { format!("bytes {first}-{last}/{total}") };
            let requested = (local > 0).then_some(local);
            let d = decide(requested, local, Some(&s), &resp(status, Some(&cr), None, None));
            match d {
                Decision::Append { offset, total: t } => { prop_assert_eq!(offset, local); prop_assert_eq!(last + 1, t); }
                Decision::Complete { total: t } => prop_assert_eq!(t, local),
                _ => {}
            }
        }
    }
}
