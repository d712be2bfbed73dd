//! ESO login: the OIDC password grant exactly as ESO's own tools call it, plus the functions
//! behind `eso login`, `eso logout` and `eso whoami`.
//!
//! ESO's token endpoint is called as
//! `GET {sso}/sso/oidc/token?response_type=id_token%20token&grant_type=password&client_id=clientid&username=..&password=..`
//! (ESO programmatic access documentation and `eso_programmatic.py`; whether it accepts a POST
//! form is not known). The reply's `id_token` is a JWT valid 8 hours; it is the bearer token.
//! The URL carries the password, so it is never logged or put into an error unredacted, and the
//! request is never redirected or sent with other credentials.
//! [`password_grant_form_request`] is the standard POST form (RFC 6749 §4.3) for other providers.
//!
//! Like the protocol crates, this module has a pure core ([`token_request`],
//! [`parse_token_response`], [`login_from_response`]) and thin async functions on top.

use std::time::{Duration, SystemTime};

use ::http::{Method, StatusCode, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use url::Url;

use crate::cache::{CachedToken, TokenCache};
use crate::http::{HttpClient, RequestOptions};
use crate::jwt::{self, Claims};
use crate::password::PasswordSource;
use crate::{
    Credentials, Error, EsoEndpoints, LoginReason, Origin, Password, Result, Token, redact_url,
};

/// The OIDC client id ESO's tools use.
pub const ESO_CLIENT_ID: &str = "clientid";
/// A cached token is renewed when it has less than this left (astroquery uses 600 s).
pub const RENEW_MARGIN: Duration = Duration::from_secs(600);
/// Lifetime assumed when neither `expires_in` nor a JWT `exp` is available (shorter than
/// ESO's 8 hours, so the token is renewed rather than used past its end).
pub const FALLBACK_LIFETIME: Duration = Duration::from_secs(3600);
/// Largest token response accepted.
const MAX_TOKEN_RESPONSE: u64 = 256 * 1024;

/// Characters escaped in query values: everything but RFC 3986 unreserved characters, so a
/// space is `%20` as in the ESO documentation.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The fields of an OAuth 2.0 / OIDC token response (RFC 6749 §5.1).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The OIDC id token (ESO: the bearer token).
    pub id_token: Option<Token>,
    /// The OAuth access token.
    pub access_token: Option<Token>,
    /// `token_type`, for example `bearer`.
    pub token_type: Option<String>,
    /// `expires_in` in seconds.
    pub expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct WireTokenResponse {
    id_token: Option<String>,
    access_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Builds ESO's token request: a GET with the password grant in the query.
///
/// # Errors
/// [`Error::InvalidRequest`] if the URL cannot be turned into a request.
pub fn token_request(
    endpoints: &EsoEndpoints,
    user: &str,
    password: &Password,
) -> Result<::http::Request<Vec<u8>>> {
    let mut url = endpoints.token_endpoint();
    let query = format!(
        "response_type=id_token%20token&grant_type=password&client_id={}&username={}&password={}",
        utf8_percent_encode(ESO_CLIENT_ID, QUERY_VALUE),
        utf8_percent_encode(user, QUERY_VALUE),
        utf8_percent_encode(password.secret(), QUERY_VALUE),
    );
    url.set_query(Some(&query));
    ::http::Request::builder()
        .method(Method::GET)
        .uri(url.as_str())
        .header(header::ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(|_| Error::InvalidRequest {
            reason: format!(
                "cannot build the token request for {}",
                endpoints.token_endpoint()
            ),
        })
}

/// Builds the standard OIDC password grant: a POST form to `token_endpoint` (RFC 6749 §4.3).
/// No secret goes into the URL.
///
/// # Errors
/// [`Error::InvalidRequest`] if the URL cannot be turned into a request.
pub fn password_grant_form_request(
    token_endpoint: &Url,
    client_id: &str,
    user: &str,
    password: &Password,
    scope: Option<&str>,
) -> Result<::http::Request<Vec<u8>>> {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "password")
        .append_pair("client_id", client_id)
        .append_pair("username", user)
        .append_pair("password", password.secret());
    if let Some(scope) = scope {
        form.append_pair("scope", scope);
    }
    let body = form.finish().into_bytes();
    ::http::Request::builder()
        .method(Method::POST)
        .uri(token_endpoint.as_str())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(body)
        .map_err(|_| Error::InvalidRequest {
            reason: format!(
                "cannot build the token request for {}",
                redact_url(token_endpoint)
            ),
        })
}

/// Parses a token endpoint reply. Pure.
///
/// `url` and `user` go into errors; `password` is scrubbed from any server message.
///
/// # Errors
/// - [`Error::Login`] with the server's message for a rejected login (an error status, or an
///   `error` field);
/// - [`Error::TokenResponse`] for a reply without a token.
pub fn parse_token_response(
    url: &Url,
    user: &str,
    status: StatusCode,
    body: &[u8],
    password: &Password,
) -> Result<TokenResponse> {
    let url = redact_url(url);
    let wire: Option<WireTokenResponse> = serde_json::from_slice(body).ok();
    let sso = Origin::from_url(&url).unwrap_or_else(Origin::eso_sso);
    let login_error = |message: String| Error::Login {
        sso: sso.clone(),
        user: user.to_owned(),
        message: scrub(&message, password),
    };
    if let Some(wire) = &wire {
        if let Some(error) = &wire.error {
            let message = match &wire.error_description {
                Some(description) if !description.trim().is_empty() => {
                    format!("{error}: {description}")
                }
                _ => error.clone(),
            };
            return Err(login_error(message));
        }
    }
    if !status.is_success() {
        let text = String::from_utf8_lossy(body);
        let excerpt: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let excerpt: String = excerpt.chars().take(300).collect();
        let message = if excerpt.is_empty() {
            format!("the server answered {status}")
        } else {
            format!("the server answered {status}: {excerpt}")
        };
        return Err(login_error(message));
    }
    let Some(wire) = wire else {
        return Err(Error::TokenResponse {
            url,
            reason: "the reply is not a JSON object".to_owned(),
        });
    };
    let expires_in = match &wire.expires_in {
        Some(serde_json::Value::Number(number)) => number.as_u64(),
        Some(serde_json::Value::String(text)) => text.trim().parse().ok(),
        _ => None,
    };
    let response = TokenResponse {
        id_token: wire.id_token.filter(|t| !t.is_empty()).map(Token::new),
        access_token: wire.access_token.filter(|t| !t.is_empty()).map(Token::new),
        token_type: wire.token_type,
        expires_in,
    };
    if response.id_token.is_none() && response.access_token.is_none() {
        return Err(Error::TokenResponse {
            url,
            reason: "the reply has neither id_token nor access_token".to_owned(),
        });
    }
    Ok(response)
}

/// Turns a token response into a login. Pure.
///
/// The bearer token is the `id_token` (ESO), else the `access_token`. Expiry: `now +
/// expires_in`; else the JWT `exp` (advisory); else `now +` [`FALLBACK_LIFETIME`].
///
/// # Errors
/// [`Error::TokenResponse`] if there is no token.
pub fn login_from_response(
    sso: Origin,
    user: &str,
    response: TokenResponse,
    now: SystemTime,
) -> Result<CachedToken> {
    let token =
        response
            .id_token
            .or(response.access_token)
            .ok_or_else(|| Error::TokenResponse {
                url: Url::parse(&sso.to_string()).unwrap_or_else(|_| EsoEndpoints::default().sso),
                reason: "the reply has no token".to_owned(),
            })?;
    let expires_at = response
        .expires_in
        .and_then(|seconds| now.checked_add(Duration::from_secs(seconds.min(366 * 86_400))))
        .or_else(|| jwt::expiry(token.secret()))
        .or_else(|| now.checked_add(FALLBACK_LIFETIME))
        .unwrap_or(now);
    Ok(CachedToken {
        sso,
        user: user.to_owned(),
        token,
        expires_at,
        obtained_at: now,
    })
}

/// Replaces any occurrence of the password in a server message.
fn scrub(message: &str, password: &Password) -> String {
    let secret = password.secret();
    if secret.is_empty() {
        return message.to_owned();
    }
    let mut text = message.replace(secret, "[redacted]");
    let encoded = utf8_percent_encode(secret, QUERY_VALUE).to_string();
    if encoded != secret {
        text = text.replace(&encoded, "[redacted]");
    }
    text
}

/// Logs in at ESO (GET password grant) and returns the login; does not touch the cache.
///
/// # Errors
/// [`Error::Login`] with the server's message for wrong credentials, [`Error::TokenResponse`],
/// transport errors from [`HttpClient::send`].
pub async fn login(
    client: &HttpClient,
    endpoints: &EsoEndpoints,
    user: &str,
    password: &Password,
) -> Result<CachedToken> {
    let request = token_request(endpoints, user, password)?;
    let url = endpoints.token_endpoint();
    exchange(
        client,
        request,
        &url,
        endpoints.sso_origin(),
        user,
        password,
    )
    .await
}

/// Logs in with the standard OIDC password grant (POST form) at another provider.
///
/// # Errors
/// As [`login`].
pub async fn login_oidc_form(
    client: &HttpClient,
    token_endpoint: &Url,
    client_id: &str,
    user: &str,
    password: &Password,
) -> Result<CachedToken> {
    let request =
        password_grant_form_request(token_endpoint, client_id, user, password, Some("openid"))?;
    let sso = Origin::from_url(token_endpoint).ok_or_else(|| Error::InvalidRequest {
        reason: format!("{} is not an http(s) URL", redact_url(token_endpoint)),
    })?;
    exchange(client, request, token_endpoint, sso, user, password).await
}

async fn exchange(
    client: &HttpClient,
    request: ::http::Request<Vec<u8>>,
    url: &Url,
    sso: Origin,
    user: &str,
    password: &Password,
) -> Result<CachedToken> {
    tracing::debug!(sso = %sso, user = %user, url = %redact_url(url), "requesting a token");
    // The password travels in this request: never with other credentials, never redirected.
    let options = RequestOptions {
        idempotent: true,
        follow_redirects: false,
        anonymous: true,
        retry: None,
    };
    let response = client.send(request, options).await?;
    let status = response.status();
    if status.is_redirection() {
        return Err(Error::Login {
            sso: sso.clone(),
            user: user.to_owned(),
            message: format!(
                "the token endpoint answered a redirect ({status}); check ESO_SSO_URL"
            ),
        });
    }
    let body = response.bytes_limited(MAX_TOKEN_RESPONSE).await?;
    let parsed = parse_token_response(url, user, status, &body, password)?;
    let login = login_from_response(sso, user, parsed, SystemTime::now())?;
    tracing::info!(sso = %login.sso, user = %login.user, "logged in");
    Ok(login)
}

/// `eso login`: logs in and stores the token in the cache. Returns the login and the file.
///
/// # Errors
/// As [`login`], plus cache errors.
pub async fn login_and_store(
    client: &HttpClient,
    endpoints: &EsoEndpoints,
    cache: &TokenCache,
    user: &str,
    password: &Password,
) -> Result<(CachedToken, std::path::PathBuf)> {
    let login = login(client, endpoints, user, password).await?;
    let path = cache.store(&login)?;
    Ok((login, path))
}

/// `eso logout`: removes the cached token of `user` (or, if `None`, of the only cached user) at
/// the configured SSO. Returns the user logged out, `None` if nothing was cached.
///
/// # Errors
/// Cache errors; [`Error::Config`] if `user` is `None` and several users are cached.
pub fn logout(
    cache: &TokenCache,
    endpoints: &EsoEndpoints,
    user: Option<&str>,
) -> Result<Option<String>> {
    let sso = endpoints.sso_origin();
    let user = match user {
        Some(user) => user.to_owned(),
        None => match pick_user(cache, &sso)? {
            Some(user) => user,
            None => return Ok(None),
        },
    };
    Ok(cache.remove(&sso, &user)?.then_some(user))
}

/// What `eso whoami` shows.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WhoAmI {
    /// The user name used to log in.
    pub user: String,
    /// The identity provider.
    pub sso: Origin,
    /// Claims decoded without verification (`None` if the token is not a readable JWT).
    pub claims: Option<Claims>,
    /// When the token expires.
    pub expires_at: SystemTime,
    /// Time left; `None` if expired.
    pub time_left: Option<Duration>,
    /// When the token was obtained.
    pub obtained_at: SystemTime,
}

impl WhoAmI {
    /// The display name from the claims, if any.
    pub fn name(&self) -> Option<&str> {
        self.claims
            .as_ref()
            .and_then(|claims| claims.name.as_deref())
    }

    /// The roles from the claims (empty if unknown).
    pub fn roles(&self) -> &[String] {
        self.claims
            .as_ref()
            .map(|claims| claims.roles.as_slice())
            .unwrap_or(&[])
    }
}

/// `eso whoami`: the cached login of `user` (or of the only cached user) at the configured SSO.
///
/// # Errors
/// [`Error::LoginRequired`] (not logged in) if nothing is cached; cache errors.
pub fn whoami(
    cache: &TokenCache,
    endpoints: &EsoEndpoints,
    user: Option<&str>,
    now: SystemTime,
) -> Result<WhoAmI> {
    let sso = endpoints.sso_origin();
    let login = cached(cache, &sso, user)?;
    Ok(WhoAmI {
        claims: login.claims(),
        time_left: login.time_left(now),
        user: login.user,
        sso: login.sso,
        expires_at: login.expires_at,
        obtained_at: login.obtained_at,
    })
}

/// A valid login for `user` (or the only cached user): the cached token if it has more than
/// [`RENEW_MARGIN`] left, else a fresh login with a password from `source` (stored in the
/// cache), else [`Error::LoginRequired`].
///
/// Pass [`PasswordSource::Automatic`] for a silent renewal (a missing password then gives
/// [`Error::LoginRequired`]); interactive sources are used too
/// if given (the caller decides whether asking is acceptable).
///
/// # Errors
/// [`Error::LoginRequired`] with [`LoginReason::NotLoggedIn`] or [`LoginReason::Expired`];
/// login and cache errors.
pub async fn ensure_login(
    client: &HttpClient,
    endpoints: &EsoEndpoints,
    cache: &TokenCache,
    user: Option<&str>,
    source: Option<&PasswordSource>,
) -> Result<CachedToken> {
    let sso = endpoints.sso_origin();
    let now = SystemTime::now();
    let existing = match cached(cache, &sso, user) {
        Ok(login) => Some(login),
        Err(Error::LoginRequired { .. }) => None,
        Err(err) => return Err(err),
    };
    if let Some(login) = &existing {
        if login.is_fresh(now, RENEW_MARGIN) {
            return Ok(login.clone());
        }
    }
    let user_name = match (user, &existing) {
        (Some(user), _) => user.to_owned(),
        (None, Some(login)) => login.user.clone(),
        (None, None) => {
            return Err(Error::LoginRequired {
                user: None,
                sso,
                reason: LoginReason::NotLoggedIn,
            });
        }
    };
    let reason = if existing.is_some() {
        LoginReason::Expired
    } else {
        LoginReason::NotLoggedIn
    };
    let Some(source) = source else {
        return Err(Error::LoginRequired {
            user: Some(user_name),
            sso,
            reason,
        });
    };
    tracing::info!(user = %user_name, sso = %sso, reason = ?reason, "renewing login");
    let password = match source.resolve(&user_name, sso.host()) {
        Ok(password) => password,
        // An automatic source that finds nothing means: no way to renew.
        Err(Error::Password { .. }) if matches!(source, PasswordSource::Automatic) => {
            return Err(Error::LoginRequired {
                user: Some(user_name),
                sso,
                reason,
            });
        }
        Err(err) => return Err(err),
    };
    let (login, _path) = login_and_store(client, endpoints, cache, &user_name, &password).await?;
    Ok(login)
}

/// `client` with the login's bearer token bound to the ESO origins of `endpoints`.
///
/// # Errors
/// See [`crate::http::HttpClientBuilder::build`].
pub fn authenticated_client(
    client: &HttpClient,
    endpoints: &EsoEndpoints,
    login: &CachedToken,
) -> Result<HttpClient> {
    client.with_credentials(
        Credentials::Bearer(login.token.clone()),
        endpoints.origins(),
    )
}

/// An authenticated ESO session for a command: logs in lazily (cache, then renewal), hands out
/// an [`HttpClient`] with the bearer token bound to the ESO origins, and answers a 401 with
/// exactly one re-authentication.
#[derive(Debug)]
pub struct EsoSession {
    base: HttpClient,
    endpoints: EsoEndpoints,
    cache: TokenCache,
    user: Option<String>,
    source: Option<PasswordSource>,
    state: tokio::sync::Mutex<Option<(CachedToken, HttpClient)>>,
}

impl EsoSession {
    /// A session for `user` (or the only cached user); `source` renews an expired or rejected
    /// token (pass [`PasswordSource::Automatic`] to renew without asking, `None` to never renew).
    pub fn new(
        base: HttpClient,
        endpoints: EsoEndpoints,
        cache: TokenCache,
        user: Option<String>,
        source: Option<PasswordSource>,
    ) -> EsoSession {
        EsoSession {
            base,
            endpoints,
            cache,
            user,
            source,
            state: tokio::sync::Mutex::new(None),
        }
    }

    /// The endpoints.
    pub fn endpoints(&self) -> &EsoEndpoints {
        &self.endpoints
    }

    /// The current login (logging in or renewing first if needed).
    ///
    /// # Errors
    /// As [`ensure_login`].
    pub async fn login(&self) -> Result<CachedToken> {
        Ok(self.current(None).await?.0)
    }

    /// An authenticated client (logging in or renewing first if needed).
    ///
    /// # Errors
    /// As [`ensure_login`].
    pub async fn client(&self) -> Result<HttpClient> {
        Ok(self.current(None).await?.1)
    }

    /// Sends a request with the session's client. If a bound origin answers 401 and a password
    /// source is available, logs in again once and resends; a second 401 is returned as is
    /// (use [`crate::http::Response::error_for_status`] to get [`Error::Unauthorized`]).
    ///
    /// # Errors
    /// As [`HttpClient::send`] and [`ensure_login`].
    pub async fn send(
        &self,
        request: ::http::Request<Vec<u8>>,
        opts: RequestOptions,
    ) -> Result<crate::http::Response> {
        let (login, client) = self.current(None).await?;
        let copy = copy_request(&request);
        let response = client.send(request, opts).await?;
        let rejected = response.status() == StatusCode::UNAUTHORIZED
            && !opts.anonymous
            && client.has_credentials_for(response.url());
        if !rejected || self.source.is_none() {
            return Ok(response);
        }
        let url = redact_url(response.url());
        drop(response);
        tracing::info!(user = %login.user, "token rejected (401); logging in again once");
        let client = match self.current(Some(&login)).await {
            Ok((_, client)) => client,
            // No password to log in again with: the 401 stands.
            Err(Error::Password { .. } | Error::LoginRequired { .. }) => {
                return Err(Error::Unauthorized { url });
            }
            Err(err) => return Err(err),
        };
        client.send(copy, opts).await
    }

    /// The cached login and client; `rejected` forces a fresh login if the current token is
    /// that one.
    async fn current(&self, rejected: Option<&CachedToken>) -> Result<(CachedToken, HttpClient)> {
        let mut state = self.state.lock().await;
        if let Some((login, client)) = state.as_ref() {
            let is_rejected =
                rejected.is_some_and(|bad| bad.token.secret() == login.token.secret());
            if !is_rejected && login.is_fresh(SystemTime::now(), RENEW_MARGIN) {
                return Ok((login.clone(), client.clone()));
            }
        }
        let login = match rejected {
            Some(bad) => {
                let source = self.source.as_ref().ok_or_else(|| Error::LoginRequired {
                    user: Some(bad.user.clone()),
                    sso: bad.sso.clone(),
                    reason: LoginReason::Expired,
                })?;
                let password = source.resolve(&bad.user, bad.sso.host())?;
                login_and_store(
                    &self.base,
                    &self.endpoints,
                    &self.cache,
                    &bad.user,
                    &password,
                )
                .await?
                .0
            }
            None => {
                ensure_login(
                    &self.base,
                    &self.endpoints,
                    &self.cache,
                    self.user.as_deref(),
                    self.source.as_ref(),
                )
                .await?
            }
        };
        let client = authenticated_client(&self.base, &self.endpoints, &login)?;
        *state = Some((login.clone(), client.clone()));
        Ok((login, client))
    }
}

fn copy_request(request: &::http::Request<Vec<u8>>) -> ::http::Request<Vec<u8>> {
    let mut copy = ::http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    copy
}

fn cached(cache: &TokenCache, sso: &Origin, user: Option<&str>) -> Result<CachedToken> {
    let found = match user {
        Some(user) => cache.load(sso, user)?,
        None => match pick_user(cache, sso)? {
            Some(user) => cache.load(sso, &user)?,
            None => None,
        },
    };
    found.ok_or_else(|| Error::LoginRequired {
        user: user.map(str::to_owned),
        sso: sso.clone(),
        reason: LoginReason::NotLoggedIn,
    })
}

/// The only user cached at `sso`; `None` if none, an error if several.
fn pick_user(cache: &TokenCache, sso: &Origin) -> Result<Option<String>> {
    let logins = cache.list(Some(sso))?;
    match logins.as_slice() {
        [] => Ok(None),
        [only] => Ok(Some(only.user.clone())),
        several => Err(Error::Config {
            name: "--user".to_owned(),
            reason: format!(
                "several logins are cached at {sso} ({}); choose one with --user or ESO_USER",
                several
                    .iter()
                    .map(|login| login.user.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOCK_RESPONSE: &[u8] =
        include_bytes!("../../../fixtures/eso/auth/oidc_token_response_mock.json");

    fn endpoint() -> Url {
        EsoEndpoints::default().token_endpoint()
    }

    #[test]
    fn eso_token_request_is_exactly_esos_call() {
        let request = token_request(
            &EsoEndpoints::default(),
            "alice b",
            &Password::new("p&ss word"),
        )
        .unwrap();
        assert_eq!(request.method(), Method::GET);
        assert_eq!(
            request.uri().to_string(),
            "https://www.eso.org/sso/oidc/token?response_type=id_token%20token&grant_type=password&client_id=clientid&username=alice%20b&password=p%26ss%20word"
        );
        assert!(request.body().is_empty());
    }

    #[test]
    fn form_request_keeps_secrets_out_of_the_url() {
        let url = Url::parse("https://idp.example/token").unwrap();
        let request = password_grant_form_request(
            &url,
            "cli",
            "bob",
            &Password::new("s3&cret"),
            Some("openid"),
        )
        .unwrap();
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri().to_string(), "https://idp.example/token");
        assert_eq!(
            request.headers()[header::CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(
            String::from_utf8(request.body().clone()).unwrap(),
            "grant_type=password&client_id=cli&username=bob&password=s3%26cret&scope=openid"
        );
    }

    #[test]
    fn parses_the_eso_mock_response() {
        let password = Password::new("x");
        let response = parse_token_response(
            &endpoint(),
            "alice",
            StatusCode::OK,
            MOCK_RESPONSE,
            &password,
        )
        .unwrap();
        assert_eq!(response.expires_in, Some(28800));
        assert_eq!(response.token_type.as_deref(), Some("bearer"));
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let login = login_from_response(
            Origin::parse("https://www.eso.org").unwrap(),
            "alice",
            response,
            now,
        )
        .unwrap();
        // expires_in wins over the JWT exp (which is in 2023 in this mock).
        assert_eq!(login.expires_at, now + Duration::from_secs(28800));
        assert!(login.token.secret().starts_with("eyJ"));
    }

    #[test]
    fn expiry_falls_back_to_jwt_then_default() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let sso = Origin::parse("https://www.eso.org").unwrap();
        let seed = include_str!("../../../fixtures/eso/auth/seed000_id_token.jwt");
        let with_jwt = TokenResponse {
            id_token: Some(Token::new(seed)),
            access_token: None,
            token_type: None,
            expires_in: None,
        };
        let login = login_from_response(sso.clone(), "AMICOL", with_jwt, now).unwrap();
        assert_eq!(
            login.expires_at,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_775_067_373)
        );
        let opaque = TokenResponse {
            id_token: None,
            access_token: Some(Token::new("opaque")),
            token_type: None,
            expires_in: None,
        };
        let login = login_from_response(sso, "x", opaque, now).unwrap();
        assert_eq!(login.expires_at, now + FALLBACK_LIFETIME);
    }

    #[test]
    fn rejected_logins_carry_the_server_message_without_the_password() {
        let password = Password::new("hunter2");
        let body = br#"{"error":"invalid_grant","error_description":"Invalid user credentials for hunter2"}"#;
        let err = parse_token_response(
            &endpoint(),
            "alice",
            StatusCode::UNAUTHORIZED,
            body,
            &password,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Login { .. }));
        assert!(text.contains("Invalid user credentials"), "{text}");
        assert!(text.contains("alice"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");

        let err = parse_token_response(
            &endpoint(),
            "alice",
            StatusCode::BAD_REQUEST,
            b"<html>Bad</html>",
            &password,
        )
        .unwrap_err();
        assert!(err.to_string().contains("400"), "{err}");
        let err =
            parse_token_response(&endpoint(), "alice", StatusCode::OK, b"not json", &password)
                .unwrap_err();
        assert!(matches!(err, Error::TokenResponse { .. }));
        let err = parse_token_response(&endpoint(), "alice", StatusCode::OK, b"{}", &password)
            .unwrap_err();
        assert!(matches!(err, Error::TokenResponse { .. }));
    }
}
