//! A small `.netrc` reader: `machine`, `default`, `login`, `password`, `account`, `macdef`.
//!
//! Entries are machine-scoped and port-independent (as in curl): the host of a URL is compared
//! with the `machine` name, case-insensitively. A `default` entry applies to any host and is
//! used only when no machine matches.

use std::path::{Path, PathBuf};

use crate::{Error, Password, Result};

/// One entry of a `.netrc` file.
#[derive(Debug, Clone)]
pub struct NetrcEntry {
    /// The machine name; `None` for the `default` entry.
    pub machine: Option<String>,
    /// `login`.
    pub login: Option<String>,
    /// `password`.
    pub password: Option<Password>,
}

/// A parsed `.netrc` file.
#[derive(Debug, Clone, Default)]
pub struct Netrc {
    entries: Vec<NetrcEntry>,
}

impl Netrc {
    /// Parses `.netrc` text; `path` is only used in error messages.
    ///
    /// # Errors
    /// [`Error::Netrc`] for a keyword without a value or an unknown keyword.
    pub fn parse(text: &str, path: &Path) -> Result<Netrc> {
        let mut entries: Vec<NetrcEntry> = Vec::new();
        let mut tokens = text.split_whitespace().enumerate().peekable();
        let error = |token_index: usize, reason: &str| Error::Netrc {
            path: path.to_path_buf(),
            token_index,
            reason: reason.to_owned(),
        };
        while let Some((index, token)) = tokens.next() {
            match token {
                "machine" => {
                    let (_, name) = tokens
                        .next()
                        .ok_or_else(|| error(index, "machine without a name"))?;
                    entries.push(NetrcEntry {
                        machine: Some(name.to_ascii_lowercase()),
                        login: None,
                        password: None,
                    });
                }
                "default" => entries.push(NetrcEntry {
                    machine: None,
                    login: None,
                    password: None,
                }),
                "login" | "password" | "account" => {
                    let (_, value) = tokens
                        .next()
                        .ok_or_else(|| error(index, "keyword without a value"))?;
                    let entry = entries
                        .last_mut()
                        .ok_or_else(|| error(index, "login or password before any machine"))?;
                    match token {
                        "login" => entry.login = Some(value.to_owned()),
                        "password" => entry.password = Some(Password::new(value)),
                        _ => {}
                    }
                }
                "macdef" => {
                    // A macro runs to the next empty line; whitespace splitting loses lines, so
                    // skip tokens until the next `machine`/`default` keyword instead.
                    while let Some((_, next)) = tokens.peek() {
                        if *next == "machine" || *next == "default" {
                            break;
                        }
                        tokens.next();
                    }
                }
                _ => {
                    return Err(error(
                        index,
                        "unknown keyword (expected machine, default, login, password, account or macdef)",
                    ));
                }
            }
        }
        Ok(Netrc { entries })
    }

    /// Reads and parses a file. A loose mode (readable by others) is reported with a warning.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be read, [`Error::Netrc`] if it does not parse.
    pub fn load(path: &Path) -> Result<Netrc> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            action: "cannot read",
            path: path.to_path_buf(),
            source,
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            if let Ok(metadata) = std::fs::metadata(path) {
                let mode = metadata.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "netrc file is readable by others; run chmod 600");
                }
            }
        }
        Netrc::parse(&text, path)
    }

    /// The default location: `$NETRC` if set, else `~/.netrc`.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(path) = std::env::var_os("NETRC") {
            if !path.is_empty() {
                return Some(PathBuf::from(path));
            }
        }
        dirs::home_dir().map(|home| home.join(".netrc"))
    }

    /// All entries in file order.
    pub fn entries(&self) -> &[NetrcEntry] {
        &self.entries
    }

    /// The entry for `host` (and, if given, `login`): the first matching machine, else
    /// `default`.
    pub fn find(&self, host: &str, login: Option<&str>) -> Option<&NetrcEntry> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let login_matches = |entry: &&NetrcEntry| match (login, entry.login.as_deref()) {
            (Some(wanted), Some(have)) => wanted == have,
            (Some(_), None) => true,
            (None, _) => true,
        };
        self.entries
            .iter()
            .filter(|entry| entry.machine.as_deref() == Some(host.as_str()))
            .find(login_matches)
            .or_else(|| {
                self.entries
                    .iter()
                    .filter(|entry| entry.machine.is_none())
                    .find(login_matches)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Netrc> {
        Netrc::parse(text, Path::new("test.netrc"))
    }

    #[test]
    fn machine_scoped_lookup() {
        let netrc = parse(
            "machine www.eso.org login alice password s3cret\n\
             machine www.eso.org login bob password other\n\
             macdef init\ncd /pub\n\n\
             machine archive.eso.org.evil.test login alice password wrong\n\
             default login anon password anon@\n",
        )
        .unwrap();
        let alice = netrc.find("WWW.eso.org", Some("alice")).unwrap();
        assert_eq!(alice.password.as_ref().unwrap().secret(), "s3cret");
        let bob = netrc.find("www.eso.org", Some("bob")).unwrap();
        assert_eq!(bob.password.as_ref().unwrap().secret(), "other");
        let first = netrc.find("www.eso.org", None).unwrap();
        assert_eq!(first.login.as_deref(), Some("alice"));
        let fallback = netrc.find("archive.eso.org", Some("anon")).unwrap();
        assert_eq!(fallback.machine, None);
        assert!(netrc.find("archive.eso.org", Some("alice")).is_none());
        assert!(!format!("{netrc:?}").contains("s3cret"));
    }

    #[test]
    fn malformed_files_are_errors() {
        assert!(parse("machine").is_err());
        assert!(parse("login alice").is_err());
        assert!(parse("machine a login").is_err());
        assert!(parse("machine a frobnicate b").is_err());
        let err = parse("machine a password").unwrap_err().to_string();
        assert!(err.contains("test.netrc"), "{err}");
        assert!(parse("").unwrap().entries().is_empty());
    }
}
