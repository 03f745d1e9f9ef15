//! `headroom analyze` and `headroom render` on generated WAV files: known
//! loudness answers, format preservation, sample alignment, and clear
//! errors for files that cannot be read.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("headroom-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn headroom(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_headroom"))
        .env("XDG_CONFIG_HOME", tmp("no-config"))
        .args(args)
        .output()
        .unwrap()
}

/// A 1 kHz stereo sine at `dbfs` peak, `seconds` long.
fn write_sine(path: &Path, spec: hound::WavSpec, dbfs: f64, seconds: f64) -> Vec<f64> {
    let amp = 10f64.powf(dbfs / 20.0);
    let n = (seconds * spec.sample_rate as f64) as usize;
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let mut values = Vec::new();
    for i in 0..n {
        let v =
            amp * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / spec.sample_rate as f64).sin();
        for _ in 0..spec.channels {
            match (spec.sample_format, spec.bits_per_sample) {
                (hound::SampleFormat::Float, _) => w.write_sample(v as f32).unwrap(),
                (hound::SampleFormat::Int, 16) => {
                    w.write_sample((v * 32767.0).round() as i16).unwrap()
                }
                (hound::SampleFormat::Int, bits) => w
                    .write_sample((v * ((1i64 << (bits - 1)) - 1) as f64).round() as i32)
                    .unwrap(),
            }
            values.push(v);
        }
    }
    w.finalize().unwrap();
    values
}

fn spec(rate: u32, bits: u16, float: bool) -> hound::WavSpec {
    hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    }
}

#[test]
fn analyze_reads_known_loudness_in_every_format() {
    // EBU Tech 3341 case 1: stereo 1 kHz at -23 dBFS reads -23 LUFS.
    for (i, s) in [
        spec(48_000, 16, false),
        spec(44_100, 24, false),
        spec(96_000, 32, false),
        spec(48_000, 32, true),
    ]
    .into_iter()
    .enumerate()
    {
        let path = tmp(&format!("tone{i}.wav"));
        write_sine(&path, s, -23.0, 5.0);
        let out = headroom(&["analyze", path.to_str().unwrap(), "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let i_lufs = v["integrated_lufs"].as_f64().unwrap();
        assert!((i_lufs + 23.0).abs() <= 0.1, "{s:?}: {v}");
        assert!(
            (v["sample_peak_dbfs"].as_f64().unwrap() + 23.0).abs() <= 0.05,
            "{v}"
        );
        assert!(
            (v["true_peak_dbtp"].as_f64().unwrap() + 23.0).abs() <= 0.1,
            "{v}"
        );
        assert!(v["lra_lu"].as_f64().unwrap().abs() <= 0.1, "{v}");
        for key in ["momentary_max_lufs", "short_term_max_lufs"] {
            assert!((v[key].as_f64().unwrap() + 23.0).abs() <= 0.1, "{key}: {v}");
        }
        let human = headroom(&["analyze", path.to_str().unwrap()]);
        assert!(String::from_utf8_lossy(&human.stdout).contains("integrated loudness"));
    }
}

#[test]
fn analyze_of_silence_reports_null_not_a_crash() {
    let path = tmp("silence.wav");
    write_sine(&path, spec(48_000, 16, false), -200.0, 2.0);
    let out = headroom(&["analyze", path.to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["integrated_lufs"].is_null(), "{v}");
}

#[test]
fn render_keeps_the_format_and_aligns_with_the_input() {
    for (i, s) in [spec(48_000, 24, false), spec(44_100, 32, true)]
        .into_iter()
        .enumerate()
    {
        let input = tmp(&format!("in{i}.wav"));
        let output = tmp(&format!("out{i}.wav"));
        // Quiet enough that the transparent profile leaves it untouched.
        let values = write_sine(&input, s, -12.0, 2.0);
        let out = headroom(&[
            "render",
            input.to_str().unwrap(),
            output.to_str().unwrap(),
            "--profile",
            "transparent",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r = hound::WavReader::open(&output).unwrap();
        assert_eq!(r.spec(), s, "format preserved");
        let got: Vec<f64> = match s.sample_format {
            hound::SampleFormat::Float => {
                r.into_samples::<f32>().map(|x| x.unwrap() as f64).collect()
            }
            hound::SampleFormat::Int => {
                let full = (1i64 << (s.bits_per_sample - 1)) as f64;
                r.into_samples::<i32>()
                    .map(|x| x.unwrap() as f64 / full)
                    .collect()
            }
        };
        assert_eq!(got.len(), values.len(), "same length");
        // Sample-aligned: the output matches the input sample by sample.
        let worst = got
            .iter()
            .zip(&values)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-4, "{s:?}: worst difference {worst}");
    }
}

#[test]
fn render_applies_settings_and_holds_the_ceiling() {
    let input = tmp("loud.wav");
    let output = tmp("loud-out.wav");
    write_sine(&input, spec(48_000, 32, true), 0.0, 3.0);
    let out = headroom(&[
        "render",
        input.to_str().unwrap(),
        output.to_str().unwrap(),
        "--set",
        "limiter.ceiling_dbtp=-3",
        "--set",
        "agc.enabled=false",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a = headroom(&["analyze", output.to_str().unwrap(), "--json"]);
    let v: Value = serde_json::from_slice(&a.stdout).unwrap();
    assert!(v["true_peak_dbtp"].as_f64().unwrap() <= -3.0 + 0.01, "{v}");
}

#[test]
fn unreadable_and_unsupported_files_get_clear_errors() {
    let out = headroom(&["analyze", "/nonexistent/file.wav"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("headroom: cannot open /nonexistent/file.wav"),
        "{err}"
    );

    let junk = tmp("junk.wav");
    std::fs::write(&junk, b"this is not a wav file at all").unwrap();
    let out = headroom(&["analyze", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a WAV file"));

    let odd = tmp("odd-rate.wav");
    write_sine(&odd, spec(22_050, 16, false), -20.0, 0.5);
    let out = headroom(&["analyze", odd.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unsupported sample rate 22050"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let input = tmp("self.wav");
    write_sine(&input, spec(48_000, 16, false), -20.0, 0.5);
    let out = headroom(&["render", input.to_str().unwrap(), input.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let out = headroom(&[
        "render",
        input.to_str().unwrap(),
        tmp("x.wav").to_str().unwrap(),
        "--set",
        "limiter.ceiling_dbtp=nan",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("NaN"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
