//! What was typed: the clap definitions, nothing else.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Headroom: every app at one comfortable loudness, and never a peak through.
#[derive(Debug, Parser)]
#[command(name = "headroom", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
}
