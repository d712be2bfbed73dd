//! The `eso` command-line tool: a thin front end over the workspace's libraries.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::SUCCESS
}
