//! Lookahead true-peak limiter.
//!
//! Contract: the output's true peak (ITU-R BS.1770-4 Annex 2, measured by
//! any oversampled reference) never exceeds the ceiling, for any input; the
//! audio path is a pure delay times a gain (no filtering, so the response is
//! flat when the limiter is not acting); latency is fixed at construction and
//! reported exactly by [`Limiter::latency_frames`].
//!
//! How, and why each step is there:
//! 1. **Detect** on the side chain only: an oversampling [`TruePeakDetector`]
//!    finds each frame's inter-sample peak; the audio itself is never
//!    resampled. That detector is exact for content up to 20 kHz and
//!    attenuates what lies above (it is also the meter's, and BS.1770's true
//!    peak is defined for the audio band). Full-band material — clicks,
//!    clipped noise, hi-res ultrasonics — makes inter-sample peaks above
//!    20 kHz too, so an [`HfGuard`] adds a bound for that band: a linear-phase
//!    high-pass above 20 kHz, aligned with the detector, whose neighbourhood
//!    peak times [`HF_FACTOR`] is added to the detector's reading (triangle
//!    inequality: peak(x) ≤ peak(low band) + peak(high band)). The wanted
//!    gain is `r[n] = min(1, ceiling / p[n])`.
//! 2. **Hold**: a sliding minimum of `r` over `W = B + 2K` frames (monotonic
//!    deque, amortized O(1)), stepped once per group of [`GROUP_FRAMES`]
//!    frames: each group enters as its minimum and the window is widened to
//!    whole groups, so the hold is never above the per-frame one. `K` is the interpolator's half-width, so the
//!    gain is flat at or below `r` across every sample that shapes the peak
//!    between samples — that is what makes the *true* peak, not just the
//!    sample peak, land under the ceiling.
//! 3. **Release**: a one-pole that may only rise slowly, never fall slowly,
//!    also stepped per group (and never above the group's hold).
//! 4. **Ramp**: a moving average over `B` frames (the attack, set by
//!    `lookahead_ms`) turns the held gain into a linear ramp that reaches its
//!    floor before the peak arrives. The average is computed exactly from
//!    integer prefix sums (no drift, and any `B` can be read at any time).
//! 5. **Apply** the gain to the audio delayed by `D + B_max - 1 + K`, then
//!    clamp to the ceiling as a last line of defence for sample peaks.
//!
//! Live changes: the ceiling glides (per block); on/off crossfades; a new
//! ceiling reaches the last-line clamp only as the frames planned under it
//! come out (a falling ceiling must not clip what is already in the delay
//! line: that clicked); a new
//! `lookahead_ms` first widens the hold window to cover both old and new
//! ramps, then crossfades from the old ramp to the new one, so the guarantee
//! holds throughout and nothing clicks. Latency never changes.

use super::aligned::Aligned;
use super::envelope::{block_step, one_pole_coeff, Smoothed};
use super::isa::madd;
use super::ring;
use super::true_peak::TruePeakDetector;
use crate::error::ConfigError;
use crate::params::LimiterParams;
use crate::units::{db_to_amp, group_max, max_of, min_of};

/// Most frames one call to [`Limiter::process`] handles.
pub const MAX_BLOCK: usize = 256;
/// Frames per step of the hold and release (the gain computer's control
/// rate); the ramp and the audio still run per frame.
pub const GROUP_FRAMES: usize = 8;
/// Ring capacity (frames): holds the longest delay at 192 kHz.
const RING: usize = 512;
const MASK: u32 = RING as u32 - 1;
/// Deque capacity (groups): a hold window of whole groups spans fewer than
/// `RING / GROUP_FRAMES + 2`. Host blocks of a few frames make groups that
/// short, and then a window at 96 or 192 kHz can span more than this; a
/// full deque folds the newest group into the one before it (see
/// `hold_and_release`), which can only hold the gain lower.
const DEQUE: usize = 128;
const DQ_MASK: u32 = DEQUE as u32 - 1;
/// Fixed-point scale of the gain prefix sums (Q20: sums of 512 gains ≤ 2^29).
const Q: f32 = (1u32 << 20) as f32;
/// The most lookahead the chain is built for; fixes the latency.
pub const MAX_LOOKAHEAD_MS: f32 = 1.5;
/// Headroom the detector aims under the ceiling, covering its own error
/// (< 0.1 dB for any content it can see) with margin.
const DETECTOR_MARGIN_DB: f32 = 0.15;
/// Ceiling glide time constant.
const GLIDE_MS: f32 = 20.0;
/// Frames per slot of the ceiling history the last-line clamp reads. Long
/// slots keep its cost per block to a few steps; the price is a clamp
/// that may stay at an older, higher ceiling for up to a slot longer,
/// which the gain path (which alone keeps the guarantee) does not need.
const CEIL_SLOT_FRAMES: u32 = 128;
/// Slots in that history: they must span the delay plus a block plus a
/// slot at every rate (checked in `new`).
const CEIL_SLOTS: usize = 8;
/// Crossfade length when switching ramps or on/off.
const XFADE_MS: f32 = 20.0;
/// Time constant of the on/off crossfade (settled within `XFADE_MS`).
const XFADE_TAU_MS: f32 = 0.3 * XFADE_MS;

/// Where the side-chain high band starts (its -6 dB point; capped at
/// 0.475·rate). Above 20 kHz so the audio band is not counted twice: a loud
/// 20 kHz tone must not be limited below the ceiling.
const HF_CUTOFF_HZ: f32 = 21_500.0;
/// Half-length cap of the high-pass (taps = 2·half + 1).
const HF_MAX_HALF: usize = 24;
/// The high band's inter-sample peak relative to its sample neighbourhood:
/// a band-limited signal between 19 kHz and Nyquist, sampled at 44.1 kHz or
/// more, peaks between samples at most this much above the larger
/// neighbour. Checked against the independent 16× reference in the tests.
pub const HF_FACTOR: f32 = 1.5;

/// Side-chain bound for the band the true-peak detector does not see
/// (above `HF_CUTOFF_HZ`, 21.5 kHz); see the module docs.
#[derive(Debug, Clone)]
pub struct HfGuard<const C: usize> {
    taps: [f32; 2 * HF_MAX_HALF + 1],
    half: usize,
    history: [[f32; 2 * HF_MAX_HALF]; C],
    last: f32,
    /// `Σ |taps|`, kept because the skip path needs it every block.
    taps_l1: f32,
}

impl<const C: usize> HfGuard<C> {
    /// A high-pass of `2·half + 1` taps (delay `half` frames) at `sample_rate_hz`.
    pub fn new(sample_rate_hz: u32, half: usize) -> Self {
        let half = half.clamp(1, HF_MAX_HALF);
        let mut taps = [0.0f32; 2 * HF_MAX_HALF + 1];
        // Kaiser-windowed sinc low-pass at the cutoff, then spectral
        // inversion: high-pass = delta - low-pass (exactly complementary).
        let fc = (HF_CUTOFF_HZ / sample_rate_hz as f32).min(0.475) as f64;
        let beta = 6.0f64;
        let i0 = |x: f64| {
            let (mut sum, mut term, mut k) = (1.0f64, 1.0f64, 1.0f64);
            while term > 1e-10 * sum {
                term *= (x / (2.0 * k)) * (x / (2.0 * k));
                sum += term;
                k += 1.0;
            }
            sum
        };
        let norm = i0(beta);
        let mut lp = [0.0f64; 2 * HF_MAX_HALF + 1];
        let mut dc = 0.0;
        for (k, t) in lp.iter_mut().enumerate().take(2 * half + 1) {
            let m = k as f64 - half as f64;
            let sinc = if m == 0.0 {
                2.0 * fc
            } else {
                libm::sin(2.0 * core::f64::consts::PI * fc * m) / (core::f64::consts::PI * m)
            };
            let r = m / (half as f64 + 1.0);
            *t = sinc * i0(beta * libm::sqrt((1.0 - r * r).max(0.0))) / norm;
            dc += *t;
        }
        for k in 0..=half {
            let low = lp[k] / dc;
            let t = if k == half {
                (1.0 - low) as f32
            } else {
                (-low) as f32
            };
            // Exactly symmetric: the filter folds tap pairs.
            taps[k] = t;
            taps[2 * half - k] = t;
        }
        Self {
            taps,
            half,
            history: [[0.0; 2 * HF_MAX_HALF]; C],
            last: 0.0,
            taps_l1: taps.iter().map(|t| t.abs()).sum(),
        }
    }

    /// Adds `HF_FACTOR · max(|hp[n]|, |hp[n-1]|)` (over all channels) to
    /// `peak[n]`, with the high-pass aligned `half` frames late like the
    /// detector's reports.
    ///
    /// # Realtime
    /// `2·half + 1` multiply-adds per channel and frame, vectorized over time.
    #[inline(always)]
    pub fn add_bound<S: AsRef<[f32]>>(&mut self, channels: &[S], frames: usize, peak: &mut [f32]) {
        self.add_bound_on::<S, false>(channels, frames, peak);
    }

    /// [`add_bound`](Self::add_bound) with the FIR's multiply-adds fused
    /// when `FUSED` (the chain's AVX2 build, see [`madd`]).
    #[inline(always)]
    pub(crate) fn add_bound_on<S: AsRef<[f32]>, const FUSED: bool>(
        &mut self,
        channels: &[S],
        frames: usize,
        peak: &mut [f32],
    ) {
        let n = frames.min(MAX_BLOCK).min(peak.len());
        let len = 2 * self.half;
        let mut band = [0.0f32; MAX_BLOCK];
        for (hist, samples) in self.history.iter_mut().zip(channels.iter()) {
            // Slack past the block so the last group of eight stays in bounds.
            let mut buf = Aligned([0.0f32; 2 * HF_MAX_HALF + MAX_BLOCK + 8]);
            Self::stage(hist, len, samples.as_ref(), n, &mut buf[..]);
            // 32 frames at a time (eight vector accumulators in flight, so
            // the adds' latency is hidden), the rest eight at a time; the
            // kernel is symmetric, so tap pairs share one multiply.
            // Each block's magnitudes go straight into the running maximum
            // over channels (no array of filtered values in between).
            let wide = n / 32 * 32;
            let (taps, h) = (&self.taps, self.half);
            let tail = wide..n.div_ceil(8) * 8;
            Self::fir_blocks::<32, FUSED>(taps, h, &buf[..], 0, &mut band[..wide]);
            Self::fir_blocks::<8, FUSED>(taps, h, &buf[..], wide, &mut band[tail]);
        }
        let mut prev = self.last;
        for (p, &b) in peak[..n].iter_mut().zip(&band[..n]) {
            *p += HF_FACTOR * b.max(prev);
            prev = b;
        }
        self.last = prev;
    }

    /// Takes `frames` frames of input into the history without computing
    /// the bound, for blocks where the caller has shown it cannot matter
    /// (see [`bound_gain`](Self::bound_gain)). `max_abs` must bound the
    /// input magnitudes over the last `2·half + 1` frames: the next block's
    /// first frame then sees `bound_gain() / HF_FACTOR · max_abs` as the
    /// previous band value, an upper bound of the one skipped.
    #[inline(always)]
    pub fn skip<S: AsRef<[f32]>>(&mut self, channels: &[S], frames: usize, max_abs: f32) {
        let n = frames.min(MAX_BLOCK);
        let len = 2 * self.half;
        for (hist, samples) in self.history.iter_mut().zip(channels.iter()) {
            // The history becomes the last `len` frames of history + input.
            let x = samples.as_ref();
            let n = n.min(x.len());
            if n >= len {
                for (h, &v) in hist[..len].iter_mut().zip(&x[n - len..n]) {
                    *h = Self::clean(v);
                }
            } else {
                hist.copy_within(n..len, 0);
                for (h, &v) in hist[len - n..len].iter_mut().zip(&x[..n]) {
                    *h = Self::clean(v);
                }
            }
        }
        if n > 0 {
            self.last = self.taps_l1 * max_abs;
        }
    }

    /// Lays out one channel's `len` frames of history and `n` new frames
    /// (finite, clamped) in `buf`, and keeps the last `len` as the history.
    ///
    /// `buf` must hold `n + 2·HF_MAX_HALF` values: whole histories are
    /// copied (a fixed-size copy is a few vector moves, a `len`-long one a
    /// library call); what lies past `len` in the history is never read.
    #[inline(always)]
    fn stage(hist: &mut [f32; 2 * HF_MAX_HALF], len: usize, x: &[f32], n: usize, buf: &mut [f32]) {
        let Some(head) = buf.get_mut(..2 * HF_MAX_HALF) else {
            return;
        };
        head.copy_from_slice(hist);
        for (b, &x) in buf[len..len + n].iter_mut().zip(x) {
            *b = Self::clean(x);
        }
        if let Some(tail) = buf.get(n..n + 2 * HF_MAX_HALF) {
            hist.copy_from_slice(tail);
        }
    }

    /// Finite `x` only (`x · 0 == 0`), clamped to ±1e30; a vector select.
    #[inline(always)]
    fn clean(x: f32) -> f32 {
        let v = if x * 0.0 == 0.0 { x } else { 0.0 };
        let v = if v > 1e30 { 1e30 } else { v };
        if v < -1e30 {
            -1e30
        } else {
            v
        }
    }

    /// `out[i] = max(out[i], |Σ_k taps[k]·buf[from + i + k]|)` over the
    /// `2·h + 1` symmetric taps, in blocks of `B` frames (`out.len()` a
    /// multiple of `B`; `buf` holds the reach).
    #[inline(always)]
    fn fir_blocks<const B: usize, const FUSED: bool>(
        taps: &[f32; 2 * HF_MAX_HALF + 1],
        h: usize,
        buf: &[f32],
        from: usize,
        out: &mut [f32],
    ) {
        let centre = taps[h];
        for (b, out) in out.chunks_exact_mut(B).enumerate() {
            let i0 = from + b * B;
            // One bounds check per block: every window below lies inside.
            let Some(src) = buf.get(i0..i0 + 2 * h + B) else {
                return;
            };
            let mut a = [0.0f32; B];
            let mid = &src[h..h + B];
            for l in 0..B {
                a[l] = centre * mid[l];
            }
            for (k, &t) in taps[..h].iter().enumerate() {
                let left = &src[k..k + B];
                let right = &src[2 * h - k..2 * h - k + B];
                for l in 0..B {
                    a[l] = madd::<FUSED>(t, left[l] + right[l], a[l]);
                }
            }
            for (o, &a) in out.iter_mut().zip(&a) {
                *o = o.max(a.abs());
            }
        }
    }

    /// Clears the history.
    pub fn reset(&mut self) {
        self.history = [[0.0; 2 * HF_MAX_HALF]; C];
        self.last = 0.0;
    }

    /// `max (added bound) / max |input|`: the most [`add_bound`](Self::add_bound)
    /// adds per unit of input magnitude.
    pub fn bound_gain(&self) -> f32 {
        HF_FACTOR * self.taps_l1
    }

    /// As [`TruePeakDetector::modulation_moment`] for the added bound: a
    /// gain varying by at most `s` per frame moves it by at most
    /// `s · max|x| · modulation_moment()` beyond `G[m]` times the bound of
    /// the ungained input (the high-pass is centred on frame `m` and on
    /// `m - 1`, hence the extra norm).
    pub fn modulation_moment(&self) -> f32 {
        let (m1, l1) = self
            .taps
            .iter()
            .enumerate()
            .fold((0.0f32, 0.0f32), |(m1, l1), (k, t)| {
                (
                    m1 + t.abs() * (k as f32 - self.half as f32).abs(),
                    l1 + t.abs(),
                )
            });
        HF_FACTOR * (m1 + l1) * 1.001
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ramp {
    /// One ramp of this length in use.
    Steady(u32),
    /// Hold window widened for both ramps; still reading `old`; frames left.
    Widen { old: u32, new: u32, left: u32 },
    /// Crossfading `old` → `new`; frames done of `total`.
    Fade { old: u32, new: u32, done: u32 },
}

/// The limiter for up to `C` channels. For `C = 2`, about 10 KiB.
#[derive(Debug, Clone)]
pub struct Limiter<const C: usize> {
    detector: TruePeakDetector<C>,
    hf: HfGuard<C>,
    channels: usize,
    sample_rate_hz: u32,
    audio: Aligned<[[f32; RING]; C]>,
    /// Sliding-minimum deque of groups (values ascending front→back), as a
    /// ring.
    dq_value: [f32; DEQUE],
    /// Low 16 bits of each group's last frame (windows are < 512 frames).
    dq_index: [u16; DEQUE],
    dq_head: u32,
    dq_len: u32,
    /// Prefix sums of the released gain in Q20, wrapping.
    prefix: [u32; RING],
    /// Frame counter (wrapping), the write position of every ring.
    now: u32,
    released: f32,
    /// The release coefficient raised to 0..=GROUP_FRAMES (one group's step).
    release_pow: [f32; GROUP_FRAMES + 1],
    /// Per group length: how close to the held gain the release jumps the
    /// rest of the way (see `hold_and_release`).
    release_snap: [f32; GROUP_FRAMES + 1],
    /// Interpolator half-width (frames) the hold must cover on each side.
    half_width: u32,
    ramp_max: u32,
    delay: u32,
    ramp: Ramp,
    pending_ramp: Option<u32>,
    xfade_frames: u32,
    /// The ceiling glide's and the on/off crossfade's one-pole steps over a
    /// block of `coeff_frames` frames, and the detector margin as a gain:
    /// computed when the block length changes, not per block (three `expf`
    /// a block were 0.36 ns per frame at 128-frame calls). Hosts repeat one
    /// length.
    block_coeffs: [f32; 3],
    coeff_frames: usize,
    /// Ceiling as linear amplitude, gliding.
    ceiling: Smoothed,
    /// 0 = off (unity), 1 = limiting.
    mix: Smoothed,
    min_gain: f32,
    /// Most frames one call processes: [`MAX_BLOCK`], or less where the
    /// delay is long enough (192 kHz) that a whole `MAX_BLOCK` would not
    /// fit behind it in the ring.
    max_block: usize,
    /// Frames, ending at the last one written, whose released gain was
    /// exactly 1 (saturating): once they cover every ramp window of a
    /// block, its gain is exactly 1 without reading the prefix sums.
    unity_frames: u32,
    /// Highest ceiling (at block start) of the blocks that took in frames
    /// of each [`CEIL_SLOT_FRAMES`]-frame slot of input time, and the
    /// slot's number (`frame / CEIL_SLOT_FRAMES`) to tell stale entries.
    ceil_hist: [f32; CEIL_SLOTS],
    ceil_slot: [u32; CEIL_SLOTS],
}

impl<const C: usize> Limiter<C> {
    /// A limiter for `channels` channels at `sample_rate_hz`.
    ///
    /// # Errors
    /// As [`TruePeakDetector::new`].
    pub fn new(
        sample_rate_hz: u32,
        channels: usize,
        params: &LimiterParams,
    ) -> Result<Self, ConfigError> {
        let detector = TruePeakDetector::new(sample_rate_hz, channels)?;
        let det = detector.latency_frames() as u32;
        let half_width = det.max(1);
        let latency = libm::roundf(MAX_LOOKAHEAD_MS * 0.001 * sample_rate_hz as f32) as u32;
        // latency = det + ramp_max - 1 + half_width
        let ramp_max = (latency + 1).saturating_sub(det + half_width).max(4);
        let delay = det + ramp_max - 1 + half_width;
        let ceiling = db_to_amp(params.ceiling_dbtp);
        // Whole blocks are this long at this rate; their glide steps are
        // computed once here (an `expf` per block is measurable).
        let max_block = Self::max_block_for(delay as usize);
        let mut lim = Self {
            hf: HfGuard::new(sample_rate_hz, det as usize),
            detector,
            channels,
            sample_rate_hz,
            audio: Aligned([[0.0; RING]; C]),
            dq_value: [1.0; DEQUE],
            dq_index: [0; DEQUE],
            dq_head: 0,
            dq_len: 0,
            prefix: [0; RING],
            now: 0,
            released: 1.0,
            release_pow: [1.0; GROUP_FRAMES + 1],
            release_snap: [0.0; GROUP_FRAMES + 1],
            half_width,
            ramp_max,
            delay,
            ramp: Ramp::Steady(ramp_max),
            pending_ramp: None,
            xfade_frames: (XFADE_MS * 0.001 * sample_rate_hz as f32) as u32,
            block_coeffs: [
                block_step(GLIDE_MS, max_block, sample_rate_hz),
                block_step(XFADE_TAU_MS, max_block, sample_rate_hz),
                db_to_amp(-DETECTOR_MARGIN_DB),
            ],
            coeff_frames: max_block,
            ceiling: Smoothed::new(ceiling),
            mix: Smoothed::new(if params.enabled { 1.0 } else { 0.0 }),
            min_gain: 1.0,
            max_block,
            unity_frames: 0,
            ceil_hist: [0.0; CEIL_SLOTS],
            ceil_slot: [u32::MAX; CEIL_SLOTS],
        };
        debug_assert!(
            delay as usize + max_block + CEIL_SLOT_FRAMES as usize
                <= CEIL_SLOTS * CEIL_SLOT_FRAMES as usize
        );
        debug_assert!(
            (delay as usize) + lim.max_block < RING && ramp_max + 2 * half_width + 1 < RING as u32
        );
        lim.reset();
        lim.set_params(params);
        lim.ramp = Ramp::Steady(lim.ramp_frames(params.lookahead_ms));
        lim.pending_ramp = None;
        Ok(lim)
    }

    /// Frames from input to output. Constant for the limiter's life.
    pub fn latency_frames(&self) -> usize {
        self.delay as usize
    }

    /// How late the side-chain readings of
    /// [`process_with_peaks`](Self::process_with_peaks) are expected to be
    /// (the [`TruePeakDetector`]'s latency at this rate).
    pub fn detector_latency_frames(&self) -> usize {
        self.detector.latency_frames()
    }

    /// Applies new (validated) parameters; they glide or crossfade in.
    pub fn set_params(&mut self, params: &LimiterParams) {
        self.ceiling.set_target(db_to_amp(params.ceiling_dbtp));
        self.mix.set_target(if params.enabled { 1.0 } else { 0.0 });
        let rel = one_pole_coeff(params.release_ms, self.sample_rate_hz);
        let mut pow = 1.0f32;
        for (p, snap) in self
            .release_pow
            .iter_mut()
            .zip(self.release_snap.iter_mut())
        {
            *p = pow;
            // A step moves the release by `(1 - pow)·distance`; below one
            // `f32` ulp of 1 that rounds to nothing (see `hold_and_release`).
            *snap = if pow < 1.0 {
                f32::EPSILON / (1.0 - pow)
            } else {
                0.0
            };
            pow *= rel;
        }
        let b = self.ramp_frames(params.lookahead_ms);
        match self.ramp {
            Ramp::Steady(cur) if cur == b => self.pending_ramp = None,
            _ => self.pending_ramp = Some(b),
        }
    }

    /// Ramp length for a lookahead: the ramp plus the hold half-width
    /// (and the detector's own delay) make up the lookahead.
    fn ramp_frames(&self, lookahead_ms: f32) -> u32 {
        let frames = libm::roundf(lookahead_ms * 0.001 * self.sample_rate_hz as f32) as u32;
        let det = self.detector.latency_frames() as u32;
        (frames + 1)
            .saturating_sub(det + self.half_width)
            .clamp(1, self.ramp_max)
    }

    /// The deepest gain reduction since the last call (dB, ≤ 0); resets it.
    pub fn take_max_reduction_db(&mut self) -> f32 {
        let g = core::mem::replace(&mut self.min_gain, 1.0);
        crate::units::amp_to_db(g).min(0.0)
    }

    /// Clears the audio and gain history (output restarts from silence).
    pub fn reset(&mut self) {
        self.detector.reset();
        self.hf.reset();
        self.audio = Aligned([[0.0; RING]; C]);
        self.dq_len = 0;
        self.dq_head = 0;
        self.now = 0;
        self.released = 1.0;
        self.min_gain = 1.0;
        self.unity_frames = RING as u32;
        self.ceil_slot = [u32::MAX; CEIL_SLOTS];
        // Prefix sums as if every frame before time 0 had unity gain:
        // slot of frame k (k < 0) holds k·Q (wrapping).
        for (slot, p) in self.prefix.iter_mut().enumerate() {
            *p = (slot as u32)
                .wrapping_sub(RING as u32)
                .wrapping_mul(Q as u32);
        }
    }

    fn hold_window(&self) -> u32 {
        match self.ramp {
            Ramp::Steady(b) => b + 2 * self.half_width,
            Ramp::Widen { old, new, .. } | Ramp::Fade { old, new, .. } => {
                old.max(new) + 2 * self.half_width
            }
        }
    }

    /// Gain from a ramp of `b` frames at frame `at`, read so its flat part
    /// is centred on the frame leaving the delay line then.
    #[inline]
    fn ramp_gain(&self, at: u32, b: u32) -> f32 {
        let end = at.wrapping_sub(self.ramp_max - b);
        let start = end.wrapping_sub(b);
        let sum =
            self.prefix[(end & MASK) as usize].wrapping_sub(self.prefix[(start & MASK) as usize]);
        sum as f32 * (1.0 / Q) / b as f32
    }

    /// Limits `frames` frames of planar audio in place (output is the input
    /// delayed by [`Limiter::latency_frames`]), writing each frame's gain to
    /// `gain`. `frames` is clamped to [`max_block_frames`](Self::max_block_frames)
    /// and the slices' lengths.
    ///
    /// # Realtime
    /// No allocation. Per frame: the detector's polyphase filter (skipped on
    /// blocks that cannot reach the ceiling), the high-band guard, a few
    /// vectorized passes and one ring read per ramp; per group of
    /// [`GROUP_FRAMES`]: one deque update and one release step.
    pub fn process(&mut self, audio: &mut [&mut [f32]], frames: usize, gain: &mut [f32]) {
        let Some((n, channels)) = self.block_size(audio, frames, gain.len()) else {
            return;
        };
        let aim = self.aim(n);
        // 1. Side-chain true peak per frame, max over channels.
        let mut peak = [0.0f32; MAX_BLOCK];
        for (ch, samples) in audio.iter().enumerate().take(channels) {
            self.detector
                .process_channel(ch, &samples[..n], &mut peak[..n], aim);
        }
        self.hf.add_bound(&audio[..channels], n, &mut peak[..n]);
        self.process_with_peaks(audio, n, &peak[..n], gain);
    }

    /// The frames and channels a call can handle, or `None` for nothing.
    fn block_size(
        &self,
        audio: &[&mut [f32]],
        frames: usize,
        gain_len: usize,
    ) -> Option<(usize, usize)> {
        let mut n = frames.min(self.max_block).min(gain_len);
        for ch in audio.iter() {
            n = n.min(ch.len());
        }
        let channels = self.channels.min(audio.len()).min(C);
        (n > 0).then_some((n, channels))
    }

    /// The largest power-of-two block (at most [`MAX_BLOCK`]) that fits in
    /// the ring behind a delay of `delay` frames.
    fn max_block_for(delay: usize) -> usize {
        let mut block = MAX_BLOCK;
        while block > 1 && delay + block >= RING {
            block /= 2;
        }
        block
    }

    /// Most frames one call to the `process` methods handles at this
    /// sample rate: [`MAX_BLOCK`], or half of it at 192 kHz (whose delay
    /// leaves less room in the ring).
    pub fn max_block_frames(&self) -> usize {
        self.max_block
    }

    /// The ceiling glide's (`which` 0) or the on/off crossfade's (1)
    /// one-pole step over `frames` frames.
    fn block_coeff(&self, which: usize, frames: usize) -> f32 {
        match which {
            0 | 1 if frames == self.coeff_frames => self.block_coeffs[which],
            0 => block_step(GLIDE_MS, frames, self.sample_rate_hz),
            _ => block_step(XFADE_TAU_MS, frames, self.sample_rate_hz),
        }
    }

    /// The level the side chain must stay under during the next block of
    /// `frames` frames for the output to meet the ceiling (the lower end of
    /// the ceiling's glide over the block, less the detector margin). A
    /// caller supplying its own peaks may skip work at or below it.
    pub fn aim(&self, frames: usize) -> f32 {
        let glide = self.block_coeff(0, frames.min(MAX_BLOCK));
        let mut ceiling = self.ceiling;
        let now = ceiling.value();
        let after = ceiling.step(glide);
        now.min(after) * self.block_coeffs[2]
    }

    /// As [`process`](Self::process), with the side-chain reading supplied:
    /// `peak[i]` must bound the true peak (including the band above the
    /// detector's, see [`HfGuard`]) of the interval ending at frame
    /// `i - detector_latency_frames()` of `audio`, the way
    /// [`TruePeakDetector::process_channel`] plus [`HfGuard::add_bound`]
    /// report it; values at or below [`aim`](Self::aim) may be any value at
    /// or below it. This lets a host that already runs a detector (the
    /// chain's input meter) share it.
    #[inline(always)]
    pub fn process_with_peaks(
        &mut self,
        audio: &mut [&mut [f32]],
        frames: usize,
        peak: &[f32],
        gain: &mut [f32],
    ) {
        let Some((n, channels)) = self.block_size(audio, frames, gain.len().min(peak.len())) else {
            return;
        };
        if n != self.coeff_frames {
            self.block_coeffs[0] = block_step(GLIDE_MS, n, self.sample_rate_hz);
            self.block_coeffs[1] = block_step(XFADE_TAU_MS, n, self.sample_rate_hz);
            self.coeff_frames = n;
        }
        // The ceiling may glide inside this block: aim at the lower end.
        let aim = self.aim(n);
        let planned = self.ceiling.value();
        let ceiling = self.ceiling.step(self.block_coeff(0, n));
        let xfade = self.block_coeff(1, n);
        let mix = self.mix.step_over(xfade, n);
        let mix_now = mix.to;

        let start = self.now;
        let clamp = self.clamp_level(start, n, planned, ceiling);
        // In steady state (the common case) the ramp cannot change inside
        // this block: read one ramp length without the state machine.
        let steady = match (self.ramp, self.pending_ramp) {
            (Ramp::Steady(b), None) => Some(b),
            _ => None,
        };
        // Idle fast path: nothing in this block needs reduction and nothing
        // in the hold window did either, so the held and released gains
        // stay exactly 1 — the same numbers the general path produces.
        let idle = steady.is_some()
            && self.released >= 1.0
            && (self.dq_len == 0 || self.dq_value[self.dq_head as usize] >= 1.0)
            // No report over the aim (every wanted gain is 1), tested as
            // one vectorized maximum rather than a short-circuiting scan.
            && max_of(&peak[..n]) <= aim;
        if idle {
            self.dq_len = 1;
            self.dq_value[self.dq_head as usize] = 1.0;
            self.dq_index[self.dq_head as usize] = start.wrapping_add(n as u32 - 1) as u16;
            self.write_prefix_unity(start, n);
            self.unity_frames = self.unity_frames.saturating_add(n as u32);
        } else {
            // The hold takes each group of frames as its smallest wanted
            // gain `min(1, aim / p)`: that is `aim / max p` (division is
            // monotonic), one division per group instead of per frame.
            let groups = n.div_ceil(GROUP_FRAMES);
            let mut wanted = [1.0f32; MAX_BLOCK / GROUP_FRAMES];
            group_max::<GROUP_FRAMES>(&peak[..n], &mut wanted);
            for w in wanted[..groups].iter_mut() {
                // A select, not a conditional store (masked in AVX2 code:
                // slow on AMD Zen). `p` may be 0: the quotient is unused.
                let p = *w;
                let ratio = aim / p;
                *w = if p > aim { ratio } else { 1.0 };
            }
            self.hold_and_release(&wanted[..groups], n);
        }

        // 4. The ramp: an exact moving average of the released gain. Its
        // windows for this block span the `n + ramp_max - 1` frames up to
        // the block's last; if all had unity gain, every average is
        // exactly 1 (reading the sums would give 1 − 2⁻²⁴ for some ramp
        // lengths, `Q·b · (1 / (Q·b))` not being 1 in `f32`), and so is the
        // on/off mix of it.
        let unity = steady.is_some() && self.unity_frames >= n as u32 + self.ramp_max;
        match steady {
            Some(_) if unity => gain[..n].fill(1.0),
            Some(b) => {
                // The window sums' two ends read straight from the ring in
                // runs where neither wraps (not a masked index per frame,
                // and no staging copies, which zeroed 2 KiB a block).
                let scale = 1.0 / (Q * b as f32);
                let end = start.wrapping_sub(self.ramp_max - b);
                // A window's sum is below 2^31 (Q20 · 512 frames).
                ring::window_diffs(
                    &self.prefix,
                    end,
                    end.wrapping_sub(b),
                    scale,
                    &mut gain[..n],
                );
            }
            None => {
                for (i, g) in gain[..n].iter_mut().enumerate() {
                    let at = start.wrapping_add(i as u32);
                    *g = match self.ramp {
                        Ramp::Steady(b) | Ramp::Widen { old: b, .. } => self.ramp_gain(at, b),
                        Ramp::Fade { old, new, done } => {
                            let f = done as f32 / self.xfade_frames.max(1) as f32;
                            self.ramp_gain(at, old) * (1.0 - f) + self.ramp_gain(at, new) * f
                        }
                    };
                    self.advance_ramp();
                }
            }
        }
        if !unity {
            // Settled on or off (nearly always) as a scalar: a per-frame
            // array would be zeroed every block.
            if mix.is_flat() {
                for g in gain[..n].iter_mut() {
                    *g = 1.0 - mix.to * (1.0 - *g);
                }
            } else {
                let mut ramp = [0.0f32; MAX_BLOCK];
                mix.fill(&mut ramp[..n]);
                for (g, &m) in gain[..n].iter_mut().zip(&ramp[..n]) {
                    *g = 1.0 - m * (1.0 - *g);
                }
            }
            self.min_gain = self.min_gain.min(min_of(&gain[..n]));
        }
        self.now = start.wrapping_add(n as u32);

        // 5. Delay line, a block at a time: write the new frames, read the
        // ones `delay` frames older, apply the gain (vectorizes).
        // Writing the whole block before reading equals interleaving the
        // two per frame: the read window ends `delay` frames behind the
        // write, and the ring is longer than `delay + max_block`.
        for (ch, samples) in audio.iter_mut().enumerate().take(channels) {
            let line = &mut self.audio[ch];
            ring::write(line, start, &samples[..n]);
            if unity {
                // `d · 1 == d`: the delayed audio as it is.
                ring::read(line, start.wrapping_sub(self.delay), &mut samples[..n]);
                continue;
            }
            ring::read_scaled(
                line,
                start.wrapping_sub(self.delay),
                &gain[..n],
                &mut samples[..n],
            );
        }

        // Last line of defence: no sample above the ceiling it was planned
        // under, ever.
        if mix_now > 0.0 {
            for samples in audio.iter_mut().take(channels) {
                for s in samples[..n].iter_mut() {
                    *s = s.clamp(-clamp, clamp);
                }
            }
        }
    }

    /// Records that the block of `n` frames from `start` was planned under
    /// ceiling `planned` (its start; `aim` takes the lower end, so this is
    /// at or above it), and returns the level the clamp may cut the block's
    /// output at: the highest ceiling any of the frames leaving now were
    /// planned under, and at least `ceiling` (a rising ceiling is safe at
    /// once). O(n / slot + 1) per block, no loop over the history.
    fn clamp_level(&mut self, start: u32, n: usize, planned: f32, ceiling: f32) -> f32 {
        let slot_of = |frame: u32| frame / CEIL_SLOT_FRAMES;
        let last = start.wrapping_add(n as u32 - 1);
        let mut frame = start;
        loop {
            let id = slot_of(frame);
            let k = id as usize % CEIL_SLOTS;
            if self.ceil_slot[k] == id {
                self.ceil_hist[k] = self.ceil_hist[k].max(planned);
            } else {
                self.ceil_slot[k] = id;
                self.ceil_hist[k] = planned;
            }
            if id == slot_of(last) {
                break;
            }
            frame = frame.wrapping_add(CEIL_SLOT_FRAMES);
        }
        // The frames leaving in this block entered `delay` frames earlier.
        let mut level = ceiling;
        let (first, last) = (
            start.wrapping_sub(self.delay),
            last.wrapping_sub(self.delay),
        );
        let mut frame = first;
        loop {
            let id = slot_of(frame);
            let k = id as usize % CEIL_SLOTS;
            if self.ceil_slot[k] == id {
                level = level.max(self.ceil_hist[k]);
            }
            if id == slot_of(last) {
                break;
            }
            frame = frame.wrapping_add(CEIL_SLOT_FRAMES);
        }
        level
    }

    /// Steps 2 and 3 for one block of `frames` frames, a group of
    /// [`GROUP_FRAMES`] at a time, writing the released gain's prefix sums;
    /// `minima[j]` is group `j`'s smallest wanted gain (the last group may
    /// be short).
    ///
    /// Each group enters the sliding-minimum deque as its smallest wanted
    /// gain, stamped with its last frame, and stays while any of its frames
    /// is inside the hold window of the group being processed; the held
    /// value is therefore at or below every per-frame hold of the group's
    /// frames. The release steps once per group (its coefficient raised to
    /// the group length) and never rises above the held value, so each
    /// frame's released gain is at or below its own hold — the property the
    /// ramp's guarantee rests on.
    #[inline(always)]
    fn hold_and_release(&mut self, minima: &[f32], frames: usize) {
        // A pending lookahead change widens the hold from this block on.
        let window = match (self.ramp, self.pending_ramp) {
            (Ramp::Steady(b), Some(new)) => b.max(new) + 2 * self.half_width,
            _ => self.hold_window(),
        };
        let mut at = self.now;
        let mut step = [0u32; MAX_BLOCK / GROUP_FRAMES];
        for (j, &w) in minima.iter().enumerate() {
            let len = (frames - j * GROUP_FRAMES).min(GROUP_FRAMES) as u32;
            let last = at.wrapping_add(len - 1) as u16;
            while self.dq_len > 0 {
                let back = ((self.dq_head + self.dq_len - 1) & DQ_MASK) as usize;
                if self.dq_value[back] >= w {
                    self.dq_len -= 1;
                } else {
                    break;
                }
            }
            if self.dq_len < DEQUE as u32 {
                let slot = ((self.dq_head + self.dq_len) & DQ_MASK) as usize;
                self.dq_value[slot] = w;
                self.dq_index[slot] = last;
                self.dq_len += 1;
            } else {
                // Full: only with groups far shorter than eight frames (a
                // host feeding a frame or two per call at 96 or 192 kHz)
                // and a gain wanted higher at every one. The back entry,
                // lower than this group's, stands for it too: the hold
                // can only come out lower than exact (safe), never higher.
                let back = ((self.dq_head + self.dq_len - 1) & DQ_MASK) as usize;
                self.dq_index[back] = last;
            }
            // Drop groups whose last frame is older than the window of this
            // group's first frame: `first - last_f >= window`.
            while last.wrapping_sub(self.dq_index[self.dq_head as usize]) as u32 >= window + len - 1
            {
                self.dq_head = (self.dq_head + 1) & DQ_MASK;
                self.dq_len -= 1;
            }
            let held = self.dq_value[self.dq_head as usize];

            // 3. Release: fall at once, rise slowly.
            let rel = self.release_pow[len as usize];
            self.released = if held < self.released {
                held
            } else {
                let next = held + (self.released - held) * rel;
                // In `f32` the one-pole stalls short of the held gain once a
                // step's change falls under half an ulp (about 1e-5 below 1
                // with the default 60 ms), and the limiter never went idle
                // again after it first acted. Within a few ulps' worth of a
                // step it takes the rest at once: never above the held
                // gain, a step of 0.0004 dB at the default release in whole
                // groups (0.012 dB at the longest, 2 s), smoothed by the
                // ramp like every other step.
                if held - next <= self.release_snap[len as usize] {
                    held
                } else {
                    next
                }
            };
            let q = (self.released.clamp(0.0, 1.0) * Q) as u32;
            step[j] = q;
            self.unity_frames = if q == Q as u32 {
                self.unity_frames.saturating_add(len)
            } else {
                0
            };
            at = at.wrapping_add(len);
        }
        self.write_prefix(self.now, frames, &step[..minima.len()]);
    }

    /// Prefix sums for `frames` frames from frame `at` of unity gain,
    /// straight into the ring's (at most two) contiguous runs. Idle blocks
    /// (most blocks of most material) skip building a block and copying it
    /// as [`write_prefix`](Self::write_prefix) does: going that way made
    /// programme 0.3 ns per frame slower when first tried.
    #[inline(always)]
    fn write_prefix_unity(&mut self, at: u32, frames: usize) {
        let mut base = self.prefix[(at.wrapping_sub(1) & MASK) as usize];
        let from = (at & MASK) as usize;
        let first = frames.min(RING - from);
        for run in [from..from + first, 0..frames.min(RING) - first] {
            for (i, s) in self.prefix[run].iter_mut().enumerate() {
                *s = base.wrapping_add((Q as u32).wrapping_mul(i as u32 + 1));
            }
            base = base.wrapping_add((Q as u32).wrapping_mul(first as u32));
        }
    }

    /// Prefix sums for `frames` frames from frame `at`, frame `i` adding
    /// `step[i / GROUP_FRAMES]` (the released gain in Q20). Built in place
    /// when the block does not wrap the ring (always, with host blocks that
    /// divide 512), else in a block written in two copies.
    #[inline(always)]
    fn write_prefix(&mut self, at: u32, frames: usize, step: &[u32]) {
        let frames = frames.min(MAX_BLOCK);
        let base = self.prefix[(at.wrapping_sub(1) & MASK) as usize];
        let from = (at & MASK) as usize;
        if let Some(run) = self.prefix.get_mut(from..from + frames) {
            Self::prefix_sums(base, step, run);
        } else {
            let mut sums = [0u32; MAX_BLOCK];
            Self::prefix_sums(base, step, &mut sums[..frames]);
            ring::write(&mut self.prefix, at, &sums[..frames]);
        }
    }

    /// `out[i] = base + Σ_{k ≤ i} step[k / GROUP_FRAMES]`: whole groups as
    /// fixed-length loops (one vector multiply-add each), then the short one.
    #[inline(always)]
    fn prefix_sums(mut base: u32, step: &[u32], out: &mut [u32]) {
        let whole = out.len() / GROUP_FRAMES * GROUP_FRAMES;
        let mut steps = step.iter();
        let (groups, rest) = out.split_at_mut(whole);
        for group in groups.chunks_exact_mut(GROUP_FRAMES) {
            let q = steps.next().copied().unwrap_or(0);
            for (i, s) in group.iter_mut().enumerate() {
                *s = base.wrapping_add(q.wrapping_mul(i as u32 + 1));
            }
            base = base.wrapping_add(q.wrapping_mul(GROUP_FRAMES as u32));
        }
        let q = steps.next().copied().unwrap_or(0);
        for (i, s) in rest.iter_mut().enumerate() {
            *s = base.wrapping_add(q.wrapping_mul(i as u32 + 1));
        }
    }

    #[inline]
    fn advance_ramp(&mut self) {
        self.ramp = match self.ramp {
            Ramp::Steady(b) => match self.pending_ramp.take() {
                Some(new) if new != b => Ramp::Widen {
                    old: b,
                    new,
                    // Long enough for the widened hold to fill with history.
                    left: self.ramp_max + 2 * self.half_width + 2 * self.ramp_max,
                },
                _ => Ramp::Steady(b),
            },
            Ramp::Widen { old, new, left } => {
                if left == 0 {
                    Ramp::Fade { old, new, done: 0 }
                } else {
                    Ramp::Widen {
                        old,
                        new,
                        left: left - 1,
                    }
                }
            }
            Ramp::Fade { old, new, done } => {
                if done >= self.xfade_frames {
                    Ramp::Steady(new)
                } else {
                    Ramp::Fade {
                        old,
                        new,
                        done: done + 1,
                    }
                }
            }
        };
    }
}

#[cfg(test)]
mod guard_tests {
    use super::*;

    /// Skipping keeps exactly the history that computing would have kept,
    /// for blocks longer and shorter than the history: the next computed
    /// block matches a guard that never skipped (but for its first frame,
    /// where the skipped band value is replaced by an upper bound).
    #[test]
    fn skipping_keeps_the_history_exactly() {
        for (rate, half) in [(48_000u32, 11usize), (44_100, 19), (96_000, 4)] {
            let x: [f32; 400] = core::array::from_fn(|i| {
                libm::sinf(i as f32 * 1.9) * 0.5 + libm::sinf(i as f32 * 0.07)
            });
            let mut always = HfGuard::<1>::new(rate, half);
            let mut skips = HfGuard::<1>::new(rate, half);
            let mut at = 0;
            for (k, len) in [64usize, 5, 64, 30, 1, 64, 17, 64].into_iter().enumerate() {
                let block = &x[at..at + len];
                let mut a = [0.0f32; 64];
                always.add_bound(&[block], len, &mut a[..len]);
                if k % 2 == 0 {
                    let max_abs = x[..at + len].iter().fold(0.0f32, |m, v| m.max(v.abs()));
                    skips.skip(&[block], len, max_abs);
                } else {
                    let mut b = [0.0f32; 64];
                    skips.add_bound(&[block], len, &mut b[..len]);
                    assert!(b[0] >= a[0], "{rate} block {k}: the bound must cover");
                    assert_eq!(a[1..len], b[1..len], "{rate} block {k}");
                }
                at += len;
            }
        }
    }
}

#[cfg(test)]
mod unity_tests {
    use super::*;

    /// Material that never reaches the ceiling comes out as the input
    /// delayed, bit for bit, with every gain exactly 1 — also for ramp
    /// lengths (41 frames here) where averaging the prefix sums would give
    /// 1 − 2⁻²⁴ — and again once the limiter has acted and released.
    #[test]
    fn quiet_material_passes_bit_exactly() {
        for lookahead_ms in [1.5f32, 62.0 / 48.0, 0.5] {
            let params = LimiterParams {
                lookahead_ms,
                ceiling_dbtp: -1.0,
                ..crate::params::Params::default().limiter
            };
            let mut lim = Limiter::<2>::new(48_000, 2, &params).unwrap();
            let delay = lim.latency_frames();
            let total = 144_000;
            let x = |i: usize, c: usize| -> f32 {
                let t = i as f32;
                // A loud burst a third of a second in, quiet elsewhere.
                let amp = if (16_000..16_400).contains(&i) {
                    3.0
                } else {
                    0.1
                };
                amp * libm::sinf(t * (0.031 + 0.01 * c as f32))
            };
            let mut unity_blocks = 0;
            let mut i0 = 0;
            while i0 < total {
                let n = 256.min(total - i0);
                let mut l: [f32; 256] = core::array::from_fn(|k| x(i0 + k, 0));
                let mut r: [f32; 256] = core::array::from_fn(|k| x(i0 + k, 1));
                let mut gain = [0.0f32; 256];
                lim.process(&mut [&mut l[..n], &mut r[..n]], n, &mut gain[..n]);
                // Well away from the burst (its hold and release) and the
                // start (the delay line's silence).
                let quiet = i0 > 2 * delay && !(15_000..96_000).contains(&i0);
                if quiet {
                    unity_blocks += 1;
                    for k in 0..n {
                        assert_eq!(gain[k], 1.0, "{lookahead_ms} ms, frame {}", i0 + k);
                        let j = i0 + k - delay;
                        assert_eq!(
                            l[k].to_bits(),
                            x(j, 0).to_bits(),
                            "{lookahead_ms} ms, frame {}",
                            i0 + k
                        );
                        assert_eq!(
                            r[k].to_bits(),
                            x(j, 1).to_bits(),
                            "{lookahead_ms} ms, frame {}",
                            i0 + k
                        );
                    }
                }
                i0 += n;
            }
            assert!(
                unity_blocks > 100,
                "{lookahead_ms} ms: {unity_blocks} quiet blocks"
            );
        }
    }
}
#[cfg(test)]
mod deque_tests {
    use super::*;

    /// A host feeding a frame or two per call makes hold groups that short,
    /// and at 192 kHz the hold window (289 frames) then spans more groups
    /// than the deque holds (128). On the falling quarter of a slow loud
    /// tone every frame wants more gain than the one before, so no group
    /// leaves early and the deque fills: the gain must still keep every
    /// delayed sample under the ceiling (checked before the limiter's last
    /// clamp, from the gains it reports), with the fastest release.
    #[test]
    fn a_full_deque_never_lets_the_gain_rise_early() {
        let params = LimiterParams {
            release_ms: 1.0,
            ..crate::params::Params::default().limiter
        };
        for (rate, block) in [(192_000u32, 1usize), (192_000, 2), (96_000, 1)] {
            let mut lim = Limiter::<1>::new(rate, 1, &params).unwrap();
            let delay = lim.latency_frames();
            let ceiling = db_to_amp(params.ceiling_dbtp);
            let x = |i: usize| -> f32 {
                let phase = 2.0 * core::f64::consts::PI * 100.0 * i as f64 / rate as f64;
                (4.0 * libm::sin(phase)) as f32
            };
            let mut worst = 0.0f32;
            let mut i0 = 0;
            while i0 < rate as usize / 10 {
                let mut buf = [0.0f32; 2];
                for (k, b) in buf[..block].iter_mut().enumerate() {
                    *b = x(i0 + k);
                }
                let mut gain = [0.0f32; 2];
                lim.process(&mut [&mut buf[..block]], block, &mut gain[..block]);
                for (k, &g) in gain[..block].iter().enumerate() {
                    if let Some(j) = (i0 + k).checked_sub(delay) {
                        worst = worst.max(x(j).abs() * g / ceiling);
                    }
                }
                i0 += block;
            }
            assert!(
                worst <= 1.0 + 1e-4,
                "{rate} Hz, {block}-frame blocks: a delayed sample at {worst} × the ceiling"
            );
        }
    }
}
