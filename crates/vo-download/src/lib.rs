//! `vo-download`: downloads that never lose or corrupt a file.
//!
//! Files are written to `<final>.part` in the target directory and renamed to their final
//! name only once complete and verified (size against `Content-Length` and the caller's
//! expected size, content against what was expected: a FITS file, not an HTML login page;
//! every HDU of a FITS file is walked and its `DATASUM`/`CHECKSUM` checked where present).
//! A complete file that fails verification is deleted and downloaded once more from zero.
//! Dropped connections resume with `Range` and `If-Range`; complete files are skipped;
//! several files download at once; `.Z` and `.gz` files can be decompressed on the fly.
//!
//! **Architecture Invariant:** vo-download sits on `vo-auth` only (layer 1b): every request
//! goes through [`vo_auth::http::HttpClient`], so credentials stay bound to their origins.
//! The pure parts ([`name`], [`headers`], [`resume`], [`decompress`], [`sniff`], [`fits`]) do no I/O
//! besides `std::io::Read`; [`client`] is the only module that awaits. Local file names are
//! ours: a server-provided name never leaves the target directory ([`name::sanitize_file_name`]),
//! and symlinks planted at the `.part` path are never followed. The library never prints:
//! progress is reported as [`ProgressEvent`]s.
//!
//! # Brief overview
//! - [`Downloader`]: [`Downloader::download`] one file, [`Downloader::download_all`] a batch.
//! - [`DownloadRequest`], [`DownloadConfig`], [`Downloaded`], [`Outcome`], [`BatchReport`]
//!   (with [`BatchReport::manifest_json`], a per-file JSON manifest).
//! - [`decompress::ZDecoder`]: a streaming Unix `compress` (LZW) decoder with an output cap;
//!   [`decompress::decoder_with_limits`] adds a ratio guard against decompression bombs.
//! - [`fits::verify`]: a streaming walk over every HDU with `DATASUM`/`CHECKSUM` checks.
//! - [`name::parse_content_disposition`], [`name::sanitize_file_name`].
//!
//! # Example
//! ```no_run
//! use vo_download::{DownloadConfig, DownloadRequest, Downloader, sniff::Expect};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = vo_auth::http::HttpClient::anonymous()?;
//! let downloader = Downloader::new(client, DownloadConfig::default());
//! let url = url::Url::parse("https://dataportal.eso.org/dataportal_new/file/ADP.2021-01-02T00:59:12.533")?;
//! let mut request = DownloadRequest::new(url, "data");
//! request.name = Some("ADP.2021-01-02T00:59:12.533".into());
//! request.expect = Expect::Fits;
//! let done = downloader.download(request).await?;
//! assert!(done.path.starts_with("data"));
//! # Ok(())
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod client;
pub mod decompress;
pub mod fits;
pub mod headers;
pub mod name;
pub mod resume;
pub mod sniff;

pub use client::{
    BatchItem, BatchReport, DownloadConfig, DownloadRequest, Downloaded, Downloader, ManifestEntry,
    Outcome, ProgressEvent, ProgressSink,
};
pub use sniff::Expect;

use std::path::PathBuf;
use url::Url;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request failed in the HTTP layer (transport, status, authentication, redirects).
    #[error("download of {url} failed")]
    Http {
        /// The requested URL.
        url: Url,
        /// The HTTP layer's error.
        #[source]
        source: Box<vo_auth::Error>,
    },
    /// No safe local file name could be derived.
    #[error("no usable file name for {url}")]
    Name {
        /// The requested URL.
        url: Url,
        /// Why.
        #[source]
        source: name::NameError,
    },
    /// A local file operation failed (not retried).
    #[error("cannot {action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A symbolic link (or another non-regular file) sits where a download file would go.
    #[error("refusing to write through {path}: it is a symbolic link or not a regular file")]
    NotARegularFile {
        /// The path.
        path: PathBuf,
    },
    /// The content is not what was expected (for example an HTML login page, or a FITS file
    /// whose structure or checksums are broken).
    #[error("content from {url} rejected")]
    Content {
        /// The requested URL.
        url: Url,
        /// What was wrong.
        #[source]
        source: sniff::ContentError,
    },
    /// The received size differs from the announced or expected size.
    #[error("size mismatch for {url}: {what} says {expected} bytes, received {actual}")]
    SizeMismatch {
        /// The requested URL.
        url: Url,
        /// Which size was violated (`content-length` or `expected size`).
        what: &'static str,
        /// The announced size.
        expected: u64,
        /// The size received.
        actual: u64,
    },
    /// The body kept breaking off; the `.part` file is kept for a later resume.
    #[error("download of {url} incomplete after {attempts} attempts: {received} of {}", fmt_total(*.total))]
    Incomplete {
        /// The requested URL.
        url: Url,
        /// Bytes on disk.
        received: u64,
        /// The complete length, if known.
        total: Option<u64>,
        /// Requests made.
        attempts: u32,
    },
    /// The file is larger than the configured limit.
    #[error("{url} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The requested URL.
        url: Url,
        /// The limit in bytes.
        limit: u64,
    },
    /// The server kept sending unusable answers to range requests.
    #[error("giving up on {url} after {restarts} restarts: {reason}")]
    TooManyRestarts {
        /// The requested URL.
        url: Url,
        /// Restarts made.
        restarts: u32,
        /// The last reason.
        reason: &'static str,
    },
    /// The server answered with a status the downloader cannot use.
    #[error("{url} answered {status}")]
    UnexpectedStatus {
        /// The requested URL.
        url: Url,
        /// The status.
        status: u16,
    },
    /// Decompressing a downloaded file failed; the compressed file is kept.
    #[error("cannot decompress {path}")]
    Decompress {
        /// The compressed file.
        path: PathBuf,
        /// Why.
        #[source]
        source: decompress::DecodeError,
    },
    /// The decompressed output of a file is not what was expected. The compressed file is kept,
    /// unless it was fetched in this run and its content is damaged (then it is deleted and
    /// downloaded again, see [`Error::Corrupt`]).
    #[error("decompressed content of {path} rejected")]
    DecompressedContent {
        /// The compressed file.
        path: PathBuf,
        /// What was wrong.
        #[source]
        source: sniff::ContentError,
    },
    /// Another download in this process is writing the same file.
    #[error("{path} is already being downloaded")]
    Busy {
        /// The final path.
        path: PathBuf,
    },
    /// A complete file failed verification (size, FITS structure, `DATASUM`/`CHECKSUM`), was
    /// deleted and downloaded again from the start, and failed again; nothing is left on disk.
    #[error("{url} failed verification on {attempts} complete downloads")]
    Corrupt {
        /// The requested URL.
        url: Url,
        /// Complete downloads made.
        attempts: u32,
        /// The last failure.
        #[source]
        source: Box<Error>,
    },
    /// A background task failed.
    #[error("download task failed: {reason}")]
    Task {
        /// What happened.
        reason: String,
    },
}

fn fmt_total(total: Option<u64>) -> String {
    match total {
        Some(total) => format!("{total} bytes"),
        None => "an unknown number of bytes".to_owned(),
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
