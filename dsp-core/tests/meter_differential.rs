//! Differential tests against the `ebur128` crate (a port of libebur128, the
//! reference most loudness tools agree with): integrated loudness, loudness
//! range, and the final momentary and short-term readings on noise and
//! programme-like signals, to ±0.05 LU.
//!
//! The crate takes a short-term value for loudness range once per second;
//! this meter takes one every 100 ms (Tech 3342 asks for at least 10 Hz).
//! To compare like with like, the reference LRA pools ten crate instances
//! fed the same signal started 0, 100, …, 900 ms late
//! (`EbuR128::loudness_range_multiple`): together their 3 s windows end at
//! every 100 ms step, exactly the windows this meter uses.

use dsp_core::dsp::loudness::LoudnessMeter;
use ebur128::{EbuR128, Mode};

const TOL_LU: f64 = 0.05;

/// xorshift64* with Box–Muller Gaussians.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Planar signal of `seconds`, built from segments of white noise at random
/// RMS levels in `[lo_db, hi_db]` lasting 2–7 s, with silences of 1–3 s in
/// between one segment in four.
fn noise_segments(
    rate_hz: u32,
    channels: usize,
    seconds: f64,
    lo_db: f64,
    hi_db: f64,
    seed: u64,
) -> Vec<Vec<f32>> {
    let mut rng = Rng(seed);
    let total = (seconds * rate_hz as f64) as usize;
    let mut out: Vec<Vec<f32>> = (0..channels).map(|_| Vec::with_capacity(total)).collect();
    while out[0].len() < total {
        let silent = rng.uniform() < 0.25;
        let dur = if silent {
            1.0 + 2.0 * rng.uniform()
        } else {
            2.0 + 5.0 * rng.uniform()
        };
        let rms = if silent {
            0.0
        } else {
            10f64.powf((lo_db + (hi_db - lo_db) * rng.uniform()) / 20.0)
        };
        let n = ((dur * rate_hz as f64) as usize).min(total - out[0].len());
        for _ in 0..n {
            for plane in out.iter_mut() {
                plane.push((rms * rng.gauss()) as f32);
            }
        }
    }
    out
}

/// Programme-like stereo: pink-ish noise (one-pole cascade) with a 4 Hz
/// syllabic and a slow phrase envelope, partly correlated channels, a fade
/// in, a quiet bridge and a fade out.
fn programme(rate_hz: u32, seconds: f64, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng(seed);
    let fs = rate_hz as f64;
    let total = (seconds * fs) as usize;
    let mut state = [[0.0f64; 3]; 3];
    let pink = |s: &mut [f64; 3], w: f64| {
        s[0] = 0.99765 * s[0] + w * 0.0990460;
        s[1] = 0.96300 * s[1] + w * 0.2965164;
        s[2] = 0.57000 * s[2] + w * 1.0526913;
        (s[0] + s[1] + s[2] + w * 0.1848) * 0.05
    };
    let mut out: Vec<Vec<f32>> = (0..2).map(|_| Vec::with_capacity(total)).collect();
    for n in 0..total {
        let t = n as f64 / fs;
        let syllable = 0.55 + 0.45 * (2.0 * std::f64::consts::PI * 4.0 * t).sin();
        let phrase = 0.3 + 0.7 * (0.5 + 0.5 * (2.0 * std::f64::consts::PI * 0.07 * t).sin());
        let fades = (t / 5.0).min(1.0) * ((seconds - t) / 8.0).clamp(0.0, 1.0);
        let bridge = if (0.4 * seconds..0.55 * seconds).contains(&t) {
            0.08
        } else {
            1.0
        };
        let env = syllable * phrase * fades * bridge;
        let common = pink(&mut state[2], rng.gauss());
        for (ch, plane) in out.iter_mut().enumerate() {
            let own = pink(&mut state[ch], rng.gauss());
            plane.push((env * (0.7 * common + 0.5 * own)) as f32);
        }
    }
    out
}

fn interleave(planes: &[Vec<f32>], from: usize) -> Vec<f32> {
    let frames = planes[0].len();
    (from..frames)
        .flat_map(|n| planes.iter().map(move |p| p[n]))
        .collect()
}

struct Readings {
    integrated: f64,
    range: f64,
    momentary: f64,
    shortterm: f64,
}

fn ours<const C: usize>(rate_hz: u32, planes: &[Vec<f32>]) -> Readings {
    let mut meter = LoudnessMeter::<C>::new(rate_hz, planes.len()).unwrap();
    let frames = planes[0].len();
    let mut start = 0;
    // Uneven blocks, as a sound server delivers them.
    for size in [256usize, 1024, 37, 4800, 512].iter().cycle() {
        if start >= frames {
            break;
        }
        let end = (start + size).min(frames);
        let block: Vec<&[f32]> = planes.iter().map(|p| &p[start..end]).collect();
        meter.process_planar(&block);
        start = end;
    }
    Readings {
        integrated: meter.loudness_global(),
        range: meter.loudness_range(),
        momentary: meter.loudness_momentary(),
        shortterm: meter.loudness_shortterm(),
    }
}

fn reference(rate_hz: u32, planes: &[Vec<f32>]) -> Readings {
    let channels = planes.len() as u32;
    let step = rate_hz as usize / 10;
    let mut main =
        EbuR128::new(channels, rate_hz, Mode::I | Mode::LRA | Mode::M | Mode::S).unwrap();
    main.add_frames_f32(&interleave(planes, 0)).unwrap();
    let staggered: Vec<EbuR128> = (1..10)
        .map(|k| {
            let mut e = EbuR128::new(channels, rate_hz, Mode::LRA).unwrap();
            e.add_frames_f32(&interleave(planes, k * step)).unwrap();
            e
        })
        .collect();
    let range =
        EbuR128::loudness_range_multiple(std::iter::once(&main).chain(staggered.iter())).unwrap();
    Readings {
        integrated: main.loudness_global().unwrap(),
        range,
        momentary: main.loudness_momentary().unwrap(),
        shortterm: main.loudness_shortterm().unwrap(),
    }
}

fn compare<const C: usize>(name: &str, rate_hz: u32, planes: &[Vec<f32>]) {
    // Whole 100 ms steps, so the final M and S windows coincide.
    let step = rate_hz as usize / 10;
    let frames = planes[0].len() / step * step;
    let planes: Vec<Vec<f32>> = planes.iter().map(|p| p[..frames].to_vec()).collect();
    let a = ours::<C>(rate_hz, &planes);
    let b = reference(rate_hz, &planes);
    println!(
        "{name} @ {rate_hz} Hz: I {:.4} vs {:.4} ({:+.4}), LRA {:.4} vs {:.4} ({:+.4}), M {:+.4}, S {:+.4}",
        a.integrated,
        b.integrated,
        a.integrated - b.integrated,
        a.range,
        b.range,
        a.range - b.range,
        a.momentary - b.momentary,
        a.shortterm - b.shortterm,
    );
    assert!(
        b.integrated.is_finite() && b.range > 0.5,
        "{name}: degenerate reference"
    );
    assert!(
        (a.integrated - b.integrated).abs() <= TOL_LU,
        "{name}: integrated"
    );
    assert!((a.range - b.range).abs() <= TOL_LU, "{name}: range");
    assert!(
        (a.momentary - b.momentary).abs() <= TOL_LU,
        "{name}: momentary"
    );
    assert!(
        (a.shortterm - b.shortterm).abs() <= TOL_LU,
        "{name}: short-term"
    );
}

#[test]
fn noise_with_level_changes_and_pauses() {
    for (i, rate) in [48_000u32, 44_100, 96_000].into_iter().enumerate() {
        let planes = noise_segments(rate, 2, 60.0, -40.0, -10.0, 11 + i as u64);
        compare::<2>("noise 60 s", rate, &planes);
    }
}

#[test]
fn long_noise_programme_with_wide_range() {
    let planes = noise_segments(48_000, 2, 120.0, -55.0, -12.0, 5);
    compare::<2>("noise 120 s", 48_000, &planes);
}

#[test]
fn programme_like_signal() {
    for (i, rate) in [48_000u32, 44_100].into_iter().enumerate() {
        let planes = programme(rate, 90.0, 21 + i as u64);
        compare::<2>("programme 90 s", rate, &planes);
    }
}

#[test]
fn quiet_programme_near_the_absolute_gate() {
    // Levels straddling -70 LUFS exercise the absolute gate.
    let planes = noise_segments(48_000, 2, 60.0, -78.0, -55.0, 9);
    compare::<2>("quiet 60 s", 48_000, &planes);
}

#[test]
fn surround_5_1_with_lfe_content() {
    // LFE (channel 3) carries noise too: both meters must ignore it.
    let planes = noise_segments(48_000, 6, 30.0, -35.0, -15.0, 3);
    compare::<8>("5.1 30 s", 48_000, &planes);
}

#[test]
fn mono() {
    let planes = noise_segments(192_000, 1, 30.0, -30.0, -10.0, 4);
    compare::<1>("mono 30 s", 192_000, &planes);
}
