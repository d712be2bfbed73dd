//! TAP `RESPONSEFORMAT` values ([TAP 1.1, section 2.7.1](https://www.ivoa.net/documents/TAP/20190927/REC-TAP-1.1.html#tth_sEc2.7.1)).

use std::fmt;

/// The VOTable serialization asked of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VoTableEncoding {
    /// Whatever the server prefers (`votable`).
    #[default]
    ServerDefault,
    /// `TABLEDATA` (XML cells).
    TableData,
    /// `BINARY` (base64).
    Binary,
    /// `BINARY2` (base64 with null flags).
    Binary2,
}

/// The format of a TAP result.
///
/// VOTable results are parsed (streamed row by row); the other formats are passed
/// through untouched to a file or writer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResponseFormat {
    /// A VOTable, in the given serialization.
    VoTable(VoTableEncoding),
    /// Comma-separated values with a header line (`csv`).
    Csv,
    /// Tab-separated values (`tsv`).
    Tsv,
    /// JSON (`application/json`; the layout is the server's).
    Json,
    /// FITS binary table (`fits`).
    Fits,
    /// Any other value, sent verbatim and passed through.
    Other(String),
}

impl Default for ResponseFormat {
    fn default() -> Self {
        ResponseFormat::VoTable(VoTableEncoding::ServerDefault)
    }
}

impl ResponseFormat {
    /// The `RESPONSEFORMAT` parameter value sent to the server.
    pub fn as_param(&self) -> &str {
        match self {
            ResponseFormat::VoTable(VoTableEncoding::ServerDefault) => "votable",
            ResponseFormat::VoTable(VoTableEncoding::TableData) => {
                "application/x-votable+xml;serialization=TABLEDATA"
            }
            ResponseFormat::VoTable(VoTableEncoding::Binary) => {
                "application/x-votable+xml;serialization=BINARY"
            }
            ResponseFormat::VoTable(VoTableEncoding::Binary2) => {
                "application/x-votable+xml;serialization=BINARY2"
            }
            ResponseFormat::Csv => "csv",
            ResponseFormat::Tsv => "tsv",
            ResponseFormat::Json => "application/json",
            ResponseFormat::Fits => "fits",
            ResponseFormat::Other(value) => value,
        }
    }

    /// True when the result is a VOTable (parsed rather than passed through).
    pub fn is_votable(&self) -> bool {
        match self {
            ResponseFormat::VoTable(_) => true,
            ResponseFormat::Other(value) => is_votable_content_type(value),
            _ => false,
        }
    }

    /// A file name extension for saving the result.
    pub fn extension(&self) -> &'static str {
        match self {
            ResponseFormat::VoTable(_) => "vot",
            ResponseFormat::Csv => "csv",
            ResponseFormat::Tsv => "tsv",
            ResponseFormat::Json => "json",
            ResponseFormat::Fits => "fits",
            ResponseFormat::Other(_) => "dat",
        }
    }

    /// Parses a user's choice: `votable`, `tabledata`/`td`, `binary`, `binary2`, `csv`,
    /// `tsv`, `json`, `fits`; anything else is kept as [`ResponseFormat::Other`].
    pub fn from_name(name: &str) -> ResponseFormat {
        let lower = name.trim().to_ascii_lowercase();
        if let Some(params) = lower.strip_prefix("application/x-votable+xml") {
            let serialization = params
                .split(';')
                .filter_map(|p| p.trim().strip_prefix("serialization="))
                .next();
            return ResponseFormat::VoTable(match serialization {
                Some("tabledata") => VoTableEncoding::TableData,
                Some("binary") => VoTableEncoding::Binary,
                Some("binary2") => VoTableEncoding::Binary2,
                _ => VoTableEncoding::ServerDefault,
            });
        }
        match lower.as_str() {
            "votable" | "vot" | "xml" => ResponseFormat::VoTable(VoTableEncoding::ServerDefault),
            "tabledata" | "td" | "votable/td" => {
                ResponseFormat::VoTable(VoTableEncoding::TableData)
            }
            "binary" | "votable/b" => ResponseFormat::VoTable(VoTableEncoding::Binary),
            "binary2" | "votable/b2" => ResponseFormat::VoTable(VoTableEncoding::Binary2),
            "csv" | "text/csv" => ResponseFormat::Csv,
            "tsv" | "text/tab-separated-values" => ResponseFormat::Tsv,
            "json" | "application/json" => ResponseFormat::Json,
            "fits" | "application/fits" => ResponseFormat::Fits,
            _ => ResponseFormat::Other(name.trim().to_owned()),
        }
    }
}

impl fmt::Display for ResponseFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_param())
    }
}

/// True when a `Content-Type` (or format name) denotes a VOTable or generic XML, which
/// is how TAP servers return errors whatever format was asked (DaCHS: `text/xml`).
pub fn is_votable_content_type(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(
        mime.as_str(),
        "application/x-votable+xml"
            | "text/xml"
            | "application/xml"
            | "votable"
            | "text/x-votable+xml"
    ) || mime.starts_with("application/x-votable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in [
            "votable",
            "tabledata",
            "binary",
            "binary2",
            "csv",
            "tsv",
            "json",
            "fits",
        ] {
            let format = ResponseFormat::from_name(name);
            assert!(!matches!(format, ResponseFormat::Other(_)), "{name}");
            assert_eq!(
                ResponseFormat::from_name(format.as_param()).as_param(),
                format.as_param()
            );
        }
        assert_eq!(
            ResponseFormat::from_name("text/html"),
            ResponseFormat::Other("text/html".into())
        );
    }

    #[test]
    fn votable_content_types() {
        assert!(is_votable_content_type(
            "application/x-votable+xml;serialization=binary2"
        ));
        assert!(is_votable_content_type("text/xml"));
        assert!(is_votable_content_type("TEXT/XML; charset=utf-8"));
        assert!(!is_votable_content_type("text/csv;header=present"));
        assert!(!is_votable_content_type("application/fits"));
        assert!(ResponseFormat::VoTable(VoTableEncoding::Binary2).is_votable());
        assert!(!ResponseFormat::Csv.is_votable());
    }
}
