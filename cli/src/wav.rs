//! WAV files in and out, as interleaved `f32` plus the format to write back.
//!
//! Reads 8/16/24/32-bit integer and 32-bit float PCM (plain or
//! WAVE_FORMAT_EXTENSIBLE). Writes atomically: a temporary file beside the
//! target, then a rename, so a failed render never leaves half a file where
//! the user expects a whole one.

use anyhow::{bail, Context, Result};
use dsp_core::sample::{f32_to_int, int_to_f32};
use std::path::Path;

/// A decoded WAV file.
pub struct Audio {
    /// Interleaved samples, full scale ±1.0.
    pub samples: Vec<f32>,
    /// The file's format (reused to write the output).
    pub spec: hound::WavSpec,
}

impl Audio {
    /// Channels.
    pub fn channels(&self) -> usize {
        self.spec.channels as usize
    }

    /// Frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels().max(1)
    }

    /// A short description, e.g. `48000 Hz, 2 ch, 24-bit int, 12.3 s`.
    pub fn describe(&self) -> String {
        let kind = match self.spec.sample_format {
            hound::SampleFormat::Float => "float",
            hound::SampleFormat::Int => "int",
        };
        format!(
            "{} Hz, {} ch, {}-bit {}, {:.1} s",
            self.spec.sample_rate,
            self.spec.channels,
            self.spec.bits_per_sample,
            kind,
            self.frames() as f64 / self.spec.sample_rate as f64
        )
    }
}

/// Reads a whole WAV file.
///
/// # Errors
/// Unreadable file, not a WAV, or an unsupported sample format.
pub fn read(path: &Path) -> Result<Audio> {
    let reader = hound::WavReader::open(path).map_err(|e| match e {
        hound::Error::IoError(io) => {
            anyhow::Error::new(io).context(format!("cannot open {}", path.display()))
        }
        other => anyhow::anyhow!(
            "{} is not a WAV file this tool reads: {other}",
            path.display()
        ),
    })?;
    let spec = reader.spec();
    if spec.channels == 0 {
        bail!("{} has no channels", path.display());
    }
    let samples = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => reader
            .into_samples::<f32>()
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("reading {}", path.display()))?,
        (hound::SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => {
            let ints = reader
                .into_samples::<i32>()
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("reading {}", path.display()))?;
            let mut out = vec![0.0f32; ints.len()];
            int_to_f32(&ints, bits as u32, &mut out);
            out
        }
        (format, bits) => bail!(
            "{}: unsupported sample format ({bits}-bit {format:?}); supported: 8/16/24/32-bit integer and 32-bit float",
            path.display()
        ),
    };
    Ok(Audio { samples, spec })
}

/// Writes interleaved samples in `spec`'s format, atomically.
///
/// # Errors
/// The directory is not writable, or the disk is full.
pub fn write(path: &Path, spec: hound::WavSpec, samples: &[f32]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().context("output path has no file name")?;
    let tmp = dir.join(format!(".{}.headroom-tmp", name.to_string_lossy()));
    let result = (|| -> Result<()> {
        let mut w = hound::WavWriter::create(&tmp, spec)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        match spec.sample_format {
            hound::SampleFormat::Float => {
                for &s in samples {
                    w.write_sample(s)?;
                }
            }
            hound::SampleFormat::Int => {
                let mut ints = vec![0i32; samples.len()];
                f32_to_int(samples, spec.bits_per_sample as u32, &mut ints);
                for &s in &ints {
                    match spec.bits_per_sample {
                        8 => w.write_sample(s as i8)?,
                        16 => w.write_sample(s as i16)?,
                        _ => w.write_sample(s)?,
                    }
                }
            }
        }
        w.finalize()?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot move the result to {}", path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}
