//! The chain's leveling promises, measured with the independent `ebur128`
//! crate: quiet and loud programmes land on the target, pauses are not
//! pumped, room tone is not boosted; and property tests over random
//! parameters and signals (finite in → finite out, ceiling held).

mod common;

use common::*;
use dsp_core::dsp::chain::{Chain, ChainConfig};
use dsp_core::params::{Detector, Params};
use ebur128::{EbuR128, Mode};
use proptest::prelude::*;

const RATE: u32 = 48_000;

/// Speech-like programme: pink-ish noise shaped by a 4 Hz syllable envelope
/// with phrase pauses, scaled to roughly `level_db` dBFS RMS.
fn programme(seconds: f64, level_db: f64, seed: u64) -> Vec<f32> {
    let n = (seconds * RATE as f64) as usize;
    let mut noise = Noise::new(seed);
    let (mut b0, mut b1, mut b2) = (0.0f32, 0.0f32, 0.0f32);
    let amp = 10f64.powf(level_db / 20.0) as f32 * 3.0;
    let mut out = Vec::with_capacity(2 * n);
    for i in 0..n {
        let w = noise.next();
        // Paul Kellet's economy pink filter.
        b0 = 0.99765 * b0 + w * 0.0990460;
        b1 = 0.96300 * b1 + w * 0.2965164;
        b2 = 0.57000 * b2 + w * 1.0526913;
        let pink = (b0 + b1 + b2 + w * 0.1848) * 0.2;
        let t = i as f64 / RATE as f64;
        let syllable = (0.5 - 0.5 * (2.0 * std::f64::consts::PI * 4.0 * t).cos()) as f32;
        let phrase = if (t % 5.0) < 4.0 { 1.0 } else { 0.0 };
        let v = pink * syllable * phrase * amp;
        out.push(v);
        out.push(v * 0.9);
    }
    out
}

fn process(p: &Params, x: &mut [f32]) -> usize {
    let mut chain = Chain::<2>::with_params(
        ChainConfig {
            sample_rate_hz: RATE,
            channels: 2,
        },
        p,
    )
    .unwrap();
    for block in x.chunks_mut(2 * 256) {
        chain.process_interleaved(block);
    }
    chain.latency_frames()
}

fn integrated(x: &[f32]) -> f64 {
    let mut m = EbuR128::new(2, RATE, Mode::I | Mode::TRUE_PEAK).unwrap();
    m.add_frames_f32(x).unwrap();
    m.loudness_global().unwrap()
}

fn true_peak_db(x: &[f32]) -> f64 {
    let mut m = EbuR128::new(2, RATE, Mode::TRUE_PEAK).unwrap();
    m.add_frames_f32(x).unwrap();
    db(m.true_peak(0).unwrap().max(m.true_peak(1).unwrap()))
}

#[test]
fn quiet_and_loud_programmes_land_on_target() {
    let p = Params::default();
    for (name, level) in [("quiet", -30.0), ("normal", -22.0), ("loud", -8.0)] {
        let mut x = programme(90.0, level, 5);
        let input_lufs = integrated(&x);
        process(&p, &mut x);
        // Judge the settled part: after 30 s of convergence.
        let settled = &x[2 * RATE as usize * 30..];
        let out_lufs = integrated(settled);
        assert!(
            (out_lufs - p.agc.target_lufs as f64).abs() <= 1.0,
            "{name}: input {input_lufs:.1} LUFS → output {out_lufs:.2} LUFS, target {}",
            p.agc.target_lufs
        );
        assert!(true_peak_db(settled) <= p.limiter.ceiling_dbtp as f64 + 0.1);
    }
}

#[test]
fn heavy_makeup_does_not_push_output_off_target() {
    let mut p = Params::default();
    p.compressor.makeup_db = 12.0;
    p.compressor.ratio = 6.0;
    let mut x = programme(90.0, -30.0, 9);
    process(&p, &mut x);
    let out_lufs = integrated(&x[2 * RATE as usize * 30..]);
    assert!(
        (out_lufs - p.agc.target_lufs as f64).abs() <= 1.0,
        "{out_lufs:.2}"
    );
}

#[test]
fn room_tone_after_programme_is_not_boosted() {
    let p = Params::default();
    // 40 s of programme at -30 LUFS-ish, then 40 s of room tone at -65 dBFS.
    let mut x = programme(40.0, -30.0, 3);
    let mut n = Noise::new(99);
    let tone_amp = 10f32.powf(-65.0 / 20.0) * 1.7;
    let room: Vec<f32> = (0..2 * RATE as usize * 40)
        .map(|_| n.next() * tone_amp)
        .collect();
    x.extend_from_slice(&room);
    let before_gain_end = {
        let mut chain = Chain::<2>::with_params(
            ChainConfig {
                sample_rate_hz: RATE,
                channels: 2,
            },
            &p,
        )
        .unwrap();
        let split = 2 * RATE as usize * 40;
        for block in x[..split].chunks_mut(512) {
            chain.process_interleaved(block);
        }
        let g1 = chain.take_meters().agc_gain_db;
        for block in x[split..].chunks_mut(512) {
            chain.process_interleaved(block);
        }
        let g2 = chain.take_meters().agc_gain_db;
        (g1, g2)
    };
    let (g1, g2) = before_gain_end;
    assert!(
        (g2 - g1).abs() < 0.5,
        "gain moved {g1:.2} → {g2:.2} dB over room tone"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn finite_in_finite_out_and_ceiling_held(
        seed in 1u64..u64::MAX,
        gain_db in -60.0f64..30.0,
        ceiling in -20.0f32..0.0,
        threshold in -60.0f32..0.0,
        ratio in 1.0f32..20.0,
        attack in 0.1f32..200.0,
        release in 5.0f32..3000.0,
        lookahead in 0.25f32..1.5,
        target in -40.0f32..-6.0,
        rms in any::<bool>(),
        freq in 20.0f64..20_000.0,
    ) {
        let mut p = Params::default();
        p.limiter.ceiling_dbtp = ceiling;
        p.limiter.lookahead_ms = lookahead;
        p.compressor.threshold_db = threshold;
        p.compressor.ratio = ratio;
        p.compressor.attack_ms = attack;
        p.compressor.release_ms = release;
        p.compressor.detector = if rms { Detector::Rms } else { Detector::Peak };
        p.agc.target_lufs = target;
        let amp = 10f64.powf(gain_db / 20.0);
        let mut n = Noise::new(seed);
        let tone = sine(RATE, 2, freq, amp, 0.0, 0.5, 0.0);
        let mut x: Vec<f32> = tone.iter().map(|s| s + n.next() * amp as f32 * 0.5).collect();
        process(&p, &mut x);
        prop_assert!(x.iter().all(|s| s.is_finite()));
        let tp = db(reference_true_peak(&x, 2));
        prop_assert!(tp <= ceiling as f64 + 0.005, "true peak {tp:.3} over {ceiling}");
    }
}

/// Regression: the output-referenced correction used to follow the
/// dynamics with the (slow) loudness window, so loud material settled
/// 0.5–1 LU hot for tens of seconds, worse right after quiet material.
#[test]
fn loud_material_after_quiet_settles_on_target() {
    let p = Params::default();
    let mut n = Noise::new(17);
    let quiet: Vec<f32> = (0..2 * RATE as usize * 20)
        .map(|_| n.next() * 0.06)
        .collect();
    let loud: Vec<f32> = (0..2 * RATE as usize * 30).map(|_| n.next()).collect();
    for (name, lead) in [("fresh", Vec::new()), ("after quiet", quiet)] {
        let mut x = lead.clone();
        x.extend_from_slice(&loud);
        process(&p, &mut x);
        let from = lead.len() + 2 * RATE as usize * 15;
        let out = integrated(&x[from..]);
        assert!(
            (out - p.agc.target_lufs as f64).abs() <= 0.5,
            "{name}: loud material 15-30 s in at {out:.2} LUFS, target {}",
            p.agc.target_lufs
        );
    }
}

/// A host that rebuilds the chain for a new sample rate hands the old
/// chain's leveling over (`continue_from`): the AGC carries on from the gain
/// it had reached instead of restarting at unity and sliding back at its
/// rate limit. The same material fed to a fresh chain shows what the
/// hand-over prevents.
#[test]
fn a_rate_change_continues_the_leveling() {
    let p = Params::default();
    let mut x = programme(40.0, -30.0, 11);
    let mut old = Chain::<2>::with_params(
        ChainConfig {
            sample_rate_hz: RATE,
            channels: 2,
        },
        &p,
    )
    .unwrap();
    for block in x.chunks_mut(2 * 256) {
        old.process_interleaved(block);
    }
    let reached = old.take_meters().agc_gain_db;
    assert!(
        reached > 8.0,
        "a quiet programme is raised: {reached:.2} dB"
    );

    let config_96k = ChainConfig {
        sample_rate_hz: 96_000,
        channels: 2,
    };
    let mut carried = Chain::<8>::with_params(config_96k, &p).unwrap();
    carried.continue_from(&old);
    let mut fresh = Chain::<8>::with_params(config_96k, &p).unwrap();
    assert_eq!(carried.take_meters().agc_gain_db, reached);

    // Two seconds of 96 kHz audio (the same samples, read at the new rate).
    let mut y = programme(4.0, -30.0, 12);
    let mut z = y.clone();
    for (a, b) in y.chunks_mut(2 * 256).zip(z.chunks_mut(2 * 256)) {
        carried.process_interleaved(a);
        fresh.process_interleaved(b);
    }
    let (kept, restarted) = (
        carried.take_meters().agc_gain_db,
        fresh.take_meters().agc_gain_db,
    );
    assert!(
        (kept - reached).abs() <= 1.5,
        "carried over: {reached:.2} dB before, {kept:.2} dB two seconds after"
    );
    assert!(
        reached - restarted > 5.0,
        "a fresh chain should still be climbing: {restarted:.2} dB vs {reached:.2} dB"
    );
}
