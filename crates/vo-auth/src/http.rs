//! The one HTTP client of the workspace.
//!
//! [`HttpClient`] wraps reqwest (with rustls) and adds what every crate above needs:
//! a user agent naming the workspace, connect and read timeouts (never a total timeout, so long
//! downloads work), proxies from the environment, retries per [`crate::retry`], and
//! credentials bound to origins.
//!
//! Redirects are never followed by reqwest: [`HttpClient::send`] follows them itself so that it
//! can decide about credentials at every hop:
//! - the credential is attached only while the request is at its original origin and that origin
//!   is bound; once a redirect leaves the original origin, no credential (neither ours nor an
//!   `Authorization`/`Cookie` header set by the caller) is sent again in that chain;
//! - a redirect from https to http is refused;
//! - `303 See Other` (and `301`/`302` after a POST) turns the request into a GET without body;
//! - at most [`DEFAULT_MAX_REDIRECTS`] hops.
//!
//! Credentials never travel over plain http, except to loopback: such a request fails with
//! [`Error::InsecureCredentials`] before any byte is sent.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use ::http::header::{
    ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, COOKIE,
    HeaderMap, HeaderValue, LOCATION, PROXY_AUTHORIZATION, RETRY_AFTER,
};
use ::http::{Method, StatusCode};
use bytes::Bytes;
use futures_util::TryStreamExt as _;
use rand::SeedableRng;
use rand::rngs::StdRng;
use url::Url;

use crate::retry::{self, AttemptState, Decision, Failure, GiveUp, RetryConfig, Retryable};
use crate::{Credentials, Error, HttpErrorKind, Origin, Result, redact_url};

/// The user agent: `eso-vo/<version>`.
pub const USER_AGENT: &str = concat!("eso-vo/", env!("CARGO_PKG_VERSION"));
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default read timeout (between two reads of the socket; there is no total timeout).
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(300);
/// Default maximum number of redirects followed by [`HttpClient::send`].
pub const DEFAULT_MAX_REDIRECTS: usize = 10;
/// How much of an error body goes into [`Error::Status`].
const BODY_EXCERPT_BYTES: usize = 1024;

/// What the client is for: API calls or file downloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Purpose {
    /// API calls: gzip responses are decompressed transparently.
    #[default]
    Api,
    /// File downloads: no automatic decompression; `Accept-Encoding: identity` is sent unless the
    /// request sets its own, so sizes and ranges refer to the stored bytes.
    Downloads,
}

/// Builder for [`HttpClient`] (consuming, like reqwest's; `Clone` to reuse a configuration).
#[derive(Clone, Debug)]
pub struct HttpClientBuilder {
    user_agent: String,
    connect_timeout: Duration,
    read_timeout: Duration,
    retry: RetryConfig,
    credentials: Option<BoundCredentials>,
    purpose: Purpose,
    max_redirects: usize,
    rng_seed: Option<u64>,
    proxies_from_env: bool,
}

impl Default for HttpClientBuilder {
    fn default() -> Self {
        HttpClientBuilder {
            user_agent: USER_AGENT.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            retry: RetryConfig::default(),
            credentials: None,
            purpose: Purpose::Api,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            rng_seed: None,
            proxies_from_env: true,
        }
    }
}

impl HttpClientBuilder {
    /// Replaces the user agent (default `eso-vo/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the read timeout: the longest wait for the next bytes of a response.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Sets the retry policy (default [`RetryConfig::default`]).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Binds credentials to origins: they are attached only to requests whose URL has exactly
    /// one of these origins.
    pub fn credentials(mut self, credentials: Credentials, origins: Vec<Origin>) -> Self {
        self.credentials = Some(BoundCredentials {
            credentials,
            origins,
        });
        self
    }

    /// Removes any credentials.
    pub fn no_credentials(mut self) -> Self {
        self.credentials = None;
        self
    }

    /// Sets what the client is for (default [`Purpose::Api`]).
    pub fn purpose(mut self, purpose: Purpose) -> Self {
        self.purpose = purpose;
        self
    }

    /// Sets the maximum number of redirects followed.
    pub fn max_redirects(mut self, max: usize) -> Self {
        self.max_redirects = max;
        self
    }

    /// Seeds the jitter RNG (tests); by default it is seeded from the OS.
    pub fn rng_seed(mut self, seed: u64) -> Self {
        self.rng_seed = Some(seed);
        self
    }

    /// Whether to use proxies from the environment (`HTTPS_PROXY`, `NO_PROXY`, ...; default on).
    pub fn proxies_from_env(mut self, enabled: bool) -> Self {
        self.proxies_from_env = enabled;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Http`] with [`HttpErrorKind::Builder`] if the TLS backend or the user agent is
    /// unusable.
    pub fn build(&self) -> Result<HttpClient> {
        // The workspace builds reqwest without a default crypto provider; installing one twice
        // is harmless (the second call reports that one is installed already).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .user_agent(self.user_agent.clone())
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .tls_backend_rustls();
        if self.purpose == Purpose::Downloads {
            builder = builder.no_gzip();
        }
        if !self.proxies_from_env {
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|err| Error::Http {
            url: placeholder_url(),
            kind: HttpErrorKind::Builder,
            source: Box::new(err.without_url()),
        })?;
        let rng = match self.rng_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Ok(HttpClient {
            inner: Arc::new(Inner {
                client,
                config: self.clone(),
                rng: Mutex::new(rng),
            }),
        })
    }
}

fn placeholder_url() -> Url {
    #[allow(clippy::expect_used)]
    Url::parse("about:blank").expect("constant URL parses")
}

#[derive(Clone)]
struct BoundCredentials {
    credentials: Credentials,
    origins: Vec<Origin>,
}

impl std::fmt::Debug for BoundCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.credentials {
            Credentials::Bearer(_) => "bearer",
            Credentials::Basic { .. } => "basic",
        };
        let origins: Vec<String> = self.origins.iter().map(ToString::to_string).collect();
        f.debug_struct("BoundCredentials")
            .field("kind", &kind)
            .field("origins", &origins)
            .finish()
    }
}

/// The shared HTTP client: cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    config: HttpClientBuilder,
    rng: Mutex<StdRng>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Per-request options for [`HttpClient::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestOptions {
    /// Marks a request safe to repeat, so it may be retried. GET, HEAD, PUT, DELETE, OPTIONS
    /// and TRACE are idempotent anyway; set this for a POST only if repeating it is harmless
    /// (for example a synchronous TAP query), never for job creation.
    pub idempotent: bool,
    /// Follow redirects (default true); if false, a 3xx response is returned as is.
    pub follow_redirects: bool,
    /// Send no credentials at all (default false).
    pub anonymous: bool,
    /// Overrides the client's retry policy for this request.
    pub retry: Option<RetryConfig>,
}

impl Default for RequestOptions {
    fn default() -> Self {
        RequestOptions {
            idempotent: false,
            follow_redirects: true,
            anonymous: false,
            retry: None,
        }
    }
}

impl RequestOptions {
    /// Options for a request that may be repeated safely (retried on transient failures).
    pub fn idempotent() -> RequestOptions {
        RequestOptions {
            idempotent: true,
            ..RequestOptions::default()
        }
    }
}

fn method_is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

impl HttpClient {
    /// A builder with the workspace defaults.
    pub fn builder() -> HttpClientBuilder {
        HttpClientBuilder::default()
    }

    /// A client with the workspace defaults and no credentials.
    ///
    /// # Errors
    /// See [`HttpClientBuilder::build`].
    pub fn anonymous() -> Result<HttpClient> {
        HttpClient::builder().build()
    }

    /// A builder holding this client's configuration (to derive a variant of it).
    pub fn to_builder(&self) -> HttpClientBuilder {
        self.inner.config.clone()
    }

    /// The same client with other credentials bound to `origins` (shares nothing mutable).
    ///
    /// # Errors
    /// See [`HttpClientBuilder::build`].
    pub fn with_credentials(
        &self,
        credentials: Credentials,
        origins: Vec<Origin>,
    ) -> Result<HttpClient> {
        self.to_builder().credentials(credentials, origins).build()
    }

    /// A client with the same settings and credentials, for file downloads ([`Purpose::Downloads`]).
    ///
    /// # Errors
    /// See [`HttpClientBuilder::build`].
    pub fn for_downloads(&self) -> Result<HttpClient> {
        if self.inner.config.purpose == Purpose::Downloads {
            return Ok(self.clone());
        }
        self.to_builder().purpose(Purpose::Downloads).build()
    }

    /// The retry policy.
    pub fn retry_config(&self) -> RetryConfig {
        self.inner.config.retry
    }

    /// Whether credentials are configured and would be attached to a request to `url`
    /// (that is, its origin is bound).
    pub fn has_credentials_for(&self, url: &Url) -> bool {
        match (&self.inner.config.credentials, Origin::from_url(url)) {
            (Some(bound), Some(origin)) => bound.origins.contains(&origin),
            _ => false,
        }
    }

    /// GET `url` (idempotent, redirects followed). Any status is returned as a [`Response`];
    /// use [`Response::error_for_status`] to turn 4xx/5xx into errors.
    ///
    /// # Errors
    /// As [`HttpClient::send`].
    pub async fn get(&self, url: Url) -> Result<Response> {
        let request = ::http::Request::get(url.as_str())
            .body(Vec::new())
            .map_err(|err| Error::InvalidRequest {
                reason: format!("cannot build GET {}: {err}", redact_url(&url)),
            })?;
        self.send(request, RequestOptions::idempotent()).await
    }

    /// Sends a request.
    ///
    /// Attaches credentials only if the URL's origin is bound, follows redirects manually (see
    /// the module docs) unless `opts.follow_redirects` is false, and retries per policy only if
    /// the request is idempotent (by method or `opts.idempotent`). Any final status is returned
    /// as a [`Response`] (use [`Response::error_for_status`]).
    ///
    /// # Errors
    /// - [`Error::InvalidRequest`] for a URL that is not http(s);
    /// - [`Error::InsecureCredentials`] before sending anything if credentials would go over
    ///   plain http to a host that is not loopback;
    /// - [`Error::InsecureRedirect`], [`Error::Redirect`], [`Error::TooManyRedirects`];
    /// - [`Error::RetryAfterTooLong`] if the server asks to wait past the retry budget;
    /// - [`Error::Http`] for transport failures (after retries).
    pub async fn send(
        &self,
        request: ::http::Request<Vec<u8>>,
        opts: RequestOptions,
    ) -> Result<Response> {
        let (parts, body) = request.into_parts();
        let url = Url::parse(&parts.uri.to_string()).map_err(|err| Error::InvalidRequest {
            reason: format!("request URI is not an absolute URL: {err}"),
        })?;
        let original_origin = Origin::from_url(&url).ok_or_else(|| Error::InvalidRequest {
            reason: format!("{} is not an http or https URL", redact_url(&url)),
        })?;
        let retry_config = opts.retry.unwrap_or(self.inner.config.retry);
        let mut method = parts.method;
        let mut headers = parts.headers;
        let mut body = Bytes::from(body);
        let mut current = url.clone();
        let mut credentials_allowed = !opts.anonymous;
        if opts.anonymous {
            strip_credential_headers(&mut headers);
        }
        let max_redirects = self.inner.config.max_redirects;

        for _hop in 0..=max_redirects {
            let origin = Origin::from_url(&current).ok_or_else(|| Error::InvalidRequest {
                reason: format!("{} is not an http or https URL", redact_url(&current)),
            })?;
            let attach = credentials_allowed && origin == original_origin && self.is_bound(&origin);
            let caller_auth = headers.contains_key(AUTHORIZATION) || headers.contains_key(COOKIE);
            if (attach || caller_auth) && !origin.allows_credentials() {
                return Err(Error::InsecureCredentials {
                    url: redact_url(&current),
                });
            }
            let idempotent = opts.idempotent || method_is_idempotent(&method);
            let response = self
                .send_with_retries(
                    &method,
                    &current,
                    &headers,
                    &body,
                    attach,
                    idempotent,
                    &retry_config,
                )
                .await?;
            let status = response.status();
            if !opts.follow_redirects || !is_followed_redirect(status) {
                return Ok(Response::new(response, current));
            }
            let Some(location) = response.headers().get(LOCATION) else {
                // A 3xx without Location is an ordinary response.
                return Ok(Response::new(response, current));
            };
            let plan = plan_redirect(&current, status, location, &method)?;
            let next = plan.next;
            if plan.cross_origin {
                // Leaving the origin: no credential of any kind for the rest of this chain.
                credentials_allowed = false;
                strip_credential_headers(&mut headers);
            }
            if plan.becomes_get {
                method = Method::GET;
                body = Bytes::new();
                headers.remove(CONTENT_TYPE);
                headers.remove(CONTENT_LENGTH);
                headers.remove(CONTENT_ENCODING);
            }
            tracing::debug!(
                status = status.as_u16(),
                from = %redact_url(&current),
                to = %redact_url(&next),
                "following redirect"
            );
            drop(response);
            current = next;
        }
        Err(Error::TooManyRedirects {
            url: redact_url(&url),
            max: max_redirects,
        })
    }

    fn is_bound(&self, origin: &Origin) -> bool {
        match &self.inner.config.credentials {
            Some(bound) => bound.origins.contains(origin),
            None => false,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_with_retries(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: &Bytes,
        attach: bool,
        idempotent: bool,
        retry_config: &RetryConfig,
    ) -> Result<reqwest::Response> {
        let started = tokio::time::Instant::now();
        let mut retries_done = 0u32;
        loop {
            let outcome = self.send_once(method, url, headers, body, attach).await;
            let (failure, retry_after) = match &outcome {
                Ok(response) => {
                    let status = response.status();
                    if retry::classify(Failure::Status(status)) != Retryable::Retry {
                        return outcome.map_err(|(_, err)| err);
                    }
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|value| value.to_str().ok())
                        .and_then(|value| retry::parse_retry_after(value, SystemTime::now()));
                    (Failure::Status(status), retry_after)
                }
                Err((kind, _)) => (Failure::Transport(*kind), None),
            };
            let state = AttemptState {
                failure,
                idempotent,
                retries_done,
                elapsed: started.elapsed(),
                retry_after,
            };
            let decision = {
                let mut rng = self
                    .inner
                    .rng
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                retry::decide(retry_config, &state, &mut *rng)
            };
            match decision {
                Decision::RetryAfter(sleep) => {
                    tracing::info!(
                        url = %redact_url(url),
                        failure = ?failure,
                        retry = retries_done + 1,
                        sleep_ms = u64::try_from(sleep.as_millis()).unwrap_or(u64::MAX),
                        "retrying after transient failure"
                    );
                    drop(outcome);
                    tokio::time::sleep(sleep).await;
                    retries_done += 1;
                }
                Decision::GiveUp(GiveUp::RetryAfterExceedsBudget { wait, remaining }) => {
                    return Err(Error::RetryAfterTooLong {
                        url: redact_url(url),
                        wait,
                        remaining,
                    });
                }
                Decision::GiveUp(_) => return outcome.map_err(|(_, err)| err),
            }
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: &Bytes,
        attach: bool,
    ) -> Result<reqwest::Response, (HttpErrorKind, Error)> {
        let mut headers = headers.clone();
        if attach {
            if let Some(bound) = &self.inner.config.credentials {
                let value = bound.credentials.header_value().ok_or_else(|| {
                    (
                        HttpErrorKind::Builder,
                        Error::InvalidRequest {
                            reason:
                                "the credential contains characters not allowed in an HTTP header"
                                    .to_owned(),
                        },
                    )
                })?;
                headers.insert(AUTHORIZATION, value);
            }
        }
        for value in headers.get_all(AUTHORIZATION).iter() {
            debug_assert!(!attach || value.is_sensitive());
        }
        if self.inner.config.purpose == Purpose::Downloads && !headers.contains_key(ACCEPT_ENCODING)
        {
            headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        }
        for name in [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION] {
            if let ::http::header::Entry::Occupied(mut entry) = headers.entry(name) {
                for value in entry.iter_mut() {
                    value.set_sensitive(true);
                }
            }
        }
        tracing::debug!(
            method = %method,
            url = %redact_url(url),
            authenticated = attach,
            "sending request"
        );
        let result = self
            .inner
            .client
            .request(method.clone(), url.clone())
            .headers(headers)
            .body(body.clone())
            .send()
            .await;
        match result {
            Ok(response) => {
                tracing::debug!(
                    status = response.status().as_u16(),
                    url = %redact_url(url),
                    "received response"
                );
                Ok(response)
            }
            Err(err) => {
                let kind = error_kind(&err);
                tracing::debug!(url = %redact_url(url), kind = %kind, "request failed");
                Err((kind, transport_error(url, kind, err)))
            }
        }
    }
}

/// Where a redirect leads and what changes on the way. Pure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectPlan {
    /// The next URL.
    pub next: Url,
    /// Whether the next URL has another origin (credentials are dropped for good).
    pub cross_origin: bool,
    /// Whether the request becomes a GET without body (303, or 301/302 after a POST).
    pub becomes_get: bool,
}

/// Plans one redirect from `current` given the status, the `Location` header and the method.
///
/// # Errors
/// [`Error::Redirect`] for a Location that is not ASCII, not a URL, or not http(s);
/// [`Error::InsecureRedirect`] for https to http.
pub fn plan_redirect(
    current: &Url,
    status: StatusCode,
    location: &HeaderValue,
    method: &Method,
) -> Result<RedirectPlan> {
    let origin = Origin::from_url(current).ok_or_else(|| Error::InvalidRequest {
        reason: format!("{} is not an http or https URL", redact_url(current)),
    })?;
    let location = location.to_str().map_err(|_| Error::Redirect {
        url: redact_url(current),
        reason: "Location header is not ASCII".to_owned(),
    })?;
    let next = current.join(location).map_err(|err| Error::Redirect {
        url: redact_url(current),
        reason: format!("Location is not a URL: {err}"),
    })?;
    let Some(next_origin) = Origin::from_url(&next) else {
        return Err(Error::Redirect {
            url: redact_url(current),
            reason: format!(
                "redirect to a URL that is not http(s): {}",
                redact_url(&next)
            ),
        });
    };
    if origin.is_https() && !next_origin.is_https() {
        return Err(Error::InsecureRedirect {
            from: redact_url(current),
            to: redact_url(&next).to_string(),
        });
    }
    let becomes_get = status == StatusCode::SEE_OTHER && *method != Method::HEAD
        || matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
            && *method == Method::POST;
    Ok(RedirectPlan {
        cross_origin: next_origin != origin,
        next,
        becomes_get,
    })
}

fn is_followed_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

fn strip_credential_headers(headers: &mut HeaderMap) {
    headers.remove(AUTHORIZATION);
    headers.remove(COOKIE);
    headers.remove(PROXY_AUTHORIZATION);
}

fn transport_error(url: &Url, kind: HttpErrorKind, err: reqwest::Error) -> Error {
    Error::Http {
        url: redact_url(url),
        kind,
        source: Box::new(err.without_url()),
    }
}

/// Maps a reqwest error to a kind, looking through its source chain for resets.
fn error_kind(err: &reqwest::Error) -> HttpErrorKind {
    if err.is_timeout() {
        return HttpErrorKind::Timeout;
    }
    if err.is_connect() {
        return HttpErrorKind::Connect;
    }
    if chain_has_reset(err) {
        return HttpErrorKind::Reset;
    }
    if err.is_decode() {
        HttpErrorKind::Decode
    } else if err.is_body() {
        HttpErrorKind::Body
    } else if err.is_builder() {
        HttpErrorKind::Builder
    } else if err.is_request() {
        HttpErrorKind::Request
    } else {
        HttpErrorKind::Other
    }
}

fn chain_has_reset(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = next {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            ) {
                return true;
            }
        }
        let text = current.to_string().to_ascii_lowercase();
        if text.contains("connection closed before message completed")
            || text.contains("connection reset")
            || text.contains("incomplete message")
        {
            return true;
        }
        next = current.source();
    }
    false
}

/// A response: status and headers are read, the body streams.
pub struct Response {
    url: Url,
    inner: reqwest::Response,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("url", &redact_url(&self.url).as_str())
            .field("status", &self.inner.status())
            .finish_non_exhaustive()
    }
}

impl Response {
    fn new(inner: reqwest::Response, url: Url) -> Response {
        Response { url, inner }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.inner.status()
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// The final URL (after redirects).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The `Content-Length`, if the server sent one.
    pub fn content_length(&self) -> Option<u64> {
        self.inner
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse().ok())
    }

    /// The next chunk of the body; `None` at the end.
    ///
    /// # Errors
    /// [`Error::Http`] if reading fails (kind `Body`, `Timeout`, `Reset` or `Decode`).
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        self.inner.chunk().await.map_err(|err| {
            let kind = body_error_kind(&err);
            transport_error(&self.url, kind, err)
        })
    }

    /// The whole body, at most `max` bytes.
    ///
    /// # Errors
    /// [`Error::TooLarge`] as soon as the body (or its announced length) exceeds `max`;
    /// [`Error::Http`] if reading fails.
    pub async fn bytes_limited(mut self, max: u64) -> Result<Bytes> {
        if self.content_length().is_some_and(|length| length > max) {
            return Err(Error::TooLarge {
                url: redact_url(&self.url),
                limit: max,
            });
        }
        let mut buffer = Vec::new();
        while let Some(chunk) = self.chunk().await? {
            if buffer.len() as u64 + chunk.len() as u64 > max {
                return Err(Error::TooLarge {
                    url: redact_url(&self.url),
                    limit: max,
                });
            }
            buffer.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(buffer))
    }

    /// The whole body as text (UTF-8, invalid sequences replaced), at most `max` bytes.
    ///
    /// # Errors
    /// As [`Response::bytes_limited`].
    pub async fn text_limited(self, max: u64) -> Result<String> {
        let bytes = self.bytes_limited(max).await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Turns a 4xx/5xx status into an error, else returns the response unchanged.
    ///
    /// 401 gives [`Error::Unauthorized`] (telling the user to run `eso login`), 403 gives
    /// [`Error::Forbidden`], others [`Error::Status`] with the start of the body.
    ///
    /// # Errors
    /// As described.
    pub async fn error_for_status(mut self) -> Result<Response> {
        let status = self.status();
        if !(status.is_client_error() || status.is_server_error()) {
            return Ok(self);
        }
        let url = redact_url(&self.url);
        match status {
            StatusCode::UNAUTHORIZED => Err(Error::Unauthorized { url }),
            StatusCode::FORBIDDEN => Err(Error::Forbidden { url }),
            _ => {
                let mut excerpt = Vec::new();
                while excerpt.len() < BODY_EXCERPT_BYTES {
                    match self.chunk().await {
                        Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                        Ok(None) | Err(_) => break,
                    }
                }
                Err(Error::Status {
                    url,
                    status,
                    body_excerpt: body_excerpt(&excerpt),
                })
            }
        }
    }

    /// A blocking reader over the body, for parsers that take `std::io::BufRead`.
    ///
    /// The body streams (it is never buffered whole). Call this inside a tokio runtime and read
    /// from the reader in `tokio::task::spawn_blocking` (never directly on an async task: reads
    /// block the thread). Read errors come out as `std::io::Error`.
    pub fn into_blocking_reader(self) -> Box<dyn std::io::BufRead + Send> {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return Box::new(std::io::BufReader::new(FailingReader));
        };
        let url = self.url.clone();
        let stream = self.inner.bytes_stream().map_err(move |err| {
            let kind = body_error_kind(&err);
            std::io::Error::other(transport_error(&url, kind, err))
        });
        let reader = tokio_util::io::StreamReader::new(stream);
        let bridge = tokio_util::io::SyncIoBridge::new_with_handle(reader, handle);
        Box::new(std::io::BufReader::with_capacity(64 * 1024, bridge))
    }
}

fn body_error_kind(err: &reqwest::Error) -> HttpErrorKind {
    match error_kind(err) {
        HttpErrorKind::Request | HttpErrorKind::Other => HttpErrorKind::Body,
        kind => kind,
    }
}

/// Used when [`Response::into_blocking_reader`] is called outside a runtime.
struct FailingReader;

impl std::io::Read for FailingReader {
    fn read(&mut self, _buf: &mut [u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other(
            "into_blocking_reader was called outside a tokio runtime",
        ))
    }
}

/// The first bytes of an error body as one line of text.
fn body_excerpt(bytes: &[u8]) -> String {
    let end = bytes.len().min(BODY_EXCERPT_BYTES);
    let text = String::from_utf8_lossy(&bytes[..end]);
    let mut line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if line.len() > 300 {
        let mut cut = 300;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push_str("...");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_one_short_line() {
        assert_eq!(body_excerpt(b"  a\n\tb  \r\n c "), "a b c");
        let long = "é".repeat(1000);
        let excerpt = body_excerpt(long.as_bytes());
        assert!(excerpt.len() <= 303);
        assert!(excerpt.ends_with("..."));
    }

    #[test]
    fn redirect_matrix() {
        let plan = |from: &str, status: u16, location: &str, method: Method| {
            plan_redirect(
                &Url::parse(from).unwrap(),
                StatusCode::from_u16(status).unwrap(),
                &HeaderValue::from_str(location).unwrap(),
                &method,
            )
        };
        let from = "https://archive.eso.org/a/b?x=1";
        // Same origin, relative.
        let same = plan(from, 302, "c", Method::GET).unwrap();
        assert_eq!(same.next.as_str(), "https://archive.eso.org/a/c");
        assert!(!same.cross_origin && !same.becomes_get);
        // Other host (curl test778 shape), other port (CVE-2022-27776 shape).
        assert!(
            plan(from, 302, "https://evil.test/x", Method::GET)
                .unwrap()
                .cross_origin
        );
        assert!(
            plan(from, 307, "https://archive.eso.org:444/x", Method::GET)
                .unwrap()
                .cross_origin
        );
        assert!(
            plan(from, 307, "//archive.eso.org.evil.test/x", Method::GET)
                .unwrap()
                .cross_origin
        );
        // https -> http on the same host (CVE-2018-18074 shape) is refused.
        assert!(matches!(
            plan(from, 301, "http://archive.eso.org/x", Method::GET),
            Err(Error::InsecureRedirect { .. })
        ));
        // http -> https is an origin change but allowed.
        assert!(
            plan(
                "http://127.0.0.1:1/",
                302,
                "https://127.0.0.1:1/",
                Method::GET
            )
            .unwrap()
            .cross_origin
        );
        // 303 after POST turns into GET; 307/308 keep the method.
        assert!(plan(from, 303, "/done", Method::POST).unwrap().becomes_get);
        assert!(plan(from, 302, "/done", Method::POST).unwrap().becomes_get);
        assert!(!plan(from, 307, "/done", Method::POST).unwrap().becomes_get);
        assert!(!plan(from, 308, "/done", Method::POST).unwrap().becomes_get);
        assert!(!plan(from, 303, "/done", Method::HEAD).unwrap().becomes_get);
        // Non-http targets are refused.
        assert!(matches!(
            plan(from, 302, "file:///etc/passwd", Method::GET),
            Err(Error::Redirect { .. })
        ));
        assert!(matches!(
            plan(from, 302, "http://[::1", Method::GET),
            Err(Error::Redirect { .. })
        ));
        let binary = plan_redirect(
            &Url::parse(from).unwrap(),
            StatusCode::FOUND,
            &HeaderValue::from_bytes(b"/\xff").unwrap(),
            &Method::GET,
        );
        assert!(binary.is_ok() || matches!(binary, Err(Error::Redirect { .. })));
    }

    #[test]
    fn idempotent_methods() {
        assert!(method_is_idempotent(&Method::GET));
        assert!(method_is_idempotent(&Method::DELETE));
        assert!(!method_is_idempotent(&Method::POST));
        assert!(!method_is_idempotent(&Method::PATCH));
    }

    #[test]
    fn debug_never_shows_credentials() {
        let client = HttpClient::builder()
            .credentials(
                Credentials::bearer(crate::Token::new("canary-secret")),
                vec![Origin::parse("https://archive.eso.org").unwrap()],
            )
            .build()
            .unwrap();
        let text = format!("{client:?}");
        assert!(!text.contains("canary"), "{text}");
        assert!(text.contains("https://archive.eso.org"), "{text}");
    }
}
