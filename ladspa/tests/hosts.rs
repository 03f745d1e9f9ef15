//! The plugin in real LADSPA hosts: `analyseplugin` and `applyplugin` (the
//! LADSPA SDK's own) and sox's `ladspa` effect. Each host loads the built
//! `.so`, runs it over a WAV file made here, and the output is measured:
//! true peak against an independent 16× reference (the one dsp-core's
//! tests use), and sample by sample against the dsp-core chain run
//! in-process with the same settings.

mod support;

use dsp_core::dsp::chain::{Chain, ChainConfig};
use dsp_core::params::{self, Params, Value, SETTINGS};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::common::Noise;
use support::{assert_held, plugin};

const RATE: u32 = 48_000;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("{cmd:?}: {e} (the LADSPA SDK tools are in Debian's ladspa-sdk)")
    });
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{cmd:?} failed: {text}");
    text
}

struct Dir(PathBuf);
impl Dir {
    fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!("headroom-ladspa-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Interleaved stereo torture at full scale, a multiple of 256 frames:
/// a 12 kHz sine at 45° (true peak +3 dB over its samples), hard-clipped
/// loud noise, single-sample clicks, fs/4 squares and quiet passages the
/// AGC lifts.
fn torture() -> Vec<f32> {
    let mut noise = Noise::new(7);
    let seg = RATE as usize; // 1 s each
    let mut x = Vec::new();
    for part in 0..6 {
        for i in 0..seg {
            let t = i as f64 / f64::from(RATE);
            let fade = (i.min(seg - 1 - i) as f64 / 480.0).min(1.0) as f32;
            let (l, r) = match part {
                0 => {
                    let s = (2.0 * std::f64::consts::PI * 12_000.0 * t
                        + std::f64::consts::FRAC_PI_4)
                        .sin() as f32;
                    (s * fade, s * fade)
                }
                1 => (
                    (noise.next() * 4.0).clamp(-1.0, 1.0),
                    (noise.next() * 4.0).clamp(-1.0, 1.0),
                ),
                2 => {
                    let c = if i % 4_800 == 100 { 1.0 } else { 0.0 };
                    (c, -c)
                }
                3 => {
                    let s = if (i / 2) % 2 == 0 { 1.0 } else { -1.0 };
                    (s, s)
                }
                4 => (noise.next() * 0.01, noise.next() * 0.01),
                _ => (noise.next().clamp(-1.0, 1.0), noise.next() * 0.3),
            };
            x.push(l);
            x.push(r);
        }
    }
    assert_eq!(x.len() / 2 % 256, 0);
    x
}

fn write_wav(path: &Path, interleaved: &[f32], float: bool) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: RATE,
        bits_per_sample: if float { 32 } else { 16 },
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in interleaved {
        if float {
            w.write_sample(s).unwrap();
        } else {
            w.write_sample((s * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16)
                .unwrap();
        }
    }
    w.finalize().unwrap();
}

fn read_wav(path: &Path) -> Vec<f32> {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    assert_eq!((spec.channels, spec.sample_rate), (2, RATE));
    match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(Result::unwrap).collect(),
        hound::SampleFormat::Int => r
            .samples::<i32>()
            .map(|s| s.unwrap() as f32 / (1u32 << (spec.bits_per_sample - 1)) as f32)
            .collect(),
    }
}

/// The dsp-core chain over `interleaved`, in 1024-frame calls.
fn core_chain(interleaved: &[f32], p: &Params) -> Vec<f32> {
    let config = ChainConfig {
        sample_rate_hz: RATE,
        channels: 2,
    };
    let mut chain = Chain::<2>::with_params(config, p).unwrap();
    let mut out = interleaved.to_vec();
    for block in out.chunks_mut(2 * 1024) {
        chain.process_interleaved(block);
    }
    out
}

/// Control values in port order for `p`, as a host's command line takes them.
fn control_args(p: &Params) -> Vec<String> {
    SETTINGS
        .iter()
        .map(|s| headroom_ladspa::ports::to_port(s, (s.get)(p)).to_string())
        .collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn analyseplugin_lists_both_plugins_with_their_controls() {
    let text = run(Command::new("analyseplugin").arg(plugin()));
    for want in [
        "Plugin Label: \"headroom_mono\"",
        "Plugin Label: \"headroom_stereo\"",
        "\"in.left\" input, audio",
        "\"out.right\" output, audio",
        "\"limiter.ceiling_dbtp\" input, control, -4 to 0, default -1",
        "\"agc.target_lufs\" input, control, -40 to -10.6667, default -18",
        "\"compressor.detector\" input, control, 0 to 1, default 1, integer",
        "\"bypass\" input, control, toggled, default 0",
        "\"latency\" output, control",
    ] {
        assert!(
            text.contains(want),
            "analyseplugin output lacks {want:?}:\n{text}"
        );
    }
    // The SDK's own checks of the descriptor (run as a separate mode).
    assert!(
        !text.contains("ERROR") && !text.contains("Warning"),
        "{text}"
    );
}

#[test]
fn applyplugin_holds_the_ceiling_and_matches_the_core_chain() {
    let dir = Dir::new("apply");
    let (input, output) = (dir.0.join("in.wav"), dir.0.join("out.wav"));
    let x = torture();
    write_wav(&input, &x, false);
    // The limiter alone (the `transparent` profile's chain), so that it
    // acts on every part; the AGC would pull this material well down.
    let mut p = Params::default();
    p.agc.enabled = false;
    p.compressor.enabled = false;
    run(Command::new("applyplugin")
        .arg(&input)
        .arg(&output)
        .arg(plugin())
        .arg("headroom_stereo")
        .args(control_args(&p)));
    let got = read_wav(&output);
    // What the host read: the 16-bit input.
    let want = core_chain(&read_wav(&input), &p);
    // 16-bit output: one step of rounding.
    let d = max_diff(&got, &want);
    assert!(d <= 1.0 / 32_768.0, "differs from the core chain by {d}");
    assert_held(&got, -1.0);
}

#[test]
fn sox_runs_it_with_settings_and_matches_the_core_chain() {
    let dir = Dir::new("sox");
    let (input, output) = (dir.0.join("in.wav"), dir.0.join("out.wav"));
    let x = torture();
    write_wav(&input, &x, true);
    let mut p = Params::default();
    for (key, v) in [
        ("limiter.ceiling_dbtp", Value::Number(-3.0)),
        ("agc.enabled", Value::Bool(false)),
        ("compressor.detector", Value::Choice("peak")),
        ("compressor.ratio", Value::Number(4.0)),
        // Pushes the compressed peaks into the limiter.
        ("compressor.makeup_db", Value::Number(12.0)),
    ] {
        params::set(&mut p, key, v).unwrap();
    }
    run(Command::new("sox")
        .args(["-q", "-D"])
        .arg(&input)
        .args(["-e", "floating-point", "-b", "32"])
        .arg(&output)
        .arg("ladspa")
        .arg(plugin())
        .arg("headroom_stereo")
        .args(control_args(&p))
        // sox 14.4.2 wants a value for every control port, outputs
        // included; it hands those to the plugin, which overwrites them.
        .args(["0"; headroom_ladspa::ports::METERS.len()]));
    let got = read_wav(&output);
    // sox carries samples as 32-bit integers between file and effect: the
    // reference gets the input as sox passes it on without the effect.
    let seen = dir.0.join("seen.wav");
    run(Command::new("sox")
        .args(["-q", "-D"])
        .arg(&input)
        .args(["-e", "floating-point", "-b", "32"])
        .arg(&seen));
    let want = core_chain(&read_wav(&seen), &p);
    let d = max_diff(&got, &want);
    eprintln!("sox: max difference from the core chain {d:e}");
    assert!(d <= 1e-7, "differs from the core chain by {d}");
    assert_held(&got, -3.0);
}
