//! One module per command; `run` dispatches.

mod analyze;
mod daemon;
mod demo;
mod live;
mod render;
pub mod settings;

use crate::args::{Cli, Command};
use crate::Failure;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    let json = cli.json;
    let socket = cli.socket.as_deref();
    match cli.command {
        Command::Analyze { file } => analyze::run(&file, json),
        Command::Render {
            input,
            output,
            profile,
            set,
        } => render::run(&input, &output, &profile, &set, json),
        Command::Demo { plot, private } => demo::run(&plot, private, json),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "headroom", &mut std::io::stdout());
            Ok(())
        }
        Command::Monitor { topics } => live::monitor(socket, &topics, json),
        Command::Meters => live::meters(socket, json),
        other => daemon::run(socket, other, json),
    }
}
