//! UWS 1.1 documents: the job description, the job list and the `/phase` resource
//! ([UWS 1.1, section 2.2](https://www.ivoa.net/documents/UWS/20161024/REC-UWS-1.1-20161024.html#RESTbinding)).
//!
//! Parsers take bytes and return values; elements are matched by local name within the
//! UWS namespace (any prefix, or none), optional elements may be missing or `xsi:nil`,
//! `<!DOCTYPE` is rejected and documents are capped ([`MAX_JOB_BYTES`], [`MAX_LIST_BYTES`]).

use crate::phase::ExecutionPhase;
use crate::xml::{self, Element, XLINK_NS};
use crate::{Error, Result};

/// The UWS namespace URI (UWS 1.0 and 1.1 share it).
pub const UWS_NS: &str = "http://www.ivoa.net/xml/UWS/v1.0";
/// Largest job document accepted, in bytes.
pub const MAX_JOB_BYTES: usize = 1 << 20;
/// Largest job list accepted, in bytes.
pub const MAX_LIST_BYTES: usize = 16 << 20;

/// A UWS job description (`<uws:job>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UwsJob {
    /// `jobId`.
    pub job_id: String,
    /// `runId`, the client's label (this crate sends a UUID to find lost jobs again).
    pub run_id: Option<String>,
    /// `ownerId`.
    pub owner_id: Option<String>,
    /// `phase`.
    pub phase: ExecutionPhase,
    /// `quote`: when the server expects the job to finish (ISO 8601, as sent).
    pub quote: Option<String>,
    /// `creationTime` (ISO 8601, as sent).
    pub creation_time: Option<String>,
    /// `startTime` (ISO 8601, as sent).
    pub start_time: Option<String>,
    /// `endTime` (ISO 8601, as sent).
    pub end_time: Option<String>,
    /// `executionDuration` in seconds; 0 means unlimited.
    pub execution_duration: Option<u64>,
    /// `destruction`: when the server will delete the job (ISO 8601, as sent).
    pub destruction: Option<String>,
    /// `parameters`, in document order.
    pub parameters: Vec<Parameter>,
    /// `results`, in document order.
    pub results: Vec<ResultRef>,
    /// `errorSummary`, for failed jobs.
    pub error_summary: Option<ErrorSummary>,
}

/// One job parameter (`<uws:parameter id=".." byReference="..">value</uws:parameter>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// Parameter name (`id`), as sent by the server (DaCHS lowercases them).
    pub id: String,
    /// Value; None when empty or nil.
    pub value: Option<String>,
    /// `byReference="true"`: the value is a URL.
    pub by_reference: bool,
}

/// One job result (`<uws:result id=".." xlink:href=".."/>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRef {
    /// `id`, `result` for the main TAP result.
    pub id: String,
    /// `xlink:href`, the URL of the result (may be on another origin).
    pub href: Option<String>,
    /// `mime-type` (UWS 1.1).
    pub mime: Option<String>,
    /// `size` in bytes (UWS 1.1).
    pub size: Option<u64>,
}

/// The kind of failure in an error summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorType {
    /// `transient`: retrying may succeed.
    Transient,
    /// `fatal`.
    Fatal,
    /// Any other value, kept verbatim.
    Other(String),
}

/// `<uws:errorSummary>` of a failed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorSummary {
    /// `type` attribute.
    pub error_type: ErrorType,
    /// `hasDetail`: the `{job}/error` resource has more.
    pub has_detail: bool,
    /// The `message` child, when present.
    pub message: Option<String>,
}

/// One entry of a job list (`<uws:jobref>`, a "short job description").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRef {
    /// Job id (`id` attribute).
    pub id: String,
    /// `xlink:href`, the job URL when the server gives it.
    pub href: Option<String>,
    /// `phase`; None when missing or not a UWS phase.
    pub phase: Option<ExecutionPhase>,
    /// `runId` (UWS 1.1).
    pub run_id: Option<String>,
    /// `ownerId` (UWS 1.1).
    pub owner_id: Option<String>,
    /// `creationTime` (UWS 1.1, ISO 8601 as sent).
    pub creation_time: Option<String>,
}

impl UwsJob {
    /// The result named `result` (the TAP result), else the first one.
    pub fn main_result(&self) -> Option<&ResultRef> {
        self.results
            .iter()
            .find(|r| r.id == "result")
            .or_else(|| self.results.first())
    }

    /// The value of a parameter, compared case-insensitively (`QUERY` and `query`).
    pub fn parameter(&self, id: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|p| p.id.eq_ignore_ascii_case(id))
            .and_then(|p| p.value.as_deref())
    }
}

fn malformed(document: &'static str, message: impl Into<String>) -> Error {
    Error::Document {
        document,
        url: None,
        message: message.into(),
    }
}

fn parse_root(
    bytes: &[u8],
    limit: usize,
    document: &'static str,
    root_local: &str,
) -> Result<Element> {
    let root = xml::parse(bytes, limit).map_err(|e| malformed(document, e.to_string()))?;
    if root.local != root_local {
        return Err(malformed(
            document,
            format!(
                "root element is <{}>, expected <{root_local}>",
                root.local.chars().take(64).collect::<String>()
            ),
        ));
    }
    if let Some(ns) = root.ns.as_deref().filter(|ns| *ns != UWS_NS) {
        return Err(malformed(
            document,
            format!(
                "root element is in namespace {:?}, expected {UWS_NS}",
                ns.chars().take(128).collect::<String>()
            ),
        ));
    }
    Ok(root)
}

/// Parses a UWS job document.
///
/// # Errors
/// [`Error::Document`] when the document is not well-formed XML, larger than
/// [`MAX_JOB_BYTES`], has a DOCTYPE, is not a `job` in the UWS namespace, lacks `jobId`
/// or `phase`, or has an illegal phase.
pub fn parse_job(bytes: &[u8]) -> Result<UwsJob> {
    const DOC: &str = "UWS job";
    let root = parse_root(bytes, MAX_JOB_BYTES, DOC, "job")?;
    let job_id = root
        .child_text("jobId")
        .ok_or_else(|| malformed(DOC, "missing jobId"))?;
    let phase_text = root
        .child_text("phase")
        .ok_or_else(|| malformed(DOC, "missing phase"))?;
    let phase = ExecutionPhase::parse(&phase_text).map_err(|e| malformed(DOC, e.to_string()))?;
    let execution_duration = match root.child_text("executionDuration") {
        None => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            malformed(
                DOC,
                format!(
                    "executionDuration {:?} is not a number of seconds",
                    text.chars().take(32).collect::<String>()
                ),
            )
        })?),
    };
    let parameters = root
        .child("parameters")
        .map(|params| {
            params
                .children_named("parameter")
                .filter_map(|p| {
                    Some(Parameter {
                        id: p.attr("id")?.to_owned(),
                        value: p.text_value(),
                        by_reference: p.attr("byReference").is_some_and(is_true),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let results = root
        .child("results")
        .map(|results| {
            results
                .children_named("result")
                .filter_map(|r| {
                    Some(ResultRef {
                        id: r.attr("id")?.to_owned(),
                        href: href_of(r),
                        mime: r.attr("mime-type").map(str::to_owned),
                        size: r.attr("size").and_then(|s| s.trim().parse().ok()),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let error_summary = root
        .child("errorSummary")
        .filter(|e| !e.is_nil())
        .map(|summary| ErrorSummary {
            error_type: match summary.attr("type").map(str::trim) {
                Some(t) if t.eq_ignore_ascii_case("transient") => ErrorType::Transient,
                Some(t) if t.eq_ignore_ascii_case("fatal") => ErrorType::Fatal,
                Some(other) => ErrorType::Other(other.to_owned()),
                None => ErrorType::Other(String::new()),
            },
            has_detail: summary.attr("hasDetail").is_some_and(is_true),
            message: summary
                .child_text("message")
                .or_else(|| summary.text_value()),
        });
    Ok(UwsJob {
        job_id,
        run_id: root.child_text("runId"),
        owner_id: root.child_text("ownerId"),
        phase,
        quote: root.child_text("quote"),
        creation_time: root.child_text("creationTime"),
        start_time: root.child_text("startTime"),
        end_time: root.child_text("endTime"),
        execution_duration,
        destruction: root.child_text("destruction"),
        parameters,
        results,
        error_summary,
    })
}

fn is_true(value: &str) -> bool {
    matches!(value.trim(), "true" | "1")
}

fn href_of(element: &Element) -> Option<String> {
    element
        .attr_ns(XLINK_NS, "href")
        .or_else(|| element.attr("href"))
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

/// Parses a UWS job list (`<uws:jobs>`).
///
/// Entries without an `id` are skipped; an entry whose phase is not a UWS phase keeps
/// `phase: None`.
///
/// # Errors
/// [`Error::Document`] when the document is not well-formed XML, larger than
/// [`MAX_LIST_BYTES`], has a DOCTYPE, or is not a `jobs` list in the UWS namespace.
pub fn parse_job_list(bytes: &[u8]) -> Result<Vec<JobRef>> {
    let root = parse_root(bytes, MAX_LIST_BYTES, "UWS job list", "jobs")?;
    Ok(root
        .children_named("jobref")
        .filter_map(|job| {
            Some(JobRef {
                id: job.attr("id")?.trim().to_owned(),
                href: href_of(job),
                phase: job
                    .child_text("phase")
                    .and_then(|p| ExecutionPhase::parse(&p).ok()),
                run_id: job.child_text("runId"),
                owner_id: job.child_text("ownerId"),
                creation_time: job.child_text("creationTime"),
            })
        })
        .collect())
}

/// Parses the body of `GET {job}/phase` (plain text, e.g. `"EXECUTING\n"`).
///
/// # Errors
/// [`Error::Document`] when the body is not one of the ten phases (trimmed).
pub fn parse_phase(bytes: &[u8]) -> Result<ExecutionPhase> {
    let text = String::from_utf8_lossy(bytes);
    ExecutionPhase::parse(&text).map_err(|e| malformed("UWS phase", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<u:job xmlns:u="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1">
  <u:jobId> abc </u:jobId>
  <u:runId>r-1</u:runId>
  <u:ownerId xsi:nil="true"/>
  <u:phase>
    ERROR
  </u:phase>
  <u:quote xsi:nil="true"></u:quote>
  <u:creationTime>2026-11-21T18:26:23Z</u:creationTime>
  <u:executionDuration>600</u:executionDuration>
  <u:destruction>2026-11-23T18:26:23Z</u:destruction>
  <u:parameters>
    <u:parameter id="QUERY">SELECT * FROM t WHERE a &lt; 3</u:parameter>
    <u:parameter id="UPLOAD" byReference="true">http://x/t.vot</u:parameter>
    <u:parameter id="MAXREC"/>
  </u:parameters>
  <u:results>
    <u:result id="result" xlink:href="http://x/results/result" size="12" mime-type="text/xml"/>
  </u:results>
  <u:errorSummary type="fatal" hasDetail="true"><u:message>table t does not exist</u:message></u:errorSummary>
</u:job>"#;

    #[test]
    fn parses_a_full_job_with_free_prefix() {
        let job = parse_job(FULL.as_bytes()).unwrap();
        assert_eq!(job.job_id, "abc");
        assert_eq!(job.run_id.as_deref(), Some("r-1"));
        assert_eq!(job.owner_id, None);
        assert_eq!(job.phase, ExecutionPhase::Error);
        assert_eq!(job.quote, None);
        assert_eq!(job.start_time, None);
        assert_eq!(job.execution_duration, Some(600));
        assert_eq!(job.parameter("query"), Some("SELECT * FROM t WHERE a < 3"));
        assert_eq!(job.parameter("maxrec"), None);
        assert!(job.parameters[1].by_reference);
        let result = job.main_result().unwrap();
        assert_eq!(result.href.as_deref(), Some("http://x/results/result"));
        assert_eq!(result.size, Some(12));
        assert_eq!(result.mime.as_deref(), Some("text/xml"));
        let summary = job.error_summary.unwrap();
        assert_eq!(summary.error_type, ErrorType::Fatal);
        assert!(summary.has_detail);
        assert_eq!(summary.message.as_deref(), Some("table t does not exist"));
    }

    #[test]
    fn minimal_unprefixed_job() {
        let job =
            parse_job(br#"<job xmlns="http://www.ivoa.net/xml/UWS/v1.0"><jobId>1</jobId><phase>PENDING</phase></job>"#)
                .unwrap();
        assert_eq!(job.phase, ExecutionPhase::Pending);
        assert!(job.results.is_empty() && job.parameters.is_empty());
    }

    #[test]
    fn rejects_bad_jobs() {
        let cases: [&[u8]; 6] = [
            br#"<job xmlns="http://www.ivoa.net/xml/UWS/v1.0"><jobId>1</jobId><phase>BOGUS</phase></job>"#,
            br#"<job xmlns="http://www.ivoa.net/xml/UWS/v1.0"><phase>PENDING</phase></job>"#,
            br#"<job xmlns="urn:other"><jobId>1</jobId><phase>PENDING</phase></job>"#,
            br#"<html><body>Service unavailable</body></html>"#,
            br#"<!DOCTYPE job SYSTEM "file:///etc/passwd"><job/>"#,
            br#"<job xmlns="http://www.ivoa.net/xml/UWS/v1.0"><jobId>1</jobId><phase>PENDING</phase><executionDuration>-1</executionDuration></job>"#,
        ];
        for case in cases {
            let err = parse_job(case).unwrap_err();
            assert!(matches!(err, Error::Document { .. }), "{err:?}");
        }
        let mut huge = Vec::from(&b"<job>"[..]);
        huge.resize(MAX_JOB_BYTES + 10, b' ');
        assert!(parse_job(&huge).unwrap_err().to_string().contains("larger"));
    }

    #[test]
    fn job_list_and_phase() {
        let list = br#"<uws:jobs xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink">
            <uws:jobref id="a" xlink:href="http://x/async/a"><uws:phase>COMPLETED</uws:phase><uws:runId>r</uws:runId>
              <uws:creationTime>2026-01-01T00:00:00Z</uws:creationTime></uws:jobref>
            <uws:jobref id="b"><uws:phase>WHATEVER</uws:phase></uws:jobref>
            <uws:jobref><uws:phase>PENDING</uws:phase></uws:jobref>
        </uws:jobs>"#;
        let jobs = parse_job_list(list).unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].phase, Some(ExecutionPhase::Completed));
        assert_eq!(jobs[0].run_id.as_deref(), Some("r"));
        assert_eq!(jobs[0].href.as_deref(), Some("http://x/async/a"));
        assert_eq!(jobs[1].phase, None);
        assert_eq!(
            parse_phase(b"EXECUTING\n").unwrap(),
            ExecutionPhase::Executing
        );
        assert!(parse_phase(b"<html>").is_err());
    }
}
