//! The token cache: one file per identity provider and user, readable only by its owner.
//!
//! Files live in `$ESO_CONFIG_DIR/tokens/` if that variable is set, else in the user's cache
//! directory (`~/.cache/eso-vo/tokens/` on Linux). The directory is created with mode 0700,
//! each file is written to a fresh temporary file with mode 0600 (`create_new`) and renamed
//! into place, so a reader never sees half a file. A file or directory readable or writable by
//! others, or a symlink, is refused.
//!
//! The file name is a hash of the identity provider origin and the user name, so user names
//! never become paths.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::jwt::{self, Claims};
use crate::{Credentials, Error, Origin, Password, Result, Token};

/// The environment variable that moves the configuration (and token cache) directory.
pub const CONFIG_DIR_ENV: &str = "ESO_CONFIG_DIR";

/// A login: the bearer token of one user at one identity provider, with its expiry.
#[derive(Debug, Clone)]
pub struct CachedToken {
    /// The identity provider (SSO) origin.
    pub sso: Origin,
    /// The user name used to log in.
    pub user: String,
    /// The bearer token (for ESO the `id_token`).
    pub token: Token,
    /// When the token expires (from `expires_in`, else the JWT `exp`, else a conservative guess).
    pub expires_at: SystemTime,
    /// When the token was obtained.
    pub obtained_at: SystemTime,
}

impl CachedToken {
    /// Claims decoded from the token without verification (display only); `None` if the
    /// token is not a readable JWT.
    pub fn claims(&self) -> Option<Claims> {
        jwt::decode_unverified(self.token.secret())
    }

    /// Whether the token is still usable at `now` for at least `margin`.
    pub fn is_fresh(&self, now: SystemTime, margin: Duration) -> bool {
        match now.checked_add(margin) {
            Some(deadline) => deadline < self.expires_at,
            None => false,
        }
    }

    /// The time left at `now`; `None` if expired.
    pub fn time_left(&self, now: SystemTime) -> Option<Duration> {
        self.expires_at
            .duration_since(now)
            .ok()
            .filter(|left| !left.is_zero())
    }

    /// Bearer credentials with this token.
    pub fn credentials(&self) -> Credentials {
        Credentials::Bearer(self.token.clone())
    }
}

#[derive(Serialize, Deserialize)]
struct WireToken {
    version: u32,
    sso: String,
    user: String,
    token: String,
    expires_at: u64,
    obtained_at: u64,
}

/// A stored password (`eso login --store-password`). No `Debug`: it holds a secret.
#[derive(Serialize, Deserialize)]
struct WirePassword {
    version: u32,
    sso: String,
    user: String,
    password: String,
}

/// The token cache directory.
#[derive(Debug, Clone)]
pub struct TokenCache {
    dir: PathBuf,
}

impl TokenCache {
    /// A cache in `dir` (created on first store).
    pub fn new(dir: impl Into<PathBuf>) -> TokenCache {
        TokenCache { dir: dir.into() }
    }

    /// The default cache: `$ESO_CONFIG_DIR/tokens`, else `<user cache dir>/eso-vo/tokens`.
    ///
    /// # Errors
    /// [`Error::Config`] if neither is available (no home directory).
    pub fn from_env() -> Result<TokenCache> {
        if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV) {
            if !dir.is_empty() {
                return Ok(TokenCache::new(PathBuf::from(dir).join("tokens")));
            }
        }
        let base = dirs::cache_dir().ok_or_else(|| Error::Config {
            name: CONFIG_DIR_ENV.to_owned(),
            reason: "no user cache directory found; set ESO_CONFIG_DIR".to_owned(),
        })?;
        Ok(TokenCache::new(base.join("eso-vo").join("tokens")))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds the login of `user` at `sso`.
    pub fn path_for(&self, sso: &Origin, user: &str) -> PathBuf {
        self.named_path("token", sso, user)
    }

    /// The file that holds the stored password of `user` at `sso` (see
    /// [`TokenCache::store_password`]).
    pub fn password_path_for(&self, sso: &Origin, user: &str) -> PathBuf {
        self.named_path("password", sso, user)
    }

    /// Stores the password of `user` at `sso`, only when the user asked for it
    /// (`eso login --store-password`), so that expired logins renew without asking.
    ///
    /// This is the file fallback for machines without a system keyring (RELIABILITY C7):
    /// mode 0600 in the 0700 cache directory, written to a new temporary file and renamed.
    /// The password is as safe as the user's account; `eso logout` removes it.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be written, [`Error::InsecurePermissions`] if the
    /// directory is open to others.
    pub fn store_password(&self, sso: &Origin, user: &str, password: &Password) -> Result<PathBuf> {
        self.ensure_dir()?;
        let path = self.password_path_for(sso, user);
        let wire = WirePassword {
            version: 1,
            sso: sso.to_string(),
            user: user.to_owned(),
            password: password.secret().to_owned(),
        };
        let json = serde_json::to_vec_pretty(&wire).map_err(|err| Error::CorruptCache {
            path: path.clone(),
            reason: format!("cannot serialise: {err}"),
        })?;
        self.write_private(&path, &json, "cannot write stored password file")?;
        tracing::debug!(path = %path.display(), user = %user, sso = %sso, "stored password");
        Ok(path)
    }

    /// The stored password of `user` at `sso`, if the user stored one.
    ///
    /// # Errors
    /// As [`TokenCache::load`].
    pub fn load_password(&self, sso: &Origin, user: &str) -> Result<Option<Password>> {
        let path = self.password_path_for(sso, user);
        let Some(bytes) = self.read_private(&path)? else {
            return Ok(None);
        };
        let wire: WirePassword =
            serde_json::from_slice(&bytes).map_err(|err| Error::CorruptCache {
                path: path.clone(),
                reason: format!("not a stored password file: {err}"),
            })?;
        if wire.version != 1 || wire.sso != sso.to_string() || wire.user != user {
            return Ok(None);
        }
        Ok(Some(Password::new(wire.password)))
    }

    /// Removes the stored password of `user` at `sso`; `false` if there was none.
    ///
    /// # Errors
    /// [`Error::Io`] if the file exists but cannot be removed.
    pub fn remove_password(&self, sso: &Origin, user: &str) -> Result<bool> {
        let path = self.password_path_for(sso, user);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(Error::Io {
                action: "cannot remove stored password file",
                path,
                source,
            }),
        }
    }

    fn named_path(&self, kind: &str, sso: &Origin, user: &str) -> PathBuf {
        let mut hasher = Sha256::new();
        hasher.update(sso.to_string().as_bytes());
        hasher.update([0u8]);
        hasher.update(user.as_bytes());
        let digest = hasher.finalize();
        let hex: String = digest
            .iter()
            .take(16)
            .map(|byte| format!("{byte:02x}"))
            .collect();
        self.dir.join(format!("{kind}-{hex}.json"))
    }

    /// Writes `bytes` to `path` through a new 0600 temporary file and a rename.
    fn write_private(&self, path: &Path, bytes: &[u8], action: &'static str) -> Result<()> {
        let suffix: u64 = rand::random();
        let temp = self.dir.join(format!(".secret-{suffix:016x}.tmp"));
        let write = || -> std::io::Result<()> {
            let mut file = create_private(&temp)?;
            file.write_all(bytes)?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            std::fs::rename(&temp, path)
        };
        write().map_err(|source| {
            let _ = std::fs::remove_file(&temp);
            Error::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        })
    }

    /// Reads a private file: `None` if absent; symlinks and loose modes are refused.
    fn read_private(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        let metadata = match std::fs::symlink_metadata(path) {
            Ok(metadata) => metadata,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::Io {
                    action: "cannot read",
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        if !metadata.is_file() {
            return Err(Error::CorruptCache {
                path: path.to_path_buf(),
                reason: "not a regular file (symlinks are refused)".to_owned(),
            });
        }
        check_mode(&self.dir, 0o700)?;
        check_mode(path, 0o600)?;
        std::fs::read(path).map(Some).map_err(|source| Error::Io {
            action: "cannot read",
            path: path.to_path_buf(),
            source,
        })
    }

    /// Loads the login of `user` at `sso`, if cached (expired or not).
    ///
    /// # Errors
    /// [`Error::InsecurePermissions`] for a file or directory others can read or write,
    /// [`Error::CorruptCache`] for an unreadable file or a symlink, [`Error::Io`].
    pub fn load(&self, sso: &Origin, user: &str) -> Result<Option<CachedToken>> {
        let path = self.path_for(sso, user);
        let Some(token) = self.read_file(&path)? else {
            return Ok(None);
        };
        if &token.sso != sso || token.user != user {
            return Ok(None);
        }
        Ok(Some(token))
    }

    /// Stores a login atomically with mode 0600 and returns the file path.
    ///
    /// # Errors
    /// [`Error::Io`] if the directory or file cannot be written, [`Error::InsecurePermissions`]
    /// if the directory is open to others.
    pub fn store(&self, token: &CachedToken) -> Result<PathBuf> {
        self.ensure_dir()?;
        let path = self.path_for(&token.sso, &token.user);
        let wire = WireToken {
            version: 1,
            sso: token.sso.to_string(),
            user: token.user.clone(),
            token: token.token.secret().to_owned(),
            expires_at: unix_seconds(token.expires_at),
            obtained_at: unix_seconds(token.obtained_at),
        };
        let json = serde_json::to_vec_pretty(&wire).map_err(|err| Error::CorruptCache {
            path: path.clone(),
            reason: format!("cannot serialise: {err}"),
        })?;
        self.write_private(&path, &json, "cannot write token cache file")?;
        tracing::debug!(path = %path.display(), user = %token.user, sso = %token.sso, "stored login");
        Ok(path)
    }

    /// Removes the login of `user` at `sso`; `false` if there was none.
    ///
    /// # Errors
    /// [`Error::Io`] if the file exists but cannot be removed.
    pub fn remove(&self, sso: &Origin, user: &str) -> Result<bool> {
        let path = self.path_for(sso, user);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(Error::Io {
                action: "cannot remove token cache file",
                path,
                source,
            }),
        }
    }

    /// All cached logins, optionally only those at `sso`, sorted by user. Unreadable files are
    /// skipped with a warning; loose permissions are still an error.
    ///
    /// # Errors
    /// [`Error::Io`] if the directory cannot be listed, [`Error::InsecurePermissions`].
    pub fn list(&self, sso: Option<&Origin>) -> Result<Vec<CachedToken>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(Error::Io {
                    action: "cannot list token cache directory",
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        check_mode(&self.dir, 0o700)?;
        let mut tokens = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let is_token = path
                .file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("token-") && name.ends_with(".json"));
            if !is_token {
                continue;
            }
            match self.read_file(&path) {
                Ok(Some(token)) => {
                    if sso.is_none_or(|wanted| *wanted == token.sso) {
                        tokens.push(token);
                    }
                }
                Ok(None) => {}
                Err(err @ Error::InsecurePermissions { .. }) => return Err(err),
                Err(err) => tracing::warn!(error = %err, "skipping token cache file"),
            }
        }
        tokens.sort_by(|a, b| a.user.cmp(&b.user).then_with(|| a.sso.cmp(&b.sso)));
        Ok(tokens)
    }

    fn ensure_dir(&self) -> Result<()> {
        let io_error = |source| Error::Io {
            action: "cannot create token cache directory",
            path: self.dir.clone(),
            source,
        };
        if !self.dir.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt as _;
                builder.mode(0o700);
            }
            builder.create(&self.dir).map_err(io_error)?;
        }
        check_mode(&self.dir, 0o700)
    }

    fn read_file(&self, path: &Path) -> Result<Option<CachedToken>> {
        let metadata = match std::fs::symlink_metadata(path) {
            Ok(metadata) => metadata,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::Io {
                    action: "cannot read",
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        if !metadata.is_file() {
            return Err(Error::CorruptCache {
                path: path.to_path_buf(),
                reason: "not a regular file (symlinks are refused)".to_owned(),
            });
        }
        check_mode(&self.dir, 0o700)?;
        check_mode(path, 0o600)?;
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            action: "cannot read",
            path: path.to_path_buf(),
            source,
        })?;
        let wire: WireToken =
            serde_json::from_slice(&bytes).map_err(|err| Error::CorruptCache {
                path: path.to_path_buf(),
                reason: format!("not a token cache file: {err}"),
            })?;
        if wire.version != 1 {
            return Err(Error::CorruptCache {
                path: path.to_path_buf(),
                reason: format!("unsupported version {}", wire.version),
            });
        }
        let sso = Origin::parse(&wire.sso).ok_or_else(|| Error::CorruptCache {
            path: path.to_path_buf(),
            reason: "the identity provider is not an http(s) origin".to_owned(),
        })?;
        Ok(Some(CachedToken {
            sso,
            user: wire.user,
            token: Token::new(wire.token),
            expires_at: from_unix_seconds(wire.expires_at),
            obtained_at: from_unix_seconds(wire.obtained_at),
        }))
    }
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn from_unix_seconds(seconds: u64) -> SystemTime {
    // Clamp absurd values instead of overflowing.
    UNIX_EPOCH
        .checked_add(Duration::from_secs(seconds.min(253_402_300_799)))
        .unwrap_or(UNIX_EPOCH)
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        // `create_new` (O_CREAT | O_EXCL) never follows a symlink planted at the path.
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(unix)]
fn check_mode(path: &Path, wanted: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let metadata = std::fs::metadata(path).map_err(|source| Error::Io {
        action: "cannot inspect",
        path: path.to_path_buf(),
        source,
    })?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
            wanted,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path, _wanted: u32) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(user: &str) -> CachedToken {
        CachedToken {
            sso: Origin::parse("https://www.eso.org").unwrap(),
            user: user.to_owned(),
            token: Token::new(format!("token-of-{user}")),
            expires_at: UNIX_EPOCH + Duration::from_secs(2_000_000_000),
            obtained_at: UNIX_EPOCH + Duration::from_secs(1_999_971_200),
        }
    }

    #[test]
    fn store_load_remove_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TokenCache::new(dir.path().join("nested").join("tokens"));
        let token = sample("alice");
        let path = cache.store(&token).unwrap();
        let loaded = cache.load(&token.sso, "alice").unwrap().unwrap();
        assert_eq!(loaded.token.secret(), "token-of-alice");
        assert_eq!(loaded.expires_at, token.expires_at);
        assert!(cache.load(&token.sso, "bob").unwrap().is_none());
        let other_sso = Origin::parse("https://www.eso.org:8443").unwrap();
        assert!(cache.load(&other_sso, "alice").unwrap().is_none());
        cache.store(&sample("bob")).unwrap();
        let users: Vec<String> = cache
            .list(None)
            .unwrap()
            .into_iter()
            .map(|t| t.user)
            .collect();
        assert_eq!(users, ["alice", "bob"]);
        assert!(cache.remove(&token.sso, "alice").unwrap());
        assert!(!cache.remove(&token.sso, "alice").unwrap());
        assert!(!path.exists());
        // User names never become paths.
        let odd = cache.path_for(&token.sso, "../../etc/passwd");
        assert_eq!(odd.parent(), Some(cache.dir()));
    }

    #[cfg(unix)]
    #[test]
    fn cache_file_mode_is_0600_and_loose_modes_are_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let cache = TokenCache::new(dir.path().join("tokens"));
        let token = sample("alice");
        let path = cache.store(&token).unwrap();
        let file_mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(file_mode, 0o600);
        let dir_mode = std::fs::metadata(cache.dir()).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(cache.dir()).unwrap().count(), 1);

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = cache.load(&token.sso, "alice").unwrap_err();
        assert!(
            matches!(err, Error::InsecurePermissions { mode: 0o644, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("chmod 600"), "{err}");
        // Storing again replaces the loose file with a private one.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(cache.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(matches!(
            cache.store(&token),
            Err(Error::InsecurePermissions { .. })
        ));
        assert!(matches!(
            cache.load(&token.sso, "alice"),
            Err(Error::InsecurePermissions { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_and_garbage_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TokenCache::new(dir.path().join("tokens"));
        let token = sample("alice");
        let path = cache.store(&token).unwrap();
        std::fs::write(&path, b"{not json").unwrap();
        assert!(matches!(
            cache.load(&token.sso, "alice"),
            Err(Error::CorruptCache { .. })
        ));
        std::fs::remove_file(&path).unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"x").unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        assert!(matches!(
            cache.load(&token.sso, "alice"),
            Err(Error::CorruptCache { .. })
        ));
        // list skips the corrupt entry instead of failing.
        assert!(cache.list(None).unwrap().is_empty());
    }

    #[test]
    fn stored_password_is_private_and_removable() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TokenCache::new(dir.path().join("tokens"));
        let sso = Origin::parse("https://www.eso.org").unwrap();
        assert!(cache.load_password(&sso, "jdoe").unwrap().is_none());
        let path = cache
            .store_password(&sso, "jdoe", &Password::new("s3cret-canary"))
            .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let loaded = cache.load_password(&sso, "jdoe").unwrap().unwrap();
        assert_eq!(loaded.secret(), "s3cret-canary");
        // Another user or another identity provider does not get it.
        assert!(cache.load_password(&sso, "other").unwrap().is_none());
        let other = Origin::parse("https://sso.example.org").unwrap();
        assert!(cache.load_password(&other, "jdoe").unwrap().is_none());
        // Stored passwords are not tokens: listing logins ignores them.
        assert!(cache.list(Some(&sso)).unwrap().is_empty());
        assert!(cache.remove_password(&sso, "jdoe").unwrap());
        assert!(!cache.remove_password(&sso, "jdoe").unwrap());
        assert!(cache.load_password(&sso, "jdoe").unwrap().is_none());
    }

    #[test]
    fn freshness() {
        let token = sample("alice");
        let margin = Duration::from_secs(600);
        let early = token.expires_at - Duration::from_secs(3600);
        let late = token.expires_at - Duration::from_secs(300);
        assert!(token.is_fresh(early, margin));
        assert!(!token.is_fresh(late, margin));
        assert_eq!(token.time_left(late), Some(Duration::from_secs(300)));
        assert_eq!(
            token.time_left(token.expires_at + Duration::from_secs(1)),
            None
        );
        assert!(!format!("{token:?}").contains("token-of-alice"));
    }
}
