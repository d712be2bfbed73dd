//! Retries: a pure classification ([`classify`]) followed by a pure policy ([`RetryConfig`],
//! [`decide`]).
//!
//! Nothing here sleeps or reads a clock: time and randomness are arguments, so the policy is
//! tested with a fake clock and a seeded RNG. [`crate::http::HttpClient::send`] runs the loop.
//!
//! - Retried: connection failures, timeouts, resets, and the statuses 408, 429, 500, 502, 503,
//!   504 (curl's set), only for idempotent requests.
//! - Backoff: full jitter, `sleep = U(0, min(cap, base * 2^n))` (AWS "Exponential Backoff and
//!   Jitter").
//! - `Retry-After` (RFC 9110 §10.2.3, delta-seconds or HTTP-date) is a floor for the sleep; if
//!   it exceeds the remaining budget the request fails at once with a clear message.

use std::time::{Duration, SystemTime};

use ::http::StatusCode;
use rand::Rng;

use crate::HttpErrorKind;

/// Retry settings. Public fields; `Default` gives 5 retries within 3 minutes, base 1 s, cap 60 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first attempt (0 disables retries).
    pub max_retries: u32,
    /// Total time budget for all attempts and sleeps of one request.
    pub retry_timeout: Duration,
    /// The first backoff ceiling.
    pub base: Duration,
    /// The largest backoff ceiling.
    pub cap: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 5,
            retry_timeout: Duration::from_secs(180),
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
        }
    }
}

impl RetryConfig {
    /// No retries at all.
    pub fn disabled() -> RetryConfig {
        RetryConfig {
            max_retries: 0,
            ..RetryConfig::default()
        }
    }
}

/// What went wrong with one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The server answered with this status.
    Status(StatusCode),
    /// The transport failed.
    Transport(HttpErrorKind),
}

/// Whether a failure may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retryable {
    /// Transient: retry (idempotent requests only).
    Retry,
    /// Authentication failed (401): re-authenticate once, then give up.
    ReAuthenticate,
    /// Permanent: do not retry.
    Never,
}

/// Classifies one failure. Pure.
pub fn classify(failure: Failure) -> Retryable {
    match failure {
        Failure::Status(status) => match status.as_u16() {
            408 | 429 | 500 | 502 | 503 | 504 | 522 | 524 => Retryable::Retry,
            401 => Retryable::ReAuthenticate,
            _ => Retryable::Never,
        },
        Failure::Transport(kind) => match kind {
            HttpErrorKind::Connect | HttpErrorKind::Timeout | HttpErrorKind::Reset => {
                Retryable::Retry
            }
            _ => Retryable::Never,
        },
    }
}

/// Parses a `Retry-After` value: delta-seconds or an HTTP-date (relative to `now`).
///
/// A date in the past gives zero; garbage gives `None` (ignore the header). Total: never panics.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|byte| byte.is_ascii_digit()) {
        // Absurdly long digit strings saturate instead of failing.
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The full-jitter backoff before retry number `retry` (0 for the first retry):
/// uniform in `[0, min(cap, base * 2^retry)]`.
pub fn backoff<R: Rng + ?Sized>(config: &RetryConfig, retry: u32, rng: &mut R) -> Duration {
    let factor = 2u32.checked_pow(retry.min(31)).unwrap_or(u32::MAX);
    let ceiling = config.base.saturating_mul(factor).min(config.cap);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(rng.random_range(0..=nanos))
}

/// The policy's answer after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Sleep this long, then try again.
    RetryAfter(Duration),
    /// Give up.
    GiveUp(GiveUp),
}

/// Why the policy gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// The failure is not transient, or the request is not idempotent.
    NotRetryable,
    /// `max_retries` retries were made already.
    MaxRetries,
    /// The total time budget is used up.
    BudgetExhausted,
    /// The server's `Retry-After` exceeds what is left of the budget.
    RetryAfterExceedsBudget {
        /// The requested wait.
        wait: Duration,
        /// The remaining budget.
        remaining: Duration,
    },
}

/// Everything the policy needs to know about one failed attempt.
#[derive(Debug, Clone, Copy)]
pub struct AttemptState {
    /// The failure.
    pub failure: Failure,
    /// Whether the request may be repeated safely.
    pub idempotent: bool,
    /// Retries made so far (0 after the first attempt failed).
    pub retries_done: u32,
    /// Time since the first attempt started.
    pub elapsed: Duration,
    /// The server's `Retry-After`, parsed.
    pub retry_after: Option<Duration>,
}

/// Decides what to do after a failed attempt. Pure: time and randomness come in as arguments.
pub fn decide<R: Rng + ?Sized>(
    config: &RetryConfig,
    state: &AttemptState,
    rng: &mut R,
) -> Decision {
    if !state.idempotent || classify(state.failure) != Retryable::Retry {
        return Decision::GiveUp(GiveUp::NotRetryable);
    }
    if state.retries_done >= config.max_retries {
        return Decision::GiveUp(GiveUp::MaxRetries);
    }
    let remaining = config.retry_timeout.saturating_sub(state.elapsed);
    if remaining.is_zero() {
        return Decision::GiveUp(GiveUp::BudgetExhausted);
    }
    if let Some(wait) = state.retry_after {
        if wait > remaining {
            return Decision::GiveUp(GiveUp::RetryAfterExceedsBudget { wait, remaining });
        }
    }
    let jitter = backoff(config, state.retries_done, rng);
    let sleep = match state.retry_after {
        Some(floor) => jitter.max(floor),
        None => jitter,
    };
    Decision::RetryAfter(sleep.min(remaining))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn classification_table() {
        let retry = [408, 429, 500, 502, 503, 504];
        let never = [
            200, 201, 204, 301, 400, 403, 404, 405, 409, 410, 413, 416, 501, 505,
        ];
        for code in retry {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(
                classify(Failure::Status(status)),
                Retryable::Retry,
                "{code}"
            );
        }
        for code in never {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(
                classify(Failure::Status(status)),
                Retryable::Never,
                "{code}"
            );
        }
        assert_eq!(
            classify(Failure::Status(StatusCode::UNAUTHORIZED)),
            Retryable::ReAuthenticate
        );
        for kind in [
            HttpErrorKind::Connect,
            HttpErrorKind::Timeout,
            HttpErrorKind::Reset,
        ] {
            assert_eq!(
                classify(Failure::Transport(kind)),
                Retryable::Retry,
                "{kind:?}"
            );
        }
        for kind in [
            HttpErrorKind::Decode,
            HttpErrorKind::Builder,
            HttpErrorKind::Other,
        ] {
            assert_eq!(
                classify(Failure::Transport(kind)),
                Retryable::Never,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        for garbage in ["", "soon", "-1", "1.5", "Thu, 99 Foo 2024", "\u{202e}3"] {
            assert_eq!(parse_retry_after(garbage, now), None, "{garbage:?}");
        }
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn backoff_within_bounds() {
        let config = RetryConfig::default();
        let mut rng = StdRng::seed_from_u64(7);
        for retry in 0..40 {
            for _ in 0..50 {
                let sleep = backoff(&config, retry, &mut rng);
                let ceiling = config
                    .base
                    .saturating_mul(2u32.saturating_pow(retry))
                    .min(config.cap);
                assert!(sleep <= ceiling, "retry {retry}: {sleep:?} > {ceiling:?}");
            }
        }
        let zero = RetryConfig {
            base: Duration::ZERO,
            ..config
        };
        assert_eq!(backoff(&zero, 3, &mut rng), Duration::ZERO);
    }

    fn state(
        failure: Failure,
        retries_done: u32,
        elapsed: u64,
        retry_after: Option<u64>,
    ) -> AttemptState {
        AttemptState {
            failure,
            idempotent: true,
            retries_done,
            elapsed: Duration::from_secs(elapsed),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn policy_with_fake_clock() {
        let config = RetryConfig::default();
        let mut rng = StdRng::seed_from_u64(42);
        let unavailable = Failure::Status(StatusCode::SERVICE_UNAVAILABLE);

        // Retry-After is a floor.
        match decide(&config, &state(unavailable, 0, 0, Some(2)), &mut rng) {
            Decision::RetryAfter(sleep) => assert!(sleep >= Duration::from_secs(2), "{sleep:?}"),
            other => panic!("{other:?}"),
        }
        // Retry-After beyond the budget fails fast and names the wait.
        assert_eq!(
            decide(&config, &state(unavailable, 0, 0, Some(100_000)), &mut rng),
            Decision::GiveUp(GiveUp::RetryAfterExceedsBudget {
                wait: Duration::from_secs(100_000),
                remaining: Duration::from_secs(180),
            })
        );
        // Attempts are bounded.
        assert_eq!(
            decide(&config, &state(unavailable, 5, 10, None), &mut rng),
            Decision::GiveUp(GiveUp::MaxRetries)
        );
        // The budget is bounded, and no sleep goes past it.
        assert_eq!(
            decide(&config, &state(unavailable, 1, 180, None), &mut rng),
            Decision::GiveUp(GiveUp::BudgetExhausted)
        );
        match decide(&config, &state(unavailable, 4, 179, None), &mut rng) {
            Decision::RetryAfter(sleep) => assert!(sleep <= Duration::from_secs(1)),
            other => panic!("{other:?}"),
        }
        // Permanent failures and non-idempotent requests are not retried.
        assert_eq!(
            decide(
                &config,
                &state(Failure::Status(StatusCode::NOT_FOUND), 0, 0, None),
                &mut rng
            ),
            Decision::GiveUp(GiveUp::NotRetryable)
        );
        let mut post = state(unavailable, 0, 0, None);
        post.idempotent = false;
        assert_eq!(
            decide(&config, &post, &mut rng),
            Decision::GiveUp(GiveUp::NotRetryable)
        );
    }

    #[test]
    fn simulated_run_stays_within_budget() {
        // A server that always answers 503: simulate the loop with a fake clock.
        let config = RetryConfig {
            max_retries: 100,
            retry_timeout: Duration::from_secs(30),
            base: Duration::from_secs(1),
            cap: Duration::from_secs(8),
        };
        let mut rng = StdRng::seed_from_u64(1);
        let mut elapsed = Duration::ZERO;
        let mut retries = 0;
        loop {
            let attempt = state(
                Failure::Status(StatusCode::SERVICE_UNAVAILABLE),
                retries,
                0,
                None,
            );
            let attempt = AttemptState { elapsed, ..attempt };
            match decide(&config, &attempt, &mut rng) {
                Decision::RetryAfter(sleep) => {
                    elapsed += sleep;
                    retries += 1;
                }
                Decision::GiveUp(reason) => {
                    assert!(matches!(
                        reason,
                        GiveUp::BudgetExhausted | GiveUp::MaxRetries
                    ));
                    break;
                }
            }
        }
        assert!(elapsed <= config.retry_timeout);
        assert!(retries <= config.max_retries);
    }
}
