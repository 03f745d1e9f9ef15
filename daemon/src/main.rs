//! `headroomd`: the Headroom daemon.
//!
//! One `calloop` event loop owns all control state ([`daemon::Daemon`]): the
//! IPC listener and every connection, signals (through a signalfd created
//! before any thread starts), timers and the profile-directory watch. There
//! is no thread per client, no polling timer for I/O and no global mutex.

mod alloc_guard;
mod audio;
mod control;
mod daemon;
mod json;
mod log;
mod notify;
mod server;
mod watch;

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// headroomd: levels every app through the Headroom PipeWire sink.
///
/// Environment:
///   HEADROOM_SOCKET       control socket path (default $XDG_RUNTIME_DIR/headroom/control.sock)
///   HEADROOM_CAPS_TOKEN   if set, mutating ops must carry this token in "caps"
///   HEADROOM_DSP_ISA      "portable": run the DSP's baseline build even where AVX2 is
///                         available (same output, slower); default "best"
///   XDG_RUNTIME_DIR       where the socket lives
///   XDG_CONFIG_HOME       user profiles in $XDG_CONFIG_HOME/headroom/profiles/*.toml (default ~/.config)
///   XDG_STATE_HOME        saved settings in $XDG_STATE_HOME/headroom/state.toml (default ~/.local/state)
///   JOURNAL_STREAM        set by systemd: log lines get journald priority prefixes
///
/// Signals: SIGTERM/SIGINT shut down cleanly; SIGHUP reloads profiles.
#[derive(Debug, Parser)]
#[command(name = "headroomd", version, verbatim_doc_comment)]
pub struct Args {
    /// Control socket path (overrides HEADROOM_SOCKET and the XDG default).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Log debug detail.
    #[arg(short, long)]
    pub verbose: bool,
    /// Make Headroom the default sink while running (given back on exit).
    #[arg(long)]
    pub promote_default: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    log::init(args.verbose);
    match daemon::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            ExitCode::from(1)
        }
    }
}
