//! TAP 1.1 (`tap_obs`, `tap_cat`): sync queries, UWS 1.1 async jobs and the VOSI resources.
//!
//! The offline archive cannot run ADQL: it recognises its recorded queries
//! (compared after [`normalize_adql`]) and answers them from the fixtures; any other query is
//! an error that lists the known ones.
//! The seed 000 query is "authorised": its two rows are protected, so an anonymous query gets
//! zero rows with `QUERY_STATUS` `OK`, as on the real archive.
//!
//! Async jobs follow UWS 1.1:
//!
//! ```text
//!   POST /async ──303──> PENDING ──PHASE=RUN──> QUEUED ──> EXECUTING ──> COMPLETED | ERROR
//!                          │                      └──────PHASE=ABORT─────> ABORTED
//!                          └─ DELETE / ACTION=DELETE ──303──> job list
//! ```
//!
//! Phases advance with time (a third of `DemoConfig::job_duration` queued, the rest executing);
//! `WAIT` blocks until the phase changes or the wait ends.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{Method, StatusCode};

use crate::auth::Auth;
use crate::catalog::{Catalog, OBSCORE_QUERY, SEED000_QUERY, normalize_adql};
use crate::clock::{iso, parse_iso};
use crate::http::{
    Req, Resp, auth_required, body, see_other, text, votable_error, votable_error_document, xml,
};
use crate::server::State;
use crate::vot::{TableDoc, escape};

/// The longest `WAIT` honoured, in seconds (`WAIT=-1` means this).
const MAX_WAIT_SECS: u64 = 60;
/// Default and largest execution duration (seconds), as ESO's `tap_obs`.
const DEFAULT_EXECUTION_DURATION: u64 = 60;
const MAX_EXECUTION_DURATION: u64 = 3600;
/// How long a job lives.
const JOB_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// Which TAP service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Obs,
    Cat,
}

impl Service {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Service::Obs => "tap_obs",
            Service::Cat => "tap_cat",
        }
    }
}

/// A query result ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) body: Bytes,
    pub(crate) content_type: &'static str,
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// The message for a query the archive does not know.
fn unknown_query_message(service: Service) -> String {
    match service {
        Service::Obs => format!(
            "the offline demo archive cannot run ADQL: it only answers its recorded queries \
             (whitespace and keyword case do not matter): [1] {SEED000_QUERY} \
             (authorised: log in to see its 2 protected rows) [2] {OBSCORE_QUERY}"
        ),
        Service::Cat => {
            "the offline demo archive cannot run ADQL and has no recorded query for tap_cat; \
             its recorded queries are on tap_obs"
                .to_owned()
        }
    }
}

/// Runs a TAP query (DALI/TAP parameters) against the recorded answers.
pub(crate) fn run_query(
    catalog: &Catalog,
    service: Service,
    params: &[(String, String)],
    authorised: bool,
    has_uploads: bool,
) -> Result<Answer, String> {
    if let Some(request) = get(params, "REQUEST") {
        if !request.eq_ignore_ascii_case("doQuery") {
            return Err(format!("unsupported REQUEST={request}: use doQuery"));
        }
    }
    if let Some(lang) = get(params, "LANG") {
        if !lang.to_ascii_uppercase().starts_with("ADQL") {
            return Err(format!("unsupported LANG={lang}: use ADQL"));
        }
    }
    if has_uploads || get(params, "UPLOAD").is_some() {
        return Err("the offline demo archive cannot run queries on uploaded tables".to_owned());
    }
    let query = get(params, "QUERY").ok_or("missing parameter QUERY")?;
    let maxrec = match get(params, "MAXREC") {
        None => None,
        Some(text) => Some(
            text.trim()
                .parse::<usize>()
                .map_err(|_| format!("MAXREC must be a non-negative integer, got {text:?}"))?,
        ),
    };
    let csv = match get(params, "RESPONSEFORMAT").or_else(|| get(params, "FORMAT")) {
        None => false,
        Some(format) => match format.trim().to_ascii_lowercase().as_str() {
            "votable"
            | "application/x-votable+xml"
            | "text/xml"
            | "votable/td"
            | "application/xml" => false,
            "csv" | "text/csv" | "text/csv;header=present" => true,
            other => {
                return Err(format!(
                    "unsupported RESPONSEFORMAT {other:?}: the offline demo archive writes votable and csv"
                ));
            }
        },
    };
    let normalized = normalize_adql(query);
    let mut table = match service {
        Service::Obs if normalized == normalize_adql(SEED000_QUERY) => {
            let mut table = catalog.dbo_raw.clone();
            if !authorised {
                table.retain_rows(|_| false);
            }
            table
        }
        Service::Obs if normalized == normalize_adql(OBSCORE_QUERY) => catalog.obscore.clone(),
        _ => return Err(unknown_query_message(service)),
    };
    if let Some(maxrec) = maxrec {
        if table.nrows() > maxrec {
            table.truncate(maxrec);
            table.add_trailing_info("<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>");
        }
    }
    Ok(if csv {
        Answer {
            body: Bytes::from(table.to_csv()),
            content_type: "text/csv; charset=utf-8",
        }
    } else {
        Answer {
            body: Bytes::from(table.to_xml()),
            content_type: "application/x-votable+xml",
        }
    })
}

/// UWS execution phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Pending,
    Queued,
    Executing,
    Completed,
    Error,
    Aborted,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "PENDING",
            Phase::Queued => "QUEUED",
            Phase::Executing => "EXECUTING",
            Phase::Completed => "COMPLETED",
            Phase::Error => "ERROR",
            Phase::Aborted => "ABORTED",
        }
    }

    fn is_final(self) -> bool {
        matches!(self, Phase::Completed | Phase::Error | Phase::Aborted)
    }
}

/// One async job.
#[derive(Debug)]
pub(crate) struct Job {
    id: String,
    service: Service,
    run_id: Option<String>,
    owner: Option<String>,
    params: Vec<(String, String)>,
    created: SystemTime,
    execution_duration: u64,
    destruction: SystemTime,
    /// When `PHASE=RUN` was accepted (monotonic and wall clock).
    run: Option<(Instant, SystemTime)>,
    aborted: Option<(Instant, SystemTime)>,
    outcome: Option<Result<Answer, String>>,
}

impl Job {
    fn phase(&self, now: Instant, duration: Duration) -> Phase {
        let Some((run_at, _)) = self.run else {
            return if self.aborted.is_some() {
                Phase::Aborted
            } else {
                Phase::Pending
            };
        };
        let finish_at = run_at + duration;
        if let Some((aborted_at, _)) = self.aborted {
            if aborted_at < finish_at {
                return Phase::Aborted;
            }
        }
        if now < run_at + duration / 3 {
            Phase::Queued
        } else if now < finish_at {
            Phase::Executing
        } else {
            match &self.outcome {
                Some(Ok(_)) => Phase::Completed,
                _ => Phase::Error,
            }
        }
    }

    /// When the phase will next change by itself.
    fn next_change(&self, now: Instant, duration: Duration) -> Option<Instant> {
        let (run_at, _) = self.run?;
        match self.phase(now, duration) {
            Phase::Queued => Some(run_at + duration / 3),
            Phase::Executing => Some(run_at + duration),
            _ => None,
        }
    }

    fn start_wall(&self, duration: Duration) -> Option<SystemTime> {
        self.run.map(|(_, wall)| wall + duration / 3)
    }

    fn end_wall(&self, phase: Phase, duration: Duration) -> Option<SystemTime> {
        match phase {
            Phase::Aborted => self.aborted.map(|(_, wall)| wall),
            Phase::Completed | Phase::Error => self.run.map(|(_, wall)| wall + duration),
            _ => None,
        }
    }
}

/// The async jobs of both services.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    jobs: BTreeMap<String, Job>,
}

impl Jobs {
    fn purge(&mut self) {
        let now = SystemTime::now();
        self.jobs.retain(|_, job| job.destruction > now);
    }
}

fn nil_or(tag: &str, value: Option<String>) -> String {
    match value {
        Some(value) => format!("  <uws:{tag}>{}</uws:{tag}>\n", escape(&value)),
        None => format!("  <uws:{tag} xsi:nil=\"true\"/>\n"),
    }
}

const UWS_NAMESPACES: &str = "xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\" \
     xmlns:xlink=\"http://www.w3.org/1999/xlink\" \
     xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"";

fn job_url(state: &State, service: Service, id: &str) -> String {
    format!("{}/{}/async/{id}", state.base, service.name())
}

fn job_document(state: &State, job: &Job, now: Instant) -> String {
    let duration = state.job_duration;
    let phase = job.phase(now, duration);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<uws:job {UWS_NAMESPACES} version=\"1.1\">\n"
    );
    let _ = writeln!(out, "  <uws:jobId>{}</uws:jobId>", escape(&job.id));
    if let Some(run_id) = &job.run_id {
        let _ = writeln!(out, "  <uws:runId>{}</uws:runId>", escape(run_id));
    }
    out.push_str(&nil_or("ownerId", job.owner.clone()));
    let _ = writeln!(out, "  <uws:phase>{}</uws:phase>", phase.as_str());
    out.push_str("  <uws:quote xsi:nil=\"true\"/>\n");
    let _ = writeln!(
        out,
        "  <uws:creationTime>{}</uws:creationTime>",
        iso(job.created)
    );
    let started = if phase == Phase::Pending || phase == Phase::Queued {
        None
    } else {
        job.start_wall(duration)
    };
    out.push_str(&nil_or("startTime", started.map(iso)));
    out.push_str(&nil_or("endTime", job.end_wall(phase, duration).map(iso)));
    let _ = writeln!(
        out,
        "  <uws:executionDuration>{}</uws:executionDuration>",
        job.execution_duration
    );
    let _ = writeln!(
        out,
        "  <uws:destruction>{}</uws:destruction>",
        iso(job.destruction)
    );
    out.push_str("  <uws:parameters>\n");
    for (name, value) in &job.params {
        let _ = writeln!(
            out,
            "    <uws:parameter id=\"{}\">{}</uws:parameter>",
            escape(&name.to_ascii_lowercase()),
            escape(value)
        );
    }
    out.push_str("  </uws:parameters>\n");
    out.push_str("  <uws:results>\n");
    if phase == Phase::Completed {
        if let Some(Ok(answer)) = &job.outcome {
            let _ = writeln!(
                out,
                "    <uws:result id=\"result\" xlink:type=\"simple\" xlink:href=\"{}/results/result\" mime-type=\"{}\" size=\"{}\"/>",
                job_url(state, job.service, &job.id),
                answer.content_type,
                answer.body.len()
            );
        }
    }
    out.push_str("  </uws:results>\n");
    if phase == Phase::Error {
        let message = match &job.outcome {
            Some(Err(message)) => message.clone(),
            _ => "the job failed".to_owned(),
        };
        let _ = writeln!(
            out,
            "  <uws:errorSummary type=\"fatal\" hasDetail=\"true\">\n    <uws:message>{}</uws:message>\n  </uws:errorSummary>",
            escape(&message)
        );
    }
    out.push_str("</uws:job>\n");
    out
}

fn uws_xml(document: String) -> Resp {
    xml(StatusCode::OK, "text/xml; charset=utf-8", document)
}

/// Handles every request under `/tap_obs` or `/tap_cat`; `rest` is the path after the service name.
pub(crate) async fn handle(state: &State, service: Service, rest: &str, req: &Req) -> Resp {
    if let Auth::Invalid(_) = req.auth {
        return auth_required(&req.auth, service.name());
    }
    let segments: Vec<&str> = rest
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match (segments.as_slice(), &req.method) {
        ([], &Method::GET | &Method::HEAD) => text(
            StatusCode::OK,
            format!(
                "{} of the ESO offline demo archive: /sync, /async, /capabilities, /availability, /tables",
                service.name()
            ),
        ),
        (["sync"], &Method::GET | &Method::POST) => sync(state, service, req),
        (["capabilities"], &Method::GET | &Method::HEAD) => uws_xml(capabilities(state, service)),
        (["availability"], &Method::GET | &Method::HEAD) => uws_xml(availability()),
        (["tables"], &Method::GET | &Method::HEAD) => uws_xml(tables(state, service)),
        (["async"], &Method::GET | &Method::HEAD) => job_list(state, service, req),
        (["async"], &Method::POST) => create_job(state, service, req),
        (["async", id, tail @ ..], _) => job_resource(state, service, id, tail, req).await,
        _ => text(
            StatusCode::NOT_FOUND,
            format!(
                "no such resource: /{}{rest} (or method {} not allowed)",
                service.name(),
                req.method
            ),
        ),
    }
}

fn sync(state: &State, service: Service, req: &Req) -> Resp {
    let authorised = req.auth.user().is_some();
    match run_query(
        &state.catalog,
        service,
        &req.params,
        authorised,
        !req.uploads.is_empty(),
    ) {
        Ok(answer) => body(StatusCode::OK, answer.content_type, answer.body),
        Err(message) => votable_error(StatusCode::BAD_REQUEST, &message),
    }
}

/// Control parameters of UWS, kept out of the job's parameter list.
fn is_control(name: &str) -> bool {
    [
        "PHASE",
        "RUNID",
        "EXECUTIONDURATION",
        "DESTRUCTION",
        "ACTION",
    ]
    .iter()
    .any(|control| name.eq_ignore_ascii_case(control))
}

fn parse_duration_param(text: &str) -> Result<u64, String> {
    let value: i64 = text.trim().parse().map_err(|_| {
        format!("EXECUTIONDURATION must be an integer number of seconds, got {text:?}")
    })?;
    // UWS: 0 means unlimited; the server may shorten any value to its own limit.
    Ok(if value <= 0 {
        MAX_EXECUTION_DURATION
    } else {
        (value as u64).min(MAX_EXECUTION_DURATION)
    })
}

fn create_job(state: &State, service: Service, req: &Req) -> Resp {
    let id = uuid::Uuid::new_v4().to_string();
    let now = SystemTime::now();
    let execution_duration = match req.param("EXECUTIONDURATION").map(parse_duration_param) {
        None => DEFAULT_EXECUTION_DURATION,
        Some(Ok(value)) => value,
        Some(Err(message)) => return text(StatusCode::BAD_REQUEST, message),
    };
    let destruction = match req.param("DESTRUCTION") {
        None => now + JOB_LIFETIME,
        Some(text_value) => match parse_iso(text_value) {
            Some(time) => time.min(now + JOB_LIFETIME),
            None => {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("DESTRUCTION is not an ISO 8601 time: {text_value:?}"),
                );
            }
        },
    };
    let mut job = Job {
        id: id.clone(),
        service,
        run_id: req.param("RUNID").map(str::to_owned),
        owner: req.auth.user().map(str::to_owned),
        params: req
            .params
            .iter()
            .filter(|(name, _)| !is_control(name))
            .cloned()
            .collect(),
        created: now,
        execution_duration,
        destruction,
        run: None,
        aborted: None,
        outcome: None,
    };
    if let Some(phase) = req.param("PHASE") {
        if phase.eq_ignore_ascii_case("RUN") {
            start(state, &mut job, !req.uploads.is_empty());
        } else {
            return text(
                StatusCode::BAD_REQUEST,
                format!("PHASE={phase} is not allowed when creating a job"),
            );
        }
    }
    tracing::debug!(job_id = %id, service = service.name(), "created job");
    if let Ok(mut jobs) = state.jobs.lock() {
        jobs.purge();
        jobs.jobs.insert(id.clone(), job);
    }
    see_other(&job_url(state, service, &id))
}

fn start(state: &State, job: &mut Job, has_uploads: bool) {
    if job.run.is_some() || job.aborted.is_some() {
        return;
    }
    job.run = Some((Instant::now(), SystemTime::now()));
    job.outcome = Some(run_query(
        &state.catalog,
        job.service,
        &job.params,
        job.owner.is_some(),
        has_uploads,
    ));
}

/// Checks that `auth` may see a job owned by `owner`.
fn check_owner(owner: Option<&str>, auth: &Auth, id: &str) -> Result<(), Box<Resp>> {
    match (owner, auth.user()) {
        (None, _) => Ok(()),
        (Some(owner), Some(user)) if owner == user => Ok(()),
        (Some(_), Some(_)) => Err(Box::new(text(
            StatusCode::FORBIDDEN,
            format!("job {id} belongs to another user"),
        ))),
        (Some(_), None) => Err(Box::new(auth_required(auth, &format!("job {id}")))),
    }
}

fn job_list(state: &State, service: Service, req: &Req) -> Resp {
    let now = Instant::now();
    let phases: Vec<String> = req
        .params_named("PHASE")
        .iter()
        .map(|p| p.trim().to_ascii_uppercase())
        .collect();
    let after = req.param("AFTER").and_then(parse_iso);
    let last = req
        .param("LAST")
        .and_then(|value| value.trim().parse::<usize>().ok());
    let Ok(mut jobs) = state.jobs.lock() else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "job store unavailable");
    };
    jobs.purge();
    let mut listed: Vec<&Job> = jobs
        .jobs
        .values()
        .filter(|job| job.service == service)
        .filter(|job| job.owner.as_deref() == req.auth.user())
        .filter(|job| {
            phases.is_empty()
                || phases
                    .iter()
                    .any(|p| p == job.phase(now, state.job_duration).as_str())
        })
        .filter(|job| after.is_none_or(|after| job.created > after))
        .collect();
    listed.sort_by_key(|job| std::cmp::Reverse(job.created));
    if let Some(last) = last {
        listed.truncate(last);
    }
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<uws:jobs {UWS_NAMESPACES} version=\"1.1\">\n"
    );
    for job in listed {
        let _ = writeln!(
            out,
            "  <uws:jobref id=\"{}\" xlink:href=\"{}\">\n    <uws:phase>{}</uws:phase>",
            escape(&job.id),
            job_url(state, service, &job.id),
            job.phase(now, state.job_duration).as_str()
        );
        if let Some(run_id) = &job.run_id {
            let _ = writeln!(out, "    <uws:runId>{}</uws:runId>", escape(run_id));
        }
        out.push_str(&nil_or("ownerId", job.owner.clone()).replace("  <", "    <"));
        let _ = writeln!(
            out,
            "    <uws:creationTime>{}</uws:creationTime>\n  </uws:jobref>",
            iso(job.created)
        );
    }
    out.push_str("</uws:jobs>\n");
    uws_xml(out)
}

/// What a request on one job asks for, decided under the lock and answered after it.
enum JobAction {
    Done(Resp),
    Wait { deadline: Instant, since: Phase },
}

async fn job_resource(state: &State, service: Service, id: &str, tail: &[&str], req: &Req) -> Resp {
    let action = job_action(state, service, id, tail, req);
    match action {
        JobAction::Done(response) => response,
        JobAction::Wait { deadline, since } => {
            loop {
                let (phase, next) = {
                    let Ok(jobs) = state.jobs.lock() else {
                        return text(StatusCode::INTERNAL_SERVER_ERROR, "job store unavailable");
                    };
                    let Some(job) = jobs.jobs.get(id) else {
                        return text(StatusCode::NOT_FOUND, format!("no job {id}"));
                    };
                    let now = Instant::now();
                    (
                        job.phase(now, state.job_duration),
                        job.next_change(now, state.job_duration),
                    )
                };
                let now = Instant::now();
                if phase != since || now >= deadline {
                    break;
                }
                // Wake at the next scheduled change, or soon to notice PHASE changes by others.
                let wake = next
                    .unwrap_or(deadline)
                    .min(deadline)
                    .min(now + Duration::from_millis(50));
                tokio::time::sleep_until(tokio::time::Instant::from_std(wake)).await;
            }
            match job_action(state, service, id, &[], &without_wait(req)) {
                JobAction::Done(response) => response,
                JobAction::Wait { .. } => text(StatusCode::INTERNAL_SERVER_ERROR, "wait loop"),
            }
        }
    }
}

fn without_wait(req: &Req) -> Req {
    Req {
        method: Method::GET,
        path: req.path.clone(),
        params: Vec::new(),
        uploads: Vec::new(),
        headers: req.headers.clone(),
        auth: req.auth.clone(),
    }
}

fn job_action(state: &State, service: Service, id: &str, tail: &[&str], req: &Req) -> JobAction {
    let Ok(mut jobs) = state.jobs.lock() else {
        return JobAction::Done(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "job store unavailable",
        ));
    };
    jobs.purge();
    let now = Instant::now();
    let duration = state.job_duration;
    let Some(job) = jobs.jobs.get_mut(id).filter(|job| job.service == service) else {
        return JobAction::Done(text(
            StatusCode::NOT_FOUND,
            format!("no job {id} on {}", service.name()),
        ));
    };
    if let Err(response) = check_owner(job.owner.as_deref(), &req.auth, id) {
        return JobAction::Done(*response);
    }
    let url = job_url(state, service, id);
    let list_url = format!("{}/{}/async", state.base, service.name());
    let phase = job.phase(now, duration);
    let done = JobAction::Done;
    match (tail, &req.method) {
        ([], &Method::GET | &Method::HEAD) => {
            if let Some(wait) = req.param("WAIT") {
                let Ok(wait) = wait.trim().parse::<i64>() else {
                    return done(text(
                        StatusCode::BAD_REQUEST,
                        format!("WAIT must be an integer, got {wait:?}"),
                    ));
                };
                let wait = if wait < 0 {
                    MAX_WAIT_SECS
                } else {
                    (wait as u64).min(MAX_WAIT_SECS)
                };
                let awaited = req.param("PHASE").map(|p| p.trim().to_ascii_uppercase());
                let blocking = matches!(phase, Phase::Pending | Phase::Queued | Phase::Executing)
                    && awaited.as_deref().is_none_or(|p| p == phase.as_str());
                if blocking && wait > 0 {
                    return JobAction::Wait {
                        deadline: now + Duration::from_secs(wait),
                        since: phase,
                    };
                }
            }
            done(uws_xml(job_document(state, job, now)))
        }
        ([], &Method::DELETE) => {
            jobs.jobs.remove(id);
            done(see_other(&list_url))
        }
        ([], &Method::POST) => {
            if req
                .param("ACTION")
                .is_some_and(|action| action.eq_ignore_ascii_case("DELETE"))
            {
                jobs.jobs.remove(id);
                return done(see_other(&list_url));
            }
            let has_uploads = !req.uploads.is_empty();
            if let Some(value) = req.param("EXECUTIONDURATION") {
                match parse_duration_param(value) {
                    Ok(seconds) if phase == Phase::Pending => job.execution_duration = seconds,
                    Ok(_) => {}
                    Err(message) => return done(text(StatusCode::BAD_REQUEST, message)),
                }
            }
            if let Some(value) = req.param("DESTRUCTION") {
                match parse_iso(value) {
                    Some(time) => job.destruction = time.min(SystemTime::now() + JOB_LIFETIME),
                    None => {
                        return done(text(
                            StatusCode::BAD_REQUEST,
                            format!("DESTRUCTION is not an ISO 8601 time: {value:?}"),
                        ));
                    }
                }
            }
            if phase == Phase::Pending {
                for (name, value) in req.params.iter().filter(|(name, _)| !is_control(name)) {
                    job.params
                        .retain(|(old, _)| !old.eq_ignore_ascii_case(name));
                    job.params.push((name.clone(), value.clone()));
                }
            }
            if let Some(requested) = req.param("PHASE") {
                if let Err(response) = change_phase(state, job, requested, phase, has_uploads) {
                    return done(*response);
                }
            }
            done(see_other(&url))
        }
        (["phase"], &Method::GET | &Method::HEAD) => done(text(StatusCode::OK, phase.as_str())),
        (["phase"], &Method::POST) => {
            let Some(requested) = req.param("PHASE") else {
                return done(text(
                    StatusCode::BAD_REQUEST,
                    "missing parameter PHASE (RUN or ABORT)",
                ));
            };
            if let Err(response) =
                change_phase(state, job, requested, phase, !req.uploads.is_empty())
            {
                return done(*response);
            }
            done(see_other(&url))
        }
        (["executionduration"], &Method::GET | &Method::HEAD) => {
            done(text(StatusCode::OK, job.execution_duration.to_string()))
        }
        (["executionduration"], &Method::POST) => {
            let Some(value) = req.param("EXECUTIONDURATION") else {
                return done(text(
                    StatusCode::BAD_REQUEST,
                    "missing parameter EXECUTIONDURATION",
                ));
            };
            match parse_duration_param(value) {
                Ok(seconds) => {
                    if phase == Phase::Pending {
                        job.execution_duration = seconds;
                    }
                    done(see_other(&url))
                }
                Err(message) => done(text(StatusCode::BAD_REQUEST, message)),
            }
        }
        (["destruction"], &Method::GET | &Method::HEAD) => {
            done(text(StatusCode::OK, iso(job.destruction)))
        }
        (["destruction"], &Method::POST) => match req.param("DESTRUCTION").and_then(parse_iso) {
            Some(time) => {
                job.destruction = time.min(SystemTime::now() + JOB_LIFETIME);
                done(see_other(&url))
            }
            None => done(text(
                StatusCode::BAD_REQUEST,
                "DESTRUCTION must be an ISO 8601 time",
            )),
        },
        (["quote"], &Method::GET | &Method::HEAD) => done(text(StatusCode::OK, "")),
        (["owner"], &Method::GET | &Method::HEAD) => {
            done(text(StatusCode::OK, job.owner.clone().unwrap_or_default()))
        }
        (["parameters"], &Method::GET | &Method::HEAD) => {
            let mut out = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<uws:parameters {UWS_NAMESPACES}>\n"
            );
            for (name, value) in &job.params {
                let _ = writeln!(
                    out,
                    "  <uws:parameter id=\"{}\">{}</uws:parameter>",
                    escape(&name.to_ascii_lowercase()),
                    escape(value)
                );
            }
            out.push_str("</uws:parameters>\n");
            done(uws_xml(out))
        }
        (["results"], &Method::GET | &Method::HEAD) => {
            let mut out = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<uws:results {UWS_NAMESPACES}>\n"
            );
            if phase == Phase::Completed {
                let _ = writeln!(
                    out,
                    "  <uws:result id=\"result\" xlink:type=\"simple\" xlink:href=\"{url}/results/result\"/>"
                );
            }
            out.push_str("</uws:results>\n");
            done(uws_xml(out))
        }
        (["results", "result"], &Method::GET | &Method::HEAD) => match (&job.outcome, phase) {
            (Some(Ok(answer)), Phase::Completed) => done(body(
                StatusCode::OK,
                answer.content_type,
                answer.body.clone(),
            )),
            _ => done(text(
                StatusCode::NOT_FOUND,
                format!("job {id} has no result: it is {}", phase.as_str()),
            )),
        },
        (["error"], &Method::GET | &Method::HEAD) => match (&job.outcome, phase) {
            (Some(Err(message)), Phase::Error) => done(xml(
                StatusCode::OK,
                "application/x-votable+xml",
                votable_error_document(message),
            )),
            _ => done(text(
                StatusCode::NOT_FOUND,
                format!("job {id} has no error: it is {}", phase.as_str()),
            )),
        },
        _ => done(text(
            StatusCode::NOT_FOUND,
            format!(
                "no such job resource: {}/{} (method {})",
                url,
                tail.join("/"),
                req.method
            ),
        )),
    }
}

fn change_phase(
    state: &State,
    job: &mut Job,
    requested: &str,
    phase: Phase,
    has_uploads: bool,
) -> Result<(), Box<Resp>> {
    match requested.trim().to_ascii_uppercase().as_str() {
        "RUN" => {
            if phase == Phase::Pending {
                start(state, job, has_uploads);
            }
            Ok(())
        }
        "ABORT" => {
            if !phase.is_final() {
                job.aborted = Some((Instant::now(), SystemTime::now()));
            }
            Ok(())
        }
        other => Err(Box::new(text(
            StatusCode::BAD_REQUEST,
            format!("PHASE must be RUN or ABORT, got {other:?}"),
        ))),
    }
}

fn capabilities(state: &State, service: Service) -> String {
    let base = format!("{}/{}", state.base, service.name());
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0">
  <capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">
    <interface xsi:type="vs:ParamHTTP" role="std" version="1.1">
      <accessURL use="base">{base}</accessURL>
    </interface>
    <language>
      <name>ADQL</name>
      <version ivo-id="ivo://ivoa.net/std/ADQL#v2.0">2.0</version>
      <description>the offline demo archive answers only its recorded queries</description>
    </language>
    <outputFormat ivo-id="ivo://ivoa.net/std/TAPRegExt#output-votable-td">
      <mime>application/x-votable+xml</mime>
      <alias>votable</alias>
    </outputFormat>
    <outputFormat>
      <mime>text/csv;header=present</mime>
      <alias>csv</alias>
    </outputFormat>
    <retentionPeriod>
      <default>{lifetime}</default>
    </retentionPeriod>
    <executionDuration>
      <default>{default_duration}</default>
      <hard>{max_duration}</hard>
    </executionDuration>
  </capability>
  <capability standardID="ivo://ivoa.net/std/VOSI#capabilities">
    <interface xsi:type="vs:ParamHTTP">
      <accessURL use="full">{base}/capabilities</accessURL>
    </interface>
  </capability>
  <capability standardID="ivo://ivoa.net/std/VOSI#availability">
    <interface xsi:type="vs:ParamHTTP">
      <accessURL use="full">{base}/availability</accessURL>
    </interface>
  </capability>
  <capability standardID="ivo://ivoa.net/std/VOSI#tables-1.1">
    <interface xsi:type="vs:ParamHTTP" version="1.1">
      <accessURL use="full">{base}/tables</accessURL>
    </interface>
  </capability>
</vosi:capabilities>
"#,
        lifetime = JOB_LIFETIME.as_secs(),
        default_duration = DEFAULT_EXECUTION_DURATION,
        max_duration = MAX_EXECUTION_DURATION,
    )
}

fn availability() -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
     <vosi:availability xmlns:vosi=\"http://www.ivoa.net/xml/VOSIAvailability/v1.0\">\n\
     \x20 <vosi:available>true</vosi:available>\n\
     \x20 <vosi:note>ESO offline demo archive (recorded answers only)</vosi:note>\n\
     </vosi:availability>\n"
        .to_owned()
}

/// VOSI tables, with the columns of the recorded answers.
fn tables(state: &State, service: Service) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<vosi:tableset xmlns:vosi=\"http://www.ivoa.net/xml/VOSITables/v1.0\" \
         xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n",
    );
    if service == Service::Obs {
        for (schema, table_name, table) in [
            ("dbo", "dbo.raw", &state.catalog.dbo_raw),
            ("ivoa", "ivoa.ObsCore", &state.catalog.obscore),
        ] {
            let _ = writeln!(
                out,
                "  <schema>\n    <name>{schema}</name>\n    <table type=\"table\">\n      <name>{table_name}</name>"
            );
            for column in column_descriptions(table) {
                out.push_str(&column);
            }
            out.push_str("    </table>\n  </schema>\n");
        }
    }
    out.push_str("</vosi:tableset>\n");
    out
}

fn column_descriptions(table: &TableDoc) -> Vec<String> {
    table
        .field_tags()
        .iter()
        .map(|tag| {
            let attr = |name: &str| crate::vot::attribute(tag, name);
            let mut column = format!("      <column>\n        <name>{}</name>\n", attr("name").unwrap_or_default());
            if let Some(unit) = attr("unit") {
                let _ = writeln!(column, "        <unit>{unit}</unit>");
            }
            if let Some(ucd) = attr("ucd") {
                let _ = writeln!(column, "        <ucd>{ucd}</ucd>");
            }
            let arraysize = attr("arraysize").map(|size| format!(" arraysize=\"{size}\"")).unwrap_or_default();
            let _ = writeln!(
                column,
                "        <dataType xsi:type=\"vs:VOTableType\"{arraysize}>{}</dataType>\n      </column>",
                attr("datatype").unwrap_or_else(|| "char".to_owned())
            );
            column
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn seed_query_is_protected_and_honours_maxrec_and_csv() {
        let catalog = Catalog::build("http://127.0.0.1:9");
        let query = params(&[("QUERY", SEED000_QUERY), ("lang", "ADQL")]);
        let answer = run_query(&catalog, Service::Obs, &query, true, false).unwrap();
        let table = TableDoc::parse(std::str::from_utf8(&answer.body).unwrap()).unwrap();
        assert_eq!(table.nrows(), 2);
        let answer = run_query(&catalog, Service::Obs, &query, false, false).unwrap();
        let text = std::str::from_utf8(&answer.body).unwrap();
        assert_eq!(TableDoc::parse(text).unwrap().nrows(), 0);
        assert!(text.contains("QUERY_STATUS\" value=\"OK\""));

        let limited = params(&[
            ("QUERY", SEED000_QUERY),
            ("MAXREC", "1"),
            ("RESPONSEFORMAT", "csv"),
        ]);
        let answer = run_query(&catalog, Service::Obs, &limited, true, false).unwrap();
        assert_eq!(answer.content_type, "text/csv; charset=utf-8");
        let csv = std::str::from_utf8(&answer.body).unwrap();
        assert_eq!(csv.lines().count(), 2);
        assert!(csv.starts_with("access_estsize,access_url,"));

        let limited = params(&[("QUERY", SEED000_QUERY), ("MAXREC", "1")]);
        let answer = run_query(&catalog, Service::Obs, &limited, true, false).unwrap();
        assert!(
            std::str::from_utf8(&answer.body)
                .unwrap()
                .contains("OVERFLOW")
        );
    }

    #[test]
    fn unknown_and_malformed_queries_are_explained() {
        let catalog = Catalog::build("http://127.0.0.1:9");
        let error = run_query(
            &catalog,
            Service::Obs,
            &params(&[("QUERY", "select 1")]),
            true,
            false,
        )
        .unwrap_err();
        assert!(
            error.contains("only answers its recorded queries"),
            "{error}"
        );
        assert!(error.contains("098.C-0739(C)"));
        assert!(
            run_query(&catalog, Service::Obs, &params(&[]), true, false)
                .unwrap_err()
                .contains("QUERY")
        );
        let bad = params(&[("QUERY", SEED000_QUERY), ("MAXREC", "-1")]);
        assert!(
            run_query(&catalog, Service::Obs, &bad, true, false)
                .unwrap_err()
                .contains("MAXREC")
        );
        let bad = params(&[("QUERY", SEED000_QUERY), ("RESPONSEFORMAT", "fits")]);
        assert!(
            run_query(&catalog, Service::Obs, &bad, true, false)
                .unwrap_err()
                .contains("RESPONSEFORMAT")
        );
        let cat = run_query(
            &catalog,
            Service::Cat,
            &params(&[("QUERY", SEED000_QUERY)]),
            true,
            false,
        );
        assert!(cat.unwrap_err().contains("tap_cat"));
    }
}
