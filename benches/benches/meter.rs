//! Loudness meter cost per stereo frame at 48 kHz, with and without true
//! peak, against the `ebur128` crate on the same signals.
//!
//! Signals (10 s, generated here):
//! * `programme`: pink-ish noise with a syllabic (4 Hz) and a phrase-level
//!   (0.3 Hz) envelope, partly correlated channels, peaks near −1 dBFS — the
//!   kind of material the daemon meters all day;
//! * `steady`: stationary white noise at −12 dBFS RMS, where no block is
//!   quiet enough for the true-peak skip bound: the detector's worst case.
//!
//! Each iteration feeds the next block (128 or 1024 frames) of the looping
//! signal, so the meter's state evolves as in a live stream; readings are
//! not queried per block (the `ebur128` crate rescans its 3 s window on each
//! query, ours are O(1)), so this is the cost of measuring. Throughput is in
//! frames, so criterion reports time per stereo frame.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dsp_core::dsp::isa::Isa;
use dsp_core::dsp::loudness::LoudnessMeter;
use ebur128::{EbuR128, Mode};
use std::hint::black_box;

const RATE_HZ: u32 = 48_000;
const SECONDS: usize = 10;

struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// Planar stereo signals `[left, right]`.
fn programme() -> [Vec<f32>; 2] {
    let frames = RATE_HZ as usize * SECONDS;
    let mut rng = Lcg(1);
    // Paul Kellet's economy pink filter per channel, plus a shared component.
    let mut state = [[0.0f32; 3]; 3];
    let pink = |s: &mut [f32; 3], w: f32| {
        s[0] = 0.99765 * s[0] + w * 0.099_046;
        s[1] = 0.963 * s[1] + w * 0.296_516_4;
        s[2] = 0.57 * s[2] + w * 1.052_691_3;
        s[0] + s[1] + s[2] + w * 0.1848
    };
    let mut out = [vec![0.0f32; frames], vec![0.0f32; frames]];
    for n in 0..frames {
        let t = n as f32 / RATE_HZ as f32;
        let syllable = 0.55 + 0.45 * (2.0 * std::f32::consts::PI * 4.0 * t).sin();
        let phrase = 0.3 + 0.7 * (0.5 + 0.5 * (2.0 * std::f32::consts::PI * 0.3 * t).sin());
        let env = syllable * phrase;
        let common = pink(&mut state[2], rng.uniform());
        for (ch, o) in out.iter_mut().enumerate() {
            let own = pink(&mut state[ch], rng.uniform());
            o[n] = env * (0.6 * common + 0.4 * own);
        }
    }
    let peak = out.iter().flatten().fold(0.0f32, |m, v| m.max(v.abs()));
    let gain = 0.89 / peak;
    for v in out.iter_mut().flatten() {
        *v *= gain;
    }
    out
}

fn steady() -> [Vec<f32>; 2] {
    let frames = RATE_HZ as usize * SECONDS;
    let mut rng = Lcg(2);
    // Uniform noise with RMS 0.25 (−12 dBFS): amplitude 0.25·√3.
    let a = 0.25 * 3.0f32.sqrt();
    [(); 2].map(|_| (0..frames).map(|_| a * rng.uniform()).collect())
}

fn bench_meter(c: &mut Criterion) {
    for (name, signal) in [("programme", programme()), ("steady", steady())] {
        let frames = signal[0].len();
        let interleaved: Vec<f32> = (0..frames)
            .flat_map(|n| [signal[0][n], signal[1][n]])
            .collect();
        let mut group = c.benchmark_group(format!("meter_48k_stereo/{name}"));
        for block in [128usize, 1024] {
            group.throughput(Throughput::Elements(block as u64));
            for (true_peak, isa) in [(false, Isa::Avx2), (true, Isa::Avx2), (true, Isa::Portable)] {
                let label = match (true_peak, isa) {
                    (false, _) => "headroom",
                    (true, Isa::Avx2) => "headroom+tp",
                    (true, Isa::Portable) => "headroom+tp portable",
                };
                group.bench_with_input(BenchmarkId::new(label, block), &block, |b, &block| {
                    let mut meter = LoudnessMeter::<2>::new(RATE_HZ, 2).unwrap();
                    meter.set_isa(isa);
                    meter.set_true_peak_enabled(true_peak);
                    let mut pos = 0;
                    b.iter(|| {
                        if pos + block > frames {
                            pos = 0;
                        }
                        meter.process_planar(&[
                            &signal[0][pos..pos + block],
                            &signal[1][pos..pos + block],
                        ]);
                        pos += block;
                    });
                    black_box(meter.loudness_global());
                });
                if isa == Isa::Portable {
                    continue;
                }
                let label = if true_peak { "ebur128+tp" } else { "ebur128" };
                group.bench_with_input(BenchmarkId::new(label, block), &block, |b, &block| {
                    let mut mode = Mode::I | Mode::LRA | Mode::M | Mode::S | Mode::SAMPLE_PEAK;
                    if true_peak {
                        mode |= Mode::TRUE_PEAK;
                    }
                    let mut meter = EbuR128::new(2, RATE_HZ, mode).unwrap();
                    let mut pos = 0;
                    b.iter(|| {
                        if pos + block > frames {
                            pos = 0;
                        }
                        meter
                            .add_frames_f32(&interleaved[2 * pos..2 * (pos + block)])
                            .unwrap();
                        pos += block;
                    });
                    black_box(meter.loudness_global().unwrap());
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench_meter);
criterion_main!(benches);
