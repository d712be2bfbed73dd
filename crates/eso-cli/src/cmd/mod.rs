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
    // Commands that need neither endpoints nor a client.
    match &cli.command {
        Command::Completions(args) => return misc::completions(args),
        Command::Man => return misc::man(),
        Command::Votable(VotableCommand::Info { file, json }) => {
            let style = crate::output::Style::detect();
            return votable::info(&style, file, *json);
        }
        Command::Votable(VotableCommand::Convert { input, to, output }) => {
            let style = crate::output::Style::detect();
            return votable::convert(&style, input, *to, output.as_deref());
        }
        Command::Demo(args) => return demo::demo(&cli.global, args).await,
        _ => {}
    }
    let ctx = Ctx::new(cli.global.clone())?;
    match &cli.command {
        Command::Login(args) => auth::login(&ctx, args).await,
        Command::Logout => auth::logout(&ctx),
        Command::Whoami(args) => auth::whoami(&ctx, args),
        Command::Query(args) => tap::query(&ctx, args).await,
        Command::Jobs(command) => tap::jobs(&ctx, command).await,
        Command::Tables(args) => tap::tables(&ctx, args).await,
        Command::Datalink(args) => datalink::datalink(&ctx, args).await,
        Command::Cutout(args) => datalink::cutout(&ctx, args).await,
        Command::Ssa(args) => datalink::ssa(&ctx, args).await,
        Command::Sia(args) => datalink::sia(&ctx, args).await,
        Command::Calselector(args) => calsel::calselector(&ctx, args).await,
        Command::Retrieve(args) => calsel::retrieve(&ctx, args).await,
        Command::Download(args) => download::download(&ctx, args).await,
        Command::Completions(_) | Command::Man | Command::Votable(_) | Command::Demo(_) => {
            unreachable!("handled above")
        }
    }
}
