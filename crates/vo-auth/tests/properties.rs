//! Property tests: the parsers of untrusted input are total (never panic) and keep their
//! invariants.

use std::path::Path;
use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use vo_auth::netrc::Netrc;
use vo_auth::retry::{self, AttemptState, Decision, Failure, RetryConfig};
use vo_auth::{EsoEndpoints, Origin, jwt};

proptest! {
    #[test]
    fn jwt_decoding_never_panics(token in ".{0,300}") {
        let _ = jwt::decode_unverified(&token);
        let _ = jwt::expiry(&token);
    }

    #[test]
    fn jwt_with_base64_parts_never_panics(
        header in "[A-Za-z0-9_-]{0,40}",
        payload in "[A-Za-z0-9_=-]{0,200}",
        signature in "[A-Za-z0-9_-]{0,40}",
    ) {
        let _ = jwt::decode_unverified(&format!("{header}.{payload}.{signature}"));
    }

    #[test]
    fn retry_after_never_panics(value in ".{0,64}", now in 0u64..4_000_000_000) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(now);
        let _ = retry::parse_retry_after(&value, now);
    }

    #[test]
    fn netrc_parsing_never_panics(text in "(machine|default|login|password|account|macdef|[a-z.]{1,8}|\\s){0,40}") {
        if let Ok(netrc) = Netrc::parse(&text, Path::new("prop.netrc")) {
            let _ = netrc.find("www.eso.org", Some("alice"));
        }
    }

    #[test]
    fn origin_parsing_never_panics(text in ".{0,80}") {
        if let Some(origin) = Origin::parse(&text) {
            // The origin's own text parses back to the same origin.
            prop_assert_eq!(Origin::parse(&origin.to_string()), Some(origin));
        }
    }

    // `file` is for trusted ids; `try_file` is what untrusted input goes through: it refuses
    // ids (`.`, `..`, empty) that URL parsing would turn into a path outside the endpoint.
    #[test]
    fn file_urls_stay_under_the_file_endpoint(dp_id in ".{0,60}") {
        let endpoints = EsoEndpoints::default();
        if let Ok(url) = endpoints.try_file(&dp_id) {
            prop_assert_eq!(url.origin(), endpoints.dataportal.origin());
            prop_assert!(url.path().starts_with("/dataPortal/file/"), "{}", url);
            prop_assert_eq!(url.query(), None);
            prop_assert_eq!(url.fragment(), None);
            prop_assert_eq!(url.clone(), endpoints.file(&dp_id));
        }
    }

    #[test]
    fn dot_segments_are_refused(dp_id in prop::sample::select(vec![".", "..", ""])) {
        prop_assert!(EsoEndpoints::default().try_file(dp_id).is_err());
    }

    #[test]
    fn policy_respects_bounds(
        seed in any::<u64>(),
        retries_done in 0u32..10,
        elapsed in 0u64..400,
        retry_after in proptest::option::of(0u64..1000),
    ) {
        use rand::SeedableRng;
        let config = RetryConfig::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let state = AttemptState {
            failure: Failure::Status(http::StatusCode::SERVICE_UNAVAILABLE),
            idempotent: true,
            retries_done,
            elapsed: Duration::from_secs(elapsed),
            retry_after: retry_after.map(Duration::from_secs),
        };
        if let Decision::RetryAfter(sleep) = retry::decide(&config, &state, &mut rng) {
            prop_assert!(retries_done < config.max_retries);
            prop_assert!(Duration::from_secs(elapsed) + sleep <= config.retry_timeout);
            if let Some(floor) = retry_after {
                prop_assert!(sleep >= Duration::from_secs(floor));
            }
        }
    }
}
