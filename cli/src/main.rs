//! `headroom`: the command line for Headroom.
//!
//! Offline: `analyze` measures a WAV file (EBU R128 / BS.1770-4) and
//! `render` runs the exact dsp-core chain over one. The daemon commands
//! come with the control-plane issue.
//!
//! Exit codes: 0 success; 1 the daemon refused; 2 usage, file or connection
//! error. Errors print as `headroom: <cause>` with a hint where one helps.

mod args;
mod cmd;
mod wav;

use clap::Parser;
use std::process::ExitCode;

/// A failure with the exit code it maps to.
pub struct Failure {
    /// Process exit code.
    pub code: u8,
    /// What went wrong, with context.
    pub error: anyhow::Error,
    /// What the user might do about it.
    pub hint: Option<String>,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            code: 2,
            error: e.into(),
            hint: None,
        }
    }
}

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            // A closed pipe (`headroom … | head`) is not an error.
            if let Some(io) = f.error.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            eprintln!("headroom: {:#}", f.error);
            if let Some(hint) = f.hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(f.code)
        }
    }
}
