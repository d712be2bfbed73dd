//! `cargo xtask <task>`: project automation (see `cargo xtask help`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use anyhow::{Result, bail};

use xtask::{bench, ci, dachs, record, tidy};

const HELP: &str = "\
usage: cargo xtask <task> [options]

tasks:
  ci                          fmt, clippy -D warnings, tests, fuzz smoke, votlint, integration
  dachs start [--rows N]      install (Debian, apt), fill and start GAVO DaCHS on 127.0.0.1:18080
  dachs stop [--with-postgres]
  dachs status                whether DaCHS runs, and its URL
  integration [--rows N]      run the crates' tests/dachs.rs against DaCHS (started if needed)
  fixtures [--from dachs|eso] [--out DIR] [--only TEXT]
                              re-record fixtures (ESO only when the archive is reachable;
                              credentials from ESO_USER/ESO_PASSWORD, never stored)
  bench [votable|tap|download] [--rows N] [--mb N]
                              our code against astropy, the votable 0.7 crate, pyvo, STILTS,
                              curl; prints a table of ratios (votable rows default 1000000)
  codegen                     regenerate fixtures/INDEX.md
  tidy                        check fixtures (metadata, secrets) without running cargo test
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let rest = args.get(1..).unwrap_or_default();
    match task {
        "ci" => ci::run_all(),
        "dachs" => dachs::cli(rest),
        "integration" => {
            let rows = parse_rows_flag(rest)?;
            dachs::integration(rows)
        }
        "fixtures" => record::cli(rest),
        "bench" => bench::cli(rest),
        "codegen" => {
            tidy::codegen(tidy::Mode::Overwrite)?;
            println!("wrote {}", tidy::fixtures_dir().join("INDEX.md").display());
            Ok(())
        }
        "tidy" => {
            let problems = tidy::fixture_problems(&tidy::fixtures_dir())?;
            if problems.is_empty() {
                println!("fixtures are tidy");
                Ok(())
            } else {
                bail!(
                    "{} problem(s):\n  {}",
                    problems.len(),
                    problems.join("\n  ")
                )
            }
        }
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => bail!("unknown task {other:?}; try `cargo xtask help`"),
    }
}

fn parse_rows_flag(args: &[String]) -> Result<u64> {
    let mut rows = dachs::rows_from_env()?;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let value = match arg.strip_prefix("--rows=") {
            Some(value) => value.to_owned(),
            None if arg == "--rows" => match iter.next() {
                Some(value) => value.clone(),
                None => bail!("--rows wants a number"),
            },
            None => bail!("unknown argument {arg:?}"),
        };
        rows = value.replace('_', "").parse()?;
    }
    Ok(rows)
}
