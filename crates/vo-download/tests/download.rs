//! The downloader against a fault-injecting HTTP/1.1 server on loopback (RELIABILITY.md D,
//! R5, H1-H3). The server is written on a raw `TcpListener`, so every byte is under control:
//! truncated bodies, ignored ranges, changed files, hostile headers.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;
use vo_auth::http::HttpClient;
use vo_auth::retry::RetryConfig;
use vo_download::headers::{ByteRange, parse_range};
use vo_download::{
    DownloadConfig, DownloadRequest, Downloader, Error, Expect, Outcome, ProgressEvent,
    ProgressSink,
};

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: Vec<(String, String)>,
    at: Instant,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the server sends back. The connection is always closed after it.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Declared `Content-Length`; `None` means the body length.
    declared: Option<usize>,
    /// Pause before answering (to observe concurrency).
    delay: Duration,
    /// Send the body as one chunk of a chunked body; `false` in `.1` closes before the last
    /// chunk.
    chunked: Option<bool>,
}

impl Reply {
    fn new(status: u16, body: Vec<u8>) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body,
            declared: None,
            delay: Duration::ZERO,
            chunked: None,
        }
    }

    fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

type Handler = Arc<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

struct Server {
    base: Url,
    seen: Arc<Mutex<Vec<Seen>>>,
    max_active: Arc<AtomicUsize>,
}

impl Server {
    async fn start(handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Server {
        let counters = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        Server::start_counting(handler, counters).await
    }

    /// Like [`Server::start`], with connection counters shared between servers
    /// (`(active, max_active)`).
    async fn start_counting(
        handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static,
        (active, max_active): (Arc<AtomicUsize>, Arc<AtomicUsize>),
    ) -> Server {
        let handler: Handler = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (seen2, max2) = (seen.clone(), max_active.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (handler, seen, active, max_active) =
                    (handler.clone(), seen2.clone(), active.clone(), max2.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    let mut lines = text.split("\r\n");
                    let request_line = lines.next().unwrap_or("");
                    let path = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
                    let headers = lines
                        .take_while(|l| !l.is_empty())
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                        .collect();
                    let request = Seen {
                        path,
                        headers,
                        at: Instant::now(),
                    };
                    let index = {
                        let mut seen = seen.lock().unwrap();
                        seen.push(request.clone());
                        seen.len() - 1
                    };
                    let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                    max_active.fetch_max(now, Ordering::SeqCst);
                    let reply = handler(&request, index);
                    tokio::time::sleep(reply.delay).await;
                    let mut head = format!("HTTP/1.1 {} X\r\n", reply.status);
                    for (k, v) in &reply.headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    match reply.chunked {
                        Some(_) => {
                            head.push_str("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
                        }
                        None => head.push_str(&format!(
                            "Content-Length: {}\r\nConnection: close\r\n\r\n",
                            reply.declared.unwrap_or(reply.body.len())
                        )),
                    }
                    let _ = socket.write_all(head.as_bytes()).await;
                    match reply.chunked {
                        Some(complete) => {
                            if !reply.body.is_empty() {
                                let _ = socket
                                    .write_all(format!("{:x}\r\n", reply.body.len()).as_bytes())
                                    .await;
                                let _ = socket.write_all(&reply.body).await;
                                let _ = socket.write_all(b"\r\n").await;
                            }
                            if complete {
                                let _ = socket.write_all(b"0\r\n\r\n").await;
                            }
                        }
                        None => {
                            let _ = socket.write_all(&reply.body).await;
                        }
                    }
                    let _ = socket.flush().await;
                    active.fetch_sub(1, Ordering::SeqCst);
                    let _ = socket.shutdown().await;
                });
            }
        });
        Server {
            base,
            seen,
            max_active,
        }
    }

    fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap()
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Serves `content` like a well-behaved server: honours `Range` and a matching `If-Range`,
/// answers 416 past the end; `cut_at` closes the connection once the body reaches that
/// absolute offset (with the full `Content-Length` declared).
fn serve(
    request: &Seen,
    content: &[u8],
    etag: &str,
    honour_range: bool,
    cut_at: Option<usize>,
) -> Reply {
    let len = content.len();
    let range_ok = honour_range && request.header("If-Range").is_none_or(|v| v == etag);
    let start = match request.header("Range").and_then(parse_range) {
        Some(ByteRange::From { first, last: None }) if range_ok => Some(first as usize),
        _ => None,
    };
    let mut reply = match start {
        Some(start) if start >= len => {
            return Reply::new(416, Vec::new()).header("Content-Range", &format!("bytes */{len}"));
        }
        Some(start) => Reply::new(206, content[start..].to_vec())
            .header("Content-Range", &format!("bytes {start}-{}/{len}", len - 1)),
        None => Reply::new(200, content.to_vec()),
    };
    reply = reply
        .header("ETag", etag)
        .header("Content-Type", "application/octet-stream");
    if let Some(cut) = cut_at {
        let offset = start.unwrap_or(0);
        if cut > offset && cut < len {
            reply.declared = Some(reply.body.len());
            reply.body.truncate(cut - offset);
        }
    }
    reply
}

fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn sha(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_retries: 5,
        retry_timeout: Duration::from_secs(30),
        base: Duration::from_millis(5),
        cap: Duration::from_millis(20),
    }
}

fn downloader() -> Downloader {
    downloader_with(DownloadConfig::default())
}

fn downloader_with(config: DownloadConfig) -> Downloader {
    let client = HttpClient::builder()
        .retry(fast_retry())
        .proxies_from_env(false)
        .read_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    Downloader::new(client, config)
}

/// Names of the entries of `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The final file matches `expected` and nothing else is left in the directory.
fn assert_only_file(dir: &Path, path: &Path, expected: &[u8]) {
    assert_eq!(path.parent(), Some(dir));
    assert_eq!(
        sha(&std::fs::read(path).unwrap()),
        sha(expected),
        "content of {}",
        path.display()
    );
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(listing(dir), vec![name], "no .part or sidecar may be left");
}

#[tokio::test]
async fn dropped_connection_resumes_with_range_and_if_range() {
    let content = Arc::new(data(200_000, 1));
    let c = content.clone();
    let server =
        Server::start(move |req, i| serve(req, &c, "\"v1\"", true, (i == 0).then_some(100_000)))
            .await;
    let dir = tempfile::tempdir().unwrap();
    let done = downloader()
        .download(DownloadRequest::new(
            server.url("files/data.bin"),
            dir.path(),
        ))
        .await
        .unwrap();
    assert_eq!(done.status, Outcome::Resumed);
    assert_eq!(done.bytes, 200_000);
    assert_only_file(dir.path(), &done.path, &content);
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "exactly two GETs");
    assert_eq!(seen[0].header("Range"), None);
    assert_eq!(seen[1].header("Range"), Some("bytes=100000-"));
    assert_eq!(seen[1].header("If-Range"), Some("\"v1\""));
    assert_eq!(seen[1].header("Accept-Encoding"), Some("identity"));
}

#[tokio::test]
async fn breaks_at_30_60_90_percent_resume_from_the_committed_offset() {
    let content = Arc::new(data(100_000, 2));
    let c = content.clone();
    let cuts = [Some(30_000), Some(60_000), Some(90_000), None];
    let server =
        Server::start(move |req, i| serve(req, &c, "\"v1\"", true, cuts.get(i).copied().flatten()))
            .await;
    let dir = tempfile::tempdir().unwrap();
    let done = downloader()
        .download(DownloadRequest::new(server.url("f.bin"), dir.path()))
        .await
        .unwrap();
    assert_only_file(dir.path(), &done.path, &content);
    let ranges: Vec<Option<String>> = server
        .seen()
        .iter()
        .map(|s| s.header("Range").map(str::to_owned))
        .collect();
    assert_eq!(
        ranges,
        vec![
            None,
            Some("bytes=30000-".into()),
            Some("bytes=60000-".into()),
            Some("bytes=90000-".into())
        ]
    );
}

#[tokio::test]
async fn body_that_never_completes_is_incomplete_and_kept_for_resume() {
    let content = Arc::new(data(10_000, 3));
    let c = content.clone();
    // The first answer breaks off at byte 4000, later ones at once: no more progress.
    let server = Server::start(move |req, i| {
        let mut reply = serve(req, &c, "\"v1\"", true, Some(4000));
        if i > 0 {
            reply.declared = Some(reply.body.len());
            reply.body.clear();
        }
        reply
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = DownloadConfig {
        retry: Some(RetryConfig {
            max_retries: 2,
            ..fast_retry()
        }),
        ..DownloadConfig::default()
    };
    let err = downloader_with(config)
        .download(DownloadRequest::new(server.url("f.bin"), dir.path()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Incomplete {
                received: 4000,
                total: Some(10_000),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        listing(dir.path()),
        vec!["f.bin.part".to_owned(), "f.bin.part.json".to_owned()]
    );
    assert_eq!(
        std::fs::read(dir.path().join("f.bin.part")).unwrap(),
        content[..4000]
    );
    assert!(!dir.path().join("f.bin").exists(), "final name absent");

    // A later run with a healthy server resumes from the kept bytes.
    let c = content.clone();
    let healthy = Server::start(move |req, _| serve(req, &c, "\"v1\"", true, None)).await;
    // Same URL path on another port is another URL: rewrite the sidecar's URL as a user
    // moving to a mirror would not; instead check resume against the same server URL.
    let sidecar = dir.path().join("f.bin.part.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sidecar).unwrap()).unwrap();
    state["url"] = serde_json::Value::String(healthy.url("f.bin").to_string());
    std::fs::write(&sidecar, serde_json::to_vec(&state).unwrap()).unwrap();
    let done = downloader()
        .download(DownloadRequest::new(healthy.url("f.bin"), dir.path()))
        .await
        .unwrap();
    assert_eq!(done.status, Outcome::Resumed);
    assert_only_file(dir.path(), &done.path, &content);
    assert_eq!(healthy.seen()[0].header("Range"), Some("bytes=4000-"));
}

#[tokio::test]
async fn retry_after_503_is_honoured() {
    let content = Arc::new(data(5000, 4));
    let c = content.clone();
    let server = Server::start(move |req, i| {
        if i == 0 {
            Reply::new(503, b"busy".to_vec()).header("Retry-After", "1")
        } else {
            serve(req, &c, "\"v1\"", true, None)
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let done = downloader()
        .download(DownloadRequest::new(server.url("x.bin"), dir.path()))
        .await
        .unwrap();
    assert_only_file(dir.path(), &done.path, &content);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let waited = seen[1].at - seen[0].at;
    assert!(
        waited >= Duration::from_millis(900),
        "waited only {waited:?}"
    );
}

#[tokio::test]
async fn html_login_page_with_200_is_an_error_and_leaves_nothing() {
    let page = b"<!DOCTYPE html>\n<html><head><title>ESO Login</title></head><body>please log in</body></html>".to_vec();
    let server = Server::start(move |_, _| {
        Reply::new(200, page.clone()).header("Content-Type", "text/html")
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    for expect in [Expect::Data, Expect::Fits] {
        let request = DownloadRequest::new(server.url("file/ADP.1"), dir.path())
            .with_name("ADP.1")
            .with_expect(expect);
        let err = downloader().download(request).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Content {
                    source: vo_download::sniff::ContentError::Html,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
    }
}

#[tokio::test]
async fn hostile_content_disposition_lands_inside_with_a_safe_name() {
    let cases = [
        ("attachment; filename=\"../../x\"", "x"),
        ("attachment; filename=\"/etc/passwd\"", "passwd"),
        ("attachment; filename*=UTF-8''..%2F..%2F.bashrc", "_bashrc"),
        (
            "attachment; filename*=UTF-8''evil%01name%0A%E2%80%AE.fits",
            "evil_name__.fits",
        ),
        ("attachment; filename=\"..\\\\..\\\\win.txt\"", "win.txt"),
    ];
    for (header, expected_name) in cases {
        let header = header.to_owned();
        let server = Server::start(move |_, _| {
            Reply::new(200, b"payload".to_vec()).header("Content-Disposition", &header)
        })
        .await;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a").join("b");
        let done = downloader()
            .download(DownloadRequest::new(server.url("get?id=1"), &dir))
            .await
            .unwrap();
        assert_eq!(done.path, dir.join(expected_name));
        assert_only_file(&dir, &done.path, b"payload");
        assert_eq!(listing(root.path()), vec!["a".to_owned()]);
        assert_eq!(listing(&root.path().join("a")), vec!["b".to_owned()]);
    }
}

#[tokio::test]
async fn trusted_name_takes_only_the_suffix_from_the_server() {
    let server = Server::start(|_, _| {
        Reply::new(200, b"x".to_vec()).header(
            "Content-Disposition",
            "attachment; filename=\"../../other.fits.Z\"",
        )
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let request = DownloadRequest::new(server.url("file/ADP.2021-01-02T00:59:12.533"), dir.path())
        .with_name("ADP.2021-01-02T00:59:12.533");
    let done = downloader().download(request).await.unwrap();
    let expected = if cfg!(windows) {
        "ADP.2021-01-02T00_59_12.533.fits.Z"
    } else {
        "ADP.2021-01-02T00:59:12.533.fits.Z"
    };
    assert_eq!(done.path, dir.path().join(expected));
}

#[tokio::test]
async fn server_ignoring_range_restarts_instead_of_appending() {
    let content = Arc::new(data(50_000, 5));
    let c = content.clone();
    let server =
        Server::start(move |req, i| serve(req, &c, "\"v1\"", false, (i == 0).then_some(20_000)))
            .await;
    let dir = tempfile::tempdir().unwrap();
    let done = downloader()
        .download(DownloadRequest::new(server.url("r.bin"), dir.path()))
        .await
        .unwrap();
    assert_eq!(done.bytes, 50_000, "size is L, not N + L");
    assert_eq!(done.status, Outcome::Downloaded);
    assert_only_file(dir.path(), &done.path, &content);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].header("Range"), Some("bytes=20000-"));
}

#[tokio::test]
async fn file_changed_between_attempts_if_range_gives_the_new_file() {
    let old = Arc::new(data(40_000, 6));
    let new = Arc::new(data(45_000, 7));
    let (o, n) = (old.clone(), new.clone());
    let server = Server::start(move |req, i| {
        if i == 0 {
            serve(req, &o, "\"v1\"", true, Some(10_000))
        } else {
            serve(req, &n, "\"v2\"", true, None)
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let done = downloader()
        .download(DownloadRequest::new(server.url("c.bin"), dir.path()))
        .await
        .unwrap();
    assert_only_file(dir.path(), &done.path, &new);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].header("If-Range"), Some("\"v1\""));
}

#[tokio::test]
async fn changed_file_with_ignored_if_range_is_never_spliced() {
    // The server ignores If-Range and sends a 206 of the new version (new ETag, new length).
    let old = Arc::new(data(40_000, 8));
    let new = Arc::new(data(40_000, 9));
    let (o, n) = (old.clone(), new.clone());
    let server = Server::start(move |req, i| {
        let mut stripped = req.clone();
        stripped
            .headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("If-Range"));
        if i == 0 {
            serve(req, &o, "\"v1\"", true, Some(10_000))
        } else {
            serve(&stripped, &n, "\"v2\"", true, None)
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let done = downloader()
        .download(DownloadRequest::new(server.url("c.bin"), dir.path()))
        .await
        .unwrap();
    assert_only_file(dir.path(), &done.path, &new);
    let seen = server.seen();
    assert_eq!(seen.len(), 3, "206 rejected, then a fresh GET");
    assert_eq!(seen[2].header("Range"), None);
}

#[tokio::test]
async fn partial_content_at_the_wrong_offset_restarts() {
    let content = Arc::new(data(30_000, 10));
    let c = content.clone();
    let server = Server::start(move |req, i| {
        if i == 1 {
            // Claims to start 100 bytes early.
            let start = 10_000 - 100;
            return Reply::new(206, c[start..].to_vec())
                .header("Content-Range", &format!("bytes {start}-29999/30000"))
                .header("ETag", "\"v1\"");
        }
        serve(req, &c, "\"v1\"", true, (i == 0).then_some(10_000))
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let done = downloader()
        .download(DownloadRequest::new(server.url("w.bin"), dir.path()))
        .await
        .unwrap();
    assert_only_file(dir.path(), &done.path, &content);
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn range_not_satisfiable_for_a_complete_part_counts_as_done() {
    let content = Arc::new(data(12_345, 11));
    let c = content.clone();
    let server = Server::start(move |req, _| serve(req, &c, "\"v1\"", true, None)).await;
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("done.bin");
    std::fs::write(dir.path().join("done.bin.part"), &*content).unwrap();
    let state = serde_json::json!({"version": 1, "url": url.as_str(), "etag": "\"v1\"", "last_modified": null, "total": 12345});
    std::fs::write(dir.path().join("done.bin.part.json"), state.to_string()).unwrap();
    let done = downloader()
        .download(DownloadRequest::new(url, dir.path()))
        .await
        .unwrap();
    assert_eq!(done.status, Outcome::Resumed);
    assert_only_file(dir.path(), &done.path, &content);
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "one request, no body transfer");
    assert_eq!(seen[0].header("Range"), Some("bytes=12345-"));
}

#[tokio::test]
async fn oversized_part_restarts() {
    let content = Arc::new(data(1000, 12));
    let c = content.clone();
    let server = Server::start(move |req, _| serve(req, &c, "\"v1\"", true, None)).await;
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("big.bin");
    std::fs::write(dir.path().join("big.bin.part"), vec![7u8; 1500]).unwrap();
    let state = serde_json::json!({"version": 1, "url": url.as_str(), "etag": "\"v1\"", "last_modified": null, "total": null});
    std::fs::write(dir.path().join("big.bin.part.json"), state.to_string()).unwrap();
    let done = downloader()
        .download(DownloadRequest::new(url, dir.path()))
        .await
        .unwrap();
    assert_only_file(dir.path(), &done.path, &content);
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "416 then a fresh GET");
    assert_eq!(seen[1].header("Range"), None);
}

#[tokio::test]
async fn second_run_of_a_batch_sends_no_request() {
    let server = Server::start(|req, _| {
        let body = format!("content of {}", req.path).into_bytes();
        Reply::new(200, body).header(
            "Content-Disposition",
            "attachment; filename=\"server-name.fits\"",
        )
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let requests: Vec<DownloadRequest> = (0..5)
        .map(|i| {
            DownloadRequest::new(server.url(&format!("file/DP.{i}")), dir.path())
                .with_name(format!("DP.{i}"))
        })
        .collect();
    let d = downloader();
    let first = d.download_all(requests.clone(), None).await;
    assert!(
        first.all_ok(),
        "{:?}",
        first
            .failed()
            .map(|(_, e)| e.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(first.done().count(), 5);
    assert_eq!(server.seen().len(), 5);
    let expected: Vec<String> = (0..5).map(|i| format!("DP.{i}.fits")).collect();
    assert_eq!(listing(dir.path()), expected);
    let second = d.download_all(requests, None).await;
    assert_eq!(second.skipped().count(), 5);
    assert_eq!(server.seen().len(), 5, "zero GETs on the second run");
}

#[tokio::test]
async fn existing_different_file_is_left_untouched_unless_overwrite() {
    let server = Server::start(|_, _| Reply::new(200, b"new".to_vec())).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), b"mine").unwrap();
    let request = DownloadRequest::new(server.url("keep.txt"), dir.path());
    let done = downloader().download(request.clone()).await.unwrap();
    assert_eq!(done.status, Outcome::Skipped);
    assert_eq!(std::fs::read(dir.path().join("keep.txt")).unwrap(), b"mine");
    assert_eq!(server.seen().len(), 0);
    let done = downloader()
        .download(request.with_overwrite(true))
        .await
        .unwrap();
    assert_eq!(done.status, Outcome::Downloaded);
    assert_only_file(dir.path(), &done.path, b"new");
}

#[cfg(unix)]
#[tokio::test]
async fn symlink_planted_at_the_part_path_is_not_followed() {
    let server = Server::start(|_, _| Reply::new(200, b"attacker data".to_vec())).await;
    let root = tempfile::tempdir().unwrap();
    let victim = root.path().join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let dir = root.path().join("dest");
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(&victim, dir.join("x.bin.part")).unwrap();
    let err = downloader()
        .download(DownloadRequest::new(server.url("x.bin"), &dir))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotARegularFile { .. }), "{err:?}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(!dir.join("x.bin").exists());

    // Also with a sidecar that invites a resume into the link.
    let state = serde_json::json!({"version": 1, "url": server.url("x.bin").as_str(), "etag": null, "last_modified": null, "total": 100});
    std::fs::write(dir.join("x.bin.part.json"), state.to_string()).unwrap();
    let err = downloader()
        .download(DownloadRequest::new(server.url("x.bin"), &dir))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotARegularFile { .. }), "{err:?}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
}

#[tokio::test]
async fn sizes_are_verified() {
    let server = Server::start(|_, _| Reply::new(200, b"0123456789".to_vec())).await;
    let dir = tempfile::tempdir().unwrap();
    let request = DownloadRequest::new(server.url("s.bin"), dir.path()).with_expected_size(11);
    let err = downloader().download(request).await.unwrap_err();
    // D11: a size mismatch after a complete transfer is downloaded once more, then reported.
    let Error::Corrupt {
        attempts: 2,
        source,
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert!(
        matches!(
            **source,
            Error::SizeMismatch {
                what: "expected size",
                expected: 11,
                actual: 10,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.seen().len(), 2);
    assert!(listing(dir.path()).is_empty());

    let config = DownloadConfig {
        max_file_size: Some(5),
        ..DownloadConfig::default()
    };
    let err = downloader_with(config)
        .download(DownloadRequest::new(server.url("s.bin"), dir.path()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TooLarge { limit: 5, .. }), "{err:?}");
    assert!(listing(dir.path()).is_empty());
}

fn fits_file(data_bytes: usize) -> Vec<u8> {
    let cards = [
        "SIMPLE  =                    T",
        "BITPIX  =                    8",
        "NAXIS   =                    1",
    ];
    let mut out = Vec::new();
    for card in cards {
        out.extend(format!("{card:<80}").bytes());
    }
    out.extend(format!("{:<80}", format!("NAXIS1  = {data_bytes:>20}")).bytes());
    out.extend(format!("{:<80}", "END").bytes());
    out.resize(2880, b' ');
    out.extend(std::iter::repeat_n(1u8, data_bytes));
    out.resize(out.len().div_ceil(2880) * 2880, 0);
    out
}

#[tokio::test]
async fn fits_content_is_checked() {
    let good = fits_file(3000);
    let mut truncated = fits_file(3000);
    truncated.truncate(4000);
    let (g, t) = (good.clone(), truncated.clone());
    let server = Server::start(move |req, _| {
        let body = if req.path.contains("good") {
            g.clone()
        } else {
            t.clone()
        };
        Reply::new(200, body).header("Content-Type", "application/fits")
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let done = downloader()
        .download(
            DownloadRequest::new(server.url("good"), dir.path())
                .with_name("GOOD")
                .with_expect(Expect::Fits),
        )
        .await
        .unwrap();
    assert_eq!(done.path, dir.path().join("GOOD.fits"));
    assert_only_file(dir.path(), &done.path, &good);
    let err = downloader()
        .download(
            DownloadRequest::new(server.url("bad"), dir.path())
                .with_name("BAD")
                .with_expect(Expect::Fits),
        )
        .await
        .unwrap_err();
    let Error::Corrupt { source, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(
        matches!(
            **source,
            Error::Content {
                source: vo_download::sniff::ContentError::FitsTruncated { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(listing(dir.path()), vec!["GOOD.fits".to_owned()]);
    assert_eq!(server.seen().len(), 1 + 2, "one GET for GOOD, two for BAD");
}

fn compress_fixture() -> (Vec<u8>, Vec<u8>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/download/compress");
    let z = std::fs::read(dir.join("text_b16.Z")).unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(
        &mut vo_download::decompress::ZDecoder::new(&z[..], u64::MAX),
        &mut plain,
    )
    .unwrap();
    (z, plain)
}

#[tokio::test]
async fn decompression_writes_the_decoded_file_and_skips_next_time() {
    let (z, plain) = compress_fixture();
    let served = z.clone();
    let server = Server::start(move |_, _| {
        Reply::new(200, served.clone()).header(
            "Content-Disposition",
            "attachment; filename=\"ADP.9.fits.Z\"",
        )
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let request = DownloadRequest::new(server.url("file/ADP.9"), dir.path())
        .with_name("ADP.9")
        .with_decompress(true);
    let done = downloader().download(request.clone()).await.unwrap();
    assert_eq!(done.path, dir.path().join("ADP.9.fits"));
    assert_eq!(done.bytes, plain.len() as u64);
    assert_only_file(dir.path(), &done.path, &plain);
    let again = downloader().download(request).await.unwrap();
    assert_eq!(again.status, Outcome::Skipped);
    assert_eq!(again.path, dir.path().join("ADP.9.fits"));
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn decompression_bomb_is_stopped_and_the_original_kept() {
    let dir_fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/download/compress");
    let z = std::fs::read(dir_fixtures.join("zeros_b16.Z")).unwrap();
    let served = z.clone();
    let server = Server::start(move |_, _| Reply::new(200, served.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let config = DownloadConfig {
        max_decompressed_size: 10_000,
        ..DownloadConfig::default()
    };
    let request = DownloadRequest::new(server.url("zeros.Z"), dir.path()).with_decompress(true);
    let err = downloader_with(config).download(request).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decompress {
                source: vo_download::decompress::DecodeError::TooLarge { limit: 10_000 },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        listing(dir.path()),
        vec!["zeros.Z".to_owned()],
        "compressed original kept, partial output removed"
    );
    assert_eq!(std::fs::read(dir.path().join("zeros.Z")).unwrap(), z);
}

#[tokio::test]
async fn batch_continues_past_failures_and_respects_the_origin_cap() {
    let server = Server::start(|req, _| {
        let mut reply = if req.path.contains("missing") {
            Reply::new(404, b"no such file".to_vec())
        } else {
            Reply::new(200, format!("body {}", req.path).into_bytes())
        };
        reply.delay = Duration::from_millis(60);
        reply
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut requests: Vec<DownloadRequest> = (0..8)
        .map(|i| DownloadRequest::new(server.url(&format!("ok{i}.txt")), dir.path()))
        .collect();
    requests.insert(
        3,
        DownloadRequest::new(server.url("missing1.txt"), dir.path()),
    );
    requests.push(DownloadRequest::new(server.url("missing2.txt"), dir.path()));
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink_events = events.clone();
    let sink: ProgressSink = Arc::new(move |event| sink_events.lock().unwrap().push(event));
    let report = downloader().download_all(requests, Some(sink)).await;
    assert_eq!(report.items.len(), 10);
    assert_eq!(report.done().count(), 8);
    let failed: Vec<usize> = report.failed().map(|(item, _)| item.index).collect();
    assert_eq!(failed, vec![3, 9]);
    for (_, err) in report.failed() {
        assert!(err.to_string().contains("missing"), "{err}");
    }
    assert!(
        server.max_active.load(Ordering::SeqCst) <= 2,
        "per-origin cap of 2 exceeded"
    );
    assert_eq!(listing(dir.path()).len(), 8);
    let events = events.lock().unwrap();
    let finished = events
        .iter()
        .filter(|e| matches!(e, ProgressEvent::Finished { .. }))
        .count();
    assert_eq!(finished, 10);
    assert!(events.iter().any(|e| matches!(
        e,
        ProgressEvent::Started {
            id: 0,
            total: Some(_)
        }
    )));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ProgressEvent::Advanced { id: 0, bytes: 13 }))
    );
    assert!(events.iter().any(|e| matches!(
        e,
        ProgressEvent::Finished {
            id: 3,
            outcome: Err(_)
        }
    )));
}

#[tokio::test]
async fn download_and_same_file_twice_in_a_batch() {
    let server = Server::start(|_, _| {
        let mut reply = Reply::new(200, b"same".to_vec());
        reply.delay = Duration::from_millis(50);
        reply
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let request = DownloadRequest::new(server.url("twice.txt"), dir.path());
    let report = downloader()
        .download_all(vec![request.clone(), request], None)
        .await;
    // One downloads; the other either finds it busy or finds it done; never a corrupt file.
    assert!(report.items.iter().filter(|i| i.result.is_ok()).count() >= 1);
    for item in &report.items {
        if let Err(err) = &item.result {
            assert!(matches!(err, Error::Busy { .. }), "{err:?}");
        }
    }
    let path: PathBuf = dir.path().join("twice.txt");
    assert_only_file(dir.path(), &path, b"same");
}

#[tokio::test]
async fn chunked_body_closed_early_resumes() {
    let content = Arc::new(data(30_000, 13));
    let c = content.clone();
    let server = Server::start(move |req, i| {
        let mut reply = serve(req, &c, "\"v1\"", true, None);
        if i == 0 {
            // Chunked, no length, closed before the terminating chunk after 12000 bytes.
            reply.body.truncate(12_000);
            reply.chunked = Some(false);
        }
        reply
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let done = downloader()
        .download(DownloadRequest::new(server.url("ch.bin"), dir.path()))
        .await
        .unwrap();
    assert_only_file(dir.path(), &done.path, &content);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].header("Range"), Some("bytes=12000-"));
}

#[tokio::test]
async fn endless_body_without_length_stops_at_the_cap() {
    let server = Server::start(|_, _| {
        let mut reply = Reply::new(200, vec![b'x'; 100_000]);
        reply.chunked = Some(true);
        reply
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = DownloadConfig {
        max_file_size: Some(50_000),
        ..DownloadConfig::default()
    };
    let err = downloader_with(config)
        .download(DownloadRequest::new(server.url("endless"), dir.path()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { limit: 50_000, .. }),
        "{err:?}"
    );
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}

mod model {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        /// A random fault script (cut points per request, some answers ignoring Range): the
        /// final file always equals the source and the number of requests stays bounded.
        #[test]
        fn random_fault_scripts_end_with_the_exact_file(
            len in 1usize..60_000,
            cuts in proptest::collection::vec((0.0f64..1.0, any::<bool>()), 0..5),
        ) {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let content = Arc::new(data(len, len as u64));
                let c = content.clone();
                let script = cuts.clone();
                let server = Server::start(move |req, i| match script.get(i) {
                    Some(&(fraction, honour)) => {
                        let cut = ((c.len() as f64) * fraction) as usize;
                        serve(req, &c, "\"v1\"", honour, Some(cut))
                    }
                    None => serve(req, &c, "\"v1\"", true, None),
                })
                .await;
                let dir = tempfile::tempdir().unwrap();
                let config = DownloadConfig { retry: Some(RetryConfig { max_retries: 8, ..fast_retry() }), ..DownloadConfig::default() };
                let done = downloader_with(config).download(DownloadRequest::new(server.url("m.bin"), dir.path())).await.unwrap();
                assert_only_file(dir.path(), &done.path, &content);
                assert!(server.seen().len() <= cuts.len() + 1, "{} requests for {} faults", server.seen().len(), cuts.len());
            });
        }
    }
}

#[tokio::test]
async fn content_encoding_is_not_decoded_on_the_fly() {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(b"raw table rows\n").unwrap();
    let gz = encoder.finish().unwrap();
    let served = gz.clone();
    let server = Server::start(move |_, _| {
        Reply::new(200, served.clone()).header("Content-Encoding", "gzip")
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let done = downloader()
        .download(DownloadRequest::new(server.url("t.txt"), dir.path()))
        .await
        .unwrap();
    assert_eq!(
        done.bytes,
        gz.len() as u64,
        "size check uses the raw length"
    );
    assert_only_file(dir.path(), &done.path, &gz);
    assert_eq!(server.seen()[0].header("Accept-Encoding"), Some("identity"));
}

#[tokio::test]
async fn gzip_files_are_decompressed_when_asked() {
    use std::io::Write;
    let fits = fits_file(100);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&fits).unwrap();
    let gz = encoder.finish().unwrap();
    let server = Server::start(move |_, _| {
        Reply::new(200, gz.clone()).header("Content-Type", "application/gzip")
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let request = DownloadRequest::new(server.url("img.fits.gz"), dir.path())
        .with_expect(Expect::Fits)
        .with_decompress(true);
    let done = downloader().download(request).await.unwrap();
    assert_eq!(done.path, dir.path().join("img.fits"));
    assert_only_file(dir.path(), &done.path, &fits);
}

#[tokio::test]
async fn global_and_per_origin_caps_hold_across_origins() {
    let counters = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let slow = |req: &Seen, _| {
        let mut reply = Reply::new(200, req.path.clone().into_bytes());
        reply.delay = Duration::from_millis(40);
        reply
    };
    let a = Server::start_counting(slow, counters.clone()).await;
    let b = Server::start_counting(slow, counters.clone()).await;
    let c = Server::start_counting(slow, counters.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut requests = Vec::new();
    for i in 0..8 {
        for (tag, server) in [("a", &a), ("b", &b), ("c", &c)] {
            requests.push(DownloadRequest::new(
                server.url(&format!("{tag}{i}.txt")),
                dir.path(),
            ));
        }
    }
    let config = DownloadConfig {
        concurrency: 3,
        per_origin: 2,
        ..DownloadConfig::default()
    };
    let report = downloader_with(config).download_all(requests, None).await;
    assert!(report.all_ok());
    assert_eq!(listing(dir.path()).len(), 24);
    let overall = counters.1.load(Ordering::SeqCst);
    assert!(overall <= 3, "global cap exceeded: {overall}");
    assert!(overall >= 2, "files did not overlap at all: {overall}");
    // (The per-origin cap alone is checked in `batch_continues_past_failures_...`.)
}

// ---------------------------------------------------------------------------------------
// D11, Z5: verification failures after a complete transfer are downloaded once more.

fn fits_fixture(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/download/fits");
    std::fs::read(dir.join(name)).unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Serves `bodies[i]` to the i-th request (the last one to all later requests).
async fn serve_in_turn(bodies: Vec<Vec<u8>>) -> Server {
    Server::start(move |_, i| {
        let body = bodies[i.min(bodies.len() - 1)].clone();
        Reply::new(200, body).header("Content-Type", "application/fits")
    })
    .await
}

#[tokio::test]
async fn fits_with_a_flipped_byte_is_downloaded_again_once() {
    let good = fits_fixture("mef_checksum.fits");
    let bad = fits_fixture("mef_checksum_flipped.fits");
    assert_eq!(
        good.len(),
        bad.len(),
        "same size: only the checksum can tell"
    );
    let server = serve_in_turn(vec![bad, good.clone()]).await;
    let dir = tempfile::tempdir().unwrap();
    let done = downloader()
        .download(
            DownloadRequest::new(server.url("file/MEF"), dir.path())
                .with_name("MEF")
                .with_expect(Expect::Fits)
                .with_expected_size(good.len() as u64),
        )
        .await
        .unwrap();
    assert_eq!(done.status, Outcome::Downloaded);
    assert_only_file(dir.path(), &done.path, &good);
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "exactly two GETs");
    assert_eq!(
        seen[1].header("Range"),
        None,
        "the second download starts from 0"
    );
}

#[tokio::test]
async fn fits_that_always_arrives_corrupt_fails_and_leaves_nothing() {
    let bad = fits_fixture("mef_checksum_flipped.fits");
    let server = serve_in_turn(vec![bad]).await;
    let dir = tempfile::tempdir().unwrap();
    // Expect::Data: the checksum is verified for any file that is FITS.
    let err = downloader()
        .download(DownloadRequest::new(server.url("file/MEF"), dir.path()).with_name("MEF"))
        .await
        .unwrap_err();
    let Error::Corrupt {
        attempts: 2,
        source,
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert!(
        matches!(
            **source,
            Error::Content {
                source: vo_download::sniff::ContentError::DatasumMismatch { hdu: 1, .. },
                ..
            }
        ),
        "{err:?}"
    );
    let chain = format!(
        "{err}: {source}: {}",
        std::error::Error::source(&**source).unwrap()
    );
    assert!(chain.contains("hdu 1"), "{chain}");
    assert_eq!(server.seen().len(), 2);
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}

#[tokio::test]
async fn corrupt_fits_is_reported_at_once_when_retries_are_off() {
    let server = serve_in_turn(vec![fits_fixture("mef_checksum_flipped.fits")]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = DownloadConfig {
        retry_corrupt: false,
        ..DownloadConfig::default()
    };
    let err = downloader_with(config)
        .download(DownloadRequest::new(server.url("file/MEF"), dir.path()).with_name("MEF"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Content {
                source: vo_download::sniff::ContentError::DatasumMismatch { hdu: 1, .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.seen().len(), 1);
    assert!(listing(dir.path()).is_empty());
}

#[tokio::test]
async fn fits_without_checksums_and_html_are_not_downloaded_again() {
    let plain = fits_fixture("plain.fits");
    let server = Server::start(move |req, _| {
        if req.path.contains("login") {
            Reply::new(200, b"<!DOCTYPE html><html>login</html>".to_vec())
        } else {
            Reply::new(200, plain.clone())
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let done = downloader()
        .download(
            DownloadRequest::new(server.url("plain.fits"), dir.path()).with_expect(Expect::Fits),
        )
        .await
        .unwrap();
    assert_eq!(done.bytes, 5760);
    let err = downloader()
        .download(
            DownloadRequest::new(server.url("login.fits"), dir.path()).with_expect(Expect::Fits),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Content { .. }), "{err:?}");
    assert_eq!(
        server.seen().len(),
        2,
        "an html page is not a transfer error"
    );
}

#[tokio::test]
async fn corrupt_compressed_fits_is_downloaded_again_and_decompressed() {
    let good = fits_fixture("mef_checksum.fits");
    let bad = fits_fixture("mef_checksum_flipped.fits");
    let server = Server::start({
        let (good_gz, bad_gz) = (gzip(&good), gzip(&bad));
        move |_, i| {
            let body = if i == 0 {
                bad_gz.clone()
            } else {
                good_gz.clone()
            };
            Reply::new(200, body).header(
                "Content-Disposition",
                "attachment; filename=\"MEF.fits.gz\"",
            )
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let request = DownloadRequest::new(server.url("file/MEF"), dir.path())
        .with_name("MEF")
        .with_expect(Expect::Fits)
        .with_decompress(true);
    let done = downloader().download(request).await.unwrap();
    assert_eq!(done.path, dir.path().join("MEF.fits"));
    assert_only_file(dir.path(), &done.path, &good);
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn compressed_fits_that_always_decodes_corrupt_leaves_nothing() {
    let bad_gz = gzip(&fits_fixture("mef_checksum_flipped.fits"));
    let server = Server::start(move |_, _| {
        Reply::new(200, bad_gz.clone()).header(
            "Content-Disposition",
            "attachment; filename=\"MEF.fits.gz\"",
        )
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let request = DownloadRequest::new(server.url("file/MEF"), dir.path())
        .with_name("MEF")
        .with_expect(Expect::Fits)
        .with_decompress(true);
    let err = downloader().download(request).await.unwrap_err();
    let Error::Corrupt { source, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(
        matches!(
            **source,
            Error::DecompressedContent {
                source: vo_download::sniff::ContentError::DatasumMismatch { hdu: 1, .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.seen().len(), 2);
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}

// ---------------------------------------------------------------------------------------
// Z2: ratio guard.

fn compress_fixture_named(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/download/compress");
    std::fs::read(dir.join(name)).unwrap()
}

async fn decompress_bomb(
    name: &'static str,
    config: DownloadConfig,
) -> (
    Result<vo_download::Downloaded, Error>,
    tempfile::TempDir,
    Vec<u8>,
) {
    let z = compress_fixture_named(name);
    let served = z.clone();
    let server = Server::start(move |_, _| Reply::new(200, served.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let request = DownloadRequest::new(server.url(name), dir.path()).with_decompress(true);
    let result = downloader_with(config).download(request).await;
    assert_eq!(server.seen().len(), 1, "a bomb is not downloaded again");
    (result, dir, z)
}

#[tokio::test]
async fn decompression_ratio_guard_stops_z_and_gzip_of_zeros_below_the_size_cap() {
    for (name, ratio) in [
        ("zeros16m_b16.Z", None),
        ("zeros16m.gz", None),
        ("zeros16m.gz", Some(100)),
    ] {
        let mut config = DownloadConfig::default();
        if let Some(ratio) = ratio {
            config.max_decompression_ratio = Some(ratio);
        }
        let expected_ratio = config.max_decompression_ratio.unwrap();
        assert!(
            config.max_decompressed_size > 16 << 20,
            "the size cap alone would allow it"
        );
        let (result, dir, z) = decompress_bomb(name, config).await;
        let err = result.unwrap_err();
        let Error::Decompress {
            source:
                vo_download::decompress::DecodeError::RatioExceeded {
                    max_ratio,
                    input,
                    output,
                },
            ..
        } = err
        else {
            panic!("{name}: {err:?}");
        };
        assert_eq!(max_ratio, expected_ratio);
        assert!(
            output > 1 << 20 && output > input * max_ratio,
            "{input} -> {output}"
        );
        assert!(output < 16 << 20, "stopped before the end: {output}");
        assert_eq!(
            listing(dir.path()),
            vec![name.to_owned()],
            "original kept, partial output removed"
        );
        assert_eq!(std::fs::read(dir.path().join(name)).unwrap(), z);
    }
}

#[tokio::test]
async fn decompression_ratio_guard_can_be_switched_off() {
    let config = DownloadConfig {
        max_decompression_ratio: None,
        ..DownloadConfig::default()
    };
    let (result, dir, _) = decompress_bomb("zeros16m_b16.Z", config).await;
    let done = result.unwrap();
    assert_eq!(done.bytes, 16 << 20);
    assert_eq!(listing(dir.path()), vec!["zeros16m_b16".to_owned()]);
}

// ---------------------------------------------------------------------------------------
// D16: per-file manifest.

#[tokio::test]
async fn batch_manifest_lists_every_file_with_its_status() {
    let server = Server::start(|req, _| {
        if req.path.contains("missing") {
            Reply::new(404, b"no such file".to_vec())
        } else {
            Reply::new(200, format!("body {}", req.path).into_bytes())
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("present.txt"), b"already here").unwrap();
    let requests = vec![
        DownloadRequest::new(server.url("a.txt"), dir.path()),
        DownloadRequest::new(server.url("missing.txt"), dir.path()),
        DownloadRequest::new(server.url("present.txt"), dir.path()),
    ];
    let report = downloader().download_all(requests, None).await;
    let manifest: serde_json::Value = serde_json::from_str(&report.manifest_json()).unwrap();
    assert_eq!(manifest["version"], 1);
    assert_eq!(
        manifest["summary"],
        serde_json::json!({"total": 3, "downloaded": 1, "resumed": 0, "skipped": 1, "failed": 1})
    );
    let files = manifest["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[0]["status"], "downloaded");
    assert_eq!(files[0]["url"], server.url("a.txt").as_str());
    assert_eq!(files[0]["bytes"], 11);
    assert_eq!(
        files[0]["path"],
        dir.path().join("a.txt").display().to_string().as_str()
    );
    assert_eq!(files[0]["error"], serde_json::Value::Null);
    assert_eq!(files[1]["status"], "failed");
    assert_eq!(files[1]["path"], serde_json::Value::Null);
    assert!(
        files[1]["error"].as_str().unwrap().contains("missing.txt"),
        "{}",
        files[1]
    );
    assert_eq!(files[2]["status"], "skipped");
    assert_eq!(files[2]["bytes"], 12);

    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("manifest.json");
    report.write_manifest(&path).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        report.manifest_json()
    );
    assert_eq!(listing(out.path()), vec!["manifest.json".to_owned()]);
}
