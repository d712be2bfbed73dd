//! End-to-end tests of the built `eso` binary against the offline demo archive.
//!
//! Each test starts its own [`DemoArchive`] on a tokio runtime of its own, with its own
//! temporary configuration (token cache) and working directories, so tests run in parallel.
//! The binary is run synchronously from the test thread while the runtime's workers serve the
//! archive. Outputs are snapshotted with insta after redacting what changes from run to run
//! (the port, temporary paths, job ids, times).
//!
//! When an output changes on purpose, update the snapshots with
//! `INSTA_UPDATE=always cargo test -p eso-cli --test cli` (or `cargo insta review`) and read
//! the diff of `tests/snapshots/` before committing it.

use std::borrow::BorrowMut;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use eso_demo::{DemoArchive, DemoConfig};
use tempfile::TempDir;

/// The recorded query of the demo archive (seed 000 notebook, section 2.2).
const SEED_QUERY: &str =
    "select top 2 * from dbo.raw where dp_cat='SCIENCE' and prog_id = '098.C-0739(C)'";
const FRAME_1: &str = "SPHER.2016-09-26T03:04:09.308";
const FRAME_2: &str = "SPHER.2016-09-26T03:04:09.496";
const NO_ASSOCIATION: &str = "SPHER.2016-09-26T02:58:40.001";
/// The processed calibrations (Raw2Master) of both SPHERE frames.
const CALIBRATIONS: [&str; 8] = [
    "M.SPHERE.2016-09-27T08:14:14.686",
    "M.SPHERE.2016-09-27T08:15:18.126",
    "M.SPHERE.2016-09-27T08:17:07.116",
    "M.SPHERE.2016-09-27T08:17:20.893",
    "M.SPHERE.2016-09-27T08:17:33.533",
    "M.SPHERE.2016-09-27T08:17:52.300",
    "M.SPHERE.2016-09-27T08:18:06.383",
    "M.SPHERE.2016-09-27T08:18:40.706",
];

/// Every subcommand path; each one's `--help` must show an example.
const SUBCOMMANDS: &[&[&str]] = &[
    &["login"],
    &["logout"],
    &["whoami"],
    &["query"],
    &["jobs"],
    &["jobs", "list"],
    &["jobs", "show"],
    &["jobs", "results"],
    &["jobs", "abort"],
    &["jobs", "delete"],
    &["tables"],
    &["datalink"],
    &["cutout"],
    &["ssa"],
    &["sia"],
    &["calselector"],
    &["retrieve"],
    &["download"],
    &["votable"],
    &["votable", "info"],
    &["votable", "convert"],
    &["demo"],
    &["completions"],
];

// ---------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------

/// One test's world: an archive, a token cache and a working directory, all private.
struct World {
    archive: Option<DemoArchive>,
    runtime: tokio::runtime::Runtime,
    /// `ESO_CONFIG_DIR` (and `HOME`, so that no real `~/.netrc` or cache is read).
    config: TempDir,
    /// The working directory of every command.
    work: TempDir,
    base: String,
}

impl World {
    fn new() -> World {
        World::with_config(DemoConfig::default())
    }

    fn with_config(config: DemoConfig) -> World {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let archive = runtime
            .block_on(DemoArchive::start(config))
            .expect("demo archive starts");
        let base = archive.base_url().to_string();
        World {
            archive: Some(archive),
            runtime,
            config: tempfile::Builder::new()
                .prefix("eso-cli-config-")
                .tempdir()
                .expect("temp dir"),
            work: tempfile::Builder::new()
                .prefix("eso-cli-work-")
                .tempdir()
                .expect("temp dir"),
            base,
        }
    }

    fn archive(&self) -> &DemoArchive {
        self.archive.as_ref().expect("archive running")
    }

    /// `eso` with a clean environment, without `--base-url`.
    fn bare(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_eso"));
        cmd.current_dir(self.work.path())
            .env("ESO_CONFIG_DIR", self.config.path())
            .env("HOME", self.config.path())
            .env("NETRC", self.config.path().join("no-netrc"))
            .env("NO_COLOR", "1")
            .env_remove("ESO_BASE_URL")
            .env_remove("ESO_USER")
            .env_remove("ESO_PASSWORD")
            .env_remove("RUST_LOG")
            .env_remove("COLUMNS")
            .env_remove("CI")
            .timeout(Duration::from_secs(60));
        cmd
    }

    /// `eso --base-url <archive> ARGS...`.
    fn eso(&self, args: &[&str]) -> Command {
        let mut cmd = self.bare();
        cmd.arg("--base-url").arg(&self.base).args(args);
        cmd
    }

    /// Logs in as the demo user (password on standard input).
    fn login(&self) {
        self.eso(&["login", "--user", "demo", "--password-stdin"])
            .write_stdin("demo\n")
            .assert()
            .success();
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.work.path().join(rel)
    }

    /// Replaces what changes between runs by stable placeholders.
    fn redact(&self, text: &str) -> String {
        let trimmed = self.base.trim_end_matches('/');
        let mut out = text
            .replace(&self.base, "[BASE]/")
            .replace(trimmed, "[BASE]")
            .replace(&self.config.path().display().to_string(), "[CONFIG]")
            .replace(&self.work.path().display().to_string(), "[WORK]");
        out = redact_uuids(&out);
        out = redact_hex(&out, 32, "[HASH]");
        out = redact_durations(&out);
        out
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(archive) = self.archive.take() {
            self.runtime.block_on(archive.shutdown());
        }
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(mut cmd: impl BorrowMut<Command>) -> Run {
    let output = cmd.borrow_mut().output().expect("eso runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn run_ok(cmd: impl BorrowMut<Command>) -> Run {
    let out = run(cmd);
    assert_eq!(
        out.code, 0,
        "expected success\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    out
}

/// `8-4-4-4-12` hexadecimal ids (UWS job ids) become `[UUID]`.
fn redact_uuids(text: &str) -> String {
    let groups = [8, 4, 4, 4, 12];
    let bytes = text.as_bytes();
    let len: usize = groups.iter().sum::<usize>() + groups.len() - 1;
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if i + len <= bytes.len() && text.is_char_boundary(i) && text.is_char_boundary(i + len) {
            let candidate = &bytes[i..i + len];
            let mut pos = 0;
            let mut ok = true;
            for (g, n) in groups.iter().enumerate() {
                if g > 0 {
                    ok &= candidate[pos] == b'-';
                    pos += 1;
                }
                ok &= candidate[pos..pos + n].iter().all(u8::is_ascii_hexdigit);
                pos += n;
            }
            if ok {
                out.push_str("[UUID]");
                i += len;
                continue;
            }
        }
        let c = text[i..].chars().next().expect("char at boundary");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Runs of exactly `n` hexadecimal digits (cache file hashes) become `placeholder`.
fn redact_hex(text: &str, n: usize, placeholder: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() == n {
            out.push_str(placeholder);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// `7h 59m` / `8h 00m` token lifetimes and `YYYY-MM-DD hh:mm:ss +zzzz` expiry times.
fn redact_durations(text: &str) -> String {
    text.lines()
        .map(|line| {
            if let Some(idx) = line.find("expires: ") {
                format!("{}expires: [TIME]", &line[..idx])
            } else if let Some(idx) = line.find("token valid for ") {
                let rest = &line[idx + "token valid for ".len()..];
                let end = rest.find(',').unwrap_or(rest.len());
                format!("{}token valid for [DURATION]{}", &line[..idx], &rest[end..])
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + if text.ends_with('\n') { "\n" } else { "" }
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

fn parse_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// Checks that an error message is one readable sentence, not a Rust panic or backtrace.
fn assert_clean_error(stderr: &str) {
    assert!(stderr.contains("error: "), "no error line in {stderr:?}");
    assert!(!stderr.contains("panicked"), "panic in {stderr:?}");
    assert!(
        !stderr.contains("RUST_BACKTRACE"),
        "backtrace hint in {stderr:?}"
    );
    assert!(
        !stderr.contains("Stack backtrace"),
        "backtrace in {stderr:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Help, version, completions, man page
// ---------------------------------------------------------------------------------------

#[test]
fn help_of_every_command_shows_an_example() {
    let world = World::new();
    let top = run_ok(world.bare().arg("--help"));
    assert!(top.stdout.contains("Example"), "{}", top.stdout);
    insta::assert_snapshot!("help", top.stdout);
    for path in SUBCOMMANDS {
        let out = run_ok(world.bare().args(*path).arg("--help"));
        assert!(
            out.stdout.contains("Example"),
            "`eso {} --help` shows no example:\n{}",
            path.join(" "),
            out.stdout
        );
    }
    // The top-level help lists every subcommand tested above (a new one needs an example too).
    let listed: Vec<&str> = top
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .collect();
    for name in &listed {
        assert!(
            SUBCOMMANDS.iter().any(|p| p[0] == *name),
            "subcommand {name} is not covered by this test"
        );
    }
    assert!(listed.len() >= 15, "too few commands listed: {listed:?}");
}

#[test]
fn version_completions_and_man_page() {
    let world = World::new();
    let version = run_ok(world.bare().arg("--version"));
    assert_eq!(
        version.stdout,
        format!("eso {}\n", env!("CARGO_PKG_VERSION"))
    );
    for (shell, marker) in [
        ("bash", "_eso()"),
        ("zsh", "#compdef eso"),
        ("fish", "complete -c eso"),
    ] {
        let out = run_ok(world.bare().args(["completions", shell]));
        assert!(
            out.stdout.len() > 1000 && out.stdout.contains(marker),
            "{shell} completions look wrong:\n{}",
            &out.stdout[..out.stdout.len().min(400)]
        );
        assert!(
            out.stdout.contains("calselector"),
            "{shell} completions lack subcommands"
        );
    }
    let man = run_ok(world.bare().arg("man"));
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.starts_with(".TH"),
        "{}",
        &man.stdout[..man.stdout.len().min(200)]
    );
    assert!(man.stdout.contains(".TH eso"), "no .TH header");
    assert!(man.stdout.contains(".SH NAME"));
    assert!(
        man.stdout.contains("\\-\\-base\\-url"),
        "global options missing from the man page"
    );
}

// ---------------------------------------------------------------------------------------
// Exit codes
// ---------------------------------------------------------------------------------------

#[test]
fn usage_errors_exit_2() {
    let world = World::new();
    let cases: &[&[&str]] = &[
        &[],
        &["--no-such-flag", "whoami"],
        &["query", "--no-such-flag", "x"],
        &["calselector"],
        &["retrieve"],
        &["votable", "convert", "x.vot"],
        &["completions", "tcsh-not-a-shell"],
        &["query", "x", "--format", "yaml"],
        &["query", "--sync", "--async", "x"],
        &["-v", "-q", "whoami"],
    ];
    for args in cases {
        let out = run(world.bare().args(*args));
        assert_eq!(out.code, 2, "eso {args:?}: {}", out.stderr);
        assert!(
            out.stdout.is_empty(),
            "eso {args:?} printed to stdout: {}",
            out.stdout
        );
        // `eso` alone prints the help to stderr; every other case one error line and a hint.
        assert!(
            out.stderr.starts_with("error:") || args.is_empty(),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("Usage:") || out.stderr.contains("--help"),
            "{}",
            out.stderr
        );
    }
    // Errors found after parsing, but still the user's mistake.
    for args in [
        vec!["download"],
        vec!["download", "not a dp_id"],
        vec!["jobs", "list", "--phase", "SLEEPING"],
        vec!["query", "--upload", "no-equals-sign", SEED_QUERY],
    ] {
        let out = run(world.eso(&args));
        assert_eq!(out.code, 2, "eso {args:?}: {}", out.stderr);
        assert_clean_error(&out.stderr);
    }
}

#[test]
fn there_is_no_password_flag() {
    let world = World::new();
    let out = run(world.eso(&["login", "--user", "demo", "--password", "demo"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--password"), "{}", out.stderr);
    assert!(
        !world.config.path().join("tokens").exists(),
        "a token was cached despite the usage error"
    );
    let help = run_ok(world.bare().args(["login", "--help"]));
    assert!(help.stdout.contains("--password-stdin"));
    assert!(
        !help
            .stdout
            .lines()
            .any(|l| l.trim_start().starts_with("--password ")),
        "{}",
        help.stdout
    );
}

#[test]
fn wrong_password_exits_3() {
    let world = World::new();
    let out = run(world
        .eso(&["login", "--user", "demo", "--password-stdin"])
        .write_stdin("not-the-password\n"));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_clean_error(&out.stderr);
    assert!(!out.stderr.contains("not-the-password"));
    assert!(out.stdout.is_empty());
    insta::assert_snapshot!("login_wrong_password", world.redact(&out.stderr));
    // Nothing was cached, so whoami says "not logged in" (an authentication failure).
    let whoami = run(world.eso(&["whoami"]));
    assert_eq!(whoami.code, 3, "{}", whoami.stderr);
    assert_clean_error(&whoami.stderr);
}

#[test]
fn partial_download_exits_4() {
    let world = World::new();
    world.login();
    let out = run(world.eso(&[
        "download",
        FRAME_1,
        "UNKNOWN.2016-09-26T00:00:00.000",
        "-d",
        "dl",
        "-j",
        "1",
    ]));
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(world.path("dl").join(format!("{FRAME_1}.fits.Z")).is_file());
    assert!(out.stderr.contains("1 downloaded"), "{}", out.stderr);
    assert!(out.stderr.contains("1 failed"), "{}", out.stderr);
    // The reason is given, not only "failed".
    assert!(out.stderr.contains("404"), "{}", out.stderr);
    insta::assert_snapshot!("download_partial", world.redact(&out.stderr));
    // No temporary or partial file is left behind.
    assert_eq!(
        files_in(&world.path("dl")),
        vec![format!("{FRAME_1}.fits.Z")]
    );
}

// ---------------------------------------------------------------------------------------
// Login, whoami, logout, global options
// ---------------------------------------------------------------------------------------

#[test]
fn login_whoami_logout() {
    let world = World::new();
    let login = run_ok(
        world
            .eso(&["login", "--user", "demo", "--password-stdin"])
            .write_stdin("demo\n"),
    );
    insta::assert_snapshot!("login", world.redact(&login.stdout));
    let tokens = files_in(&world.config.path().join("tokens"));
    assert_eq!(tokens.len(), 1, "{tokens:?}");

    // Global options before and after the subcommand.
    let before = run_ok(world.bare().args(["--base-url", &world.base, "whoami"]));
    let after = run_ok(world.bare().args(["whoami", "--base-url", &world.base]));
    assert_eq!(before.stdout, after.stdout);
    insta::assert_snapshot!("whoami", world.redact(&before.stdout));
    // The base URL also comes from the environment.
    let from_env = run_ok(world.bare().arg("whoami").env("ESO_BASE_URL", &world.base));
    assert_eq!(before.stdout, from_env.stdout);
    // --user after the subcommand selects the cached login of that user.
    run_ok(world.eso(&["whoami", "--user", "demo"]));

    let json = run_ok(world.eso(&["whoami", "--json"]));
    let value = parse_json(&json.stdout);
    assert_eq!(value["user"], "demo");
    assert_eq!(value["name"], "Demo User");
    assert_eq!(value["roles"], serde_json::json!(["user"]));
    assert_eq!(value["expired"], false);
    let left = value["seconds_left"].as_u64().expect("seconds_left");
    assert!(left > 7 * 3600 && left <= 8 * 3600, "{left}");
    assert!(value["expires_at"].as_u64().is_some());
    insta::assert_json_snapshot!("whoami_json", value, {
        ".expires_at" => "[TIME]",
        ".seconds_left" => "[SECONDS]",
        ".sso" => "[BASE]",
    });

    let logout = run_ok(world.eso(&["logout"]));
    assert_eq!(logout.stdout, "Logged out demo\n");
    assert!(files_in(&world.config.path().join("tokens")).is_empty());
    let again = run_ok(world.eso(&["logout"]));
    assert_eq!(again.stdout, "Not logged in: nothing to do\n");
    let whoami = run(world.eso(&["whoami"]));
    assert_eq!(whoami.code, 3, "{}", whoami.stderr);
    assert_clean_error(&whoami.stderr);
    insta::assert_snapshot!("whoami_logged_out", world.redact(&whoami.stderr));
}

#[test]
fn quiet_login_prints_nothing() {
    let world = World::new();
    let out = run_ok(
        world
            .eso(&["-q", "login", "--user", "demo", "--password-stdin"])
            .write_stdin("demo\n"),
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------
// TAP
// ---------------------------------------------------------------------------------------

#[test]
fn query_sync_and_async_in_every_format() {
    let world = World::new();
    world.login();
    let sync_csv = run_ok(world.eso(&["query", "--sync", SEED_QUERY, "--format", "csv"]));
    let async_csv = run_ok(world.eso(&["query", "--async", SEED_QUERY, "--format", "csv"]));
    assert_eq!(sync_csv.stdout, async_csv.stdout);
    let lines: Vec<&str> = sync_csv.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", sync_csv.stdout);
    assert!(lines[0].starts_with("access_estsize,access_url,datalink_url,"));
    assert!(lines[1].contains(FRAME_1) && lines[2].contains(FRAME_2));
    // The async run announces its job; -q would not.
    assert!(async_csv.stderr.starts_with("job "), "{}", async_csv.stderr);
    insta::assert_snapshot!("query_async_stderr", world.redact(&async_csv.stderr));
    insta::assert_snapshot!("query_csv", world.redact(&sync_csv.stdout));

    // Logged in, the default is async; the rows are the same.
    let default = run_ok(world.eso(&["query", SEED_QUERY, "--format", "csv"]));
    assert_eq!(default.stdout, sync_csv.stdout);
    assert!(
        default.stderr.contains("/tap_obs/async/"),
        "{}",
        default.stderr
    );
    // The job was deleted afterwards.
    let jobs = run_ok(world.eso(&["jobs", "list", "--json"]));
    assert_eq!(parse_json(&jobs.stdout), serde_json::json!([]));

    let table = run_ok(world.eso(&["query", "--sync", SEED_QUERY]));
    let table_lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(
        table_lines.len(),
        4,
        "header, rule and two rows:\n{}",
        table.stdout
    );
    assert!(table_lines[1].starts_with("--------------  "));
    let records = run_ok(world.eso(&["query", "--sync", SEED_QUERY, "--format", "records"]));
    insta::assert_snapshot!("query_records", world.redact(&records.stdout));

    let json = run_ok(world.eso(&["query", "--sync", SEED_QUERY, "--format", "json"]));
    let value = parse_json(&json.stdout);
    let text = value.to_string();
    assert!(text.contains(FRAME_1) && text.contains(FRAME_2), "{text}");

    let votable = run_ok(world.eso(&["query", "--sync", SEED_QUERY, "--format", "votable"]));
    let parsed = votable::parse(votable.stdout.as_bytes()).expect("the VOTable output parses");
    let t = parsed.first_table().expect("a table");
    assert_eq!(t.nrows(), 2);
    let dp_id = t.field_index("dp_id").expect("dp_id column");
    assert_eq!(t.get_str(0, dp_id), Some(FRAME_1));

    // BINARY2 to a file, read back with the votable crate.
    let out = run_ok(world.eso(&[
        "query",
        "--async",
        SEED_QUERY,
        "--format",
        "binary2",
        "-o",
        "result.vot",
    ]));
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("2 rows written to result.vot"),
        "{}",
        out.stderr
    );
    let bytes = std::fs::read(world.path("result.vot")).expect("result.vot");
    assert!(String::from_utf8_lossy(&bytes).contains("BINARY2"));
    let parsed = votable::parse(&bytes).expect("the BINARY2 output parses");
    let t = parsed.first_table().expect("a table");
    assert_eq!(t.nrows(), 2);
    let dp_id = t.field_index("dp_id").expect("dp_id column");
    let access = t.field_index("access_url").expect("access_url column");
    assert_eq!(t.get_str(1, dp_id), Some(FRAME_2));
    assert_eq!(
        t.get_str(0, access),
        Some(format!("{}dataPortal/file/{FRAME_1}", world.base).as_str())
    );

    // The query from standard input.
    let stdin = run_ok(
        world
            .eso(&["query", "--sync", "-f", "-", "--format", "csv"])
            .write_stdin(SEED_QUERY),
    );
    assert_eq!(stdin.stdout, sync_csv.stdout);
}

#[test]
fn anonymous_query_gets_no_protected_rows() {
    let world = World::new();
    world.login();
    let out = run_ok(world.eso(&["query", "--anonymous", SEED_QUERY, "--format", "csv"]));
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "header only:\n{}",
        out.stdout
    );
    assert!(out.stdout.starts_with("access_estsize,access_url,"));
    // Not logged in at all: the same, synchronously by default.
    let fresh = World::new();
    let out = run_ok(fresh.eso(&["query", SEED_QUERY, "--format", "csv"]));
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(
        !out.stderr.contains("/async/"),
        "anonymous queries run sync: {}",
        out.stderr
    );
}

#[test]
fn unknown_query_fails_clearly() {
    let world = World::new();
    let out = run(world.eso(&["query", "SELECT * FROM nowhere"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_clean_error(&out.stderr);
    assert!(
        out.stderr.contains("only answers its recorded queries"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.lines().count(),
        1,
        "one sentence: {}",
        out.stderr
    );
    insta::assert_snapshot!("query_unknown", world.redact(&out.stderr));
    world.login();
    let out = run(world.eso(&["query", "--async", "SELECT * FROM nowhere"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_clean_error(&out.stderr);
    assert!(out.stderr.contains("ERROR"), "{}", out.stderr);
    assert!(
        out.stderr.contains("only answers its recorded queries"),
        "{}",
        out.stderr
    );
}

#[test]
fn tables_and_jobs() {
    let world = World::new();
    let tables = run_ok(world.eso(&["tables"]));
    assert!(tables.stdout.contains("dbo.raw"), "{}", tables.stdout);
    assert!(tables.stdout.contains("ivoa.ObsCore"), "{}", tables.stdout);
    insta::assert_snapshot!("tables", tables.stdout);
    let json = run_ok(world.eso(&["tables", "--json"]));
    let names: Vec<String> = parse_json(&json.stdout)
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    assert!(names.contains(&"dbo.raw".to_owned()), "{names:?}");

    world.login();
    let kept = run_ok(world.eso(&[
        "query",
        "--async",
        "--keep-job",
        SEED_QUERY,
        "--format",
        "csv",
    ]));
    let job_url = kept
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("job "))
        .expect("job URL printed")
        .trim()
        .to_owned();
    let list = run_ok(world.eso(&["jobs", "list"]));
    let job_id = job_url.rsplit('/').next().expect("job id");
    assert!(list.stdout.contains(job_id), "{}", list.stdout);
    assert!(list.stdout.contains("COMPLETED"), "{}", list.stdout);
    let listed = parse_json(&run_ok(world.eso(&["jobs", "list", "--json"])).stdout);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["phase"], "COMPLETED");

    let show = run_ok(world.eso(&["jobs", "show", &job_url, "--json"]));
    assert_eq!(parse_json(&show.stdout)["phase"], "COMPLETED");
    let results = run_ok(world.eso(&["jobs", "results", job_id, "--format", "csv"]));
    assert_eq!(results.stdout, kept.stdout);
    run_ok(world.eso(&["jobs", "delete", job_id]));
    let listed = parse_json(&run_ok(world.eso(&["jobs", "list", "--json"])).stdout);
    assert_eq!(listed, serde_json::json!([]));
}

// ---------------------------------------------------------------------------------------
// Downloads
// ---------------------------------------------------------------------------------------

#[test]
fn download_skip_and_decompress() {
    let world = World::new();
    world.login();
    let first = run_ok(world.eso(&["download", FRAME_1, FRAME_2, "-d", "raw", "-j", "1"]));
    assert_eq!(
        files_in(&world.path("raw")),
        vec![format!("{FRAME_1}.fits.Z"), format!("{FRAME_2}.fits.Z")]
    );
    insta::assert_snapshot!("download_first", world.redact(&first.stderr));
    let second = run_ok(world.eso(&["download", FRAME_1, FRAME_2, "-d", "raw"]));
    assert!(
        second
            .stderr
            .contains("0 downloaded (0 B), 2 already present, 0 failed"),
        "{}",
        second.stderr
    );
    let file_requests = world
        .archive()
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/dataPortal/file/"))
        .count();
    assert_eq!(file_requests, 2, "the second run downloaded again");

    // --decompress: the .fits, a FITS header.
    run_ok(world.eso(&["download", FRAME_1, "-d", "fits", "--decompress"]));
    let fits = world.path("fits").join(format!("{FRAME_1}.fits"));
    let bytes = std::fs::read(&fits).expect("decompressed file");
    assert!(
        bytes.starts_with(b"SIMPLE  ="),
        "{:?}",
        &bytes[..bytes.len().min(20)]
    );
    assert_eq!(
        bytes.len() % 2880,
        0,
        "FITS files are whole 2880-byte blocks"
    );
    assert_eq!(
        files_in(&world.path("fits")),
        vec![format!("{FRAME_1}.fits")]
    );
    // Present in decompressed form: skipped.
    let again = run_ok(world.eso(&["download", FRAME_1, "-d", "fits", "--decompress"]));
    assert!(
        again.stderr.contains("1 already present"),
        "{}",
        again.stderr
    );
    // --overwrite downloads again.
    let over = run_ok(world.eso(&[
        "download",
        FRAME_1,
        "-d",
        "fits",
        "--decompress",
        "--overwrite",
    ]));
    assert!(over.stderr.contains("1 downloaded"), "{}", over.stderr);

    // -q: nothing but errors.
    let quiet = run_ok(world.eso(&["-q", "download", FRAME_2, "-d", "quiet"]));
    assert!(
        quiet.stderr.is_empty() && quiet.stdout.is_empty(),
        "{}",
        quiet.stderr
    );
}

#[test]
fn download_needs_the_login_for_protected_frames() {
    let world = World::new();
    let out = run(world.eso(&["download", FRAME_1, "-d", "raw"]));
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains("1 failed"), "{}", out.stderr);
    let names = if world.path("raw").exists() {
        files_in(&world.path("raw"))
    } else {
        Vec::new()
    };
    assert!(
        names.is_empty(),
        "no file (and no login page saved as data): {names:?}"
    );
}

#[test]
fn download_from_saved_results() {
    let world = World::new();
    world.login();
    run_ok(world.eso(&[
        "query",
        SEED_QUERY,
        "--format",
        "votable",
        "-o",
        "result.vot",
    ]));
    run_ok(world.eso(&["query", SEED_QUERY, "--format", "csv", "-o", "result.csv"]));
    run_ok(world.eso(&["query", SEED_QUERY, "--format", "json", "-o", "result.json"]));
    let expected = vec![format!("{FRAME_1}.fits.Z"), format!("{FRAME_2}.fits.Z")];
    for (file, dir) in [
        ("result.vot", "from_vot"),
        ("result.csv", "from_csv"),
        ("result.json", "from_json"),
    ] {
        let out = run_ok(world.eso(&[
            "download",
            "--from",
            file,
            "--column",
            "access_url",
            "-d",
            dir,
        ]));
        assert!(
            out.stderr.contains("2 downloaded"),
            "{file}: {}",
            out.stderr
        );
        assert_eq!(files_in(&world.path(dir)), expected, "from {file}");
    }
    // The default column is access_url.
    run_ok(world.eso(&["download", "--from", "result.vot", "-d", "default_column"]));
    assert_eq!(files_in(&world.path("default_column")), expected);
    // Same bytes whatever the source.
    for name in &expected {
        let a = std::fs::read(world.path("from_vot").join(name)).expect("file");
        let b = std::fs::read(world.path("from_csv").join(name)).expect("file");
        assert_eq!(a, b);
    }
    let missing = run(world.eso(&[
        "download",
        "--from",
        "result.csv",
        "--column",
        "nope",
        "-d",
        "x",
    ]));
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert_clean_error(&missing.stderr);
    assert!(missing.stderr.contains("\"nope\""), "{}", missing.stderr);
}

// ---------------------------------------------------------------------------------------
// DataLink, calSelector, retrieve
// ---------------------------------------------------------------------------------------

#[test]
fn datalink_table_json_and_semantics() {
    let world = World::new();
    world.login();
    let table = run_ok(world.eso(&["datalink", FRAME_1]));
    insta::assert_snapshot!("datalink_table", world.redact(&table.stdout));
    let json = run_ok(world.eso(&["datalink", FRAME_1, "--format", "json"]));
    let links = parse_json(&json.stdout);
    let semantics: Vec<&str> = links
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|l| l["semantics"].as_str())
        .collect();
    assert_eq!(semantics.len(), 4, "{semantics:?}");
    assert_eq!(semantics[0], "#this");
    assert!(
        semantics
            .iter()
            .any(|s| s.ends_with("#calSelector_raw2master"))
    );

    let this = run_ok(world.eso(&[
        "datalink",
        FRAME_1,
        "--semantics",
        "#this",
        "--format",
        "json",
    ]));
    let this = parse_json(&this.stdout);
    assert_eq!(this.as_array().map(Vec::len), Some(1), "{this}");
    assert_eq!(this[0]["semantics"], "#this");
    assert_eq!(
        this[0]["access_url"],
        format!("{}dataPortal/file/{FRAME_1}", world.base)
    );
    // Download the #this link: named after the dp_id.
    let out = run_ok(world.eso(&[
        "datalink",
        FRAME_1,
        "--semantics",
        "#this",
        "--download",
        "-d",
        "dl",
    ]));
    assert!(out.stderr.contains("1 downloaded"), "{}", out.stderr);
    assert_eq!(
        files_in(&world.path("dl")),
        vec![format!("{FRAME_1}.fits.Z")]
    );
}

#[test]
fn server_text_with_terminal_escapes_is_escaped() {
    let world = World::new();
    // The archive echoes the unknown id in its error message; ESC and BEL must not reach
    // the terminal.
    let out = run_ok(world.eso(&["datalink", "EVIL\u{1b}]0;owned\u{7}\u{1b}[2J"]));
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains('\u{1b}'), "raw ESC printed: {text:?}");
        assert!(!text.contains('\u{7}'), "raw BEL printed: {text:?}");
    }
    assert!(
        out.stdout.contains("EVIL\\u{1b}]0;owned\\u{7}\\u{1b}[2J"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("NotFoundFault"), "{}", out.stderr);
}

#[test]
fn calselector_tree_json_and_download() {
    let world = World::new();
    world.login();
    let tree = run_ok(world.eso(&["calselector", FRAME_1, "--mode", "raw2master", "--tree"]));
    insta::assert_snapshot!("calselector_tree", world.redact(&tree.stdout));
    assert!(
        tree.stdout.contains("8 calibration files"),
        "{}",
        tree.stdout
    );

    let json = run_ok(world.eso(&[
        "calselector",
        FRAME_1,
        "--mode",
        "raw2master",
        "--format",
        "json",
    ]));
    let plan = parse_json(&json.stdout);
    let calibrations: Vec<&str> = plan["calibrations"]
        .as_array()
        .expect("calibrations")
        .iter()
        .filter_map(|c| c["dp_id"].as_str())
        .collect();
    assert_eq!(calibrations, CALIBRATIONS.to_vec());
    assert_eq!(plan["frames"][0]["dp_id"], FRAME_1);

    let out = run_ok(world.eso(&[
        "calselector",
        FRAME_1,
        "--mode",
        "raw2master",
        "--download",
        "-d",
        "calib",
    ]));
    assert!(out.stderr.contains("8 downloaded"), "{}", out.stderr);
    let mut expected: Vec<String> = CALIBRATIONS.iter().map(|c| format!("{c}.fits")).collect();
    expected.push(format!("{FRAME_1}_raw2master.xml"));
    expected.sort();
    assert_eq!(files_in(&world.path("calib")), expected);
    let tree_xml = std::fs::read_to_string(
        world
            .path("calib")
            .join(format!("{FRAME_1}_raw2master.xml")),
    )
    .expect("tree file");
    assert!(tree_xml.contains("IFS_SCI_FLUX"), "{tree_xml}");
    for cal in CALIBRATIONS {
        let bytes =
            std::fs::read(world.path("calib").join(format!("{cal}.fits"))).expect("calibration");
        assert!(bytes.starts_with(b"SIMPLE  ="), "{cal} is not FITS");
    }
}

#[test]
fn retrieve_downloads_shared_calibrations_once() {
    let world = World::new();
    world.login();
    let out = run_ok(world.eso(&[
        "retrieve",
        FRAME_1,
        FRAME_2,
        "--calib",
        "processed",
        "-d",
        "data",
        "-j",
        "1",
    ]));
    insta::assert_snapshot!("retrieve", world.redact(&out.stderr));
    let mut expected: Vec<String> = CALIBRATIONS.iter().map(|c| format!("{c}.fits")).collect();
    for frame in [FRAME_1, FRAME_2] {
        expected.push(format!("{frame}.fits.Z"));
        expected.push(format!("{frame}_raw2master.xml"));
    }
    expected.sort();
    assert_eq!(files_in(&world.path("data")), expected);
    assert!(out.stderr.contains("10 downloaded"), "{}", out.stderr);
    for cal in CALIBRATIONS {
        let gets = world
            .archive()
            .requests()
            .iter()
            .filter(|r| {
                r.method == "GET" && r.path.replace("%3A", ":") == format!("/dataPortal/file/{cal}")
            })
            .count();
        assert_eq!(gets, 1, "{cal} downloaded {gets} times");
    }
    // Again: everything is already there.
    let again = run_ok(world.eso(&["retrieve", FRAME_1, FRAME_2, "-d", "data"]));
    assert!(
        again
            .stderr
            .contains("0 downloaded (0 B), 10 already present, 0 failed"),
        "{}",
        again.stderr
    );
}

#[test]
fn retrieve_warns_about_a_frame_without_association() {
    let world = World::new();
    world.login();
    let out = run_ok(world.eso(&[
        "retrieve",
        FRAME_1,
        NO_ASSOCIATION,
        "--calib",
        "processed",
        "-d",
        "data",
    ]));
    assert!(
        out.stderr
            .contains("warning: No association could be established"),
        "{}",
        out.stderr
    );
    let names = files_in(&world.path("data"));
    assert!(
        names.contains(&format!("{FRAME_1}_raw2master.xml")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with(NO_ASSOCIATION)),
        "{names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| n.starts_with("M.SPHERE")).count(),
        8,
        "{names:?}"
    );
    // The frame alone: its warning, no calibrations.
    let alone = run_ok(world.eso(&[
        "retrieve",
        NO_ASSOCIATION,
        "--calib",
        "processed",
        "-d",
        "alone",
    ]));
    assert!(
        alone.stderr.contains("No association could be established"),
        "{}",
        alone.stderr
    );
    assert!(
        alone.stderr.contains("0 calibration files"),
        "{}",
        alone.stderr
    );
    let calsel = run_ok(world.eso(&[
        "calselector",
        NO_ASSOCIATION,
        "--mode",
        "raw2master",
        "--tree",
    ]));
    assert!(
        calsel
            .stdout
            .contains("warning: No association could be established"),
        "{}",
        calsel.stdout
    );
}

// ---------------------------------------------------------------------------------------
// Local VOTable files
// ---------------------------------------------------------------------------------------

#[test]
fn votable_info_and_convert() {
    let world = World::new();
    let file = fixture("eso/tap/obscore_1row.vot");
    let file_arg = file.to_str().expect("utf-8 path");
    let info = run_ok(world.bare().args(["votable", "info", file_arg]));
    insta::assert_snapshot!("votable_info", info.stdout);
    let info_json =
        parse_json(&run_ok(world.bare().args(["votable", "info", file_arg, "--json"])).stdout);
    assert_eq!(info_json["tables"][0]["rows"], 1);
    assert_eq!(info_json["query_status"], "OK");

    let bytes = std::fs::read(&file).expect("fixture");
    let stdin_info = run_ok(
        world
            .bare()
            .args(["votable", "info", "-"])
            .write_stdin(bytes.clone()),
    );
    assert_eq!(stdin_info.stdout, info.stdout);

    let csv = run_ok(
        world
            .bare()
            .args(["votable", "convert", file_arg, "--to", "csv"]),
    );
    assert_eq!(csv.stdout.lines().count(), 2, "{}", csv.stdout);
    let n_fields = info_json["tables"][0]["fields"]
        .as_array()
        .map(Vec::len)
        .expect("fields");
    assert!(
        csv.stdout
            .lines()
            .next()
            .expect("header")
            .split(',')
            .count()
            >= n_fields
    );
    let csv_stdin = run_ok(
        world
            .bare()
            .args(["votable", "convert", "-", "--to", "csv"])
            .write_stdin(bytes.clone()),
    );
    assert_eq!(csv_stdin.stdout, csv.stdout);

    let json = run_ok(
        world
            .bare()
            .args(["votable", "convert", "-", "--to", "json"])
            .write_stdin(bytes.clone()),
    );
    let value = parse_json(&json.stdout);
    assert_eq!(
        value["fields"].as_array().map(Vec::len),
        Some(n_fields),
        "{value}"
    );
    assert_eq!(value["rows"].as_array().map(Vec::len), Some(1), "{value}");
    assert_eq!(value["query_status"]["status"], "OK");
    let dp_id = value["fields"]
        .as_array()
        .and_then(|f| f.iter().position(|f| f["name"] == "dp_id"))
        .expect("dp_id field");
    assert!(value["rows"][0][dp_id].is_string(), "{value}");

    run_ok(world.bare().args([
        "votable", "convert", file_arg, "--to", "binary2", "-o", "b2.vot",
    ]));
    let b2 = std::fs::read(world.path("b2.vot")).expect("b2.vot");
    assert!(String::from_utf8_lossy(&b2).contains("BINARY2"));
    let original = votable::parse(&bytes).expect("fixture parses");
    let converted = votable::parse(&b2).expect("BINARY2 parses");
    let (a, b) = (
        original.first_table().expect("table"),
        converted.first_table().expect("table"),
    );
    assert_eq!(a.nrows(), b.nrows());
    let col = a
        .field_index("obs_publisher_did")
        .or_else(|| a.field_index("access_url"))
        .expect("column");
    assert_eq!(a.get_str(0, col), b.get_str(0, col));
    // Converting the BINARY2 back to CSV gives the same CSV.
    let back = run_ok(
        world
            .bare()
            .args(["votable", "convert", "b2.vot", "--to", "csv"]),
    );
    assert_eq!(back.stdout, csv.stdout);

    let missing = run(world.bare().args(["votable", "info", "no-such-file.vot"]));
    assert_eq!(missing.code, 1);
    assert_clean_error(&missing.stderr);
    assert!(
        missing.stderr.contains("no-such-file.vot"),
        "{}",
        missing.stderr
    );
    let garbage = run(world
        .bare()
        .args(["votable", "info", "-"])
        .write_stdin("<html>login</html>"));
    assert_eq!(garbage.code, 1, "{}", garbage.stderr);
    assert_clean_error(&garbage.stderr);
}

// ---------------------------------------------------------------------------------------
// The demo
// ---------------------------------------------------------------------------------------

#[test]
fn demo_runs_to_done() {
    let world = World::new();
    let out = run_ok(
        world
            .bare()
            .args(["demo", "-d", "demo-data", "--no-progress"]),
    );
    assert!(out.stderr.contains("Done."), "{}", out.stderr);
    for step in 1..=7 {
        assert!(
            out.stderr.contains(&format!("[{step}/7]")),
            "step {step} missing:\n{}",
            out.stderr
        );
    }
    let names = files_in(&world.path("demo-data"));
    for frame in [FRAME_1, FRAME_2] {
        assert!(names.contains(&format!("{frame}.fits.Z")), "{names:?}");
    }
    assert_eq!(
        names.iter().filter(|n| n.starts_with("M.SPHERE")).count(),
        8,
        "{names:?}"
    );
    // The demo's token went to its own cache, not the user's.
    assert!(!world.config.path().join("tokens").exists());
}

// ---------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------

#[test]
fn secrets_never_printed_even_at_trace_level() {
    const CANARY: &str = "Canary-Pw-7f3a9c1e";
    let world = World::with_config(DemoConfig {
        demo_password: CANARY.to_owned(),
        ..DemoConfig::default()
    });
    let mut outputs = Vec::new();
    let trace = |cmd: &mut Command| {
        cmd.env("RUST_LOG", "trace");
        run_ok(cmd)
    };
    outputs.push(trace(
        world
            .eso(&["-vv", "login", "--user", "demo", "--password-stdin"])
            .write_stdin(format!("{CANARY}\n")),
    ));
    let tokens = files_in(&world.config.path().join("tokens"));
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    let cache = parse_json(
        &std::fs::read_to_string(world.config.path().join("tokens").join(&tokens[0]))
            .expect("cache file"),
    );
    let token = cache["token"]
        .as_str()
        .expect("token in the cache")
        .to_owned();
    assert!(token.len() > 40, "{token}");
    let signature = token.rsplit('.').next().expect("JWT signature").to_owned();

    outputs.push(trace(&mut world.eso(&["-vv", "whoami", "--json"])));
    outputs.push(trace(
        &mut world.eso(&["-vv", "query", "--async", SEED_QUERY, "--format", "csv"]),
    ));
    outputs.push(trace(
        &mut world.eso(&["-vv", "query", "--sync", SEED_QUERY, "--format", "csv"]),
    ));
    outputs.push(trace(
        &mut world.eso(&["-vv", "download", FRAME_1, "-d", "raw"]),
    ));
    outputs.push(trace(&mut world.eso(&["-vv", "datalink", FRAME_1])));
    outputs.push(trace(&mut world.eso(&[
        "-vv",
        "calselector",
        FRAME_1,
        "--mode",
        "raw2master",
        "--tree",
    ])));
    // The wrong password is not echoed either.
    let wrong = run(world
        .eso(&["-vv", "login", "--user", "demo", "--password-stdin"])
        .env("RUST_LOG", "trace")
        .write_stdin("Wrong-Canary-31337\n"));
    assert_eq!(wrong.code, 3, "{}", wrong.stderr);
    assert!(
        !wrong.stdout.contains("Wrong-Canary-31337")
            && !wrong.stderr.contains("Wrong-Canary-31337")
    );

    assert!(
        world
            .path("raw")
            .join(format!("{FRAME_1}.fits.Z"))
            .is_file()
    );
    // The logs really are verbose (requests are shown), so the check means something.
    let all_stderr: String = outputs.iter().map(|o| o.stderr.as_str()).collect();
    assert!(
        all_stderr.contains("tap_obs"),
        "no request logged at trace level"
    );
    for out in outputs.iter().chain([&wrong]) {
        for (what, secret) in [
            ("password", CANARY),
            ("token", token.as_str()),
            ("token signature", signature.as_str()),
        ] {
            assert!(
                !out.stdout.contains(secret),
                "{what} on stdout:\n{}",
                out.stdout
            );
            assert!(
                !out.stderr.contains(secret),
                "{what} on stderr:\n{}",
                out.stderr
            );
        }
    }
    // And nothing of it reached the archive's request log in clear (query strings).
    for request in world.archive().requests() {
        if let Some(query) = &request.query {
            assert!(!query.contains(CANARY), "{query}");
            assert!(!query.contains(&signature), "{query}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// The harness itself
// ---------------------------------------------------------------------------------------

#[test]
fn redaction_helpers() {
    assert_eq!(
        redact_uuids("job http://x/async/ed4b5944-071a-4ee3-96eb-5d041ce91166 done"),
        "job http://x/async/[UUID] done"
    );
    assert_eq!(
        redact_hex(
            "token-88e3456dd959493b388096a06e858088.json abc",
            32,
            "[HASH]"
        ),
        "token-[HASH].json abc"
    );
    assert_eq!(
        redact_durations(
            "Logged in as demo (token valid for 7h 59m, cached in x)\nexpires: 2026 (1h)\n"
        ),
        "Logged in as demo (token valid for [DURATION], cached in x)\nexpires: [TIME]\n"
    );
}

// ---------------------------------------------------------------------------------------
// Verbosity and stale logins
// ---------------------------------------------------------------------------------------

#[test]
fn verbose_shows_requests_and_job_phases_quiet_shows_nothing() {
    let world = World::new();
    world.login();
    let verbose = run_ok(world.eso(&["-v", "query", "--async", SEED_QUERY, "--format", "csv"]));
    for needle in [
        "sending request",
        "phase=EXECUTING",
        "phase=COMPLETED",
        "DELETE",
    ] {
        assert!(
            verbose.stderr.contains(needle),
            "no {needle:?} in:\n{}",
            verbose.stderr
        );
    }
    let quiet = run_ok(world.eso(&["query", "--async", SEED_QUERY, "--format", "csv", "-q"]));
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
    assert_eq!(quiet.stdout, verbose.stdout);
}

#[test]
fn stale_login_is_used_until_it_expires_or_renewed_with_a_password_source() {
    // Tokens of 5 minutes: less than the renewal margin, so the cached login counts as
    // due for renewal at once.
    let world = World::with_config(DemoConfig {
        token_lifetime: Duration::from_secs(300),
        ..DemoConfig::default()
    });
    world.login();
    let token_file = |world: &World| {
        let dir = world.config.path().join("tokens");
        let name = files_in(&dir).pop().expect("a cached token");
        std::fs::read_to_string(dir.join(name)).expect("token file")
    };
    let before = token_file(&world);
    // No password source: the token, still valid, is used with a warning to log in again.
    let out = run_ok(world.eso(&["query", "--sync", SEED_QUERY, "--format", "csv"]));
    assert!(
        out.stderr.contains("cannot be renewed without a password"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
    assert_eq!(token_file(&world), before);
    // ESO_PASSWORD renews silently.
    let out = run_ok(
        world
            .eso(&[
                "query", "--sync", SEED_QUERY, "--format", "csv", "--user", "demo",
            ])
            .env("ESO_PASSWORD", "demo"),
    );
    assert!(
        !out.stderr.contains("continuing anonymously"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
    assert_ne!(
        token_file(&world),
        before,
        "the renewed token was not cached"
    );
}

#[test]
fn expired_login_is_reported_and_queries_run_anonymously() {
    let world = World::with_config(DemoConfig {
        token_lifetime: Duration::from_secs(1),
        ..DemoConfig::default()
    });
    world.login();
    std::thread::sleep(Duration::from_millis(2100));
    let whoami = run_ok(world.eso(&["whoami"]));
    assert!(
        whoami.stdout.contains("expired: run `eso login`"),
        "{}",
        whoami.stdout
    );
    let json = parse_json(&run_ok(world.eso(&["whoami", "--json"])).stdout);
    assert_eq!(json["expired"], true);
    assert_eq!(json["seconds_left"], 0);
    let out = run_ok(world.eso(&["query", SEED_QUERY, "--format", "csv"]));
    assert!(out.stderr.contains("has expired"), "{}", out.stderr);
    assert!(
        out.stderr.contains("continuing anonymously"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
}

#[test]
fn a_failed_conversion_leaves_no_partial_output() {
    let world = World::new();
    let bad = "<?xml version=\"1.0\"?>\n<VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">\
<RESOURCE type=\"results\"><TABLE><FIELD name=\"a\" datatype=\"int\"/><DATA><TABLEDATA>\n\
<TR><TD>1</TD></TR>\n<TR><TD>notanint</TD></TR>\n</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>\n";
    std::fs::write(world.path("bad.vot"), bad).expect("write bad.vot");
    std::fs::write(world.path("out.csv"), "previous good result\n").expect("write out.csv");
    let out = run(world.bare().args([
        "votable", "convert", "bad.vot", "--to", "csv", "-o", "out.csv",
    ]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_clean_error(&out.stderr);
    assert!(out.stderr.contains("notanint"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(world.path("out.csv")).expect("out.csv"),
        "previous good result\n",
        "the previous file was overwritten by a partial one"
    );
    assert_eq!(files_in(world.work.path()), vec!["bad.vot", "out.csv"]);
    // A new file is not created at all.
    let out = run(world.bare().args([
        "votable", "convert", "bad.vot", "--to", "json", "-o", "new.json",
    ]));
    assert_eq!(out.code, 1);
    assert_eq!(files_in(world.work.path()), vec!["bad.vot", "out.csv"]);
}

#[test]
fn stored_password_renews_the_login_and_logout_removes_it() {
    let world = World::new();
    run_ok(
        world
            .eso(&[
                "login",
                "--user",
                "demo",
                "--password-stdin",
                "--store-password",
            ])
            .write_stdin("demo\n"),
    );
    let tokens_dir = world.config.path().join("tokens");
    let files = files_in(&tokens_dir);
    let password_file = files
        .iter()
        .find(|f| f.starts_with("password-"))
        .unwrap_or_else(|| panic!("no stored password in {files:?}"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(tokens_dir.join(password_file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    // The token disappears (as if it had expired): the next authorised command logs in
    // again by itself with the stored password, without asking.
    for f in files.iter().filter(|f| f.starts_with("token-")) {
        std::fs::remove_file(tokens_dir.join(f)).unwrap();
    }
    let query = run_ok(world.eso(&[
        "--user",
        "demo",
        "query",
        "--sync",
        "--format",
        "csv",
        "select top 2 * from dbo.raw where dp_cat='SCIENCE' and prog_id = '098.C-0739(C)'",
    ]));
    assert_eq!(query.stdout.lines().count(), 3, "{}", query.stdout);
    assert!(
        files_in(&tokens_dir)
            .iter()
            .any(|f| f.starts_with("token-")),
        "the renewed token was not cached"
    );
    run_ok(world.eso(&["logout", "--user", "demo"]));
    assert!(
        files_in(&tokens_dir).is_empty(),
        "logout left {:?}",
        files_in(&tokens_dir)
    );
}
