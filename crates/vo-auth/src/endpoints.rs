//! ESO service endpoints, configurable for tests, mirrors and the offline demo.

use url::Url;

use crate::{Error, Origin, Result};

/// Default ESO archive base URL.
pub const DEFAULT_ARCHIVE_URL: &str = "https://archive.eso.org";
/// Default ESO data portal base URL.
pub const DEFAULT_DATAPORTAL_URL: &str = "https://dataportal.eso.org";
/// Default ESO single sign-on base URL.
pub const DEFAULT_SSO_URL: &str = "https://www.eso.org";

/// Base URLs of the ESO services.
///
/// Paths are appended to each base (which may carry a path prefix of its own):
/// `archive` serves `/tap_obs`, `/tap_cat`, `/datalink/links`, `/calselector/v1/associations`,
/// `/ssap`; `dataportal` serves `/dataPortal/file/<dp_id>` and `/dataPortal/soda`;
/// `sso` serves `/sso/oidc/token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsoEndpoints {
    /// The archive (TAP, DataLink, calSelector, SSA).
    pub archive: Url,
    /// The data portal (files, SODA).
    pub dataportal: Url,
    /// The single sign-on service (token endpoint).
    pub sso: Url,
}

impl Default for EsoEndpoints {
    fn default() -> Self {
        EsoEndpoints {
            archive: fixed(DEFAULT_ARCHIVE_URL),
            dataportal: fixed(DEFAULT_DATAPORTAL_URL),
            sso: fixed(DEFAULT_SSO_URL),
        }
    }
}

fn fixed(text: &str) -> Url {
    #[allow(clippy::expect_used)]
    Url::parse(text).expect("constant URL parses")
}

impl EsoEndpoints {
    /// The production endpoints.
    pub fn production() -> EsoEndpoints {
        EsoEndpoints::default()
    }

    /// Endpoints from `ESO_ARCHIVE_URL`, `ESO_DATAPORTAL_URL`, `ESO_SSO_URL` (defaults:
    /// the production services).
    ///
    /// A value that is not an http(s) URL is reported with a `tracing` warning and replaced by
    /// the default; use [`EsoEndpoints::try_from_env`] to get an error instead.
    pub fn from_env() -> EsoEndpoints {
        match EsoEndpoints::try_from_env() {
            Ok(endpoints) => endpoints,
            Err(err) => {
                tracing::warn!(error = %err, "ignoring invalid ESO endpoint setting");
                let mut endpoints = EsoEndpoints::default();
                for (name, slot) in [
                    ("ESO_ARCHIVE_URL", &mut endpoints.archive),
                    ("ESO_DATAPORTAL_URL", &mut endpoints.dataportal),
                    ("ESO_SSO_URL", &mut endpoints.sso),
                ] {
                    if let Ok(Some(url)) = env_url(name) {
                        *slot = url;
                    }
                }
                endpoints
            }
        }
    }

    /// Endpoints from the environment, like [`EsoEndpoints::from_env`].
    ///
    /// # Errors
    /// [`Error::Config`] if a variable is set but is not an http(s) URL.
    pub fn try_from_env() -> Result<EsoEndpoints> {
        let mut endpoints = EsoEndpoints::default();
        if let Some(url) = env_url("ESO_ARCHIVE_URL")? {
            endpoints.archive = url;
        }
        if let Some(url) = env_url("ESO_DATAPORTAL_URL")? {
            endpoints.dataportal = url;
        }
        if let Some(url) = env_url("ESO_SSO_URL")? {
            endpoints.sso = url;
        }
        Ok(endpoints)
    }

    /// One base URL standing in for all three services (tests, mirrors, `--base-url`).
    pub fn with_base(base: Url) -> EsoEndpoints {
        EsoEndpoints {
            archive: base.clone(),
            dataportal: base.clone(),
            sso: base,
        }
    }

    /// Parses a base URL for [`EsoEndpoints::with_base`].
    ///
    /// # Errors
    /// [`Error::Config`] if `base` is not an http(s) URL.
    pub fn parse_base(base: &str) -> Result<EsoEndpoints> {
        Ok(EsoEndpoints::with_base(parse_base_url("--base-url", base)?))
    }

    /// `{archive}/tap_obs`: the TAP service of the observation archive.
    pub fn tap_obs(&self) -> Url {
        join(&self.archive, &["tap_obs"])
    }

    /// `{archive}/tap_cat`: the TAP service of the catalogue facility.
    pub fn tap_cat(&self) -> Url {
        join(&self.archive, &["tap_cat"])
    }

    /// `{archive}/datalink/links`: the DataLink `{links}` endpoint.
    pub fn datalink_links(&self) -> Url {
        join(&self.archive, &["datalink", "links"])
    }

    /// `{archive}/calselector/v1/associations`: calSelector.
    pub fn calselector(&self) -> Url {
        join(&self.archive, &["calselector", "v1", "associations"])
    }

    /// `{archive}/ssap`: the SSA service.
    pub fn ssap(&self) -> Url {
        join(&self.archive, &["ssap"])
    }

    /// `{dataportal}/dataPortal/file/<dp_id>`: one archive file (the id is percent-encoded
    /// as a single path segment). The URL always stays on the data portal origin; ids that are
    /// dot segments (`.`, `..`) cannot be represented and give a wrong path: use
    /// [`EsoEndpoints::try_file`] for untrusted ids.
    pub fn file(&self, dp_id: &str) -> Url {
        join(&self.dataportal, &["dataPortal", "file", dp_id])
    }

    /// Like [`EsoEndpoints::file`], but rejects ids that a URL cannot carry as one path segment
    /// (empty, `.`, `..` and their percent-encoded forms, which URL parsing removes).
    ///
    /// # Errors
    /// [`Error::Config`] naming the id.
    pub fn try_file(&self, dp_id: &str) -> Result<Url> {
        let url = self.file(dp_id);
        let base = join(&self.dataportal, &["dataPortal", "file"]);
        let expected_prefix = format!("{}/", base.path());
        let last_ok = url
            .path()
            .strip_prefix(&expected_prefix)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
        if !last_ok {
            return Err(Error::Config {
                name: "dp_id".to_owned(),
                reason: format!("{dp_id:?} is not a valid archive file id"),
            });
        }
        Ok(url)
    }

    /// `{dataportal}/dataPortal/soda`: the SODA cutout service.
    pub fn soda(&self) -> Url {
        join(&self.dataportal, &["dataPortal", "soda"])
    }

    /// `{sso}/sso/oidc/token`: the OIDC token endpoint.
    pub fn token_endpoint(&self) -> Url {
        join(&self.sso, &["sso", "oidc", "token"])
    }

    /// The origin of the single sign-on service (token cache key).
    pub fn sso_origin(&self) -> Origin {
        origin_of(&self.sso)
    }

    /// The origins ESO credentials are bound to: archive, data portal and SSO, deduplicated.
    pub fn origins(&self) -> Vec<Origin> {
        let mut origins = Vec::new();
        for url in [&self.archive, &self.dataportal, &self.sso] {
            if let Some(origin) = Origin::from_url(url) {
                if !origins.contains(&origin) {
                    origins.push(origin);
                }
            }
        }
        origins
    }
}

fn origin_of(url: &Url) -> Origin {
    // Configured endpoint URLs are checked to be http(s) with a host; only a hand-built struct
    // with an odd URL falls back to the production SSO origin.
    Origin::from_url(url).unwrap_or_else(Origin::eso_sso)
}

fn env_url(name: &str) -> Result<Option<Url>> {
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => parse_base_url(name, value.trim()).map(Some),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::Config {
            name: name.to_owned(),
            reason: "not valid unicode".to_owned(),
        }),
    }
}

fn parse_base_url(name: &str, value: &str) -> Result<Url> {
    let url = Url::parse(value).map_err(|err| Error::Config {
        name: name.to_owned(),
        reason: format!("{value:?} is not a URL: {err}"),
    })?;
    if Origin::from_url(&url).is_none() {
        return Err(Error::Config {
            name: name.to_owned(),
            reason: format!("{value:?} is not an http or https URL with a host"),
        });
    }
    Ok(url)
}

/// Appends path segments to a base URL, keeping its path prefix and dropping query/fragment.
fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_paths() {
        let endpoints = EsoEndpoints::default();
        assert_eq!(
            endpoints.tap_obs().as_str(),
            "https://archive.eso.org/tap_obs"
        );
        assert_eq!(
            endpoints.tap_cat().as_str(),
            "https://archive.eso.org/tap_cat"
        );
        assert_eq!(
            endpoints.datalink_links().as_str(),
            "https://archive.eso.org/datalink/links"
        );
        assert_eq!(
            endpoints.calselector().as_str(),
            "https://archive.eso.org/calselector/v1/associations"
        );
        assert_eq!(endpoints.ssap().as_str(), "https://archive.eso.org/ssap");
        assert_eq!(
            endpoints.file("FORS2.2021-01-02T00:59:12.533").as_str(),
            "https://dataportal.eso.org/dataPortal/file/FORS2.2021-01-02T00:59:12.533"
        );
        assert_eq!(
            endpoints.soda().as_str(),
            "https://dataportal.eso.org/dataPortal/soda"
        );
        assert_eq!(
            endpoints.token_endpoint().as_str(),
            "https://www.eso.org/sso/oidc/token"
        );
        assert_eq!(endpoints.origins().len(), 3);
        assert_eq!(endpoints.sso_origin().to_string(), "https://www.eso.org");
    }

    #[test]
    fn base_with_prefix_and_hostile_ids() {
        let endpoints = EsoEndpoints::parse_base("http://127.0.0.1:9000/mirror/").unwrap();
        assert_eq!(
            endpoints.tap_obs().as_str(),
            "http://127.0.0.1:9000/mirror/tap_obs"
        );
        assert_eq!(
            endpoints.file("../x?y#z").as_str(),
            "http://127.0.0.1:9000/mirror/dataPortal/file/..%2Fx%3Fy%23z"
        );
        for odd in ["a/b", "%2e%2e", "a b", "x\\y"] {
            let url = endpoints.try_file(odd).unwrap();
            assert!(
                url.path().starts_with("/mirror/dataPortal/file/"),
                "{odd:?}: {url}"
            );
        }
        for bad in [".", "..", ""] {
            assert!(endpoints.try_file(bad).is_err(), "{bad:?}");
        }
        assert_eq!(endpoints.origins().len(), 1);
        assert!(EsoEndpoints::parse_base("file:///tmp").is_err());
        assert!(EsoEndpoints::parse_base("nonsense").is_err());
    }
}
