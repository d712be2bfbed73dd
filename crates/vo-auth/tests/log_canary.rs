//! The no-secret-in-logs canary: a full login and authenticated requests at TRACE level,
//! with every log line and error searched for the password, the token and its signature.
//!
//! It is a test binary of its own: `tracing` caches per-callsite interest globally, and
//! other tests running on other threads without a subscriber could make this test's
//! scoped subscriber miss events.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use vo_auth::cache::TokenCache;
use vo_auth::http::HttpClient;
use vo_auth::password::PasswordSource;
use vo_auth::retry::RetryConfig;
use vo_auth::{EsoEndpoints, Password, Url, eso};
use wiremock::matchers::{header, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;
use common::{PASSWORD, fake_jwt, mount_eso_token, mount_wrong_password};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_secret_in_any_log_line() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(capture.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    let jwt = fake_jwt("alice", "sig-canary-7731");
    mount_eso_token(&server, &jwt, 1).await;
    Mock::given(path("/tap_obs/sync"))
        .and(header("authorization", format!("Bearer {jwt}").as_str()))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/tap_obs/sync"))
        .and(header("authorization", format!("Bearer {jwt}").as_str()))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/denied"))
        .mount(&server)
        .await;
    Mock::given(path("/denied"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let client = HttpClient::builder()
        .retry(RetryConfig {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
            ..RetryConfig::default()
        })
        .build()
        .unwrap();
    let endpoints = EsoEndpoints::with_base(Url::parse(&server.uri()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let cache = TokenCache::new(dir.path().join("tokens"));
    let source = PasswordSource::Value(Password::new(PASSWORD));

    let mut everything = String::new();
    let login = eso::ensure_login(&client, &endpoints, &cache, Some("alice"), Some(&source))
        .await
        .unwrap();
    everything.push_str(&format!("{login:?}\n{source:?}\n"));
    let authed = eso::authenticated_client(&client, &endpoints, &login).unwrap();
    everything.push_str(&format!("{authed:?}\n"));
    let response = authed
        .get(endpoints.tap_obs().join("tap_obs/sync?QUERY=x").unwrap())
        .await
        .unwrap();
    everything.push_str(&format!("{response:?}\n"));
    let err = response.error_for_status().await.unwrap_err();
    everything.push_str(&format!("{err}\n{err:?}\n"));
    // A failed login and a transport error with the password in the URL.
    let bad = MockServer::start().await;
    mount_wrong_password(&bad).await;
    let bad_endpoints = EsoEndpoints::with_base(Url::parse(&bad.uri()).unwrap());
    let err = eso::login(&client, &bad_endpoints, "alice", &Password::new(PASSWORD))
        .await
        .unwrap_err();
    everything.push_str(&format!("{err}\n{err:?}\n"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dead = EsoEndpoints::with_base(Url::parse(&format!("http://127.0.0.1:{port}")).unwrap());
    let no_retry = client
        .to_builder()
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let err = eso::login(&no_retry, &dead, "alice", &Password::new(PASSWORD))
        .await
        .unwrap_err();
    let mut chain = format!("{err}\n{err:?}\n");
    let mut source_err = std::error::Error::source(&err);
    while let Some(inner) = source_err {
        chain.push_str(&format!("{inner}\n{inner:?}\n"));
        source_err = inner.source();
    }
    everything.push_str(&chain);

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    // The logs really captured the flow at TRACE level.
    assert!(logs.contains("logged in"), "{logs}");
    assert!(logs.contains("retrying after transient failure"), "{logs}");
    assert!(logs.contains("following redirect"), "{logs}");
    let all = format!("{logs}\n{everything}");
    if std::env::var_os("VO_AUTH_DUMP_LOGS").is_some() {
        std::fs::write("/tmp/vo_auth_logs.txt", &all).unwrap();
    }
    let encoded_password = "pw-canary-8842%20%26%3F";
    for secret in [
        "pw-canary",
        encoded_password,
        "sig-canary-7731",
        jwt.as_str(),
        "access-canary-5511",
    ] {
        assert!(!all.contains(secret), "found {secret:?} in:\n{all}");
    }
}
