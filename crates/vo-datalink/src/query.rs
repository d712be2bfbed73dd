//! Query strings and request construction shared by every builder of the crate.
//!
//! Parameter values are percent-encoded with a small encode set that keeps `:`, `/`,
//! `?` and `@` literal (they are legal inside a query, RFC 3986 section 3.4), so that
//! ESO's identifiers look the way ESO's own URLs write them:
//! `links?ID=ivo://eso.org/ID?SPHER.2016-09-26T03:04:09.308`.
//! Everything that could change the meaning of the query (`&`, `=`, `+`, `#`, `%`,
//! spaces, controls, non-ASCII) is encoded; spaces become `%20`.

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use url::Url;

use crate::{Error, Result};

/// Characters encoded inside a query parameter name or value.
const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'\'')
    .add(b'+')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Percent-encodes one query parameter name or value.
pub fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, QUERY_VALUE).to_string()
}

/// Renders `name=value&...` with [`encode_component`].
pub fn encode_query(params: &[(String, String)]) -> String {
    let mut out = String::new();
    for (name, value) in params {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&encode_component(name));
        out.push('=');
        out.push_str(&encode_component(value));
    }
    out
}

/// `base` with `params` appended to its query (an existing query such as
/// `sia?table=chanmaster` is kept, the new parameters follow it).
pub fn url_with_params(base: &Url, params: &[(String, String)]) -> Url {
    let mut url = base.clone();
    let added = encode_query(params);
    let query = match base.query() {
        Some(existing) if !existing.is_empty() && !added.is_empty() => {
            format!("{existing}&{added}")
        }
        Some(existing) if !existing.is_empty() => existing.to_owned(),
        _ => added,
    };
    url.set_query(if query.is_empty() { None } else { Some(&query) });
    url
}

/// An `application/x-www-form-urlencoded` body.
pub fn form_body(params: &[(String, String)]) -> Vec<u8> {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        serializer.append_pair(name, value);
    }
    serializer.finish().into_bytes()
}

/// Checks that a URL taken from a document may be requested: `http` or `https` only
/// (never `file:`, `ftp:`, `javascript:`, `s3:` ...).
///
/// # Errors
/// [`Error::InvalidUrl`] when it does not parse, [`Error::UnsafeUrl`] for other schemes.
pub fn checked_http_url(text: &str) -> Result<Url> {
    let url = Url::parse(text.trim()).map_err(|e| Error::InvalidUrl {
        url: text.to_owned(),
        reason: e.to_string(),
    })?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(Error::UnsafeUrl {
            url: text.to_owned(),
            scheme: other.to_owned(),
        }),
    }
}

/// A GET request for `url` with `params` appended.
///
/// # Errors
/// [`Error::Request`] if the URL is not a valid HTTP URI.
pub fn get_request(base: &Url, params: &[(String, String)]) -> Result<http::Request<Vec<u8>>> {
    let url = url_with_params(base, params);
    http::Request::builder()
        .method(http::Method::GET)
        .uri(url.as_str())
        .body(Vec::new())
        .map_err(|e| Error::Request {
            url: url.to_string(),
            reason: e.to_string(),
        })
}

/// A POST request for `url` with `params` as a form body.
///
/// # Errors
/// [`Error::Request`] if the URL is not a valid HTTP URI.
pub fn post_form_request(url: &Url, params: &[(String, String)]) -> Result<http::Request<Vec<u8>>> {
    http::Request::builder()
        .method(http::Method::POST)
        .uri(url.as_str())
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form_body(params))
        .map_err(|e| Error::Request {
            url: url.to_string(),
            reason: e.to_string(),
        })
}

/// Formats a number the shortest way that reads back to the same `f64`.
pub(crate) fn fmt_f64(value: f64) -> String {
    let magnitude = value.abs();
    if value != 0.0 && value.is_finite() && !(1e-4..1e16).contains(&magnitude) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// Joins numbers with single spaces (DALI array serialisation).
pub(crate) fn join_f64(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| fmt_f64(*v))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    #[test]
    fn eso_identifiers_keep_their_shape() {
        let base = Url::parse("https://archive.eso.org/datalink/links").unwrap();
        let url = url_with_params(
            &base,
            &[p("ID", "ivo://eso.org/ID?SPHER.2016-09-26T03:04:09.308")],
        );
        assert_eq!(
            url.as_str(),
            "https://archive.eso.org/datalink/links?ID=ivo://eso.org/ID?SPHER.2016-09-26T03:04:09.308"
        );
    }

    #[test]
    fn meaningful_characters_are_encoded_and_existing_query_kept() {
        let base = Url::parse("https://h.test/vo/sia?table=chanmaster").unwrap();
        let url = url_with_params(
            &base,
            &[
                p("CIRCLE", "1 2 0.5"),
                p("x", "a&b=c+d#e%f"),
                p("src", "aws:us-east1"),
            ],
        );
        assert_eq!(
            url.as_str(),
            "https://h.test/vo/sia?table=chanmaster&CIRCLE=1%202%200.5&x=a%26b%3Dc%2Bd%23e%25f&src=aws:us-east1"
        );
        let parsed: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(parsed[2], p("x", "a&b=c+d#e%f"));
    }

    #[test]
    fn only_http_urls_pass() {
        assert!(checked_http_url("https://a.test/x").is_ok());
        for bad in [
            "file:///etc/passwd",
            "ftp://a.test/x",
            "javascript:alert(1)",
            "s3://b/k",
        ] {
            assert!(
                matches!(checked_http_url(bad), Err(Error::UnsafeUrl { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            checked_http_url("not a url"),
            Err(Error::InvalidUrl { .. })
        ));
    }
}
