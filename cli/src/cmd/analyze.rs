//! `headroom analyze FILE`: EBU R128 / BS.1770-4 measurements of a WAV file,
//! with the same meter the daemon runs.

use crate::wav;
use crate::Failure;
use anyhow::Context;
use dsp_core::dsp::loudness::LoudnessMeter;
use serde::Serialize;
use std::path::Path;

/// What `analyze` reports. `None` (JSON `null`) means "too short or too
/// quiet to measure" (e.g. integrated loudness of digital silence).
#[derive(Debug, Serialize)]
pub struct Analysis {
    pub integrated_lufs: Option<f64>,
    pub lra_lu: Option<f64>,
    pub momentary_max_lufs: Option<f64>,
    pub short_term_max_lufs: Option<f64>,
    pub sample_peak_dbfs: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some((x * 100.0).round() / 100.0)
}

/// Measures interleaved audio.
pub fn measure(samples: &[f32], sample_rate_hz: u32, channels: usize) -> anyhow::Result<Analysis> {
    let mut meter = LoudnessMeter::<8>::new(sample_rate_hz, channels)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("cannot measure this file")?;
    // Feed exactly one 100 ms step at a time so every momentary and
    // short-term value is seen for the maxima.
    let step = (sample_rate_hz / 10) as usize * channels;
    let (mut m_max, mut s_max) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for chunk in samples.chunks(step) {
        meter.process_interleaved(chunk);
        m_max = m_max.max(meter.loudness_momentary());
        s_max = s_max.max(meter.loudness_shortterm());
    }
    let db = |x: f32| 20.0 * (x as f64).log10();
    Ok(Analysis {
        integrated_lufs: finite(meter.loudness_global()),
        lra_lu: finite(meter.loudness_range()),
        momentary_max_lufs: finite(m_max),
        short_term_max_lufs: finite(s_max),
        sample_peak_dbfs: finite(db(meter.sample_peak())),
        true_peak_dbtp: finite(db(meter.true_peak())),
    })
}

pub fn run(file: &Path, json: bool) -> Result<(), Failure> {
    let audio = wav::read(file)?;
    let a = measure(&audio.samples, audio.spec.sample_rate, audio.channels())?;
    if json {
        crate::outln!("{}", serde_json::to_string(&a)?);
    } else {
        let show = |v: Option<f64>, unit: &str| match v {
            Some(x) => format!("{x:>8.2} {unit}"),
            None => format!("{:>8} {unit}", "-inf"),
        };
        crate::outln!("{}  ({})", file.display(), audio.describe());
        crate::outln!(
            "  integrated loudness   {}",
            show(a.integrated_lufs, "LUFS")
        );
        crate::outln!("  loudness range        {}", show(a.lra_lu, "LU"));
        crate::outln!(
            "  momentary max         {}",
            show(a.momentary_max_lufs, "LUFS")
        );
        crate::outln!(
            "  short-term max        {}",
            show(a.short_term_max_lufs, "LUFS")
        );
        crate::outln!(
            "  sample peak           {}",
            show(a.sample_peak_dbfs, "dBFS")
        );
        crate::outln!("  true peak             {}", show(a.true_peak_dbtp, "dBTP"));
    }
    Ok(())
}
