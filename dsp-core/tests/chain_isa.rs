//! The chain's instruction-set builds (`dsp::isa`) must agree to rounding:
//! the AVX2 build is the same source with wider vectors, and fused
//! multiply-adds (rounded once) in its filter kernels. Anything more than
//! rounding apart (a reordered reduction that changes a decision, a kernel
//! reading the wrong samples) would be a bug.

mod common;

use common::*;
use dsp_core::dsp::chain::{Chain, ChainConfig};
use dsp_core::dsp::isa::Isa;
use dsp_core::params::{Detector, Params};

/// Loud noise with clicks, NaNs and a full-scale square burst: every path
/// of the side chain and limiter is exercised.
fn torture(rate: u32, channels: usize, seconds: f64) -> Vec<f32> {
    let n = (seconds * rate as f64) as usize;
    let mut noise = Noise::new(7);
    let mut out = Vec::with_capacity(channels * n);
    for i in 0..n {
        let env = if (i / 4800) % 3 == 0 { 0.05 } else { 1.5 };
        for c in 0..channels {
            let mut v = noise.next() * env * (1.0 - 0.1 * c as f32);
            if i % 9973 == 0 {
                v = 4.0;
            }
            if i % 31_337 == 5 {
                v = f32::NAN;
            }
            if (n / 2..n / 2 + 2400).contains(&i) {
                v = if (i / 12) % 2 == 0 { 1.0 } else { -1.0 };
            }
            out.push(v);
        }
    }
    out
}

/// The output, the build used, and the meters at the end: momentary,
/// short-term and integrated loudness (LUFS), true peak of the last
/// window (dBTP), AGC gain (dB).
fn run(
    rate: u32,
    channels: usize,
    isa: Isa,
    input: &[f32],
    planar: bool,
) -> (Vec<f32>, Isa, [f64; 5]) {
    let mut chain = Chain::<8>::new(ChainConfig {
        sample_rate_hz: rate,
        channels,
    })
    .unwrap();
    let used = chain.set_isa(isa);
    let mut out = input.to_vec();
    let block = 2 * 333 * channels;
    for (k, chunk) in out.chunks_mut(block).enumerate() {
        // Live parameter changes part-way: lookahead, ceiling, detector, bypass.
        if k == 40 {
            let mut p = Params::default();
            p.limiter.lookahead_ms = 0.7;
            p.limiter.ceiling_dbtp = -3.0;
            p.compressor.detector = Detector::Rms;
            chain.set_params(&p).unwrap();
        }
        if k == 80 {
            let p = Params {
                bypass: true,
                ..Params::default()
            };
            chain.set_params(&p).unwrap();
        }
        if planar {
            let mut planes = deinterleave(chunk, channels);
            let mut refs: Vec<&mut [f32]> = planes.iter_mut().map(|p| p.as_mut_slice()).collect();
            chain.process_planar(&mut refs);
            for (f, frame) in chunk.chunks_exact_mut(channels).enumerate() {
                for (c, s) in frame.iter_mut().enumerate() {
                    *s = planes[c][f];
                }
            }
        } else {
            chain.process_interleaved(chunk);
        }
    }
    let m = chain.take_meters();
    let meters = [
        m.input_momentary_lufs,
        m.input_shortterm_lufs,
        m.input_integrated_lufs,
        m.input_true_peak_dbtp as f64,
        m.agc_gain_db as f64,
    ];
    (out, used, meters)
}

/// How far apart the builds may be, per sample (−120 dBFS). Rounding in
/// the true-peak readings moves the limiter's gain by about 1e-7 (the
/// largest difference seen on this material is 2.8e-7, at 48 kHz). A
/// reading landing on the other side of one of the limiter's thresholds
/// (the hold's, the release's snap) could move a gain by more, up to one
/// snap step (0.0004 dB, 5e-5 of full scale); this material shows none,
/// and if this ever fails, that is the first place to look.
const MAX_DIFFERENCE: f32 = 1e-6;

#[test]
fn every_instruction_set_agrees_to_rounding() {
    let best = Isa::detect();
    if best == Isa::Portable {
        eprintln!("only the portable build runs on this CPU: nothing to compare");
        return;
    }
    for (rate, channels, planar) in [
        (48_000, 2, false),
        (44_100, 2, true),
        (96_000, 6, false),
        (192_000, 1, false),
    ] {
        let input = torture(rate, channels, 3.0);
        let (portable, used_p, meters_p) = run(rate, channels, Isa::Portable, &input, planar);
        let (wide, used_w, meters_w) = run(rate, channels, best, &input, planar);
        // Readings agree to far better than they are shown (0.1 dB/LU).
        for (k, (a, b)) in meters_p.iter().zip(&meters_w).enumerate() {
            assert!(
                (a - b).abs() <= 1e-4,
                "{rate} Hz, {channels} ch: meter {k} reads {a} portable, {b} {best:?}"
            );
        }
        assert_eq!((used_p, used_w), (Isa::Portable, best));
        let (mut worst, mut at, mut differ) = (0.0f32, 0, 0);
        for (i, (a, b)) in portable.iter().zip(&wide).enumerate() {
            let d = (a - b).abs();
            differ += (a.to_bits() != b.to_bits()) as usize;
            if d > worst {
                (worst, at) = (d, i);
            }
        }
        eprintln!(
            "{rate} Hz, {channels} ch: {differ} of {} samples differ, by at most {worst:e} (sample {at})",
            wide.len()
        );
        assert!(
            worst <= MAX_DIFFERENCE,
            "{rate} Hz, {channels} ch: {best:?} differs from portable by {worst} at sample {at}"
        );
        // The comparison is not vacuous: before the parameter changes the
        // chain was limiting loud clicks and noise.
        let limited = &wide[..40 * 2 * 333 * channels];
        let peak = limited.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.1 && peak <= 1.0, "peak {peak}");
    }
}
