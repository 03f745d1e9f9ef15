//! `headroom`: the command line for Headroom.
//!
//! Daemon commands speak IPC.md to `headroomd` (with dsp-core's codec);
//! `analyze` and `render` work offline on WAV files with the exact chain the
//! daemon runs.
//!
//! Structure: `args` (what was typed) → `cmd::*` (one module per command)
//! → `render` (tables) or JSON.
//!
//! Exit codes: 0 success; 1 the daemon refused; 2 usage, file or connection
//! error; 130 / 143 / 129 `demo` stopped by SIGINT / SIGTERM / SIGHUP. Errors print as `headroom: <cause>` with a hint where one helps.

mod args;
mod client;
mod cmd;
mod interrupt;
mod render;
mod wav;

use clap::Parser;
use std::io::Write;
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
            // Not `eprintln!`: it panics when stderr is gone (a closed
            // terminal), and the exit code matters more than the message.
            let mut err = std::io::stderr();
            let _ = writeln!(err, "headroom: {:#}", f.error);
            if let Some(hint) = f.hint {
                let _ = writeln!(err, "hint: {hint}");
            }
            ExitCode::from(f.code)
        }
    }
}
