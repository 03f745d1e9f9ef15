//! `headroom render IN OUT`: the exact dsp-core chain over a WAV file,
//! latency-compensated, written in the input's format.

use super::settings::apply_assignment;
use crate::wav;
use crate::Failure;
use anyhow::{anyhow, Context};
use dsp_core::dsp::chain::{Chain, ChainConfig};
use std::io::{IsTerminal, Write};
use std::path::Path;

/// Files longer than this show progress (on a terminal).
const PROGRESS_MIN_S: f64 = 20.0;

pub fn run(
    input: &Path,
    output: &Path,
    profile: &str,
    sets: &[String],
    json: bool,
) -> Result<(), Failure> {
    if same_file(input, output) {
        return Err(Failure {
            code: 2,
            error: anyhow!("the output {} is the input file", output.display()),
            hint: Some("write to a new file; render never overwrites its own input".into()),
        });
    }
    let dir = headroom_config::paths::profile_dir();
    let mut params = match headroom_config::load(dir.as_deref(), profile) {
        Ok(Some(p)) => p.params,
        Ok(None) => {
            return Err(Failure {
                code: 2,
                error: anyhow!("no profile named {profile:?}"),
                hint: Some(format!(
                    "built-in profiles: {}",
                    headroom_config::BUILTIN
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            })
        }
        Err(e) => return Err(anyhow::Error::new(e).into()),
    };
    for s in sets {
        apply_assignment(&mut params, s)?;
    }

    let audio = wav::read(input)?;
    let channels = audio.channels();
    let rate = audio.spec.sample_rate;
    let mut chain = Chain::<8>::with_params(
        ChainConfig {
            sample_rate_hz: rate,
            channels,
        },
        &params.dsp,
    )
    .map_err(|e| anyhow!("{e}"))
    .with_context(|| format!("cannot process {}", input.display()))?;
    let latency = chain.latency_frames();

    // Input plus `latency` frames of silence, so the tail comes out too;
    // then drop the first `latency` frames: output aligned with input.
    let mut buf = audio.samples.clone();
    buf.resize(buf.len() + latency * channels, 0.0);
    let total_s = audio.frames() as f64 / rate as f64;
    let progress = std::io::stderr().is_terminal() && total_s >= PROGRESS_MIN_S;
    let chunk = rate as usize * channels; // one second
    let chunks = buf.len().div_ceil(chunk.max(1));
    for (i, block) in buf.chunks_mut(chunk).enumerate() {
        chain.process_interleaved(block);
        if progress && i % 5 == 0 {
            eprint!(
                "\rrendering {}: {:3.0}%",
                input.display(),
                100.0 * i as f64 / chunks as f64
            );
            let _ = std::io::stderr().flush();
        }
    }
    if progress {
        eprintln!("\rrendering {}: 100%", input.display());
    }
    let out = &buf[latency * channels..];
    wav::write(output, audio.spec, out)?;

    if json {
        crate::outln!(
            "{}",
            serde_json::json!({
                "input": input, "output": output, "profile": profile,
                "frames": audio.frames(), "sample_rate_hz": rate, "channels": channels,
                "latency_frames": latency,
            })
        );
    } else {
        crate::outln!(
            "{} → {} ({}, profile {profile}, latency {latency} frames compensated)",
            input.display(),
            output.display(),
            audio.describe()
        );
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
