//! Origins (RFC 6454): scheme, host and port, compared exactly.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

/// A web origin: scheme, host and port (the scheme's default port when the URL has none).
///
/// Two origins are equal only if all three parts are equal: `https://archive.eso.org` does not
/// match `https://archive.eso.org.evil.test` nor `https://archive.eso.org:444` nor
/// `http://archive.eso.org`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of an `http` or `https` URL; `None` for other schemes or URLs without a host.
    pub fn from_url(url: &Url) -> Option<Origin> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        // `Url` lowercases domains and normalises IP addresses; IPv6 hosts keep their brackets.
        let host = match url.host()? {
            Host::Domain(domain) => domain.trim_end_matches('.').to_ascii_lowercase(),
            Host::Ipv4(addr) => addr.to_string(),
            Host::Ipv6(addr) => format!("[{addr}]"),
        };
        if host.is_empty() {
            return None;
        }
        let port = url.port_or_known_default()?;
        Some(Origin {
            scheme: scheme.to_owned(),
            host,
            port,
        })
    }

    /// Parses a URL and returns its origin; `None` if it does not parse or has no origin.
    pub fn parse(text: &str) -> Option<Origin> {
        Url::parse(text).ok().as_ref().and_then(Origin::from_url)
    }

    /// The production ESO single sign-on origin, `https://www.eso.org`.
    pub(crate) fn eso_sso() -> Origin {
        Origin {
            scheme: "https".to_owned(),
            host: "www.eso.org".to_owned(),
            port: 443,
        }
    }

    /// The scheme, `http` or `https`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host, lowercase (IPv6 addresses in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port (explicit or the scheme's default).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// Whether the host is a loopback address (`127.0.0.0/8`, `::1`) or `localhost`.
    pub fn is_loopback(&self) -> bool {
        if self.host == "localhost" || self.host.ends_with(".localhost") {
            return true;
        }
        let bare = self.host.trim_start_matches('[').trim_end_matches(']');
        match bare.parse::<IpAddr>() {
            Ok(addr) => addr.is_loopback(),
            Err(_) => false,
        }
    }

    /// Whether credentials may travel to this origin at all: https, or http to loopback.
    pub fn allows_credentials(&self) -> bool {
        self.is_https() || self.is_loopback()
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default = match self.scheme.as_str() {
            "https" => 443,
            _ => 80,
        };
        if self.port == default {
            write!(f, "{}://{}", self.scheme, self.host)
        } else {
            write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(text: &str) -> Option<Origin> {
        Origin::parse(text)
    }

    #[test]
    fn origin_matching_table() {
        let archive = origin("https://archive.eso.org/tap_obs").unwrap();
        let cases = [
            ("https://archive.eso.org/", true),
            ("https://archive.eso.org:443/x?y=1", true),
            ("https://ARCHIVE.eso.org/x", true),
            ("https://archive.eso.org./x", true),
            ("https://user:pw@archive.eso.org/x", true),
            ("https://archive.eso.org.evil.test/", false),
            ("https://archive.eso.org:444/", false),
            ("http://archive.eso.org/", false),
            ("https://evil.test/archive.eso.org", false),
            ("https://eso.org/", false),
            ("https://xarchive.eso.org/", false),
            ("https://dataportal.eso.org/", false),
        ];
        for (url, expected) in cases {
            assert_eq!(origin(url).as_ref() == Some(&archive), expected, "{url}");
        }
    }

    #[test]
    fn non_http_urls_have_no_origin() {
        assert_eq!(origin("file:///etc/passwd"), None);
        assert_eq!(origin("ftp://archive.eso.org/"), None);
        assert_eq!(origin("not a url"), None);
    }

    #[test]
    fn loopback_and_credentials() {
        assert!(
            origin("http://127.0.0.1:8080/")
                .unwrap()
                .allows_credentials()
        );
        assert!(origin("http://127.0.0.2/").unwrap().is_loopback());
        assert!(origin("http://[::1]:9/").unwrap().is_loopback());
        assert!(origin("http://localhost/").unwrap().is_loopback());
        assert!(
            !origin("http://archive.eso.org/")
                .unwrap()
                .allows_credentials()
        );
        assert!(!origin("http://127.0.0.1.evil.test/").unwrap().is_loopback());
        assert!(
            origin("https://archive.eso.org/")
                .unwrap()
                .allows_credentials()
        );
    }

    #[test]
    fn display() {
        assert_eq!(
            origin("https://www.eso.org/sso").unwrap().to_string(),
            "https://www.eso.org"
        );
        assert_eq!(
            origin("http://127.0.0.1:18080/tap").unwrap().to_string(),
            "http://127.0.0.1:18080"
        );
    }
}
