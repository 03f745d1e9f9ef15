//! `headroomd`: the Headroom daemon (control plane and PipeWire audio path).
//!
//! Not implemented yet: see the control-plane and audio-path issues.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("headroomd: the daemon is not implemented yet (see README: Status)");
    ExitCode::from(2)
}
