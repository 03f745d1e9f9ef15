//! Envelope building blocks shared by the dynamics blocks: one-pole
//! coefficients from time constants, a parameter smoother, and a linear ramp.
//!
//! Contract: every state here is a few floats, updates are branch-light and
//! allocation-free, and all outputs stay finite and denormal-free for finite
//! input (states are floored well above the denormal range).

/// Per-sample coefficient `a` of a one-pole `y += (x - y) * (1 - a)` whose
/// step response reaches 1 - 1/e after `time_ms`.
///
/// Returns 0 (instant) for non-positive times.
#[inline]
pub fn one_pole_coeff(time_ms: f32, sample_rate_hz: u32) -> f32 {
    let samples = time_ms * 0.001 * sample_rate_hz as f32;
    if samples <= 0.0 || !samples.is_finite() {
        0.0
    } else {
        libm::expf(-1.0 / samples)
    }
}

/// The same one-pole's step over `frames` frames at once (`coeff^frames`,
/// computed directly): the per-block coefficient of a control-rate glide.
#[inline]
pub fn block_step(time_ms: f32, frames: usize, sample_rate_hz: u32) -> f32 {
    libm::expf(-(frames as f32) / (time_ms * 0.001 * sample_rate_hz as f32))
}

/// A value that glides toward its target with a one-pole time constant,
/// updated once per processing block (control rate).
///
/// Used to make parameter changes (threshold, ratio, makeup…) click- and
/// zipper-free: the chain's blocks are short (at most 256 frames, 5.3 ms at
/// 48 kHz) next to the 20–30 ms glides, values that scale audio directly
/// are spread across the block per frame ([`Smoothed::step_into`]), and the
/// rest feed gain computers whose own smoothing follows.
#[derive(Debug, Clone, Copy)]
pub struct Smoothed {
    current: f32,
    target: f32,
}

impl Smoothed {
    /// Starts settled at `value`.
    pub const fn new(value: f32) -> Self {
        Self {
            current: value,
            target: value,
        }
    }

    /// Sets where the value glides to.
    #[inline]
    pub fn set_target(&mut self, target: f32) {
        self.target = target;
    }

    /// Jumps straight to `value` (construction, reset).
    pub fn reset(&mut self, value: f32) {
        self.current = value;
        self.target = value;
    }

    /// Advances by one block whose one-pole coefficient is `coeff`
    /// (from [`one_pole_coeff`] with the block length as the rate divisor).
    #[inline]
    pub fn step(&mut self, coeff: f32) -> f32 {
        let next = self.target + (self.current - self.target) * coeff;
        // Snap when within float noise so the value becomes exactly the
        // target (bit-exact paths downstream depend on reaching it).
        self.current = if (next - self.target).abs() <= 1e-6 * (1.0 + self.target.abs()) {
            self.target
        } else {
            next
        };
        self.current
    }

    /// Advances by one block like [`Smoothed::step`], writing the per-sample
    /// path from the old to the new value into `out` (linear within the
    /// block), for values that scale audio directly: a per-block step would
    /// be a zipper. Returns the new value.
    #[inline]
    pub fn step_into(&mut self, coeff: f32, out: &mut [f32]) -> f32 {
        let glide = self.step_over(coeff, out.len());
        glide.fill(out);
        glide.to
    }

    /// Advances by one block of `frames` frames like
    /// [`step_into`](Self::step_into), returning the block's path instead
    /// of writing it: a caller that reads a few of its values, or applies a
    /// flat one as a scalar, needs no per-frame array.
    #[inline]
    pub fn step_over(&mut self, coeff: f32, frames: usize) -> Glide {
        let from = self.current;
        let to = self.step(coeff);
        Glide {
            from,
            to,
            inc: (to - from) / frames.max(1) as f32,
            last: frames.saturating_sub(1),
        }
    }

    /// The present value.
    #[inline]
    pub fn value(&self) -> f32 {
        self.current
    }

    /// The value being glided to.
    #[inline]
    pub fn target(&self) -> f32 {
        self.target
    }

    /// Whether the glide has finished.
    #[inline]
    pub fn is_settled(&self) -> bool {
        self.current == self.target
    }
}

/// One block of a [`Smoothed`] value: linear from the old value to the new,
/// frame `i` at `from + inc·(i + 1)` and the last frame exactly at `to`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Glide {
    /// The value before the block.
    pub from: f32,
    /// The value at the block's last frame (and after it).
    pub to: f32,
    inc: f32,
    last: usize,
}

impl Glide {
    /// Whether every frame of the block has the value `to`.
    #[inline]
    pub fn is_flat(&self) -> bool {
        self.from == self.to
    }

    /// The value at frame `i` of the block.
    #[inline]
    pub fn at(&self, i: usize) -> f32 {
        if self.is_flat() || i >= self.last {
            self.to
        } else {
            self.from + self.inc * (i + 1) as f32
        }
    }

    /// The block's values, frame by frame, into `out`. Always inlined, so
    /// the AVX2 chain gets an AVX2 loop (an out-of-line copy is baseline).
    #[inline(always)]
    pub fn fill(&self, out: &mut [f32]) {
        if self.is_flat() {
            out.fill(self.to);
        } else {
            let (from, inc) = (self.from, self.inc);
            for (i, o) in out.iter_mut().enumerate() {
                *o = from + inc * (i + 1) as f32;
            }
            if let Some(last) = out.last_mut() {
                *last = self.to;
            }
        }
    }
}

/// A gain that moves linearly from its present value to a target over a
/// fixed number of samples, so block-rate decisions never step per block.
#[derive(Debug, Clone, Copy)]
pub struct LinearRamp {
    value: f32,
    start: f32,
    increment: f32,
    /// Samples done of `total`; values are `start + increment·done`, not a
    /// running sum, so float rounding cannot accumulate into a final step.
    done: u32,
    total: u32,
    target: f32,
}

impl LinearRamp {
    /// Starts settled at `value`.
    pub const fn new(value: f32) -> Self {
        Self {
            value,
            start: value,
            increment: 0.0,
            done: 0,
            total: 0,
            target: value,
        }
    }

    /// Ramps from the present value to `target` over `samples` samples.
    pub fn ramp_to(&mut self, target: f32, samples: u32) {
        self.target = target;
        self.start = self.value;
        self.done = 0;
        self.total = samples;
        if samples == 0 {
            self.value = target;
            self.increment = 0.0;
        } else {
            self.increment = (target - self.value) / samples as f32;
        }
    }

    /// The present value.
    #[inline]
    pub fn value(&self) -> f32 {
        self.value
    }

    /// The value being ramped to.
    #[inline]
    pub fn target(&self) -> f32 {
        self.target
    }

    /// Fills `out` with the next `out.len()` values of the ramp.
    ///
    /// # Realtime
    /// O(len), no allocation.
    #[inline]
    pub fn fill(&mut self, out: &mut [f32]) {
        let ramping = (self.total.saturating_sub(self.done) as usize).min(out.len());
        let (ramp, rest) = out.split_at_mut(ramping);
        let (start, increment, done) = (self.start, self.increment, self.done);
        // Independent per-sample values: the loop vectorizes.
        for (i, o) in ramp.iter_mut().enumerate() {
            *o = start + increment * (done + 1 + i as u32) as f32;
        }
        self.done += ramping as u32;
        if let Some(last) = ramp.last_mut() {
            self.value = if self.done >= self.total {
                *last = self.target;
                self.target
            } else {
                *last
            };
        }
        rest.fill(self.value);
    }
}

/// A 0 ↔ 1 crossfade along a raised-cosine S-curve of fixed length: its
/// slope starts and ends at zero, so switching between two different signals
/// (dry/wet) leaves no kink a listener hears as a click.
#[derive(Debug, Clone, Copy)]
pub struct Crossfade {
    /// Position along the fade, 0..=len (0 = fully A, len = fully B).
    pos: u32,
    len: u32,
    toward_b: bool,
}

impl Crossfade {
    /// Settled at B (`at_b`) or A, fading over `len` samples when switched.
    pub const fn new(at_b: bool, len: u32) -> Self {
        let len = if len == 0 { 1 } else { len };
        Self {
            pos: if at_b { len } else { 0 },
            len,
            toward_b: at_b,
        }
    }

    /// Heads toward B (`true`) or A; a reversal mid-fade turns around
    /// smoothly from where it is.
    pub fn set(&mut self, toward_b: bool) {
        self.toward_b = toward_b;
    }

    /// Whether the fade rests at A (exactly 0) or B (exactly 1).
    pub fn is_settled(&self) -> bool {
        (self.toward_b && self.pos == self.len) || (!self.toward_b && self.pos == 0)
    }

    /// The weight of B now.
    pub fn value(&self) -> f32 {
        if self.pos == 0 {
            0.0
        } else if self.pos >= self.len {
            1.0
        } else {
            0.5 - 0.5 * libm::cosf(core::f32::consts::PI * self.pos as f32 / self.len as f32)
        }
    }

    /// Writes the next `out.len()` weights of B.
    ///
    /// # Realtime
    /// O(len); one `cos` per sample only while fading.
    #[inline(always)]
    pub fn fill(&mut self, out: &mut [f32]) {
        if self.is_settled() {
            out.fill(self.value());
        } else {
            self.fade(out);
        }
    }

    /// [`fill`](Self::fill) while fading: rare, out of line.
    #[cold]
    fn fade(&mut self, out: &mut [f32]) {
        for o in out.iter_mut() {
            if self.toward_b {
                self.pos = (self.pos + 1).min(self.len);
            } else {
                self.pos = self.pos.saturating_sub(1);
            }
            *o = self.value();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pole_reaches_63_percent_after_time_constant() {
        let a = one_pole_coeff(10.0, 48_000);
        let mut y = 0.0f32;
        for _ in 0..480 {
            y += (1.0 - y) * (1.0 - a);
        }
        assert!((y - (1.0 - (-1.0f32).exp())).abs() < 1e-3, "{y}");
        assert_eq!(one_pole_coeff(0.0, 48_000), 0.0);
    }

    #[test]
    fn ramp_is_linear_and_lands_exactly() {
        let mut r = LinearRamp::new(1.0);
        r.ramp_to(0.5, 10);
        let mut out = [0.0f32; 12];
        r.fill(&mut out);
        for (i, v) in out.iter().enumerate().take(10) {
            assert!((v - (1.0 - 0.05 * (i + 1) as f32)).abs() < 1e-6);
        }
        assert_eq!(out[9], 0.5);
        assert_eq!(out[11], 0.5);
    }

    #[test]
    fn smoothed_settles_exactly() {
        let mut s = Smoothed::new(0.0);
        s.set_target(-6.0);
        for _ in 0..10_000 {
            s.step(0.9);
        }
        assert!(s.is_settled());
        assert_eq!(s.value(), -6.0);
    }
}
