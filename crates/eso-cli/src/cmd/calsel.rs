//! `eso calselector` and `eso retrieve`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use eso_calselector::{
    CalSelector, CalSelectorClient, CalibrationPlan, FrameReport, Mode, TextStyle,
};
use vo_auth::http::HttpClient;
use vo_download::{DownloadRequest, Expect};

use crate::args::{CalibArg, CalselectorArgs, ModeArg, PlanFormat, RetrieveArgs};
use crate::cmd::fetch;
use crate::context::{Ctx, Login};
use crate::output::{self, Style};

fn mode_of(arg: ModeArg) -> Mode {
    match arg {
        ModeArg::Raw2raw => Mode::Raw2Raw,
        ModeArg::Raw2master => Mode::Raw2Master,
    }
}

fn calselector_client(ctx: &Ctx, http: HttpClient) -> CalSelectorClient {
    CalSelectorClient::new(http, CalSelector::new(ctx.endpoints.calselector()))
}

/// The cascade summary and quality warnings of one frame, for people.
pub fn frame_text(style: &Style, frame: &FrameReport) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "{}", style.bold(&output::escape(&frame.dp_id)));
    if let Some(summary) = &frame.summary {
        let flag = |b: Option<bool>| b.map_or("unknown".to_owned(), |b| b.to_string());
        let _ = writeln!(
            text,
            "  science category={}  complete={}  certified={}  executed mode={}",
            output::escape(summary.category.as_deref().unwrap_or("?")),
            flag(summary.complete),
            flag(summary.certified),
            summary.mode.map_or("?".to_owned(), |m| m.to_string()),
        );
        if let Some(messages) = summary.messages_text() {
            let _ = writeln!(text, "  messages: {}", output::escape(messages));
        }
    }
    for warning in &frame.warnings {
        let _ = writeln!(
            text,
            "  {}",
            style.warn(&format!(
                "warning: {}",
                output::escape(&warning.to_string())
            ))
        );
    }
    text
}

fn calibrations_table(style: &Style, plan: &CalibrationPlan) -> String {
    let header: Vec<String> = ["category", "dp_id", "size", "needed by"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let rows: Vec<Vec<String>> = plan
        .calibrations
        .iter()
        .map(|c| {
            vec![
                output::escape_cell(c.category.as_deref().unwrap_or("")),
                output::escape_cell(&c.dp_id),
                c.size.map(fetch::human_bytes).unwrap_or_default(),
                c.needed_by.len().to_string(),
            ]
        })
        .collect();
    output::render_table(style, &header, &rows)
}

/// Writes each frame's association tree to `<dp_id>_<mode>.xml` in `dir`, atomically.
fn save_trees(dir: &Path, plan: &CalibrationPlan) -> anyhow::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for frame in &plan.frames {
        let Some(xml) = &frame.tree_xml else {
            continue;
        };
        let name = eso_calselector::multipart::tree_file_name(&frame.dp_id, plan.mode)?;
        let path = dir.join(&name);
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
        tmp.write_all(xml)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

fn calibration_requests(
    plan: &CalibrationPlan,
    dir: &Path,
    requests: &mut Vec<DownloadRequest>,
    labels: &mut Vec<String>,
) -> anyhow::Result<()> {
    for cal in &plan.calibrations {
        let url = Ctx::parse_url("calibration access_url", &cal.access_url)?;
        let mut request = DownloadRequest::new(url, dir).with_name(cal.dp_id.clone());
        if let Some(size) = cal.size {
            // ESO announces sizes rounded ("content_length" of calSelector rows is exact for
            // files, an estimate for services); only exact file sizes are checked.
            if cal.content_type.as_deref() == Some("application/fits") {
                request = request.with_expected_size(size);
            }
        }
        if cal.content_type.as_deref() == Some("application/fits") {
            request = request.with_expect(Expect::Fits);
        }
        labels.push(format!(
            "{} ({})",
            cal.dp_id,
            cal.category.as_deref().unwrap_or("calibration")
        ));
        requests.push(request);
    }
    Ok(())
}

/// The plan, with the association trees of the frames that have one; trees that cannot be
/// fetched are reported as warnings on their frames by the library.
async fn plan(
    ctx: &Ctx,
    client: &CalSelectorClient,
    dp_ids: &[String],
    mode: Mode,
    with_trees: bool,
) -> anyhow::Result<CalibrationPlan> {
    let plan = client.plan(dp_ids, mode, with_trees).await?;
    if !ctx.global.quiet {
        for frame in &plan.frames {
            for warning in &frame.parse_warnings {
                eprintln!(
                    "{}",
                    ctx.style.warn(&format!(
                        "warning: {}: {}",
                        output::escape(&frame.dp_id),
                        output::escape(&warning.to_string())
                    ))
                );
            }
        }
    }
    Ok(plan)
}

/// `eso calselector`.
pub async fn calselector(ctx: &Ctx, args: &CalselectorArgs) -> anyhow::Result<ExitCode> {
    let mode = mode_of(args.mode);
    let http = ctx.client(Login::IfAvailable).await?;
    let client = calselector_client(ctx, http.clone());
    let plan = plan(ctx, &client, &args.dp_ids, mode, args.tree || args.download).await?;
    if args.format == PlanFormat::Json {
        output::print(&(plan.to_json() + "\n"))?;
    } else {
        let mut text = String::new();
        for frame in &plan.frames {
            text.push_str(&frame_text(&ctx.style, frame));
            if args.tree
                && let Some(tree) = &frame.tree
            {
                text.push_str(&tree.to_text_with(TextStyle::Compact));
            }
            text.push('\n');
        }
        let _ = writeln!(
            text,
            "{} calibration files ({}), deduplicated across {} frame(s):",
            plan.calibrations.len(),
            fetch::human_bytes(plan.calibration_bytes()),
            plan.frames.len()
        );
        text.push_str(&calibrations_table(&ctx.style, &plan));
        output::print(&text)?;
    }
    if !args.download {
        return Ok(ExitCode::SUCCESS);
    }
    download_plan(ctx, &http, &plan, &args.dir, args.jobs).await
}

/// Saves the association trees of `plan` and downloads its calibration files, once each.
pub async fn download_plan(
    ctx: &Ctx,
    http: &HttpClient,
    plan: &CalibrationPlan,
    dir: &Path,
    jobs: usize,
) -> anyhow::Result<ExitCode> {
    let trees = save_trees(dir, plan)?;
    if !ctx.global.quiet {
        for path in &trees {
            eprintln!("  association tree {}", path.display());
        }
    }
    let mut requests = Vec::new();
    let mut labels = Vec::new();
    calibration_requests(plan, dir, &mut requests, &mut labels)?;
    let report = fetch::run_batch(ctx, http, requests, labels, jobs).await?;
    Ok(fetch::summarize(ctx, &report))
}

/// `eso retrieve`: science frames (with the user's permissions), their calibrations
/// (deduplicated across frames) and association trees; warnings first, summary last.
pub async fn retrieve(ctx: &Ctx, args: &RetrieveArgs) -> anyhow::Result<ExitCode> {
    let http = ctx.client(Login::IfAvailable).await?;
    let mut requests = Vec::new();
    let mut labels = Vec::new();
    for dp_id in &args.dp_ids {
        let url = ctx
            .endpoints
            .try_file(dp_id)
            .map_err(|err| crate::exit::coded(crate::exit::USAGE, err.to_string()))?;
        requests.push(
            DownloadRequest::new(url, &args.dir)
                .with_name(dp_id.clone())
                .with_expect(Expect::Fits)
                .with_decompress(args.decompress),
        );
        labels.push(dp_id.clone());
    }
    let mode = match args.calib {
        CalibArg::None => None,
        CalibArg::Raw => Some(Mode::Raw2Raw),
        CalibArg::Processed => Some(Mode::Raw2Master),
    };
    if let Some(mode) = mode {
        let client = calselector_client(ctx, http.clone());
        let plan = plan(ctx, &client, &args.dp_ids, mode, true).await?;
        if !ctx.global.quiet {
            let mut text = String::new();
            for frame in &plan.frames {
                text.push_str(&frame_text(&ctx.style, frame));
            }
            let _ = writeln!(
                text,
                "{} calibration files ({}) for {} frame(s)",
                plan.calibrations.len(),
                fetch::human_bytes(plan.calibration_bytes()),
                plan.frames.len()
            );
            eprint!("{text}");
        }
        let trees = save_trees(&args.dir, &plan)?;
        if !ctx.global.quiet {
            for path in &trees {
                eprintln!("  association tree {}", path.display());
            }
        }
        calibration_requests(&plan, &args.dir, &mut requests, &mut labels)?;
    }
    let report = fetch::run_batch(ctx, &http, requests, labels, args.jobs).await?;
    Ok(fetch::summarize(ctx, &report))
}
