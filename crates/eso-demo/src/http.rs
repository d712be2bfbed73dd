//! Request decoding (query strings, form and multipart bodies) and response helpers.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};
use http_body_util::Full;

use crate::auth::Auth;

/// The response type of every handler.
pub(crate) type Resp = Response<Full<Bytes>>;

/// The largest request body accepted (table uploads included).
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;

/// A decoded request.
#[derive(Debug)]
pub(crate) struct Req {
    pub(crate) method: Method,
    /// Percent-decoded path.
    pub(crate) path: String,
    /// Parameters from the query string, then from a form or multipart body, in order.
    pub(crate) params: Vec<(String, String)>,
    /// File parts of a multipart body: (field name, bytes).
    pub(crate) uploads: Vec<(String, Bytes)>,
    pub(crate) headers: HeaderMap,
    pub(crate) auth: Auth,
}

impl Req {
    /// The first value of parameter `name` (names compared case-insensitively, as TAP and DALI say).
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Every value of parameter `name`.
    pub(crate) fn params_named(&self, name: &str) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .collect()
    }

    pub(crate) fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// Decodes `application/x-www-form-urlencoded` text (also query strings).
pub(crate) fn parse_form(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// A `multipart/form-data` body split into text fields and file parts.
#[derive(Debug, Default)]
pub(crate) struct Multipart {
    pub(crate) fields: Vec<(String, String)>,
    pub(crate) files: Vec<(String, Bytes)>,
}

/// The `boundary` parameter of a multipart content type.
pub(crate) fn boundary_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// Parses a `multipart/form-data` body (RFC 7578). Errors say what is wrong.
pub(crate) fn parse_multipart(body: &Bytes, boundary: &str) -> Result<Multipart, String> {
    if boundary.is_empty() || boundary.len() > 200 {
        return Err("multipart boundary is empty or too long".to_owned());
    }
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut out = Multipart::default();
    let Some(first) = find(body, delimiter, 0) else {
        return Err("multipart body has no boundary line".to_owned());
    };
    let mut pos = first + delimiter.len();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            return Ok(out);
        }
        // Skip the CRLF after the delimiter.
        let Some(line_end) = find(body, b"\r\n", pos) else {
            return Err("multipart delimiter line is not terminated".to_owned());
        };
        let headers_start = line_end + 2;
        let Some(headers_end) = find(body, b"\r\n\r\n", headers_start) else {
            return Err("multipart part has no end of headers".to_owned());
        };
        let headers = String::from_utf8_lossy(&body[headers_start..headers_end]);
        let content_start = headers_end + 4;
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(delimiter);
        let Some(content_end) = find(body, &closing, content_start) else {
            return Err("multipart part is not closed by a boundary".to_owned());
        };
        let disposition = headers
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("content-disposition")
                    .then_some(value)
            })
            .unwrap_or("");
        let name = disposition_param(disposition, "name").unwrap_or_default();
        let content = body.slice(content_start..content_end);
        if disposition_param(disposition, "filename").is_some() {
            out.files.push((name, content));
        } else {
            out.fields
                .push((name, String::from_utf8_lossy(&content).into_owned()));
        }
        pos = content_end + closing.len();
    }
}

/// A parameter of a `Content-Disposition` value (`name="x"` or `name=x`).
pub(crate) fn disposition_param(value: &str, wanted: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(wanted)
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|pos| pos + from)
}

/// A response with a body and a content type.
pub(crate) fn body(status: StatusCode, content_type: &str, bytes: impl Into<Bytes>) -> Resp {
    let bytes = bytes.into();
    let mut response = Response::new(Full::new(bytes.clone()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    response
}

/// A plain-text response.
pub(crate) fn text(status: StatusCode, message: impl Into<String>) -> Resp {
    let mut message = message.into();
    if !message.ends_with('\n') {
        message.push('\n');
    }
    body(status, "text/plain; charset=utf-8", message)
}

/// A VOTable (or other XML) response.
pub(crate) fn xml(status: StatusCode, content_type: &str, document: String) -> Resp {
    body(status, content_type, document)
}

/// `303 See Other` to `location`.
pub(crate) fn see_other(location: &str) -> Resp {
    let mut response = body(
        StatusCode::SEE_OTHER,
        "text/plain; charset=utf-8",
        format!("see {location}\n"),
    );
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// `401 Unauthorized` with a `WWW-Authenticate` challenge and a message.
pub(crate) fn unauthorized(message: &str) -> Resp {
    let mut response = text(StatusCode::UNAUTHORIZED, message);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"ESO offline demo archive\""),
    );
    response
}

/// The answer when a protected resource was requested without valid credentials.
pub(crate) fn auth_required(auth: &Auth, what: &str) -> Resp {
    match auth {
        Auth::Invalid(reason) => unauthorized(&format!("{what}: {reason}")),
        _ => unauthorized(&format!(
            "{what} is protected: log in (eso login; demo user \"demo\", password \"demo\") and send the token as Authorization: Bearer"
        )),
    }
}

/// A VOTable error document (DALI 1.1 section 4.4) with `QUERY_STATUS` `ERROR`.
pub(crate) fn votable_error(status: StatusCode, message: &str) -> Resp {
    xml(
        status,
        "application/x-votable+xml",
        votable_error_document(message),
    )
}

pub(crate) fn votable_error_document(message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <VOTABLE version=\"1.3\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">\n\
         <RESOURCE type=\"results\">\n\
         <INFO name=\"QUERY_STATUS\" value=\"ERROR\">{}</INFO>\n\
         </RESOURCE>\n\
         </VOTABLE>\n",
        crate::vot::escape(message)
    )
}

/// A byte range asked for by a `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeAsk {
    /// No usable range: send the whole representation.
    Whole,
    /// First and last byte (inclusive).
    Part(u64, u64),
    /// Not satisfiable for this length: 416.
    Unsatisfiable,
}

/// Interprets a `Range` header for a representation of `len` bytes (RFC 9110 section 14).
/// Only single ranges are honoured; several ranges are answered with the whole representation.
pub(crate) fn parse_range(value: &str, len: u64) -> RangeAsk {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeAsk::Whole;
    };
    if spec.contains(',') {
        return RangeAsk::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAsk::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        let Ok(suffix) = last.parse::<u64>() else {
            return RangeAsk::Whole;
        };
        if suffix == 0 || len == 0 {
            return RangeAsk::Unsatisfiable;
        }
        return RangeAsk::Part(len.saturating_sub(suffix), len - 1);
    }
    let Ok(start) = first.parse::<u64>() else {
        return RangeAsk::Whole;
    };
    let end = if last.is_empty() {
        len.saturating_sub(1)
    } else {
        match last.parse::<u64>() {
            Ok(end) if end >= start => end.min(len.saturating_sub(1)),
            _ => return RangeAsk::Whole,
        }
    };
    if start >= len {
        RangeAsk::Unsatisfiable
    } else {
        RangeAsk::Part(start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), RangeAsk::Part(0, 9));
        assert_eq!(parse_range("bytes=90-", 100), RangeAsk::Part(90, 99));
        assert_eq!(parse_range("bytes=-10", 100), RangeAsk::Part(90, 99));
        assert_eq!(parse_range("bytes=-1000", 100), RangeAsk::Part(0, 99));
        assert_eq!(parse_range("bytes=50-1000", 100), RangeAsk::Part(50, 99));
        assert_eq!(parse_range("bytes=100-", 100), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), RangeAsk::Whole);
        assert_eq!(parse_range("items=0-1", 100), RangeAsk::Whole);
        assert_eq!(parse_range("bytes=9-3", 100), RangeAsk::Whole);
        assert_eq!(parse_range("bytes=x-", 100), RangeAsk::Whole);
    }

    #[test]
    fn multipart_fields_and_files() {
        let body = Bytes::from_static(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"QUERY\"\r\n\r\nselect 1\r\n\
              --XyZ\r\nContent-Disposition: form-data; name=\"t1\"; filename=\"t.vot\"\r\nContent-Type: application/x-votable+xml\r\n\r\n<VOTABLE/>\r\n\
              --XyZ--\r\n",
        );
        let parts = parse_multipart(&body, "XyZ").unwrap();
        assert_eq!(
            parts.fields,
            vec![("QUERY".to_owned(), "select 1".to_owned())]
        );
        assert_eq!(parts.files.len(), 1);
        assert_eq!(&parts.files[0].1[..], b"<VOTABLE/>");
        assert!(parse_multipart(&Bytes::from_static(b"garbage"), "XyZ").is_err());
        assert!(parse_multipart(&Bytes::from_static(b"--XyZ\r\nno end"), "XyZ").is_err());
    }

    #[test]
    fn boundary_parameter() {
        assert_eq!(
            boundary_of("multipart/form-data; boundary=\"abc\"; charset=UTF-8").as_deref(),
            Some("abc")
        );
        assert_eq!(boundary_of("multipart/form-data"), None);
    }
}
