//! The async client: the only module of this crate that does I/O.
//!
//! It sends the requests the pure modules build through
//! [`vo_auth::http::HttpClient`] (which attaches credentials only to their origins and
//! follows redirects, e.g. DaCHS's 302 from the ObsCore DataLink service), reads bodies
//! under a size cap, and parses them.
//! Shaped like oauth2's `prepare_request -> call -> parse_response`: every method here
//! is a thin `call` between a pure builder and a pure parser.

use std::collections::BTreeSet;

use futures_util::stream::{self, StreamExt};
use url::Url;
use vo_auth::http::{HttpClient, RequestOptions, Response};

use crate::dal::{self, DalResults};
use crate::descriptor::{BatchConfig, BatchRequest, ServiceDescriptor};
use crate::links::{self, LinksResponse};
use crate::semantics::Semantics;
use crate::{Error, Result, Warning};

/// Settings of a [`DataLinkClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// How many IDs per request, and when to switch to POST.
    pub batch: BatchConfig,
    /// How many batches are in flight at once (default 3).
    pub concurrency: usize,
    /// The largest `{links}` or query document read into memory (default 64 MiB).
    pub max_body_bytes: u64,
    /// How deep nested links are followed (default 4).
    pub max_depth: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            batch: BatchConfig::default(),
            concurrency: 3,
            max_body_bytes: 64 * 1024 * 1024,
            max_depth: 4,
        }
    }
}

/// A batch that failed; the other batches' links are still returned.
#[derive(Debug)]
pub struct BatchFailure {
    /// The IDs of the failed batch.
    pub ids: Vec<String>,
    /// Why it failed.
    pub error: Error,
}

/// The outcome of a batched links call.
#[derive(Debug)]
pub struct BatchedLinks {
    /// The links of every successful batch, merged (use [`LinksResponse::by_id`]).
    pub response: LinksResponse,
    /// Warnings of every batch.
    pub warnings: Vec<Warning>,
    /// Batches that failed.
    pub failures: Vec<BatchFailure>,
}

/// One document reached while following nested links.
#[derive(Debug)]
pub struct FollowedLinks {
    /// Its URL.
    pub url: Url,
    /// 0 for the starting document.
    pub depth: usize,
    /// Its links.
    pub response: LinksResponse,
    /// Its warnings.
    pub warnings: Vec<Warning>,
}

/// A request still to send, or why it could not be built.
type PendingRequest = Result<http::Request<Vec<u8>>>;
/// The outcome of one `{links}` call.
type LinksOutcome = Result<(LinksResponse, Vec<Warning>)>;

/// A DataLink, SODA, SIA and SSA client.
#[derive(Debug, Clone)]
pub struct DataLinkClient {
    http: HttpClient,
    config: ClientConfig,
}

fn http_error(url: &str, source: vo_auth::Error) -> Error {
    Error::Http {
        url: url.to_owned(),
        source: Box::new(source),
    }
}

impl DataLinkClient {
    /// A client with default settings.
    pub fn new(http: HttpClient) -> Self {
        DataLinkClient {
            http,
            config: ClientConfig::default(),
        }
    }

    /// A client with the given settings.
    pub fn with_config(http: HttpClient, config: ClientConfig) -> Self {
        DataLinkClient { http, config }
    }

    /// The settings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The HTTP client (to download files the links point to).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    async fn fetch_document(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<(String, bytes::Bytes)> {
        let url = request.uri().to_string();
        // DataLink, SODA sync and DAL queries are read-only, also when POSTed: retry them.
        let response = self
            .http
            .send(request, RequestOptions::idempotent())
            .await
            .map_err(|e| http_error(&url, e))?;
        let final_url = response.url().to_string();
        let response = response
            .error_for_status()
            .await
            .map_err(|e| http_error(&final_url, e))?;
        let body = response
            .bytes_limited(self.config.max_body_bytes)
            .await
            .map_err(|e| http_error(&final_url, e))?;
        Ok((final_url, body))
    }

    /// Sends a prepared `{links}` request (from [`links::links_requests`] or
    /// [`ServiceDescriptor::request_for_row`]) and parses the answer.
    ///
    /// # Errors
    /// [`Error::Http`] for transport failures and error statuses; parse errors of
    /// [`links::parse_links`].
    pub async fn execute_links(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<(LinksResponse, Vec<Warning>)> {
        let (_url, body) = self.fetch_document(request).await?;
        tokio::task::spawn_blocking(move || links::parse_links(&body))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }

    /// GETs a DataLink URL (e.g. an ObsCore `access_url`, ESO's computed URL from
    /// [`crate::eso::links_url`]); redirects are followed.
    ///
    /// # Errors
    /// [`Error::UnsafeUrl`] for non-http URLs, and those of [`DataLinkClient::execute_links`].
    pub async fn links_at(&self, url: &Url) -> Result<(LinksResponse, Vec<Warning>)> {
        let url = crate::query::checked_http_url(url.as_str())?;
        self.execute_links(crate::query::get_request(&url, &[])?)
            .await
    }

    async fn execute_all(
        &self,
        requests: Vec<(Vec<String>, PendingRequest)>,
    ) -> Vec<(Vec<String>, LinksOutcome)> {
        stream::iter(requests)
            .map(|(ids, request)| async move {
                let result = match request {
                    Ok(request) => self.execute_links(request).await,
                    Err(e) => Err(e),
                };
                (ids, result)
            })
            .buffered(self.config.concurrency.max(1))
            .collect()
            .await
    }

    /// Runs batches, then asks again, one ID at a time, for IDs a batched answer left
    /// out (DaCHS's ObsCore DataLink service redirects a whole batch to the service of
    /// its first ID, which answers for that collection only).
    async fn run_batches(&self, batches: Vec<BatchRequest>) -> BatchedLinks {
        let mut first_round = Vec::new();
        // For each batch, the single-ID requests to fall back on (built up front:
        // requests are consumed when sent).
        let mut fallbacks: Vec<Vec<(String, PendingRequest)>> = Vec::new();
        for batch in batches {
            let singles = if batch.ids.len() > 1 {
                batch
                    .ids
                    .iter()
                    .map(|id| (id.clone(), batch.single(id)))
                    .collect()
            } else {
                Vec::new()
            };
            fallbacks.push(singles);
            first_round.push((batch.ids, Ok(batch.request)));
        }
        let results = self.execute_all(first_round).await;
        let mut out = BatchedLinks {
            response: LinksResponse {
                links: Vec::new(),
                descriptors: Vec::new(),
                status: None,
            },
            warnings: Vec::new(),
            failures: Vec::new(),
        };
        let mut second_round = Vec::new();
        for ((ids, result), singles) in results.into_iter().zip(fallbacks) {
            match result {
                Ok((response, warnings)) => {
                    let answered: BTreeSet<&str> =
                        response.links.iter().map(|l| l.id.as_str()).collect();
                    for (id, request) in singles {
                        if !answered.contains(id.as_str()) {
                            second_round.push((vec![id], request));
                        }
                    }
                    out.response.merge(response);
                    out.warnings.extend(warnings);
                }
                Err(error) => {
                    tracing::warn!(n_ids = ids.len(), %error, "datalink batch failed");
                    out.failures.push(BatchFailure { ids, error });
                }
            }
        }
        if !second_round.is_empty() {
            tracing::debug!(
                n_ids = second_round.len(),
                "asking again for IDs missing from batched answers"
            );
        }
        for (ids, result) in self.execute_all(second_round).await {
            match result {
                Ok((response, warnings)) => {
                    for id in &ids {
                        if !response.links.iter().any(|l| &l.id == id) {
                            out.warnings.push(Warning::NoLinksForId { id: id.clone() });
                        }
                    }
                    out.response.merge(response);
                    out.warnings.extend(warnings);
                }
                Err(error) => out.failures.push(BatchFailure { ids, error }),
            }
        }
        out
    }

    /// The links of many IDs at a DataLink endpoint: `ID` repeated, in batches of
    /// `config.batch.batch_size`, POST when long, `config.concurrency` batches at once.
    /// A failed batch does not fail the others.
    ///
    /// # Errors
    /// [`Error::UnsafeUrl`]/[`Error::Request`] if the endpoint is unusable.
    pub async fn links_for_ids(&self, endpoint: &Url, ids: &[String]) -> Result<BatchedLinks> {
        let endpoint = crate::query::checked_http_url(endpoint.as_str())?;
        let batches = links::links_requests(&endpoint, ids, &self.config.batch)?;
        Ok(self.run_batches(batches).await)
    }

    /// Calls a DataLink descriptor (pyvo's `getdatalink`) for rows of its results
    /// table, batched by the `ref` parameter, with extra user parameters (e.g. HEASARC's
    /// `source=aws:us-east1`).
    ///
    /// # Errors
    /// Those of [`ServiceDescriptor::batch_requests`].
    pub async fn links_for_rows(
        &self,
        descriptor: &ServiceDescriptor,
        table: &votable::Table,
        rows: &[usize],
        user: &[(String, String)],
    ) -> Result<BatchedLinks> {
        let (batches, warnings) =
            descriptor.batch_requests(table, rows, user, &self.config.batch)?;
        let mut out = self.run_batches(batches).await;
        out.warnings.splice(0..0, warnings);
        Ok(out)
    }

    /// Follows nested links from `start`: every link matching `semantics` (e.g.
    /// `#progenitor`) whose content type is a VOTable/DataLink document is fetched in
    /// turn, up to `config.max_depth` levels. Documents reached twice are read once.
    ///
    /// # Errors
    /// [`Error::DepthExceeded`] when a link points back to a document on its own path
    /// (a cycle) or the depth limit is reached with links left to follow; the errors of
    /// [`DataLinkClient::links_at`] for any document on the way.
    pub async fn follow(&self, start: &Url, semantics: &Semantics) -> Result<Vec<FollowedLinks>> {
        let mut out = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        // Depth-first with an explicit stack: (url, depth, path of ancestors).
        let mut stack: Vec<(Url, usize, Vec<String>)> = vec![(start.clone(), 0, Vec::new())];
        while let Some((url, depth, path)) = stack.pop() {
            if path.contains(&url.to_string()) || depth > self.config.max_depth {
                return Err(Error::DepthExceeded {
                    url: url.to_string(),
                    limit: self.config.max_depth,
                });
            }
            if !seen.insert(url.to_string()) {
                continue;
            }
            let (response, warnings) = self.links_at(&url).await?;
            let mut child_path = path.clone();
            child_path.push(url.to_string());
            let mut children = Vec::new();
            for link in response.by_semantics(semantics) {
                let is_links_doc = link
                    .content_type
                    .as_deref()
                    .is_some_and(|ct| ct.to_ascii_lowercase().contains("votable"));
                if !is_links_doc {
                    continue;
                }
                children.push(link.http_url()?);
            }
            for child in children.into_iter().rev() {
                stack.push((child, depth + 1, child_path.clone()));
            }
            out.push(FollowedLinks {
                url,
                depth,
                response,
                warnings,
            });
        }
        Ok(out)
    }

    /// Sends a SODA sync request (from [`crate::soda::sync_request`] or
    /// [`crate::soda::request_from_descriptor`]) and returns the streaming response of
    /// a successful cutout, for the caller to save (e.g. with `vo-download`).
    ///
    /// # Errors
    /// [`Error::SodaNoData`] (204), [`Error::SodaNotFound`] (404),
    /// [`Error::SodaUsage`] (400/422), [`Error::Status`], [`Error::Http`].
    pub async fn cutout(&self, request: http::Request<Vec<u8>>) -> Result<Response> {
        let url = request.uri().to_string();
        let response = self
            .http
            .send(request, RequestOptions::idempotent())
            .await
            .map_err(|e| http_error(&url, e))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) && status != 204 {
            return Ok(response);
        }
        let final_url = response.url().to_string();
        let excerpt = if status == 204 {
            String::new()
        } else {
            response.text_limited(4096).await.unwrap_or_default()
        };
        crate::soda::check_response(&final_url, status, &excerpt)?;
        Err(Error::Status {
            url: final_url,
            status,
            body_excerpt: excerpt,
        })
    }

    /// Sends an SIA or SSA request and parses the results with their descriptors.
    ///
    /// # Errors
    /// [`Error::Http`], [`Error::VoTable`], [`Error::QueryFailed`].
    pub async fn query(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<(DalResults, Vec<Warning>)> {
        let (_url, body) = self.fetch_document(request).await?;
        tokio::task::spawn_blocking(move || dal::parse_results(&body))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }
}
