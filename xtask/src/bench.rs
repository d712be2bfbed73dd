//! `cargo xtask bench [votable|tap|download] [--rows N] [--mb N]`: our code against its
//! baselines, side by side in one run, with a table of ratios.
//!
//! - `votable`: reading ObsCore-like files (TABLEDATA and BINARY2, written by the votable
//!   crate's `gen_obscore` example) with our streaming reader and in-memory parser, the
//!   crates.io `votable` 0.7 crate (row iterator and in-memory parse), astropy.io.votable,
//!   and two floors: a memchr byte scan and a plain base64 decode of the BINARY2 stream.
//! - `tap`: `eso query` against `pyvo` and `stilts tapquery`, on the local DaCHS.
//! - `download`: `eso download` against `curl`, from a local `python3 -m http.server`.
//!
//! Baselines are installed on demand: a Python venv under `target/bench-venv`, small cargo
//! projects under `target/bench-baselines`. A missing tool skips its row with the reason.
//! Each command runs once under `/usr/bin/time -v` (wall, user, sys, peak RSS) when present.
//! `ESO_BIN=path` uses an existing `eso` binary instead of building one in release.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{dachs, util};

/// What one run cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct Measurement {
    /// Wall-clock time.
    pub wall: Duration,
    /// User CPU seconds, if known.
    pub user: Option<f64>,
    /// System CPU seconds, if known.
    pub sys: Option<f64>,
    /// Peak resident set size in KiB, if known.
    pub max_rss_kib: Option<u64>,
}

impl Measurement {
    /// User plus system CPU seconds, if both are known.
    pub fn cpu(&self) -> Option<f64> {
        Some(self.user? + self.sys?)
    }
}

/// One row of a result table.
#[derive(Debug, Clone)]
pub struct BenchRow {
    /// Group (e.g. the serialization); ratios compare within a group.
    pub group: String,
    /// What ran.
    pub name: String,
    /// The cost, or why it did not run.
    pub result: Result<Measurement, String>,
    /// Whether this row is the reference of its group (ratio 1.00).
    pub reference: bool,
}

/// Parses the report of GNU time's `-v`.
pub fn parse_gnu_time(report: &str) -> (Option<f64>, Option<f64>, Option<u64>) {
    let mut user = None;
    let mut sys = None;
    let mut rss = None;
    for line in report.lines() {
        let line = line.trim();
        if let Some(value) = line.strip_prefix("User time (seconds):") {
            user = value.trim().parse().ok();
        } else if let Some(value) = line.strip_prefix("System time (seconds):") {
            sys = value.trim().parse().ok();
        } else if let Some(value) = line.strip_prefix("Maximum resident set size (kbytes):") {
            rss = value.trim().parse().ok();
        }
    }
    (user, sys, rss)
}

/// Runs a command once and measures it; its stdout is returned for sanity checks.
pub fn measure(
    program: &Path,
    args: &[String],
    cwd: Option<&Path>,
) -> Result<(Measurement, String)> {
    let gnu_time = Path::new("/usr/bin/time");
    let use_time = gnu_time.is_file();
    let mut cmd = if use_time {
        let mut cmd = Command::new(gnu_time);
        cmd.arg("-v").arg(program);
        cmd
    } else {
        Command::new(program)
    };
    cmd.args(args).stdin(Stdio::null());
    if let Some(cwd) = cwd {
        cmd.current_dir(cwd);
    }
    let started = Instant::now();
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {}", program.display()))?;
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        let tail: Vec<&str> = stderr
            .lines()
            .filter(|line| !line.starts_with('\t'))
            .collect();
        bail!(
            "{} failed with {}: {}",
            program.display(),
            out.status,
            tail.join(" | ").chars().take(400).collect::<String>()
        );
    }
    let (user, sys, max_rss_kib) = if use_time {
        parse_gnu_time(&stderr)
    } else {
        (None, None, None)
    };
    Ok((
        Measurement {
            wall,
            user,
            sys,
            max_rss_kib,
        },
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    ))
}

/// Renders rows as a table with ratios of wall time to the reference row of each group.
pub fn render_table(rows: &[BenchRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:<34} {:>9} {:>8} {:>8} {:>10} {:>8} {:>8}",
        "group", "what", "wall s", "user s", "sys s", "peak MiB", "wall x", "cpu x"
    );
    let _ = writeln!(out, "{}", "-".repeat(102));
    for row in rows {
        let reference = rows
            .iter()
            .find(|other| other.group == row.group && other.reference)
            .and_then(|other| other.result.as_ref().ok());
        let reference_wall = reference.map(|measurement| measurement.wall.as_secs_f64());
        let reference_cpu = reference.and_then(Measurement::cpu);
        match &row.result {
            Ok(measurement) => {
                let wall = measurement.wall.as_secs_f64();
                let opt = |value: Option<f64>| value.map_or("-".to_owned(), |v| format!("{v:.2}"));
                let ratio = |value: Option<f64>, reference: Option<f64>| match (value, reference) {
                    (Some(value), Some(reference)) if reference > 0.0 => {
                        format!("{:.2}", value / reference)
                    }
                    _ => "-".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "{:<10} {:<34} {:>9.3} {:>8} {:>8} {:>10} {:>8} {:>8}",
                    row.group,
                    row.name,
                    wall,
                    opt(measurement.user),
                    opt(measurement.sys),
                    measurement
                        .max_rss_kib
                        .map_or("-".to_owned(), |kib| format!("{:.1}", kib as f64 / 1024.0)),
                    ratio(Some(wall), reference_wall),
                    ratio(measurement.cpu(), reference_cpu)
                );
            }
            Err(why) => {
                let _ = writeln!(out, "{:<10} {:<34} skipped: {why}", row.group, row.name);
            }
        }
    }
    out
}

fn bench_dir() -> PathBuf {
    util::root().join("target").join("bench")
}

fn baselines_dir() -> PathBuf {
    util::root().join("target").join("bench-baselines")
}

/// Makes (once) a venv under `target/bench-venv` with the given pip packages; returns its python.
pub fn venv_with(packages: &[&str]) -> Result<PathBuf> {
    let venv = util::root().join("target").join("bench-venv");
    let python = venv.join("bin").join("python");
    if !python.is_file() {
        let base = util::which("python3").context("python3 is not installed")?;
        let created = Command::new(&base).args(["-m", "venv"]).arg(&venv).status();
        if !created.is_ok_and(|status| status.success()) {
            util::apt_install(&["python3-venv"])?;
            util::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        }
    }
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| {
            !Command::new(&python)
                .args(["-c", &format!("import {}", package.replace('-', "_"))])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        })
        .collect();
    if !missing.is_empty() {
        util::run(
            Command::new(&python)
                .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
                .args(&missing),
        )?;
    }
    Ok(python)
}

/// Writes a small standalone cargo project (its own `[workspace]`) and builds it in release;
/// returns the path of its binary.
fn build_harness(name: &str, dependencies: &str, main_rs: &str) -> Result<PathBuf> {
    let dir = baselines_dir().join(name);
    std::fs::create_dir_all(dir.join("src"))
        .with_context(|| format!("creating {}", dir.display()))?;
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\n{dependencies}\n[workspace]\n\n[profile.release]\ndebug = false\n"
    );
    write_if_changed(&dir.join("Cargo.toml"), &manifest)?;
    write_if_changed(&dir.join("src").join("main.rs"), main_rs)?;
    let target_dir = baselines_dir().join("target");
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(["build", "--release", "-q", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir);
    eprintln!("$ {}", util::display(&cmd));
    let out = cmd.output().context("cannot run cargo")?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|line| line.starts_with("error"))
            .take(3)
            .collect();
        bail!("cargo build of {name} failed: {}", errors.join(" | "));
    }
    Ok(target_dir.join("release").join(name))
}

fn write_if_changed(path: &Path, contents: &str) -> Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

const OURS_MAIN: &str = r#"//! Benchmark harness for the workspace's votable crate (generated by cargo xtask bench).
use std::fs::File;
use std::io::{BufReader, Read};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().ok_or("usage: MODE FILE")?;
    let path = args.next().ok_or("usage: MODE FILE")?;
    match mode.as_str() {
        "stream" => {
            let input = BufReader::with_capacity(1 << 16, File::open(&path)?);
            let mut reader = votable::Reader::new(input)?;
            let mut row = votable::Row::new();
            let (mut rows, mut cells, mut non_null, mut sum) = (0u64, 0u64, 0u64, 0f64);
            while reader.read_row(&mut row)? {
                rows += 1;
                for value in row.values() {
                    cells += 1;
                    if !value.is_null() {
                        non_null += 1;
                    }
                    if let Some(x) = value.as_f64() {
                        sum += x;
                    }
                }
            }
            println!("rows={rows} cells={cells} non_null={non_null} sum={sum:.3}");
        }
        "parse" => {
            let bytes = std::fs::read(&path)?;
            let vot = votable::parse(&bytes)?;
            let table = vot.first_table().ok_or("no table")?;
            let (mut cells, mut non_null) = (0u64, 0u64);
            for r in 0..table.nrows() {
                for c in 0..table.ncols() {
                    cells += 1;
                    if !table.value(r, c).is_null() {
                        non_null += 1;
                    }
                }
            }
            println!("rows={} cells={cells} non_null={non_null}", table.nrows());
        }
        "memchr" => {
            let mut input = File::open(&path)?;
            let mut buf = vec![0u8; 1 << 20];
            let mut count = 0usize;
            loop {
                let n = input.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                count += memchr::memchr_iter(b'<', &buf[..n]).count();
            }
            println!("lt={count}");
        }
        "base64" => {
            use base64::Engine as _;
            let bytes = std::fs::read(&path)?;
            let start = memchr::memmem::find(&bytes, b"<STREAM").ok_or("no STREAM")?;
            let open_end = start + memchr::memchr(b'>', &bytes[start..]).ok_or("bad STREAM")? + 1;
            let close = open_end + memchr::memmem::find(&bytes[open_end..], b"</STREAM>").ok_or("no /STREAM")?;
            let clean: Vec<u8> = bytes[open_end..close].iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
            let decoded = base64::engine::general_purpose::STANDARD.decode(&clean)?;
            println!("decoded={}", decoded.len());
        }
        other => return Err(format!("unknown mode {other}").into()),
    }
    Ok(())
}
"#;

const CRATE07_MAIN: &str = r#"//! Benchmark harness for the crates.io votable 0.7 crate (generated by cargo xtask bench).
use std::fs::File;
use std::io::BufReader;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().ok_or("usage: MODE FILE")?;
    let path = args.next().ok_or("usage: MODE FILE")?;
    match mode.as_str() {
        "stream" => {
            let input = BufReader::with_capacity(1 << 16, File::open(&path)?);
            let mut it = votable::iter::SimpleVOTableRowIterator::from_reader(input)
                .map_err(|e| format!("{e:?}"))?;
            let (mut rows, mut cells) = (0u64, 0u64);
            for row in it.to_row_value_iter() {
                let row = row.map_err(|e| format!("{e:?}"))?;
                rows += 1;
                cells += row.len() as u64;
            }
            println!("rows={rows} cells={cells}");
        }
        "parse" => {
            let vot = votable::votable::VOTableWrapper::<votable::impls::mem::InMemTableDataRows>::from_ivoa_xml_file(&path)
                .map_err(|e| format!("{e:?}"))?;
            drop(vot);
            println!("parsed");
        }
        other => return Err(format!("unknown mode {other}").into()),
    }
    Ok(())
}
"#;

const ASTROPY_SCRIPT: &str = r#"import sys
from astropy.io.votable import parse
table = parse(sys.argv[1]).get_first_table()
arr = table.array
cells = 0
for name in arr.dtype.names:
    col = arr[name]
    cells += len(col)
print("rows=%d cells=%d" % (len(arr), cells))
"#;

/// A program with its arguments, or why it cannot run.
type Invocation = Result<(PathBuf, Vec<String>), String>;

/// `cargo xtask bench votable`.
pub fn votable(rows: u64) -> Result<Vec<BenchRow>> {
    let root = util::root();
    if !root
        .join("crates/votable/examples/gen_obscore.rs")
        .is_file()
    {
        bail!("crates/votable/examples/gen_obscore.rs is missing: cannot generate the input files");
    }
    let dir = bench_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    util::run(util::cargo().args([
        "build",
        "--release",
        "-q",
        "-p",
        "votable",
        "--example",
        "gen_obscore",
    ]))?;
    let generator = root.join("target/release/examples/gen_obscore");
    let mut files = Vec::new();
    for ser in ["tabledata", "binary2"] {
        let path = dir.join(format!("obscore_{rows}_{ser}.vot"));
        if !path.is_file() {
            eprintln!("generating {} ({rows} rows, {ser})", path.display());
            let out = std::fs::File::create(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            let status = Command::new(&generator)
                .args([rows.to_string(), ser.to_owned()])
                .stdout(out)
                .status()
                .context("running gen_obscore")?;
            if !status.success() {
                let _ = std::fs::remove_file(&path);
                bail!("gen_obscore {rows} {ser} failed with {status}");
            }
        }
        let size = std::fs::metadata(&path).map(|meta| meta.len()).unwrap_or(0);
        eprintln!(
            "input {} ({:.1} MiB)",
            path.display(),
            size as f64 / 1_048_576.0
        );
        files.push((ser, path));
    }

    let votable_path = root.join("crates/votable");
    let ours = build_harness(
        "bench-votable-ours",
        &format!(
            "votable = {{ path = {:?} }}\nmemchr = \"2.7\"\nbase64 = \"0.22\"\n",
            votable_path.display().to_string()
        ),
        OURS_MAIN,
    )
    .map_err(|err| format!("{err:#}"));
    let crate07 = build_harness(
        "bench-votable-crate07",
        // votable 0.7.0 reaches into serde's private module of serde 1.0.228 exactly.
        "votable = \"0.7\"\nserde = \"=1.0.228\"\n",
        CRATE07_MAIN,
    )
    .map_err(|err| format!("building the votable 0.7 harness: {err:#}"));
    let astropy = venv_with(&["astropy"]).map_err(|err| format!("astropy venv: {err:#}"));
    let script = dir.join("astropy_read.py");
    write_if_changed(&script, ASTROPY_SCRIPT)?;

    let mut results = Vec::new();
    for (ser, path) in &files {
        let file_arg = path.display().to_string();
        let mut cases: Vec<(String, Invocation, bool)> = vec![
            (
                "ours: streaming Reader".into(),
                ours.clone()
                    .map(|bin| (bin, vec!["stream".into(), file_arg.clone()])),
                true,
            ),
            (
                "ours: in-memory parse".into(),
                ours.clone()
                    .map(|bin| (bin, vec!["parse".into(), file_arg.clone()])),
                false,
            ),
            (
                "votable 0.7: row iterator".into(),
                crate07
                    .clone()
                    .map(|bin| (bin, vec!["stream".into(), file_arg.clone()])),
                false,
            ),
            (
                "votable 0.7: in-memory parse".into(),
                crate07
                    .clone()
                    .map(|bin| (bin, vec!["parse".into(), file_arg.clone()])),
                false,
            ),
            (
                "astropy.io.votable parse".into(),
                astropy
                    .clone()
                    .map(|python| (python, vec![script.display().to_string(), file_arg.clone()])),
                false,
            ),
            (
                "floor: memchr scan for '<'".into(),
                ours.clone()
                    .map(|bin| (bin, vec!["memchr".into(), file_arg.clone()])),
                false,
            ),
        ];
        if *ser == "binary2" {
            cases.push((
                "floor: base64 decode of STREAM".into(),
                ours.clone()
                    .map(|bin| (bin, vec!["base64".into(), file_arg.clone()])),
                false,
            ));
        }
        for (name, command, reference) in cases {
            eprintln!("running {ser}: {name}");
            let result = command.and_then(|(program, args)| {
                measure(&program, &args, None)
                    .map(|(measurement, stdout)| {
                        eprintln!("    {stdout}");
                        measurement
                    })
                    .map_err(|err| format!("{err:#}"))
            });
            results.push(BenchRow {
                group: (*ser).to_owned(),
                name,
                result,
                reference,
            });
        }
    }
    Ok(results)
}

/// `cargo xtask bench tap`: `eso query` vs pyvo vs `stilts tapquery` against the local DaCHS.
pub fn tap(rows: u64) -> Result<Vec<BenchRow>> {
    let base = dachs::start(rows)?;
    let tap_url = format!("{base}/tap");
    let adql = "SELECT * FROM vocat.main";
    let maxrec = (rows + 1).to_string();
    let dir = bench_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let group = format!("tap {rows}");
    let mut results = Vec::new();

    let eso = eso_binary(&["query", "--help"]);
    let out_eso = dir.join("tap_eso.csv");
    results.push(BenchRow {
        group: group.clone(),
        name: "eso query --sync --format csv".into(),
        result: eso.and_then(|bin| {
            let args: Vec<String> = [
                "query",
                "--service",
                &tap_url,
                "--sync",
                "--maxrec",
                &maxrec,
                "--format",
                "csv",
                "-o",
            ]
            .iter()
            .map(|arg| (*arg).to_owned())
            .chain([out_eso.display().to_string(), adql.to_owned()])
            .collect();
            measure(&bin, &args, None)
                .map(|(m, _)| m)
                .map_err(|err| format!("{err:#}"))
        }),
        reference: true,
    });

    let pyvo_script = dir.join("pyvo_query.py");
    write_if_changed(
        &pyvo_script,
        "import sys\nimport pyvo\nservice = pyvo.dal.TAPService(sys.argv[1])\n\
         result = service.run_sync(sys.argv[2], maxrec=int(sys.argv[3]))\n\
         table = result.to_table()\nprint('rows=%d' % len(table))\n",
    )?;
    results.push(BenchRow {
        group: group.clone(),
        name: "pyvo run_sync + to_table".into(),
        result: venv_with(&["pyvo"])
            .map_err(|err| format!("pyvo venv: {err:#}"))
            .and_then(|python| {
                let args = vec![
                    pyvo_script.display().to_string(),
                    tap_url.clone(),
                    adql.to_owned(),
                    maxrec.clone(),
                ];
                measure(&python, &args, None)
                    .map(|(m, _)| m)
                    .map_err(|err| format!("{err:#}"))
            }),
        reference: false,
    });

    let stilts = if util::have("stilts") {
        Ok(PathBuf::from("stilts"))
    } else {
        util::apt_install(&["stilts"])
            .map(|()| PathBuf::from("stilts"))
            .map_err(|err| format!("stilts: {err:#}"))
    };
    results.push(BenchRow {
        group,
        name: "stilts tapquery ofmt=csv".into(),
        result: stilts.and_then(|stilts| {
            let program = util::which(&stilts.display().to_string()).unwrap_or(stilts);
            let args = vec![
                "tapquery".to_owned(),
                format!("tapurl={tap_url}"),
                format!("adql={adql}"),
                format!("maxrec={maxrec}"),
                "sync=true".to_owned(),
                "ofmt=csv".to_owned(),
                format!("out={}", dir.join("tap_stilts.csv").display()),
            ];
            measure(&program, &args, None)
                .map(|(m, _)| m)
                .map_err(|err| format!("{err:#}"))
        }),
        reference: false,
    });
    Ok(results)
}

/// The `eso` binary (`$ESO_BIN`, else built in release), if `probe` (e.g. `query --help`) works.
fn eso_binary(probe: &[&str]) -> Result<PathBuf, String> {
    let bin = match std::env::var_os("ESO_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => {
            util::run(util::cargo().args(["build", "--release", "-q", "-p", "eso-cli"]))
                .map_err(|err| format!("building eso: {err:#}"))?;
            util::root().join("target/release/eso")
        }
    };
    let works = Command::new(&bin)
        .args(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if works {
        Ok(bin)
    } else {
        Err(format!("the eso binary has no `{}` command yet", probe[0]))
    }
}

/// A child process killed when dropped (the local file server).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Writes `megabytes` MiB of pseudo-random bytes (seeded, so reruns reuse the file).
fn write_blob(path: &Path, megabytes: u64, seed: u64) -> Result<()> {
    if path.is_file() {
        return Ok(());
    }
    eprintln!("writing {} ({megabytes} MiB)", path.display());
    let mut data = Vec::with_capacity(1 << 20);
    let mut state: u64 = 0x2545_f491_4f6c_dd1d ^ seed;
    while data.len() < 1 << 20 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    let mut file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    for _ in 0..megabytes {
        std::io::Write::write_all(&mut file, &data)?;
    }
    Ok(())
}

/// How many files, and how big, the batch group of the download benchmark uses.
const BATCH_FILES: usize = 20;
const BATCH_FILE_MB: u64 = 50;

/// `cargo xtask bench download`: `eso download` vs `curl` from a local HTTP server:
/// one large file (`--mb`, 1024 by default), and 20 files of 50 MiB fetched by `eso download`
/// in one command (`-j 4`) against curl run on them one after another.
pub fn download(megabytes: u64) -> Result<Vec<BenchRow>> {
    let dir = bench_dir().join("download");
    let served = dir.join("served");
    std::fs::create_dir_all(&served).with_context(|| format!("creating {}", served.display()))?;
    let name = format!("blob_{megabytes}MiB.bin");
    write_blob(&served.join(&name), megabytes, 0)?;
    let batch_names: Vec<String> = (0..BATCH_FILES)
        .map(|i| format!("part_{i:02}_{BATCH_FILE_MB}MiB.bin"))
        .collect();
    for (i, batch_name) in batch_names.iter().enumerate() {
        write_blob(&served.join(batch_name), BATCH_FILE_MB, i as u64 + 1)?;
    }
    let port = free_port()?;
    let python = util::which("python3").context("python3 is not installed")?;
    let server = KillOnDrop(
        Command::new(python)
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(&served)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting python3 -m http.server")?,
    );
    let base = format!("http://127.0.0.1:{port}");
    let url = format!("{base}/{name}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while Command::new("curl")
        .args(["-sf", "-I", "-o", "/dev/null", &url])
        .status()
        .map_or(true, |status| !status.success())
    {
        if Instant::now() > deadline {
            bail!("the local file server did not answer at {url}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let as_text = |err: anyhow::Error| format!("{err:#}");
    let mut results = Vec::new();

    // One large file.
    let group = format!("{megabytes} MiB");
    let curl_out = dir.join("curl_out.bin");
    results.push(BenchRow {
        group: group.clone(),
        name: "curl -o".into(),
        result: util::which("curl")
            .context("curl is not installed")
            .map_err(as_text)
            .and_then(|curl| {
                let args = vec![
                    "-sS".to_owned(),
                    "-o".to_owned(),
                    curl_out.display().to_string(),
                    url.clone(),
                ];
                measure(&curl, &args, None).map(|(m, _)| m).map_err(as_text)
            }),
        reference: true,
    });
    let eso_dir = dir.join("eso_out");
    results.push(BenchRow {
        group,
        name: "eso download --overwrite".into(),
        result: eso_binary(&["download", "--help"]).and_then(|bin| {
            let args = vec![
                "download".to_owned(),
                url.clone(),
                "-d".to_owned(),
                eso_dir.display().to_string(),
                "--overwrite".to_owned(),
                "--no-progress".to_owned(),
            ];
            measure(&bin, &args, None).map(|(m, _)| m).map_err(as_text)
        }),
        reference: false,
    });

    // Twenty files: curl one after another (a shell loop) against one `eso download -j 4`.
    let group = format!("{BATCH_FILES} x {BATCH_FILE_MB} MiB");
    let urls: Vec<String> = batch_names.iter().map(|n| format!("{base}/{n}")).collect();
    let curl_dir = dir.join("curl_batch");
    std::fs::create_dir_all(&curl_dir)?;
    let script = urls
        .iter()
        .enumerate()
        .map(|(i, u)| {
            format!(
                "curl -sS -o '{}/{i}.bin' '{u}' || exit 1",
                curl_dir.display()
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    results.push(BenchRow {
        group: group.clone(),
        name: "curl, one file after another".into(),
        result: util::which("sh")
            .context("sh is not installed")
            .map_err(as_text)
            .and_then(|sh| {
                measure(&sh, &["-c".to_owned(), script.clone()], None)
                    .map(|(m, _)| m)
                    .map_err(as_text)
            }),
        reference: true,
    });
    let eso_batch = dir.join("eso_batch");
    results.push(BenchRow {
        group,
        name: "eso download -j 4 --overwrite".into(),
        result: eso_binary(&["download", "--help"]).and_then(|bin| {
            let mut args = vec!["download".to_owned()];
            args.extend(urls.iter().cloned());
            args.extend([
                "-d".to_owned(),
                eso_batch.display().to_string(),
                "-j".to_owned(),
                "4".to_owned(),
                "--overwrite".to_owned(),
                "--no-progress".to_owned(),
            ]);
            measure(&bin, &args, None).map(|(m, _)| m).map_err(as_text)
        }),
        reference: false,
    });
    drop(server);
    Ok(results)
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr().context("reading the port")?.port())
}

/// `cargo xtask bench [votable|tap|download] [--rows N] [--mb N]`.
pub fn cli(args: &[String]) -> Result<()> {
    let mut which: Vec<String> = Vec::new();
    let mut rows: Option<u64> = None;
    let mut megabytes: u64 = 1024;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--rows" => rows = Some(parse_count(iter.next(), "--rows")?),
            "--mb" => megabytes = parse_count(iter.next(), "--mb")?,
            "votable" | "tap" | "download" => which.push(arg.clone()),
            other => {
                bail!("unknown argument {other:?}: use votable, tap, download, --rows N, --mb N")
            }
        }
    }
    if which.is_empty() {
        which = vec!["votable".into(), "tap".into(), "download".into()];
    }
    let mut all = Vec::new();
    for bench in &which {
        println!("==> bench {bench}");
        let rows_result = match bench.as_str() {
            "votable" => votable(rows.unwrap_or(1_000_000)),
            "tap" => tap(rows.unwrap_or(dachs::DEFAULT_ROWS)),
            _ => download(megabytes),
        };
        match rows_result {
            Ok(rows) => {
                println!("{}", render_table(&rows));
                all.extend(rows);
            }
            Err(err) => println!("bench {bench} could not run: {err:#}"),
        }
    }
    if which.len() > 1 {
        println!("==> all benchmarks\n{}", render_table(&all));
    }
    Ok(())
}

fn parse_count(value: Option<&String>, flag: &str) -> Result<u64> {
    let value = value.with_context(|| format!("{flag} wants a number"))?;
    let count: u64 = value
        .replace('_', "")
        .parse()
        .with_context(|| format!("{flag} {value:?} is not a number"))?;
    if count == 0 {
        bail!("{flag} must be at least 1");
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnu_time_report() {
        let report = "\tCommand being timed: \"x\"\n\tUser time (seconds): 1.25\n\
            \tSystem time (seconds): 0.10\n\tMaximum resident set size (kbytes): 20480\n";
        assert_eq!(
            parse_gnu_time(report),
            (Some(1.25), Some(0.10), Some(20480))
        );
        assert_eq!(parse_gnu_time(""), (None, None, None));
    }

    #[test]
    fn ratios_use_the_reference_row_of_the_group() {
        let measured = |secs: u64| {
            Ok(Measurement {
                wall: Duration::from_secs(secs),
                user: Some(1.0),
                sys: Some(0.5),
                max_rss_kib: Some(2048),
            })
        };
        let rows = vec![
            BenchRow {
                group: "td".into(),
                name: "ours".into(),
                result: measured(2),
                reference: true,
            },
            BenchRow {
                group: "td".into(),
                name: "astropy".into(),
                result: measured(10),
                reference: false,
            },
            BenchRow {
                group: "td".into(),
                name: "gone".into(),
                result: Err("not installed".into()),
                reference: false,
            },
        ];
        let table = render_table(&rows);
        let astropy = table.lines().find(|line| line.contains("astropy")).unwrap();
        assert!(astropy.contains(" 5.00 "), "{table}");
        assert!(astropy.trim_end().ends_with("1.00"), "{table}");
        assert!(astropy.contains("2.0"), "{table}");
        assert!(table.contains("skipped: not installed"), "{table}");
    }
}
