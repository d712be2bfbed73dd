//! The shared HTTP client against in-process loopback servers (wiremock).

use std::io::{BufRead as _, Read as _};
use std::time::{Duration, Instant};

use http::{Method, StatusCode, header};
use vo_auth::http::{HttpClient, Purpose, RequestOptions};
use vo_auth::retry::RetryConfig;
use vo_auth::{Credentials, Error, HttpErrorKind, Origin, Password, Token, Url};
use wiremock::matchers::{header as header_is, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn url(server: &MockServer, path: &str) -> Url {
    Url::parse(&format!("{}{path}", server.uri())).unwrap()
}

fn origin(server: &MockServer) -> Origin {
    Origin::parse(&server.uri()).unwrap()
}

fn fast_retries(max_retries: u32) -> RetryConfig {
    RetryConfig {
        max_retries,
        retry_timeout: Duration::from_secs(20),
        base: Duration::from_millis(5),
        cap: Duration::from_millis(20),
    }
}

fn request(method: Method, url: &Url, body: &[u8]) -> http::Request<Vec<u8>> {
    http::Request::builder()
        .method(method)
        .uri(url.as_str())
        .body(body.to_vec())
        .unwrap()
}

#[tokio::test]
async fn basic_auth_goes_to_the_bound_origin() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/dataPortal/file/X"))
        .and(header_is("authorization", "Basic YWxpY2U6b3BlbiBzZXNhbWU="))
        .respond_with(ResponseTemplate::new(200).set_body_string("data"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let client = HttpClient::builder()
        .credentials(
            Credentials::basic("alice", Password::new("open sesame")),
            vec![origin(&server)],
        )
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let response = client
        .get(url(&server, "/dataPortal/file/X"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.bytes_limited(100).await.unwrap();
    assert_eq!(&body[..], b"data");

    // The user agent names the workspace.
    let requests = server.received_requests().await.unwrap();
    let agent = requests[0]
        .headers
        .get("user-agent")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(agent.starts_with("eso-vo/"), "{agent}");

    // Anonymous requests carry nothing.
    let opts = RequestOptions {
        anonymous: true,
        ..RequestOptions::idempotent()
    };
    let response = client
        .send(
            request(Method::GET, &url(&server, "/dataPortal/file/X"), b""),
            opts,
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn cross_origin_redirect_drops_credentials() {
    let first = MockServer::start().await;
    let second = MockServer::start().await;
    assert_ne!(origin(&first), origin(&second));
    let target = url(&second, "/elsewhere");
    // Same-origin hop first: it must still carry the token.
    Mock::given(path("/start"))
        .and(header_is("authorization", "Bearer canary-token"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/same"))
        .expect(1)
        .mount(&first)
        .await;
    Mock::given(path("/same"))
        .and(header_is("authorization", "Bearer canary-token"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", target.as_str()))
        .expect(1)
        .mount(&first)
        .await;
    Mock::given(path("/elsewhere"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", url(&first, "/back").as_str()),
        )
        .expect(1)
        .mount(&second)
        .await;
    // Back at the first origin after leaving it: still no credentials.
    Mock::given(path("/back"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&first)
        .await;

    let client = HttpClient::builder()
        .credentials(
            Credentials::bearer(Token::new("canary-token")),
            vec![
                origin(&first),
                Origin::parse("https://archive.eso.org").unwrap(),
            ],
        )
        .build()
        .unwrap();
    let mut req = request(Method::GET, &url(&first, "/start"), b"");
    req.headers_mut()
        .insert(header::COOKIE, "session=canary-cookie".parse().unwrap());
    let response = client.send(req, RequestOptions::default()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.url().path(), "/back");

    for request in second.received_requests().await.unwrap() {
        assert!(
            request.headers.get("authorization").is_none(),
            "{request:?}"
        );
        assert!(request.headers.get("cookie").is_none(), "{request:?}");
    }
    let back: Vec<_> = first
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|request| request.url.path() == "/back")
        .collect();
    assert_eq!(back.len(), 1);
    assert!(back[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn unbound_origin_gets_no_credentials() {
    let bound = MockServer::start().await;
    let other = MockServer::start().await;
    Mock::given(path("/links"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&other)
        .await;
    let client = HttpClient::builder()
        .credentials(
            Credentials::bearer(Token::new("canary-token")),
            vec![origin(&bound)],
        )
        .build()
        .unwrap();
    assert!(client.has_credentials_for(&url(&bound, "/x")));
    assert!(!client.has_credentials_for(&url(&other, "/x")));
    client.get(url(&other, "/links")).await.unwrap();
    let requests = other.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn credentials_never_go_over_plain_http_to_other_hosts() {
    // The check happens before anything is sent, so the host need not exist.
    let insecure = Url::parse("http://archive.example.invalid/tap_obs/sync").unwrap();
    let client = HttpClient::builder()
        .credentials(
            Credentials::bearer(Token::new("canary-token")),
            vec![Origin::from_url(&insecure).unwrap()],
        )
        .build()
        .unwrap();
    let err = client.get(insecure.clone()).await.unwrap_err();
    assert!(matches!(err, Error::InsecureCredentials { .. }), "{err:?}");
    assert!(err.to_string().contains("plain http"), "{err}");
    assert!(!format!("{err:?}").contains("canary"));

    // A caller-supplied Authorization header is refused the same way.
    let anonymous = HttpClient::anonymous().unwrap();
    let mut req = request(Method::GET, &insecure, b"");
    req.headers_mut().insert(
        header::AUTHORIZATION,
        "Bearer canary-token".parse().unwrap(),
    );
    let err = anonymous
        .send(req, RequestOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InsecureCredentials { .. }), "{err:?}");
}

#[tokio::test]
async fn retry_after_503_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(path("/tap_obs/sync"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/tap_obs/sync"))
        .respond_with(ResponseTemplate::new(200).set_body_string("rows"))
        .expect(1)
        .mount(&server)
        .await;
    let client = HttpClient::builder()
        .retry(fast_retries(3))
        .rng_seed(7)
        .build()
        .unwrap();
    let started = Instant::now();
    let response = client.get(url(&server, "/tap_obs/sync")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The backoff ceiling is 20 ms: only Retry-After explains a wait of a second.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn retry_after_beyond_the_budget_fails_fast() {
    let server = MockServer::start().await;
    Mock::given(path("/busy"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "100000"))
        .expect(1)
        .mount(&server)
        .await;
    let client = HttpClient::builder()
        .retry(fast_retries(3))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.get(url(&server, "/busy")).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    match &err {
        Error::RetryAfterTooLong { wait, .. } => assert_eq!(*wait, Duration::from_secs(100_000)),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("100000s"), "{err}");
}

#[tokio::test]
async fn retries_are_bounded_and_the_last_response_is_returned() {
    let server = MockServer::start().await;
    Mock::given(path("/down"))
        .respond_with(ResponseTemplate::new(502))
        .expect(3)
        .mount(&server)
        .await;
    let client = HttpClient::builder()
        .retry(fast_retries(2))
        .build()
        .unwrap();
    let response = client.get(url(&server, "/down")).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let err = response.error_for_status().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Status {
                status: StatusCode::BAD_GATEWAY,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn non_idempotent_post_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tap_obs/async"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let client = HttpClient::builder()
        .retry(fast_retries(3))
        .build()
        .unwrap();
    let job = request(
        Method::POST,
        &url(&server, "/tap_obs/async"),
        b"QUERY=SELECT+1",
    );
    let response = client.send(job, RequestOptions::default()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // The same POST marked idempotent (a sync query) is retried.
    let query = request(
        Method::POST,
        &url(&server, "/tap_obs/async"),
        b"QUERY=SELECT+1",
    );
    let response = client
        .send(query, RequestOptions::idempotent())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(server.received_requests().await.unwrap().len(), 1 + 4);
}

#[tokio::test]
async fn see_other_after_post_becomes_get() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/async"))
        .respond_with(ResponseTemplate::new(303).insert_header("location", "/async/job1"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/async/job1"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<job/>"))
        .expect(1)
        .mount(&server)
        .await;
    let client = HttpClient::anonymous().unwrap();
    let mut req = request(Method::POST, &url(&server, "/async"), b"QUERY=x");
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    let response = client.send(req, RequestOptions::default()).await.unwrap();
    assert_eq!(response.url().path(), "/async/job1");
    let requests = server.received_requests().await.unwrap();
    assert!(requests[1].body.is_empty());
    assert!(requests[1].headers.get("content-type").is_none());

    // Not following returns the 303 itself.
    Mock::given(method("POST"))
        .and(path("/nofollow"))
        .respond_with(ResponseTemplate::new(303).insert_header("location", "/async/job1"))
        .expect(1)
        .mount(&server)
        .await;
    let req = request(Method::POST, &url(&server, "/nofollow"), b"QUERY=x");
    let opts = RequestOptions {
        follow_redirects: false,
        ..RequestOptions::default()
    };
    let response = client.send(req, opts).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn redirect_loops_are_bounded() {
    let server = MockServer::start().await;
    Mock::given(path("/loop"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/loop"))
        .mount(&server)
        .await;
    let client = HttpClient::builder().max_redirects(3).build().unwrap();
    let err = client.get(url(&server, "/loop")).await.unwrap_err();
    assert!(
        matches!(err, Error::TooManyRedirects { max: 3, .. }),
        "{err:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn unauthorized_and_forbidden_tell_the_user_what_to_do() {
    let server = MockServer::start().await;
    Mock::given(path("/401"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(path("/403"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    Mock::given(path("/404"))
        .respond_with(ResponseTemplate::new(404).set_body_string("no such\nfile"))
        .mount(&server)
        .await;
    let client = HttpClient::anonymous().unwrap();
    let err = client
        .get(url(&server, "/401"))
        .await
        .unwrap()
        .error_for_status()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }));
    assert!(err.to_string().contains("run `eso login`"), "{err}");
    let err = client
        .get(url(&server, "/403"))
        .await
        .unwrap()
        .error_for_status()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("your account has no access to this file"),
        "{err}"
    );
    let err = client
        .get(url(&server, "/404"))
        .await
        .unwrap()
        .error_for_status()
        .await
        .unwrap_err();
    assert!(err.to_string().ends_with("no such file"), "{err}");
}

#[tokio::test]
async fn bodies_stream_and_limits_hold() {
    let server = MockServer::start().await;
    let body: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
    Mock::given(path("/big"))
        .respond_with(ResponseTemplate::new(200).set_body_string(body.clone()))
        .mount(&server)
        .await;
    let client = HttpClient::anonymous().unwrap();

    let err = client
        .get(url(&server, "/big"))
        .await
        .unwrap()
        .bytes_limited(1000)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { limit: 1000, .. }),
        "{err:?}"
    );

    let mut response = client.get(url(&server, "/big")).await.unwrap();
    let mut total = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        total += chunk.len();
    }
    assert_eq!(total, body.len());

    let response = client.get(url(&server, "/big")).await.unwrap();
    let reader = response.into_blocking_reader();
    let (lines, last) = tokio::task::spawn_blocking(move || {
        let mut count = 0;
        let mut last = String::new();
        for line in reader.lines() {
            last = line.unwrap();
            count += 1;
        }
        (count, last)
    })
    .await
    .unwrap();
    assert_eq!(lines, 20_000);
    assert_eq!(last, "line 19999");
}

#[tokio::test]
async fn download_client_asks_for_identity_encoding() {
    let server = MockServer::start().await;
    Mock::given(path("/file.fits.gz"))
        .and(header_is("accept-encoding", "identity"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .set_body_bytes(vec![0x1f, 0x8b, 0x08, 0x00]),
        )
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/api"))
        .and(header_exists("accept-encoding"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let api = HttpClient::anonymous().unwrap();
    let downloads = api.for_downloads().unwrap();
    let response = downloads.get(url(&server, "/file.fits.gz")).await.unwrap();
    // The stored bytes, not decompressed.
    let mut bytes = Vec::new();
    let reader = response.into_blocking_reader();
    let bytes = tokio::task::spawn_blocking(move || {
        let mut reader = reader;
        reader.read_to_end(&mut bytes).unwrap();
        bytes
    })
    .await
    .unwrap();
    assert_eq!(bytes, [0x1f, 0x8b, 0x08, 0x00]);
    let explicit = HttpClient::builder()
        .purpose(Purpose::Downloads)
        .build()
        .unwrap();
    assert_eq!(
        explicit
            .get(url(&server, "/file.fits.gz"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn connection_refused_is_a_connect_error_after_retries() {
    // Bind and drop a listener to find a port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = HttpClient::builder()
        .retry(fast_retries(2))
        .build()
        .unwrap();
    let err = client
        .get(Url::parse(&format!("http://127.0.0.1:{port}/x?password=canary")).unwrap())
        .await
        .unwrap_err();
    match &err {
        Error::Http { kind, .. } => assert_eq!(*kind, HttpErrorKind::Connect),
        other => panic!("{other:?}"),
    }
    let text = format!("{err} {err:?}");
    assert!(!text.contains("canary"), "{text}");
}
