//! The downloader: the only module that awaits the network or touches the file system.
//!
//! One file goes through these steps:
//!
//! 1. skip it if the final file (or its decompressed form) already exists, unless `overwrite`;
//! 2. find a `<final>.part` with a `<final>.part.json` sidecar for the same URL and resume it;
//! 3. GET (with `Range`/`If-Range` when resuming) through [`HttpClient`], which retries
//!    transient failures and honours `Retry-After`;
//! 4. decide with [`crate::resume::decide`]: append, write from 0, complete, or restart;
//! 5. stream the body into the `.part`, counting bytes; a broken body is resumed from the
//!    bytes on disk, with backoff from the shared retry policy;
//! 6. verify size and content (for FITS every HDU and its `DATASUM`/`CHECKSUM`), `fsync`,
//!    rename to the final name, `fsync` the directory;
//! 7. optionally decompress `.Z`/`.gz` into the final decompressed file (temporary file and
//!    rename, output capped in size and in ratio to the input), and verify it like step 6.
//!
//! If a complete transfer fails verification (step 6 or 7: size, FITS structure, checksum),
//! the file is deleted and the steps run once more from a fresh GET; a second failure is
//! [`Error::Corrupt`] and leaves nothing behind (RELIABILITY.md D11).

use crate::decompress::{self, Compression};
use crate::fits;
use crate::headers::{parse_content_range, parse_etag};
use crate::name::{self, ContentDisposition};
use crate::resume::{self, Decision, PartState, ResponseMeta};
use crate::sniff::{self, ContentError, ContentKind, Expect};
use crate::{Error, Result};
use ::http::header::{
    ACCEPT_ENCODING, CONTENT_DISPOSITION, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_RANGE,
    LAST_MODIFIED, RANGE,
};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;
use url::Url;
use vo_auth::http::{HttpClient, RequestOptions, Response};
use vo_auth::redact_url;
use vo_auth::retry::{self as retry_policy, AttemptState, Failure, RetryConfig};

/// How many bytes of the start of a body are sniffed for an HTML page.
const HEAD_BYTES: usize = 1024;
/// Header blocks read at most when checking a FITS header (2.88 MB).
const MAX_FITS_HEADER_BLOCKS: u64 = 1000;
/// Write buffer size.
const WRITE_BUFFER: usize = 256 * 1024;

/// Settings of a [`Downloader`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadConfig {
    /// Files downloaded at once by [`Downloader::download_all`] (default 4).
    pub concurrency: usize,
    /// Files downloaded at once from one origin (default 2).
    pub per_origin: usize,
    /// Largest file accepted, in bytes (default none).
    pub max_file_size: Option<u64>,
    /// Largest decompressed output, in bytes (default 64 GiB).
    pub max_decompressed_size: u64,
    /// Keep the compressed file after decompressing it (default false).
    pub keep_compressed: bool,
    /// Retry policy for resuming broken bodies; `None` uses the client's.
    pub retry: Option<RetryConfig>,
    /// Requests per file at most, whatever the progress (default 50).
    pub max_attempts: u32,
    /// Restarts from zero per file at most (default 3).
    pub max_restarts: u32,
    /// Largest ratio of decompressed to compressed bytes, checked after the first MiB of
    /// output (default 1000); `None` disables the check. The size cap still applies.
    pub max_decompression_ratio: Option<u64>,
    /// Download once more from zero when a complete file fails verification (size, FITS
    /// structure, `DATASUM`/`CHECKSUM`), default true; the failed file is deleted first.
    pub retry_corrupt: bool,
}

impl Default for DownloadConfig {
    fn default() -> Self {
        DownloadConfig {
            concurrency: 4,
            per_origin: 2,
            max_file_size: None,
            max_decompressed_size: 64 << 30,
            keep_compressed: false,
            retry: None,
            max_attempts: 50,
            max_restarts: 3,
            max_decompression_ratio: Some(1000),
            retry_corrupt: true,
        }
    }
}

/// One file to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadRequest {
    /// Where to get it.
    pub url: Url,
    /// The target directory (created if missing).
    pub dir: PathBuf,
    /// A trusted base name (for example an ESO `dp_id`); the server only picks the suffix.
    pub name: Option<String>,
    /// The size announced by the archive (`access_estsize`, `content_length`), checked when known.
    pub expected_size: Option<u64>,
    /// What the content must be.
    pub expect: Expect,
    /// Decompress `.Z`/`.gz` files after download.
    pub decompress: bool,
    /// Download again even if the file exists.
    pub overwrite: bool,
}

impl DownloadRequest {
    /// A request for `url` into `dir` with defaults: no trusted name, [`Expect::Data`], no
    /// decompression, no overwrite.
    pub fn new(url: Url, dir: impl Into<PathBuf>) -> Self {
        DownloadRequest {
            url,
            dir: dir.into(),
            name: None,
            expected_size: None,
            expect: Expect::default(),
            decompress: false,
            overwrite: false,
        }
    }

    /// Sets the trusted base name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the expected size.
    pub fn with_expected_size(mut self, size: u64) -> Self {
        self.expected_size = Some(size);
        self
    }

    /// Sets what the content must be.
    pub fn with_expect(mut self, expect: Expect) -> Self {
        self.expect = expect;
        self
    }

    /// Asks for decompression of `.Z`/`.gz` files.
    pub fn with_decompress(mut self, decompress: bool) -> Self {
        self.decompress = decompress;
        self
    }

    /// Asks to download again even if the file exists.
    pub fn with_overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }
}

/// How a file was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// Downloaded in full in this run.
    Downloaded,
    /// Already present and complete: nothing was transferred.
    Skipped,
    /// Completed from a partial download (a `.part` of an earlier attempt or run).
    Resumed,
}

/// A file on disk, complete and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// Its path (the decompressed file if decompression was asked for).
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// How it was obtained.
    pub status: Outcome,
}

/// Progress of the files of a batch; `id` is the index of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// A transfer started (or restarted); `total` is the complete size if known.
    Started {
        /// Request index.
        id: usize,
        /// Complete size in bytes, if known.
        total: Option<u64>,
    },
    /// Bytes arrived: `bytes` is how much of the file is on disk now (not a delta; it can go
    /// down after a restart).
    Advanced {
        /// Request index.
        id: usize,
        /// Bytes on disk.
        bytes: u64,
    },
    /// The file is done: the outcome, or the error message.
    Finished {
        /// Request index.
        id: usize,
        /// The outcome, or the error as text.
        outcome: std::result::Result<Outcome, String>,
    },
}

/// Receives [`ProgressEvent`]s; called from download tasks, so it must be quick.
pub type ProgressSink = Arc<dyn Fn(ProgressEvent) + Send + Sync>;

/// The result of one request of a batch.
#[derive(Debug)]
pub struct BatchItem {
    /// Index of the request in the batch.
    pub index: usize,
    /// The requested URL (redacted for display).
    pub url: Url,
    /// The result.
    pub result: Result<Downloaded>,
}

/// What [`Downloader::download_all`] did, in request order.
#[derive(Debug, Default)]
pub struct BatchReport {
    /// One item per request, in request order.
    pub items: Vec<BatchItem>,
}

impl BatchReport {
    /// Files transferred in this run (in full or resumed).
    pub fn done(&self) -> impl Iterator<Item = &Downloaded> {
        self.items
            .iter()
            .filter_map(|item| item.result.as_ref().ok())
            .filter(|d| d.status != Outcome::Skipped)
    }

    /// Files that were already present.
    pub fn skipped(&self) -> impl Iterator<Item = &Downloaded> {
        self.items
            .iter()
            .filter_map(|item| item.result.as_ref().ok())
            .filter(|d| d.status == Outcome::Skipped)
    }

    /// Requests that failed, with their errors.
    pub fn failed(&self) -> impl Iterator<Item = (&BatchItem, &Error)> {
        self.items
            .iter()
            .filter_map(|item| item.result.as_ref().err().map(|e| (item, e)))
    }

    /// Whether every request succeeded (downloaded or skipped).
    pub fn all_ok(&self) -> bool {
        self.items.iter().all(|item| item.result.is_ok())
    }

    /// One [`ManifestEntry`] per request, in request order.
    pub fn manifest(&self) -> Vec<ManifestEntry> {
        self.items
            .iter()
            .map(|item| match &item.result {
                Ok(done) => ManifestEntry {
                    index: item.index,
                    url: item.url.to_string(),
                    path: Some(done.path.display().to_string()),
                    bytes: Some(done.bytes),
                    status: match done.status {
                        Outcome::Downloaded => "downloaded",
                        Outcome::Resumed => "resumed",
                        Outcome::Skipped => "skipped",
                    },
                    error: None,
                },
                Err(err) => ManifestEntry {
                    index: item.index,
                    url: item.url.to_string(),
                    path: None,
                    bytes: None,
                    status: "failed",
                    error: Some(error_chain(err)),
                },
            })
            .collect()
    }

    /// The per-file result manifest as pretty-printed JSON (RELIABILITY.md D16):
    ///
    /// ```json
    /// {"version": 1,
    ///  "summary": {"total": 3, "downloaded": 1, "resumed": 0, "skipped": 1, "failed": 1},
    ///  "files": [{"index": 0, "url": "https://...", "path": "data/a.fits", "bytes": 5760,
    ///             "status": "downloaded", "error": null}, ...]}
    /// ```
    ///
    /// `status` is `downloaded`, `resumed`, `skipped` or `failed`; `error` is the error with
    /// its causes on one line. URLs are redacted like everywhere else.
    pub fn manifest_json(&self) -> String {
        let files = self.manifest();
        let count = |status: &str| files.iter().filter(|f| f.status == status).count();
        let value = serde_json::json!({
            "version": 1,
            "summary": {
                "total": files.len(),
                "downloaded": count("downloaded"),
                "resumed": count("resumed"),
                "skipped": count("skipped"),
                "failed": count("failed"),
            },
            "files": files,
        });
        format!("{value:#}\n")
    }

    /// Writes [`BatchReport::manifest_json`] to `path` through a temporary file and a rename.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn write_manifest(&self, path: &Path) -> Result<()> {
        let mut tmp_name = path.as_os_str().to_owned();
        tmp_name.push(".tmp");
        let tmp = PathBuf::from(tmp_name);
        remove_if_file(&tmp)?;
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| io_err("create", &tmp, e))?;
        file.write_all(self.manifest_json().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| io_err("write", &tmp, e))?;
        drop(file);
        fs::rename(&tmp, path).map_err(|e| io_err("rename", &tmp, e))
    }
}

/// One line of the batch manifest ([`BatchReport::manifest`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ManifestEntry {
    /// Index of the request in the batch.
    pub index: usize,
    /// The requested URL (redacted).
    pub url: String,
    /// Where the file is, if it is on disk.
    pub path: Option<String>,
    /// Its size in bytes, if it is on disk.
    pub bytes: Option<u64>,
    /// `downloaded`, `resumed`, `skipped` or `failed`.
    pub status: &'static str,
    /// The error with its causes, for a failed file.
    pub error: Option<String>,
}

/// Downloads files safely; cheap to clone.
#[derive(Clone)]
pub struct Downloader {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Downloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Downloader")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

struct Inner {
    client: HttpClient,
    config: DownloadConfig,
    active: Mutex<HashSet<PathBuf>>,
}

/// Removes a final path from the set of active downloads when dropped.
struct Claim {
    inner: Arc<Inner>,
    path: PathBuf,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut active = self.inner.active.lock().unwrap_or_else(|p| p.into_inner());
        active.remove(&self.path);
    }
}

/// How a body transfer ended.
enum StreamEnd {
    /// The body ended at the expected length (or, with no known length, at EOF).
    Complete,
    /// The body broke off (transport error or EOF before the length).
    Broken(Option<vo_auth::Error>),
}

impl Downloader {
    /// A downloader using `client` (switched to its download flavour: no automatic
    /// decompression, `Accept-Encoding: identity`).
    pub fn new(client: HttpClient, config: DownloadConfig) -> Self {
        let client = match client.for_downloads() {
            Ok(download_client) => download_client,
            Err(err) => {
                tracing::warn!(error = %err, "cannot build the download flavour of the http client; using it as is");
                client
            }
        };
        Downloader {
            inner: Arc::new(Inner {
                client,
                config,
                active: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DownloadConfig {
        &self.inner.config
    }

    /// Downloads one file.
    ///
    /// # Errors
    /// Any [`Error`]: HTTP failures after retries, unusable names, local I/O errors, size or
    /// content mismatches, decompression errors. A `.part` file is kept only when a later
    /// run can resume it (the body broke off); otherwise nothing is left behind.
    pub async fn download(&self, request: DownloadRequest) -> Result<Downloaded> {
        self.download_with_progress(request, 0, None).await
    }

    /// Downloads one file, reporting progress under `id`.
    ///
    /// # Errors
    /// As [`Downloader::download`].
    pub async fn download_with_progress(
        &self,
        request: DownloadRequest,
        id: usize,
        progress: Option<&ProgressSink>,
    ) -> Result<Downloaded> {
        let span = tracing::info_span!("download", url = %redact_url(&request.url), id);
        let result =
            tracing::Instrument::instrument(self.run_verified(&request, id, progress), span).await;
        if let Some(sink) = progress {
            let outcome = match &result {
                Ok(done) => Ok(done.status),
                Err(err) => Err(error_chain(err)),
            };
            sink(ProgressEvent::Finished { id, outcome });
        }
        result
    }

    /// Downloads many files, `concurrency` at once and at most `per_origin` per origin.
    /// A failed file does not stop the others.
    pub async fn download_all(
        &self,
        requests: Vec<DownloadRequest>,
        progress: Option<ProgressSink>,
    ) -> BatchReport {
        let global = Arc::new(Semaphore::new(self.inner.config.concurrency.max(1)));
        let mut per_origin: HashMap<String, Arc<Semaphore>> = HashMap::new();
        let mut tasks = tokio::task::JoinSet::new();
        let mut urls = Vec::with_capacity(requests.len());
        for (index, request) in requests.into_iter().enumerate() {
            urls.push(redact_url(&request.url));
            let origin_key = request.url.origin().ascii_serialization();
            let origin_limit = per_origin
                .entry(origin_key)
                .or_insert_with(|| Arc::new(Semaphore::new(self.inner.config.per_origin.max(1))))
                .clone();
            let global = global.clone();
            let downloader = self.clone();
            let progress = progress.clone();
            tasks.spawn(async move {
                // Origin first, so that a task waiting for a busy origin holds no global slot.
                let result = match origin_limit.acquire_owned().await {
                    Ok(_origin_permit) => match global.acquire_owned().await {
                        Ok(_global_permit) => {
                            downloader
                                .download_with_progress(request, index, progress.as_ref())
                                .await
                        }
                        Err(_) => Err(Error::Task {
                            reason: "semaphore closed".into(),
                        }),
                    },
                    Err(_) => Err(Error::Task {
                        reason: "semaphore closed".into(),
                    }),
                };
                (index, result)
            });
        }
        let mut results: Vec<Option<Result<Downloaded>>> = (0..urls.len()).map(|_| None).collect();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((index, result)) => {
                    if let Some(slot) = results.get_mut(index) {
                        *slot = Some(result);
                    }
                }
                Err(err) => {
                    tracing::error!(error = %err, "download task panicked or was cancelled")
                }
            }
        }
        let items = results
            .into_iter()
            .zip(urls)
            .enumerate()
            .map(|(index, (result, url))| BatchItem {
                index,
                url,
                result: result.unwrap_or_else(|| {
                    Err(Error::Task {
                        reason: "task did not finish".into(),
                    })
                }),
            })
            .collect();
        BatchReport { items }
    }

    /// Runs one download; if a complete transfer fails verification, deletes it and downloads
    /// once more from zero (RELIABILITY.md D11).
    async fn run_verified(
        &self,
        request: &DownloadRequest,
        id: usize,
        progress: Option<&ProgressSink>,
    ) -> Result<Downloaded> {
        let mut transferred = false;
        let first = self.run(request, id, progress, &mut transferred).await;
        let first_err = match first {
            Err(err) if transferred && self.inner.config.retry_corrupt && is_corruption(&err) => {
                err
            }
            other => return other,
        };
        let shown_url = redact_url(&request.url);
        tracing::warn!(url = %shown_url, error = %error_chain(&first_err), "complete file failed verification; deleted, downloading again from the start");
        let mut again = false;
        match self.run(request, id, progress, &mut again).await {
            Err(second) if is_corruption(&second) => Err(Error::Corrupt {
                url: shown_url,
                attempts: 2,
                source: Box::new(second),
            }),
            other => other,
        }
    }

    fn claim(&self, path: &Path) -> Result<Claim> {
        let mut active = self.inner.active.lock().unwrap_or_else(|p| p.into_inner());
        if !active.insert(path.to_path_buf()) {
            return Err(Error::Busy {
                path: path.to_path_buf(),
            });
        }
        Ok(Claim {
            inner: self.inner.clone(),
            path: path.to_path_buf(),
        })
    }

    fn retry_config(&self) -> RetryConfig {
        self.inner
            .config
            .retry
            .unwrap_or_else(|| self.inner.client.retry_config())
    }

    /// One download attempt; sets `transferred` once a response to a GET has arrived.
    async fn run(
        &self,
        request: &DownloadRequest,
        id: usize,
        progress: Option<&ProgressSink>,
        transferred: &mut bool,
    ) -> Result<Downloaded> {
        let url = &request.url;
        let shown_url = redact_url(url);
        let dir = request.dir.clone();
        fs::create_dir_all(&dir).map_err(|source| io_err("create directory", &dir, source))?;
        let base = base_name(request);

        if !request.overwrite {
            if let Some(base) = base
                .as_deref()
                .filter(|_| request.name.is_some() || url.query().is_none())
            {
                if let Some(done) = self.existing(request, base).await? {
                    return Ok(done);
                }
            }
        }

        // A `.part` with a sidecar for this URL from an earlier run?
        let mut final_name: Option<String> = None;
        let mut state: Option<PartState> = None;
        if let Some(base) = base.as_deref() {
            for candidate in name::candidate_names(base) {
                let sidecar = dir.join(format!("{candidate}.part.json"));
                if let Some(stored) = read_state(&sidecar) {
                    if stored.url == url.as_str() {
                        final_name = Some(candidate);
                        state = Some(stored);
                        break;
                    }
                }
            }
        }
        let mut claim = match &final_name {
            Some(name) => Some(self.claim(&dir.join(name))?),
            None => None,
        };

        let retry = self.retry_config();
        let started = tokio::time::Instant::now();
        let mut attempts = 0u32;
        let mut restarts = 0u32;
        let mut retries_without_progress = 0u32;
        let mut resumed = false;
        let total: Option<u64>;
        loop {
            attempts += 1;
            let local_len = match &final_name {
                Some(name) => part_len(&dir.join(format!("{name}.part")))?,
                None => 0,
            };
            if attempts > self.inner.config.max_attempts {
                return Err(Error::Incomplete {
                    url: shown_url,
                    received: local_len,
                    total: state.as_ref().and_then(|s| s.total),
                    attempts: attempts - 1,
                });
            }
            let plan = resume::plan_request(local_len, state.as_ref(), url.as_str());
            let mut builder =
                ::http::Request::get(url.as_str()).header(ACCEPT_ENCODING, "identity");
            if let Some(range) = &plan.range {
                builder = builder.header(RANGE, range.as_str());
                if let Some(if_range) = &plan.if_range {
                    builder = builder.header(IF_RANGE, if_range.as_str());
                }
            }
            let http_request = builder.body(Vec::new()).map_err(|err| Error::Http {
                url: shown_url.clone(),
                source: Box::new(vo_auth::Error::InvalidRequest {
                    reason: err.to_string(),
                }),
            })?;
            tracing::debug!(url = %shown_url, range = ?plan.range, attempt = attempts, "requesting");
            let mut response = self
                .inner
                .client
                .send(http_request, RequestOptions::idempotent())
                .await
                .map_err(|source| Error::Http {
                    url: shown_url.clone(),
                    source: Box::new(source),
                })?;
            *transferred = true;
            let status = response.status().as_u16();
            if status >= 400 && status != 416 {
                let err = match response.error_for_status().await {
                    Err(source) => Error::Http {
                        url: shown_url.clone(),
                        source: Box::new(source),
                    },
                    Ok(_) => Error::UnexpectedStatus {
                        url: shown_url.clone(),
                        status,
                    },
                };
                return Err(err);
            }
            let meta = response_meta(&response);

            if final_name.is_none() {
                let disposition = response
                    .headers()
                    .get(CONTENT_DISPOSITION)
                    .and_then(|v| name::parse_content_disposition(v.as_bytes()));
                let content_type = response
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok());
                let chosen = choose_name(request, disposition.as_ref(), content_type)?;
                let final_path = dir.join(&chosen);
                if fs::symlink_metadata(&final_path).is_ok() {
                    match fs::metadata(&final_path) {
                        Ok(meta) if meta.is_file() => {
                            if !request.overwrite {
                                drop(response);
                                return Ok(skipped(final_path, &meta));
                            }
                        }
                        _ => return Err(Error::NotARegularFile { path: final_path }),
                    }
                }
                claim = Some(self.claim(&final_path)?);
                final_name = Some(chosen);
            }
            let Some(final_name_ref) = final_name.clone() else {
                return Err(Error::Task {
                    reason: "no file name".into(),
                });
            };
            let part = dir.join(format!("{final_name_ref}.part"));
            let sidecar = dir.join(format!("{final_name_ref}.part.json"));

            let requested = plan.range.as_ref().map(|_| local_len);
            match resume::decide(requested, local_len, state.as_ref(), &meta) {
                Decision::Restart { reason } => {
                    tracing::info!(url = %shown_url, reason, "restarting download from zero");
                    drop(response);
                    remove_part(&part, &sidecar)?;
                    state = None;
                    restarts += 1;
                    if restarts > self.inner.config.max_restarts {
                        return Err(Error::TooManyRestarts {
                            url: shown_url,
                            restarts,
                            reason,
                        });
                    }
                }
                Decision::Fail { status } => {
                    return Err(Error::UnexpectedStatus {
                        url: shown_url,
                        status,
                    });
                }
                Decision::Complete { total: complete } => {
                    tracing::debug!(url = %shown_url, "server reports the partial file complete");
                    emit(
                        progress,
                        ProgressEvent::Started {
                            id,
                            total: Some(complete),
                        },
                    );
                    resumed = true;
                    total = Some(complete);
                    break;
                }
                decision @ (Decision::WriteFromStart { .. } | Decision::Append { .. }) => {
                    let (offset, expected_total) = match decision {
                        Decision::Append { offset, total } => (offset, Some(total)),
                        Decision::WriteFromStart { total } => (0, total),
                        _ => (0, None),
                    };
                    if let (Some(limit), Some(t)) =
                        (self.inner.config.max_file_size, expected_total)
                    {
                        if t > limit {
                            drop(response);
                            remove_part(&part, &sidecar)?;
                            return Err(Error::TooLarge {
                                url: shown_url,
                                limit,
                            });
                        }
                    }
                    if offset == 0 {
                        state = Some(PartState::new(url.as_str(), &meta));
                    } else {
                        resumed = true;
                    }
                    if let Some(current) = &state {
                        write_state(&sidecar, current)?;
                    }
                    let mut file = if offset == 0 {
                        create_part(&part)?
                    } else {
                        open_part_append(&part, offset)?
                    };
                    emit(
                        progress,
                        ProgressEvent::Started {
                            id,
                            total: expected_total,
                        },
                    );
                    let end = self
                        .stream_body(
                            &mut response,
                            &mut file,
                            &part,
                            offset,
                            expected_total,
                            request,
                            id,
                            progress,
                        )
                        .await;
                    let end = match end {
                        Ok(end) => end,
                        Err(err) => {
                            drop(file);
                            // A rejected body (HTML, too large) leaves nothing behind.
                            if matches!(
                                err,
                                Error::Content { .. }
                                    | Error::TooLarge { .. }
                                    | Error::SizeMismatch { .. }
                            ) {
                                remove_part(&part, &sidecar)?;
                            }
                            return Err(err);
                        }
                    };
                    let now_len = part_len(&part)?;
                    match end {
                        StreamEnd::Complete => {
                            total = expected_total.or(Some(now_len));
                            break;
                        }
                        StreamEnd::Broken(cause) => {
                            if now_len > local_len || offset == 0 && now_len > 0 {
                                retries_without_progress = 0;
                            }
                            let kind = match &cause {
                                Some(vo_auth::Error::Http { kind, .. }) => format!("{kind}"),
                                Some(other) => other.to_string(),
                                None => "connection closed early".to_owned(),
                            };
                            let state_for_policy = AttemptState {
                                failure: Failure::Transport(vo_auth::HttpErrorKind::Reset),
                                idempotent: true,
                                retries_done: retries_without_progress,
                                elapsed: started.elapsed(),
                                retry_after: None,
                            };
                            let decision = {
                                let mut rng = rand::rng();
                                retry_policy::decide(&retry, &state_for_policy, &mut rng)
                            };
                            match decision {
                                retry_policy::Decision::RetryAfter(sleep) => {
                                    tracing::info!(url = %shown_url, received = now_len, cause = %kind, sleep_ms = sleep.as_millis() as u64, "body broke off; resuming");
                                    retries_without_progress += 1;
                                    tokio::time::sleep(sleep).await;
                                }
                                retry_policy::Decision::GiveUp(_) => {
                                    return Err(Error::Incomplete {
                                        url: shown_url,
                                        received: now_len,
                                        total: expected_total,
                                        attempts,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }

        let Some(final_name) = final_name else {
            return Err(Error::Task {
                reason: "no file name".into(),
            });
        };
        let part = dir.join(format!("{final_name}.part"));
        let sidecar = dir.join(format!("{final_name}.part.json"));
        let final_path = dir.join(&final_name);
        let received = part_len(&part)?;
        if let Err(err) = check_sizes(&shown_url, received, total, request.expected_size) {
            remove_part(&part, &sidecar)?;
            return Err(err);
        }
        let expect = request.expect;
        let part_for_check = part.clone();
        let verified = blocking(move || verify_file(&part_for_check, expect)).await?;
        if let Err(source) = verified {
            remove_part(&part, &sidecar)?;
            return Err(Error::Content {
                url: shown_url,
                source,
            });
        }
        commit(&part, &final_path).await?;
        remove_if_file(&sidecar)?;
        drop(claim);
        let status = if resumed {
            Outcome::Resumed
        } else {
            Outcome::Downloaded
        };
        let mut done = Downloaded {
            path: final_path,
            bytes: received,
            status,
        };
        if request.decompress {
            done = self.decompress_downloaded(done, request).await?;
        }
        Ok(done)
    }

    /// Streams the body into `file` starting at `offset`.
    #[allow(clippy::too_many_arguments)]
    async fn stream_body(
        &self,
        response: &mut Response,
        file: &mut tokio::fs::File,
        part: &Path,
        offset: u64,
        total: Option<u64>,
        request: &DownloadRequest,
        id: usize,
        progress: Option<&ProgressSink>,
    ) -> Result<StreamEnd> {
        let shown_url = redact_url(&request.url);
        let mut writer = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut written = offset;
        let mut head: Vec<u8> = Vec::new();
        let mut head_checked = offset > 0 || request.expect == Expect::Any;
        let limit = self.inner.config.max_file_size;
        let write_err = |source| io_err("write", part, source);
        let end = loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => {
                    if total.is_some_and(|t| written < t) {
                        break StreamEnd::Broken(None);
                    }
                    break StreamEnd::Complete;
                }
                Err(err) => break StreamEnd::Broken(Some(err)),
            };
            if !head_checked {
                head.extend_from_slice(&chunk[..chunk.len().min(HEAD_BYTES)]);
                if head.len() >= HEAD_BYTES {
                    check_html(&shown_url, &head, request.expect)?;
                    head_checked = true;
                }
            }
            written += chunk.len() as u64;
            if let Some(t) = total.filter(|&t| written > t) {
                return Err(Error::SizeMismatch {
                    url: shown_url,
                    what: "content-length",
                    expected: t,
                    actual: written,
                });
            }
            if let Some(limit) = limit.filter(|&l| written > l) {
                return Err(Error::TooLarge {
                    url: shown_url,
                    limit,
                });
            }
            writer.write_all(&chunk).await.map_err(write_err)?;
            emit(progress, ProgressEvent::Advanced { id, bytes: written });
        };
        if !head_checked && matches!(end, StreamEnd::Complete) {
            check_html(&shown_url, &head, request.expect)?;
        }
        writer.flush().await.map_err(write_err)?;
        writer
            .get_mut()
            .sync_data()
            .await
            .map_err(|source| io_err("sync", part, source))?;
        Ok(end)
    }

    /// Looks for a complete file under the candidate names; decompresses it if asked and only
    /// the compressed form is present.
    async fn existing(&self, request: &DownloadRequest, base: &str) -> Result<Option<Downloaded>> {
        let dir = &request.dir;
        let present: Vec<(String, fs::Metadata)> = name::candidate_names(base)
            .into_iter()
            .filter_map(|candidate| {
                // A regular file, or a link to one the user made, counts as present;
                // directories and dangling links do not.
                fs::metadata(dir.join(&candidate))
                    .ok()
                    .filter(fs::Metadata::is_file)
                    .map(|m| (candidate, m))
            })
            .collect();
        if present.is_empty() {
            return Ok(None);
        }
        let is_compressed = |n: &str| Compression::from_file_name(n).is_some();
        if request.decompress {
            if let Some((found, meta)) = present.iter().find(|(n, _)| !is_compressed(n)) {
                return Ok(Some(skipped(dir.join(found), meta)));
            }
            if let Some((found, meta)) = present.iter().find(|(n, _)| is_compressed(n)) {
                let done = Downloaded {
                    path: dir.join(found),
                    bytes: meta.len(),
                    status: Outcome::Skipped,
                };
                return self.decompress_downloaded(done, request).await.map(Some);
            }
        }
        let (found, meta) = &present[0];
        if let Some(expected) = request.expected_size {
            if meta.is_file() && is_compressed(found) && meta.len() != expected {
                tracing::warn!(path = %dir.join(found).display(), size = meta.len(), expected, "existing file has another size; left untouched (use overwrite)");
            }
        }
        Ok(Some(skipped(dir.join(found), meta)))
    }

    async fn decompress_downloaded(
        &self,
        done: Downloaded,
        request: &DownloadRequest,
    ) -> Result<Downloaded> {
        let Some(file_name) = done
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
        else {
            return Ok(done);
        };
        let Some(format) = Compression::from_file_name(&file_name) else {
            return Ok(done);
        };
        let Some(target_name) = format.strip_suffix(&file_name) else {
            return Ok(done);
        };
        let target = request.dir.join(target_name);
        if fs::symlink_metadata(&target).is_ok() && !request.overwrite {
            let meta = fs::symlink_metadata(&target).map_err(|e| io_err("inspect", &target, e))?;
            return Ok(skipped(target, &meta));
        }
        let _claim = self.claim(&target)?;
        let source = done.path.clone();
        let limits = decompress::DecodeLimits {
            max_output: self.inner.config.max_decompressed_size,
            max_ratio: self.inner.config.max_decompression_ratio,
        };
        let expect = request.expect;
        let target_for_task = target.clone();
        let decoded =
            blocking(move || decompress_file(&source, &target_for_task, format, limits, expect))
                .await?;
        let bytes = match decoded {
            Ok(bytes) => bytes,
            Err(err) => {
                // A file fetched in this run whose decompressed content is damaged is itself
                // damaged: delete it so that the retry downloads it again (D11). A file that
                // was already there, or a decompression bomb, is kept.
                if done.status != Outcome::Skipped && is_corruption(&err) {
                    remove_if_file(&done.path)?;
                }
                return Err(err);
            }
        };
        fsync_dir(&request.dir).await?;
        let is_regular = fs::symlink_metadata(&done.path).is_ok_and(|m| m.file_type().is_file());
        if !self.inner.config.keep_compressed && is_regular {
            remove_if_file(&done.path)?;
        }
        Ok(Downloaded {
            path: target,
            bytes,
            status: done.status,
        })
    }
}

/// Whether `err` is damage found after a complete transfer, which a fresh download may cure.
fn is_corruption(err: &Error) -> bool {
    match err {
        Error::SizeMismatch { .. } => true,
        Error::Content { source, .. } | Error::DecompressedContent { source, .. } => {
            source.is_corruption()
        }
        _ => false,
    }
}

fn skipped(path: PathBuf, meta: &fs::Metadata) -> Downloaded {
    Downloaded {
        path,
        bytes: meta.len(),
        status: Outcome::Skipped,
    }
}

fn emit(progress: Option<&ProgressSink>, event: ProgressEvent) {
    if let Some(sink) = progress {
        sink(event);
    }
}

/// The error and its sources as one line.
fn error_chain(err: &Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn io_err(action: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

async fn blocking<T: Send + 'static>(task: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(task)
        .await
        .map_err(|err| Error::Task {
            reason: err.to_string(),
        })
}

/// The base name known before any request: the trusted name, else the URL's last segment.
fn base_name(request: &DownloadRequest) -> Option<String> {
    match &request.name {
        Some(trusted) => name::sanitize_file_name(trusted).ok(),
        None => {
            name::url_last_segment(&request.url).and_then(|s| name::sanitize_file_name(&s).ok())
        }
    }
}

fn choose_name(
    request: &DownloadRequest,
    disposition: Option<&ContentDisposition>,
    content_type: Option<&str>,
) -> Result<String> {
    name::choose_file_name(
        request.name.as_deref(),
        disposition,
        content_type,
        &request.url,
    )
    .map_err(|source| Error::Name {
        url: redact_url(&request.url),
        source,
    })
}

fn response_meta(response: &Response) -> ResponseMeta {
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &::http::HeaderValue| v.to_str().ok())
    };
    ResponseMeta {
        status: response.status().as_u16(),
        content_range: header(CONTENT_RANGE).and_then(parse_content_range),
        content_length: response.content_length(),
        etag: header(ETAG).and_then(parse_etag),
        last_modified: header(LAST_MODIFIED).map(str::to_owned),
    }
}

fn check_html(url: &Url, head: &[u8], expect: Expect) -> Result<()> {
    if expect != Expect::Any && sniff::sniff(head) == ContentKind::Html {
        return Err(Error::Content {
            url: url.clone(),
            source: ContentError::Html,
        });
    }
    Ok(())
}

fn check_sizes(url: &Url, received: u64, total: Option<u64>, expected: Option<u64>) -> Result<()> {
    if let Some(total) = total.filter(|&t| t != received) {
        return Err(Error::SizeMismatch {
            url: url.clone(),
            what: "content-length",
            expected: total,
            actual: received,
        });
    }
    if let Some(expected) = expected.filter(|&e| e != received) {
        return Err(Error::SizeMismatch {
            url: url.clone(),
            what: "expected size",
            expected,
            actual: received,
        });
    }
    Ok(())
}

/// Length of an existing `.part` (0 if absent); refuses symlinks and other non-files.
fn part_len(path: &Path) -> Result<u64> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => Ok(meta.len()),
        Ok(_) => Err(Error::NotARegularFile {
            path: path.to_path_buf(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(io_err("inspect", path, e)),
    }
}

/// Removes `path` if it is a regular file; refuses to touch symlinks and directories.
fn remove_if_file(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => {
            fs::remove_file(path).map_err(|e| io_err("remove", path, e))
        }
        Ok(_) => Err(Error::NotARegularFile {
            path: path.to_path_buf(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("inspect", path, e)),
    }
}

fn remove_part(part: &Path, sidecar: &Path) -> Result<()> {
    remove_if_file(part)?;
    remove_if_file(sidecar)
}

/// Creates a fresh `.part` with `create_new` (`O_EXCL`: never follows a symlink).
fn create_part(path: &Path) -> Result<tokio::fs::File> {
    remove_if_file(path)?;
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match fs::symlink_metadata(path) {
            Ok(meta) if !meta.file_type().is_file() => Error::NotARegularFile {
                path: path.to_path_buf(),
            },
            _ => io_err("create", path, e),
        })?;
    Ok(tokio::fs::File::from_std(file))
}

/// Opens an existing `.part` for appending at `offset`, refusing symlinks (checked before
/// opening and confirmed on the opened file).
fn open_part_append(path: &Path, offset: u64) -> Result<tokio::fs::File> {
    let before = fs::symlink_metadata(path).map_err(|e| io_err("inspect", path, e))?;
    if !before.file_type().is_file() {
        return Err(Error::NotARegularFile {
            path: path.to_path_buf(),
        });
    }
    let file = fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| io_err("open", path, e))?;
    let after = file.metadata().map_err(|e| io_err("inspect", path, e))?;
    if !same_file(&before, &after) {
        return Err(Error::NotARegularFile {
            path: path.to_path_buf(),
        });
    }
    if after.len() != offset {
        return Err(io_err(
            "append to",
            path,
            std::io::Error::other(format!(
                "partial file has {} bytes, expected {offset}",
                after.len()
            )),
        ));
    }
    Ok(tokio::fs::File::from_std(file))
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    b.file_type().is_file() && a.len() == b.len()
}

fn read_state(path: &Path) -> Option<PartState> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() || meta.len() > 64 * 1024 {
        return None;
    }
    let bytes = fs::read(path).ok()?;
    serde_json::from_slice::<PartState>(&bytes)
        .ok()
        .filter(|s| s.version == resume::STATE_VERSION)
}

/// Writes the sidecar through a temporary file and a rename.
fn write_state(path: &Path, state: &PartState) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    remove_if_file(&tmp)?;
    let json = serde_json::to_vec_pretty(state)
        .map_err(|e| io_err("serialize", path, std::io::Error::other(e)))?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| io_err("create", &tmp, e))?;
    file.write_all(&json)
        .map_err(|e| io_err("write", &tmp, e))?;
    file.sync_all().map_err(|e| io_err("sync", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| io_err("rename", &tmp, e))
}

/// `fsync` the `.part`, rename it to `final_path`, `fsync` the directory.
async fn commit(part: &Path, final_path: &Path) -> Result<()> {
    let part = part.to_path_buf();
    let final_path = final_path.to_path_buf();
    blocking(move || {
        let file = fs::OpenOptions::new()
            .read(true)
            .open(&part)
            .map_err(|e| io_err("open", &part, e))?;
        file.sync_all().map_err(|e| io_err("sync", &part, e))?;
        drop(file);
        fs::rename(&part, &final_path).map_err(|e| io_err("rename", &part, e))?;
        sync_dir_blocking(final_path.parent().unwrap_or(Path::new(".")))
    })
    .await?
}

async fn fsync_dir(dir: &Path) -> Result<()> {
    let dir = dir.to_path_buf();
    blocking(move || sync_dir_blocking(&dir)).await?
}

#[cfg(unix)]
fn sync_dir_blocking(dir: &Path) -> Result<()> {
    let handle = fs::File::open(dir).map_err(|e| io_err("open directory", dir, e))?;
    handle
        .sync_all()
        .map_err(|e| io_err("sync directory", dir, e))
}

#[cfg(not(unix))]
fn sync_dir_blocking(_dir: &Path) -> Result<()> {
    // Directories cannot be opened for syncing on this platform; the rename is durable enough.
    Ok(())
}

/// Checks a complete file against `expect` (decompressing its start if it is compressed).
fn verify_file(path: &Path, expect: Expect) -> std::result::Result<(), ContentError> {
    let io_problem = |e: std::io::Error| ContentError::Fits {
        reason: format!("cannot read {}: {e}", path.display()),
    };
    let mut file = fs::File::open(path).map_err(io_problem)?;
    let len = file.metadata().map_err(io_problem)?.len();
    let mut head = Vec::with_capacity(HEAD_BYTES);
    (&mut file)
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(io_problem)?;
    let compression = Compression::sniff(&head);
    match (expect, compression) {
        (Expect::Any, _) => Ok(()),
        (_, None) => {
            let kind = sniff::check_head(expect, &head)?;
            if kind == ContentKind::Fits {
                // Every HDU, with DATASUM/CHECKSUM where present (Z4, Z5).
                let summary = fits::verify(
                    fs::File::open(path).map_err(io_problem)?,
                    MAX_FITS_HEADER_BLOCKS,
                )?;
                tracing::debug!(
                    path = %path.display(),
                    bytes = len,
                    hdus = summary.hdus,
                    checksums = summary.checksums_verified,
                    datasums = summary.datasums_verified,
                    "fits file verified"
                );
            }
            Ok(())
        }
        (Expect::Data, Some(_)) => sniff::check_head(Expect::Data, &head).map(|_| ()),
        (_, Some(format)) => {
            let reader =
                decompress::decoder(format, fs::File::open(path).map_err(io_problem)?, u64::MAX);
            let mut decoded_head = Vec::with_capacity(HEAD_BYTES);
            reader
                .take(HEAD_BYTES as u64)
                .read_to_end(&mut decoded_head)
                .map_err(|e| ContentError::Fits {
                    reason: format!("compressed file does not decode: {e}"),
                })?;
            sniff::check_head(expect, &decoded_head)?;
            if expect == Expect::Fits {
                let reader = decompress::decoder(
                    format,
                    fs::File::open(path).map_err(io_problem)?,
                    u64::MAX,
                );
                sniff::check_fits_header(reader, MAX_FITS_HEADER_BLOCKS)?;
            }
            Ok(())
        }
    }
}

/// Decompresses `source` into `target` through `<target>.part`; returns the output size.
fn decompress_file(
    source: &Path,
    target: &Path,
    format: Compression,
    limits: decompress::DecodeLimits,
    expect: Expect,
) -> Result<u64> {
    let mut part_name = target.as_os_str().to_owned();
    part_name.push(".part");
    let part = PathBuf::from(part_name);
    remove_if_file(&part)?;
    let input = fs::File::open(source).map_err(|e| io_err("open", source, e))?;
    let mut output = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&part)
        .map_err(|e| io_err("create", &part, e))?;
    let mut reader =
        decompress::decoder_with_limits(format, std::io::BufReader::new(input), limits);
    let copied = {
        let mut writer = std::io::BufWriter::with_capacity(WRITE_BUFFER, &mut output);
        std::io::copy(&mut reader, &mut writer).and_then(|n| writer.flush().map(|()| n))
    };
    let result = match copied {
        Ok(bytes) => Ok(bytes),
        Err(e) => match decompress::DecodeError::from_io(&e) {
            Some(decode) => Err(Error::Decompress {
                path: source.to_path_buf(),
                source: decode.clone(),
            }),
            None => Err(io_err("decompress into", &part, e)),
        },
    };
    let bytes = match result.and_then(|bytes| {
        output.sync_all().map_err(|e| io_err("sync", &part, e))?;
        Ok(bytes)
    }) {
        Ok(bytes) => bytes,
        Err(err) => {
            drop(output);
            let _ = remove_if_file(&part);
            return Err(err);
        }
    };
    drop(output);
    if let Err(source_err) = verify_file(&part, expect) {
        let _ = remove_if_file(&part);
        return Err(Error::DecompressedContent {
            path: source.to_path_buf(),
            source: source_err,
        });
    }
    fs::rename(&part, target).map_err(|e| io_err("rename", &part, e))?;
    Ok(bytes)
}
