//! EBU Tech 3342 (loudness range) test cases 1–4: stereo 1 kHz sines in
//! 20 s segments of constant level; the standard's tolerance is ±1 LU.
//! Each case runs at 48 kHz and also at 44.1 and 96 kHz.

use dsp_core::dsp::loudness::LoudnessMeter;

const TOL_LU: f64 = 1.0;
const RATES_HZ: [u32; 3] = [48_000, 44_100, 96_000];

/// Stereo 1 kHz sine, 20 s per level (dBFS), phase-continuous, fed in blocks
/// of 1000 frames.
fn measure_lra(rate_hz: u32, levels_dbfs: &[f64]) -> f64 {
    let fs = rate_hz as f64;
    let seg = 20 * rate_hz as usize;
    let mut meter = LoudnessMeter::<2>::new(rate_hz, 2).unwrap();
    let mut block = vec![0.0f32; 1000];
    let total = seg * levels_dbfs.len();
    let mut n = 0;
    while n < total {
        let len = block.len().min(total - n);
        for (k, v) in block[..len].iter_mut().enumerate() {
            let i = n + k;
            let amp = 10f64.powf(levels_dbfs[i / seg] / 20.0);
            *v = (amp * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / fs).sin()) as f32;
        }
        meter.process_planar(&[&block[..len], &block[..len]]);
        n += len;
    }
    meter.loudness_range()
}

fn check(case: u32, levels: &[f64], want: f64) {
    for rate in RATES_HZ {
        let got = measure_lra(rate, levels);
        println!(
            "Tech 3342 case {case} @ {rate} Hz: LRA {got:.4} LU (want {want}, error {:+.4})",
            got - want
        );
        assert!(
            (got - want).abs() <= TOL_LU,
            "case {case} @ {rate}: {got} vs {want}"
        );
    }
}

/// Case 1: -20 then -30 dBFS: LRA = 10 LU.
#[test]
fn case_1() {
    check(1, &[-20.0, -30.0], 10.0);
}

/// Case 2: -20 then -15 dBFS: LRA = 5 LU.
#[test]
fn case_2() {
    check(2, &[-20.0, -15.0], 5.0);
}

/// Case 3: -40 then -20 dBFS: LRA = 20 LU (the -40 part is exactly at the
/// relative gate's edge: 20 LU below the energy mean would be -43 LUFS).
#[test]
fn case_3() {
    check(3, &[-40.0, -20.0], 20.0);
}

/// Case 4: -50, -35, -20, -35, -50 dBFS: the -50 parts fall below the
/// relative gate (-20 LU), LRA = 15 LU.
#[test]
fn case_4() {
    check(4, &[-50.0, -35.0, -20.0, -35.0, -50.0], 15.0);
}

/// A steady programme has no loudness range; silence has none either.
#[test]
fn steady_and_silent_programmes_have_zero_range() {
    assert!(measure_lra(48_000, &[-23.0, -23.0]) < 0.1);
    assert_eq!(measure_lra(48_000, &[-80.0]), 0.0);
}
