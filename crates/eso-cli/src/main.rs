//! The `eso` command-line tool: a thin front end over the workspace's libraries.
//!
//! clap parses into [`args`]; each command in [`cmd`] turns those arguments into built
//! clients, calls the libraries and renders the result with [`output`]. Only this crate
//! prints and installs a `tracing` subscriber.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod cmd;
mod context;
mod exit;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(exit::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_tracing(cli.global.verbose, cli.global.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    match runtime.block_on(cmd::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            if exit::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", output::escape(&exit::describe(&err)));
            ExitCode::from(exit::code_for(&err))
        }
    }
}

/// `-v` shows requests, retries and job phases; `-vv` everything; `-q` only errors.
/// `RUST_LOG` overrides.
fn init_tracing(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => {
            "warn,vo_auth=debug,vo_tap=debug,vo_datalink=debug,vo_download=debug,eso_calselector=debug,eso_cli=debug"
        }
        (false, _) => "trace,hyper=debug,hyper_util=debug,rustls=info,h2=info",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(verbose > 1)
        .without_time()
        .try_init();
}
