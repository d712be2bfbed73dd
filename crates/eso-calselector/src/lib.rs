//! `eso-calselector`: the ESO calSelector client.
//!
//! calSelector finds the calibration files (raw, or processed masters) that turn an ESO raw
//! science frame into science.
//! This crate builds its requests, reads its two answers (the DataLink-compatible VOTable and the
//! association tree XML, single or multipart), turns the `#this` row's cascade description into
//! a typed [`CascadeSummary`] with [`QualityWarning`]s as values, and merges the replies for many
//! frames into one deduplicated [`CalibrationPlan`].
//!
//! **Architecture Invariant:** everything but [`client`] is pure: parsers take bytes and return
//! values, builders return `http::Request<Vec<u8>>`; [`client`] is the only module that awaits.
//! No recursion proportional to input depth; documents are capped in size and depth;
//! `<!DOCTYPE` is rejected; server file names never become paths without `vo_download::name::sanitize_file_name`.
//!
//! # Brief overview
//! - [`request::CalSelector`]: GET for one frame, POST batches for many ([`Mode`], [`ResponseFormat`]).
//! - [`description::parse_description`] → [`CascadeSummary`]; [`warnings::quality_warnings`].
//! - [`links::CalSelectorLinks`]: the VOTable rows by role (`#this`, `#sibling_raw`,
//!   `#calibration`, `ASSOCIATION_TREE`).
//! - [`tree::AssociationTree`]: the association tree, its deduplicated files, text/JSON/DOT renderings.
//! - [`multipart`]: multipart replies split into parts and trees.
//! - [`plan::CalibrationPlan`]: one plan for many frames, what the CLI downloads.
//!
//! # Example
//! ```
//! use eso_calselector::{parse_description, quality_warnings, Mode, QualityWarning};
//!
//! let (summary, parse_warnings) = parse_description(
//!     r#"category="IFS_SCI_FLUX" certified="false" complete="true" mode="Raw2Raw" type="main" messages="""#,
//! );
//! assert!(parse_warnings.is_empty());
//! let warnings = quality_warnings(Some(&summary), Mode::Raw2Master, None);
//! assert_eq!(warnings[0], QualityWarning::NotCertified);
//! assert_eq!(warnings[1].code(), "mode_mismatch");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod client;
pub mod description;
pub mod links;
pub mod multipart;
pub mod plan;
pub mod request;
pub mod tree;
pub mod warnings;

pub use client::{CalSelectorClient, ClientOptions};
pub use description::{CascadeSummary, parse_description};
pub use links::{CalSelectorLinks, LinkRow, Role};
pub use multipart::{Part, TreeDocument};
pub use plan::{CalibrationPlan, FrameReport, PlannedFile, TreeLink};
pub use request::{BatchRequest, CalSelector, Mode, ResponseFormat};
pub use tree::{Association, AssociationTree, FileUse, TextStyle, TreeLimits};
pub use warnings::{ParseWarning, QualityWarning, quality_warnings};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A mode other than Raw2Raw or Raw2Master.
    #[error("unknown calSelector mode {value:?} (expected raw2raw or raw2master)")]
    InvalidMode {
        /// The value given.
        value: String,
    },
    /// A `dp_id` that cannot be sent.
    #[error("invalid dp_id {dp_id:?}: {reason}")]
    InvalidDpId {
        /// The id, with control characters escaped.
        dp_id: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// No `dp_id` at all.
    #[error("no dp_id given")]
    EmptyRequest,
    /// The archive URL cannot be used as a base.
    #[error("cannot build the calSelector endpoint from {url}")]
    InvalidEndpoint {
        /// The URL given.
        url: String,
    },
    /// The HTTP request could not be built.
    #[error("cannot build the calSelector request: {reason}")]
    Request {
        /// Why.
        reason: String,
    },
    /// A document is larger than its cap.
    #[error("{what} larger than {limit} bytes")]
    TooLarge {
        /// Which document.
        what: &'static str,
        /// The cap in bytes.
        limit: usize,
    },
    /// An XML document is not well formed (or uses an unknown entity).
    #[error("malformed {what} at byte {position}: {message}")]
    Xml {
        /// Which document.
        what: &'static str,
        /// Byte offset of the error.
        position: u64,
        /// The parser's message.
        message: String,
    },
    /// A `<!DOCTYPE` was found; DTDs are never processed.
    #[error("{what} contains a DOCTYPE declaration at byte {position}, refused")]
    Doctype {
        /// Which document.
        what: &'static str,
        /// Byte offset of the declaration.
        position: u64,
    },
    /// Elements nested deeper than the cap.
    #[error("association tree nested deeper than {limit} elements at byte {position}")]
    TooDeep {
        /// The depth cap.
        limit: usize,
        /// Byte offset where the cap was hit.
        position: u64,
    },
    /// The document's root element is not `association`.
    #[error("not an association tree: root element is {root:?}")]
    NotAnAssociationTree {
        /// The root element found, or empty if there was none.
        root: String,
    },
    /// A multipart body that cannot be split.
    #[error("malformed multipart reply: {reason}")]
    Multipart {
        /// Why.
        reason: String,
    },
    /// The reply has a content type this crate cannot read.
    #[error("unexpected content type {content_type:?} from {url}")]
    UnexpectedContentType {
        /// The URL asked.
        url: String,
        /// The content type received.
        content_type: String,
    },
    /// The calSelector VOTable could not be read as a DataLink response.
    #[error("malformed calSelector VOTable")]
    DataLink {
        /// The DataLink parser's error.
        #[source]
        source: Box<vo_datalink::Error>,
    },
    /// The calSelector VOTable lacks a required column.
    #[error("calSelector VOTable has no {column} column")]
    MissingColumn {
        /// The column name.
        column: &'static str,
    },
    /// The HTTP layer failed.
    #[error("calSelector request to {url} failed")]
    Http {
        /// The URL asked (no credentials are ever in it).
        url: String,
        /// The transport error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
