//! Helpers shared by the login tests: a mock ESO token endpoint and canary secrets.
#![allow(dead_code)]

use std::time::SystemTime;

use base64::Engine as _;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const PASSWORD: &str = "pw-canary-8842 &?";

/// An unsigned JWT with display claims and a canary signature.
pub fn fake_jwt(user: &str, signature: &str) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = engine.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let exp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 8 * 3600;
    let payload = engine.encode(
        format!(
            r#"{{"preferred_username":"{user}","name":"Alice Astronomer","roles":["user","GNLT_USER"],"exp":{exp}}}"#
        )
        .as_bytes(),
    );
    format!("{header}.{payload}.{signature}")
}

pub fn token_reply(id_token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "access_token": "access-canary-5511",
        "id_token": id_token,
        "token_type": "bearer",
        "expires_in": 28800,
        "scope": ""
    }))
}

pub async fn mount_eso_token(server: &MockServer, id_token: &str, expected: u64) {
    Mock::given(method("GET"))
        .and(path("/sso/oidc/token"))
        .and(query_param("response_type", "id_token token"))
        .and(query_param("grant_type", "password"))
        .and(query_param("client_id", "clientid"))
        .and(query_param("username", "alice"))
        .and(query_param("password", PASSWORD))
        .respond_with(token_reply(id_token))
        .expect(expected)
        .mount(server)
        .await;
}

pub async fn mount_wrong_password(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/sso/oidc/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "invalid_grant",
            "error_description": "Invalid user credentials"
        })))
        .mount(server)
        .await;
}
