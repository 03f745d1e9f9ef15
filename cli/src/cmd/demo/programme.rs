//! The demo's built-in programme, synthesized (no audio files shipped):
//! 48 kHz stereo, float, about 20 s.
//!
//! | from (s) | what | level |
//! | --- | --- | --- |
//! | 0.0 | silence (a new stream plays unprocessed for a few ms before it is moved) | |
//! | 0.5 | quiet speech-like passage (voiced harmonics through moving formants, syllables, pauses) | -30 LUFS |
//! | 7.5 | loud bursts, brick-walled like an advert (saturated chord and noise) | -8 LUFS, sample peaks -0.3 dBFS |
//! | 12.5 | the quiet passage again | -30 LUFS |
//! | 16.5 | three 30 ms 12 kHz pips sampled at 45°: samples at -0.5 dBFS, true peak +2.5 dBTP | |
//! | 18.5 | silence (pw-play 0.3.65 drops the last ~1792 frames of a file) | |
//!
//! Every section fades in and out over 10 ms; levels are set with dsp-core's
//! own meter, so they hold whatever the synthesis details.

use crate::cmd::analyze::measure;
use std::f64::consts::PI;

/// Sample rate of the programme.
pub const RATE_HZ: u32 = 48_000;
/// Channels (interleaved).
pub const CHANNELS: usize = 2;
/// Leading silence.
pub const LEAD_S: f64 = 0.5;
/// Trailing silence.
pub const PAD_S: f64 = 2.0;
/// Level of the quiet passages: 22 LU under the bursts, so the passages
/// still count in the loudness range (EBU Tech 3342 gates short-term values
/// 20 LU under the programme's mean; at -32 they would fall out of it).
pub const QUIET_LUFS: f64 = -30.0;
/// Level of the loud bursts.
pub const LOUD_LUFS: f64 = -8.0;

const FADE_S: f64 = 0.01;

/// The programme, interleaved stereo.
pub fn programme() -> Vec<f32> {
    let mut mono: Vec<f32> = Vec::new();
    mono.extend(silence(LEAD_S));
    mono.extend(leveled(speech(7.0, 1), QUIET_LUFS));
    mono.extend(loud(5.0));
    mono.extend(leveled(speech(4.0, 2), QUIET_LUFS));
    mono.extend(isp_pips(2.0));
    mono.extend(silence(PAD_S));
    mono.iter().flat_map(|&s| [s, s]).collect()
}

/// Frames in the programme.
pub fn programme_frames() -> usize {
    [LEAD_S, 7.0, 5.0, 4.0, 2.0, PAD_S]
        .iter()
        .map(|s| frames(*s))
        .sum()
}

fn frames(s: f64) -> usize {
    (s * RATE_HZ as f64).round() as usize
}

fn silence(s: f64) -> Vec<f32> {
    vec![0.0; frames(s)]
}

/// Deterministic xorshift noise in [-1, 1).
struct Noise(u32);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0 as f64 / u32::MAX as f64 * 2.0 - 1.0
    }
}

/// Raised-cosine fade in and out over [`FADE_S`].
fn fade(x: &mut [f32]) {
    fade_over(x, FADE_S);
}

fn fade_over(x: &mut [f32], fade_s: f64) {
    let n = frames(fade_s).min(x.len() / 2);
    for i in 0..n {
        let g = (0.5 - 0.5 * (PI * i as f64 / n as f64).cos()) as f32;
        x[i] *= g;
        let j = x.len() - 1 - i;
        x[j] *= g;
    }
}

/// Integrated loudness of a mono signal played on both channels.
fn lufs(x: &[f32]) -> f64 {
    let stereo: Vec<f32> = x.iter().flat_map(|&s| [s, s]).collect();
    measure(&stereo, RATE_HZ, CHANNELS)
        .ok()
        .and_then(|a| a.integrated_lufs)
        .unwrap_or(f64::NEG_INFINITY)
}

/// Scales `x` to `target_lufs` (a linear gain: the shape is kept).
fn leveled(mut x: Vec<f32>, target_lufs: f64) -> Vec<f32> {
    let now = lufs(&x);
    if now.is_finite() {
        let g = 10f64.powf((target_lufs - now) / 20.0) as f32;
        x.iter_mut().for_each(|s| *s *= g);
    }
    x
}

/// Voiced speech-like sound: a gliding 100–150 Hz fundamental's harmonics
/// shaped by two formants that change every syllable (4.5 syllables per
/// second), with a little breath noise, in 1.8 s phrases and 0.5 s pauses.
fn speech(len_s: f64, seed: u32) -> Vec<f32> {
    const VOWELS: [(f64, f64); 5] = [
        (730.0, 1090.0),
        (270.0, 2290.0),
        (530.0, 1840.0),
        (570.0, 840.0),
        (440.0, 1020.0),
    ];
    const SYLLABLE_S: f64 = 0.22;
    let rate = RATE_HZ as f64;
    let mut noise = Noise(0x9e37_79b9 ^ seed);
    let mut phase = 0.0f64;
    let mut out = Vec::with_capacity(frames(len_s));
    for i in 0..frames(len_s) {
        let t = i as f64 / rate;
        let f0 = 125.0 + 20.0 * (2.0 * PI * 0.6 * t).sin() + 8.0 * (2.0 * PI * 2.3 * t).sin();
        phase = (phase + 2.0 * PI * f0 / rate) % (2.0 * PI);
        let syllable = (t / SYLLABLE_S) as usize;
        let (f1, f2) = VOWELS[(syllable * 3 + seed as usize) % VOWELS.len()];
        let within = (t % SYLLABLE_S) / SYLLABLE_S;
        let in_phrase = t % 2.3 < 1.8;
        let env = if in_phrase {
            (PI * within).sin().powi(2) * (0.6 + 0.4 * ((syllable % 3) as f64 / 2.0))
        } else {
            0.0
        };
        let mut v = 0.0;
        for k in 1..=30 {
            let f = k as f64 * f0;
            if f > 4000.0 {
                break;
            }
            let formant = |fc: f64| (-((f - fc) / 120.0).powi(2)).exp();
            let w = formant(f1) + 0.5 * formant(f2) + 0.03;
            v += w / (k as f64).sqrt() * (k as f64 * phase).sin();
        }
        v += 0.05 * noise.next();
        out.push((env * v) as f32);
    }
    fade(&mut out);
    out
}

/// Loud bursts: an A-minor chord of bright harmonics plus noise, 0.7 s on
/// and 0.2 s off, driven into a soft clipper (as a brick-walled advert
/// would be) until it reaches [`LOUD_LUFS`] with sample peaks at -0.3 dBFS.
fn loud(len_s: f64) -> Vec<f32> {
    let rate = RATE_HZ as f64;
    let mut noise = Noise(0x1234_5678);
    let mut raw: Vec<f64> = (0..frames(len_s))
        .map(|i| {
            let t = i as f64 / rate;
            let on = t % 0.9 < 0.7;
            let mut v = 0.0;
            for f in [220.0, 261.63, 329.63, 440.0] {
                for k in 1..=12 {
                    v += (2.0 * PI * f * k as f64 * t).sin() / k as f64;
                }
            }
            v += 2.0 * noise.next();
            if on {
                v
            } else {
                0.0
            }
        })
        .collect();
    let peak = raw.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-9);
    raw.iter_mut().for_each(|v| *v /= peak);
    let ceiling = 10f64.powf(-0.3 / 20.0);
    // More drive, more loudness at the same peak; take the first that is loud enough.
    let mut best = Vec::new();
    for drive in [1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0] {
        let norm = f64::tanh(drive);
        let mut y: Vec<f32> = raw
            .iter()
            .map(|v| (ceiling * (drive * v).tanh() / norm) as f32)
            .collect();
        fade(&mut y);
        best = y;
        if lufs(&best) >= LOUD_LUFS {
            break;
        }
    }
    // Only ever turned down here, so peaks stay under the ceiling.
    let now = lufs(&best);
    if now > LOUD_LUFS {
        best = leveled(best, LOUD_LUFS);
    }
    best
}

/// Three 30 ms pips of fs/4 (12 kHz) sampled at 45°: every sample is
/// ±0.944 (-0.5 dBFS) but the waveform between them peaks at 1.335 (+2.5 dBTP).
/// Short, so they add peaks rather than loudness (a long one would be the
/// loudest thing in the programme: K-weighting lifts 12 kHz by 4 dB).
fn isp_pips(len_s: f64) -> Vec<f32> {
    let amp = 10f64.powf(-0.5 / 20.0) * std::f64::consts::SQRT_2;
    let mut out = vec![0.0f32; frames(len_s)];
    for start_s in [0.3, 0.9, 1.5] {
        let a = frames(start_s);
        let mut pip: Vec<f32> = (0..frames(0.03))
            .map(|n| (amp * (PI / 2.0 * n as f64 + PI / 4.0).sin()) as f32)
            .collect();
        fade_over(&mut pip, 0.003);
        out[a..a + pip.len()].copy_from_slice(&pip);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_have_their_levels_and_the_programme_its_length() {
        let p = programme();
        assert_eq!(p.len(), programme_frames() * CHANNELS);
        let at = |s: f64, len: f64| &p[frames(s) * 2..(frames(s) + frames(len)) * 2];
        let quiet = measure(at(0.5, 7.0), RATE_HZ, 2).unwrap();
        assert!((quiet.integrated_lufs.unwrap() - QUIET_LUFS).abs() < 0.1);
        let loud = measure(at(7.5, 5.0), RATE_HZ, 2).unwrap();
        assert!((loud.integrated_lufs.unwrap() - LOUD_LUFS).abs() < 0.1);
        assert!(loud.sample_peak_dbfs.unwrap() <= -0.29);
        let isp = measure(at(16.5, 2.0), RATE_HZ, 2).unwrap();
        assert!((isp.sample_peak_dbfs.unwrap() + 0.5).abs() < 0.02);
        assert!(
            isp.true_peak_dbtp.unwrap() > 2.0,
            "{:?}",
            isp.true_peak_dbtp
        );
        // Silence where pw-play's quirks need it.
        assert!(p[..frames(LEAD_S) * 2].iter().all(|s| *s == 0.0));
        assert!(p[p.len() - frames(PAD_S) * 2..].iter().all(|s| *s == 0.0));
        assert!(p.iter().all(|s| s.is_finite() && s.abs() < 1.0));
    }
}
