//! An ESO-shaped archive served in-process on loopback, from recorded fixtures.
//!
//! `eso demo` starts it and walks through seed 000 with the real client libraries; the CLI's
//! end-to-end tests point `--base-url` at it. One base URL stands in for the archive
//! (`archive.eso.org`), the data portal (`dataportal.eso.org`) and the SSO (`www.eso.org`),
//! with the real paths:
//!
//! | path | what |
//! | --- | --- |
//! | `/sso/oidc/token` | ESO token endpoint (password grant, GET or POST form): demo account `demo` / `demo` |
//! | `/tap_obs`, `/tap_cat` | TAP 1.1: `sync`, UWS 1.1 `async`, `capabilities`, `availability`, `tables` |
//! | `/datalink/links?ID=ivo://eso.org/ID?<dp_id>` | DataLink `{links}` |
//! | `/calselector/v1/associations?dp_id=..&mode=..[&responseformat=votable]` | calSelector (POST: several `dp_id`, multipart) |
//! | `/dataPortal/file/<dp_id>` | files (`.fits.Z` raw frames, `.fits` calibrations, `.NL` night logs), with `Range` |
//! | `/dataPortal/soda?ID=..&CIRCLE=..` | SODA cutouts |
//!
//! It cannot run ADQL: TAP answers its recorded queries (listed in the error for any other).
//! Every absolute ESO URL in a served document is rewritten to the demo base URL, and sizes are
//! patched to the synthetic files served, so clients stay on loopback and checks hold.
//! The seed 000 science frames are "pretend-protected": the query returns them, and their
//! files, DataLink and calSelector answers are served, only with a demo token (or Basic
//! credentials of the demo user); calibrations are public.
//!
//! **Architecture Invariant:** this crate is test and demo infrastructure: it depends on no
//! workspace crate, binds loopback by default, serves only what is embedded in the binary
//! (fixtures are included at compile time), and never logs a credential
//! ([`DemoArchive::requests`] records only whether an `Authorization` header was sent).
//!
//! # Brief overview
//! - [`DemoArchive::start`] binds and serves; [`DemoArchive::base_url`] is what clients use.
//! - [`DemoConfig`]: address, demo account, job duration.
//! - [`DemoArchive::requests`]: what the archive received, for tests.
//!
//! # Example
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let archive = eso_demo::DemoArchive::start(eso_demo::DemoConfig::default()).await?;
//! let tap_url = archive.base_url().join("tap_obs")?;
//! assert_eq!(tap_url.path(), "/tap_obs");
//! archive.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod auth;
mod catalog;
mod clock;
mod fits;
mod http;
mod server;
mod services;
mod synthetic;
mod tap;
mod vot;

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use url::Url;

pub use auth::DEMO_SIGNING_KEY;

/// The demo account's user name (public, documented).
pub const DEMO_USER: &str = "demo";
/// The demo account's password (public, documented: it only opens the offline archive).
pub const DEMO_PASSWORD: &str = "demo";

/// Errors of the demo archive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The bound address could not be read back.
    #[error("cannot read the address the demo archive listens on")]
    LocalAddr {
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The base URL could not be formed from the bound address.
    #[error("cannot form a base URL from {addr}")]
    BaseUrl {
        /// The bound address.
        addr: SocketAddr,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How to run the demo archive.
#[derive(Clone)]
pub struct DemoConfig {
    /// Where to listen; the default `127.0.0.1:0` picks a free loopback port.
    pub addr: SocketAddr,
    /// The user name of the one account (default [`DEMO_USER`]).
    pub demo_user: String,
    /// Its password (default [`DEMO_PASSWORD`]).
    pub demo_password: String,
    /// How long an async job takes from `PHASE=RUN` to its final phase
    /// (a third queued, the rest executing); default 300 ms.
    pub job_duration: Duration,
    /// Lifetime of the tokens the token endpoint issues (`expires_in` and the JWT `exp`);
    /// default 8 hours, as ESO's. Shorten it to test expiry and renewal.
    pub token_lifetime: Duration,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            demo_user: DEMO_USER.to_owned(),
            demo_password: DEMO_PASSWORD.to_owned(),
            job_duration: Duration::from_millis(300),
            token_lifetime: auth::TOKEN_LIFETIME,
        }
    }
}

impl fmt::Debug for DemoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoConfig")
            .field("addr", &self.addr)
            .field("demo_user", &self.demo_user)
            .field("demo_password", &"[redacted]")
            .field("job_duration", &self.job_duration)
            .field("token_lifetime", &self.token_lifetime)
            .finish()
    }
}

/// One request the archive received (never with a credential value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Path as sent (still percent-encoded), e.g. `/tap_obs/async`.
    pub path: String,
    /// Query string as sent, with any `password` value replaced by `[redacted]`.
    pub query: Option<String>,
    /// Whether an `Authorization` header was present (its value is never kept).
    pub has_authorization: bool,
}

/// A running demo archive. Dropping it without [`shutdown`](DemoArchive::shutdown) also stops
/// the server (the accept loop ends when the handle goes).
#[derive(Debug)]
pub struct DemoArchive {
    base_url: Url,
    state: Arc<server::State>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl DemoArchive {
    /// Binds `config.addr` and serves the archive on the current tokio runtime.
    ///
    /// # Errors
    /// [`Error::Bind`] if the address cannot be bound, [`Error::LocalAddr`] or
    /// [`Error::BaseUrl`] if the bound address cannot be turned into a URL.
    pub async fn start(config: DemoConfig) -> Result<DemoArchive> {
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|source| Error::Bind {
                addr: config.addr,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| Error::LocalAddr { source })?;
        let base = format!("http://{addr}");
        let base_url = Url::parse(&format!("{base}/")).map_err(|_| Error::BaseUrl { addr })?;
        let state = Arc::new(server::State {
            catalog: catalog::Catalog::build(&base),
            base,
            demo_user: config.demo_user,
            demo_password: config.demo_password,
            job_duration: config.job_duration,
            token_lifetime: config.token_lifetime,
            jobs: Mutex::new(tap::Jobs::default()),
            requests: Mutex::new(Vec::new()),
        });
        let (shutdown, receiver) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, Arc::clone(&state), receiver));
        tracing::info!(base_url = %base_url, "offline demo archive listening");
        Ok(DemoArchive {
            base_url,
            state,
            shutdown,
            task,
        })
    }

    /// The base URL (`http://127.0.0.1:<port>/`) standing in for the archive, the data portal
    /// and the SSO; join the real paths onto it (`tap_obs`, `dataPortal/file/<dp_id>`, ...).
    pub fn base_url(&self) -> Url {
        self.base_url.clone()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state
            .requests
            .lock()
            .map(|requests| requests.clone())
            .unwrap_or_default()
    }

    /// Stops accepting connections, closes the open ones and waits for the server task.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}
