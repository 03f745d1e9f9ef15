//! Feed-forward, log-domain compressor with a soft knee, peak or RMS
//! detection, attack/release smoothing and linked channels.
//!
//! Contract: [`Compressor::process`] reads up to [`MAX_BLOCK`] frames of
//! planar audio and writes one linear gain per frame (the same for every
//! channel, so the stereo image never shifts). The static curve is the
//! standard soft-knee form (Giannoulis, Massberg & Reiss, "Digital Dynamic
//! Range Compressor Design", JAES 2012): gain is computed in dB from the
//! detected level, then smoothed in the dB domain ("smooth decoupled"), so
//! attack and release are true time constants at any ratio.
//!
//! Every parameter glides over ~30 ms at block rate and switching the
//! compressor on or off crossfades its gain, so live changes never click.
//! Makeup gain is applied here; the AGC upstream measures what the
//! compressor and limiter take away and compensates, so the *output* lands
//! on the loudness target whatever the makeup.

use super::envelope::{one_pole_coeff, Smoothed};
use crate::params::{CompressorParams, Detector};
use crate::units::{fast_db_to_amp, fast_log2};

/// Most frames one call to [`Compressor::process`] handles.
pub const MAX_BLOCK: usize = 64;

/// Parameter glide time constant.
const GLIDE_MS: f32 = 30.0;
/// RMS detector integration time.
const RMS_MS: f32 = 10.0;
/// Detector floor: keeps the log finite and the RMS state out of denormals.
const LEVEL_FLOOR: f32 = 1e-10;

/// The compressor state. About 80 bytes.
#[derive(Debug, Clone)]
pub struct Compressor {
    sample_rate_hz: u32,
    threshold_db: Smoothed,
    /// `1/ratio - 1`: gain change per dB over threshold (≤ 0).
    slope: Smoothed,
    knee_db: Smoothed,
    makeup_db: Smoothed,
    /// 0 = bypassed, 1 = fully acting.
    mix: Smoothed,
    attack_coeff: f32,
    release_coeff: f32,
    rms_coeff: f32,
    detector: Detector,
    mean_square: f32,
    /// Smoothed gain change in dB (≤ 0), before makeup.
    reduction_db: f32,
    /// Deepest reduction since the last [`Compressor::take_max_reduction_db`].
    max_reduction_db: f32,
}

impl Compressor {
    /// A compressor for `sample_rate_hz` with `params` already in effect.
    pub fn new(sample_rate_hz: u32, params: &CompressorParams) -> Self {
        let mut c = Self {
            sample_rate_hz,
            threshold_db: Smoothed::new(params.threshold_db),
            slope: Smoothed::new(1.0 / params.ratio - 1.0),
            knee_db: Smoothed::new(params.knee_db),
            makeup_db: Smoothed::new(params.makeup_db),
            mix: Smoothed::new(if params.enabled { 1.0 } else { 0.0 }),
            attack_coeff: 0.0,
            release_coeff: 0.0,
            rms_coeff: one_pole_coeff(RMS_MS, sample_rate_hz),
            detector: params.detector,
            mean_square: LEVEL_FLOOR,
            reduction_db: 0.0,
            max_reduction_db: 0.0,
        };
        c.set_params(params);
        c
    }

    /// Applies new (already validated) parameters; they glide into effect.
    pub fn set_params(&mut self, params: &CompressorParams) {
        self.threshold_db.set_target(params.threshold_db);
        self.slope.set_target(1.0 / params.ratio.max(1.0) - 1.0);
        self.knee_db.set_target(params.knee_db.max(0.0));
        self.makeup_db.set_target(params.makeup_db);
        self.mix.set_target(if params.enabled { 1.0 } else { 0.0 });
        self.attack_coeff = one_pole_coeff(params.attack_ms, self.sample_rate_hz);
        self.release_coeff = one_pole_coeff(params.release_ms, self.sample_rate_hz);
        // Switching detectors mid-stream is smooth: the dB-domain smoothing
        // absorbs the level difference between peak and RMS.
        self.detector = params.detector;
    }

    /// The present gain reduction (dB, ≤ 0), excluding makeup.
    pub fn reduction_db(&self) -> f32 {
        self.reduction_db * self.mix.value()
    }

    /// The deepest reduction since the last call (dB, ≤ 0); resets it.
    pub fn take_max_reduction_db(&mut self) -> f32 {
        core::mem::replace(&mut self.max_reduction_db, 0.0)
    }

    /// Clears the detector and smoothing state.
    pub fn reset(&mut self) {
        self.mean_square = LEVEL_FLOOR;
        self.reduction_db = 0.0;
        self.max_reduction_db = 0.0;
    }

    /// Computes the linked gain for `frames` frames of `channels` (planar)
    /// into `gain[..frames]`.
    ///
    /// `frames` is clamped to [`MAX_BLOCK`], `gain.len()` and the channel
    /// slices' lengths.
    ///
    /// # Realtime
    /// No allocation; O(frames × channels); three passes of which two
    /// autovectorize (level→target reduction, dB→linear).
    pub fn process(&mut self, channels: &[&[f32]], frames: usize, gain: &mut [f32]) {
        let mut n = frames.min(MAX_BLOCK).min(gain.len());
        for ch in channels {
            n = n.min(ch.len());
        }
        if n == 0 {
            return;
        }
        let glide = libm::expf(-(n as f32) / (GLIDE_MS * 0.001 * self.sample_rate_hz as f32));
        let threshold_db = self.threshold_db.step(glide);
        let slope = self.slope.step(glide);
        let knee_db = self.knee_db.step(glide);
        // Makeup and mix scale the audio directly: per-sample paths.
        let mut makeup_db = [0.0f32; MAX_BLOCK];
        let mut mix = [0.0f32; MAX_BLOCK];
        self.makeup_db.step_into(glide, &mut makeup_db[..n]);
        let mix_now = self.mix.step_into(glide, &mut mix[..n]);

        if mix_now == 0.0 && mix[0] == 0.0 {
            self.reduction_db = 0.0;
            gain[..n].fill(1.0);
            return;
        }

        // Pass 1: detector level in dB (as 10·log10 of power).
        let mut level_db = [0.0f32; MAX_BLOCK];
        match self.detector {
            Detector::Peak => {
                let mut peak = [LEVEL_FLOOR; MAX_BLOCK];
                for ch in channels {
                    for (p, &x) in peak[..n].iter_mut().zip(&ch[..n]) {
                        *p = p.max(x.abs());
                    }
                }
                for (l, &p) in level_db[..n].iter_mut().zip(&peak[..n]) {
                    // 20·log10(p) = 6.0206·log2(p)
                    *l = 6.020_6 * fast_log2(p);
                }
            }
            Detector::Rms => {
                let mut power = [0.0f32; MAX_BLOCK];
                for ch in channels {
                    for (p, &x) in power[..n].iter_mut().zip(&ch[..n]) {
                        *p += x * x;
                    }
                }
                let inv_channels = 1.0 / channels.len().max(1) as f32;
                let a = self.rms_coeff;
                let mut ms = self.mean_square;
                // The recurrence alone, then the logs as a separate pass
                // that vectorizes.
                for (l, &p) in level_db[..n].iter_mut().zip(&power[..n]) {
                    ms = p * inv_channels + (ms - p * inv_channels) * a;
                    ms = ms.max(LEVEL_FLOOR);
                    *l = ms;
                }
                for l in level_db[..n].iter_mut() {
                    *l = 3.010_3 * fast_log2(*l);
                }
                self.mean_square = ms;
            }
        }

        // Pass 2: static soft-knee curve → wanted reduction (dB, ≤ 0).
        let half_knee = 0.5 * knee_db;
        let inv_two_knee = if knee_db > 0.0 { 0.5 / knee_db } else { 0.0 };
        let mut target = [0.0f32; MAX_BLOCK];
        for (t, &l) in target[..n].iter_mut().zip(&level_db[..n]) {
            let over = l - threshold_db;
            let in_knee = over + half_knee;
            let above = slope * over;
            let knee = slope * in_knee * in_knee * inv_two_knee;
            *t = if over <= -half_knee {
                0.0
            } else if over >= half_knee {
                above
            } else {
                knee
            };
        }

        // Pass 3: attack/release smoothing in the dB domain (a recurrence).
        let (att, rel) = (self.attack_coeff, self.release_coeff);
        let mut r = self.reduction_db;
        let mut deepest = 0.0f32;
        for t in target[..n].iter_mut() {
            let coeff = if *t < r { att } else { rel };
            r = *t + (r - *t) * coeff;
            // Flush the tail of a release to exactly 0 (no denormals, and
            // an idle compressor is exactly transparent but for makeup).
            if r > -1e-6 {
                r = 0.0;
            }
            deepest = deepest.min(r);
            *t = r;
        }
        self.reduction_db = r;
        self.max_reduction_db = self.max_reduction_db.min(deepest * mix_now);

        // Pass 4: dB → linear gain, with makeup and the on/off crossfade.
        for (((g, &t), &m), &mk) in gain[..n]
            .iter_mut()
            .zip(&target[..n])
            .zip(&mix[..n])
            .zip(&makeup_db[..n])
        {
            *g = fast_db_to_amp(m * (t + mk));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Params;

    fn params() -> CompressorParams {
        let mut p = Params::default().compressor;
        p.threshold_db = -20.0;
        p.ratio = 4.0;
        p.knee_db = 0.0;
        p.attack_ms = 1.0;
        p.release_ms = 50.0;
        p.detector = Detector::Peak;
        p.makeup_db = 0.0;
        p
    }

    fn run(c: &mut Compressor, level: f32, frames: usize) -> f32 {
        let x = [level; MAX_BLOCK];
        let mut g = [0.0; MAX_BLOCK];
        let mut done = 0;
        while done < frames {
            c.process(&[&x, &x], MAX_BLOCK, &mut g);
            done += MAX_BLOCK;
        }
        g[MAX_BLOCK - 1]
    }

    #[test]
    fn static_curve_hard_knee() {
        let mut c = Compressor::new(48_000, &params());
        // 0 dBFS is 20 dB over: 4:1 keeps 5 dB, i.e. 15 dB reduction.
        let g = run(&mut c, 1.0, 48_000);
        assert!((crate::units::amp_to_db(g) + 15.0).abs() < 0.02, "{g}");
        // Below threshold: unity.
        let mut c = Compressor::new(48_000, &params());
        let g = run(&mut c, 0.05, 48_000);
        assert!((g - 1.0).abs() < 1e-4, "{g}");
    }

    #[test]
    fn soft_knee_is_half_way_at_threshold() {
        let mut p = params();
        p.knee_db = 10.0;
        let mut c = Compressor::new(48_000, &p);
        // At the threshold a soft knee gives slope·(W/2)²/(2W) = -0.75·2.5/2.
        let g = run(&mut c, 0.1, 48_000);
        let expected = -0.75 * 25.0 / 20.0;
        assert!((crate::units::amp_to_db(g) - expected).abs() < 0.02, "{g}");
    }

    #[test]
    fn attack_time_constant() {
        let mut p = params();
        p.attack_ms = 10.0;
        let mut c = Compressor::new(48_000, &p);
        // 480 samples = one time constant: 63 % of the 15 dB reduction.
        let x = [1.0f32; 480];
        let mut g = [0.0f32; MAX_BLOCK];
        let mut last = 0.0;
        for chunk in x.chunks(MAX_BLOCK) {
            c.process(&[chunk], chunk.len(), &mut g);
            last = g[chunk.len() - 1];
        }
        let db = crate::units::amp_to_db(last);
        assert!((db + 15.0 * 0.632).abs() < 0.3, "{db}");
    }

    #[test]
    fn disabled_is_exactly_unity_once_faded() {
        let mut p = params();
        p.enabled = false;
        p.makeup_db = 6.0;
        let mut c = Compressor::new(48_000, &p);
        assert_eq!(run(&mut c, 1.0, 4800), 1.0);
    }
}
