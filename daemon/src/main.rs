//! `headroomd`: the Headroom daemon.
//!
//! One `calloop` event loop owns all control state ([`daemon::Daemon`]): the
//! IPC listener and every connection, signals (through a signalfd created
//! before any thread starts), timers and the profile-directory watch. There
//! is no thread per client, no polling timer for I/O and no global mutex.

mod alloc_guard;
mod args;
mod audio;
mod control;
mod daemon;
mod json;
mod log;
mod notify;
mod server;
mod watch;

pub use args::Args;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match args::parse(std::env::args_os().skip(1)) {
        Ok(args::Command::Run(args)) => args,
        Ok(args::Command::Help) => {
            print!("{}", args::HELP);
            return ExitCode::SUCCESS;
        }
        Ok(args::Command::Version) => {
            println!("headroomd {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("headroomd: {e}\nhint: `headroomd --help` lists the options");
            // 2, as for any usage error (and as clap exited before).
            return ExitCode::from(2);
        }
    };
    log::init(args.verbose);
    match daemon::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            ExitCode::from(1)
        }
    }
}
