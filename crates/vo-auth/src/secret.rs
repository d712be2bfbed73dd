//! Secret newtypes: `Debug` and `Display` are redacted; the value is reachable only via `secret()`.

use std::fmt;

use ::http::HeaderValue;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

/// A bearer token (for ESO: the OIDC `id_token`).
///
/// `Debug` prints `Token([redacted])` and `Display` prints `[redacted]`.
#[derive(Clone)]
pub struct Token(SecretString);

impl Token {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Token {
        Token(SecretString::from(token.into()))
    }

    /// The token itself. Use it only to build a request or to store it in the token cache.
    pub fn secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A password.
///
/// `Debug` prints `Password([redacted])` and `Display` prints `[redacted]`.
#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Password {
        Password(SecretString::from(password.into()))
    }

    /// The password itself. Use it only to build a request.
    pub fn secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Credentials the HTTP client attaches to requests to the origins they are bound to.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Credentials {
    /// `Authorization: Bearer <token>`.
    Bearer(Token),
    /// `Authorization: Basic base64(user:password)` (RFC 7617).
    Basic {
        /// The user name (not secret).
        user: String,
        /// The password.
        password: Password,
    },
}

impl Credentials {
    /// Bearer credentials from a token.
    pub fn bearer(token: Token) -> Credentials {
        Credentials::Bearer(token)
    }

    /// Basic credentials.
    pub fn basic(user: impl Into<String>, password: Password) -> Credentials {
        Credentials::Basic {
            user: user.into(),
            password,
        }
    }

    /// The `Authorization` header value, marked sensitive.
    ///
    /// Returns `None` if the secret contains bytes not allowed in a header (for example a
    /// newline): such a value is never sent.
    pub(crate) fn header_value(&self) -> Option<HeaderValue> {
        let text = match self {
            Credentials::Bearer(token) => format!("Bearer {}", token.secret()),
            Credentials::Basic { user, password } => {
                let raw = format!("{user}:{}", password.secret());
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
                )
            }
        };
        let mut value = HeaderValue::from_str(&text).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let token = Token::new("canary-token-123");
        let password = Password::new("canary-password-456");
        let creds = Credentials::basic("alice", password.clone());
        for text in [
            format!("{token:?}"),
            format!("{token}"),
            format!("{password:?}"),
            format!("{password}"),
            format!("{creds:?}"),
            format!("{:?}", Credentials::bearer(token.clone())),
        ] {
            assert!(!text.contains("canary"), "{text}");
        }
        assert_eq!(format!("{token:?}"), "Token([redacted])");
        assert_eq!(token.secret(), "canary-token-123");
    }

    #[test]
    fn header_values_are_sensitive() {
        let value = Credentials::basic("Aladdin", Password::new("open sesame"))
            .header_value()
            .unwrap();
        assert!(value.is_sensitive());
        assert_eq!(
            value.to_str().unwrap(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert!(!format!("{value:?}").contains("QWxh"));
        let bearer = Credentials::bearer(Token::new("a\nb")).header_value();
        assert!(bearer.is_none());
    }
}
