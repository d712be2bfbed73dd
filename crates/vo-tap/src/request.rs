//! Request builders: every TAP, UWS and VOSI request as an `http::Request<Vec<u8>>`,
//! built without I/O so that tests can inspect them and any HTTP stack can send them.
//!
//! References: [TAP 1.1, section 2](https://www.ivoa.net/documents/TAP/20190927/REC-TAP-1.1.html#tth_sEc2),
//! [UWS 1.1, section 2.2](https://www.ivoa.net/documents/UWS/20161024/REC-UWS-1.1-20161024.html#RESTbinding),
//! [VOSI 1.1](https://www.ivoa.net/documents/VOSI/20170524/REC-VOSI-1.1.html).

use http::{Method, Request, header};
use url::Url;

use crate::format::ResponseFormat;
use crate::phase::ExecutionPhase;
use crate::{Error, Result};

const FORM: &str = "application/x-www-form-urlencoded";

/// A table to upload with a query (`UPLOAD=name,param:name`, TAP 1.1 section 2.5.1).
#[derive(Clone, PartialEq, Eq)]
pub struct Upload {
    /// Table name in the query: `TAP_UPLOAD.<name>`. Letters, digits and `_`,
    /// starting with a letter.
    pub name: String,
    /// Where the table comes from.
    pub source: UploadSource,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("name", &self.name)
            .field("source", &self.source)
            .finish()
    }
}

/// The content of an uploaded table.
#[derive(Clone, PartialEq, Eq)]
pub enum UploadSource {
    /// A VOTable sent inline as a multipart part.
    VoTable(Vec<u8>),
    /// A URL the server fetches itself.
    Url(Url),
}

impl std::fmt::Debug for UploadSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UploadSource::VoTable(bytes) => write!(f, "VoTable({} bytes)", bytes.len()),
            UploadSource::Url(url) => write!(f, "Url({url})"),
        }
    }
}

impl Upload {
    /// An inline VOTable upload.
    pub fn votable(name: impl Into<String>, bytes: Vec<u8>) -> Upload {
        Upload {
            name: name.into(),
            source: UploadSource::VoTable(bytes),
        }
    }

    /// An upload the server fetches from a URL.
    pub fn url(name: impl Into<String>, url: Url) -> Upload {
        Upload {
            name: name.into(),
            source: UploadSource::Url(url),
        }
    }

    /// Reads a local VOTable file (read whole: uploads are small tables).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read.
    pub fn from_path(name: impl Into<String>, path: &std::path::Path) -> Result<Upload> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            context: format!("reading upload {}", path.display()),
            source,
        })?;
        Ok(Upload::votable(name, bytes))
    }

    fn validate(&self) -> Result<()> {
        let mut chars = self.name.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            Ok(())
        } else {
            Err(Error::InvalidRequest(format!(
                "upload name {:?} must be letters, digits and '_', starting with a letter",
                self.name
            )))
        }
    }
}

/// A TAP query: ADQL text and the standard parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapQuery {
    /// The query text.
    pub query: String,
    /// `LANG` (default `ADQL`).
    pub lang: String,
    /// `MAXREC`: most rows wanted; None leaves the server's default.
    pub maxrec: Option<u64>,
    /// `RESPONSEFORMAT`.
    pub format: ResponseFormat,
    /// Tables to upload.
    pub uploads: Vec<Upload>,
    /// Extra parameters, sent as given (after the standard ones).
    pub extra: Vec<(String, String)>,
}

impl TapQuery {
    /// An ADQL query with the server's default MAXREC and VOTable serialization.
    pub fn new(adql: impl Into<String>) -> TapQuery {
        TapQuery {
            query: adql.into(),
            lang: "ADQL".to_owned(),
            maxrec: None,
            format: ResponseFormat::default(),
            uploads: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// Sets `MAXREC`.
    pub fn maxrec(mut self, maxrec: u64) -> TapQuery {
        self.maxrec = Some(maxrec);
        self
    }

    /// Sets `RESPONSEFORMAT`.
    pub fn format(mut self, format: ResponseFormat) -> TapQuery {
        self.format = format;
        self
    }

    /// Adds a table upload.
    pub fn upload(mut self, upload: Upload) -> TapQuery {
        self.uploads.push(upload);
        self
    }

    /// Adds an extra parameter.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> TapQuery {
        self.extra.push((name.into(), value.into()));
        self
    }

    /// The form parameters of the query, in order (without uploaded bytes).
    fn params(&self) -> Result<Vec<(String, String)>> {
        if self.query.trim().is_empty() {
            return Err(Error::InvalidRequest("the query is empty".into()));
        }
        let mut params = vec![
            ("REQUEST".to_owned(), "doQuery".to_owned()),
            ("LANG".to_owned(), self.lang.clone()),
            ("QUERY".to_owned(), self.query.clone()),
        ];
        if let Some(maxrec) = self.maxrec {
            params.push(("MAXREC".to_owned(), maxrec.to_string()));
        }
        params.push((
            "RESPONSEFORMAT".to_owned(),
            self.format.as_param().to_owned(),
        ));
        if !self.uploads.is_empty() {
            let mut seen = std::collections::HashSet::new();
            let mut spec = Vec::new();
            for upload in &self.uploads {
                upload.validate()?;
                if !seen.insert(upload.name.to_ascii_lowercase()) {
                    return Err(Error::InvalidRequest(format!(
                        "upload name {:?} given twice",
                        upload.name
                    )));
                }
                spec.push(match &upload.source {
                    UploadSource::VoTable(_) => format!("{0},param:{0}", upload.name),
                    UploadSource::Url(url) => format!("{},{url}", upload.name),
                });
            }
            params.push(("UPLOAD".to_owned(), spec.join(";")));
        }
        params.extend(self.extra.iter().cloned());
        Ok(params)
    }
}

/// Filters of a job list request (UWS 1.1 section 2.2.3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Only jobs in these phases (`PHASE=`, repeated).
    pub phases: Vec<ExecutionPhase>,
    /// Only jobs created after this ISO 8601 instant (`AFTER=`).
    pub after: Option<String>,
    /// Only the most recent jobs (`LAST=`).
    pub last: Option<u32>,
}

/// How much of the table set to ask for (VOSI 1.1 section 3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TablesDetail {
    /// The server's default (DaCHS and most: with columns).
    #[default]
    Default,
    /// `detail=min`: table names only.
    Min,
    /// `detail=max`: everything.
    Max,
}

/// The endpoints of one TAP service, relative to its base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapService {
    base: Url,
}

/// Appends path segments to a URL, whatever its trailing slash.
pub(crate) fn join_segments(base: &Url, segments: &[&str]) -> Result<Url> {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| Error::InvalidRequest(format!("{base} cannot be a base URL")))?;
        path.pop_if_empty();
        path.extend(segments);
    }
    Ok(url)
}

fn form_body(params: &[(String, String)]) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
        .into_bytes()
}

fn post_form(url: Url, params: &[(String, String)]) -> Result<Request<Vec<u8>>> {
    build(Method::POST, &url, Some(FORM), form_body(params))
}

fn build(
    method: Method,
    url: &Url,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<Request<Vec<u8>>> {
    let mut builder = Request::builder().method(method).uri(url.as_str());
    if let Some(content_type) = content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    builder
        .body(body)
        .map_err(|e| Error::InvalidRequest(format!("cannot build a request to {url}: {e}")))
}

fn get(url: &Url) -> Result<Request<Vec<u8>>> {
    build(Method::GET, url, None, Vec::new())
}

/// A `multipart/form-data` body (RFC 7578) with the query parameters and inline tables.
fn multipart(params: &[(String, String)], uploads: &[Upload]) -> (String, Vec<u8>) {
    let files: Vec<(&str, &[u8])> = uploads
        .iter()
        .filter_map(|u| match &u.source {
            UploadSource::VoTable(bytes) => Some((u.name.as_str(), bytes.as_slice())),
            UploadSource::Url(_) => None,
        })
        .collect();
    // A random boundary, re-drawn in the (astronomically unlikely) case it occurs in a part.
    let boundary = loop {
        let candidate = format!("vo-tap-{}", uuid::Uuid::new_v4().simple());
        let clash = params.iter().any(|(_, v)| v.contains(&candidate))
            || files.iter().any(|(_, b)| {
                b.windows(candidate.len())
                    .any(|w| w == candidate.as_bytes())
            });
        if !clash {
            break candidate;
        }
    };
    let mut body = Vec::new();
    for (name, value) in params {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\
                 Content-Type: text/plain; charset=utf-8\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(value.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.vot\"\r\n\
                 Content-Type: application/x-votable+xml\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn query_request(
    url: Url,
    query: &TapQuery,
    extra: &[(String, String)],
) -> Result<Request<Vec<u8>>> {
    let mut params = query.params()?;
    params.extend(extra.iter().cloned());
    let inline = query
        .uploads
        .iter()
        .any(|u| matches!(u.source, UploadSource::VoTable(_)));
    if inline {
        let (content_type, body) = multipart(&params, &query.uploads);
        build(Method::POST, &url, Some(&content_type), body)
    } else {
        post_form(url, &params)
    }
}

impl TapService {
    /// A service at this base URL (e.g. `https://archive.eso.org/tap_obs`).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a URL that is not http(s) or cannot be a base.
    pub fn new(base: Url) -> Result<TapService> {
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::InvalidRequest(format!(
                "{base} is not an http(s) service URL"
            )));
        }
        Ok(TapService { base })
    }

    /// The base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `{base}/<segment>`.
    ///
    /// # Errors
    /// Never in practice (the base was checked); kept fallible for URL arithmetic.
    pub fn endpoint(&self, segment: &str) -> Result<Url> {
        join_segments(&self.base, &[segment])
    }

    /// `POST {base}/sync` with the query (multipart when a table is uploaded inline).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for an empty query or a bad upload name.
    pub fn sync_query(&self, query: &TapQuery) -> Result<Request<Vec<u8>>> {
        query_request(self.endpoint("sync")?, query, &[])
    }

    /// `POST {base}/async` creating a job with the query and `RUNID=<run_id>`.
    /// The job is not started: send [`run`] afterwards (some servers ignore
    /// `PHASE=RUN` at creation).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for an empty query or a bad upload name.
    pub fn create_job(&self, query: &TapQuery, run_id: Option<&str>) -> Result<Request<Vec<u8>>> {
        let extra: Vec<(String, String)> = run_id
            .map(|r| vec![("RUNID".to_owned(), r.to_owned())])
            .unwrap_or_default();
        query_request(self.endpoint("async")?, query, &extra)
    }

    /// The URL of a job given its id: `{base}/async/<id>`.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for an empty id or one containing `/`.
    pub fn job_url(&self, job_id: &str) -> Result<Url> {
        if job_id.is_empty() || job_id.contains('/') || job_id == "." || job_id == ".." {
            return Err(Error::InvalidRequest(format!("bad job id {job_id:?}")));
        }
        join_segments(&self.base, &["async", job_id])
    }

    /// `GET {base}/async` with filters.
    ///
    /// # Errors
    /// Never in practice (the base was checked).
    pub fn job_list(&self, filter: &JobFilter) -> Result<Request<Vec<u8>>> {
        let mut url = self.endpoint("async")?;
        {
            let mut query = url.query_pairs_mut();
            for phase in &filter.phases {
                query.append_pair("PHASE", phase.as_str());
            }
            if let Some(after) = &filter.after {
                query.append_pair("AFTER", after);
            }
            if let Some(last) = filter.last {
                query.append_pair("LAST", &last.to_string());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        get(&url)
    }

    /// `GET {base}/capabilities`.
    ///
    /// # Errors
    /// Never in practice (the base was checked).
    pub fn capabilities(&self) -> Result<Request<Vec<u8>>> {
        get(&self.endpoint("capabilities")?)
    }

    /// `GET {base}/availability`.
    ///
    /// # Errors
    /// Never in practice (the base was checked).
    pub fn availability(&self) -> Result<Request<Vec<u8>>> {
        get(&self.endpoint("availability")?)
    }

    /// `GET {base}/tables`, optionally with `detail=min|max`.
    ///
    /// # Errors
    /// Never in practice (the base was checked).
    pub fn tables(&self, detail: TablesDetail) -> Result<Request<Vec<u8>>> {
        let mut url = self.endpoint("tables")?;
        match detail {
            TablesDetail::Default => {}
            TablesDetail::Min => url.set_query(Some("detail=min")),
            TablesDetail::Max => url.set_query(Some("detail=max")),
        }
        get(&url)
    }

    /// `GET {base}/tables/<name>` (VOSI 1.1: one table with its columns).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for an empty name.
    pub fn table(&self, name: &str) -> Result<Request<Vec<u8>>> {
        if name.trim().is_empty() {
            return Err(Error::InvalidRequest("empty table name".into()));
        }
        get(&join_segments(&self.base, &["tables", name])?)
    }
}

/// `GET {job}`, blocking up to `wait` seconds while the job is in `phase`
/// (`WAIT=n&PHASE=<phase>`, UWS 1.1 section 2.2.1.2).
///
/// # Errors
/// [`Error::InvalidRequest`] when the request cannot be built.
pub fn job(job_url: &Url, wait: Option<(u32, ExecutionPhase)>) -> Result<Request<Vec<u8>>> {
    let mut url = job_url.clone();
    if let Some((secs, phase)) = wait {
        url.query_pairs_mut()
            .append_pair("WAIT", &secs.to_string())
            .append_pair("PHASE", phase.as_str());
    }
    get(&url)
}

/// `GET {job}/phase`.
///
/// # Errors
/// [`Error::InvalidRequest`] when the job URL cannot be a base.
pub fn phase(job_url: &Url) -> Result<Request<Vec<u8>>> {
    get(&join_segments(job_url, &["phase"])?)
}

/// `POST {job}/phase` with `PHASE=RUN`.
///
/// # Errors
/// [`Error::InvalidRequest`] when the job URL cannot be a base.
pub fn run(job_url: &Url) -> Result<Request<Vec<u8>>> {
    post_form(
        join_segments(job_url, &["phase"])?,
        &[("PHASE".into(), "RUN".into())],
    )
}

/// `POST {job}/phase` with `PHASE=ABORT`.
///
/// # Errors
/// [`Error::InvalidRequest`] when the job URL cannot be a base.
pub fn abort(job_url: &Url) -> Result<Request<Vec<u8>>> {
    post_form(
        join_segments(job_url, &["phase"])?,
        &[("PHASE".into(), "ABORT".into())],
    )
}

/// How to delete a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeleteMethod {
    /// HTTP `DELETE {job}`.
    #[default]
    HttpDelete,
    /// `POST {job}` with `ACTION=DELETE`, for servers or proxies without DELETE.
    PostAction,
}

/// Deletes a job. Do not follow the 303 to the job list that servers answer with.
///
/// # Errors
/// [`Error::InvalidRequest`] when the request cannot be built.
pub fn delete(job_url: &Url, method: DeleteMethod) -> Result<Request<Vec<u8>>> {
    match method {
        DeleteMethod::HttpDelete => build(Method::DELETE, job_url, None, Vec::new()),
        DeleteMethod::PostAction => {
            post_form(job_url.clone(), &[("ACTION".into(), "DELETE".into())])
        }
    }
}

/// `POST {job}/executionduration` with `EXECUTIONDURATION=<secs>` (0 = unlimited).
///
/// # Errors
/// [`Error::InvalidRequest`] when the job URL cannot be a base.
pub fn set_execution_duration(job_url: &Url, secs: u64) -> Result<Request<Vec<u8>>> {
    post_form(
        join_segments(job_url, &["executionduration"])?,
        &[("EXECUTIONDURATION".into(), secs.to_string())],
    )
}

/// `POST {job}/destruction` with `DESTRUCTION=<ISO 8601 instant>`.
///
/// # Errors
/// [`Error::InvalidRequest`] when the job URL cannot be a base or the instant is empty.
pub fn set_destruction(job_url: &Url, instant: &str) -> Result<Request<Vec<u8>>> {
    if instant.trim().is_empty() {
        return Err(Error::InvalidRequest("empty destruction time".into()));
    }
    post_form(
        join_segments(job_url, &["destruction"])?,
        &[("DESTRUCTION".into(), instant.trim().to_owned())],
    )
}

/// `{job}/results/result`, the URL of the main TAP result.
///
/// # Errors
/// [`Error::InvalidRequest`] when the job URL cannot be a base.
pub fn result_url(job_url: &Url) -> Result<Url> {
    join_segments(job_url, &["results", "result"])
}

/// `GET {job}/results/result`, the main TAP result.
///
/// # Errors
/// [`Error::InvalidRequest`] when the job URL cannot be a base.
pub fn result(job_url: &Url) -> Result<Request<Vec<u8>>> {
    get(&result_url(job_url)?)
}

/// `GET` of any URL (a result `href`, an error document).
///
/// # Errors
/// [`Error::InvalidRequest`] when the request cannot be built.
pub fn get_url(url: &Url) -> Result<Request<Vec<u8>>> {
    get(url)
}

/// `GET {job}/error`, the error document of a failed job.
///
/// # Errors
/// [`Error::InvalidRequest`] when the job URL cannot be a base.
pub fn error(job_url: &Url) -> Result<Request<Vec<u8>>> {
    get(&join_segments(job_url, &["error"])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::VoTableEncoding;

    fn service() -> TapService {
        TapService::new(Url::parse("https://archive.eso.org/tap_obs/").unwrap()).unwrap()
    }

    fn body(req: &Request<Vec<u8>>) -> String {
        String::from_utf8(req.body().clone()).unwrap()
    }

    #[test]
    fn sync_query_is_a_form_post() {
        let query = TapQuery::new("SELECT TOP 1 * FROM ivoa.ObsCore WHERE a='b&c'")
            .maxrec(10)
            .format(ResponseFormat::VoTable(VoTableEncoding::Binary2));
        let req = service().sync_query(&query).unwrap();
        assert_eq!(req.method(), Method::POST);
        assert_eq!(req.uri(), "https://archive.eso.org/tap_obs/sync");
        assert_eq!(req.headers()[header::CONTENT_TYPE], FORM);
        assert_eq!(
            body(&req),
            "REQUEST=doQuery&LANG=ADQL&QUERY=SELECT+TOP+1+*+FROM+ivoa.ObsCore+WHERE+a%3D%27b%26c%27\
             &MAXREC=10&RESPONSEFORMAT=application%2Fx-votable%2Bxml%3Bserialization%3DBINARY2"
        );
    }

    #[test]
    fn async_creation_carries_runid_and_no_phase() {
        let req = service()
            .create_job(&TapQuery::new("SELECT 1"), Some("run-1"))
            .unwrap();
        assert_eq!(req.uri(), "https://archive.eso.org/tap_obs/async");
        let text = body(&req);
        assert!(text.ends_with("&RUNID=run-1"), "{text}");
        assert!(!text.contains("PHASE"));
    }

    #[test]
    fn upload_is_multipart() {
        let query = TapQuery::new("SELECT * FROM TAP_UPLOAD.t1")
            .upload(Upload::votable("t1", b"<VOTABLE/>".to_vec()))
            .upload(Upload::url("t2", Url::parse("https://x/t.vot").unwrap()));
        let req = service().sync_query(&query).unwrap();
        let content_type = req.headers()[header::CONTENT_TYPE].to_str().unwrap();
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        let text = body(&req);
        assert!(text.starts_with(&format!("--{boundary}\r\n")));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
        assert!(text.contains("name=\"UPLOAD\"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nt1,param:t1;t2,https://x/t.vot\r\n"));
        assert!(text.contains(
            "name=\"t1\"; filename=\"t1.vot\"\r\nContent-Type: application/x-votable+xml\r\n\r\n<VOTABLE/>\r\n"
        ));
    }

    #[test]
    fn bad_queries_are_rejected() {
        for name in ["", "1t", "a,b", "t;DROP", "a b"] {
            let query = TapQuery::new("SELECT 1").upload(Upload::votable(name, Vec::new()));
            assert!(matches!(
                service().sync_query(&query),
                Err(Error::InvalidRequest(_))
            ));
        }
        let twice = TapQuery::new("SELECT 1")
            .upload(Upload::votable("t", Vec::new()))
            .upload(Upload::votable("T", Vec::new()));
        assert!(service().sync_query(&twice).is_err());
        assert!(service().sync_query(&TapQuery::new("  ")).is_err());
        assert!(TapService::new(Url::parse("file:///tmp").unwrap()).is_err());
    }

    #[test]
    fn uws_requests() {
        let job_url = service().job_url("abc").unwrap();
        assert_eq!(
            job_url.as_str(),
            "https://archive.eso.org/tap_obs/async/abc"
        );
        assert!(service().job_url("../x").is_err());
        let req = job(&job_url, Some((30, ExecutionPhase::Executing))).unwrap();
        assert_eq!(
            req.uri(),
            "https://archive.eso.org/tap_obs/async/abc?WAIT=30&PHASE=EXECUTING"
        );
        let req = run(&job_url).unwrap();
        assert_eq!(
            (req.method(), req.uri().to_string(), body(&req)),
            (
                &Method::POST,
                "https://archive.eso.org/tap_obs/async/abc/phase".into(),
                "PHASE=RUN".into()
            )
        );
        assert_eq!(body(&abort(&job_url).unwrap()), "PHASE=ABORT");
        let req = delete(&job_url, DeleteMethod::HttpDelete).unwrap();
        assert_eq!(req.method(), Method::DELETE);
        let req = delete(&job_url, DeleteMethod::PostAction).unwrap();
        assert_eq!(
            (req.method(), body(&req)),
            (&Method::POST, "ACTION=DELETE".into())
        );
        let req = set_execution_duration(&job_url, 600).unwrap();
        assert_eq!(
            req.uri(),
            "https://archive.eso.org/tap_obs/async/abc/executionduration"
        );
        assert_eq!(body(&req), "EXECUTIONDURATION=600");
        let req = set_destruction(&job_url, "2026-12-01T00:00:00Z").unwrap();
        assert_eq!(body(&req), "DESTRUCTION=2026-12-01T00%3A00%3A00Z");
        assert_eq!(
            result(&job_url).unwrap().uri(),
            "https://archive.eso.org/tap_obs/async/abc/results/result"
        );
        assert_eq!(
            error(&job_url).unwrap().uri(),
            "https://archive.eso.org/tap_obs/async/abc/error"
        );
        assert_eq!(
            phase(&job_url).unwrap().uri(),
            "https://archive.eso.org/tap_obs/async/abc/phase"
        );
    }

    #[test]
    fn job_list_and_vosi() {
        let svc = service();
        assert_eq!(
            svc.job_list(&JobFilter::default()).unwrap().uri(),
            "https://archive.eso.org/tap_obs/async"
        );
        let filter = JobFilter {
            phases: vec![ExecutionPhase::Executing, ExecutionPhase::Queued],
            after: Some("2026-01-01T00:00:00Z".into()),
            last: Some(5),
        };
        assert_eq!(
            svc.job_list(&filter).unwrap().uri(),
            "https://archive.eso.org/tap_obs/async?PHASE=EXECUTING&PHASE=QUEUED&AFTER=2026-01-01T00%3A00%3A00Z&LAST=5"
        );
        assert_eq!(
            svc.capabilities().unwrap().uri(),
            "https://archive.eso.org/tap_obs/capabilities"
        );
        assert_eq!(
            svc.availability().unwrap().uri(),
            "https://archive.eso.org/tap_obs/availability"
        );
        assert_eq!(
            svc.tables(TablesDetail::Min).unwrap().uri(),
            "https://archive.eso.org/tap_obs/tables?detail=min"
        );
        assert_eq!(
            svc.table("dbo.raw").unwrap().uri(),
            "https://archive.eso.org/tap_obs/tables/dbo.raw"
        );
    }
}
