//! Warnings as values: quality warnings about a calibration cascade, and parse warnings about
//! server documents that were odd but still usable.
//!
//! Nothing here prints; the CLI decides how to show them (escape server text before printing).

use std::fmt;

use serde::Serialize;

use crate::description::CascadeSummary;
use crate::request::Mode;

/// The prefix of calSelector's message when nothing could be associated.
pub const NO_ASSOCIATION_PREFIX: &str = "No association could be established";

/// Something the user should know about a calibration cascade before using it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum QualityWarning {
    /// The cascade is incomplete: some calibrations are missing.
    Incomplete {
        /// calSelector's messages about the cascade (may be empty).
        messages: String,
    },
    /// The cascade is not certified yet: certification comes a few days after the observation.
    NotCertified,
    /// calSelector executed another mode than the one asked for
    /// (Raw2Master falls back to raw calibrations when no masters exist).
    ModeMismatch {
        /// The mode asked for.
        requested: Mode,
        /// The mode calSelector executed.
        executed: Mode,
    },
    /// calSelector could not associate anything with the frame.
    NoAssociation {
        /// calSelector's message, e.g. "No association could be established: this file type is not supported".
        message: String,
    },
    /// The reply had no `#this` row, or its description was empty: quality is unknown.
    MissingDescription,
    /// The `#this` row carried an `error_message`.
    ServiceError {
        /// The error message of the `#this` row.
        message: String,
    },
}

impl QualityWarning {
    /// A short stable identifier (`incomplete`, `not_certified`, ...), for JSON and filters.
    pub fn code(&self) -> &'static str {
        match self {
            QualityWarning::Incomplete { .. } => "incomplete",
            QualityWarning::NotCertified => "not_certified",
            QualityWarning::ModeMismatch { .. } => "mode_mismatch",
            QualityWarning::NoAssociation { .. } => "no_association",
            QualityWarning::MissingDescription => "missing_description",
            QualityWarning::ServiceError { .. } => "service_error",
        }
    }
}

impl fmt::Display for QualityWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QualityWarning::Incomplete { messages } if messages.trim().is_empty() => {
                f.write_str("the calibration cascade is incomplete")
            }
            QualityWarning::Incomplete { messages } => {
                write!(f, "the calibration cascade is incomplete: {messages}")
            }
            QualityWarning::NotCertified => f.write_str(
                "the calibration cascade is not certified (certification usually comes a few days after the observation)",
            ),
            QualityWarning::ModeMismatch {
                requested: Mode::Raw2Master,
                executed: Mode::Raw2Raw,
            } => f.write_str(
                "requested Raw2Master but calSelector executed Raw2Raw: no processed calibrations exist, raw calibrations were returned instead",
            ),
            QualityWarning::ModeMismatch {
                requested,
                executed,
            } => write!(f, "requested {requested} but calSelector executed {executed}"),
            QualityWarning::NoAssociation { message } => f.write_str(message),
            QualityWarning::MissingDescription => {
                f.write_str("the reply has no cascade description: its quality is unknown")
            }
            QualityWarning::ServiceError { message } => {
                write!(f, "calSelector reported an error: {message}")
            }
        }
    }
}

/// The quality warnings for one frame.
///
/// `summary` is the parsed `#this` description (None if there was none), `requested` the mode
/// asked for, `error_message` the `#this` row's `error_message` column.
/// When nothing could be associated only that is reported: completeness, certification and
/// mode of an empty cascade mean nothing.
pub fn quality_warnings(
    summary: Option<&CascadeSummary>,
    requested: Mode,
    error_message: Option<&str>,
) -> Vec<QualityWarning> {
    let mut warnings = Vec::new();
    let error_message = error_message.map(str::trim).filter(|m| !m.is_empty());
    let no_association = summary
        .and_then(|s| s.messages.as_deref())
        .into_iter()
        .chain(error_message)
        .find(|m| is_no_association(m));
    if let Some(message) = no_association {
        warnings.push(QualityWarning::NoAssociation {
            message: message.trim().to_owned(),
        });
        return warnings;
    }
    if let Some(message) = error_message {
        warnings.push(QualityWarning::ServiceError {
            message: message.to_owned(),
        });
    }
    let Some(summary) = summary.filter(|s| !s.is_empty()) else {
        warnings.push(QualityWarning::MissingDescription);
        return warnings;
    };
    if summary.complete == Some(false) {
        warnings.push(QualityWarning::Incomplete {
            messages: summary.messages.clone().unwrap_or_default(),
        });
    }
    if summary.certified == Some(false) {
        warnings.push(QualityWarning::NotCertified);
    }
    if let Some(executed) = summary.mode {
        if executed != requested {
            warnings.push(QualityWarning::ModeMismatch {
                requested,
                executed,
            });
        }
    }
    warnings
}

fn is_no_association(message: &str) -> bool {
    let trimmed = message.trim_start();
    trimmed.len() >= NO_ASSOCIATION_PREFIX.len()
        && trimmed.is_char_boundary(NO_ASSOCIATION_PREFIX.len())
        && trimmed[..NO_ASSOCIATION_PREFIX.len()].eq_ignore_ascii_case(NO_ASSOCIATION_PREFIX)
}

/// A server document was odd but still usable; what was odd and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ParseWarning {
    /// The cascade description could not be fully tokenized.
    Description {
        /// Byte offset in the description.
        offset: usize,
        /// What was wrong.
        detail: String,
    },
    /// An element of the association tree that this crate does not know; it was skipped.
    UnknownElement {
        /// Element path, e.g. `association/associatedFiles/association`.
        path: String,
        /// The unknown element's name.
        name: String,
    },
    /// Something in the association tree that does not fit (text where none is expected, a
    /// second root, a bad boolean, a file without a name).
    Tree {
        /// Element path.
        path: String,
        /// What was wrong.
        detail: String,
    },
    /// A part of a multipart reply was odd.
    Multipart {
        /// Index of the part (0-based).
        part: usize,
        /// What was wrong.
        detail: String,
    },
    /// A part's `Content-Disposition` file name was changed (path components dropped,
    /// dangerous characters replaced) or rejected by the sanitizer.
    UnsafeFilename {
        /// Index of the part (0-based).
        part: usize,
        /// The name as sent, with control characters escaped.
        filename: String,
        /// What the sanitizer did.
        reason: String,
    },
    /// A row of the calSelector VOTable was odd.
    Row {
        /// Index of the row (0-based).
        row: usize,
        /// What was wrong.
        detail: String,
    },
}

impl fmt::Display for ParseWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseWarning::Description { offset, detail } => {
                write!(f, "cascade description at byte {offset}: {detail}")
            }
            ParseWarning::UnknownElement { path, name } => {
                write!(
                    f,
                    "association tree: unknown element <{name}> in {path}, skipped"
                )
            }
            ParseWarning::Tree { path, detail } => {
                write!(f, "association tree at {path}: {detail}")
            }
            ParseWarning::Multipart { part, detail } => {
                write!(f, "multipart part {part}: {detail}")
            }
            ParseWarning::UnsafeFilename {
                part,
                filename,
                reason,
            } => write!(
                f,
                "multipart part {part}: file name {filename:?} not used as sent ({reason})"
            ),
            ParseWarning::Row { row, detail } => write!(f, "calSelector row {row}: {detail}"),
        }
    }
}
