//! The limiter's promises, checked against an independent 16× reference:
//! the true-peak ceiling holds on inter-sample torture, the response is flat
//! when not limiting, latency is exact, and live changes do not click.

mod common;

use common::*;
use dsp_core::dsp::chain::{Chain, ChainConfig};
use dsp_core::params::{self, Params, Value};

/// Only the limiter acting: the AGC and compressor off.
fn limiter_only(ceiling_dbtp: f32) -> Params {
    let mut p = Params::default();
    p.agc.enabled = false;
    p.compressor.enabled = false;
    p.limiter.ceiling_dbtp = ceiling_dbtp;
    p
}

fn run(p: &Params, rate: u32, channels: usize, input: &[f32]) -> Vec<f32> {
    let mut chain = Chain::<8>::with_params(
        ChainConfig {
            sample_rate_hz: rate,
            channels,
        },
        p,
    )
    .unwrap();
    let mut out = input.to_vec();
    // Odd block sizes on purpose: results must not depend on them.
    let mut start = 0;
    let sizes = [1usize, 7, 64, 480, 33, 1024];
    let mut k = 0;
    while start < out.len() {
        let len = (sizes[k % sizes.len()] * channels).min(out.len() - start);
        chain.process_interleaved(&mut out[start..start + len]);
        start += len;
        k += 1;
    }
    out
}

fn assert_ceiling(name: &str, p: &Params, rate: u32, channels: usize, input: &[f32]) {
    let out = run(p, rate, channels, input);
    assert!(
        out.iter().all(|s| s.is_finite()),
        "{name}: non-finite output"
    );
    let tp = db(reference_true_peak(&out, channels));
    let ceiling = p.limiter.ceiling_dbtp as f64;
    assert!(
        tp <= ceiling + 0.005,
        "{name} @ {rate} Hz: true peak {tp:.3} dBTP over ceiling {ceiling}"
    );
}

#[test]
fn ceiling_holds_on_intersample_torture() {
    for rate in [44_100, 48_000, 96_000, 192_000] {
        for ceiling in [-1.0f32, -0.1] {
            let p = limiter_only(ceiling);
            // 12 kHz at 45°: samples at ±0.707·A, true peak A (+3 dB).
            let x = sine(
                rate,
                2,
                12_000.0,
                2.0,
                std::f64::consts::FRAC_PI_4,
                1.0,
                0.0,
            );
            assert_ceiling("12 kHz 45°", &p, rate, 2, &x);
            // Near Nyquist-ish high tones, loud.
            let x = sine(rate, 2, 19_000.0, 1.5, 0.3, 1.0, 0.0);
            assert_ceiling("19 kHz", &p, rate, 2, &x);
            // Single-sample clicks, alternating sign, on silence and on a tone.
            let mut x = sine(rate, 2, 1000.0, 0.1, 0.0, 1.0, 0.0);
            for i in (1000..x.len() / 2).step_by(3001) {
                let s = if (i / 3001) % 2 == 0 { 4.0 } else { -4.0 };
                x[2 * i] = s;
                x[2 * i + 1] = -s;
            }
            assert_ceiling("clicks", &p, rate, 2, &x);
            // Full-band white noise (the high band carries most inter-sample peaks).
            let mut n = Noise::new(rate as u64);
            let x: Vec<f32> = (0..rate as usize).map(|_| n.next() * 1.5).collect();
            assert_ceiling("white noise", &p, rate, 2, &x);
            // Hard-clipped loud noise.
            let mut n = Noise::new(7);
            let x: Vec<f32> = (0..rate as usize * 2)
                .map(|_| (n.next() * 4.0).clamp(-1.0, 1.0))
                .collect();
            assert_ceiling("clipped noise", &p, rate, 2, &x);
            // Square waves: at 1 kHz and at fs/4 (where the sinc rings most).
            for period in [rate as usize / 1000, 4] {
                let x: Vec<f32> = (0..rate as usize * 2)
                    .map(|i| {
                        if (i / 2 / (period / 2).max(1)) % 2 == 0 {
                            1.0
                        } else {
                            -1.0
                        }
                    })
                    .collect();
                assert_ceiling("square", &p, rate, 2, &x);
            }
        }
    }
}

/// Quiet blocks skip the side chain's high-band guard (their bound cannot
/// reach the aim). Content the detector barely sees — tones between 20 kHz
/// and Nyquist — rising out of quiet passages, in bursts that start and end
/// anywhere in a block, must still be held under the ceiling.
#[test]
fn ceiling_holds_on_ultrasonic_bursts_rising_out_of_quiet() {
    for rate in [44_100, 48_000] {
        let p = limiter_only(-1.0);
        for freq_hz in [20_500.0, 21_500.0] {
            let n = rate as usize * 3;
            let mut x = Vec::with_capacity(2 * n);
            for i in 0..n {
                let t = i as f64 / rate as f64;
                // 50 ms bursts every 130 ms, their level rising from -40 dB
                // to +6 dB over the three seconds; quiet floor in between.
                let level = 0.01 * 10f64.powf(2.3 * t / 3.0);
                let on = (i % (rate as usize * 13 / 100)) < rate as usize / 20;
                let a = if on { level } else { 0.003 };
                let v = (a * (2.0 * std::f64::consts::PI * freq_hz * t).sin()) as f32;
                x.push(v);
                x.push(-v);
            }
            assert_ceiling(&format!("{freq_hz} Hz bursts"), &p, rate, 2, &x);
        }
    }
}

/// The chain shares the input meter's detector with the limiter and bounds
/// what the AGC and compressor gains do to it; fast, deep compression and
/// heavy makeup ahead of the limiter must not let a peak through.
#[test]
fn ceiling_holds_with_fast_dynamics_ahead_of_the_limiter() {
    for rate in [44_100, 48_000, 96_000, 192_000] {
        let mut p = Params::default();
        p.limiter.ceiling_dbtp = -1.0;
        p.compressor.attack_ms = 0.1;
        p.compressor.release_ms = 5.0;
        p.compressor.ratio = 20.0;
        p.compressor.threshold_db = -40.0;
        p.compressor.knee_db = 0.0;
        p.compressor.makeup_db = 24.0;
        p.compressor.detector = params::Detector::Peak;
        // Bursts: the compressor slams on at each onset and lets go after.
        let mut n = Noise::new(rate as u64 + 1);
        let x: Vec<f32> = (0..rate as usize * 2)
            .flat_map(|i| {
                let on = (i / (rate as usize / 20)) % 2 == 0;
                let v = if on { n.next() * 1.2 } else { n.next() * 0.01 };
                [v, -v]
            })
            .collect();
        assert_ceiling("noise bursts, fast compressor", &p, rate, 2, &x);
        // Clicks on a quiet tone: gains jump at each click.
        let mut x = sine(rate, 2, 3000.0, 1.0, 0.0, 0.05, 0.0);
        for i in (500..x.len() / 2).step_by(997) {
            x[2 * i] = 2.0;
            x[2 * i + 1] = -2.0;
        }
        assert_ceiling("clicks, fast compressor", &p, rate, 2, &x);
        // 12 kHz at 45° pulsing in and out.
        let mut x = sine(
            rate,
            2,
            12_000.0,
            2.0,
            std::f64::consts::FRAC_PI_4,
            1.0,
            0.0,
        );
        for (i, s) in x.iter_mut().enumerate() {
            if (i / 2 / (rate as usize / 50)) % 2 == 1 {
                *s *= 0.02;
            }
        }
        assert_ceiling("12 kHz 45° pulses, fast compressor", &p, rate, 2, &x);
        // Hard-clipped noise and fs/4 squares, gated: full-band peaks
        // (the high-band guard's case) under a pumping gain.
        let mut n = Noise::new(11);
        let x: Vec<f32> = (0..rate as usize * 2)
            .map(|i| {
                let on = (i / 2 / (rate as usize / 30)) % 2 == 0;
                let v = (n.next() * 4.0).clamp(-1.0, 1.0);
                if on {
                    v
                } else {
                    v * 0.03
                }
            })
            .collect();
        assert_ceiling("clipped noise bursts, fast compressor", &p, rate, 2, &x);
        let x: Vec<f32> = (0..rate as usize * 2)
            .map(|i| {
                let level = if (i / 2 / (rate as usize / 40)) % 2 == 0 {
                    1.0
                } else {
                    0.05
                };
                if (i / 2 / 2) % 2 == 0 {
                    level
                } else {
                    -level
                }
            })
            .collect();
        assert_ceiling("fs/4 square bursts, fast compressor", &p, rate, 2, &x);
    }
}

#[test]
fn flat_response_and_exact_latency_when_not_limiting() {
    let rate = 48_000;
    let p = limiter_only(-1.0);
    let chain = Chain::<2>::with_params(
        ChainConfig {
            sample_rate_hz: rate,
            channels: 2,
        },
        &p,
    )
    .unwrap();
    let latency = chain.latency_frames();
    assert!(
        latency as f64 <= 0.0015 * rate as f64 + 0.5,
        "latency {latency} frames over 1.5 ms"
    );
    // An impulse below the ceiling comes out unchanged, exactly `latency` later.
    let mut x = vec![0.0f32; 2 * 4096];
    x[2 * 100] = 0.5;
    x[2 * 100 + 1] = -0.25;
    let y = run(&p, rate, 2, &x);
    for (i, &a) in y.iter().enumerate().skip(2 * latency) {
        assert_eq!(a, x[i - 2 * latency], "sample {i}");
    }
    // Tones from 20 Hz to 20 kHz at -6 dBFS: gain exactly 0 dB (±0.1 dB asked).
    for f in [20.0, 100.0, 1000.0, 5000.0, 10_000.0, 15_000.0, 20_000.0] {
        let x = sine(rate, 2, f, 0.5, 0.0, 0.5, 0.05);
        let y = run(&p, rate, 2, &x);
        let rms = |v: &[f32]| {
            (v.iter().map(|s| (*s as f64).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
        };
        let gain_db = db(rms(&y[2 * latency..]) / rms(&x[..x.len() - 2 * latency]));
        assert!(gain_db.abs() < 0.1, "{f} Hz: {gain_db:.4} dB");
    }
}

#[test]
fn limiting_reduces_to_the_ceiling_not_far_below() {
    // A steady 1 kHz tone 6 dB over the ceiling comes out at the ceiling
    // (within the detector margin), not squashed further.
    let rate = 48_000;
    let p = limiter_only(-1.0);
    let x = sine(rate, 2, 1000.0, 1.0, 0.0, 2.0, 0.0);
    let y = run(&p, rate, 2, &x);
    let tail = &y[y.len() / 2..];
    let peak = tail.iter().fold(0.0f32, |m, s| m.max(s.abs())) as f64;
    assert!(db(peak) > -1.4 && db(peak) <= -1.0, "{}", db(peak));
}

/// Largest second difference: a click shows up as a spike in it.
fn max_second_difference(x: &[f32], channels: usize) -> f64 {
    let ch = deinterleave(x, channels);
    ch.iter()
        .map(|c| {
            c.windows(3)
                .map(|w| (w[0] as f64 - 2.0 * w[1] as f64 + w[2] as f64).abs())
                .fold(0.0, f64::max)
        })
        .fold(0.0, f64::max)
}

#[test]
fn live_parameter_changes_do_not_click() {
    let rate = 48_000;
    // A 100 Hz tone at -3 dBFS: steady second difference A·(2π f/fs)² ≈ 1.2e-4.
    let amp = 0.707f64;
    let steady = amp * (2.0 * std::f64::consts::PI * 100.0 / rate as f64).powi(2);
    let changes: &[(&str, Value)] = &[
        ("limiter.ceiling_dbtp", Value::Number(-12.0)),
        ("limiter.lookahead_ms", Value::Number(0.5)),
        ("compressor.threshold_db", Value::Number(-40.0)),
        ("compressor.ratio", Value::Number(10.0)),
        ("compressor.enabled", Value::Bool(false)),
        ("limiter.enabled", Value::Bool(false)),
        ("agc.target_lufs", Value::Number(-30.0)),
        ("bypass", Value::Bool(true)),
        ("bypass", Value::Bool(false)),
        ("limiter.lookahead_ms", Value::Number(1.5)),
        ("limiter.enabled", Value::Bool(true)),
        ("limiter.ceiling_dbtp", Value::Number(-1.0)),
    ];
    for (key, value) in changes {
        let mut p = Params::default();
        p.limiter.ceiling_dbtp = -6.0; // limiting the tone throughout
        let mut chain = Chain::<2>::with_params(
            ChainConfig {
                sample_rate_hz: rate,
                channels: 2,
            },
            &p,
        )
        .unwrap();
        let mut x = sine(rate, 2, 100.0, amp, 0.0, 3.0, 0.0);
        let half = x.len() / 2;
        let (a, b) = x.split_at_mut(half);
        chain.process_interleaved(a);
        params::set(&mut p, key, *value).unwrap();
        chain.set_params(&p).unwrap();
        chain.process_interleaved(b);
        // Skip the start-up (limiter engaging on the first peak).
        let around = &x[half - rate as usize / 2 * 2..half + rate as usize * 2];
        let worst = max_second_difference(around, 2);
        assert!(
            worst < steady * 3.0,
            "{key}: second difference {worst:.2e} vs steady {steady:.2e}"
        );
    }
}

/// Regression: a falling ceiling used to reach the last-line clamp at once,
/// clipping the frames already in the delay line (planned under the old
/// ceiling): a −1 → −7 dBTP change on a 300 Hz tone gave a second
/// difference 11× the tone's own. Found by the LADSPA plugin's click test.
#[test]
fn a_falling_ceiling_does_not_clip_what_is_in_flight() {
    let rate = 48_000;
    for (freq, block) in [(300.0, 480), (300.0, 64), (1000.0, 256), (3000.0, 1024)] {
        let amp = 0.9f64;
        let steady = amp * (2.0 * std::f64::consts::PI * freq / rate as f64).powi(2);
        let mut p = limiter_only(-1.0);
        let mut chain = Chain::<2>::with_params(
            ChainConfig {
                sample_rate_hz: rate,
                channels: 2,
            },
            &p,
        )
        .unwrap();
        let mut x = sine(rate, 2, freq, amp, 0.0, 2.0, 0.01);
        let half = x.len() / 2;
        for (i, b) in x.chunks_mut(2 * block).enumerate() {
            if (i * block..(i + 1) * block).contains(&(half / 2)) {
                params::set(&mut p, "limiter.ceiling_dbtp", Value::Number(-7.0)).unwrap();
                chain.set_params(&p).unwrap();
            }
            chain.process_interleaved(b);
        }
        let around = &x[half - rate as usize / 2..half + rate as usize / 2];
        let worst = max_second_difference(around, 2);
        assert!(
            worst < steady * 3.0,
            "{freq} Hz, {block}-frame calls: second difference {worst:.2e} vs steady {steady:.2e}"
        );
    }
}

#[test]
fn non_finite_input_gives_finite_output() {
    let p = Params::default();
    let mut n = Noise::new(3);
    let mut x: Vec<f32> = (0..48_000 * 2).map(|_| n.next()).collect();
    for (i, s) in x.iter_mut().enumerate() {
        match i % 97 {
            0 => *s = f32::NAN,
            1 => *s = f32::INFINITY,
            2 => *s = f32::NEG_INFINITY,
            3 => *s = f32::MAX,
            4 => *s = 1e-40, // denormal
            _ => {}
        }
    }
    let y = run(&p, 48_000, 2, &x);
    assert!(y.iter().all(|s| s.is_finite()));
    let ceiling = dsp_core::units::db_to_amp(p.limiter.ceiling_dbtp);
    assert!(y.iter().all(|s| s.abs() <= ceiling));
}

#[test]
fn bypass_is_bit_exact_and_latency_matched() {
    let rate = 48_000;
    let p = Params {
        bypass: true,
        ..Params::default()
    };
    let mut chain = Chain::<2>::with_params(
        ChainConfig {
            sample_rate_hz: rate,
            channels: 2,
        },
        &p,
    )
    .unwrap();
    let latency = chain.latency_frames();
    let mut n = Noise::new(11);
    let x: Vec<f32> = (0..rate as usize * 2).map(|_| n.next() * 1.5).collect();
    let mut y = x.clone();
    chain.process_interleaved(&mut y);
    assert_eq!(&y[2 * latency..], &x[..x.len() - 2 * latency]);
}
