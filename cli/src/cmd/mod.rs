//! One module per command; `run` dispatches.

mod analyze;
mod render;
pub mod settings;

use crate::args::{Cli, Command};
use crate::Failure;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Analyze { file } => analyze::run(&file, cli.json),
        Command::Render {
            input,
            output,
            profile,
            set,
        } => render::run(&input, &output, &profile, &set, cli.json),
    }
}
