//! The `QUERY_STATUS` rules for TAP results ([DALI 1.1, section 4.4.1](https://www.ivoa.net/documents/DALI/20170517/REC-DALI-1.1.html#tth_sEc4.4.1)).
//!
//! - `ERROR` is an error carrying the server's message, whatever the HTTP status (200 or 400)
//!   and whatever format was asked (DaCHS answers a CSV request with a VOTable error).
//! - `OVERFLOW` means the result was truncated (at `MAXREC`): a flag for the caller.
//! - When several `QUERY_STATUS` INFOs are present the last one wins (DaCHS writes `OK` before
//!   the data and `OVERFLOW` after it; ESO writes its status before the table).

use url::Url;
use votable::{Document, QueryStatus};

use crate::{Error, Result};

/// What a finished query reported besides its rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryOutcome {
    /// The result was truncated (`QUERY_STATUS=OVERFLOW`), typically at `MAXREC`.
    pub overflow: bool,
    /// Rows read, when the result was parsed by this crate (0 when passed through).
    pub rows: u64,
    /// Bytes copied, when the result was passed through untouched (0 when parsed).
    pub bytes: u64,
    /// Non-standard status values and other warnings, for the user.
    pub warnings: Vec<String>,
}

/// Applies the `QUERY_STATUS` rules to a result document read so far (or to the end).
///
/// # Errors
/// [`Error::Query`] with the server's message when the last status is `ERROR`.
pub fn check_query_status(document: &Document, url: &Url) -> Result<QueryOutcome> {
    let mut outcome = QueryOutcome::default();
    match document.query_status() {
        None | Some(QueryStatus::Ok) => {}
        Some(QueryStatus::Overflow) => outcome.overflow = true,
        Some(QueryStatus::Error(message)) => {
            return Err(Error::Query {
                url: url.clone(),
                message: message.trim().to_owned(),
            });
        }
        Some(QueryStatus::Other(value)) => outcome
            .warnings
            .push(format!("unknown QUERY_STATUS {value:?}")),
    }
    Ok(outcome)
}

/// The message of an error response body: a VOTable `QUERY_STATUS=ERROR` if the body is
/// one, else the first bytes of the body as one line of text (HTML tags kept: the caller
/// escapes before printing).
pub fn error_message(body: &[u8]) -> String {
    if let Some(message) = votable_error(body) {
        return message;
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(1024)]);
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        "empty response".to_owned()
    } else {
        line
    }
}

/// The `QUERY_STATUS=ERROR` message of a VOTable held in memory (an error document is
/// small), or None when the bytes are not such a VOTable.
pub fn votable_error(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    if !text.contains("QUERY_STATUS") {
        return None;
    }
    // A small scan that does not need a complete, valid VOTable: error documents from
    // proxies and servers are often minimal.
    match last_status(text)? {
        QueryStatus::Error(message) => Some(message),
        _ => None,
    }
}

/// Finds the `QUERY_STATUS` of a VOTable passed through untouched, in bounded memory:
/// it keeps the first 64 KiB (where ESO puts the status) and the last 16 KiB (where DaCHS
/// puts `OVERFLOW`), and applies "last one wins" over both.
#[derive(Debug, Default, Clone)]
pub struct StatusSniffer {
    head: Vec<u8>,
    tail: Vec<u8>,
    total: u64,
}

const SNIFF_HEAD: usize = 64 * 1024;
const SNIFF_TAIL: usize = 16 * 1024;

impl StatusSniffer {
    /// Feeds the next bytes of the body.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        if self.head.len() < SNIFF_HEAD {
            let n = bytes.len().min(SNIFF_HEAD - self.head.len());
            self.head.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
        }
        if bytes.is_empty() {
            return;
        }
        self.tail.extend_from_slice(bytes);
        if self.tail.len() > 2 * SNIFF_TAIL {
            let cut = self.tail.len() - SNIFF_TAIL;
            self.tail.drain(..cut);
        }
    }

    /// The last `QUERY_STATUS` seen in the head or the tail.
    pub fn status(&self) -> Option<QueryStatus> {
        let from_tail = last_status(&String::from_utf8_lossy(&self.tail));
        from_tail.or_else(|| last_status(&String::from_utf8_lossy(&self.head)))
    }
}

/// The last `<INFO name="QUERY_STATUS" ...>` of a piece of VOTable text.
fn last_status(text: &str) -> Option<QueryStatus> {
    let mut last = None;
    let mut rest = text;
    while let Some(start) = rest.find("<INFO") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let attr = |name: &str| -> Option<String> {
            let key = format!("{name}=");
            let pos = tag.find(&key)?;
            let value = &tag[pos + key.len()..];
            let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'')?;
            let inner = &value[1..];
            Some(unescape(&inner[..inner.find(quote)?]))
        };
        if attr("name").is_some_and(|n| n.eq_ignore_ascii_case("QUERY_STATUS")) {
            let value = attr("value").unwrap_or_default();
            let content = if tag.ends_with('/') {
                None
            } else {
                let body = &after[tag_end + 1..];
                body.find("</INFO>").map(|end| unescape(body[..end].trim()))
            };
            last = Some(match value.trim().to_ascii_uppercase().as_str() {
                "OK" => QueryStatus::Ok,
                "OVERFLOW" => QueryStatus::Overflow,
                "ERROR" => {
                    QueryStatus::Error(content.filter(|c| !c.is_empty()).unwrap_or_else(|| {
                        "the service reported an error without a message".to_owned()
                    }))
                }
                _ => QueryStatus::Other(value),
            });
        }
        rest = &after[tag_end..];
    }
    last
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn votable_error_message() {
        let body = br#"<?xml-stylesheet href='x'?><VOTABLE version="1.4"><RESOURCE type="results"><INFO name="QUERY_STATUS" value="ERROR">Field query: column 'id' &amp; 'x' could not be located</INFO></RESOURCE></VOTABLE>"#;
        assert_eq!(
            votable_error(body).as_deref(),
            Some("Field query: column 'id' & 'x' could not be located")
        );
        assert_eq!(
            error_message(body),
            "Field query: column 'id' & 'x' could not be located"
        );
        let ok =
            br#"<VOTABLE><RESOURCE><INFO name="QUERY_STATUS" value="OK"/></RESOURCE></VOTABLE>"#;
        assert_eq!(votable_error(ok), None);
        let bare =
            br#"<VOTABLE><RESOURCE><INFO value='ERROR' name='QUERY_STATUS'/></RESOURCE></VOTABLE>"#;
        assert!(votable_error(bare).unwrap().contains("without a message"));
        assert_eq!(
            error_message(b"<html>\n<body>Bad\tGateway</body></html>"),
            "<html> <body>Bad Gateway</body></html>"
        );
        assert_eq!(error_message(b""), "empty response");
    }

    #[test]
    fn sniffer_last_status_wins() {
        let mut sniffer = StatusSniffer::default();
        sniffer.feed(
            br#"<VOTABLE><RESOURCE type="results"><INFO name="QUERY_STATUS" value="OK"/><TABLE>"#,
        );
        for _ in 0..10_000 {
            sniffer.feed(b"<TR><TD>1</TD></TR>");
        }
        assert_eq!(sniffer.status(), Some(QueryStatus::Ok));
        sniffer
            .feed(br#"</TABLE><INFO name="QUERY_STATUS" value="OVERFLOW"/></RESOURCE></VOTABLE>"#);
        assert_eq!(sniffer.status(), Some(QueryStatus::Overflow));
        assert!(sniffer.head.len() + sniffer.tail.len() <= SNIFF_HEAD + 2 * SNIFF_TAIL);
        assert_eq!(StatusSniffer::default().status(), None);
    }
}
