//! EBU Tech 3341 (v4, 2023; test signals of v3, 2016) minimum requirements
//! for "EBU Mode" meters: the synthetic test cases 1–6, 9 and 12, with the
//! standard's ±0.1 LU tolerance, at 48 kHz and also at 44.1 and 96 kHz.
//!
//! Signals are generated here as the Tech 3341 files are made: a
//! phase-continuous 1 kHz sine whose level (dBFS = peak amplitude re full
//! scale) steps between segments, the same on every listed channel.

use dsp_core::dsp::loudness::LoudnessMeter;

const TOL_LU: f64 = 0.1;
const RATES_HZ: [u32; 3] = [48_000, 44_100, 96_000];

/// One segment: seconds, and per-channel level in dBFS (`None` = silent).
type Segment<'a> = (f64, &'a [Option<f64>]);

/// Planar 1 kHz test signal from segments of constant level.
fn sine_segments(rate_hz: u32, channels: usize, segments: &[Segment]) -> Vec<Vec<f32>> {
    let fs = rate_hz as f64;
    let total: usize = segments
        .iter()
        .map(|(s, _)| (s * fs).round() as usize)
        .sum();
    let mut out: Vec<Vec<f32>> = (0..channels).map(|_| Vec::with_capacity(total)).collect();
    let mut n = 0usize;
    for (seconds, levels) in segments {
        let end = n + (seconds * fs).round() as usize;
        while n < end {
            let s = (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / fs).sin();
            for (ch, plane) in out.iter_mut().enumerate() {
                let amp = levels[ch].map_or(0.0, |db| 10f64.powf(db / 20.0));
                plane.push((amp * s) as f32);
            }
            n += 1;
        }
    }
    out
}

/// Feeds `signal` in uneven blocks (as a sound server would), calling
/// `after_step` with the meter whenever a 100 ms step completed.
fn run<const C: usize>(
    meter: &mut LoudnessMeter<C>,
    signal: &[Vec<f32>],
    mut after_step: impl FnMut(&LoudnessMeter<C>),
) {
    let frames = signal[0].len();
    let sizes = [480usize, 1, 1023, 64, 4410, 333];
    let mut start = 0;
    let mut i = 0;
    let mut seen = meter.blocks_completed();
    while start < frames {
        let end = (start + sizes[i % sizes.len()]).min(frames);
        i += 1;
        let planes: Vec<&[f32]> = signal.iter().map(|c| &c[start..end]).collect();
        meter.process_planar(&planes);
        if meter.blocks_completed() != seen {
            seen = meter.blocks_completed();
            after_step(meter);
        }
        start = end;
    }
}

fn stereo(db: f64) -> [Option<f64>; 2] {
    [Some(db), Some(db)]
}

fn check(what: &str, rate_hz: u32, got: f64, want: f64) {
    println!(
        "{what} @ {rate_hz} Hz: {got:.4} (want {want}, error {:+.4})",
        got - want
    );
    assert!(
        (got - want).abs() <= TOL_LU,
        "{what} @ {rate_hz} Hz: {got} vs {want}"
    );
}

/// Cases 1 and 2: stereo 1 kHz at -23 / -33 dBFS for 20 s: M, S and I all
/// read the level.
#[test]
fn case_1_and_2_steady_sine_reads_its_level_in_m_s_i() {
    for rate in RATES_HZ {
        for db in [-23.0, -33.0] {
            let level = stereo(db);
            let signal = sine_segments(rate, 2, &[(20.0, &level)]);
            let mut meter = LoudnessMeter::<2>::new(rate, 2).unwrap();
            run(&mut meter, &signal, |m| {
                if m.blocks_completed() >= 30 {
                    assert!((m.loudness_momentary() - db).abs() <= TOL_LU);
                    assert!((m.loudness_shortterm() - db).abs() <= TOL_LU);
                }
            });
            check(
                &format!("case {db} M"),
                rate,
                meter.loudness_momentary(),
                db,
            );
            check(
                &format!("case {db} S"),
                rate,
                meter.loudness_shortterm(),
                db,
            );
            check(&format!("case {db} I"), rate, meter.loudness_global(), db);
            // A 1 kHz sine's sample and true peak are its amplitude.
            let amp = 10f64.powf(db / 20.0);
            assert!((20.0 * (meter.sample_peak() as f64 / amp).log10()).abs() < 0.01);
            assert!((20.0 * (meter.true_peak() as f64 / amp).log10()).abs() < 0.05);
        }
    }
}

/// Case 3: -36 dBFS 10 s, -23 dBFS 60 s, -36 dBFS 10 s: the relative gate
/// removes the quiet parts, I = -23.
#[test]
fn case_3_relative_gate() {
    for rate in RATES_HZ {
        let (a, b) = (stereo(-36.0), stereo(-23.0));
        let signal = sine_segments(rate, 2, &[(10.0, &a), (60.0, &b), (10.0, &a)]);
        let mut meter = LoudnessMeter::<2>::new(rate, 2).unwrap();
        run(&mut meter, &signal, |_| {});
        check("case 3 I", rate, meter.loudness_global(), -23.0);
    }
}

/// Case 4: -72, -36, -23, -36, -72 dBFS (10, 10, 60, 10, 10 s): absolute
/// and relative gates together, I = -23.
#[test]
fn case_4_absolute_and_relative_gate() {
    for rate in RATES_HZ {
        let (a, b, c) = (stereo(-72.0), stereo(-36.0), stereo(-23.0));
        let signal = sine_segments(
            rate,
            2,
            &[(10.0, &a), (10.0, &b), (60.0, &c), (10.0, &b), (10.0, &a)],
        );
        let mut meter = LoudnessMeter::<2>::new(rate, 2).unwrap();
        run(&mut meter, &signal, |_| {});
        check("case 4 I", rate, meter.loudness_global(), -23.0);
    }
}

/// Case 5: -26 dBFS 20 s, -20 dBFS 20.1 s, -26 dBFS 20 s: every block
/// passes the gates, I = -23.
#[test]
fn case_5_no_block_gated() {
    for rate in RATES_HZ {
        let (a, b) = (stereo(-26.0), stereo(-20.0));
        let signal = sine_segments(rate, 2, &[(20.0, &a), (20.1, &b), (20.0, &a)]);
        let mut meter = LoudnessMeter::<2>::new(rate, 2).unwrap();
        run(&mut meter, &signal, |_| {});
        check("case 5 I", rate, meter.loudness_global(), -23.0);
    }
}

/// Case 6: 5.0 programme in a 5.1 stream (L R C LFE Ls Rs, LFE silent):
/// L, R at -28, C at -24, Ls, Rs at -30 dBFS for 20 s; the surround weights
/// (+1.5 dB) make I = -23.
#[test]
fn case_6_surround_weights_in_5_1() {
    for rate in RATES_HZ {
        let levels = [
            Some(-28.0),
            Some(-28.0),
            Some(-24.0),
            None,
            Some(-30.0),
            Some(-30.0),
        ];
        let signal = sine_segments(rate, 6, &[(20.0, &levels)]);
        let mut meter = LoudnessMeter::<8>::new(rate, 6).unwrap();
        run(&mut meter, &signal, |_| {});
        check("case 6 I", rate, meter.loudness_global(), -23.0);
        check("case 6 M", rate, meter.loudness_momentary(), -23.0);
    }
}

/// Case 6 must fail if the LFE channel were counted or the surrounds not
/// weighted: a meter with all-"Other" roles reads differently.
#[test]
fn case_6_needs_the_weights() {
    use dsp_core::dsp::channels::ChannelRole::Other;
    let levels = [
        Some(-28.0),
        Some(-28.0),
        Some(-24.0),
        Some(-20.0),
        Some(-30.0),
        Some(-30.0),
    ];
    let signal = sine_segments(48_000, 6, &[(5.0, &levels)]);
    let mut unweighted = LoudnessMeter::<8>::with_roles(48_000, &[Other; 6]).unwrap();
    run(&mut unweighted, &signal, |_| {});
    let mut weighted = LoudnessMeter::<8>::new(48_000, 6).unwrap();
    run(&mut weighted, &signal, |_| {});
    assert!((weighted.loudness_global() - -23.0).abs() <= TOL_LU);
    assert!((unweighted.loudness_global() - weighted.loudness_global()).abs() > 1.0);
}

/// Case 9: 1.34 s at -20 dBFS and 1.66 s at -30 dBFS, five times: every 3 s
/// window holds one period, so S = -23 from 3 s on.
#[test]
fn case_9_shortterm_is_constant_after_3_s() {
    for rate in RATES_HZ {
        let (a, b) = (stereo(-20.0), stereo(-30.0));
        let period: [Segment; 2] = [(1.34, &a), (1.66, &b)];
        let segments: Vec<Segment> = period.iter().copied().cycle().take(10).collect();
        let signal = sine_segments(rate, 2, &segments);
        let mut meter = LoudnessMeter::<2>::new(rate, 2).unwrap();
        let mut worst: f64 = 0.0;
        let mut checked = 0;
        run(&mut meter, &signal, |m| {
            if m.blocks_completed() >= 30 {
                let err = m.loudness_shortterm() + 23.0;
                worst = if err.abs() > worst.abs() { err } else { worst };
                checked += 1;
            }
        });
        println!("case 9 S @ {rate} Hz: worst error {worst:+.4} over {checked} readings");
        assert_eq!(checked, 121);
        assert!(worst.abs() <= TOL_LU, "case 9 @ {rate}: {worst}");
    }
}

/// Case 12: 0.18 s at -20 dBFS and 0.22 s at -30 dBFS, 25 times: every
/// 400 ms window holds one period, so M = -23 from 1 s on.
#[test]
fn case_12_momentary_is_constant_after_1_s() {
    for rate in RATES_HZ {
        let (a, b) = (stereo(-20.0), stereo(-30.0));
        let period: [Segment; 2] = [(0.18, &a), (0.22, &b)];
        let segments: Vec<Segment> = period.iter().copied().cycle().take(50).collect();
        let signal = sine_segments(rate, 2, &segments);
        let mut meter = LoudnessMeter::<2>::new(rate, 2).unwrap();
        let mut worst: f64 = 0.0;
        let mut checked = 0;
        run(&mut meter, &signal, |m| {
            if m.blocks_completed() >= 10 {
                let err = m.loudness_momentary() + 23.0;
                worst = if err.abs() > worst.abs() { err } else { worst };
                checked += 1;
            }
        });
        println!("case 12 M @ {rate} Hz: worst error {worst:+.4} over {checked} readings");
        assert_eq!(checked, 91);
        assert!(worst.abs() <= TOL_LU, "case 12 @ {rate}: {worst}");
    }
}

/// Before a full window the readings are -inf, not a partial value.
#[test]
fn readings_wait_for_a_full_window() {
    let level = stereo(-23.0);
    let signal = sine_segments(48_000, 2, &[(3.0, &level)]);
    let mut meter = LoudnessMeter::<2>::new(48_000, 2).unwrap();
    run(&mut meter, &signal, |m| {
        let steps = m.blocks_completed();
        assert_eq!(
            m.loudness_momentary().is_finite(),
            steps >= 4,
            "M at step {steps}"
        );
        assert_eq!(
            m.loudness_shortterm().is_finite(),
            steps >= 30,
            "S at step {steps}"
        );
    });
    assert_eq!(meter.blocks_completed(), 30);
    meter.reset();
    assert_eq!(meter.blocks_completed(), 0);
    assert_eq!(meter.loudness_global(), f64::NEG_INFINITY);
    assert_eq!(meter.loudness_momentary(), f64::NEG_INFINITY);
    assert_eq!(meter.true_peak(), 0.0);
}
