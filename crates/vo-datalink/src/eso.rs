//! ESO specifics: DataLink URLs computed from a `dp_id`, and ESO's service paths.
//!
//! ESO's DataLink service takes `ID=ivo://eso.org/ID?<dp_id>`; the identifier itself
//! contains `?` and is written unencoded, as in ESO's documentation
//! (`https://archive.eso.org/datalink/links?ID=ivo://eso.org/ID?ADP.2014-10-01T10:19:21.580`).
//! Everything else in the crate works with any IVOA service.

use url::Url;

use crate::query::url_with_params;

/// The prefix of ESO publisher dataset identifiers.
pub const IVOID_PREFIX: &str = "ivo://eso.org/ID?";

/// The ESO identifier of a `dp_id`: `ivo://eso.org/ID?<dp_id>` (identifiers already in
/// that form are returned unchanged).
pub fn ivoid(dp_id: &str) -> String {
    let dp_id = dp_id.trim();
    if dp_id.starts_with("ivo://") {
        dp_id.to_owned()
    } else {
        format!("{IVOID_PREFIX}{dp_id}")
    }
}

/// The `dp_id` of an ESO identifier, if it is one.
pub fn dp_id(ivoid: &str) -> Option<&str> {
    ivoid
        .trim()
        .strip_prefix(IVOID_PREFIX)
        .filter(|s| !s.is_empty())
}

/// ESO's DataLink endpoint under an archive base URL: `{archive}/datalink/links`.
pub fn links_endpoint(archive: &Url) -> Url {
    join(archive, "datalink/links")
}

/// The DataLink URL of a `dp_id`: `{archive}/datalink/links?ID=ivo://eso.org/ID?<dp_id>`.
pub fn links_url(archive: &Url, dp_id: &str) -> Url {
    url_with_params(&links_endpoint(archive), &[("ID".to_owned(), ivoid(dp_id))])
}

/// ESO's SODA sync endpoint: `{dataportal}/dataPortal/soda`.
pub fn soda_endpoint(dataportal: &Url) -> Url {
    join(dataportal, "dataPortal/soda")
}

/// ESO's SSA endpoint: `{archive}/ssap`.
pub fn ssap_endpoint(archive: &Url) -> Url {
    join(archive, "ssap")
}

/// What a user named on the command line: a DataLink URL to GET as is, or an
/// identifier to send as `ID` to ESO's DataLink service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinksInput {
    /// An `http`/`https` DataLink URL.
    Url(Url),
    /// An identifier (`ivo://...`; a bare `dp_id` is turned into `ivo://eso.org/ID?<dp_id>`).
    Id(String),
}

/// Classifies a user argument: `http(s)://...` is a DataLink URL, `ivo://...` an
/// identifier, anything else an ESO `dp_id`.
///
/// # Errors
/// [`crate::Error::UnsafeUrl`] for other URL schemes (`file:`, `ftp:` ...),
/// [`crate::Error::InvalidValue`] for an empty argument.
pub fn classify_input(input: &str) -> crate::Result<LinksInput> {
    let input = input.trim();
    if input.is_empty() {
        return Err(crate::Error::InvalidValue {
            param: "ID".into(),
            value: String::new(),
            reason: "empty identifier".into(),
        });
    }
    let lower = input.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return crate::query::checked_http_url(input).map(LinksInput::Url);
    }
    if lower.starts_with("ivo://") {
        return Ok(LinksInput::Id(input.to_owned()));
    }
    if let Some((scheme, _)) = input.split_once("://").or_else(|| {
        input.split_once(':').filter(|(s, _)| {
            s.len() > 1
                && s.chars().all(|c| c.is_ascii_alphabetic())
                && matches!(
                    s.to_ascii_lowercase().as_str(),
                    "file" | "ftp" | "javascript" | "data" | "s3" | "gs"
                )
        })
    }) {
        return Err(crate::Error::UnsafeUrl {
            url: input.to_owned(),
            scheme: scheme.to_owned(),
        });
    }
    Ok(LinksInput::Id(ivoid(input)))
}

fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{trimmed}/{path}"));
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computed_links_url_matches_eso_documentation() {
        let archive = Url::parse("https://archive.eso.org").unwrap();
        assert_eq!(
            links_url(&archive, "SPHER.2016-09-26T03:04:09.308").as_str(),
            "https://archive.eso.org/datalink/links?ID=ivo://eso.org/ID?SPHER.2016-09-26T03:04:09.308"
        );
        assert_eq!(
            links_url(&archive, "ivo://eso.org/ID?ADP.2014-10-01T10:19:21.580").as_str(),
            "https://archive.eso.org/datalink/links?ID=ivo://eso.org/ID?ADP.2014-10-01T10:19:21.580"
        );
        let portal = Url::parse("https://dataportal.eso.org/").unwrap();
        assert_eq!(
            soda_endpoint(&portal).as_str(),
            "https://dataportal.eso.org/dataPortal/soda"
        );
        assert_eq!(
            ssap_endpoint(&archive).as_str(),
            "https://archive.eso.org/ssap"
        );
        assert_eq!(dp_id("ivo://eso.org/ID?X.1"), Some("X.1"));
    }

    #[test]
    fn inputs_are_classified() {
        assert_eq!(
            classify_input("SPHER.2016-09-26T03:04:09.308").unwrap(),
            LinksInput::Id("ivo://eso.org/ID?SPHER.2016-09-26T03:04:09.308".into())
        );
        assert_eq!(
            classify_input("ivo://votest.local/~?voimg/data/img_01.fits").unwrap(),
            LinksInput::Id("ivo://votest.local/~?voimg/data/img_01.fits".into())
        );
        assert!(matches!(
            classify_input("https://archive.eso.org/datalink/links?ID=ivo://eso.org/ID?X").unwrap(),
            LinksInput::Url(_)
        ));
        assert!(classify_input("file:///etc/passwd").is_err());
        assert!(classify_input("javascript:alert(1)").is_err());
        assert!(classify_input(" ").is_err());
    }
}
