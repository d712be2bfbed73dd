//! `cargo xtask dachs start|stop|status` and `cargo xtask integration`.
//!
//! The server recipe itself is the shell script `xtask/dachs/start-dachs.sh` (plus resource
//! descriptors and a data generator beside it): it installs GAVO DaCHS from Debian's packages
//! when missing, imports deterministic test data and starts the server on loopback.
//! This module runs it, and reads the server's state for `status`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::util;

/// The port DaCHS listens on unless `DACHS_PORT` says otherwise.
pub const DEFAULT_PORT: u16 = 18080;
/// Rows in the test catalogue `vocat.main` unless told otherwise.
pub const DEFAULT_ROWS: u64 = 5000;
/// DaCHS's own PID file.
pub const PIDFILE: &str = "/var/gavo/state/web.pid";

/// The base URL of the local server.
pub fn base_url() -> String {
    let port = std::env::var("DACHS_PORT")
        .ok()
        .and_then(|port| port.parse::<u16>().ok())
        .unwrap_or(DEFAULT_PORT);
    format!("http://127.0.0.1:{port}")
}

/// The directory holding the recipe (`xtask/dachs`).
pub fn recipe_dir() -> PathBuf {
    util::root().join("xtask").join("dachs")
}

/// What `status` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The PID from DaCHS's PID file, if that process is alive.
    pub pid: Option<u32>,
    /// Whether `/tap/availability` answered `available: true`.
    pub available: bool,
}

impl Status {
    /// Whether the server is usable.
    pub fn running(&self) -> bool {
        self.available
    }
}

/// Reads the PID file and asks the server for its availability.
pub fn status() -> Status {
    let pid = std::fs::read_to_string(PIDFILE)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .filter(|pid| Path::new(&format!("/proc/{pid}")).exists());
    Status {
        pid,
        available: available(&base_url()),
    }
}

/// Whether `{base}/tap/availability` says the service is available.
pub fn available(base: &str) -> bool {
    Command::new("curl")
        .args(["-sf", "--max-time", "5"])
        .arg(format!("{base}/tap/availability"))
        .stderr(Stdio::null())
        .output()
        .ok()
        .is_some_and(|out| {
            out.status.success()
                && String::from_utf8_lossy(&out.stdout).contains("<avl:available>true")
        })
}

/// Runs the start recipe (idempotent) and returns the base URL it printed.
pub fn start(rows: u64) -> Result<String> {
    if rows == 0 {
        bail!("--rows must be at least 1");
    }
    let script = recipe_dir().join("start-dachs.sh");
    if !util::have("apt-get") && !util::have("dachs") {
        bail!(
            "DaCHS is not installed and this is not a Debian machine (no apt-get): \
             install GAVO DaCHS by hand, then run `cargo xtask dachs start`"
        );
    }
    let mut cmd = util::as_root("bash")?;
    cmd.arg(&script)
        .env("DACHS_ROWS", rows.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    eprintln!("$ {}", util::display(&cmd));
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {}", script.display()))?;
    if !out.status.success() {
        bail!("{} failed with {}", script.display(), out.status);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let url = stdout
        .lines()
        .rev()
        .find(|line| line.starts_with("http"))
        .map(str::to_owned)
        .unwrap_or_else(base_url);
    Ok(url)
}

/// Runs the stop recipe.
pub fn stop(with_postgres: bool) -> Result<()> {
    let script = recipe_dir().join("stop-dachs.sh");
    let mut cmd = util::as_root("bash")?;
    cmd.arg(&script).stdin(Stdio::null());
    if with_postgres {
        cmd.arg("--with-postgres");
    }
    util::run(&mut cmd)
}

/// `cargo xtask dachs <start|stop|status> [--rows N] [--with-postgres]`.
pub fn cli(args: &[String]) -> Result<()> {
    let sub = args.first().map(String::as_str).unwrap_or("status");
    let mut rows = rows_from_env()?;
    let mut with_postgres = false;
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--rows" => {
                let value = rest.next().context("--rows wants a number")?;
                rows = parse_rows(value)?;
            }
            "--with-postgres" => with_postgres = true,
            other => {
                if let Some(value) = other.strip_prefix("--rows=") {
                    rows = parse_rows(value)?;
                } else {
                    bail!("unknown argument {other:?} for `cargo xtask dachs {sub}`");
                }
            }
        }
    }
    match sub {
        "start" => {
            let url = start(rows)?;
            println!("{url}");
            Ok(())
        }
        "stop" => stop(with_postgres),
        "status" => {
            let st = status();
            let url = base_url();
            match (st.available, st.pid) {
                (true, Some(pid)) => println!("DaCHS is running (pid {pid}) at {url}"),
                (true, None) => println!("DaCHS answers at {url} (no live pid in {PIDFILE})"),
                (false, Some(pid)) => {
                    println!(
                        "DaCHS process {pid} is alive but {url}/tap/availability does not answer"
                    )
                }
                (false, None) => println!("DaCHS is not running (would be at {url})"),
            }
            Ok(())
        }
        other => bail!("unknown dachs command {other:?}: use start, stop or status"),
    }
}

/// The row count from `DACHS_ROWS`, or the default.
pub fn rows_from_env() -> Result<u64> {
    match std::env::var("DACHS_ROWS") {
        Ok(value) if !value.is_empty() => parse_rows(&value),
        _ => Ok(DEFAULT_ROWS),
    }
}

fn parse_rows(value: &str) -> Result<u64> {
    let rows: u64 = value
        .replace('_', "")
        .parse()
        .with_context(|| format!("row count {value:?} is not a number"))?;
    if rows == 0 {
        bail!("row count must be at least 1");
    }
    Ok(rows)
}

/// Packages (by name) whose crate has an integration test file `tests/dachs.rs`.
pub fn packages_with_dachs_tests(root: &Path) -> Result<Vec<String>> {
    let mut packages = Vec::new();
    let crates_dir = root.join("crates");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&crates_dir)
        .with_context(|| format!("reading {}", crates_dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    dirs.sort();
    for dir in dirs {
        if !dir.join("tests").join("dachs.rs").is_file() {
            continue;
        }
        let manifest = dir.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("reading {}", manifest.display()))?;
        let name = package_name(&text)
            .with_context(|| format!("no package name in {}", manifest.display()))?;
        packages.push(name);
    }
    Ok(packages)
}

/// The `name` of the `[package]` table of a Cargo.toml.
pub fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if in_package
            && let Some(value) = line.strip_prefix("name")
            && let Some(value) = value.trim_start().strip_prefix('=')
        {
            return Some(value.trim().trim_matches('"').to_owned());
        }
    }
    None
}

/// `cargo xtask integration`: runs the `tests/dachs.rs` tests against a local DaCHS, starting
/// it if needed and stopping it afterwards only if it was not running before.
pub fn integration(rows: u64) -> Result<()> {
    let root = util::root();
    let packages = packages_with_dachs_tests(&root)?;
    if packages.is_empty() {
        println!("no crate has tests/dachs.rs yet: no integration tests to run");
        return Ok(());
    }
    let was_running = status().running();
    if was_running {
        eprintln!("DaCHS already running; making sure it is up to date");
    } else {
        eprintln!("DaCHS not running; starting it for the integration tests");
    }
    let url = start(rows)?;
    let mut cmd = util::cargo();
    cmd.arg("test");
    for package in &packages {
        cmd.args(["-p", package]);
    }
    cmd.args(["--test", "dachs"]).env("VO_DACHS_URL", &url);
    let result = util::run(&mut cmd);
    if !was_running {
        eprintln!("stopping DaCHS again (it was not running before)");
        if let Err(err) = stop(false) {
            eprintln!("warning: could not stop DaCHS: {err:#}");
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names() {
        let manifest =
            "[package]\nname = \"vo-tap\"\nversion = \"0.1.0\"\n\n[dependencies]\nname = \"x\"\n";
        assert_eq!(package_name(manifest).as_deref(), Some("vo-tap"));
        assert_eq!(package_name("[dependencies]\nname = \"x\"\n"), None);
    }

    #[test]
    fn rows_parse() {
        assert_eq!(parse_rows("1_000_000").unwrap(), 1_000_000);
        assert!(parse_rows("0").is_err());
        assert!(parse_rows("many").is_err());
    }
}
