//! Pure request builders for the calSelector `associations` endpoint.
//!
//! calSelector answers `{archive}/calselector/v1/associations` with:
//! - `dp_id` (repeatable) and `mode=Raw2Raw|Raw2Master`;
//! - `responseformat=votable` for the DataLink-compatible VOTable (ESO notebook, seed 000 §4.2),
//!   or nothing for the association tree XML (`application/xml; content=calselector`),
//!   which becomes a `multipart/form-data` body with one part per frame when several `dp_id`s are sent.
//!
//! One frame is asked by GET, many by POST with a form body of repeated `dp_id`s, in batches.
//! The builders return `http::Request<Vec<u8>>` and never touch the network.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::{Error, Result};

/// The path of the associations endpoint below the archive base URL.
pub const ASSOCIATIONS_PATH: &str = "calselector/v1/associations";

/// Default number of `dp_id`s sent in one POST.
pub const DEFAULT_BATCH_SIZE: usize = 50;

/// Longest `dp_id` accepted by the builders (ESO ids are about 30 characters).
const MAX_DP_ID_LEN: usize = 256;

/// The calibration cascade asked for, or the one calSelector executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Mode {
    /// Raw calibration frames (the whole cascade down to biases).
    Raw2Raw,
    /// Processed master calibrations; calSelector falls back to raw ones when none exist.
    Raw2Master,
}

impl Mode {
    /// The spelling used on the wire: `Raw2Raw` or `Raw2Master`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Raw2Raw => "Raw2Raw",
            Mode::Raw2Master => "Raw2Master",
        }
    }

    /// The lower-case suffix used in file names, e.g. `<dp_id>_raw2master.xml`.
    pub fn file_suffix(self) -> &'static str {
        match self {
            Mode::Raw2Raw => "raw2raw",
            Mode::Raw2Master => "raw2master",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = Error;

    /// Accepts `Raw2Raw` and `Raw2Master` in any case.
    fn from_str(s: &str) -> Result<Self> {
        let trimmed = s.trim();
        if trimmed.eq_ignore_ascii_case("raw2raw") {
            Ok(Mode::Raw2Raw)
        } else if trimmed.eq_ignore_ascii_case("raw2master") {
            Ok(Mode::Raw2Master)
        } else {
            Err(Error::InvalidMode {
                value: trimmed.to_owned(),
            })
        }
    }
}

/// What calSelector should answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseFormat {
    /// The DataLink-compatible VOTable (`responseformat=votable`).
    VoTable,
    /// The association tree XML; a multipart body for several frames.
    AssociationTree,
}

/// One request of a batch, with the frames it asks for.
#[derive(Debug)]
pub struct BatchRequest {
    /// The `dp_id`s sent in this request, in order.
    pub dp_ids: Vec<String>,
    /// The request: GET for one frame, POST for several.
    pub request: http::Request<Vec<u8>>,
}

/// Builder of calSelector requests for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalSelector {
    endpoint: Url,
}

impl CalSelector {
    /// Uses `endpoint` as the full associations URL
    /// (e.g. `vo_auth::EsoEndpoints::calselector()`).
    pub fn new(endpoint: Url) -> Self {
        CalSelector { endpoint }
    }

    /// The associations endpoint below an archive base URL such as `https://archive.eso.org/`.
    ///
    /// # Errors
    /// [`Error::InvalidEndpoint`] if the base URL cannot carry a path.
    pub fn from_archive(archive: &Url) -> Result<Self> {
        let mut base = archive.clone();
        if base.cannot_be_a_base() {
            return Err(Error::InvalidEndpoint {
                url: archive.to_string(),
            });
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let endpoint = base
            .join(ASSOCIATIONS_PATH)
            .map_err(|_| Error::InvalidEndpoint {
                url: archive.to_string(),
            })?;
        Ok(CalSelector { endpoint })
    }

    /// The associations URL without query.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The GET URL for one frame.
    ///
    /// # Errors
    /// [`Error::InvalidDpId`] if `dp_id` is empty, too long or holds control characters.
    pub fn url(&self, dp_id: &str, mode: Mode, format: ResponseFormat) -> Result<Url> {
        check_dp_id(dp_id)?;
        let mut url = self.endpoint.clone();
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("dp_id", dp_id);
            query.append_pair("mode", mode.as_str());
            if format == ResponseFormat::VoTable {
                query.append_pair("responseformat", "votable");
            }
        }
        Ok(url)
    }

    /// A GET request for one frame.
    ///
    /// # Errors
    /// [`Error::InvalidDpId`] as for [`CalSelector::url`].
    pub fn get(
        &self,
        dp_id: &str,
        mode: Mode,
        format: ResponseFormat,
    ) -> Result<http::Request<Vec<u8>>> {
        let url = self.url(dp_id, mode, format)?;
        let accept = match format {
            ResponseFormat::VoTable => "application/x-votable+xml, text/xml;q=0.5",
            ResponseFormat::AssociationTree => "application/xml, multipart/form-data;q=0.5",
        };
        http::Request::get(url.as_str())
            .header(http::header::ACCEPT, accept)
            .body(Vec::new())
            .map_err(|source| Error::Request {
                reason: source.to_string(),
            })
    }

    /// A POST request with a form body of repeated `dp_id`s.
    ///
    /// # Errors
    /// [`Error::InvalidDpId`] for a bad id, [`Error::EmptyRequest`] if `dp_ids` is empty.
    pub fn post<S: AsRef<str>>(
        &self,
        dp_ids: &[S],
        mode: Mode,
        format: ResponseFormat,
    ) -> Result<http::Request<Vec<u8>>> {
        if dp_ids.is_empty() {
            return Err(Error::EmptyRequest);
        }
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for dp_id in dp_ids {
            check_dp_id(dp_id.as_ref())?;
            form.append_pair("dp_id", dp_id.as_ref());
        }
        form.append_pair("mode", mode.as_str());
        if format == ResponseFormat::VoTable {
            form.append_pair("responseformat", "votable");
        }
        let body = form.finish().into_bytes();
        http::Request::post(self.endpoint.as_str())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(
                http::header::ACCEPT,
                "application/xml, multipart/form-data, application/x-votable+xml",
            )
            .body(body)
            .map_err(|source| Error::Request {
                reason: source.to_string(),
            })
    }

    /// Requests for many frames: one GET if there is a single frame, otherwise POSTs of at
    /// most `batch_size` frames each (a `batch_size` of 0 is taken as 1).
    /// Duplicate `dp_id`s are sent once.
    ///
    /// # Errors
    /// [`Error::InvalidDpId`] for a bad id, [`Error::EmptyRequest`] if `dp_ids` is empty.
    pub fn batches<S: AsRef<str>>(
        &self,
        dp_ids: &[S],
        mode: Mode,
        format: ResponseFormat,
        batch_size: usize,
    ) -> Result<Vec<BatchRequest>> {
        let unique = dedup_dp_ids(dp_ids);
        if unique.is_empty() {
            return Err(Error::EmptyRequest);
        }
        if unique.len() == 1 {
            let request = self.get(&unique[0], mode, format)?;
            return Ok(vec![BatchRequest {
                dp_ids: unique,
                request,
            }]);
        }
        unique
            .chunks(batch_size.max(1))
            .map(|chunk| {
                let request = if chunk.len() == 1 {
                    self.get(&chunk[0], mode, format)?
                } else {
                    self.post(chunk, mode, format)?
                };
                Ok(BatchRequest {
                    dp_ids: chunk.to_vec(),
                    request,
                })
            })
            .collect()
    }
}

/// Trims the ids and keeps the first occurrence of each.
pub(crate) fn dedup_dp_ids<S: AsRef<str>>(dp_ids: &[S]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut unique = Vec::new();
    for dp_id in dp_ids {
        let trimmed = dp_id.as_ref().trim();
        if seen.insert(trimmed.to_owned()) {
            unique.push(trimmed.to_owned());
        }
    }
    unique
}

fn check_dp_id(dp_id: &str) -> Result<()> {
    let reason = if dp_id.trim().is_empty() {
        Some("empty")
    } else if dp_id.len() > MAX_DP_ID_LEN {
        Some("longer than 256 bytes")
    } else if dp_id.chars().any(char::is_control) {
        Some("contains control characters")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidDpId {
            dp_id: dp_id.escape_debug().to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> CalSelector {
        CalSelector::from_archive(&Url::parse("https://archive.eso.org").unwrap()).unwrap()
    }

    #[test]
    fn get_url_matches_seed_000() {
        let url = service()
            .url(
                "SPHER.2016-09-26T03:04:09.308",
                Mode::Raw2Master,
                ResponseFormat::VoTable,
            )
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://archive.eso.org/calselector/v1/associations?dp_id=SPHER.2016-09-26T03%3A04%3A09.308&mode=Raw2Master&responseformat=votable"
        );
        let tree = service()
            .url("X.1", Mode::Raw2Raw, ResponseFormat::AssociationTree)
            .unwrap();
        assert_eq!(tree.query(), Some("dp_id=X.1&mode=Raw2Raw"));
    }

    #[test]
    fn archive_with_path_keeps_it() {
        let service =
            CalSelector::from_archive(&Url::parse("http://127.0.0.1:9/mirror").unwrap()).unwrap();
        assert_eq!(
            service.endpoint().as_str(),
            "http://127.0.0.1:9/mirror/calselector/v1/associations"
        );
    }

    #[test]
    fn post_repeats_dp_id() {
        let request = service()
            .post(
                &["A.1", "B:2"],
                Mode::Raw2Raw,
                ResponseFormat::AssociationTree,
            )
            .unwrap();
        assert_eq!(request.method(), http::Method::POST);
        assert_eq!(
            std::str::from_utf8(request.body()).unwrap(),
            "dp_id=A.1&dp_id=B%3A2&mode=Raw2Raw"
        );
        assert_eq!(
            request.headers()[http::header::CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
    }

    #[test]
    fn batches_split_and_dedup() {
        let ids = ["a", "b", "c", "a", "d", "e"];
        let batches = service()
            .batches(&ids, Mode::Raw2Master, ResponseFormat::AssociationTree, 2)
            .unwrap();
        let shapes: Vec<_> = batches
            .iter()
            .map(|b| (b.request.method().clone(), b.dp_ids.clone()))
            .collect();
        assert_eq!(
            shapes,
            vec![
                (http::Method::POST, vec!["a".to_owned(), "b".to_owned()]),
                (http::Method::POST, vec!["c".to_owned(), "d".to_owned()]),
                (http::Method::GET, vec!["e".to_owned()]),
            ]
        );
        let single = service()
            .batches(&["a", "a"], Mode::Raw2Raw, ResponseFormat::VoTable, 10)
            .unwrap();
        assert_eq!(single.len(), 1);
        assert_eq!(single[0].request.method(), http::Method::GET);
    }

    #[test]
    fn bad_ids_are_errors() {
        let empty: [&str; 0] = [];
        assert!(matches!(
            service().batches(&empty, Mode::Raw2Raw, ResponseFormat::VoTable, 5),
            Err(Error::EmptyRequest)
        ));
        assert!(matches!(
            service().url("a\nb", Mode::Raw2Raw, ResponseFormat::VoTable),
            Err(Error::InvalidDpId { .. })
        ));
        assert!(matches!(
            service().url("  ", Mode::Raw2Raw, ResponseFormat::VoTable),
            Err(Error::InvalidDpId { .. })
        ));
    }

    #[test]
    fn mode_parses_any_case() {
        assert_eq!("raw2master".parse::<Mode>().unwrap(), Mode::Raw2Master);
        assert_eq!(" RAW2RAW ".parse::<Mode>().unwrap(), Mode::Raw2Raw);
        assert!("raw".parse::<Mode>().is_err());
    }
}
