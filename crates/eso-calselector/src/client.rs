//! The calSelector client: the only module of this crate that awaits.
//!
//! It sends the requests built by [`CalSelector`] through the user's
//! [`vo_auth::http::HttpClient`] (which attaches the cached ESO token only to the ESO origins:
//! protected frames need it) and hands the bodies to the pure parsers.
//!
//! - VOTables are fetched per frame by GET (`responseformat=votable` with several `dp_id`s is
//!   not documented by ESO), a few at a time.
//! - Association trees are fetched in batches: GET for one frame, POST with repeated `dp_id`s
//!   (a multipart reply) for several.

use futures_util::StreamExt;
use url::Url;
use vo_auth::http::{HttpClient, RequestOptions};

use crate::multipart::{TreeDocument, parse_tree_reply};
use crate::plan::{CalibrationPlan, FrameReport};
use crate::request::{
    BatchRequest, CalSelector, DEFAULT_BATCH_SIZE, Mode, ResponseFormat, dedup_dp_ids,
};
use crate::tree::TreeLimits;
use crate::warnings::ParseWarning;
use crate::{Error, Result};

/// Settings of a [`CalSelectorClient`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// Frames per POST when fetching association trees (default [`DEFAULT_BATCH_SIZE`]).
    pub batch_size: usize,
    /// VOTable requests in flight at once (default 4).
    pub concurrency: usize,
    /// Largest reply read into memory, in bytes (default 64 MiB).
    pub max_reply_bytes: u64,
    /// Caps for association trees.
    pub tree_limits: TreeLimits,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            batch_size: DEFAULT_BATCH_SIZE,
            concurrency: 4,
            max_reply_bytes: 64 << 20,
            tree_limits: TreeLimits::default(),
        }
    }
}

/// A calSelector client bound to an endpoint and an HTTP client.
#[derive(Debug, Clone)]
pub struct CalSelectorClient {
    http: HttpClient,
    service: CalSelector,
    options: ClientOptions,
}

impl CalSelectorClient {
    /// A client for `service` using `http` (which carries the user's credentials, if any).
    pub fn new(http: HttpClient, service: CalSelector) -> Self {
        CalSelectorClient {
            http,
            service,
            options: ClientOptions::default(),
        }
    }

    /// Replaces the options.
    pub fn with_options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }

    /// The request builder in use.
    pub fn service(&self) -> &CalSelector {
        &self.service
    }

    /// Fetches and analyses one frame's calSelector VOTable (GET).
    ///
    /// # Errors
    /// [`Error::InvalidDpId`], [`Error::Http`] (transport, 4xx/5xx: 401 means "run `eso login`"),
    /// [`Error::UnexpectedContentType`] for an HTML page, and the VOTable errors of
    /// [`FrameReport::from_votable`].
    pub async fn frame(&self, dp_id: &str, mode: Mode) -> Result<FrameReport> {
        let request = self.service.get(dp_id, mode, ResponseFormat::VoTable)?;
        let (url, content_type, body) = self.fetch(request).await?;
        if content_type
            .as_deref()
            .is_some_and(|ct| ct.to_ascii_lowercase().contains("html"))
        {
            return Err(Error::UnexpectedContentType {
                url,
                content_type: content_type.unwrap_or_default(),
            });
        }
        tracing::debug!(url = %url, bytes = body.len(), "calSelector VOTable received");
        FrameReport::from_votable(dp_id, mode, &body)
    }

    /// Fetches the VOTables of many frames (duplicates once), [`ClientOptions::concurrency`] at
    /// a time; reports come back in request order.
    ///
    /// # Errors
    /// The first error of [`CalSelectorClient::frame`]; [`Error::EmptyRequest`] without frames.
    pub async fn frames<S: AsRef<str>>(
        &self,
        dp_ids: &[S],
        mode: Mode,
    ) -> Result<Vec<FrameReport>> {
        let unique = dedup_dp_ids(dp_ids);
        if unique.is_empty() {
            return Err(Error::EmptyRequest);
        }
        let results: Vec<Result<FrameReport>> = futures_util::stream::iter(unique.iter())
            .map(|dp_id| self.frame(dp_id, mode))
            .buffered(self.options.concurrency.max(1))
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// The plan for many frames: their VOTables merged; with `with_trees`, the association
    /// trees of the frames whose reply links one, fetched in batches and attached.
    ///
    /// A frame calSelector could not associate has no tree and is not asked for one; trees
    /// that cannot be fetched or read become [`ParseWarning::Tree`] warnings on their frames
    /// instead of failing the plan (the calibration list is still right without them).
    ///
    /// # Errors
    /// As [`CalSelectorClient::frames`].
    pub async fn plan<S: AsRef<str>>(
        &self,
        dp_ids: &[S],
        mode: Mode,
        with_trees: bool,
    ) -> Result<CalibrationPlan> {
        let frames = self.frames(dp_ids, mode).await?;
        let mut plan = CalibrationPlan::new(mode, frames);
        if !with_trees {
            return Ok(plan);
        }
        let with_cascade: Vec<String> = plan
            .frames
            .iter()
            .filter(|frame| plan.trees.iter().any(|tree| tree.frame == frame.dp_id))
            .map(|frame| frame.dp_id.clone())
            .collect();
        if with_cascade.is_empty() {
            return Ok(plan);
        }
        match self.trees(&with_cascade, mode).await {
            Ok(documents) => {
                for document in plan.attach_trees(documents) {
                    tracing::warn!(
                        part = document.part,
                        dp_id = document.dp_id.as_deref().unwrap_or(""),
                        "association tree matched no requested frame or could not be read"
                    );
                }
            }
            Err(err) => {
                let detail = format!("cannot fetch the association tree: {err}");
                for frame in plan
                    .frames
                    .iter_mut()
                    .filter(|frame| with_cascade.contains(&frame.dp_id))
                {
                    frame.parse_warnings.push(ParseWarning::Tree {
                        path: "association".to_owned(),
                        detail: detail.clone(),
                    });
                }
            }
        }
        Ok(plan)
    }

    /// Fetches the association trees of many frames: GET for one frame, POSTs of
    /// [`ClientOptions::batch_size`] frames (multipart replies) for several.
    ///
    /// # Errors
    /// [`Error::Http`], [`Error::Multipart`], or a single tree's parse error.
    pub async fn trees<S: AsRef<str>>(
        &self,
        dp_ids: &[S],
        mode: Mode,
    ) -> Result<Vec<TreeDocument>> {
        let batches = self.service.batches(
            dp_ids,
            mode,
            ResponseFormat::AssociationTree,
            self.options.batch_size,
        )?;
        let mut documents = Vec::new();
        for BatchRequest { request, dp_ids } in batches {
            tracing::debug!(frames = dp_ids.len(), "fetching association trees");
            let (_, content_type, body) = self.fetch(request).await?;
            documents.extend(parse_tree_reply(
                content_type.as_deref(),
                &body,
                &self.options.tree_limits,
            )?);
        }
        Ok(documents)
    }

    /// Fetches an association tree from a link of the VOTable (`eso_category=ASSOCIATION_TREE`).
    ///
    /// # Errors
    /// [`Error::Http`] (including a URL that is not http or https), and the tree's errors.
    pub async fn tree_from_url(&self, url: &Url) -> Result<Vec<TreeDocument>> {
        let request = http::Request::get(url.as_str())
            .body(Vec::new())
            .map_err(|err| Error::Request {
                reason: err.to_string(),
            })?;
        let (_, content_type, body) = self.fetch(request).await?;
        parse_tree_reply(content_type.as_deref(), &body, &self.options.tree_limits)
    }

    /// Sends a request and reads the body (capped); returns (URL, content type, body).
    async fn fetch(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<(String, Option<String>, Vec<u8>)> {
        let shown_url = request.uri().to_string();
        let http_error = |source: vo_auth::Error| Error::Http {
            url: shown_url.clone(),
            source: Box::new(source),
        };
        // calSelector POSTs are queries: repeating one is harmless.
        let response = self
            .http
            .send(request, RequestOptions::idempotent())
            .await
            .map_err(http_error)?
            .error_for_status()
            .await
            .map_err(http_error)?;
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes_limited(self.options.max_reply_bytes)
            .await
            .map_err(http_error)?;
        Ok((shown_url, content_type, body.to_vec()))
    }
}
