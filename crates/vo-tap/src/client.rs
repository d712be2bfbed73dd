//! The asynchronous TAP client: the only module of this crate that performs I/O.
//!
//! It sends the requests of [`crate::request`] through `vo_auth::http::HttpClient` (which
//! attaches credentials only to their origins and retries idempotent requests), parses with
//! the pure parsers, and drives [`JobWaiter`] with the real clock.
//!
//! VOTable results stream: [`VoTableStream`] wraps a [`votable::Reader`] over the response
//! body, so a result of any size is read in bounded memory. Its reading methods block:
//! call them inside `tokio::task::spawn_blocking`, or use [`VoTableStream::read_blocking`].

use std::io::{BufRead, Write};
use std::time::Instant;

use http::StatusCode;
use url::Url;
use vo_auth::http::{HttpClient, RequestOptions, Response};
use votable::{Document, Row, TableMeta};

use crate::format::{ResponseFormat, is_votable_content_type};
use crate::request::{self, DeleteMethod, JobFilter, TablesDetail, TapQuery, TapService};
use crate::result::{
    QueryOutcome, StatusSniffer, check_query_status, error_message, votable_error,
};
use crate::uws::{self, JobRef, UwsJob};
use crate::vosi::{self, Availability, Capabilities, TableDesc, TableSet};
use crate::wait::{Action, JobWaiter, Outcome, WaitConfig};
use crate::{Error, ExecutionPhase, Result};

/// Largest error body read into memory.
const MAX_ERROR_BYTES: u64 = 1 << 20;

/// The blocking reader type of a response body.
pub type BodyReader = Box<dyn BufRead + Send>;

/// Builder of [`TapClient`] (non-consuming).
#[derive(Debug, Clone)]
pub struct TapClientBuilder {
    base: Url,
    http: Option<HttpClient>,
    wait: WaitConfig,
    delete_method: DeleteMethod,
}

impl TapClientBuilder {
    /// The HTTP client to use (with credentials, retries, timeouts). Default:
    /// `HttpClient::anonymous()`.
    pub fn http(&mut self, http: HttpClient) -> &mut Self {
        self.http = Some(http);
        self
    }

    /// How [`TapClient::wait`] polls (default [`WaitConfig::default`]).
    pub fn wait_config(&mut self, wait: WaitConfig) -> &mut Self {
        self.wait = wait;
        self
    }

    /// How jobs are deleted (default HTTP `DELETE`).
    pub fn delete_method(&mut self, method: DeleteMethod) -> &mut Self {
        self.delete_method = method;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a base URL that is not http(s); [`Error::Http`] when
    /// the default HTTP client cannot be built.
    pub fn build(&self) -> Result<TapClient> {
        let http = match &self.http {
            Some(http) => http.clone(),
            None => HttpClient::anonymous()?,
        };
        Ok(TapClient {
            service: TapService::new(self.base.clone())?,
            http,
            wait: self.wait.clone(),
            delete_method: self.delete_method,
        })
    }
}

/// Options for creating an asynchronous job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobOptions {
    /// `EXECUTIONDURATION` in seconds, set after creation (ESO: default 60, max 3600).
    pub execution_duration: Option<u64>,
    /// `DESTRUCTION` instant (ISO 8601), set after creation.
    pub destruction: Option<String>,
    /// `RUNID`; a fresh UUID when None (used to find the job again if the 303 is lost).
    pub run_id: Option<String>,
}

/// A client of one TAP service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TapClient {
    service: TapService,
    http: HttpClient,
    wait: WaitConfig,
    delete_method: DeleteMethod,
}

/// True when an error is worth retrying while polling (transport failure, 408, 429, 5xx).
pub fn is_transient(err: &Error) -> bool {
    match err {
        Error::Http(inner) => match inner.as_ref() {
            vo_auth::Error::Http { kind, .. } => matches!(
                kind,
                vo_auth::HttpErrorKind::Connect
                    | vo_auth::HttpErrorKind::Timeout
                    | vo_auth::HttpErrorKind::Reset
                    | vo_auth::HttpErrorKind::Body
            ),
            vo_auth::Error::Status { status, .. } => {
                status.is_server_error()
                    || *status == StatusCode::REQUEST_TIMEOUT
                    || *status == StatusCode::TOO_MANY_REQUESTS
            }
            _ => false,
        },
        _ => false,
    }
}

fn no_follow() -> RequestOptions {
    RequestOptions {
        follow_redirects: false,
        ..RequestOptions::default()
    }
}

fn content_type(response: &Response) -> Option<String> {
    response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Turns an error response into an error: a VOTable `QUERY_STATUS=ERROR` body becomes
/// [`Error::Query`], 401/403 the `vo_auth` errors, anything else `vo_auth::Error::Status`.
async fn error_from_response(response: Response) -> Error {
    let status = response.status();
    let url = response.url().clone();
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        return match response.error_for_status().await {
            Err(err) => err.into(),
            Ok(_) => Error::Protocol {
                url,
                message: format!("HTTP {status}"),
            },
        };
    }
    let body = match response.bytes_limited(MAX_ERROR_BYTES).await {
        Ok(body) => body,
        Err(err) => return err.into(),
    };
    if let Some(message) = votable_error(&body) {
        return Error::Query { url, message };
    }
    vo_auth::Error::Status {
        url,
        status,
        body_excerpt: error_message(&body),
    }
    .into()
}

fn blocking_error(url: &Url, err: tokio::task::JoinError) -> Error {
    Error::Io {
        context: format!("reading the response of {url} failed in a worker thread"),
        source: std::io::Error::other(err.to_string()),
    }
}

impl TapClient {
    /// A builder for the service at `base` (e.g. `https://archive.eso.org/tap_obs`).
    pub fn builder(base: Url) -> TapClientBuilder {
        TapClientBuilder {
            base,
            http: None,
            wait: WaitConfig::default(),
            delete_method: DeleteMethod::default(),
        }
    }

    /// The service endpoints.
    pub fn service(&self) -> &TapService {
        &self.service
    }

    /// The HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The wait configuration used by [`TapClient::wait`].
    pub fn wait_config(&self) -> &WaitConfig {
        &self.wait
    }

    /// A job URL from what a user typed: an absolute http(s) URL, or a job id of this service.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for an id containing `/`.
    pub fn job_url(&self, url_or_id: &str) -> Result<Url> {
        let text = url_or_id.trim();
        match Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
            _ => self.service.job_url(text),
        }
    }

    // ----- synchronous queries -------------------------------------------------------------

    /// Runs a synchronous query whose result is a VOTable, and returns a stream over its rows.
    ///
    /// `QUERY_STATUS=ERROR` found before the rows (HTTP 200 or 400) is an [`Error::Query`];
    /// one after the rows, and `OVERFLOW`, come out of [`VoTableStream::finish`].
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] when `query.format` is not a VOTable format, [`Error::Query`],
    /// [`Error::VoTable`], [`Error::Http`].
    pub async fn query_sync(&self, query: &TapQuery) -> Result<VoTableStream> {
        if !query.format.is_votable() {
            return Err(Error::InvalidRequest(format!(
                "query_sync reads VOTable results; use query_sync_to for {}",
                query.format
            )));
        }
        let req = self.service.sync_query(query)?;
        tracing::debug!(url = %self.service.base(), "TAP sync query");
        // A synchronous query changes nothing on the server: repeating it is harmless.
        let response = self.http.send(req, RequestOptions::idempotent()).await?;
        self.open_votable(response).await
    }

    /// Runs a synchronous query and copies the result untouched to `writer` (any format:
    /// CSV, TSV, JSON, FITS, or VOTable bytes as served).
    ///
    /// A VOTable error answered instead of the format asked (DaCHS does this for CSV) is an
    /// [`Error::Query`] and nothing is written. For VOTable formats the status INFOs at the
    /// start and end of the stream are checked: `ERROR` gives [`Error::Query`] after the bytes
    /// were written (discard the output), `OVERFLOW` sets [`QueryOutcome::overflow`].
    /// CSV and TSV cannot signal overflow.
    ///
    /// # Errors
    /// As [`TapClient::query_sync`], plus [`Error::Io`] when writing fails.
    pub async fn query_sync_to<W: Write + Send + 'static>(
        &self,
        query: &TapQuery,
        writer: W,
    ) -> Result<(W, QueryOutcome)> {
        let req = self.service.sync_query(query)?;
        let response = self.http.send(req, RequestOptions::idempotent()).await?;
        copy_response(response, &query.format, writer).await
    }

    async fn open_votable(&self, response: Response) -> Result<VoTableStream> {
        if !response.status().is_success() {
            return Err(error_from_response(response).await);
        }
        let url = response.url().clone();
        if let Some(ct) =
            content_type(&response).filter(|ct| ct.to_ascii_lowercase().starts_with("text/html"))
        {
            let body = response.bytes_limited(MAX_ERROR_BYTES).await?;
            return Err(Error::Protocol {
                url,
                message: format!("expected a VOTable, got {ct}: {}", error_message(&body)),
            });
        }
        let body = response.into_blocking_reader();
        let task_url = url.clone();
        tokio::task::spawn_blocking(move || VoTableStream::open(body, task_url))
            .await
            .map_err(|e| blocking_error(&url, e))?
    }

    // ----- asynchronous jobs ---------------------------------------------------------------

    /// Creates an asynchronous job (not started) and returns its URL, then sets the
    /// execution duration and destruction time if asked.
    ///
    /// Creation is never retried; the 303 is followed by hand (relative or absolute
    /// `Location`). If the answer is lost, the job is looked for by its `RUNID` in the job list.
    ///
    /// # Errors
    /// [`Error::Query`] when the service rejects the query, [`Error::Protocol`] for a
    /// creation answer without a job, [`Error::Http`].
    pub async fn submit(&self, query: &TapQuery, options: &JobOptions) -> Result<Url> {
        let run_id = options
            .run_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let req = self.service.create_job(query, Some(&run_id))?;
        let async_url = self.service.endpoint("async")?;
        let job_url = match self.http.send(req, no_follow()).await {
            Ok(response) => self.job_url_from_creation(response).await?,
            Err(err) => {
                let err: Error = err.into();
                if !is_transient(&err) {
                    return Err(err);
                }
                tracing::warn!(url = %async_url, "job creation answer lost; looking for RUNID {run_id}");
                match self.find_job_by_run_id(&run_id).await {
                    Some(url) => url,
                    None => return Err(err),
                }
            }
        };
        tracing::debug!(job = %job_url, "created TAP job");
        if let Some(secs) = options.execution_duration {
            self.set_execution_duration(&job_url, secs).await?;
        }
        if let Some(instant) = &options.destruction {
            self.set_destruction(&job_url, instant).await?;
        }
        Ok(job_url)
    }

    async fn job_url_from_creation(&self, response: Response) -> Result<Url> {
        let status = response.status();
        let url = response.url().clone();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| Error::Protocol {
                    url: url.clone(),
                    message: format!("job creation answered {status} without a Location"),
                })?;
            return url.join(location.trim()).map_err(|e| Error::Protocol {
                url: url.clone(),
                message: format!("job creation Location {location:?} is not a URL: {e}"),
            });
        }
        if status.is_success() {
            // Some servers answer the job document directly.
            let body = response.bytes_limited(uws::MAX_JOB_BYTES as u64).await?;
            let job = uws::parse_job(&body).map_err(|e| e.with_url(&url))?;
            return self.service.job_url(&job.job_id);
        }
        Err(error_from_response(response).await)
    }

    async fn find_job_by_run_id(&self, run_id: &str) -> Option<Url> {
        let filter = JobFilter {
            last: Some(50),
            ..JobFilter::default()
        };
        let jobs = self.list_jobs(&filter).await.ok()?;
        let found = jobs
            .into_iter()
            .find(|j| j.run_id.as_deref() == Some(run_id))?;
        match found.href.as_deref().and_then(|h| Url::parse(h).ok()) {
            Some(url) => Some(url),
            None => self.service.job_url(&found.id).ok(),
        }
    }

    async fn post_job(&self, req: http::Request<Vec<u8>>, job_url: &Url) -> Result<()> {
        let response = self.http.send(req, no_follow()).await?;
        let status = response.status();
        if status.is_success() || status.is_redirection() {
            return Ok(());
        }
        if matches!(status, StatusCode::NOT_FOUND | StatusCode::GONE) {
            return Err(Error::JobLost {
                url: job_url.clone(),
            });
        }
        Err(error_from_response(response).await)
    }

    /// Sets `EXECUTIONDURATION` (the server may lower it: read the job to see).
    ///
    /// # Errors
    /// [`Error::JobLost`], [`Error::Http`].
    pub async fn set_execution_duration(&self, job_url: &Url, secs: u64) -> Result<()> {
        self.post_job(request::set_execution_duration(job_url, secs)?, job_url)
            .await
    }

    /// Sets `DESTRUCTION` (the server may override it: read the job to see).
    ///
    /// # Errors
    /// [`Error::JobLost`], [`Error::Http`].
    pub async fn set_destruction(&self, job_url: &Url, instant: &str) -> Result<()> {
        self.post_job(request::set_destruction(job_url, instant)?, job_url)
            .await
    }

    /// Starts a job (`PHASE=RUN`).
    ///
    /// # Errors
    /// [`Error::JobLost`], [`Error::Http`].
    pub async fn run(&self, job_url: &Url) -> Result<()> {
        self.post_job(request::run(job_url)?, job_url).await
    }

    /// Aborts a job (`PHASE=ABORT`); the job and its URL remain.
    ///
    /// # Errors
    /// [`Error::JobLost`], [`Error::Http`].
    pub async fn abort(&self, job_url: &Url) -> Result<()> {
        self.post_job(request::abort(job_url)?, job_url).await
    }

    /// Deletes a job, without following the redirect to the job list. A job that is
    /// already gone (404/410) counts as deleted.
    ///
    /// # Errors
    /// [`Error::Http`].
    pub async fn delete(&self, job_url: &Url) -> Result<()> {
        match self
            .post_job(request::delete(job_url, self.delete_method)?, job_url)
            .await
        {
            Err(Error::JobLost { .. }) => Ok(()),
            other => other,
        }
    }

    /// Reads a job document, optionally blocking (`WAIT=secs&PHASE=phase`).
    ///
    /// # Errors
    /// [`Error::JobLost`] on 404/410, [`Error::Document`], [`Error::Http`].
    pub async fn job(&self, job_url: &Url, wait: Option<(u32, ExecutionPhase)>) -> Result<UwsJob> {
        let response = self
            .http
            .send(request::job(job_url, wait)?, RequestOptions::idempotent())
            .await?;
        let status = response.status();
        if matches!(status, StatusCode::NOT_FOUND | StatusCode::GONE) {
            return Err(Error::JobLost {
                url: job_url.clone(),
            });
        }
        if !status.is_success() {
            return Err(error_from_response(response).await);
        }
        let body = response.bytes_limited(uws::MAX_JOB_BYTES as u64).await?;
        uws::parse_job(&body).map_err(|e| e.with_url(job_url))
    }

    /// Waits for a job to finish, starting it if it is `PENDING` (per the wait
    /// configuration), and returns its final document.
    ///
    /// Transient errors are retried; the deadline ends the wait with [`Error::WaitTimeout`]
    /// and leaves the job alive. The final phase may be `ERROR`, `ABORTED` or `ARCHIVED`:
    /// see [`TapClient::result_url`].
    ///
    /// # Errors
    /// [`Error::WaitTimeout`], [`Error::JobLost`], [`Error::PollingFailed`], [`Error::Http`].
    pub async fn wait(&self, job_url: &Url) -> Result<UwsJob> {
        self.wait_with(job_url, self.wait.clone()).await
    }

    /// [`TapClient::wait`] with another configuration (e.g. a deadline from the command line).
    ///
    /// # Errors
    /// As [`TapClient::wait`].
    pub async fn wait_with(&self, job_url: &Url, config: WaitConfig) -> Result<UwsJob> {
        let started = Instant::now();
        let mut waiter = JobWaiter::new(config, started);
        let mut last_job: Option<UwsJob> = None;
        let mut last_error: Option<Error> = None;
        loop {
            match waiter.poll_action(Instant::now())? {
                Action::Poll { wait } => match self.job(job_url, wait).await {
                    Ok(job) => {
                        tracing::debug!(job = %job_url, phase = %job.phase, "job phase");
                        waiter.handle_phase(Instant::now(), job.phase)?;
                        last_job = Some(job);
                    }
                    Err(err) if is_transient(&err) => {
                        tracing::warn!(job = %job_url, "transient error while polling: {err}");
                        waiter.handle_transient_error(Instant::now())?;
                        last_error = Some(err);
                    }
                    Err(err) => return Err(err),
                },
                Action::Run => match self.run(job_url).await {
                    Ok(()) => waiter.handle_run_sent(Instant::now())?,
                    Err(err) if is_transient(&err) => {
                        waiter.handle_transient_error(Instant::now())?;
                        last_error = Some(err);
                    }
                    Err(err) => return Err(err),
                },
                Action::Sleep { until } => {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
                }
                Action::Done(Outcome::Finished(_)) => {
                    return match last_job {
                        Some(job) => Ok(job),
                        None => self.job(job_url, None).await,
                    };
                }
                Action::Done(Outcome::DeadlineExceeded(phase)) => {
                    return Err(Error::WaitTimeout {
                        url: job_url.clone(),
                        phase,
                        waited: started.elapsed(),
                    });
                }
                Action::Done(Outcome::TooManyErrors(errors)) => {
                    let last = last_error.unwrap_or_else(|| Error::Protocol {
                        url: job_url.clone(),
                        message: "repeated transient errors".into(),
                    });
                    return Err(Error::PollingFailed {
                        url: job_url.clone(),
                        errors,
                        last: Box::new(last),
                    });
                }
            }
        }
    }

    /// The URL of the main result of a finished job, or the error that explains why there
    /// is none: `ERROR` and `ABORTED` give [`Error::JobFailed`] (with the error summary, or
    /// the `/error` document when the summary has no message), `ARCHIVED` gives
    /// [`Error::JobExpired`].
    ///
    /// # Errors
    /// As described; [`Error::Protocol`] for a job that is not finished.
    pub async fn result_url(&self, job_url: &Url, job: &UwsJob) -> Result<Url> {
        match job.phase {
            ExecutionPhase::Completed => match job.main_result().and_then(|r| r.href.as_deref()) {
                Some(href) => job_url.join(href).map_err(|e| Error::Protocol {
                    url: job_url.clone(),
                    message: format!("result href {href:?} is not a URL: {e}"),
                }),
                None => request::result_url(job_url),
            },
            ExecutionPhase::Error | ExecutionPhase::Aborted => {
                let mut message = job.error_summary.as_ref().and_then(|s| s.message.clone());
                if message.is_none() && job.phase == ExecutionPhase::Error {
                    message = self.error_document(job_url).await.ok();
                }
                Err(Error::JobFailed {
                    job_id: job.job_id.clone(),
                    url: Box::new(job_url.clone()),
                    phase: job.phase,
                    message,
                })
            }
            ExecutionPhase::Archived => Err(Error::JobExpired {
                url: job_url.clone(),
            }),
            phase => Err(Error::Protocol {
                url: job_url.clone(),
                message: format!("job is {phase}, not finished"),
            }),
        }
    }

    /// The `{job}/error` document as text (the VOTable error message when it is one).
    ///
    /// # Errors
    /// [`Error::JobLost`], [`Error::Http`].
    pub async fn error_document(&self, job_url: &Url) -> Result<String> {
        let response = self
            .http
            .send(request::error(job_url)?, RequestOptions::idempotent())
            .await?;
        let status = response.status();
        if matches!(status, StatusCode::NOT_FOUND | StatusCode::GONE) {
            return Err(Error::JobLost {
                url: job_url.clone(),
            });
        }
        if !status.is_success() {
            return Err(error_from_response(response).await);
        }
        let body = response.bytes_limited(MAX_ERROR_BYTES).await?;
        Ok(votable_error(&body).unwrap_or_else(|| error_message(&body)))
    }

    /// Opens a job result (from [`TapClient::result_url`]) as a VOTable stream.
    /// A 404 means the results are gone: [`Error::JobExpired`].
    ///
    /// # Errors
    /// [`Error::JobExpired`], [`Error::Query`], [`Error::VoTable`], [`Error::Http`].
    pub async fn results(&self, result_url: &Url) -> Result<VoTableStream> {
        let response = self.get_result(result_url).await?;
        self.open_votable(response).await
    }

    /// Copies a job result untouched to `writer` (see [`TapClient::query_sync_to`]).
    ///
    /// # Errors
    /// As [`TapClient::results`], plus [`Error::Io`].
    pub async fn results_to<W: Write + Send + 'static>(
        &self,
        result_url: &Url,
        format: &ResponseFormat,
        writer: W,
    ) -> Result<(W, QueryOutcome)> {
        let response = self.get_result(result_url).await?;
        copy_response(response, format, writer).await
    }

    async fn get_result(&self, result_url: &Url) -> Result<Response> {
        let response = self
            .http
            .send(request::get_url(result_url)?, RequestOptions::idempotent())
            .await?;
        if matches!(response.status(), StatusCode::NOT_FOUND | StatusCode::GONE) {
            return Err(Error::JobExpired {
                url: result_url.clone(),
            });
        }
        Ok(response)
    }

    /// Creates, starts and waits for a job, then opens its result: the whole asynchronous
    /// cycle for callers that do not need the job URL while waiting. The job is kept;
    /// delete it with [`TapClient::delete`] when done.
    ///
    /// # Errors
    /// As [`TapClient::submit`], [`TapClient::wait`], [`TapClient::result_url`] and
    /// [`TapClient::results`].
    pub async fn query_async(
        &self,
        query: &TapQuery,
        options: &JobOptions,
    ) -> Result<(Url, VoTableStream)> {
        let job_url = self.submit(query, options).await?;
        let job = self.wait(&job_url).await?;
        let result_url = self.result_url(&job_url, &job).await?;
        let stream = self.results(&result_url).await?;
        Ok((job_url, stream))
    }

    /// Lists jobs (`PHASE`, `AFTER`, `LAST` filters).
    ///
    /// # Errors
    /// [`Error::Document`], [`Error::Http`].
    pub async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<JobRef>> {
        let req = self.service.job_list(filter)?;
        let url = self.service.endpoint("async")?;
        let body = self.get_document(req, uws::MAX_LIST_BYTES).await?;
        uws::parse_job_list(&body).map_err(|e| e.with_url(&url))
    }

    // ----- VOSI ----------------------------------------------------------------------------

    async fn get_document(
        &self,
        req: http::Request<Vec<u8>>,
        limit: usize,
    ) -> Result<bytes::Bytes> {
        let response = self.http.send(req, RequestOptions::idempotent()).await?;
        if !response.status().is_success() {
            return Err(error_from_response(response).await);
        }
        Ok(response.bytes_limited(limit as u64).await?)
    }

    /// VOSI capabilities.
    ///
    /// # Errors
    /// [`Error::Document`], [`Error::Http`].
    pub async fn capabilities(&self) -> Result<Capabilities> {
        let body = self
            .get_document(self.service.capabilities()?, vosi::MAX_VOSI_BYTES)
            .await?;
        vosi::parse_capabilities(&body).map_err(|e| e.with_url(self.service.base()))
    }

    /// VOSI availability.
    ///
    /// # Errors
    /// [`Error::Document`], [`Error::Http`].
    pub async fn availability(&self) -> Result<Availability> {
        let body = self
            .get_document(self.service.availability()?, vosi::MAX_VOSI_BYTES)
            .await?;
        vosi::parse_availability(&body).map_err(|e| e.with_url(self.service.base()))
    }

    /// VOSI tables.
    ///
    /// # Errors
    /// [`Error::Document`], [`Error::Http`].
    pub async fn tables(&self, detail: TablesDetail) -> Result<TableSet> {
        let body = self
            .get_document(self.service.tables(detail)?, vosi::MAX_VOSI_BYTES)
            .await?;
        vosi::parse_tableset(&body).map_err(|e| e.with_url(self.service.base()))
    }

    /// VOSI description of one table (`/tables/<name>`).
    ///
    /// # Errors
    /// [`Error::Document`], [`Error::Http`] (404 for an unknown table).
    pub async fn table(&self, name: &str) -> Result<TableDesc> {
        let body = self
            .get_document(self.service.table(name)?, vosi::MAX_VOSI_BYTES)
            .await?;
        vosi::parse_table(&body).map_err(|e| e.with_url(self.service.base()))
    }
}

/// Copies a response body untouched to a writer, in a blocking worker.
async fn copy_response<W: Write + Send + 'static>(
    response: Response,
    format: &ResponseFormat,
    mut writer: W,
) -> Result<(W, QueryOutcome)> {
    if !response.status().is_success() {
        return Err(error_from_response(response).await);
    }
    let url = response.url().clone();
    let served = content_type(&response).unwrap_or_default();
    if !format.is_votable() && is_votable_content_type(&served) {
        // An error document instead of the format asked (DaCHS answers CSV requests so).
        let body = response.bytes_limited(MAX_ERROR_BYTES).await?;
        return Err(match votable_error(&body) {
            Some(message) => Error::Query { url, message },
            None => Error::Protocol {
                url,
                message: format!("asked for {format}, the service answered {served}"),
            },
        });
    }
    if served.to_ascii_lowercase().starts_with("text/html") && !format.as_param().contains("html") {
        // A proxy or portal error page answered with 200.
        let body = response.bytes_limited(MAX_ERROR_BYTES).await?;
        return Err(Error::Protocol {
            url,
            message: format!(
                "asked for {format}, got an HTML page: {}",
                error_message(&body)
            ),
        });
    }
    let sniff = format.is_votable() || is_votable_content_type(&served);
    let mut body = response.into_blocking_reader();
    let task_url = url.clone();
    let outcome = tokio::task::spawn_blocking(move || -> Result<(W, QueryOutcome)> {
        let mut sniffer = StatusSniffer::default();
        let mut total = 0u64;
        loop {
            let chunk = body.fill_buf().map_err(|source| Error::Io {
                context: format!("reading the result from {task_url}"),
                source,
            })?;
            if chunk.is_empty() {
                break;
            }
            writer.write_all(chunk).map_err(|source| Error::Io {
                context: "writing the result".to_owned(),
                source,
            })?;
            if sniff {
                sniffer.feed(chunk);
            }
            let n = chunk.len();
            total += n as u64;
            body.consume(n);
        }
        writer.flush().map_err(|source| Error::Io {
            context: "writing the result".to_owned(),
            source,
        })?;
        let mut outcome = QueryOutcome {
            bytes: total,
            ..QueryOutcome::default()
        };
        if sniff {
            match sniffer.status() {
                Some(votable::QueryStatus::Error(message)) => {
                    return Err(Error::Query {
                        url: task_url,
                        message,
                    });
                }
                Some(votable::QueryStatus::Overflow) => outcome.overflow = true,
                _ => {}
            }
        }
        Ok((writer, outcome))
    })
    .await
    .map_err(|e| blocking_error(&url, e))??;
    Ok(outcome)
}

/// A VOTable result being read row by row from the network.
///
/// Reading blocks: call [`VoTableStream::read_row`] and [`VoTableStream::finish`] from
/// `tokio::task::spawn_blocking` (or use [`VoTableStream::read_blocking`]).
pub struct VoTableStream {
    reader: votable::Reader<BodyReader>,
    url: Url,
    rows: u64,
}

impl std::fmt::Debug for VoTableStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoTableStream")
            .field("url", &self.url)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl VoTableStream {
    /// Starts reading a VOTable body (blocking): metadata up to the first rows, then the
    /// `QUERY_STATUS` check (an `ERROR` before the rows is an [`Error::Query`]).
    ///
    /// # Errors
    /// [`Error::VoTable`], [`Error::Query`].
    pub fn open(body: BodyReader, url: Url) -> Result<VoTableStream> {
        let reader = votable::Reader::new(body).map_err(|source| Error::VoTable {
            url: url.clone(),
            source: Box::new(source),
        })?;
        check_query_status(reader.document(), &url)?;
        Ok(VoTableStream {
            reader,
            url,
            rows: 0,
        })
    }

    /// Where the result comes from.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The metadata read so far.
    pub fn document(&self) -> &Document {
        self.reader.document()
    }

    /// The table whose rows are read (None when the result has no table).
    pub fn table(&self) -> Option<&TableMeta> {
        self.reader.table()
    }

    /// Rows read so far.
    pub fn rows_read(&self) -> u64 {
        self.rows
    }

    /// Reads the next row of the first table (blocking); false at its end.
    ///
    /// # Errors
    /// [`Error::VoTable`] for a malformed row or a network error.
    pub fn read_row(&mut self, row: &mut Row) -> Result<bool> {
        let more = self.reader.read_row(row).map_err(|source| Error::VoTable {
            url: self.url.clone(),
            source: Box::new(source),
        })?;
        if more {
            self.rows += 1;
        }
        Ok(more)
    }

    /// The underlying reader, for converters that take a `votable::Reader`.
    pub fn reader_mut(&mut self) -> &mut votable::Reader<BodyReader> {
        &mut self.reader
    }

    /// Reads to the end (blocking) and applies the `QUERY_STATUS` rules to the complete
    /// document: the last status wins (`OVERFLOW` after the data sets the flag, `ERROR`
    /// after the data is an error).
    ///
    /// # Errors
    /// [`Error::Query`], [`Error::VoTable`].
    pub fn finish(self) -> Result<QueryOutcome> {
        let rows = self.rows.max(self.reader.rows_read());
        let url = self.url;
        let document = self.reader.finish().map_err(|source| Error::VoTable {
            url: url.clone(),
            source: Box::new(source),
        })?;
        let mut outcome = check_query_status(&document, &url)?;
        outcome.rows = rows;
        Ok(outcome)
    }

    /// Runs `work` on this stream in a blocking worker, then [`VoTableStream::finish`]es it.
    ///
    /// ```no_run
    /// # async fn demo(client: vo_tap::client::TapClient) -> vo_tap::Result<()> {
    /// let stream = client.query_sync(&vo_tap::TapQuery::new("SELECT TOP 10 * FROM t")).await?;
    /// let (n, outcome) = stream
    ///     .read_blocking(|s| {
    ///         let mut row = votable::Row::new();
    ///         let mut n = 0;
    ///         while s.read_row(&mut row)? {
    ///             n += 1;
    ///         }
    ///         Ok(n)
    ///     })
    ///     .await?;
    /// if outcome.overflow { /* warn: truncated at MAXREC */ }
    /// # let _ = n; Ok(()) }
    /// ```
    ///
    /// # Errors
    /// What `work` returns, and as [`VoTableStream::finish`].
    pub async fn read_blocking<T, F>(mut self, work: F) -> Result<(T, QueryOutcome)>
    where
        F: FnOnce(&mut VoTableStream) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let url = self.url.clone();
        tokio::task::spawn_blocking(move || {
            let value = work(&mut self)?;
            let outcome = self.finish()?;
            Ok((value, outcome))
        })
        .await
        .map_err(|e| blocking_error(&url, e))?
    }
}
