//! Where a password comes from: a no-echo prompt, standard input, an environment variable,
//! `~/.netrc`, or the caller. Never a command-line argument (visible in `ps`).

use std::io::BufRead as _;
use std::path::PathBuf;

use crate::netrc::Netrc;
use crate::{Error, Password, Result};

/// The environment variable read by [`PasswordSource::Env`] (weaker than a prompt: other
/// processes of the same user can read it).
pub const PASSWORD_ENV: &str = "ESO_PASSWORD";

/// A source of a password.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PasswordSource {
    /// Ask on the terminal without echo.
    Prompt,
    /// Read the first line of standard input (`--password-stdin`).
    Stdin,
    /// The `ESO_PASSWORD` environment variable.
    Env,
    /// Another environment variable.
    EnvVar(String),
    /// A `.netrc` file (default `$NETRC` or `~/.netrc`), entry for the identity provider's host.
    Netrc(Option<PathBuf>),
    /// A password the caller already has (for example from a keyring).
    Value(Password),
    /// Whatever non-interactive source has a password for the user when it is needed:
    /// `ESO_PASSWORD`, then `~/.netrc` (see [`PasswordSource::automatic`]). Suited to silent
    /// renewal when the user name is not known in advance.
    Automatic,
}

impl PasswordSource {
    /// Whether this source needs a person (a prompt) or consumes standard input, so it cannot
    /// be used for a silent renewal.
    pub fn is_interactive(&self) -> bool {
        matches!(self, PasswordSource::Prompt | PasswordSource::Stdin)
    }

    /// The first non-interactive source that has a password for `user` at `host`:
    /// `ESO_PASSWORD`, then `~/.netrc`. Used to renew an expired login without asking.
    pub fn automatic(user: &str, host: &str) -> Option<PasswordSource> {
        if std::env::var(PASSWORD_ENV).is_ok_and(|value| !value.is_empty()) {
            return Some(PasswordSource::Env);
        }
        let path = Netrc::default_path()?;
        if !path.exists() {
            return None;
        }
        let netrc = Netrc::load(&path).ok()?;
        let entry = netrc.find(host, Some(user))?;
        entry.password.as_ref()?;
        Some(PasswordSource::Netrc(Some(path)))
    }

    /// The source for an interactive `eso login`: standard input if `password_stdin`, else an
    /// automatic source if one has a password, else the prompt.
    pub fn for_login(user: &str, host: &str, password_stdin: bool) -> PasswordSource {
        if password_stdin {
            return PasswordSource::Stdin;
        }
        PasswordSource::automatic(user, host).unwrap_or(PasswordSource::Prompt)
    }

    /// Obtains the password for `user` at `host` (the identity provider's host, for netrc).
    ///
    /// Blocking: the prompt and standard input wait for the user. In async code call it before
    /// the first `.await` that needs it, or in `spawn_blocking`.
    ///
    /// # Errors
    /// [`Error::Password`] if the source has no password (unset variable, no netrc entry, no
    /// terminal, empty input); [`Error::Io`]/[`Error::Netrc`] for netrc files.
    pub fn resolve(&self, user: &str, host: &str) -> Result<Password> {
        let password = match self {
            PasswordSource::Prompt => {
                let prompt = format!("Password for {user} at {host}: ");
                rpassword::prompt_password(prompt).map_err(|err| Error::Password {
                    reason: format!(
                        "cannot prompt on the terminal ({err}); use --password-stdin, {PASSWORD_ENV} or ~/.netrc"
                    ),
                })?
            }
            PasswordSource::Stdin => {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|err| Error::Password {
                        reason: format!("cannot read standard input: {err}"),
                    })?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            }
            PasswordSource::Env => env_password(PASSWORD_ENV)?,
            PasswordSource::EnvVar(name) => env_password(name)?,
            PasswordSource::Netrc(path) => {
                let path = match path {
                    Some(path) => path.clone(),
                    None => Netrc::default_path().ok_or_else(|| Error::Password {
                        reason: "no home directory for ~/.netrc".to_owned(),
                    })?,
                };
                let netrc = Netrc::load(&path)?;
                let entry = netrc
                    .find(host, Some(user))
                    .ok_or_else(|| Error::Password {
                        reason: format!(
                            "no entry for machine {host} login {user} in {}",
                            path.display()
                        ),
                    })?;
                match &entry.password {
                    Some(password) => password.secret().to_owned(),
                    None => {
                        return Err(Error::Password {
                            reason: format!(
                                "the entry for {host} in {} has no password",
                                path.display()
                            ),
                        });
                    }
                }
            }
            PasswordSource::Value(password) => password.secret().to_owned(),
            PasswordSource::Automatic => {
                let source = PasswordSource::automatic(user, host).ok_or_else(|| Error::Password {
                    reason: format!(
                        "neither {PASSWORD_ENV} nor ~/.netrc (machine {host} login {user}) has a password"
                    ),
                })?;
                return source.resolve(user, host);
            }
        };
        if password.is_empty() {
            return Err(Error::Password {
                reason: "the password is empty".to_owned(),
            });
        }
        Ok(Password::new(password))
    }
}

fn env_password(name: &str) -> Result<String> {
    std::env::var(name).map_err(|_| Error::Password {
        reason: format!("environment variable {name} is not set or not unicode"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_and_netrc_sources() {
        let password = PasswordSource::Value(Password::new("pw"))
            .resolve("alice", "www.eso.org")
            .unwrap();
        assert_eq!(password.secret(), "pw");
        assert!(
            PasswordSource::Value(Password::new(""))
                .resolve("a", "b")
                .is_err()
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("netrc");
        std::fs::write(
            &path,
            "machine www.eso.org login alice password fromnetrc\n",
        )
        .unwrap();
        let source = PasswordSource::Netrc(Some(path.clone()));
        assert!(!source.is_interactive());
        assert_eq!(
            source.resolve("alice", "www.eso.org").unwrap().secret(),
            "fromnetrc"
        );
        let err = source
            .resolve("bob", "www.eso.org")
            .unwrap_err()
            .to_string();
        assert!(err.contains("login bob"), "{err}");
        assert!(source.resolve("alice", "evil.test").is_err());
    }

    #[test]
    fn env_var_source() {
        let name = "VO_AUTH_TEST_PASSWORD_SOURCE_UNSET";
        let err = PasswordSource::EnvVar(name.to_owned())
            .resolve("a", "b")
            .unwrap_err();
        assert!(err.to_string().contains(name));
        assert!(PasswordSource::Prompt.is_interactive());
        assert!(PasswordSource::Stdin.is_interactive());
    }
}
