//! The "high-level" arguments: what every command needs, resolved once from the global
//! options and the environment (endpoints, the HTTP client, the cached login, output style).

use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use vo_auth::cache::{CachedToken, TokenCache};
use vo_auth::http::HttpClient;
use vo_auth::password::PasswordSource;
use vo_auth::{EsoEndpoints, Url};

use crate::args::GlobalArgs;
use crate::output::Style;

/// Whether a command needs a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// Use the cached login when there is one (renewing it silently if a password source
    /// is configured); otherwise run anonymously.
    IfAvailable,
    /// Fail with a clear message when there is no valid login.
    Required,
}

/// Everything a command needs from the global options.
#[derive(Debug)]
pub struct Ctx {
    /// The global options as given.
    pub global: GlobalArgs,
    /// Output style (terminal, width, colours).
    pub style: Style,
    /// Archive, data portal and login endpoints.
    pub endpoints: EsoEndpoints,
    /// The token cache.
    pub cache: TokenCache,
    base: HttpClient,
}

impl Ctx {
    /// Resolves endpoints (`--base-url` stands in for all three) and builds the anonymous client.
    pub fn new(global: GlobalArgs) -> anyhow::Result<Ctx> {
        let endpoints = match &global.base_url {
            Some(base) => EsoEndpoints::parse_base(base)
                .with_context(|| format!("invalid --base-url {base:?}"))?,
            None => EsoEndpoints::try_from_env()?,
        };
        let cache = TokenCache::from_env()?;
        let base = HttpClient::builder()
            .read_timeout(Duration::from_secs(120))
            .build()?;
        Ok(Ctx {
            style: Style::detect(),
            global,
            endpoints,
            cache,
            base,
        })
    }

    /// The context of `eso demo`: the offline archive's endpoints and a token cache of
    /// its own, so that the user's real logins are never touched.
    pub fn for_demo(
        global: GlobalArgs,
        endpoints: EsoEndpoints,
        cache: TokenCache,
    ) -> anyhow::Result<Ctx> {
        let base = HttpClient::builder()
            .read_timeout(Duration::from_secs(120))
            .build()?;
        Ok(Ctx {
            style: Style::detect(),
            global,
            endpoints,
            cache,
            base,
        })
    }

    /// A client that sends no credentials.
    pub fn anonymous(&self) -> HttpClient {
        self.base.clone()
    }

    /// The client for ESO services: the user's token bound to the ESO origins, unless
    /// `--anonymous`. With [`Login::IfAvailable`] a missing login means anonymous access.
    pub async fn client(&self, login: Login) -> anyhow::Result<HttpClient> {
        if self.global.anonymous {
            if login == Login::Required {
                anyhow::bail!("this command needs a login, but --anonymous was given");
            }
            return Ok(self.anonymous());
        }
        let user = self.global.user.as_deref();
        // Silent renewal when the token is about to expire: from the password the user chose
        // to store (`eso login --store-password`), else ESO_PASSWORD or ~/.netrc; never an
        // interactive prompt in the middle of another command.
        let source = self
            .stored_password(user)
            .map_or(PasswordSource::Automatic, PasswordSource::Value);
        let mut result = vo_auth::eso::ensure_login(
            &self.base,
            &self.endpoints,
            &self.cache,
            user,
            Some(&source),
        )
        .await;
        if matches!(
            result,
            Err(vo_auth::Error::LoginRequired {
                reason: vo_auth::LoginReason::Expired,
                ..
            })
        ) && let Some(token) = self.still_valid_login(user)
        {
            // Due for renewal but no password to renew it: the token still works until it
            // expires, which beats going anonymous (and failing on protected data).
            if !self.global.quiet {
                let left = token
                    .time_left(SystemTime::now())
                    .map(|d| format!("{}m {:02}s", d.as_secs() / 60, d.as_secs() % 60))
                    .unwrap_or_else(|| "0s".to_owned());
                eprintln!(
                    "warning: the login as {} expires in {left} and cannot be renewed without a password: run `eso login` (or set ESO_PASSWORD)",
                    crate::output::escape(&token.user)
                );
            }
            result = Ok(token);
        }
        match result {
            Ok(token) => {
                tracing::debug!(user = %token.user, "using cached login");
                Ok(vo_auth::eso::authenticated_client(
                    &self.base,
                    &self.endpoints,
                    &token,
                )?)
            }
            Err(err @ vo_auth::Error::LoginRequired { .. }) if login == Login::IfAvailable => {
                if matches!(
                    err,
                    vo_auth::Error::LoginRequired {
                        reason: vo_auth::LoginReason::Expired,
                        ..
                    }
                ) && !self.global.quiet
                {
                    eprintln!("warning: {err}; continuing anonymously");
                } else {
                    tracing::debug!("not logged in: anonymous access");
                }
                Ok(self.anonymous())
            }
            Err(err) => Err(err.into()),
        }
    }

    /// The cached login of `user` (or the only cached user) if it has not expired yet.
    fn still_valid_login(&self, user: Option<&str>) -> Option<CachedToken> {
        let logins = self.cache.list(Some(&self.endpoints.sso_origin())).ok()?;
        let mut matching = logins
            .into_iter()
            .filter(|login| user.is_none_or(|user| login.user == user));
        let login = matching.next()?;
        if matching.next().is_some() {
            return None;
        }
        login
            .time_left(SystemTime::now())
            .is_some()
            .then_some(login)
    }

    /// The password stored by `eso login --store-password` for `user` (or for the only
    /// cached user), if any.
    fn stored_password(&self, user: Option<&str>) -> Option<vo_auth::Password> {
        let sso = self.endpoints.sso_origin();
        let user = match user {
            Some(user) => user.to_owned(),
            None => match self.cache.list(Some(&sso)).ok()?.as_slice() {
                [only] => only.user.clone(),
                _ => return None,
            },
        };
        match self.cache.load_password(&sso, &user) {
            Ok(password) => password,
            Err(err) => {
                tracing::warn!(error = %err, "ignoring the stored password");
                None
            }
        }
    }

    /// Parses a URL given by the user, saying which option it came from.
    pub fn parse_url(what: &str, text: &str) -> anyhow::Result<Url> {
        Url::parse(text).with_context(|| format!("{what} {text:?} is not a valid URL"))
    }
}
