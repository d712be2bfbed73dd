//! One module per group of commands; [`run`] dispatches.

use std::process::ExitCode;

use crate::args::{Cli, Command, VotableCommand};
use crate::context::Ctx;

mod auth;
mod calsel;
mod datalink;
mod demo;
mod download;
mod fetch;
mod misc;
mod render;
mod tap;
mod votable;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Local commands need neither endpoints nor a client; the others resolve them first.
    let ctx = || Ctx::new(cli.global.clone());
    let style = crate::output::Style::detect;
    match &cli.command {
        Command::Completions(args) => misc::completions(args),
        Command::Man => misc::man(),
        Command::Votable(VotableCommand::Info { file, json }) => {
            votable::info(&style(), file, *json)
        }
        Command::Votable(VotableCommand::Convert { input, to, output }) => {
            votable::convert(&style(), input, *to, output.as_deref())
        }
        Command::Demo(args) => demo::demo(&cli.global, args).await,
        Command::Login(args) => auth::login(&ctx()?, args).await,
        Command::Logout => auth::logout(&ctx()?),
        Command::Whoami(args) => auth::whoami(&ctx()?, args),
        Command::Query(args) => tap::query(&ctx()?, args).await,
        Command::Jobs(command) => tap::jobs(&ctx()?, command).await,
        Command::Tables(args) => tap::tables(&ctx()?, args).await,
        Command::Datalink(args) => datalink::datalink(&ctx()?, args).await,
        Command::Cutout(args) => datalink::cutout(&ctx()?, args).await,
        Command::Ssa(args) => datalink::ssa(&ctx()?, args).await,
        Command::Sia(args) => datalink::sia(&ctx()?, args).await,
        Command::Calselector(args) => calsel::calselector(&ctx()?, args).await,
        Command::Retrieve(args) => calsel::retrieve(&ctx()?, args).await,
        Command::Download(args) => download::download(&ctx()?, args).await,
    }
}
