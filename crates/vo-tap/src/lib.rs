//! An IVOA TAP 1.1 client: synchronous queries whose VOTable results stream row by row,
//! asynchronous UWS 1.1 jobs that survive slow servers, and VOSI service metadata.
//!
//! **Architecture Invariant:** everything outside [`client`] is pure: parsers take bytes,
//! request builders return `http::Request<Vec<u8>>`, and the job [`wait`] state machine
//! takes `now: Instant`. Only [`client`] (feature `client`, on by default) awaits I/O, through
//! `vo_auth::http::HttpClient`; results are never buffered whole.
//!
//! # Brief overview
//! - [`TapQuery`], [`ResponseFormat`], [`Upload`]: what to ask.
//! - [`TapService`] and the free functions of [`request`]: the HTTP requests of TAP, UWS and VOSI.
//! - [`uws`]: job documents ([`UwsJob`]), job lists ([`JobRef`]), phases ([`ExecutionPhase`]).
//! - [`wait::JobWaiter`]: when to poll (`WAIT=n&PHASE=..`), re-run, back off or give up.
//! - [`vosi`]: capabilities, availability and tables.
//! - [`result`]: the `QUERY_STATUS` rules (ERROR is an error, OVERFLOW a flag).
//! - `client::TapClient`: the async client on top of all this.
//!
//! Standards: [TAP 1.1](https://www.ivoa.net/documents/TAP/20190927/REC-TAP-1.1.html),
//! [UWS 1.1](https://www.ivoa.net/documents/UWS/20161024/REC-UWS-1.1-20161024.html),
//! [VOSI 1.1](https://www.ivoa.net/documents/VOSI/20170524/REC-VOSI-1.1.html),
//! [DALI 1.1](https://www.ivoa.net/documents/DALI/20170517/REC-DALI-1.1.html).
//!
//! # Example
//! ```
//! use vo_tap::{ResponseFormat, TapQuery, TapService};
//!
//! let service = TapService::new("https://archive.eso.org/tap_obs".parse()?)?;
//! let query = TapQuery::new("SELECT TOP 5 * FROM ivoa.ObsCore")
//!     .maxrec(5)
//!     .format(ResponseFormat::Csv);
//! let request = service.sync_query(&query)?;
//! assert_eq!(request.uri(), "https://archive.eso.org/tap_obs/sync");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;
pub mod format;
pub mod phase;
pub mod request;
pub mod result;
pub mod uws;
pub mod vosi;
pub mod wait;
mod xml;

use std::time::Duration;

use url::Url;

pub use format::{ResponseFormat, VoTableEncoding};
pub use phase::{ExecutionPhase, IllegalPhase, Stage};
pub use request::{
    DeleteMethod, JobFilter, TablesDetail, TapQuery, TapService, Upload, UploadSource,
};
pub use result::QueryOutcome;
pub use uws::{ErrorSummary, ErrorType, JobRef, Parameter, ResultRef, UwsJob};

fn at_url(url: &Option<Box<Url>>) -> String {
    url.as_ref()
        .map(|u| format!(" from {u}"))
        .unwrap_or_default()
}

fn in_phase(phase: &Option<ExecutionPhase>) -> String {
    phase.map_or_else(
        || "in an unknown phase".to_owned(),
        |p| format!("in phase {p}"),
    )
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A UWS or VOSI document could not be read.
    #[error("malformed {document}{}: {message}", at_url(.url))]
    Document {
        /// Which document (`UWS job`, `VOSI capabilities`, ...).
        document: &'static str,
        /// Where it came from, when known.
        url: Option<Box<Url>>,
        /// What was wrong.
        message: String,
    },
    /// The service reported `QUERY_STATUS=ERROR`.
    #[error("query failed at {url}: {message}")]
    Query {
        /// The request URL (sync endpoint or job result).
        url: Url,
        /// The server's message.
        message: String,
    },
    /// A VOTable result could not be read.
    #[error("malformed VOTable from {url}")]
    VoTable {
        /// Where it came from.
        url: Url,
        /// The parser's error (with line, column and element path).
        #[source]
        source: Box<votable::Error>,
    },
    /// The HTTP layer failed (transport, status, redirect, credentials).
    #[cfg(feature = "client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "client")))]
    #[error(transparent)]
    Http(Box<vo_auth::Error>),
    /// The server answered with a status or body the protocol does not allow here.
    #[error("unexpected answer from {url}: {message}")]
    Protocol {
        /// The request URL.
        url: Url,
        /// What was unexpected (status, missing Location, ...).
        message: String,
    },
    /// The job no longer exists (404/410): the server restarted or destroyed it.
    #[error("job {url} no longer exists on the server (it was destroyed or the server restarted)")]
    JobLost {
        /// The job URL.
        url: Url,
    },
    /// The job ended in `ERROR` or `ABORTED`.
    #[error("job {job_id} finished in phase {phase}{}", .message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    JobFailed {
        /// The job id.
        job_id: String,
        /// The job URL.
        url: Box<Url>,
        /// `ERROR` or `ABORTED`.
        phase: ExecutionPhase,
        /// The error summary or the `/error` document, when available.
        message: Option<String>,
    },
    /// The job's results were deleted (`ARCHIVED`, or gone after destruction).
    #[error("the results of job {url} are gone (job archived or destroyed)")]
    JobExpired {
        /// The job URL.
        url: Url,
    },
    /// The total wait deadline passed; the job is left running.
    #[error("gave up waiting after {waited:?}: job {url} is still {}; resume it later with its URL", in_phase(.phase))]
    WaitTimeout {
        /// The job URL, to resume or delete it later.
        url: Url,
        /// Its last known phase.
        phase: Option<ExecutionPhase>,
        /// How long we waited.
        waited: Duration,
    },
    /// Too many transient errors in a row while polling a job.
    #[error("gave up polling job {url} after {errors} transient errors in a row")]
    PollingFailed {
        /// The job URL.
        url: Url,
        /// How many errors in a row.
        errors: u32,
        /// The last error.
        #[source]
        last: Box<Error>,
    },
    /// A state machine got an input it cannot take in its current state.
    #[error("illegal transition: {input} in state {state}")]
    IllegalTransition {
        /// The state, for debugging.
        state: String,
        /// The input.
        input: &'static str,
    },
    /// The request cannot be built from these arguments.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A local I/O error (reading an upload, writing a result).
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

#[cfg(feature = "client")]
impl From<vo_auth::Error> for Error {
    fn from(err: vo_auth::Error) -> Self {
        Error::Http(Box::new(err))
    }
}

impl Error {
    /// Attaches the URL a document came from (for [`Error::Document`]).
    pub fn with_url(self, source_url: &Url) -> Error {
        match self {
            Error::Document {
                document,
                url: None,
                message,
            } => Error::Document {
                document,
                url: Some(Box::new(source_url.clone())),
                message,
            },
            other => other,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
