//! IVOA DataLink 1.1 for Rust: `{links}` responses, service descriptors and the requests
//! they describe, SODA 1.0 cutouts, and the simple DAL queries SIA 1/2 and SSA whose
//! results carry service descriptors.
//!
//! **Architecture Invariant:** everything but [`client`] is pure: parsers take bytes or a
//! [`votable::VoTable`], builders return [`http::Request`]s, and nothing awaits.
//! `client` (feature `client`) is the only module doing I/O, through
//! `vo_auth::http::HttpClient`. Every URL taken from a document is checked to be
//! `http`/`https` before it is requested.
//!
//! # Brief overview
//! - [`links`]: [`Link`], [`LinkTarget`] (exactly one of access URL, service, error),
//!   [`LinksResponse`] grouped by ID, [`parse_links`].
//! - [`semantics`]: [`Semantics`] with the core vocabulary and its narrower terms;
//!   custom full-URI terms are matched literally.
//! - [`descriptor`]: [`ServiceDescriptor`], [`InputParam`], requests built from a
//!   descriptor and a result row with extra parameters checked against options and bounds.
//! - [`soda`]: SODA sync cutout requests ([`soda::SodaQuery`]) and typed response errors.
//! - [`dal`]: SIA 1, SIA 2 and SSA request builders and [`dal::DalResults`].
//! - [`eso`]: DataLink URLs computed from an ESO `dp_id`.
//!
//! Specifications: [DataLink 1.1](https://www.ivoa.net/documents/DataLink/),
//! [SODA 1.0](https://www.ivoa.net/documents/SODA/),
//! [SIA 2.0](https://www.ivoa.net/documents/SIA/), [SSA 1.1](https://www.ivoa.net/documents/SSA/).
//!
//! # Example
//! ```
//! use vo_datalink::{Semantics, parse_links};
//! let bytes = br#"<VOTABLE version="1.3"><RESOURCE type="results"><TABLE>
//!   <FIELD name="ID" datatype="char" arraysize="*"/>
//!   <FIELD name="access_url" datatype="char" arraysize="*"/>
//!   <FIELD name="semantics" datatype="char" arraysize="*"/>
//!   <DATA><TABLEDATA>
//!   <TR><TD>ivo://x/1</TD><TD>https://x.test/1.fits</TD><TD>#this</TD></TR>
//!   </TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"#;
//! let (links, warnings) = parse_links(bytes)?;
//! assert!(warnings.is_empty());
//! let this = links.by_semantics(&Semantics::THIS).next().unwrap();
//! assert_eq!(this.http_url()?.as_str(), "https://x.test/1.fits");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::fmt;

#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;
pub mod dal;
pub mod descriptor;
pub mod eso;
pub mod links;
pub mod query;
pub mod semantics;
pub mod soda;

pub use descriptor::{
    BatchConfig, BatchRequest, InputParam, Method, ParamDescription, ParamOption, ParamSource,
    RowLookup, RowSource, ServiceDescriptor, TableRow,
};
pub use links::{ExtraValue, Link, LinkAuth, LinkTarget, LinksResponse, parse_links};
pub use semantics::{CoreTerm, Semantics};

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The document is not a well-formed VOTable.
    #[error("malformed VOTable in {context}")]
    VoTable {
        /// What was being parsed.
        context: String,
        /// The parser's error.
        #[source]
        source: Box<votable::Error>,
    },
    /// The document has no `{links}` table (no `ID` column with a target column).
    #[error(
        "not a DataLink response: no table with ID and access_url/service_def/error_message columns"
    )]
    NotLinks,
    /// The service reported `QUERY_STATUS` = `ERROR`.
    #[error("service reported an error: {message}")]
    QueryFailed {
        /// The server's message.
        message: String,
    },
    /// A user parameter is not declared by the descriptor.
    #[error("unknown parameter {param:?} for service {descriptor} (declared: {})", declared.join(", "))]
    UnknownParam {
        /// The parameter given.
        param: String,
        /// The descriptor's label.
        descriptor: String,
        /// The declared parameter names.
        declared: Vec<String>,
    },
    /// A required parameter has no value.
    #[error("missing parameter {param:?} for service {descriptor}")]
    MissingParam {
        /// The parameter.
        param: String,
        /// The descriptor's label or endpoint.
        descriptor: String,
    },
    /// A `ref` parameter points to a column the results table does not have.
    #[error(
        "parameter {param:?} takes its value from column {column:?}, which the results table does not have"
    )]
    MissingRefColumn {
        /// The parameter.
        param: String,
        /// The referenced FIELD ID or name.
        column: String,
    },
    /// The row's cell for a `ref` parameter is null.
    #[error(
        "parameter {param:?} takes its value from column {column:?}, which is null in this row"
    )]
    NullRefValue {
        /// The parameter.
        param: String,
        /// The referenced FIELD ID or name.
        column: String,
    },
    /// A value is not one of the declared options.
    #[error("invalid value {value:?} for {param}: expected one of {}", allowed.join(", "))]
    InvalidOption {
        /// The parameter.
        param: String,
        /// The value given.
        value: String,
        /// The declared option values.
        allowed: Vec<String>,
    },
    /// A value is outside the declared `MIN`/`MAX`.
    #[error("value {value:?} for {param} is outside the declared bounds (min {}, max {})", min.as_deref().unwrap_or("-"), max.as_deref().unwrap_or("-"))]
    OutOfBounds {
        /// The parameter.
        param: String,
        /// The value given.
        value: String,
        /// Declared `MIN`.
        min: Option<String>,
        /// Declared `MAX`.
        max: Option<String>,
    },
    /// A value is malformed for its parameter.
    #[error("invalid value {value:?} for {param}: {reason}")]
    InvalidValue {
        /// The parameter.
        param: String,
        /// The value given.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A row index is past the end of the table.
    #[error("row {row} does not exist (the table has {nrows} rows)")]
    RowOutOfRange {
        /// The row asked for.
        row: usize,
        /// The number of rows.
        nrows: usize,
    },
    /// A descriptor has no `accessURL`.
    #[error("service {descriptor} has no accessURL")]
    NoAccessUrl {
        /// The descriptor's label.
        descriptor: String,
    },
    /// No service descriptor of the wanted kind in the document.
    #[error("no {kind} service descriptor in the document")]
    NoDescriptor {
        /// What was looked for (`DataLink`, `SODA`, a `service_def` ID).
        kind: String,
    },
    /// A descriptor used for SODA is not a SODA service.
    #[error("service {descriptor} is not a SODA service (standardID {standard_id:?})")]
    NotSoda {
        /// The descriptor's label.
        descriptor: String,
        /// Its standardID.
        standard_id: Option<String>,
    },
    /// A link has no access URL.
    #[error("link for {id} has no access_url")]
    NotAnAccessUrl {
        /// The link's ID.
        id: String,
    },
    /// A URL does not parse.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The text.
        url: String,
        /// The parser's message.
        reason: String,
    },
    /// A URL from a document uses a scheme other than http/https.
    #[error("refusing to follow {url:?}: scheme {scheme:?} is not http or https")]
    UnsafeUrl {
        /// The URL.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// An HTTP request could not be built.
    #[error("cannot build a request for {url}: {reason}")]
    Request {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// SODA: nothing to cut out (204, the region does not overlap the data).
    #[error("cutout at {url} is empty: the requested region does not overlap the data (204)")]
    SodaNoData {
        /// The request URL.
        url: String,
    },
    /// SODA: the dataset is unknown (404).
    #[error("cutout at {url}: dataset not found (404)")]
    SodaNotFound {
        /// The request URL.
        url: String,
    },
    /// SODA: the parameters were rejected (400 or 422).
    #[error("cutout at {url} rejected: {message}")]
    SodaUsage {
        /// The request URL.
        url: String,
        /// The server's text.
        message: String,
    },
    /// An unexpected HTTP status.
    #[error("{url} answered HTTP {status}: {body_excerpt}")]
    Status {
        /// The request URL.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the body, for context.
        body_excerpt: String,
    },
    /// Following nested links went deeper than allowed, or in a circle.
    #[error("stopped following links at {url}: depth limit {limit} reached or link cycle")]
    DepthExceeded {
        /// The URL not followed.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// The HTTP layer failed.
    #[cfg(feature = "client")]
    #[error("request to {url} failed")]
    Http {
        /// The request URL.
        url: String,
        /// The transport error.
        #[source]
        source: Box<vo_auth::Error>,
    },
    /// A background task failed.
    #[cfg(feature = "client")]
    #[error("background task failed: {0}")]
    Task(String),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A problem in a document that did not stop parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A links row without `ID` was skipped.
    MissingId {
        /// Row index.
        row: usize,
    },
    /// A links row with none of access_url, service_def, error_message was skipped.
    NoTarget {
        /// Row index.
        row: usize,
        /// The row's ID.
        id: String,
    },
    /// A links row with several targets: the error message, else the access URL, was kept.
    SeveralTargets {
        /// Row index.
        row: usize,
        /// The row's ID.
        id: String,
    },
    /// A links row without semantics.
    MissingSemantics {
        /// Row index.
        row: usize,
        /// The row's ID.
        id: String,
    },
    /// A JSON column that does not parse; the text was kept.
    BadJson {
        /// Row index.
        row: usize,
        /// Column name.
        column: String,
        /// The parser's message.
        message: String,
    },
    /// A service descriptor without `accessURL` (kept, but it cannot be called).
    DescriptorWithoutAccessUrl {
        /// The descriptor's label.
        descriptor: String,
    },
    /// A row was left out of a batch because its `ref` cell is null.
    NullRefValue {
        /// Row index.
        row: usize,
        /// The parameter.
        param: String,
        /// The column.
        column: String,
    },
    /// The service truncated the result (`QUERY_STATUS` = `OVERFLOW`).
    Overflow,
    /// A batched DataLink answer had no row for this ID, and neither had a request
    /// for the ID alone.
    NoLinksForId {
        /// The ID.
        id: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::MissingId { row } => write!(f, "row {row}: no ID, skipped"),
            Warning::NoTarget { row, id } => write!(
                f,
                "row {row} ({id}): none of access_url, service_def, error_message; skipped"
            ),
            Warning::SeveralTargets { row, id } => write!(
                f,
                "row {row} ({id}): several of access_url, service_def, error_message; kept one"
            ),
            Warning::MissingSemantics { row, id } => write!(f, "row {row} ({id}): no semantics"),
            Warning::BadJson {
                row,
                column,
                message,
            } => {
                write!(f, "row {row}: column {column} is not JSON ({message})")
            }
            Warning::DescriptorWithoutAccessUrl { descriptor } => {
                write!(f, "service {descriptor} has no accessURL")
            }
            Warning::NullRefValue { row, param, column } => write!(
                f,
                "row {row}: column {column} for parameter {param} is null; row skipped"
            ),
            Warning::Overflow => f.write_str("result truncated by the service (OVERFLOW)"),
            Warning::NoLinksForId { id } => write!(f, "no links returned for {id}"),
        }
    }
}
