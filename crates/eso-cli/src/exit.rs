//! Exit codes and one-sentence error messages.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success |
//! | 1 | failure |
//! | 2 | usage error |
//! | 3 | authentication failure (log in again, or no access) |
//! | 4 | some downloads failed (the others completed) |
//! | 130 | interrupted (Ctrl-C during an asynchronous query) |

use std::fmt::Write as _;

/// Generic failure.
pub const FAILURE: u8 = 1;
/// Usage error (clap).
pub const USAGE: u8 = 2;
/// Authentication or authorisation failure.
pub const AUTH: u8 = 3;
/// A batch of downloads partly failed.
pub const PARTIAL: u8 = 4;

/// An error that asks for a specific exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CodedError {
    /// The exit code.
    pub code: u8,
    /// The sentence to print.
    pub message: String,
}

/// Builds an error with a given exit code.
pub fn coded(code: u8, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(CodedError {
        code,
        message: message.into(),
    })
}

/// The exit code for an error: explicit codes first, then authentication errors from
/// the libraries, else 1.
pub fn code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(coded) = cause.downcast_ref::<CodedError>() {
            return coded.code;
        }
        if let Some(auth) = cause.downcast_ref::<vo_auth::Error>()
            && is_auth_failure(auth)
        {
            return AUTH;
        }
    }
    FAILURE
}

/// Whether the error is a broken pipe on stdout (`eso ... | head`): not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes as one sentence: "what failed: because ...".
pub fn describe(err: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut last = String::new();
    for (i, cause) in err.chain().enumerate() {
        let text = cause.to_string();
        // Skip causes already contained in the previous message (thiserror often repeats them).
        if i > 0 && last.contains(&text) {
            continue;
        }
        if i > 0 {
            out.push_str(": ");
        }
        let _ = write!(out, "{text}");
        last = text;
    }
    out
}

fn is_auth_failure(err: &vo_auth::Error) -> bool {
    matches!(
        err,
        vo_auth::Error::Unauthorized { .. }
            | vo_auth::Error::Forbidden { .. }
            | vo_auth::Error::Login { .. }
            | vo_auth::Error::LoginRequired { .. }
            | vo_auth::Error::Password { .. }
    )
}
