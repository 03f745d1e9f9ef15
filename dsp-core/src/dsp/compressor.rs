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
//! The gain computer runs at a control rate of one step per
//! [`GROUP_FRAMES`] frames: the detector reads each group's peak or mean
//! power, the one-poles step with their coefficients raised to the group
//! length (exact for a level held over the group), and the linear gain is
//! interpolated across the group. Levels are therefore seen up to
//! `GROUP_FRAMES - 1` frames early, never late.
//!
//! Every parameter glides over ~30 ms at block rate and switching the
//! compressor on or off crossfades its gain, so live changes never click.
//! Makeup gain is applied here; the AGC upstream measures what the
//! compressor and limiter take away and compensates, so the *output* lands
//! on the loudness target whatever the makeup.

use super::envelope::{block_step, one_pole_coeff, Smoothed};
use crate::params::{CompressorParams, Detector};
use crate::units::{fast_db_to_amp, fast_log2, fold_channels, group_max, group_sum};

/// Most frames one call to [`Compressor::process`] handles.
pub const MAX_BLOCK: usize = 256;
/// Frames per step of the gain computer (its control rate: 3 kHz at
/// 48 kHz, a step every third of a millisecond); the gain is interpolated
/// linearly between steps. The steps are the compressor's serial
/// dependency chain, so fewer of them is directly less time per block;
/// peaks a group's coarser reaction misses are the limiter's job.
pub const GROUP_FRAMES: usize = 16;
const GROUPS: usize = MAX_BLOCK / GROUP_FRAMES;

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
    /// Attack, release and RMS one-pole coefficients raised to 0..=8.
    attack_pow: [f32; GROUP_FRAMES + 1],
    release_pow: [f32; GROUP_FRAMES + 1],
    rms_pow: [f32; GROUP_FRAMES + 1],
    detector: Detector,
    mean_square: f32,
    /// Smoothed gain change in dB (≤ 0), before makeup.
    reduction_db: f32,
    /// Deepest reduction since the last [`Compressor::take_max_reduction_db`].
    max_reduction_db: f32,
    /// Linear gain at the end of the last group (interpolation start).
    last_gain: f32,
    /// The parameter glide's step over `glide_frames` frames, kept because
    /// an `expf` per block is measurable.
    glide_frames: usize,
    glide_block: f32,
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
            attack_pow: [1.0; GROUP_FRAMES + 1],
            release_pow: [1.0; GROUP_FRAMES + 1],
            rms_pow: powers(one_pole_coeff(RMS_MS, sample_rate_hz)),
            detector: params.detector,
            mean_square: LEVEL_FLOOR,
            reduction_db: 0.0,
            max_reduction_db: 0.0,
            last_gain: 1.0,
            glide_frames: MAX_BLOCK,
            glide_block: block_step(GLIDE_MS, MAX_BLOCK, sample_rate_hz),
        };
        c.set_params(params);
        c.last_gain = if params.enabled {
            fast_db_to_amp(params.makeup_db)
        } else {
            1.0
        };
        c
    }

    /// Applies new (already validated) parameters; they glide into effect.
    pub fn set_params(&mut self, params: &CompressorParams) {
        self.threshold_db.set_target(params.threshold_db);
        self.slope.set_target(1.0 / params.ratio.max(1.0) - 1.0);
        self.knee_db.set_target(params.knee_db.max(0.0));
        self.makeup_db.set_target(params.makeup_db);
        self.mix.set_target(if params.enabled { 1.0 } else { 0.0 });
        self.attack_pow = powers(one_pole_coeff(params.attack_ms, self.sample_rate_hz));
        self.release_pow = powers(one_pole_coeff(params.release_ms, self.sample_rate_hz));
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
        self.last_gain = fast_db_to_amp(self.mix.value() * self.makeup_db.value());
    }

    /// Computes the linked gain for `frames` frames of `channels` (planar)
    /// into `gain[..frames]`.
    ///
    /// `frames` is clamped to [`MAX_BLOCK`], `gain.len()` and the channel
    /// slices' lengths.
    ///
    /// # Realtime
    /// No allocation; O(frames × channels). Per frame only vectorizable
    /// passes (level, gain interpolation); the logarithm, static curve,
    /// smoothing and exponential run once per group of [`GROUP_FRAMES`].
    #[inline(always)]
    pub fn process(&mut self, channels: &[&[f32]], frames: usize, gain: &mut [f32]) {
        let mut n = frames.min(MAX_BLOCK).min(gain.len());
        for ch in channels {
            n = n.min(ch.len());
        }
        if n == 0 {
            return;
        }
        // Hosts repeat one block length (the chain's whole blocks: 256
        // frames, 128 at 192 kHz): keep the step for the last length seen.
        if n != self.glide_frames {
            self.glide_frames = n;
            self.glide_block = block_step(GLIDE_MS, n, self.sample_rate_hz);
        }
        let glide = self.glide_block;
        let threshold_db = self.threshold_db.step(glide);
        let slope = self.slope.step(glide);
        let knee_db = self.knee_db.step(glide);
        // Read at group ends only: no per-frame arrays to fill.
        let makeup_db = self.makeup_db.step_over(glide, n);
        let mix = self.mix.step_over(glide, n);
        let mix_now = mix.to;

        if mix_now == 0.0 && mix.at(0) == 0.0 {
            self.reduction_db = 0.0;
            self.last_gain = 1.0;
            gain[..n].fill(1.0);
            return;
        }
        let groups = n.div_ceil(GROUP_FRAMES);

        // Level per group, as power (peak² or mean square): per-frame work
        // is a vectorized max or sum over channels.
        // Per-frame levels go in `gain`, written last: no array of its own
        // to zero per block.
        let frame_level = &mut gain[..n];
        let mut level = [LEVEL_FLOOR; GROUPS];
        match self.detector {
            Detector::Peak => {
                fold_channels(frame_level, channels, |p, x| p.max(x.abs()));
                let mut peaks = [0.0f32; GROUPS];
                group_max::<GROUP_FRAMES>(frame_level, &mut peaks);
                for (l, &p) in level.iter_mut().zip(&peaks[..groups]) {
                    *l = (p * p).max(LEVEL_FLOOR);
                }
            }
            Detector::Rms => {
                fold_channels(frame_level, channels, |p, x| p + x * x);
                let inv_channels = 1.0 / channels.len().max(1) as f32;
                // Each group's input to the one-pole, `(1 - p)·mean`, and
                // its `p`, first (independent of the state): the serial
                // part is then one multiply and one add per group. The
                // group sums are pairwise, in registers (a running sum per
                // group was a quarter of the compressor's samples on loud noise).
                let mut sums = [0.0f32; GROUPS];
                group_sum::<GROUP_FRAMES>(frame_level, &mut sums);
                let mut drive = [0.0f32; GROUPS];
                let mut pole = [0.0f32; GROUPS];
                // Whole groups share one factor (1/8 is exact, so this is
                // the division it replaces); a short last group divides.
                let whole = n / GROUP_FRAMES;
                let whole_pole = self.rms_pow[GROUP_FRAMES];
                let whole_drive = (1.0 - whole_pole) * inv_channels;
                for ((d, p), &sum) in drive.iter_mut().zip(pole.iter_mut()).zip(&sums).take(whole) {
                    // The one-pole over a group of constant mean power is
                    // exact; within a group only the group's mean matters.
                    *p = whole_pole;
                    *d = whole_drive * (sum * (1.0 / GROUP_FRAMES as f32));
                }
                if whole < groups {
                    let len = n - whole * GROUP_FRAMES;
                    pole[whole] = self.rms_pow[len];
                    drive[whole] = (1.0 - pole[whole]) * (sums[whole] * inv_channels / len as f32);
                }
                let mut ms = self.mean_square;
                for ((l, &d), &p) in level.iter_mut().zip(&drive).zip(&pole).take(groups) {
                    ms = p * ms + d;
                    *l = ms;
                }
                // The floor keeps the log finite and, applied to the state
                // once a block, silence off denormals (eight steps from the
                // floor cannot reach them).
                for l in level.iter_mut() {
                    *l = l.max(LEVEL_FLOOR);
                }
                self.mean_square = ms.max(LEVEL_FLOOR);
            }
        }

        // Static soft-knee curve → wanted reduction (dB, ≤ 0) for every
        // group at once (a vector pass: the log and the curve are the
        // expensive part), then the attack/release smoothing in the dB
        // domain (the only serial part), then the exponentials, again as one
        // vector pass.
        let half_knee = 0.5 * knee_db;
        let inv_two_knee = if knee_db > 0.0 { 0.5 / knee_db } else { 0.0 };
        let mut target = [0.0f32; GROUPS];
        for (t, &l) in target.iter_mut().zip(&level) {
            // 10·log10 of power.
            let over = 3.010_3 * fast_log2(l) - threshold_db;
            let in_knee = over + half_knee;
            let knee = slope * in_knee * in_knee * inv_two_knee;
            let above = if over >= half_knee {
                slope * over
            } else {
                knee
            };
            *t = if over <= -half_knee { 0.0 } else { above };
        }
        // The attack and release candidates of every step are formed in
        // parallel, `c·r + (1 - c)·target`, and the state picks one: the
        // serial part is a multiply, an add and a select per group.
        let mut smoothed = [0.0f32; GROUPS];
        let mut r = self.reduction_db;
        for (j, (&target, out)) in target[..groups].iter().zip(smoothed.iter_mut()).enumerate() {
            let len = GROUP_FRAMES.min(n - j * GROUP_FRAMES);
            let (a, rel) = (self.attack_pow[len], self.release_pow[len]);
            let attacked = a * r + (1.0 - a) * target;
            let released = rel * r + (1.0 - rel) * target;
            r = if target < r { attacked } else { released };
            *out = r;
        }
        // Flush the tail of a release to exactly 0 (an idle compressor is
        // exactly transparent but for makeup); the state once a block, which
        // keeps it off denormals (a block's release cannot get there).
        let flush = |r: f32| if r > -1e-6 { 0.0 } else { r };
        self.reduction_db = flush(r);
        let mut deepest = 0.0f32;
        let mut end_db = [0.0f32; GROUPS];
        for (j, (&r, e)) in smoothed[..groups].iter().zip(end_db.iter_mut()).enumerate() {
            let r = flush(r);
            deepest = deepest.min(r);
            let last = (j * GROUP_FRAMES + GROUP_FRAMES - 1).min(n - 1);
            *e = mix.at(last) * (r + makeup_db.at(last));
        }
        let mut end_gain = [1.0f32; GROUPS];
        for (g, &e) in end_gain.iter_mut().zip(&end_db) {
            *g = fast_db_to_amp(e);
        }
        self.max_reduction_db = self.max_reduction_db.min(deepest * mix_now);

        // Linear gain, interpolated across each group from the previous
        // group's end: piecewise linear, so nothing steps.
        // Frame offsets within a group as floats, so each whole group is one
        // vector multiply-add instead of per-frame integer conversions.
        const RAMP: [f32; GROUP_FRAMES] = {
            let mut r = [0.0; GROUP_FRAMES];
            let mut i = 0;
            while i < GROUP_FRAMES {
                r[i] = (i + 1) as f32;
                i += 1;
            }
            r
        };
        let mut prev = self.last_gain;
        for (out, &end) in gain[..n].chunks_mut(GROUP_FRAMES).zip(&end_gain[..groups]) {
            let step = (end - prev) / out.len() as f32;
            // The same loop twice: over a whole group as a fixed-length
            // array it compiles to straight vector code; a short last group
            // takes the general loop.
            if let Ok(out) = <&mut [f32; GROUP_FRAMES]>::try_from(&mut *out) {
                for (g, &k) in out.iter_mut().zip(&RAMP) {
                    *g = prev + step * k;
                }
            } else {
                for (g, &k) in out.iter_mut().zip(&RAMP) {
                    *g = prev + step * k;
                }
            }
            prev = end;
        }
        self.last_gain = prev;
    }
}

/// `coeff^k` for `k = 0..=GROUP_FRAMES`: a one-pole's step over `k` frames.
fn powers(coeff: f32) -> [f32; GROUP_FRAMES + 1] {
    let mut out = [1.0f32; GROUP_FRAMES + 1];
    let mut p = 1.0f32;
    for o in out.iter_mut() {
        *o = p;
        p *= coeff;
    }
    out
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
