//! `cargo xtask fixtures [--from dachs|eso]`: re-records fixtures with curl.
//!
//! A manifest ([`dachs_manifest`], [`eso_manifest`]) lists recordings; each is a short sequence
//! of HTTP steps (create a UWS job, wait for it, fetch a document...) whose responses are
//! written under `fixtures/`, scrubbed of volatile values (UWS job ids and times) and of
//! secrets, with a `<case>.meta.json` beside each. A fixture whose bytes did not change keeps
//! its metadata (and so its date), so re-recording an unchanged server changes no file.
//!
//! Credentials for ESO come from `ESO_USER`/`ESO_PASSWORD` and reach curl on its standard
//! input, never on its command line, in a file or in a log.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::{dachs, tidy, util};

/// The `source` written into the metadata of DaCHS recordings.
pub const DACHS_SOURCE: &str = "recorded from local DaCHS by cargo xtask fixtures";
/// The `source` written into the metadata of live ESO recordings.
pub const ESO_SOURCE: &str = "recorded from the live ESO archive by cargo xtask fixtures";
/// What is probed to decide whether the ESO archive is reachable.
pub const ESO_PROBE: &str = "https://archive.eso.org/tap_obs/availability";
/// The ESO OIDC token endpoint.
pub const ESO_TOKEN_URL: &str = "https://www.eso.org/sso/oidc/token";

/// The HTTP method of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST with a URL-encoded form body.
    Post,
    /// DELETE.
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// One HTTP exchange of a recording.
///
/// Targets starting with `/` are relative to the server's base URL; `{job}` is replaced by the
/// URL of the job created by the last [`Step::create_job`].
#[derive(Debug, Clone)]
pub struct Step {
    /// Fixture to write (relative to `fixtures/`), or none to only send the request.
    pub fixture: Option<&'static str>,
    /// The method.
    pub method: Method,
    /// Path and query, or a full URL.
    pub target: &'static str,
    /// For POST: the form body, already URL-encoded.
    pub form: &'static str,
    /// Follow redirects (the fixture is then the final response).
    pub follow: bool,
    /// The `Location` of the response becomes `{job}`.
    pub creates_job: bool,
}

impl Step {
    /// `GET target` into `fixture`.
    pub fn get(fixture: &'static str, target: &'static str) -> Step {
        Step {
            fixture: Some(fixture),
            method: Method::Get,
            target,
            form: "",
            follow: false,
            creates_job: false,
        }
    }

    /// `GET target` following redirects, into `fixture`.
    pub fn get_follow(fixture: &'static str, target: &'static str) -> Step {
        Step {
            follow: true,
            ..Step::get(fixture, target)
        }
    }

    /// `POST form` to `target`, into `fixture` (or nowhere).
    pub fn post(fixture: Option<&'static str>, target: &'static str, form: &'static str) -> Step {
        Step {
            fixture,
            method: Method::Post,
            target,
            form,
            follow: false,
            creates_job: false,
        }
    }

    /// `DELETE target`, into `fixture` (or nowhere).
    pub fn delete(fixture: Option<&'static str>, target: &'static str) -> Step {
        Step {
            fixture,
            method: Method::Delete,
            target,
            form: "",
            follow: false,
            creates_job: false,
        }
    }

    /// Creates a UWS job: POSTs `form` to `target`; the 303 `Location` becomes `{job}`.
    pub fn create_job(target: &'static str, form: &'static str) -> Step {
        Step {
            creates_job: true,
            ..Step::post(None, target, form)
        }
    }
}

/// A named sequence of steps.
#[derive(Debug, Clone)]
pub struct Recording {
    /// Short name, for `--only` and logs.
    pub name: &'static str,
    /// Written as `docs` when a fixture has no metadata yet.
    pub docs: &'static str,
    /// Only run with ESO credentials (a bearer token is attached to every step).
    pub needs_auth: bool,
    /// The steps.
    pub steps: Vec<Step>,
}

fn one(name: &'static str, docs: &'static str, step: Step) -> Recording {
    Recording {
        name,
        docs,
        needs_auth: false,
        steps: vec![step],
    }
}

const TAP_SYNC: &str = "/tap/sync";
const TAP_ASYNC: &str = "/tap/async";

/// The recordings made against the local DaCHS (`cargo xtask dachs start`).
pub fn dachs_manifest() -> Vec<Recording> {
    let mut list = vec![
        // TAP / VOSI
        one(
            "tap availability",
            "VOSI availability of the TAP service",
            Step::get("dachs/tap/availability.xml", "/tap/availability"),
        ),
        one(
            "tap capabilities",
            "VOSI capabilities of the TAP service",
            Step::get("dachs/tap/capabilities.xml", "/tap/capabilities"),
        ),
        one(
            "tap tables",
            "VOSI tables, full detail",
            Step::get("dachs/tap/tables.xml", "/tap/tables"),
        ),
        one(
            "tap tables min",
            "VOSI tables with detail=min",
            Step::get("dachs/tap/tables_min.xml", "/tap/tables?detail=min"),
        ),
        one(
            "tap table vocat.main",
            "VOSI table metadata of vocat.main",
            Step::get("dachs/tap/table_vocat_main.xml", "/tap/tables/vocat.main"),
        ),
        one(
            "tap sync csv",
            "three rows as csv (header line)",
            Step::post(
                Some("dachs/tap/sync_3rows.csv"),
                TAP_SYNC,
                "REQUEST=doQuery&LANG=ADQL&RESPONSEFORMAT=csv&QUERY=SELECT%20TOP%203%20obj_id%2C%20ra%2C%20dec%2C%20mag_g%20FROM%20vocat.main%20ORDER%20BY%20obj_id",
            ),
        ),
        one(
            "tap sync error csv",
            "sync query asking CSV for a missing column: HTTP 200 VOTable with QUERY_STATUS=ERROR",
            Step::post(
                Some("dachs/tap/sync_error_csv.vot"),
                TAP_SYNC,
                "REQUEST=doQuery&LANG=ADQL&RESPONSEFORMAT=csv&QUERY=SELECT%20id%20FROM%20vocat.main",
            ),
        ),
        one(
            "tap sync overflow",
            "MAXREC=3 overflow, TABLEDATA: QUERY_STATUS OK before the data and OVERFLOW after it",
            Step::post(
                Some("dachs/tap/sync_overflow_td.vot"),
                TAP_SYNC,
                "REQUEST=doQuery&LANG=ADQL&RESPONSEFORMAT=votable%2Ftd&MAXREC=3&QUERY=SELECT%20obj_id%2C%20ra%2C%20dec%2C%20mag_g%20FROM%20vocat.main%20ORDER%20BY%20obj_id",
            ),
        ),
        one(
            "tap sync syntax error",
            "ADQL syntax error: HTTP 200 VOTable with QUERY_STATUS=ERROR",
            Step::post(
                Some("dachs/tap/sync_syntax_error.vot"),
                TAP_SYNC,
                "REQUEST=doQuery&LANG=ADQL&QUERY=SLECT%20obj_id%20FROM%20vocat.main",
            ),
        ),
        Recording {
            name: "tap async completed job",
            docs: "UWS job of a TOP 3 query through its phases",
            needs_auth: false,
            steps: vec![
                Step::create_job(
                    TAP_ASYNC,
                    "REQUEST=doQuery&LANG=ADQL&QUERY=SELECT%20TOP%203%20obj_id%2C%20ra%20FROM%20vocat.main%20ORDER%20BY%20obj_id",
                ),
                Step::get("dachs/tap/job_pending.xml", "{job}"),
                Step::post(None, "{job}/phase", "PHASE=RUN"),
                Step::get("dachs/tap/job_executing.xml", "{job}"),
                Step::get(
                    "dachs/tap/job_completed.xml",
                    "{job}?WAIT=20&PHASE=EXECUTING",
                ),
                Step::get("dachs/tap/job_result.vot", "{job}/results/result"),
                Step::get(
                    "dachs/tap/job_list_filtered.xml",
                    "/tap/async?PHASE=COMPLETED&LAST=1",
                ),
                Step::delete(None, "{job}"),
            ],
        },
        Recording {
            name: "tap async error job",
            docs: "UWS job of a query on a missing column, ending in ERROR",
            needs_auth: false,
            steps: vec![
                Step::create_job(
                    TAP_ASYNC,
                    "REQUEST=doQuery&LANG=ADQL&QUERY=SELECT%20nosuchcol%20FROM%20vocat.main",
                ),
                Step::post(None, "{job}/phase", "PHASE=RUN"),
                Step::get("dachs/tap/job_error.xml", "{job}?WAIT=20&PHASE=EXECUTING"),
                Step::get("dachs/tap/job_error_detail.vot", "{job}/error"),
                Step::delete(None, "{job}"),
            ],
        },
        Recording {
            name: "tap async aborted job",
            docs: "UWS job aborted while PENDING, then deleted",
            needs_auth: false,
            steps: vec![
                Step::create_job(
                    TAP_ASYNC,
                    "REQUEST=doQuery&LANG=ADQL&QUERY=SELECT%20TOP%203%20obj_id%20FROM%20vocat.main",
                ),
                Step::post(None, "{job}/phase", "PHASE=ABORT"),
                Step::get("dachs/tap/job_aborted.xml", "{job}"),
                Step::delete(Some("dachs/tap/job_delete_303.html"), "{job}"),
            ],
        },
        one(
            "tap job not found",
            "UWS job that does not exist: 404",
            Step::get(
                "dachs/tap/job_not_found.vot",
                "/__system__/tap/run/async/nosuchjob",
            ),
        ),
        // VOTable serializations
        one(
            "votable td",
            "TOP 60 of vocat.main as TABLEDATA",
            Step::post(
                Some("dachs/votable/vocat_60_td.vot"),
                TAP_SYNC,
                "REQUEST=doQuery&LANG=ADQL&QUERY=SELECT%20TOP%2060%20*%20FROM%20vocat.main%20ORDER%20BY%20obj_id&RESPONSEFORMAT=votable%2Ftd",
            ),
        ),
        one(
            "votable binary",
            "TOP 60 of vocat.main as BINARY (DaCHS default)",
            Step::post(
                Some("dachs/votable/vocat_60_b.vot"),
                TAP_SYNC,
                "REQUEST=doQuery&LANG=ADQL&QUERY=SELECT%20TOP%2060%20*%20FROM%20vocat.main%20ORDER%20BY%20obj_id&RESPONSEFORMAT=votable",
            ),
        ),
        one(
            "votable binary2",
            "TOP 60 of vocat.main as BINARY2",
            Step::post(
                Some("dachs/votable/vocat_60_b2.vot"),
                TAP_SYNC,
                "REQUEST=doQuery&LANG=ADQL&QUERY=SELECT%20TOP%2060%20*%20FROM%20vocat.main%20ORDER%20BY%20obj_id&RESPONSEFORMAT=votable%2Fb2",
            ),
        ),
        one(
            "votable overflow",
            "MAXREC=5 overflow as TABLEDATA",
            Step::post(
                Some("dachs/votable/vocat_maxrec5_overflow_td.vot"),
                TAP_SYNC,
                "REQUEST=doQuery&LANG=ADQL&QUERY=SELECT%20*%20FROM%20vocat.main%20ORDER%20BY%20obj_id&MAXREC=5&RESPONSEFORMAT=votable%2Ftd",
            ),
        ),
        one(
            "votable obscore binary2",
            "TOP 20 of ivoa.obscore as BINARY2",
            Step::post(
                Some("dachs/votable/obscore_20_b2.vot"),
                TAP_SYNC,
                "REQUEST=doQuery&LANG=ADQL&QUERY=SELECT%20TOP%2020%20*%20FROM%20ivoa.obscore%20ORDER%20BY%20obs_publisher_did&RESPONSEFORMAT=votable%2Fb2",
            ),
        ),
        one(
            "votable query error",
            "query on a missing column: QUERY_STATUS=ERROR",
            Step::post(
                Some("dachs/votable/query_error.vot"),
                TAP_SYNC,
                "REQUEST=doQuery&LANG=ADQL&QUERY=SELECT%20nosuchcol%20FROM%20vocat.main",
            ),
        ),
        // DataLink
        one(
            "obscore ordered",
            "ObsCore rows ordered by obs_publisher_did, with the DataLink descriptor",
            Step::get(
                "dachs/datalink/obscore_ordered.vot",
                "/tap/sync?LANG=ADQL&RESPONSEFORMAT=votable/td&QUERY=SELECT%20obs_publisher_did%2C%20obs_id%2C%20dataproduct_type%2C%20access_url%2C%20access_format%2C%20s_ra%2C%20s_dec%2C%20em_min%2C%20em_max%20FROM%20ivoa.obscore%20ORDER%20BY%20obs_publisher_did",
            ),
        ),
        one(
            "datalink redirect",
            "the obscore DataLink service answers with a 302 to the collection's DataLink service",
            Step::get(
                "dachs/datalink/obscore_dl_redirect.html",
                "/__system__/obscore/dl/dlmeta?ID=ivo%3A%2F%2Fvotest.local%2F~%3Fvoimg%2Fcubes%2Fcube_01.fits",
            ),
        ),
        one(
            "datalink cube",
            "DataLink of a cube after following the 302",
            Step::get_follow(
                "dachs/datalink/links_cube_01.vot",
                "/__system__/obscore/dl/dlmeta?ID=ivo%3A%2F%2Fvotest.local%2F~%3Fvoimg%2Fcubes%2Fcube_01.fits",
            ),
        ),
        one(
            "datalink image",
            "DataLink of an image after following the 302",
            Step::get_follow(
                "dachs/datalink/links_img_01.vot",
                "/__system__/obscore/dl/dlmeta?ID=ivo%3A%2F%2Fvotest.local%2F~%3Fvoimg%2Fdata%2Fimg_01.fits",
            ),
        ),
        one(
            "datalink batch",
            "DataLink with three ID parameters, the last unknown",
            Step::get(
                "dachs/datalink/links_img_batch.vot",
                "/voimg/q/dl/dlmeta?ID=ivo%3A%2F%2Fvotest.local%2F~%3Fvoimg%2Fdata%2Fimg_01.fits&ID=ivo%3A%2F%2Fvotest.local%2F~%3Fvoimg%2Fdata%2Fimg_02.fits&ID=ivo%3A%2F%2Fvotest.local%2F~%3Fvoimg%2Fdata%2Fimg_99.fits",
            ),
        ),
        one(
            "datalink spectrum",
            "DataLink of a spectrum through the obscore DataLink service",
            Step::get_follow(
                "dachs/datalink/links_spec_01.vot",
                "/__system__/obscore/dl/dlmeta?ID=ivo%3A%2F%2Fvotest.local%2F~%3Fvospec%2Fdata%2Fspec_01.fits",
            ),
        ),
        // SIA, SSA
        one(
            "sia1",
            "SIA 1 query POS=155,-1 SIZE=0.5",
            Step::get(
                "dachs/sia/sia1_pos_size.vot",
                "/voimg/q/i/siap.xml?POS=155,-1&SIZE=0.5",
            ),
        ),
        one(
            "sia2",
            "SIA 2 query POS=CIRCLE 155 -1 1 over ObsCore",
            Step::get(
                "dachs/sia/sia2_pos_circle.vot",
                "/__system__/siap2/sitewide/siap2.xml?POS=CIRCLE%20155%20-1%201&MAXREC=10",
            ),
        ),
        one(
            "ssa",
            "SSA queryData POS=155,0 SIZE=3",
            Step::get(
                "dachs/ssa/ssa_query.vot",
                "/vospec/q/ssa/ssap.xml?REQUEST=queryData&POS=155,0&SIZE=3&MAXREC=10",
            ),
        ),
        // SODA
        one(
            "soda cube band",
            "SODA cutout of cube_01 with BAND",
            Step::get(
                "dachs/soda/cube_01_band.fits",
                "/voimg/q/dlc/dlget?ID=ivo%3A%2F%2Fvotest.local%2F~%3Fvoimg%2Fcubes%2Fcube_01.fits&BAND=5.0e-7%205.1e-7",
            ),
        ),
        one(
            "soda cube circle",
            "SODA cutout of cube_01 with CIRCLE",
            Step::get(
                "dachs/soda/cube_01_circle.fits",
                "/voimg/q/dlc/dlget?ID=ivo%3A%2F%2Fvotest.local%2F~%3Fvoimg%2Fcubes%2Fcube_01.fits&CIRCLE=154.0025%200.4975%200.05",
            ),
        ),
        one(
            "soda bad circle",
            "SODA cutout with a malformed CIRCLE: 422",
            Step::get(
                "dachs/soda/img_01_bad_circle.txt",
                "/voimg/q/dl/dlget?ID=ivo%3A%2F%2Fvotest.local%2F~%3Fvoimg%2Fdata%2Fimg_01.fits&CIRCLE=abc",
            ),
        ),
        one(
            "soda outside",
            "SODA cutout outside the image: 204",
            Step::get(
                "dachs/soda/img_01_outside.txt",
                "/voimg/q/dl/dlget?ID=ivo%3A%2F%2Fvotest.local%2F~%3Fvoimg%2Fdata%2Fimg_01.fits&CIRCLE=10%2010%200.01",
            ),
        ),
        one(
            "soda polygon",
            "SODA cutout of img_01 with POLYGON",
            Step::get(
                "dachs/soda/img_01_polygon.fits",
                "/voimg/q/dl/dlget?ID=ivo%3A%2F%2Fvotest.local%2F~%3Fvoimg%2Fdata%2Fimg_01.fits&POLYGON=150.99%20-0.02%20151.02%20-0.02%20151.02%200.01",
            ),
        ),
        one(
            "soda unknown id",
            "SODA cutout of an unknown ID: 404",
            Step::get(
                "dachs/soda/unknown_id.html",
                "/voimg/q/dl/dlget?ID=ivo%3A%2F%2Fvotest.local%2F~%3Fvoimg%2Fdata%2Fimg_99.fits&CIRCLE=10%2010%200.01",
            ),
        ),
    ];
    // The job list last, after the jobs above were deleted again.
    list.push(one(
        "tap job list",
        "UWS job list (jobref with xlink:href and phase only)",
        Step::get("dachs/tap/job_list.xml", "/tap/async"),
    ));
    list
}

/// The recordings made against the live ESO archive (only when it is reachable).
pub fn eso_manifest() -> Vec<Recording> {
    vec![
        one(
            "eso tap availability",
            "VOSI availability of ESO tap_obs",
            Step::get("eso/tap/availability.xml", ESO_PROBE),
        ),
        one(
            "eso tap capabilities",
            "VOSI capabilities of ESO tap_obs (full document)",
            Step::get(
                "eso/tap/capabilities.xml",
                "https://archive.eso.org/tap_obs/capabilities",
            ),
        ),
        one(
            "eso tap obscore",
            "one ObsCore image row near (88.8, 7.4)",
            Step::post(
                Some("eso/tap/obscore_1row.vot"),
                "https://archive.eso.org/tap_obs/sync",
                "REQUEST=doQuery&LANG=ADQL&QUERY=SELECT%20TOP%201%20*%20FROM%20ivoa.ObsCore%20WHERE%20dataproduct_type%3D%27image%27%20AND%20s_ra%20BETWEEN%2088.78%20AND%2088.81%20AND%20s_dec%20BETWEEN%207.39%20AND%207.42",
            ),
        ),
        one(
            "eso datalink seed000",
            "ESO DataLink of the raw SPHERE frame of seed 000",
            Step::get(
                "eso/datalink/seed000_links.vot",
                "https://archive.eso.org/datalink/links?ID=ivo://eso.org/ID?SPHER.2016-09-26T03:04:09.308",
            ),
        ),
        one(
            "eso calselector raw2master",
            "calSelector raw2master (VOTable) for the seed 000 frame",
            Step::get(
                "eso/calselector/seed000_sphere_raw2master.vot",
                "https://archive.eso.org/calselector/v1/associations?dp_id=SPHER.2016-09-26T03:04:09.308&mode=Raw2Master&responseformat=votable",
            ),
        ),
        one(
            "eso calselector raw2master tree",
            "calSelector raw2master association tree for the seed 000 frame",
            Step::get(
                "eso/calselector/seed000_sphere_raw2master_tree.xml",
                "https://archive.eso.org/calselector/v1/associations?dp_id=SPHER.2016-09-26T03:04:09.308&mode=Raw2Master",
            ),
        ),
        one(
            "eso calselector fors2 tree",
            "calSelector raw2raw association tree for a FORS2 frame",
            Step::get(
                "eso/calselector/fors2_raw2raw_tree.xml",
                "https://archive.eso.org/calselector/v1/associations?dp_id=FORS2.2021-01-02T00:59:12.533&mode=Raw2Raw",
            ),
        ),
        Recording {
            name: "eso authorised dbo.raw",
            docs: "authorised sync query on dbo.raw for the two SPHERE frames of seed 000 (bearer token)",
            needs_auth: true,
            steps: vec![Step::post(
                Some("eso/tap/dbo_raw_2rows_auth.vot"),
                "https://archive.eso.org/tap_obs/sync",
                "REQUEST=doQuery&LANG=ADQL&QUERY=SELECT%20*%20FROM%20dbo.raw%20WHERE%20dp_id%20IN%20(%27SPHER.2016-09-26T03%3A04%3A09.308%27%2C%27SPHER.2016-09-26T03%3A04%3A09.496%27)%20ORDER%20BY%20dp_id",
            )],
        },
    ]
}

/// A response, as curl saw it.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Final HTTP status.
    pub status: u16,
    /// `Content-Type` (empty if none).
    pub content_type: String,
    /// `Location`, for redirects that were not followed.
    pub location: String,
    /// The body.
    pub body: Vec<u8>,
}

/// Sends one request with curl. A bearer token, if any, goes to curl on stdin.
pub fn curl(
    method: Method,
    url: &str,
    form: &str,
    follow: bool,
    token: Option<&str>,
    body_path: &Path,
) -> Result<Reply> {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "120", "-o"])
        .arg(body_path)
        .args(["-w", "%{http_code}\n%{content_type}\n%{redirect_url}"]);
    if follow {
        cmd.arg("-L");
    }
    match method {
        Method::Get => {}
        Method::Post => {
            cmd.args(["-H", "Content-Type: application/x-www-form-urlencoded"])
                .args(["--data-binary", form]);
        }
        Method::Delete => {
            cmd.args(["-X", "DELETE"]);
        }
    }
    if token.is_some() {
        cmd.args(["-H", "@-"]);
    }
    cmd.arg(url)
        .stdin(if token.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().context("cannot run curl (is it installed?)")?;
    if let (Some(token), Some(mut stdin)) = (token, child.stdin.take()) {
        stdin
            .write_all(format!("Authorization: Bearer {token}\n").as_bytes())
            .context("passing the token to curl")?;
    }
    let out = child.wait_with_output().context("waiting for curl")?;
    if !out.status.success() {
        bail!(
            "{} {url} failed: {}",
            method.as_str(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let written = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = written.lines();
    let status = lines
        .next()
        .and_then(|code| code.trim().parse::<u16>().ok())
        .with_context(|| format!("curl printed no status for {url}"))?;
    let content_type = lines.next().unwrap_or_default().trim().to_owned();
    let location = lines.next().unwrap_or_default().trim().to_owned();
    let body = std::fs::read(body_path).unwrap_or_default();
    Ok(Reply {
        status,
        content_type,
        location,
        body,
    })
}

/// Replaces volatile UWS values: job ids (given, and any seen in job documents or URLs)
/// become `job00001`, `job00002`... in order of first appearance; times become fixed values.
pub fn scrub_uws(text: &str, known_ids: &mut Vec<String>) -> String {
    for id in job_ids_in(text) {
        if !known_ids.contains(&id) {
            known_ids.push(id);
        }
    }
    let mut out = text.to_owned();
    for (idx, id) in known_ids.iter().enumerate() {
        let placeholder = job_placeholder(idx);
        out = replace_id(&out, id, &placeholder);
    }
    for (element, value) in [
        ("creationTime", "2026-01-01T00:00:00Z"),
        ("startTime", "2026-01-01T00:00:02Z"),
        ("endTime", "2026-01-01T00:00:03Z"),
        ("quote", "2026-01-01T00:00:05Z"),
        ("destruction", "2026-01-03T00:00:00Z"),
    ] {
        out = replace_element_text(&out, &format!("uws:{element}"), value);
    }
    out
}

fn job_placeholder(idx: usize) -> String {
    format!("job{:05}", idx + 1)
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Job ids seen after `/async/`, in `<uws:jobId>` and in `<uws:jobref id="...">`.
fn job_ids_in(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for marker in ["/async/", "<uws:jobId>", "<uws:jobref id=\""] {
        let mut rest = text;
        while let Some(pos) = rest.find(marker) {
            rest = &rest[pos + marker.len()..];
            let id: String = rest.chars().take_while(|c| is_id_char(*c)).collect();
            if !id.is_empty() && !ids.contains(&id) && !id.starts_with("job0") {
                ids.push(id);
            }
        }
    }
    ids
}

/// Replaces `id` where it stands as a whole token.
fn replace_id(text: &str, id: &str, placeholder: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(id) {
        let previous = if pos == 0 {
            out.chars().next_back()
        } else {
            rest[..pos].chars().next_back()
        };
        let before_ok = !previous.is_some_and(is_id_char);
        let after = &rest[pos + id.len()..];
        let after_ok = !after.chars().next().is_some_and(is_id_char);
        out.push_str(&rest[..pos]);
        out.push_str(if before_ok && after_ok {
            placeholder
        } else {
            id
        });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Replaces the text of every non-empty `<name>...</name>` element.
fn replace_element_text(text: &str, name: &str, value: &str) -> String {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        let content_start = start + open.len();
        let Some(len) = rest[content_start..].find(&close) else {
            break;
        };
        out.push_str(&rest[..content_start]);
        if len > 0 {
            out.push_str(value);
        }
        rest = &rest[content_start + len..];
    }
    out.push_str(rest);
    out
}

/// Replaces values DaCHS makes up anew in every process: `<avl:upSince>` and the generated
/// XML ids (`nd` and ten lowercase letters, e.g. `ID="ndmgieeohhsa"`), which become
/// `ndaaaaaaaaaa`, `ndaaaaaaaaab`... in order of first appearance within the document.
pub fn scrub_dachs(text: &str) -> String {
    let text = replace_element_text(text, "avl:upSince", "2026-01-01T00:00:00Z");
    let bytes = text.as_bytes();
    let mut seen: Vec<&str> = Vec::new();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut idx = 0;
    while idx + 12 <= bytes.len() {
        let candidate = &bytes[idx..idx + 12];
        let boundary_before = idx == 0 || !bytes[idx - 1].is_ascii_alphanumeric();
        let boundary_after = bytes
            .get(idx + 12)
            .is_none_or(|byte| !byte.is_ascii_alphanumeric());
        if boundary_before
            && boundary_after
            && candidate.starts_with(b"nd")
            && candidate[2..].iter().all(u8::is_ascii_lowercase)
        {
            let id = &text[idx..idx + 12];
            let number = seen
                .iter()
                .position(|known| *known == id)
                .unwrap_or_else(|| {
                    seen.push(id);
                    seen.len() - 1
                });
            out.push_str(&text[last..idx]);
            out.push_str(&generated_id(number));
            idx += 12;
            last = idx;
        } else {
            idx += 1;
        }
    }
    out.push_str(&text[last..]);
    out
}

fn generated_id(mut number: usize) -> String {
    let mut letters = [b'a'; 10];
    for slot in letters.iter_mut().rev() {
        *slot = b'a' + (number % 26) as u8;
        number /= 26;
    }
    format!("nd{}", String::from_utf8_lossy(&letters))
}

/// Replaces tokens and passwords in text with `[redacted]`.
pub fn scrub_secrets(text: &str) -> String {
    let mut out = text.to_owned();
    let findings = tidy::find_secrets(out.as_bytes());
    // Work from the end so offsets stay valid.
    for finding in findings.iter().rev() {
        let start = finding.offset;
        let Some(rest) = out.get(start..) else {
            continue;
        };
        let value_start = match finding.kind {
            tidy::SecretKind::Jwt => 0,
            _ => rest.find(['=', ':', ' ']).map_or(rest.len(), |pos| pos + 1),
        };
        let value_start = value_start
            + rest[value_start..]
                .chars()
                .take_while(|c| *c == ' ' || *c == '"' || *c == '\'')
                .map(char::len_utf8)
                .sum::<usize>();
        let value_len: usize = rest[value_start..]
            .chars()
            .take_while(|c| !matches!(c, '&' | '"' | '\'' | '<' | '\r' | '\n' | ' ' | ';' | ','))
            .map(char::len_utf8)
            .sum();
        // "Bearer <token>" and "Authorization: Bearer <token>": redact the whole credential.
        let mut end = start + value_start + value_len;
        if matches!(
            finding.kind,
            tidy::SecretKind::AuthorizationHeader | tidy::SecretKind::BearerToken
        ) {
            end = start + rest.find(['\r', '\n', '"', '<']).unwrap_or(rest.len());
        }
        if end > start + value_start {
            out.replace_range(start + value_start..end, "[redacted]");
        }
    }
    out
}

fn is_text(content_type: &str, body: &[u8]) -> bool {
    let binary_type = content_type.contains("fits") || content_type.starts_with("image/");
    !binary_type && std::str::from_utf8(body).is_ok()
}

/// Where the recorder writes, and what it does.
#[derive(Debug, Clone)]
pub struct Options {
    /// The directory standing for `fixtures/` (another one to compare, e.g. `/tmp/rec`).
    pub out: PathBuf,
    /// Only recordings whose name or fixture contains this.
    pub only: Option<String>,
}

/// Counts of what a run did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    /// Fixtures written because new or changed.
    pub written: usize,
    /// Fixtures whose bytes were unchanged.
    pub unchanged: usize,
    /// Recordings that failed.
    pub failed: usize,
}

/// Runs recordings against `base` (`/`-targets are relative to it).
pub fn record_all(
    recordings: &[Recording],
    base: &str,
    source: &str,
    token: Option<&str>,
    options: &Options,
) -> Result<Summary> {
    let scratch = util::root().join("target").join("xtask-record");
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let body_path = scratch.join("body");
    let mut summary = Summary::default();
    for recording in recordings {
        let wanted = options.only.as_deref().is_none_or(|only| {
            recording.name.contains(only)
                || recording
                    .steps
                    .iter()
                    .any(|step| step.fixture.is_some_and(|fixture| fixture.contains(only)))
        });
        if !wanted {
            continue;
        }
        if recording.needs_auth && token.is_none() {
            println!("skip  {} (needs ESO_USER/ESO_PASSWORD)", recording.name);
            continue;
        }
        match record_one(recording, base, source, token, options, &body_path) {
            Ok((written, unchanged)) => {
                summary.written += written;
                summary.unchanged += unchanged;
                println!(
                    "ok    {} ({written} written, {unchanged} unchanged)",
                    recording.name
                );
            }
            Err(err) => {
                summary.failed += 1;
                println!("FAIL  {}: {err:#}", recording.name);
            }
        }
    }
    let _ = std::fs::remove_file(&body_path);
    Ok(summary)
}

fn record_one(
    recording: &Recording,
    base: &str,
    source: &str,
    token: Option<&str>,
    options: &Options,
    body_path: &Path,
) -> Result<(usize, usize)> {
    let mut job_url: Option<String> = None;
    let mut known_ids: Vec<String> = Vec::new();
    let (mut written, mut unchanged) = (0, 0);
    for step in &recording.steps {
        let target = match &job_url {
            Some(job) => step.target.replace("{job}", job),
            None if step.target.contains("{job}") => {
                bail!("step {} before a job was created", step.target)
            }
            None => step.target.to_owned(),
        };
        let url = if target.starts_with('/') {
            format!("{base}{target}")
        } else {
            target
        };
        let reply = curl(step.method, &url, step.form, step.follow, token, body_path)?;
        if step.creates_job {
            if reply.status != 303 || reply.location.is_empty() {
                bail!(
                    "creating a job at {url} answered {} without a Location",
                    reply.status
                );
            }
            let location = reply.location.clone();
            for id in job_ids_in(&location) {
                if !known_ids.contains(&id) {
                    known_ids.push(id);
                }
            }
            job_url = Some(location);
        }
        let Some(fixture) = step.fixture else {
            continue;
        };
        let mut body = reply.body.clone();
        let mut meta_url = url.clone();
        let mut location = reply.location.clone();
        if is_text(&reply.content_type, &body) {
            let text = String::from_utf8_lossy(&body).into_owned();
            body = scrub_secrets(&scrub_dachs(&scrub_uws(&text, &mut known_ids))).into_bytes();
        }
        for (idx, id) in known_ids.iter().enumerate() {
            meta_url = replace_id(&meta_url, id, &job_placeholder(idx));
            location = replace_id(&location, id, &job_placeholder(idx));
        }
        meta_url = scrub_secrets(&meta_url);
        let fields = MetaFields {
            url: meta_url,
            method: step.method.as_str(),
            request: (step.method == Method::Post).then(|| scrub_secrets(step.form)),
            status: reply.status,
            content_type: reply.content_type.clone(),
            location: (300..400).contains(&reply.status).then_some(location),
            source,
            docs: recording.docs,
        };
        if write_fixture(&options.out.join(fixture), &body, &fields)? {
            written += 1;
        } else {
            unchanged += 1;
        }
    }
    Ok((written, unchanged))
}

/// What a recording knows for the metadata file.
#[derive(Debug, Clone)]
pub struct MetaFields<'a> {
    /// The request URL (scrubbed).
    pub url: String,
    /// The method.
    pub method: &'a str,
    /// For POST: the form body (scrubbed).
    pub request: Option<String>,
    /// Final status.
    pub status: u16,
    /// Content type.
    pub content_type: String,
    /// For redirects: the `Location`.
    pub location: Option<String>,
    /// How it was made.
    pub source: &'a str,
    /// Docs to use when there is no metadata yet.
    pub docs: &'a str,
}

/// Writes a fixture and its metadata; returns false when the bytes and status were unchanged
/// (then nothing is touched).
pub fn write_fixture(path: &Path, body: &[u8], fields: &MetaFields<'_>) -> Result<bool> {
    let meta_path = tidy::meta_path(path);
    let old_meta: Option<Value> = std::fs::read_to_string(&meta_path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    let same_body = std::fs::read(path).is_ok_and(|old| old == body);
    let same_status = old_meta
        .as_ref()
        .and_then(|meta| meta.get("status"))
        .and_then(Value::as_u64)
        == Some(u64::from(fields.status));
    if same_body && same_status {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, body).with_context(|| format!("writing {}", path.display()))?;
    let docs = old_meta
        .as_ref()
        .and_then(|meta| meta.get("docs"))
        .and_then(Value::as_str)
        .unwrap_or(fields.docs)
        .to_owned();
    let meta = render_meta(fields, &docs, old_meta.as_ref());
    std::fs::write(&meta_path, meta).with_context(|| format!("writing {}", meta_path.display()))?;
    Ok(true)
}

/// The metadata JSON, keys in the documented order, extra keys of an older file kept.
pub fn render_meta(fields: &MetaFields<'_>, docs: &str, old: Option<&Value>) -> String {
    let quote = |text: &str| Value::String(text.to_owned()).to_string();
    let mut entries: Vec<(String, String)> = vec![
        ("version".into(), "1".into()),
        ("url".into(), quote(&fields.url)),
        ("method".into(), quote(fields.method)),
    ];
    if let Some(request) = &fields.request {
        entries.push(("request".into(), quote(request)));
    }
    entries.push(("status".into(), fields.status.to_string()));
    entries.push(("content_type".into(), quote(&fields.content_type)));
    if let Some(location) = &fields.location {
        entries.push(("location".into(), quote(location)));
    }
    entries.push(("date".into(), quote(&util::today())));
    entries.push(("source".into(), quote(fields.source)));
    entries.push(("docs".into(), quote(docs)));
    if let Some(Value::Object(old)) = old {
        let extra: BTreeMap<&String, &Value> = old
            .iter()
            .filter(|(key, _)| !entries.iter().any(|(name, _)| name == *key))
            .collect();
        for (key, value) in extra {
            entries.push((key.clone(), value.to_string()));
        }
    }
    let body: Vec<String> = entries
        .iter()
        .map(|(key, value)| format!("  {}: {value}", quote(key)))
        .collect();
    format!("{{\n{}\n}}\n", body.join(",\n"))
}

/// Whether a HEAD to the ESO probe URL answers within a few seconds.
pub fn eso_reachable() -> bool {
    Command::new("curl")
        .args([
            "-sS",
            "-I",
            "-o",
            "/dev/null",
            "--max-time",
            "8",
            "-w",
            "%{http_code}",
            ESO_PROBE,
        ])
        .stderr(Stdio::null())
        .output()
        .ok()
        .is_some_and(|out| {
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<u16>()
                .is_ok_and(|code| (200..500).contains(&code))
        })
}

/// Logs in to ESO with `ESO_USER`/`ESO_PASSWORD` (OIDC password grant) and returns the
/// id_token; the password goes to curl on stdin.
pub fn eso_login(user: &str, password: &str) -> Result<String> {
    let mut child = Command::new("curl")
        .args(["-sS", "--max-time", "30", "-G", ESO_TOKEN_URL])
        .args(["--data-urlencode", "response_type=id_token token"])
        .args(["--data-urlencode", "grant_type=password"])
        .args(["--data-urlencode", "client_id=clientid"])
        .args(["--data-urlencode", &format!("username={user}")])
        .args(["--data-urlencode", "password@-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run curl")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(password.as_bytes())
            .context("passing the password to curl")?;
    }
    let out = child.wait_with_output().context("waiting for curl")?;
    if !out.status.success() {
        bail!("ESO login request failed (curl exit {})", out.status);
    }
    let reply: Value = serde_json::from_slice(&out.stdout)
        .context("the ESO token endpoint did not answer with JSON")?;
    reply
        .get("id_token")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .context("ESO login failed: no id_token in the answer (wrong user or password?)")
}

/// DaCHS fixtures on disk (recorded from DaCHS per their metadata) that no manifest entry writes.
pub fn unlisted_dachs_fixtures(fixtures: &Path) -> Result<Vec<String>> {
    let listed: Vec<&str> = dachs_manifest()
        .iter()
        .flat_map(|recording| {
            recording
                .steps
                .iter()
                .filter_map(|step| step.fixture)
                .collect::<Vec<_>>()
        })
        .collect();
    let dir = fixtures.join("dachs");
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    Ok(tidy::walk(&dir)?
        .into_iter()
        .filter(|path| tidy::is_data_file(path))
        .map(|path| tidy::relative(fixtures, &path))
        .filter(|rel| !listed.contains(&rel.as_str()))
        .collect())
}

/// `cargo xtask fixtures [--from dachs|eso] [--out DIR] [--only TEXT]`.
pub fn cli(args: &[String]) -> Result<()> {
    let mut from: Vec<String> = Vec::new();
    let mut options = Options {
        out: tidy::fixtures_dir(),
        only: None,
    };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--from" => from.push(iter.next().context("--from wants dachs or eso")?.clone()),
            "--out" => options.out = PathBuf::from(iter.next().context("--out wants a directory")?),
            "--only" => options.only = Some(iter.next().context("--only wants a text")?.clone()),
            other => bail!("unknown argument {other:?} for `cargo xtask fixtures`"),
        }
    }
    if from.is_empty() {
        from = vec!["dachs".into(), "eso".into()];
    }
    let mut failed = 0;
    for service in &from {
        match service.as_str() {
            "dachs" => {
                let was_running = dachs::status().running();
                let base = dachs::start(dachs::rows_from_env()?)?;
                println!(
                    "recording from DaCHS at {base} into {}",
                    options.out.display()
                );
                let summary = record_all(&dachs_manifest(), &base, DACHS_SOURCE, None, &options);
                if !was_running {
                    eprintln!("stopping DaCHS again (it was not running before)");
                    if let Err(err) = dachs::stop(false) {
                        eprintln!("warning: could not stop DaCHS: {err:#}");
                    }
                }
                let summary = summary?;
                println!(
                    "DaCHS: {} written, {} unchanged, {} failed",
                    summary.written, summary.unchanged, summary.failed
                );
                failed += summary.failed;
                let unlisted = unlisted_dachs_fixtures(&tidy::fixtures_dir())?;
                if !unlisted.is_empty() {
                    println!(
                        "note: these DaCHS fixtures are not in the manifest (xtask/src/record.rs) and were not re-recorded:\n  {}",
                        unlisted.join("\n  ")
                    );
                }
            }
            "eso" => {
                if !eso_reachable() {
                    println!(
                        "the ESO archive ({ESO_PROBE}) is not reachable from this machine: \
                         ESO fixtures were not re-recorded (they stay as rebuilt from ../shared)"
                    );
                    continue;
                }
                let token = match (std::env::var("ESO_USER"), std::env::var("ESO_PASSWORD")) {
                    (Ok(user), Ok(password)) if !user.is_empty() && !password.is_empty() => {
                        Some(eso_login(&user, &password)?)
                    }
                    _ => {
                        println!(
                            "ESO_USER/ESO_PASSWORD not set: recording anonymous requests only"
                        );
                        None
                    }
                };
                println!(
                    "recording from the ESO archive into {}",
                    options.out.display()
                );
                let summary = record_all(
                    &eso_manifest(),
                    "https://archive.eso.org",
                    ESO_SOURCE,
                    token.as_deref(),
                    &options,
                )?;
                println!(
                    "ESO: {} written, {} unchanged, {} failed",
                    summary.written, summary.unchanged, summary.failed
                );
                failed += summary.failed;
            }
            other => bail!("unknown fixture source {other:?}: use dachs or eso"),
        }
    }
    if failed > 0 {
        bail!("{failed} recording(s) failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uws_documents_lose_ids_and_times() {
        let doc = "<uws:job><uws:jobId>hi32c0py</uws:jobId><uws:ownerId xsi:nil=\"true\"></uws:ownerId>\
            <uws:quote>2026-11-21T18:35:22Z</uws:quote><uws:creationTime>2026-11-21T18:35:17Z</uws:creationTime>\
            <uws:startTime></uws:startTime><uws:results><uws:result id=\"result\" \
            xlink:href=\"http://127.0.0.1:18080/__system__/tap/run/async/hi32c0py/results/result\"/></uws:results></uws:job>";
        let mut ids = Vec::new();
        let scrubbed = scrub_uws(doc, &mut ids);
        assert_eq!(ids, ["hi32c0py"]);
        assert!(!scrubbed.contains("hi32c0py"), "{scrubbed}");
        assert!(scrubbed.contains("<uws:jobId>job00001</uws:jobId>"));
        assert!(scrubbed.contains("/async/job00001/results/result"));
        assert!(scrubbed.contains("<uws:quote>2026-01-01T00:00:05Z</uws:quote>"));
        assert!(scrubbed.contains("<uws:startTime></uws:startTime>"));
        assert!(!scrubbed.contains("18:35"));
        // data that merely contains the id inside a longer token is left alone
        assert_eq!(
            replace_id("xhi32c0py hi32c0py", "hi32c0py", "job00001"),
            "xhi32c0py job00001"
        );
    }

    #[test]
    fn dachs_generated_ids_are_renumbered() {
        let doc = "<GROUP ID=\"ndmgieeohhsa\"/><TABLE name=\"ndthblsldgea\"><FIELDref ref=\"ndmgieeohhsa\"/>\
            understanding ndmgieeohhsax <avl:upSince>2026-11-21T18:41:12Z</avl:upSince>";
        let scrubbed = scrub_dachs(doc);
        assert_eq!(
            scrubbed,
            "<GROUP ID=\"ndaaaaaaaaaa\"/><TABLE name=\"ndaaaaaaaaab\"><FIELDref ref=\"ndaaaaaaaaaa\"/>\
            understanding ndmgieeohhsax <avl:upSince>2026-01-01T00:00:00Z</avl:upSince>"
        );
        assert_eq!(generated_id(27), "ndaaaaaaaabb");
    }

    #[test]
    fn job_lists_number_jobs_in_order() {
        let list = "<uws:jobref id=\"aaaa1111\" xlink:href=\"http://h/async/aaaa1111\"/>\
            <uws:jobref id=\"bbbb2222\" xlink:href=\"http://h/async/bbbb2222\"/>";
        let mut ids = vec!["bbbb2222".to_owned()];
        let scrubbed = scrub_uws(list, &mut ids);
        assert!(scrubbed.contains("id=\"job00002\" xlink:href=\"http://h/async/job00002\""));
        assert!(scrubbed.contains("id=\"job00001\""));
    }

    #[test]
    fn secrets_are_redacted() {
        let text = "url?username=me&password=hunter2&x=1\nAuthorization: Bearer abc.def\n\
            {\"id_token\": \"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl\"}";
        let scrubbed = scrub_secrets(text);
        assert!(!scrubbed.contains("hunter2"), "{scrubbed}");
        assert!(!scrubbed.contains("abc.def"), "{scrubbed}");
        assert!(!scrubbed.contains("eyJzdWIi"), "{scrubbed}");
        assert!(scrubbed.contains("password=[redacted]&x=1"), "{scrubbed}");
        assert!(
            tidy::find_secrets(scrubbed.as_bytes()).is_empty(),
            "{scrubbed}"
        );
    }

    #[test]
    fn metadata_keeps_order_and_extra_keys() {
        let fields = MetaFields {
            url: "http://127.0.0.1:18080/tap/sync".into(),
            method: "POST",
            request: Some("QUERY=x".into()),
            status: 200,
            content_type: "text/csv".into(),
            location: None,
            source: DACHS_SOURCE,
            docs: "new docs",
        };
        let old: Value = serde_json::from_str(r#"{"docs":"old","note":"kept"}"#).unwrap();
        let meta = render_meta(&fields, "old", Some(&old));
        assert!(tidy::check_meta(&meta).is_empty(), "{meta}");
        let keys: Vec<&str> = meta
            .lines()
            .filter_map(|line| line.trim().strip_prefix('"'))
            .filter_map(|line| line.split('"').next())
            .collect();
        assert_eq!(
            keys,
            [
                "version",
                "url",
                "method",
                "request",
                "status",
                "content_type",
                "date",
                "source",
                "docs",
                "note"
            ]
        );
    }

    #[test]
    fn manifest_targets_are_well_formed() {
        for recording in dachs_manifest().iter().chain(eso_manifest().iter()) {
            let mut has_job = false;
            for step in &recording.steps {
                assert!(
                    step.target.starts_with('/')
                        || step.target.starts_with("https://")
                        || step.target.starts_with("{job}"),
                    "{}: {}",
                    recording.name,
                    step.target
                );
                assert!(
                    !step.target.contains("{job}") || has_job,
                    "{}: {{job}} before CreateJob",
                    recording.name
                );
                has_job |= step.creates_job;
                if let Some(fixture) = step.fixture {
                    assert!(
                        fixture.starts_with("dachs/") || fixture.starts_with("eso/"),
                        "{fixture}"
                    );
                }
            }
        }
    }
}
