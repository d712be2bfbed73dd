//! `vo-auth`: the shared HTTP layer of the workspace, origin-bound credentials, retries and ESO login.
//!
//! Every crate above this one sends its requests through [`http::HttpClient`].
//! The client attaches credentials itself, and only to the origins they are bound to, so no other
//! crate ever handles a header value that carries a secret.
//!
//! **Architecture Invariant:** a credential is only sent to the origins it is bound to (scheme,
//! host and port compared exactly), never over plain http except to loopback, and never along a
//! redirect to another origin; non-idempotent requests are never retried; secrets ([`Token`],
//! [`Password`]) never appear in `Debug`/`Display` output, `tracing` fields or error messages.
//! `reqwest` stays out of every public signature.
//!
//! # Brief overview
//! - [`http::HttpClient`], [`http::RequestOptions`], [`http::Response`]: the one HTTP client.
//! - [`retry`]: a pure classification ([`retry::classify`]) and a pure policy ([`retry::RetryConfig`]).
//! - [`Token`], [`Password`], [`Credentials`], [`Origin`]: secrets and where they may go.
//! - [`EsoEndpoints`]: the ESO service URLs, configurable from the environment.
//! - [`eso`]: ESO login (OIDC password grant), logout, whoami, automatic renewal, and
//!   [`eso::EsoSession`] (lazy login plus one re-authentication on 401).
//! - [`cache::TokenCache`]: the 0600 token cache; [`jwt::Claims`]: claims decoded for display.
//! - [`password::PasswordSource`]: where a password comes from (prompt, stdin, env, netrc).
//!
//! # Example
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use vo_auth::{EsoEndpoints, http::HttpClient};
//! let endpoints = EsoEndpoints::from_env();
//! let client = HttpClient::anonymous()?;
//! let response = client.get(endpoints.tap_obs()).await?;
//! let body = response.error_for_status().await?.bytes_limited(1 << 20).await?;
//! # let _ = body;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod cache;
mod endpoints;
pub mod eso;
pub mod http;
pub mod jwt;
pub mod netrc;
mod origin;
pub mod password;
pub mod retry;
mod secret;

use std::path::PathBuf;
use std::time::Duration;

pub use endpoints::EsoEndpoints;
pub use origin::Origin;
pub use secret::{Credentials, Password, Token};
pub use url::Url;

/// What kind of transport failure happened (object_store's `HttpErrorKind` shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HttpErrorKind {
    /// The connection could not be established (DNS, refused, TLS handshake).
    Connect,
    /// A connect or read timeout expired.
    Timeout,
    /// The connection was reset or closed before the response was complete.
    Reset,
    /// The request could not be sent for another reason.
    Request,
    /// The response body could not be read.
    Body,
    /// The response body could not be decoded (for example a bad gzip stream).
    Decode,
    /// The HTTP client could not be built or the request was malformed.
    Builder,
    /// Anything else.
    Other,
}

impl std::fmt::Display for HttpErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            HttpErrorKind::Connect => "connection failed",
            HttpErrorKind::Timeout => "timed out",
            HttpErrorKind::Reset => "connection reset",
            HttpErrorKind::Request => "request failed",
            HttpErrorKind::Body => "body read failed",
            HttpErrorKind::Decode => "body decoding failed",
            HttpErrorKind::Builder => "invalid request",
            HttpErrorKind::Other => "transport error",
        };
        f.write_str(text)
    }
}

/// Why no valid login is available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginReason {
    /// No token is cached for this user and identity provider.
    NotLoggedIn,
    /// The cached token has expired (or expires within the renewal margin).
    Expired,
}

/// Errors of this crate.
///
/// URLs in errors have userinfo and secret-looking query parameters (`password`, `token`, ...)
/// redacted; secrets never appear in messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A transport failure: connecting, sending or reading.
    #[error("http {kind} for {url}")]
    Http {
        /// The request URL (redacted).
        url: Url,
        /// What kind of failure.
        kind: HttpErrorKind,
        /// The underlying error (URL stripped).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The server answered with an unexpected status.
    #[error("{url} answered {status}: {body_excerpt}")]
    Status {
        /// The request URL (redacted).
        url: Url,
        /// The HTTP status.
        status: ::http::StatusCode,
        /// The start of the response body, for the user.
        body_excerpt: String,
    },
    /// The server asked for authentication (401).
    #[error("{url} requires authentication: run `eso login` (or check your credentials)")]
    Unauthorized {
        /// The request URL (redacted).
        url: Url,
    },
    /// The server refused access (403).
    #[error("your account has no access to this file ({url})")]
    Forbidden {
        /// The request URL (redacted).
        url: Url,
    },
    /// A body was larger than the caller's limit.
    #[error("response from {url} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The request URL (redacted).
        url: Url,
        /// The limit in bytes.
        limit: u64,
    },
    /// Credentials would have been sent over plain http to a host that is not loopback.
    #[error("refusing to send credentials over plain http to {url}; use https")]
    InsecureCredentials {
        /// The request URL (redacted).
        url: Url,
    },
    /// A redirect went from https to http.
    #[error("refusing redirect from https to plain http: {from} -> {to}")]
    InsecureRedirect {
        /// Where the redirect came from (redacted).
        from: Url,
        /// Where it pointed (redacted, as text).
        to: String,
    },
    /// A redirect could not be followed.
    #[error("bad redirect from {url}: {reason}")]
    Redirect {
        /// Where the redirect came from (redacted).
        url: Url,
        /// What was wrong.
        reason: String,
    },
    /// More redirects than allowed.
    #[error("too many redirects (more than {max}) starting at {url}")]
    TooManyRedirects {
        /// The original URL (redacted).
        url: Url,
        /// The maximum.
        max: usize,
    },
    /// The server asked to wait (`Retry-After`) longer than the remaining retry budget.
    #[error(
        "{url} asked to retry after {wait:?}, more than the remaining retry budget of {remaining:?}"
    )]
    RetryAfterTooLong {
        /// The request URL (redacted).
        url: Url,
        /// The requested wait.
        wait: Duration,
        /// What was left of the retry budget.
        remaining: Duration,
    },
    /// The request could not be built (bad URL, bad header, unsupported scheme).
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What was wrong.
        reason: String,
    },
    /// The identity provider rejected the login (for example a wrong password).
    #[error("login as {user} at {sso} failed: {message}")]
    Login {
        /// The identity provider.
        sso: Origin,
        /// The user name.
        user: String,
        /// The server's message.
        message: String,
    },
    /// The token endpoint answered something that is not a token response.
    #[error("malformed token response from {url}: {reason}")]
    TokenResponse {
        /// The token endpoint (redacted).
        url: Url,
        /// What was wrong.
        reason: String,
    },
    /// No valid login is available and no password source can renew it.
    #[error("{}", login_required_message(.user, .sso, *.reason))]
    LoginRequired {
        /// The user name, if known.
        user: Option<String>,
        /// The identity provider origin.
        sso: Origin,
        /// Why.
        reason: LoginReason,
    },
    /// A password could not be obtained.
    #[error("no password: {reason}")]
    Password {
        /// What was wrong (never the password).
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A secret file or its directory is readable or writable by others.
    #[error(
        "{path} has permissions {mode:o}, readable or writable by others; run `chmod {wanted:o} {path}`"
    )]
    InsecurePermissions {
        /// The file or directory.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
        /// The mode we want.
        wanted: u32,
    },
    /// A token cache file is corrupt.
    #[error("corrupt token cache file {path}: {reason}")]
    CorruptCache {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A configuration value is invalid (for example an endpoint URL from the environment).
    #[error("invalid configuration {name}: {reason}")]
    Config {
        /// The setting, for example `ESO_ARCHIVE_URL`.
        name: String,
        /// What was wrong.
        reason: String,
    },
    /// The `.netrc` file could not be parsed.
    #[error("cannot parse {path} at token {token_index}: {reason}")]
    Netrc {
        /// The file.
        path: PathBuf,
        /// Index of the offending token.
        token_index: usize,
        /// What was wrong.
        reason: String,
    },
}

fn login_required_message(user: &Option<String>, sso: &Origin, reason: LoginReason) -> String {
    let who = match user {
        Some(user) => format!(" as {user}"),
        None => String::new(),
    };
    match reason {
        LoginReason::NotLoggedIn => format!("not logged in{who} at {sso}: run `eso login`"),
        LoginReason::Expired => format!(
            "the login{who} at {sso} has expired and no password source is available to renew it: run `eso login` (or set ESO_PASSWORD, or add {} to ~/.netrc)",
            sso.host()
        ),
    }
}

/// The README's example compiles.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Returns a copy of `url` safe for messages and logs: userinfo removed and the values of
/// secret-looking query parameters (`password`, `token`, `access_token`, `id_token`,
/// `client_secret`, `code`, ...) replaced by `[redacted]`.
pub fn redact_url(url: &Url) -> Url {
    let mut out = url.clone();
    if !out.username().is_empty() || out.password().is_some() {
        // Both calls only fail for URLs that cannot have credentials, which then have none.
        let _ = out.set_username("");
        let _ = out.set_password(None);
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                if is_secret_param(&key) {
                    (key.into_owned(), "[redacted]".to_owned())
                } else {
                    (key.into_owned(), value.into_owned())
                }
            })
            .collect();
        if pairs.iter().any(|(_, value)| value == "[redacted]") {
            out.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    out
}

fn is_secret_param(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "pass",
        "pwd",
        "token",
        "access_token",
        "id_token",
        "refresh_token",
        "client_secret",
        "secret",
        "code",
        "apikey",
        "api_key",
    ]
    .contains(&key.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_passwords_and_userinfo() {
        let url = Url::parse(
            "https://user:pw@www.eso.org/sso/oidc/token?grant_type=password&username=bob&password=hunter2",
        )
        .unwrap();
        let redacted = redact_url(&url).to_string();
        assert!(!redacted.contains("hunter2"), "{redacted}");
        assert!(!redacted.contains("pw@"), "{redacted}");
        assert!(redacted.contains("username=bob"), "{redacted}");
        assert!(redacted.contains("password=%5Bredacted%5D"), "{redacted}");
    }

    #[test]
    fn redact_url_keeps_plain_queries() {
        let url = Url::parse("https://archive.eso.org/tap_obs/sync?QUERY=SELECT%201").unwrap();
        assert_eq!(redact_url(&url), url);
    }
}
