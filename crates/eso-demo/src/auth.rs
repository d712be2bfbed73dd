//! The demo identity provider: the ESO token endpoint, and checking `Authorization` headers.
//!
//! Tokens are JWTs signed with HS256 and [`DEMO_SIGNING_KEY`], a fixed key that is public on
//! purpose: it only lets the offline archive recognise the tokens it issued (and a token stays
//! valid across restarts of the demo, as a real cached token would). Claims mimic ESO's
//! `id_token`: `preferred_username`, `name`, `roles`, `iat`, `exp` (8 hours).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest as _, Sha256};

/// The HS256 key of demo tokens. Not a secret: anyone may mint demo tokens, which only open
/// the offline archive.
pub const DEMO_SIGNING_KEY: &[u8] = b"eso-vo offline demo archive: public HS256 key, not a secret";

/// Default lifetime of an issued token, as ESO's (`expires_in: 28800`).
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(8 * 3600);

/// Who is asking, from the `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    /// No `Authorization` header.
    Anonymous,
    /// A valid demo token or demo Basic credentials, for this user.
    User(String),
    /// A header was sent but is not acceptable; the reason is safe to show (no secret in it).
    Invalid(&'static str),
}

impl Auth {
    pub(crate) fn user(&self) -> Option<&str> {
        match self {
            Auth::User(user) => Some(user),
            _ => None,
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block_key = [0u8; BLOCK];
    if key.len() > BLOCK {
        block_key[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block_key[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block_key.map(|byte| byte ^ 0x36));
    inner.update(message);
    let inner_hash = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block_key.map(|byte| byte ^ 0x5c));
    outer.update(inner_hash);
    outer.finalize().into()
}

/// Constant-time comparison of two byte strings.
fn same_bytes(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Mints an `id_token` for `user`, valid for `lifetime` from now (whole seconds, at least one).
pub(crate) fn mint_token(user: &str, issuer: &str, lifetime: Duration) -> String {
    let issued_at = now_secs();
    let header = serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": "eso-demo"});
    let claims = serde_json::json!({
        "jti": uuid::Uuid::new_v4().to_string(),
        "iss": issuer,
        "aud": "clientid",
        "sub": user.to_uppercase(),
        "client_id": "clientid",
        "iat": issued_at,
        "nbf": issued_at.saturating_sub(300),
        "auth_time": issued_at,
        "exp": issued_at + lifetime.as_secs().max(1),
        "preferred_username": user,
        "name": "Demo User",
        "given_name": "Demo",
        "family_name": "User",
        "roles": ["user"],
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = hmac_sha256(DEMO_SIGNING_KEY, signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Checks a bearer token: signed with the demo key, not expired. Returns the user.
pub(crate) fn verify_token(token: &str) -> Result<String, &'static str> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the bearer token is not a JWT");
    };
    let signing_input_len = header.len() + 1 + claims.len();
    let signing_input = token.get(..signing_input_len).unwrap_or_default();
    let expected = hmac_sha256(DEMO_SIGNING_KEY, signing_input.as_bytes());
    let given = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "the bearer token signature is not base64url")?;
    if !same_bytes(&expected, &given) {
        return Err("the bearer token was not issued by this archive");
    }
    let claims = URL_SAFE_NO_PAD
        .decode(claims)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .ok_or("the bearer token claims are not JSON")?;
    let expiry = claims["exp"]
        .as_u64()
        .ok_or("the bearer token has no expiry")?;
    if expiry <= now_secs() {
        return Err("the bearer token has expired: run `eso login` again");
    }
    claims["preferred_username"]
        .as_str()
        .map(str::to_owned)
        .ok_or("the bearer token names no user")
}

/// Reads an `Authorization` header value: `Bearer <demo token>` or `Basic <demo credentials>`.
pub(crate) fn authenticate(header: Option<&[u8]>, demo_user: &str, demo_password: &str) -> Auth {
    let Some(header) = header else {
        return Auth::Anonymous;
    };
    let Ok(header) = std::str::from_utf8(header) else {
        return Auth::Invalid("the Authorization header is not text");
    };
    let (scheme, value) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        match verify_token(value) {
            Ok(user) => Auth::User(user),
            Err(reason) => Auth::Invalid(reason),
        }
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD
            .decode(value)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        match decoded.as_deref().and_then(|text| text.split_once(':')) {
            Some((user, password))
                if same_bytes(user.as_bytes(), demo_user.as_bytes())
                    && same_bytes(password.as_bytes(), demo_password.as_bytes()) =>
            {
                Auth::User(user.to_owned())
            }
            _ => Auth::Invalid("wrong user name or password"),
        }
    } else {
        Auth::Invalid("unsupported authorization scheme (use Bearer or Basic)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn minted_tokens_verify_and_tampered_ones_do_not() {
        let token = mint_token("demo", "http://127.0.0.1:1/sso/oidc", TOKEN_LIFETIME);
        assert_eq!(verify_token(&token), Ok("demo".to_owned()));
        let mut tampered = token.clone();
        tampered.insert(token.find('.').unwrap() + 2, 'x');
        assert!(verify_token(&tampered).is_err());
        assert!(verify_token("abc").is_err());
        assert!(verify_token("a.b.c").is_err());
    }

    #[test]
    fn expired_token_is_refused() {
        // The expired real ESO token of seed 000 has another signature: refused either way.
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#);
        let claims = URL_SAFE_NO_PAD.encode(r#"{"exp":1678628959,"preferred_username":"demo"}"#);
        let input = format!("{header}.{claims}");
        let signature = URL_SAFE_NO_PAD.encode(hmac_sha256(DEMO_SIGNING_KEY, input.as_bytes()));
        let token = format!("{input}.{signature}");
        assert_eq!(
            verify_token(&token),
            Err("the bearer token has expired: run `eso login` again")
        );
    }

    #[test]
    fn basic_credentials() {
        let good = format!("Basic {}", STANDARD.encode("demo:demo"));
        assert_eq!(
            authenticate(Some(good.as_bytes()), "demo", "demo"),
            Auth::User("demo".into())
        );
        let bad = format!("Basic {}", STANDARD.encode("demo:nope"));
        assert!(matches!(
            authenticate(Some(bad.as_bytes()), "demo", "demo"),
            Auth::Invalid(_)
        ));
        assert_eq!(authenticate(None, "demo", "demo"), Auth::Anonymous);
        assert!(matches!(
            authenticate(Some(b"Digest x"), "demo", "demo"),
            Auth::Invalid(_)
        ));
    }
}
