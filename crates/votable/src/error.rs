//! The crate's error type: every parse error carries a line, a column and the
//! element path where it happened, plus what was wrong.

use std::fmt;

/// Where in a document an error happened.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// 1-based line number.
    pub line: u64,
    /// 1-based column (in bytes).
    pub column: u64,
    /// Element path such as `VOTABLE/RESOURCE[1]/TABLE/DATA/TABLEDATA/TR[17]/TD[3]`.
    pub path: String,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, ", in {}", self.path)?;
        }
        Ok(())
    }
}

/// What was wrong with a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Malformed XML.
    #[error("malformed xml: {0}")]
    Xml(String),
    /// The root element is not `VOTABLE` (e.g. an HTML error page).
    #[error("not a votable: root element is <{0}>")]
    NotVoTable(String),
    /// An attribute has a value that cannot be used.
    #[error("bad value {value:?} for attribute {name}: {reason}")]
    BadAttribute {
        /// Attribute name.
        name: String,
        /// Attribute value.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A cell could not be decoded as its field's datatype.
    #[error("bad {datatype} value {text:?} for field {field:?}: {reason}")]
    BadValue {
        /// Field name.
        field: String,
        /// Declared datatype (with arraysize).
        datatype: String,
        /// The offending text (truncated to 80 bytes).
        text: String,
        /// Why it was rejected.
        reason: String,
    },
    /// Unexpected structure (element in the wrong place, missing end tag ...).
    #[error("{0}")]
    Structure(String),
    /// Elements nested deeper than [`crate::Limits::max_depth`].
    #[error("elements nested deeper than the limit of {limit}")]
    TooDeep {
        /// The configured limit.
        limit: usize,
    },
    /// Something is larger than the configured limit.
    #[error("{what} larger than the limit of {limit} bytes")]
    TooLarge {
        /// What was too large (`element`, `row`, `cell` ...).
        what: &'static str,
        /// The configured limit in bytes.
        limit: usize,
    },
    /// `STREAM href=...`: external streams are never fetched.
    #[error("external streams are not supported (STREAM href={href:?} is never fetched)")]
    ExternalStream {
        /// The `href` attribute.
        href: String,
    },
    /// `FITS` serialization.
    #[error("FITS serialization is not supported")]
    UnsupportedFits,
    /// A `STREAM` encoding other than base64.
    #[error("unsupported STREAM encoding {0:?} (only base64 is supported)")]
    UnsupportedEncoding(String),
    /// Invalid base64 in a `STREAM`.
    #[error("invalid base64 in STREAM: {0}")]
    Base64(String),
    /// The input ended too early.
    #[error("unexpected end of input: {0}")]
    UnexpectedEof(String),
}

/// The error type of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The document is malformed or unsupported at a known place.
    #[error("{kind} (at {location})")]
    Parse {
        /// What was wrong.
        kind: ErrorKind,
        /// Where.
        location: Box<Location>,
    },
    /// Reading the input or writing the output failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The data given to a writer does not fit its table.
    #[error("cannot write {what}: {reason}")]
    Write {
        /// What was being written (`row 3`, `field "ra"` ...).
        what: String,
        /// Why it failed.
        reason: String,
    },
}

impl Error {
    /// The kind of a parse error.
    pub fn kind(&self) -> Option<&ErrorKind> {
        match self {
            Error::Parse { kind, .. } => Some(kind),
            _ => None,
        }
    }

    /// The location of a parse error.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Error::Parse { location, .. } => Some(location),
            _ => None,
        }
    }

    pub(crate) fn parse(kind: ErrorKind, location: Location) -> Self {
        Error::Parse {
            kind,
            location: Box::new(location),
        }
    }

    pub(crate) fn write(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Write {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
