//! Slow automatic gain control toward a target loudness (LUFS).
//!
//! Contract: the AGC is driven at the BS.1770 momentary-block cadence (every
//! 100 ms, one 400 ms block's mean-square power). It keeps a gated,
//! exponentially weighted power average of the programme (time constant
//! `window_s`), in the energy domain as BS.1770 integrates, and steers a gain
//! so that the chain *output* lands on `target_lufs`:
//!
//! * **Gating.** Blocks below `gate_lufs` (absolute) or 20 LU below the
//!   present estimate (relative, as EBU Tech 3342 gates short-term values)
//!   leave the estimate and the gain untouched: pauses and room tone neither
//!   pump the gain up nor get boosted.
//! * **Output-referenced.** The chain reports, per block, the K-weighted
//!   energy before and after the compressor and limiter; their gated ratio is
//!   what dynamics processing takes away, and the AGC adds it back. Makeup
//!   gain cannot push the output off target, and heavy compression cannot
//!   leave it short (the correction converges: output loudness grows
//!   monotonically with AGC gain). That correction follows a 0.5 s average,
//!   not the programme window: it describes the processing, and a slow one
//!   made the loop settle tens of seconds late.
//! * **Smooth.** The gain moves at most `max_rate_db_per_s` and ramps
//!   linearly, sample by sample, across each 100 ms step — never a step.
//! * **Bounded.** The leveling part of the gain stays within
//!   `[-max_cut_db, +max_boost_db]`; the dynamics correction on top of it is
//!   within -30…+12 dB (it can cancel up to 24 dB of compressor makeup).

use super::envelope::LinearRamp;
use crate::params::AgcParams;
use crate::units::{db_to_amp, power_to_db};

/// BS.1770 loudness offset: `L = -0.691 + 10·log10(power)`.
const LOUDNESS_OFFSET_DB: f64 = -0.691;
/// Relative gate below the running estimate.
const RELATIVE_GATE_LU: f64 = 20.0;
/// Seconds per momentary step.
const STEP_S: f32 = 0.1;
/// Time constant of the estimate of what the dynamics stages take.
const DYNAMICS_WINDOW_S: f32 = 0.5;
/// Most gain the AGC adds back for what the compressor and limiter take.
const MAX_DYNAMICS_MAKEUP_DB: f32 = 12.0;
/// Most gain the AGC takes away for what the compressor's makeup adds.
const MAX_DYNAMICS_CUT_DB: f32 = 30.0;
/// How much faster than `max_rate_db_per_s` the gain returns to unity when
/// the AGC is switched off.
const DISABLE_RATE_FACTOR: f32 = 4.0;

/// AGC state. About 100 bytes.
#[derive(Debug, Clone)]
pub struct Agc {
    params: AgcParams,
    step_frames: u32,
    /// Gated, weighted mean of momentary power (linear); 0 until the first
    /// block passes the gate.
    estimate_power: f64,
    /// Gated, weighted K-weighted energies before and after dynamics.
    energy_pre: f64,
    energy_post: f64,
    /// Blocks that passed the gate, saturating: the first `window_s` of
    /// programme is a plain running mean so the AGC settles quickly.
    gated_blocks: u32,
    gain_db: f32,
    ramp: LinearRamp,
}

impl Agc {
    /// An AGC at unity gain for `sample_rate_hz`.
    pub fn new(sample_rate_hz: u32, params: &AgcParams) -> Self {
        Self {
            params: *params,
            step_frames: (sample_rate_hz as f32 * STEP_S) as u32,
            estimate_power: 0.0,
            energy_pre: 0.0,
            energy_post: 0.0,
            gated_blocks: 0,
            gain_db: 0.0,
            ramp: LinearRamp::new(1.0),
        }
    }

    /// Applies new (validated) parameters; they act from the next step, and
    /// the gain moves toward its new goal at the rate limit.
    pub fn set_params(&mut self, params: &AgcParams) {
        self.params = *params;
    }

    /// The gain the AGC is heading for at the end of the present step (dB).
    pub fn gain_db(&self) -> f32 {
        self.gain_db
    }

    /// The loudness the AGC believes the input has (LUFS), `-inf` before any
    /// block passed the gate.
    pub fn input_estimate_lufs(&self) -> f64 {
        LOUDNESS_OFFSET_DB + power_to_db(self.estimate_power)
    }

    /// Takes over `earlier`'s programme estimate and gain (another AGC, for
    /// instance one built for a different sample rate): leveling carries on
    /// where it was instead of restarting from unity. The gain continues
    /// from the value `earlier` is applying now, with no ramp in progress;
    /// the next step ramps on from there. Parameters stay this AGC's.
    ///
    /// # Realtime
    /// O(1), copies a few numbers.
    pub fn continue_from(&mut self, earlier: &Agc) {
        self.estimate_power = earlier.estimate_power;
        self.energy_pre = earlier.energy_pre;
        self.energy_post = earlier.energy_post;
        self.gated_blocks = earlier.gated_blocks;
        self.gain_db = earlier.gain_db;
        self.ramp = LinearRamp::new(earlier.ramp.value());
    }

    /// Forgets the programme (a new track or stream); keeps the gain.
    pub fn reset(&mut self) {
        self.estimate_power = 0.0;
        self.energy_pre = 0.0;
        self.energy_post = 0.0;
        self.gated_blocks = 0;
    }

    /// Feeds one momentary step.
    ///
    /// `momentary_power` is the last 400 ms block's weighted mean-square
    /// input power; `energy_pre` / `energy_post` are the summed K-weighted
    /// powers of the step's input after the AGC gain, and after the
    /// compressor and limiter gains (see the module docs).
    ///
    /// # Realtime
    /// O(1), a few `log10`/`pow` calls, once per 100 ms.
    pub fn on_step(&mut self, momentary_power: f64, energy_pre: f64, energy_post: f64) {
        let p = &self.params;
        let block_lufs = LOUDNESS_OFFSET_DB + power_to_db(momentary_power);
        let estimate_lufs = self.input_estimate_lufs();
        let gated_in = momentary_power.is_finite()
            && block_lufs >= p.gate_lufs as f64
            && (self.gated_blocks == 0 || block_lufs >= estimate_lufs - RELATIVE_GATE_LU);

        if gated_in {
            let window_steps = (p.window_s / STEP_S).max(1.0) as f64;
            let n = self.gated_blocks as f64 + 1.0;
            // Plain running mean until a window's worth has passed, then a
            // one-pole with the window as its time constant.
            let keep = (1.0 - 1.0 / n).min(libm::exp(-1.0 / window_steps));
            self.estimate_power = self.estimate_power * keep + momentary_power * (1.0 - keep);
            if energy_pre.is_finite() && energy_post.is_finite() && energy_pre > 0.0 {
                // What the dynamics take is a property of the processing,
                // not of the programme: follow it faster than the loudness,
                // so the output-referenced loop settles in seconds.
                let dyn_steps = window_steps.min((DYNAMICS_WINDOW_S / STEP_S) as f64);
                let keep_dyn = (1.0 - 1.0 / n).min(libm::exp(-1.0 / dyn_steps));
                self.energy_pre = self.energy_pre * keep_dyn + energy_pre * (1.0 - keep_dyn);
                self.energy_post = self.energy_post * keep_dyn + energy_post * (1.0 - keep_dyn);
            }
            self.gated_blocks = self.gated_blocks.saturating_add(1);
        }

        let (goal_db, rate) = if !p.enabled {
            (0.0, p.max_rate_db_per_s * DISABLE_RATE_FACTOR)
        } else if self.gated_blocks == 0 {
            // Nothing heard yet: hold.
            (self.gain_db, p.max_rate_db_per_s)
        } else {
            // What the dynamics stages take away, measured (≤ 0 typically).
            let dynamics_db = if self.energy_pre > 0.0 && self.energy_post > 0.0 {
                power_to_db(self.energy_post / self.energy_pre) as f32
            } else {
                0.0
            };
            // The boost/cut limits bound how far the *input* is moved;
            // making up what the dynamics stages take is on top of that
            // (bounded on its own), so a quiet programme does not land
            // short just because the compressor works on it.
            let leveling = (p.target_lufs - self.input_estimate_lufs() as f32)
                .clamp(-p.max_cut_db, p.max_boost_db);
            let makeup = (-dynamics_db).clamp(-MAX_DYNAMICS_CUT_DB, MAX_DYNAMICS_MAKEUP_DB);
            let wanted = leveling + makeup;
            let goal = if wanted.is_finite() {
                wanted
            } else {
                self.gain_db
            };
            (goal, p.max_rate_db_per_s)
        };

        let max_step = rate * STEP_S;
        self.gain_db += (goal_db - self.gain_db).clamp(-max_step, max_step);
        self.ramp.ramp_to(db_to_amp(self.gain_db), self.step_frames);
    }

    /// Writes the next `out.len()` samples of the (linear) AGC gain.
    ///
    /// # Realtime
    /// O(len), no allocation.
    #[inline(always)]
    pub fn fill_gain(&mut self, out: &mut [f32]) {
        self.ramp.fill(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Params;
    use crate::units::db_to_power;

    fn power_of(lufs: f64) -> f64 {
        db_to_power(lufs - LOUDNESS_OFFSET_DB)
    }

    #[test]
    fn converges_to_target_at_bounded_rate() {
        let p = Params::default().agc; // target -18, 3 dB/s
        let mut agc = Agc::new(48_000, &p);
        let mut last = 0.0f32;
        for step in 0..600 {
            agc.on_step(power_of(-30.0), 1.0, 1.0);
            let moved = (agc.gain_db() - last).abs();
            assert!(
                moved <= p.max_rate_db_per_s * STEP_S + 1e-4,
                "step {step}: {moved}"
            );
            last = agc.gain_db();
        }
        assert!((agc.gain_db() - 12.0).abs() < 0.01, "{}", agc.gain_db());
    }

    #[test]
    fn compensates_what_dynamics_take_away() {
        let p = Params::default().agc;
        let mut agc = Agc::new(48_000, &p);
        for _ in 0..600 {
            // Input at -24 LUFS; dynamics remove 2 dB.
            agc.on_step(power_of(-24.0), 1.0, db_to_power(-2.0));
        }
        assert!((agc.gain_db() - 8.0).abs() < 0.01, "{}", agc.gain_db());
    }

    #[test]
    fn holds_gain_through_silence_and_room_tone() {
        let p = Params::default().agc;
        let mut agc = Agc::new(48_000, &p);
        for _ in 0..600 {
            agc.on_step(power_of(-24.0), 1.0, 1.0);
        }
        let held = agc.gain_db();
        for _ in 0..600 {
            agc.on_step(power_of(-65.0), 1.0, 1.0); // room tone below the gate
            agc.on_step(0.0, 0.0, 0.0); // digital silence
        }
        assert_eq!(agc.gain_db(), held);
    }

    #[test]
    fn respects_boost_and_cut_limits() {
        let p = Params::default().agc;
        let mut agc = Agc::new(48_000, &p);
        for _ in 0..2000 {
            agc.on_step(power_of(-45.0), 1.0, 1.0);
        }
        assert_eq!(agc.gain_db(), p.max_boost_db);
        let mut agc = Agc::new(48_000, &p);
        for _ in 0..4000 {
            agc.on_step(power_of(10.0), 1.0, 1.0);
        }
        assert_eq!(agc.gain_db(), -p.max_cut_db);
    }

    #[test]
    fn ramps_never_step() {
        let p = Params::default().agc;
        let mut agc = Agc::new(48_000, &p);
        let mut prev = 1.0f32;
        let mut buf = [0.0f32; 64];
        for _ in 0..50 {
            agc.on_step(power_of(-40.0), 1.0, 1.0);
            for _ in 0..75 {
                agc.fill_gain(&mut buf);
                for &g in &buf {
                    // 0.3 dB per 4800 samples is far below 1e-4 per sample.
                    assert!((g - prev).abs() < 1e-4);
                    prev = g;
                }
            }
        }
    }
}
