//! A complete, streaming and fast reader and writer for IVOA VOTable documents
//! (versions 1.1 to 1.5), in the `TABLEDATA`, `BINARY` and `BINARY2` serializations.
//!
//! **Architecture Invariant:** `votable` performs no network I/O; it parses from a
//! caller-supplied `BufRead` or byte slice and never depends on reqwest or tokio.
//! A `STREAM href` is never dereferenced.
//!
//! See the [VOTable 1.5 recommendation](https://www.ivoa.net/documents/VOTable/).

#![warn(missing_docs)]

pub mod datatype;
pub mod model;
pub mod value;

pub use datatype::{ArraySize, Datatype, Dim};
pub use model::{
    Bound, CooSys, Document, Field, Group, Info, Link, Param, QueryStatus, Resource, ResourceType,
    Serialization, TableMeta, TimeSys, ValueOption, Values,
};
pub use value::Value;
