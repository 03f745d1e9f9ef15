//! What was typed: the clap definitions, nothing else.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Headroom: every app at one comfortable loudness, and never a peak through.
///
/// Talks to headroomd over its control socket ($HEADROOM_SOCKET, else
/// $XDG_RUNTIME_DIR/headroom/control.sock). Exit codes: 0 success, 1 the
/// daemon refused (its error code is shown), 2 usage or connection error.
#[derive(Debug, Parser)]
#[command(name = "headroom", version, about, propagate_version = true)]
pub struct Cli {
    /// Print the protocol's result object as JSON (NDJSON for streams).
    #[arg(long, global = true)]
    pub json: bool,

    /// Control socket of the daemon.
    #[arg(
        long,
        global = true,
        env = "HEADROOM_SOCKET",
        value_name = "PATH",
        hide_env_values = true
    )]
    pub socket: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// Where an app's or stream's audio goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Through Headroom.
    Processed,
    /// Straight to the real output, untouched.
    Bypass,
}

/// Bypass switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// Bypass processing.
    On,
    /// Process again.
    Off,
    /// Flip the current state.
    Toggle,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Daemon state: profile, bypass, sink, streams, levels.
    Status,
    /// List, show, switch or reload profiles.
    #[command(subcommand)]
    Profile(ProfileCmd),
    /// Per-app routing: through Headroom or straight to the output.
    #[command(subcommand)]
    Route(RouteCmd),
    /// Print one setting.
    Get {
        /// Dotted key, e.g. limiter.ceiling_dbtp.
        key: String,
    },
    /// Override one setting now (saved across restarts).
    Set {
        /// Dotted key, e.g. limiter.ceiling_dbtp.
        key: String,
        /// Value: a number (negative is fine), true/false, or a choice name.
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Every setting with type, range, default, current value and source.
    Settings,
    /// Drop one override (back to the profile's or default value).
    Clear {
        /// Dotted key.
        key: String,
    },
    /// Drop every override.
    Reset,
    /// Pass all audio through untouched, or process again.
    Bypass {
        /// on, off or toggle.
        state: Switch,
    },
    /// Print events as they arrive (all topics if none given).
    Monitor {
        /// meters, profile, routing, daemon.
        topics: Vec<String>,
    },
    /// Live loudness, true peak and gain reduction.
    Meters,
    /// Send one raw JSON request and print the reply (the portctl of Headroom).
    Raw {
        /// A request, e.g. '{"op":"ping"}'.
        request: String,
    },
    /// Measure a WAV file: integrated loudness, loudness range, peaks (EBU R128).
    Analyze {
        /// The WAV file (8/16/24/32-bit integer or 32-bit float, 1-8 channels).
        file: PathBuf,
    },
    /// Run the Headroom chain over a WAV file, writing the result in the same format.
    ///
    /// The output is latency-compensated: sample-aligned with the input.
    Render {
        /// The input WAV file.
        input: PathBuf,
        /// Where to write the result (replaced atomically if it exists).
        output: PathBuf,
        /// Profile to start from: a built-in (default, speech, music, movie,
        /// night, transparent) or one in ~/.config/headroom/profiles.
        #[arg(long, default_value = "default")]
        profile: String,
        /// Override one setting, e.g. --set limiter.ceiling_dbtp=-2 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE", allow_hyphen_values = true)]
        set: Vec<String>,
    },
    /// Hear and see what Headroom does: a built-in programme played through
    /// Headroom and then bypassed, measured side by side, and plotted.
    ///
    /// Uses your running PipeWire session (your default sink is left as it
    /// is; only the demo's own stream is processed), or starts a private,
    /// silent one when none is running. Runs its own headroomd with private
    /// settings and a faster AGC; stops everything it started.
    Demo {
        /// Where to write the plot (PNG).
        #[arg(long, value_name = "PATH", default_value = "headroom-demo.png")]
        plot: PathBuf,
        /// Start a private, silent PipeWire session even if one is running.
        #[arg(long)]
        private: bool,
    },
    /// Print a shell completion script.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProfileCmd {
    /// Every profile, built-in and yours.
    List,
    /// The settings a profile sets (the active one by default).
    Show {
        /// Profile name.
        name: Option<String>,
    },
    /// Switch to a profile.
    Use {
        /// Profile name.
        name: String,
    },
    /// Re-read the profile files now.
    Reload,
}

#[derive(Debug, Subcommand)]
pub enum RouteCmd {
    /// Rules and live streams.
    List,
    /// Route an app (by application name or binary) processed or bypassed.
    Set {
        /// Application name or process binary (case-insensitive).
        app: String,
        /// processed or bypass.
        mode: Mode,
    },
    /// Remove an app's rule.
    Unset {
        /// Application name or process binary.
        app: String,
    },
    /// Move one live stream now (not saved).
    Stream {
        /// PipeWire node id (see `headroom route list`).
        node_id: u32,
        /// processed or bypass.
        mode: Mode,
    },
}
