//! JWT claims decoded **without verifying the signature**, for display and refresh scheduling only.
//!
//! The server validates the token; the client only reads `exp`, `preferred_username`, `name`
//! and `roles` to tell the user who they are and when to log in again. These values are never
//! used for an authorization decision. Expiry from the token response's `expires_in` wins over
//! `exp` (see [`crate::eso`]). A malformed token gives `None`: decoding never panics.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::Deserialize;

/// Largest token accepted for decoding (tokens are a few KiB; this bounds the work).
const MAX_TOKEN_LEN: usize = 64 * 1024;

/// Claims of an id token, decoded without verification.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Claims {
    /// `sub`.
    pub subject: Option<String>,
    /// `preferred_username` (ESO: the user name).
    pub preferred_username: Option<String>,
    /// `name` (display name).
    pub name: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `roles` (ESO: for example `user`).
    pub roles: Vec<String>,
    /// `iss`.
    pub issuer: Option<String>,
    /// `exp` as a time, if present and sane.
    pub expires_at: Option<SystemTime>,
    /// `iat` as a time, if present and sane.
    pub issued_at: Option<SystemTime>,
}

#[derive(Deserialize)]
struct WireClaims {
    sub: Option<serde_json::Value>,
    preferred_username: Option<serde_json::Value>,
    name: Option<serde_json::Value>,
    email: Option<serde_json::Value>,
    roles: Option<serde_json::Value>,
    iss: Option<serde_json::Value>,
    exp: Option<serde_json::Value>,
    iat: Option<serde_json::Value>,
}

/// Decodes the claims of a compact JWS (`header.payload.signature`) without verifying it.
///
/// Returns `None` if the token is not three base64url parts with a JSON object as payload.
pub fn decode_unverified(token: &str) -> Option<Claims> {
    let token = token.trim();
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = decode_base64url(payload)?;
    let wire: WireClaims = serde_json::from_slice(&bytes).ok()?;
    Some(Claims {
        subject: wire.sub.as_ref().and_then(as_string),
        preferred_username: wire.preferred_username.as_ref().and_then(as_string),
        name: wire.name.as_ref().and_then(as_string),
        email: wire.email.as_ref().and_then(as_string),
        roles: roles(wire.roles.as_ref()),
        issuer: wire.iss.as_ref().and_then(as_string),
        expires_at: wire.exp.as_ref().and_then(as_time),
        issued_at: wire.iat.as_ref().and_then(as_time),
    })
}

/// The `exp` claim of a token, if it decodes; `None` means "unknown expiry".
pub fn expiry(token: &str) -> Option<SystemTime> {
    decode_unverified(token)?.expires_at
}

fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim_end_matches('=');
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .ok()
}

fn as_string(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn roles(value: Option<&serde_json::Value>) -> Vec<String> {
    match value {
        Some(serde_json::Value::Array(items)) => items.iter().filter_map(as_string).collect(),
        Some(serde_json::Value::String(text)) => text
            .split([' ', ','])
            .filter(|role| !role.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Seconds since the epoch (integer or float) to a time; negative, non-finite or absurd values
/// (beyond the year 9999) give `None`.
fn as_time(value: &serde_json::Value) -> Option<SystemTime> {
    const MAX_SECONDS: u64 = 253_402_300_799;
    let seconds = match value {
        serde_json::Value::Number(number) => {
            if let Some(seconds) = number.as_u64() {
                seconds
            } else {
                let float = number.as_f64()?;
                if !float.is_finite() || float < 0.0 || float > MAX_SECONDS as f64 {
                    return None;
                }
                float as u64
            }
        }
        serde_json::Value::String(text) => text.trim().parse::<u64>().ok()?,
        _ => return None,
    };
    if seconds > MAX_SECONDS {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED000_TOKEN: &str = include_str!("../../../fixtures/eso/auth/seed000_id_token.jwt");
    const MOCK_RESPONSE: &str =
        include_str!("../../../fixtures/eso/auth/oidc_token_response_mock.json");

    #[test]
    fn seed000_token_claims() {
        let claims = decode_unverified(SEED000_TOKEN).unwrap();
        assert_eq!(claims.preferred_username.as_deref(), Some("AMICOL"));
        assert_eq!(claims.name.as_deref(), Some("Dr. Micol"));
        assert_eq!(
            claims.roles,
            vec!["user".to_owned(), "GNLT_USER".to_owned()]
        );
        assert_eq!(
            claims.issuer.as_deref(),
            Some("https://www.eso.org/sso/oidc")
        );
        assert_eq!(
            claims.expires_at,
            Some(UNIX_EPOCH + Duration::from_secs(1_775_067_373))
        );
        assert_eq!(
            claims.issued_at,
            Some(UNIX_EPOCH + Duration::from_secs(1_775_038_573))
        );
        // ESO tokens are valid 8 hours.
        let lifetime = claims
            .expires_at
            .unwrap()
            .duration_since(claims.issued_at.unwrap())
            .unwrap();
        assert_eq!(lifetime, Duration::from_secs(8 * 3600));
    }

    #[test]
    fn mock_token_has_only_exp() {
        let value: serde_json::Value = serde_json::from_str(MOCK_RESPONSE).unwrap();
        let token = value["id_token"].as_str().unwrap();
        let claims = decode_unverified(token).unwrap();
        assert_eq!(
            claims.expires_at,
            Some(UNIX_EPOCH + Duration::from_secs(1_678_628_959))
        );
        assert_eq!(claims.preferred_username, None);
        assert!(claims.roles.is_empty());
    }

    #[test]
    fn malformed_tokens_give_unknown_expiry() {
        let cases = [
            "",
            ".",
            "..",
            "a.b.c",
            "a.b",
            "a.b.c.d",
            "some-access-token",
            "eyJhbGciOiJIUzI1NiJ9.!!!.sig",
            // payload "[]", "null", "{\"exp\":-5}", "{\"exp\":1e300}", "{\"exp\":\"x\"}"
            "x.W10.x",
            "x.bnVsbA.x",
            "x.eyJleHAiOi01fQ.x",
            "x.eyJleHAiOjFlMzAwfQ.x",
            "x.eyJleHAiOiJ4In0.x",
        ];
        for case in cases {
            assert_eq!(expiry(case), None, "{case:?}");
        }
        let huge = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(decode_unverified(&huge), None);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic fuzz: every prefix and many splices of real tokens.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let alphabet: Vec<char> = "ABCxyz019-_.=+/ \u{e9}".chars().collect();
        for len in 0..200 {
            let text: String = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[(state % alphabet.len() as u64) as usize]
                })
                .collect();
            let _ = decode_unverified(&text);
        }
        for end in 0..SEED000_TOKEN.len() {
            if SEED000_TOKEN.is_char_boundary(end) {
                let _ = decode_unverified(&SEED000_TOKEN[..end]);
            }
        }
    }

    #[test]
    fn padded_and_string_claims() {
        // payload {"exp":"1700000000","roles":"a b"} with '=' padding
        let payload = base64::engine::general_purpose::URL_SAFE
            .encode(br#"{"exp":"1700000000","roles":"a b"}"#);
        let claims = decode_unverified(&format!("h.{payload}.s")).unwrap();
        assert_eq!(
            claims.expires_at,
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(claims.roles, vec!["a".to_owned(), "b".to_owned()]);
    }
}
