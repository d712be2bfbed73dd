//! `eso demo`: the offline ESO-shaped archive, and a walk through ESO's "Programmatic
//! Authentication & Authorisation" notebook with the real client code.
//!
//! The steps are the notebook's: log in, run the authorised asynchronous query on
//! `dbo.raw`, download the two SPHERE frames with the token, follow the first frame's
//! DataLink, ask calSelector for processed calibrations, check the cascade, download the
//! calibrations and the association tree.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context as _;
use eso_calselector::{CalSelector, CalSelectorClient, Mode};
use eso_demo::{DEMO_PASSWORD, DEMO_USER, DemoArchive, DemoConfig};
use vo_auth::cache::TokenCache;
use vo_auth::http::HttpClient;
use vo_auth::{EsoEndpoints, Password};
use vo_datalink::Semantics;
use vo_datalink::client::DataLinkClient;
use vo_download::{DownloadRequest, Expect};
use vo_tap::TapQuery;
use vo_tap::client::{JobOptions, TapClient};

use crate::args::{DemoArgs, GlobalArgs};
use crate::cmd::{auth, calsel, fetch, render};
use crate::context::Ctx;
use crate::output::{self, Style};

/// The query of the notebook (section 2.2).
pub const SEED_QUERY: &str =
    "select top 2 * from dbo.raw where dp_cat='SCIENCE' and prog_id = '098.C-0739(C)'";

/// The columns shown of each `dbo.raw` record (the notebook prints them all).
const SHOWN_COLUMNS: [&str; 8] = [
    "dp_id",
    "access_url",
    "datalink_url",
    "instrument",
    "dp_tech",
    "exposure",
    "object",
    "access_estsize",
];

fn step(style: &Style, n: u32, title: &str) {
    eprintln!("\n{}", style.bold(&format!("[{n}/7] {title}")));
}

/// `eso demo [--serve]`.
pub async fn demo(global: &GlobalArgs, args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let addr = args.listen.parse().with_context(|| {
        format!(
            "--listen {:?} is not an address like 127.0.0.1:8080",
            args.listen
        )
    })?;
    let archive = DemoArchive::start(DemoConfig {
        addr,
        ..DemoConfig::default()
    })
    .await?;
    let base = archive.base_url();
    let style = Style::detect();
    if args.serve {
        output::print(&format!(
            "Offline ESO archive on {base}\n\
             Demo account: user {DEMO_USER}, password {DEMO_PASSWORD}\n\
             Try, in another terminal:\n  \
             eso --base-url {base} login --user {DEMO_USER}\n  \
             eso --base-url {base} query --async \"{SEED_QUERY}\" --format records\n  \
             eso --base-url {base} retrieve SPHER.2016-09-26T03:04:09.308 --calib processed -d demo-data\n\
             Press Ctrl-C to stop.\n"
        ))?;
        tokio::signal::ctrl_c().await?;
        archive.shutdown().await;
        return Ok(ExitCode::SUCCESS);
    }
    let result = walk_through(global, &style, &base, args.dir.clone()).await;
    archive.shutdown().await;
    result
}

async fn walk_through(
    global: &GlobalArgs,
    style: &Style,
    base: &vo_auth::Url,
    dir: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let endpoints = EsoEndpoints::with_base(base.clone());
    let dir = match dir {
        Some(dir) => dir,
        None => tempfile::Builder::new()
            .prefix("eso-demo-")
            .tempdir()?
            .keep(),
    };
    // The demo's token goes to a cache of its own: the user's real logins stay untouched.
    let cache = TokenCache::new(dir.join(".tokens"));
    let ctx_global = GlobalArgs {
        base_url: Some(base.to_string()),
        user: Some(DEMO_USER.to_owned()),
        anonymous: false,
        ..global.clone()
    };
    let ctx = Ctx::for_demo(ctx_global, endpoints.clone(), cache.clone())?;
    eprintln!(
        "Offline ESO archive on {base} (demo account {DEMO_USER}/{DEMO_PASSWORD}); files go to {}",
        dir.display()
    );

    // 1. Log in.
    step(
        style,
        1,
        "Log in and get a token (GET /sso/oidc/token, password grant)",
    );
    let anonymous = ctx.anonymous();
    let (login, _path) = vo_auth::eso::login_and_store(
        &anonymous,
        &endpoints,
        &cache,
        DEMO_USER,
        &Password::new(DEMO_PASSWORD.to_owned()),
    )
    .await?;
    let me = vo_auth::eso::whoami(&cache, &endpoints, Some(DEMO_USER), SystemTime::now())?;
    eprintln!(
        "  logged in as {} ({}), roles [{}], token valid for {}",
        output::escape(&me.user),
        output::escape(me.name().unwrap_or("?")),
        output::escape(&me.roles().join(", ")),
        me.time_left
            .map(auth::format_duration)
            .unwrap_or_else(|| "0s".into())
    );
    let http: HttpClient = vo_auth::eso::authenticated_client(&anonymous, &endpoints, &login)?;

    // 2. Authorised asynchronous query.
    step(
        style,
        2,
        "Authorised asynchronous TAP query on dbo.raw (UWS job)",
    );
    eprintln!("  {SEED_QUERY}");
    let tap = TapClient::builder(endpoints.tap_obs())
        .http(http.clone())
        .build()?;
    let options = JobOptions {
        execution_duration: Some(300),
        ..JobOptions::default()
    };
    let job_url = tap.submit(&TapQuery::new(SEED_QUERY), &options).await?;
    eprintln!("  job {job_url}");
    let job = tap.wait(&job_url).await?;
    eprintln!("  phase {}", job.phase);
    let result_url = tap.result_url(&job_url, &job).await?;
    let stream = tap.results(&result_url).await?;
    let (rows, _outcome) = stream
        .read_blocking(|s| {
            let fields: Vec<String> = s
                .table()
                .map(|t| t.fields.iter().map(|f| f.name.clone()).collect())
                .unwrap_or_default();
            let mut rows = Vec::new();
            let mut row = votable::Row::new();
            while s.read_row(&mut row)? {
                rows.push(
                    fields
                        .iter()
                        .cloned()
                        .zip(row.values().iter().map(render::display_value))
                        .collect::<Vec<(String, String)>>(),
                );
            }
            Ok(rows)
        })
        .await?;
    tap.delete(&job_url).await?;
    eprintln!("  {} records; job deleted", rows.len());
    let header: Vec<String> = SHOWN_COLUMNS.iter().map(|s| (*s).to_owned()).collect();
    let shown: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            SHOWN_COLUMNS
                .iter()
                .map(|c| {
                    row.iter()
                        .find(|(name, _)| name == c)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    eprint!("{}", output::render_records(&header, &shown));
    let cell = |row: &[(String, String)], name: &str| {
        row.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    };
    let frames: Vec<(String, String, String)> = rows
        .iter()
        .filter_map(|row| {
            Some((
                cell(row, "dp_id")?,
                cell(row, "access_url")?,
                cell(row, "datalink_url")?,
            ))
        })
        .collect();
    anyhow::ensure!(
        !frames.is_empty(),
        "the authorised query returned no frames; the demo cannot go on"
    );

    // 3. Download the science frames with the token.
    step(
        style,
        3,
        "Download the raw science frames with your permissions",
    );
    let mut requests = Vec::new();
    let mut labels = Vec::new();
    for (dp_id, access_url, _) in &frames {
        let url = Ctx::parse_url("access_url", access_url)?;
        requests.push(
            DownloadRequest::new(url, &dir)
                .with_name(dp_id.clone())
                .with_expect(Expect::Fits),
        );
        labels.push(dp_id.clone());
    }
    let report = fetch::run_batch(&ctx, &http, requests, labels, 4).await?;
    let science_code = fetch::summarize(&ctx, &report);

    // 4. DataLink of the first frame.
    let (first_id, _, datalink_url) = &frames[0];
    step(style, 4, &format!("DataLink of {first_id}"));
    let datalink = DataLinkClient::new(http.clone());
    let (links, warnings) = datalink
        .links_at(&Ctx::parse_url("datalink_url", datalink_url)?)
        .await?;
    for warning in &warnings {
        eprintln!("  warning: {}", output::escape(&warning.to_string()));
    }
    let header: Vec<String> = ["semantics", "content_type", "access_url"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let table: Vec<Vec<String>> = links
        .links
        .iter()
        .map(|l| {
            vec![
                output::escape_cell(&l.semantics.to_string()),
                output::escape_cell(l.content_type.as_deref().unwrap_or("")),
                output::escape_cell(
                    l.access_url()
                        .or(l.service_def())
                        .or(l.error_message())
                        .unwrap_or(""),
                ),
            ]
        })
        .collect();
    eprint!("{}", output::render_table(style, &header, &table));
    let raw2master =
        Semantics::parse("http://archive.eso.org/rdf/datalink/eso#calSelector_raw2master");
    let calselector_link = links
        .by_semantics(&raw2master)
        .next()
        .context("the DataLink answer has no calSelector_raw2master link")?;
    eprintln!(
        "  processed calibrations: {}",
        output::escape(calselector_link.access_url().unwrap_or(""))
    );

    // 5. calSelector.
    step(
        style,
        5,
        "calSelector: processed calibrations (Raw2Master) of the frames",
    );
    let calselector =
        CalSelectorClient::new(http.clone(), CalSelector::new(endpoints.calselector()));
    let frame_ids: Vec<String> = frames.iter().map(|(id, _, _)| id.clone()).collect();
    let plan = calselector.plan(&frame_ids, Mode::Raw2Master, true).await?;

    // 6. Quality.
    step(
        style,
        6,
        "Check the calibration cascades (complete, certified, mode)",
    );
    for frame in &plan.frames {
        eprint!("{}", calsel::frame_text(style, frame));
    }
    if !plan.has_quality_warnings() {
        eprintln!(
            "  {}",
            style.ok("no warnings: complete, certified, Raw2Master as requested")
        );
    }

    // 7. Calibrations and association trees.
    step(
        style,
        7,
        "Download the calibrations (once each) and the association trees",
    );
    eprintln!(
        "  {} calibration files for {} frames ({} when downloaded once per frame)",
        plan.calibrations.len(),
        plan.frames.len(),
        plan.calibrations
            .iter()
            .map(|c| c.needed_by.len())
            .sum::<usize>()
    );
    let calib_code = calsel::download_plan(&ctx, &http, &plan, &dir, 4).await?;

    eprintln!(
        "\n{} Everything is in {}.\nRun the same commands against the real archive without --base-url (see README.md).",
        style.ok("Done."),
        dir.display()
    );
    Ok(if science_code == ExitCode::SUCCESS {
        calib_code
    } else {
        science_code
    })
}
