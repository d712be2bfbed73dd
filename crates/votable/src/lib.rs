//! A complete, streaming and fast reader and writer for IVOA VOTable documents
//! (versions 1.1 to 1.5), in the `TABLEDATA`, `BINARY` and `BINARY2` serializations.
//!
//! - [`Reader`]: metadata first, then rows one at a time from any `BufRead`, in
//!   constant memory. Metadata is parsed with quick-xml; TABLEDATA rows by a
//!   hand-written byte scanner and BINARY/BINARY2 by a streaming base64 decoder.
//! - [`parse`] / [`read`]: a whole document into a columnar, compact [`Table`] per `TABLE`.
//! - [`write`]: TABLEDATA, BINARY and BINARY2 writers; [`convert`]: CSV, TSV, JSON
//!   and re-serialization, streaming.
//!
//! **Architecture Invariant:** `votable` performs no network I/O; it parses from a
//! caller-supplied `BufRead` or byte slice and never depends on reqwest or tokio.
//! A `STREAM href` is never dereferenced.
//!
//! **Invariant:** malformed input yields an [`Error`] with line, column and element
//! path, never a panic; no DTD entity is ever expanded; nesting depth, element,
//! row and cell sizes are bounded by [`Limits`].
//!
//! Null conventions: an empty `TD`, the `VALUES/@null` sentinel, a BINARY2 null flag,
//! an empty string or variable-length array, and a NaN float or complex scalar
//! (the standard's null for floating point) all read as [`Value::Null`]. Inside
//! arrays NaN elements stay NaN; in BINARY an array whose elements are all NaN (or
//! all the null sentinel) reads as null.
//!
//! See the [VOTable 1.5 recommendation](https://www.ivoa.net/documents/VOTable/).

#![warn(missing_docs)]

mod binary;
pub mod convert;
pub mod datatype;
mod error;
#[doc(hidden)]
pub mod fuzzing;
#[doc(hidden)]
pub mod generate;
pub mod model;
mod reader;
mod source;
mod spec;
mod table;
mod tabledata;
pub mod value;
pub mod write;

pub use datatype::{ArraySize, Datatype, Dim};
pub use error::{Error, ErrorKind, Location, Result};
pub use model::{
    Bound, CooSys, Document, Field, Group, Info, Link, Param, QueryStatus, Resource, ResourceType,
    Serialization, TableMeta, TimeSys, ValueOption, Values,
};
pub use reader::{Limits, Reader, Row};
pub use table::{Table, VoTable, parse, read, read_with_limits};
pub use value::Value;
