//! ESO login, the token cache, renewal and the no-secret-in-logs canary, against loopback
//! servers (wiremock).

use std::time::{Duration, SystemTime};

use vo_auth::cache::{CachedToken, TokenCache};
use vo_auth::http::HttpClient;
use vo_auth::password::PasswordSource;
use vo_auth::retry::RetryConfig;
use vo_auth::{Error, EsoEndpoints, LoginReason, Password, Token, Url, eso};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;
use common::{PASSWORD, fake_jwt, mount_eso_token, mount_wrong_password, token_reply};

fn setup(server: &MockServer) -> (HttpClient, EsoEndpoints, TokenCache, tempfile::TempDir) {
    let client = HttpClient::builder()
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let endpoints = EsoEndpoints::with_base(Url::parse(&server.uri()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let cache = TokenCache::new(dir.path().join("tokens"));
    (client, endpoints, cache, dir)
}

#[tokio::test]
async fn successful_login_is_cached_privately_and_shown_by_whoami() {
    let server = MockServer::start().await;
    let jwt = fake_jwt("alice", "sig-canary-1");
    mount_eso_token(&server, &jwt, 1).await;
    let (client, endpoints, cache, _dir) = setup(&server);

    let password = Password::new(PASSWORD);
    let (login, file) = eso::login_and_store(&client, &endpoints, &cache, "alice", &password)
        .await
        .unwrap();
    assert_eq!(login.token.secret(), jwt);
    let left = login.expires_at.duration_since(SystemTime::now()).unwrap();
    assert!(left > Duration::from_secs(8 * 3600 - 60) && left <= Duration::from_secs(8 * 3600));

    // The exact query ESO's tools send, with %20 in response_type.
    let requests = server.received_requests().await.unwrap();
    let query = requests[0].url.query().unwrap().to_owned();
    assert!(
        query.starts_with("response_type=id_token%20token&grant_type=password&client_id=clientid&username=alice&password="),
        "{query}"
    );
    assert!(requests[0].headers.get("authorization").is_none());

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("pw-canary"), "the password is never stored");

    let who = eso::whoami(&cache, &endpoints, None, SystemTime::now()).unwrap();
    assert_eq!(who.user, "alice");
    assert_eq!(who.name(), Some("Alice Astronomer"));
    assert_eq!(who.roles(), ["user", "GNLT_USER"]);
    assert!(who.time_left.is_some());
    let claims = who.claims.as_ref().unwrap();
    assert_eq!(claims.preferred_username.as_deref(), Some("alice"));

    // The cached token authenticates requests to the ESO origins.
    Mock::given(path("/tap_obs/sync"))
        .and(header("authorization", format!("Bearer {jwt}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let authed = eso::authenticated_client(&client, &endpoints, &login).unwrap();
    let response = authed
        .get(endpoints.tap_obs().join("tap_obs/sync").unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    assert_eq!(
        eso::logout(&cache, &endpoints, None).unwrap().as_deref(),
        Some("alice")
    );
    assert!(!file.exists());
    assert_eq!(
        eso::logout(&cache, &endpoints, Some("alice")).unwrap(),
        None
    );
    let err = eso::whoami(&cache, &endpoints, None, SystemTime::now()).unwrap_err();
    assert!(err.to_string().contains("run `eso login`"), "{err}");
}

#[tokio::test]
async fn wrong_password_shows_the_server_message() {
    let server = MockServer::start().await;
    mount_wrong_password(&server).await;
    let (client, endpoints, cache, _dir) = setup(&server);
    let err = eso::login_and_store(
        &client,
        &endpoints,
        &cache,
        "alice",
        &Password::new(PASSWORD),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Login { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("invalid_grant: Invalid user credentials"),
        "{text}"
    );
    assert!(text.contains("alice"), "{text}");
    assert!(!text.contains("pw-canary"), "{text}");
    assert!(!format!("{err:?}").contains("pw-canary"));
    assert!(cache.list(None).unwrap().is_empty());
}

#[tokio::test]
async fn expired_token_is_renewed_with_a_password_source() {
    let server = MockServer::start().await;
    let fresh_jwt = fake_jwt("alice", "sig-renewed");
    mount_eso_token(&server, &fresh_jwt, 1).await;
    let (client, endpoints, cache, _dir) = setup(&server);

    // A login that expires in 5 minutes: inside the 10 minute renewal margin.
    let now = SystemTime::now();
    let old = CachedToken {
        sso: endpoints.sso_origin(),
        user: "alice".to_owned(),
        token: Token::new("old-token"),
        expires_at: now + Duration::from_secs(300),
        obtained_at: now - Duration::from_secs(8 * 3600 - 300),
    };
    cache.store(&old).unwrap();

    // Without a password source: a clear error, nothing sent.
    let err = eso::ensure_login(&client, &endpoints, &cache, Some("alice"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::LoginRequired {
                reason: LoginReason::Expired,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("expired"), "{err}");
    assert!(err.to_string().contains("eso login"), "{err}");
    assert!(server.received_requests().await.unwrap().is_empty());

    // The automatic source finds no password here (no ESO_PASSWORD, no netrc entry for the
    // loopback host): the same clear error.
    if std::env::var_os("ESO_PASSWORD").is_none() {
        let err = eso::ensure_login(
            &client,
            &endpoints,
            &cache,
            None,
            Some(&PasswordSource::Automatic),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::LoginRequired {
                    reason: LoginReason::Expired,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(server.received_requests().await.unwrap().is_empty());
    }

    // With one: renewed without asking, and stored.
    let source = PasswordSource::Value(Password::new(PASSWORD));
    let renewed = eso::ensure_login(&client, &endpoints, &cache, None, Some(&source))
        .await
        .unwrap();
    assert_eq!(renewed.token.secret(), fresh_jwt);
    let cached = cache
        .load(&endpoints.sso_origin(), "alice")
        .unwrap()
        .unwrap();
    assert_eq!(cached.token.secret(), fresh_jwt);

    // Now fresh: reused, no second token request (the mock expects exactly one).
    let again = eso::ensure_login(&client, &endpoints, &cache, Some("alice"), Some(&source))
        .await
        .unwrap();
    assert_eq!(again.token.secret(), fresh_jwt);
}

#[tokio::test]
async fn not_logged_in_is_a_clear_error() {
    let server = MockServer::start().await;
    let (client, endpoints, cache, _dir) = setup(&server);
    let err = eso::ensure_login(&client, &endpoints, &cache, Some("bob"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::LoginRequired {
                reason: LoginReason::NotLoggedIn,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("not logged in as bob"), "{err}");
}

#[tokio::test]
async fn oidc_form_variant_posts_without_secrets_in_the_url() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/realms/x/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=password"))
        .and(body_string_contains("username=alice"))
        .respond_with(token_reply("opaque-token"))
        .expect(1)
        .mount(&server)
        .await;
    let client = HttpClient::anonymous().unwrap();
    let endpoint = Url::parse(&format!("{}/realms/x/token", server.uri())).unwrap();
    let login = eso::login_oidc_form(
        &client,
        &endpoint,
        "my-client",
        "alice",
        &Password::new(PASSWORD),
    )
    .await
    .unwrap();
    assert_eq!(login.token.secret(), "opaque-token");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.query(), None);
}

/// A `MakeWriter` that appends every log line to a shared buffer.
async fn session_fixture(
    server: &MockServer,
) -> (eso::EsoSession, TokenCache, tempfile::TempDir, String) {
    let (client, endpoints, cache, dir) = setup(server);
    let now = SystemTime::now();
    // A token that looks fresh but that the server has revoked.
    let revoked = CachedToken {
        sso: endpoints.sso_origin(),
        user: "alice".to_owned(),
        token: Token::new("revoked-token"),
        expires_at: now + Duration::from_secs(7 * 3600),
        obtained_at: now - Duration::from_secs(3600),
    };
    cache.store(&revoked).unwrap();
    let session = eso::EsoSession::new(
        client,
        endpoints,
        cache.clone(),
        Some("alice".to_owned()),
        Some(PasswordSource::Value(Password::new(PASSWORD))),
    );
    let fresh = fake_jwt("alice", "sig-session");
    (session, cache, dir, fresh)
}

#[tokio::test]
async fn a_401_triggers_exactly_one_reauthentication() {
    let server = MockServer::start().await;
    let (session, cache, _dir, fresh) = session_fixture(&server).await;
    mount_eso_token(&server, &fresh, 1).await;
    Mock::given(path("/tap_obs/sync"))
        .and(header("authorization", format!("Bearer {fresh}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_string("rows"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/tap_obs/sync"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    let url = session.endpoints().tap_obs().join("tap_obs/sync").unwrap();
    let request = http::Request::get(url.as_str()).body(Vec::new()).unwrap();
    let response = session
        .send(request, vo_auth::http::RequestOptions::idempotent())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cached = cache
        .load(&session.endpoints().sso_origin(), "alice")
        .unwrap()
        .unwrap();
    assert_eq!(cached.token.secret(), fresh);
}

#[tokio::test]
async fn a_second_401_is_a_clean_auth_error() {
    let server = MockServer::start().await;
    let (session, _cache, _dir, fresh) = session_fixture(&server).await;
    mount_eso_token(&server, &fresh, 1).await;
    Mock::given(path("/tap_obs/sync"))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let url = session.endpoints().tap_obs().join("tap_obs/sync").unwrap();
    let request = http::Request::get(url.as_str()).body(Vec::new()).unwrap();
    let response = session
        .send(request, vo_auth::http::RequestOptions::idempotent())
        .await
        .unwrap();
    let err = response.error_for_status().await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
}
