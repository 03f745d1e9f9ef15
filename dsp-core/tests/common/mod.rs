//! Shared helpers for the chain tests: signal generators and an independent
//! 16× oversampled true-peak reference (a long Kaiser-windowed sinc written
//! here, sharing nothing with the crate's detector).
#![allow(dead_code)]

use std::f64::consts::PI;

/// Deterministic xorshift noise in [-1, 1).
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next(&mut self) -> f32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// Interleaved sine, `channels` identical channels, with raised-cosine fades
/// of `fade_s` at both ends so no step edge adds overshoot of its own.
pub fn sine(
    rate: u32,
    channels: usize,
    freq_hz: f64,
    amp: f64,
    phase: f64,
    seconds: f64,
    fade_s: f64,
) -> Vec<f32> {
    let n = (seconds * rate as f64) as usize;
    let fade = (fade_s * rate as f64) as usize;
    let mut out = Vec::with_capacity(n * channels);
    for i in 0..n {
        let mut a = amp;
        if fade > 0 {
            if i < fade {
                a *= 0.5 - 0.5 * (PI * i as f64 / fade as f64).cos();
            } else if i >= n - fade {
                a *= 0.5 - 0.5 * (PI * (n - 1 - i) as f64 / fade as f64).cos();
            }
        }
        let v = (a * (2.0 * PI * freq_hz * i as f64 / rate as f64 + phase).sin()) as f32;
        for _ in 0..channels {
            out.push(v);
        }
    }
    out
}

pub fn deinterleave(x: &[f32], channels: usize) -> Vec<Vec<f32>> {
    (0..channels)
        .map(|c| x.iter().skip(c).step_by(channels).copied().collect())
        .collect()
}

fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let mut k = 1.0;
    while term > 1e-12 * sum {
        term *= (x / (2.0 * k)).powi(2);
        sum += term;
        k += 1.0;
    }
    sum
}

/// Independent true-peak reference: 16× oversampling with a ±64-tap Kaiser
/// (β = 10) windowed sinc, cutoff at 0.96 of Nyquist. Returns the largest
/// absolute value over all channels and phases (linear): every sample, and
/// every point between samples whose kernel lies wholly inside the buffer.
pub fn reference_true_peak(interleaved: &[f32], channels: usize) -> f64 {
    const PHASES: usize = 16;
    const HALF: isize = 64;
    let cutoff = 0.96;
    let beta = 10.0;
    let i0b = bessel_i0(beta);
    let mut table = vec![[0.0f64; (2 * HALF) as usize]; PHASES];
    for (p, row) in table.iter_mut().enumerate() {
        let frac = p as f64 / PHASES as f64;
        for (j, c) in row.iter_mut().enumerate() {
            let t = (j as isize - HALF + 1) as f64 - frac; // offset of tap from the interpolation point
            let s = if t.abs() < 1e-12 {
                cutoff
            } else {
                (PI * cutoff * t).sin() / (PI * t)
            };
            let r = t / HALF as f64;
            let w = if r.abs() >= 1.0 {
                0.0
            } else {
                bessel_i0(beta * (1.0 - r * r).sqrt()) / i0b
            };
            *c = s * w;
        }
    }
    let mut peak = 0.0f64;
    for ch in deinterleave(interleaved, channels) {
        let n = ch.len() as isize;
        for &s in &ch {
            peak = peak.max(s.abs() as f64);
        }
        // Only between samples whose whole kernel lies inside the buffer: a
        // buffer's ends are not steps to silence (the audio goes on), and
        // treating them so would add Gibbs ringing that is not in the signal.
        for i in HALF - 1..n - HALF {
            for row in table.iter().skip(1) {
                let mut acc = 0.0;
                for (j, &c) in row.iter().enumerate() {
                    acc += c * ch[(i + j as isize - HALF + 1) as usize] as f64;
                }
                peak = peak.max(acc.abs());
            }
        }
    }
    peak
}

pub fn db(x: f64) -> f64 {
    20.0 * x.log10()
}

/// Interleaved stereo limiter torture, one second each at `rate`: a 12 kHz
/// sine at 45° (true peak 3 dB over its samples, 10 ms fades), hard-clipped
/// noise at +12 dB, single-sample clicks of opposite sign per channel.
/// Shared by the plugin and C API host tests.
pub fn torture_stereo(rate: u32, seed: u64) -> Vec<f32> {
    let mut noise = Noise::new(seed);
    let seg = rate as usize;
    let fade_frames = rate as f64 / 100.0;
    let mut x = Vec::with_capacity(6 * seg);
    for i in 0..seg {
        let t = i as f64 / f64::from(rate);
        let fade = (i.min(seg - 1 - i) as f64 / fade_frames).min(1.0);
        let s = (fade * (2.0 * PI * 12_000.0 * t + PI / 4.0).sin()) as f32;
        x.extend([s, s]);
    }
    for _ in 0..seg {
        x.extend([
            (noise.next() * 4.0).clamp(-1.0, 1.0),
            (noise.next() * 4.0).clamp(-1.0, 1.0),
        ]);
    }
    for i in 0..seg {
        let c = if i % (seg / 10) == 100 { 1.0 } else { 0.0 };
        x.extend([c, -c]);
    }
    x
}
