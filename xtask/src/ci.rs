//! `cargo xtask ci`: everything CI checks, in one command (what `.ci/run` runs).
//!
//! Steps: rustfmt, clippy with warnings as errors, the pure cores of vo-tap and vo-datalink
//! built without their `client` feature, the workspace tests, a fuzz smoke run,
//! `stilts votlint` over VOTables written by our writer, and the integration tests against a
//! local DaCHS. Every step runs even when an earlier one failed, so one run shows every
//! problem; the summary at the end lists each step's outcome and time.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{dachs, util};

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It ran and passed.
    Passed,
    /// It could not run here; the reason.
    Skipped(String),
    /// It failed; the reason.
    Failed(String),
}

type StepFn = fn() -> Result<Outcome>;

/// The steps, in order.
pub const STEPS: [(&str, StepFn); 7] = [
    ("fmt", fmt),
    ("clippy", clippy),
    ("layering", layering),
    ("test", test),
    ("fuzz smoke", fuzz_smoke),
    ("votlint", votlint),
    ("integration (DaCHS)", integration),
];

/// Runs every step, prints a summary, and fails if any step failed.
pub fn run_all() -> Result<()> {
    let started = Instant::now();
    let mut results = Vec::new();
    for (idx, (name, step)) in STEPS.iter().enumerate() {
        println!();
        println!("==> [{}/{}] {name}", idx + 1, STEPS.len());
        let step_started = Instant::now();
        let outcome = match step() {
            Ok(outcome) => outcome,
            Err(err) => Outcome::Failed(format!("{err:#}")),
        };
        let elapsed = step_started.elapsed();
        match &outcome {
            Outcome::Passed => println!("<== {name}: passed in {}", util::secs(elapsed)),
            Outcome::Skipped(why) => println!("<== {name}: skipped ({why})"),
            Outcome::Failed(why) => {
                println!("<== {name}: FAILED in {}: {why}", util::secs(elapsed))
            }
        }
        results.push((*name, outcome, elapsed));
    }
    println!();
    println!("==> ci summary ({} in all)", util::secs(started.elapsed()));
    for (name, outcome, elapsed) in &results {
        let (word, note) = match outcome {
            Outcome::Passed => ("passed ", String::new()),
            Outcome::Skipped(why) => ("skipped", format!(" ({why})")),
            Outcome::Failed(why) => ("FAILED ", format!(" ({})", first_line(why))),
        };
        println!("  {word} {name:<22} {:>8}{note}", util::secs(*elapsed));
    }
    let failed: Vec<&str> = results
        .iter()
        .filter(|(_, outcome, _)| matches!(outcome, Outcome::Failed(_)))
        .map(|(name, _, _)| *name)
        .collect();
    if failed.is_empty() {
        println!("ci: all steps passed or were skipped for the reason shown");
        Ok(())
    } else {
        bail!("ci failed: {}", failed.join(", "))
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

fn cargo_step(args: &[&str]) -> Result<Outcome> {
    util::run(util::cargo().args(args))?;
    Ok(Outcome::Passed)
}

fn fmt() -> Result<Outcome> {
    cargo_step(&["fmt", "--all", "--", "--check"])
}

fn clippy() -> Result<Outcome> {
    cargo_step(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])
}

/// The protocol crates' pure cores build without their `client` feature, that is without
/// reqwest and tokio (the house style's layering proof).
fn layering() -> Result<Outcome> {
    cargo_step(&[
        "check",
        "-p",
        "vo-tap",
        "-p",
        "vo-datalink",
        "--no-default-features",
    ])
}

fn test() -> Result<Outcome> {
    // The differential `.Z` tests compare with ncompress and gzip, and the writer tests run
    // STILTS votlint: install them first so that those tests run instead of skipping.
    if util::have("apt-get")
        && (util::is_root() || util::have("sudo"))
        && let Err(err) = util::apt_install(&["ncompress", "gzip", "stilts"])
    {
        println!("could not install test tools ({err:#}); their tests will skip");
    }
    cargo_step(&["test", "--workspace", "--no-fail-fast"])
}

/// Whether `cargo +nightly fuzz` is installed.
fn cargo_fuzz_available() -> bool {
    Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn fuzz_smoke() -> Result<Outcome> {
    let root = util::root();
    let fuzz_dir = root.join("fuzz");
    if !fuzz_dir.join("Cargo.toml").is_file() {
        return Ok(Outcome::Skipped("no fuzz/ crate in the workspace".into()));
    }
    if !cargo_fuzz_available() {
        println!(
            "cargo +nightly fuzz is not installed: the fuzz targets' corpora were replayed by \
             `cargo test --workspace` instead"
        );
        return Ok(Outcome::Skipped(
            "cargo-fuzz not installed; corpus replay tests covered the targets".into(),
        ));
    }
    let listed = util::output(
        Command::new("cargo")
            .args(["+nightly", "fuzz", "list"])
            .current_dir(&root),
    )?;
    let targets: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    if targets.is_empty() {
        return Ok(Outcome::Skipped("fuzz/ has no targets".into()));
    }
    for target in &targets {
        // libFuzzer writes new inputs into (and may reduce) the first corpus directory: give
        // it a scratch one, so the committed corpus is only read.
        let scratch = root.join("target").join("fuzz-scratch").join(target);
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("creating {}", scratch.display()))?;
        let committed = fuzz_dir.join("corpus").join(target);
        let mut cmd = Command::new("cargo");
        cmd.args(["+nightly", "fuzz", "run", target]).arg(&scratch);
        if committed.is_dir() {
            cmd.arg(&committed);
        }
        // A fixed seed and run count make the smoke run deterministic: CI gives the same
        // answer for the same code and corpus. Open-ended fuzzing belongs to longer runs
        // by hand (fuzz/README.md); whatever they find is committed to the corpus.
        cmd.args([
            "--",
            "-seed=1",
            "-runs=1500",
            "-max_total_time=120",
            "-rss_limit_mb=2048",
            "-timeout=10",
        ])
        .current_dir(&root);
        util::run(&mut cmd)?;
    }
    Ok(Outcome::Passed)
}

/// Runs `stilts votlint` on a file; returns (errors, warnings) as printed lines.
pub fn votlint_file(path: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let out = Command::new("stilts")
        .arg("votlint")
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .context("cannot run stilts")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let errors = text
        .lines()
        .filter(|line| line.starts_with("ERROR"))
        .map(str::to_owned)
        .collect();
    let warnings = text
        .lines()
        .filter(|line| line.starts_with("WARNING"))
        .map(str::to_owned)
        .collect();
    if !out.status.success() {
        bail!(
            "stilts votlint {} exited with {}",
            path.display(),
            out.status
        );
    }
    Ok((errors, warnings))
}

fn votlint() -> Result<Outcome> {
    let root = util::root();
    let example = root.join("crates/votable/examples/write_all.rs");
    if !example.is_file() {
        return Ok(Outcome::Skipped(
            "crates/votable/examples/write_all.rs (writes sample VOTables) does not exist yet"
                .into(),
        ));
    }
    if !util::have("stilts") {
        util::apt_install(&["stilts"])?;
    }
    let out_dir = root.join("target").join("votlint");
    if out_dir.exists() {
        std::fs::remove_dir_all(&out_dir)
            .with_context(|| format!("clearing {}", out_dir.display()))?;
    }
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    util::run(
        util::cargo()
            .args(["run", "-q", "-p", "votable", "--example", "write_all", "--"])
            .arg(&out_dir),
    )?;
    let mut files: Vec<_> = std::fs::read_dir(&out_dir)
        .with_context(|| format!("reading {}", out_dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "vot" || ext == "xml" || ext == "votable")
        })
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("write_all wrote no .vot file into {}", out_dir.display());
    }
    let mut failures = Vec::new();
    for file in &files {
        let (errors, warnings) = votlint_file(file)?;
        let name = file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "votlint {name}: {} error(s), {} warning(s)",
            errors.len(),
            warnings.len()
        );
        for line in errors.iter().chain(warnings.iter()).take(20) {
            println!("    {line}");
        }
        if !errors.is_empty() {
            failures.push(format!("{name}: {}", errors.len()));
        }
    }
    if failures.is_empty() {
        Ok(Outcome::Passed)
    } else {
        bail!("votlint errors in {}", failures.join(", "))
    }
}

fn integration() -> Result<Outcome> {
    if dachs::packages_with_dachs_tests(&util::root())?.is_empty() {
        return Ok(Outcome::Skipped("no crate has tests/dachs.rs".into()));
    }
    if !util::have("dachs") && !util::have("apt-get") {
        return Ok(Outcome::Skipped(
            "DaCHS not installed and no apt-get to install it (not Debian)".into(),
        ));
    }
    if !util::is_root() && !util::have("sudo") {
        return Ok(Outcome::Skipped(
            "DaCHS needs root to install and start, and sudo is missing".into(),
        ));
    }
    dachs::integration(dachs::rows_from_env()?)?;
    Ok(Outcome::Passed)
}
