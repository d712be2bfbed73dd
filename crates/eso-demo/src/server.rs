//! The HTTP/1.1 server (hyper) and the routing of the archive's paths.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use percent_encoding::percent_decode_str;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::RecordedRequest;
use crate::auth;
use crate::catalog::Catalog;
use crate::http::{MAX_BODY, Req, Resp, body, boundary_of, parse_form, parse_multipart, text};
use crate::services;
use crate::tap::{self, Jobs, Service};

/// Shared state of one running archive.
#[derive(Debug)]
pub(crate) struct State {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub(crate) base: String,
    pub(crate) demo_user: String,
    pub(crate) demo_password: String,
    pub(crate) job_duration: Duration,
    pub(crate) token_lifetime: Duration,
    pub(crate) catalog: Catalog,
    pub(crate) jobs: Mutex<Jobs>,
    pub(crate) requests: Mutex<Vec<RecordedRequest>>,
}

/// Accepts connections until `shutdown` turns true; each connection is served with keep-alive.
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                let state = Arc::clone(&state);
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(dispatch(&state, request).await) }
                    });
                    let connection = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service);
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
        }
    }
    connections.shutdown().await;
}

/// Decodes a request, records it, routes it.
async fn dispatch(state: &State, request: http::Request<Incoming>) -> Resp {
    let (parts, incoming) = request.into_parts();
    let raw_path = parts.uri.path().to_owned();
    let raw_query = parts.uri.query().map(str::to_owned);
    let has_authorization = parts.headers.contains_key(header::AUTHORIZATION);
    if let Ok(mut requests) = state.requests.lock() {
        requests.push(RecordedRequest {
            method: parts.method.to_string(),
            path: raw_path.clone(),
            query: raw_query.as_deref().map(redact_query),
            has_authorization,
        });
    }
    let body_bytes = match Limited::new(incoming, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body unreadable or larger than {MAX_BODY} bytes: {error}"),
            );
        }
    };
    let mut params = raw_query
        .as_deref()
        .map(|query| parse_form(query.as_bytes()))
        .unwrap_or_default();
    let mut uploads = Vec::new();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !body_bytes.is_empty() {
        if media_type == "application/x-www-form-urlencoded" {
            params.extend(parse_form(&body_bytes));
        } else if media_type == "multipart/form-data" {
            let Some(boundary) = boundary_of(&content_type) else {
                return text(
                    StatusCode::BAD_REQUEST,
                    "multipart/form-data without a boundary",
                );
            };
            match parse_multipart(&body_bytes, &boundary) {
                Ok(parts) => {
                    params.extend(parts.fields);
                    uploads = parts.files;
                }
                Err(message) => {
                    return text(
                        StatusCode::BAD_REQUEST,
                        format!("malformed multipart body: {message}"),
                    );
                }
            }
        }
    }
    let auth = auth::authenticate(
        parts
            .headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes),
        &state.demo_user,
        &state.demo_password,
    );
    let path = percent_decode_str(&raw_path)
        .decode_utf8_lossy()
        .into_owned();
    let req = Req {
        method: parts.method,
        path,
        params,
        uploads,
        headers: parts.headers,
        auth,
    };
    let mut response = route(state, &req).await;
    response.headers_mut().insert(
        header::SERVER,
        HeaderValue::from_static("eso-demo (offline ESO archive)"),
    );
    if req.method == Method::HEAD {
        // hyper sends no body for HEAD; keep the headers of the GET answer.
        let headers = response.headers().clone();
        let status = response.status();
        let mut head = http::Response::new(Full::new(Bytes::new()));
        *head.status_mut() = status;
        *head.headers_mut() = headers;
        return head;
    }
    response
}

/// Hides the value of any `password` parameter in a recorded query string.
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                format!("{name}=[redacted]")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

async fn route(state: &State, req: &Req) -> Resp {
    let path = req.path.as_str();
    if let Some(rest) = path.strip_prefix("/tap_obs") {
        if rest.is_empty() || rest.starts_with('/') {
            return tap::handle(state, Service::Obs, rest, req).await;
        }
    }
    if let Some(rest) = path.strip_prefix("/tap_cat") {
        if rest.is_empty() || rest.starts_with('/') {
            return tap::handle(state, Service::Cat, rest, req).await;
        }
    }
    if let Some(dp_id) = path.strip_prefix("/dataPortal/file/") {
        return services::file(state, dp_id, req);
    }
    match path.trim_end_matches('/') {
        "/sso/oidc/token" => token_endpoint(state, req),
        "/datalink/links" => services::datalink(state, req),
        "/calselector/v1/associations" => services::calselector(state, req),
        "/dataPortal/soda" | "/dataPortal/soda/sync" => services::soda(state, req),
        "" => text(StatusCode::OK, index(state)),
        _ => text(
            StatusCode::NOT_FOUND,
            format!(
                "no such resource in the offline demo archive: {path}\n\n{}",
                index(state)
            ),
        ),
    }
}

fn index(state: &State) -> String {
    let base = &state.base;
    format!(
        "ESO offline demo archive (recorded answers, synthetic files)\n\
         demo account: user \"demo\", password \"demo\"\n\
         {base}/sso/oidc/token          ESO token endpoint (password grant)\n\
         {base}/tap_obs                 TAP: sync, async (UWS), capabilities, availability, tables\n\
         {base}/tap_cat                 TAP (no recorded queries)\n\
         {base}/datalink/links?ID=...   DataLink\n\
         {base}/calselector/v1/associations?dp_id=...&mode=Raw2Master[&responseformat=votable]\n\
         {base}/dataPortal/file/<dp_id> files (Range supported)\n\
         {base}/dataPortal/soda         SODA cutouts (CIRCLE or POS)\n"
    )
}

fn json(status: StatusCode, value: &serde_json::Value) -> Resp {
    body(status, "application/json", value.to_string())
}

/// `GET|POST /sso/oidc/token`: the OIDC password grant as ESO's endpoint takes it.
fn token_endpoint(state: &State, req: &Req) -> Resp {
    if req.method != Method::GET && req.method != Method::POST {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "the token endpoint takes GET or POST",
        );
    }
    let error = |status: StatusCode, code: &str, description: &str| {
        json(
            status,
            &serde_json::json!({"error": code, "error_description": description}),
        )
    };
    match req.param("grant_type") {
        Some("password") => {}
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("grant_type {other:?} is not supported: use password"),
            );
        }
        None => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "missing parameter grant_type",
            );
        }
    }
    if req.param("client_id") != Some("clientid") {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client_id (ESO's is \"clientid\")",
        );
    }
    let (Some(user), Some(password)) = (req.param("username"), req.param("password")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "missing parameter username or password",
        );
    };
    if user != state.demo_user || password != state.demo_password {
        tracing::debug!("token request refused: wrong user name or password");
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "Invalid user credentials: the offline demo archive knows only user \"demo\" with password \"demo\"",
        );
    }
    let issuer = format!("{}/sso/oidc", state.base);
    let id_token = auth::mint_token(user, &issuer, state.token_lifetime);
    let scope = if req
        .param("response_type")
        .is_some_and(|value| value.contains("id_token"))
    {
        "openid"
    } else {
        ""
    };
    json(
        StatusCode::OK,
        &serde_json::json!({
            "access_token": format!("demo-access-{}", uuid::Uuid::new_v4().simple()),
            "id_token": id_token,
            "token_type": "bearer",
            "expires_in": state.token_lifetime.as_secs().max(1),
            "scope": scope,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_recorded_queries() {
        assert_eq!(
            redact_query("username=demo&password=s3cret&client_id=clientid"),
            "username=demo&password=[redacted]&client_id=clientid"
        );
        assert_eq!(redact_query("ID=x"), "ID=x");
    }
}
