//! Running a batch of downloads with progress bars and a summary; shared by
//! `eso download`, `eso datalink --download`, `eso calselector --download` and `eso retrieve`.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use vo_auth::http::HttpClient;
use vo_download::{
    BatchReport, DownloadConfig, DownloadRequest, Downloader, Outcome, ProgressEvent,
};

use crate::context::Ctx;
use crate::exit;
use crate::output;

/// Downloads `requests` (labels are shown on the progress bars), `jobs` at a time.
pub async fn run_batch(
    ctx: &Ctx,
    client: &HttpClient,
    requests: Vec<DownloadRequest>,
    labels: Vec<String>,
    jobs: usize,
) -> anyhow::Result<BatchReport> {
    let config = DownloadConfig {
        concurrency: jobs.max(1),
        ..DownloadConfig::default()
    };
    let downloader = Downloader::new(client.for_downloads()?, config);
    let show = !ctx.global.no_progress && !ctx.global.quiet && std::io::stderr().is_terminal();
    let progress = show.then(|| Progress::new(requests.len(), labels));
    let sink = progress.as_ref().map(|p| {
        let p = p.clone();
        Arc::new(move |event: ProgressEvent| p.handle(event)) as vo_download::ProgressSink
    });
    let report = downloader.download_all(requests, sink).await;
    if let Some(p) = progress {
        p.finish();
    }
    Ok(report)
}

/// Prints the summary (done, skipped, failed with reasons) and returns the exit code:
/// 0 when everything is on disk, [`exit::PARTIAL`] when some files failed.
pub fn summarize(ctx: &Ctx, report: &BatchReport) -> ExitCode {
    let done: Vec<_> = report.done().collect();
    let skipped = report.skipped().count();
    let failed: Vec<_> = report.failed().collect();
    if !ctx.global.quiet {
        for d in &done {
            let how = if d.status == Outcome::Resumed {
                " (resumed)"
            } else {
                ""
            };
            eprintln!("  {} {}{how}", ctx.style.ok("ok"), d.path.display());
        }
    }
    for (item, err) in &failed {
        eprintln!(
            "  {} {}: {}",
            ctx.style.warn("failed"),
            item.url,
            output::escape(&without_url(&error_chain(err), item.url.as_ref()))
        );
    }
    let total_bytes: u64 = done.iter().map(|d| d.bytes).sum();
    if !ctx.global.quiet || !failed.is_empty() {
        eprintln!(
            "{} downloaded ({}), {} already present, {} failed",
            done.len(),
            human_bytes(total_bytes),
            skipped,
            failed.len()
        );
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::PARTIAL)
    }
}

/// An error and its sources as one sentence, like [`exit::describe`]: the reason a
/// download failed (a 404, a size mismatch ...) is in the sources, not the top message.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut last = out.clone();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !last.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        last = text;
        source = cause.source();
    }
    out
}

/// The failure line already starts with the URL: drop the copies of it inside the
/// messages ("download of URL failed: URL answered 404" reads "answered 404").
fn without_url(text: &str, url: &str) -> String {
    let cleaned = text
        .replace(&format!("download of {url} failed: "), "")
        .replace(&format!("{url} "), "");
    if cleaned.trim().is_empty() {
        text.to_owned()
    } else {
        cleaned
    }
}

/// `1.5 MB` style sizes.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// One overall bar plus one bar per active file.
#[derive(Clone)]
struct Progress {
    multi: MultiProgress,
    overall: ProgressBar,
    bars: Arc<Mutex<HashMap<usize, ProgressBar>>>,
    labels: Arc<Vec<String>>,
}

impl Progress {
    fn new(n_files: usize, labels: Vec<String>) -> Progress {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(n_files as u64));
        overall.set_style(
            ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} files {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        overall.set_prefix("total");
        Progress {
            multi,
            overall,
            bars: Arc::new(Mutex::new(HashMap::new())),
            labels: Arc::new(labels),
        }
    }

    fn handle(&self, event: ProgressEvent) {
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        match event {
            ProgressEvent::Started { id, total } => {
                let bar = bars.entry(id).or_insert_with(|| {
                    let bar = self.multi.add(ProgressBar::no_length());
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{msg:40!} [{bar:25}] {bytes}/{total_bytes} {bytes_per_sec}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                    );
                    bar.set_message(
                        self.labels
                            .get(id)
                            .map(|l| output::escape_cell(l))
                            .unwrap_or_default(),
                    );
                    bar
                });
                if let Some(total) = total {
                    bar.set_length(total);
                }
            }
            ProgressEvent::Advanced { id, bytes } => {
                if let Some(bar) = bars.get(&id) {
                    bar.set_position(bytes);
                }
            }
            ProgressEvent::Finished { id, .. } => {
                if let Some(bar) = bars.remove(&id) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                self.overall.inc(1);
            }
            _ => {}
        }
    }

    fn finish(&self) {
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }
}
