//! ITU-R BS.1770-4 K-weighting: the "pre-filter" high shelf (+4 dB above
//! ~1.5 kHz, modelling the head) followed by the "RLB" high-pass (~38 Hz).
//!
//! ## Contract
//! * Coefficients are derived for any sample rate from the analog prototype
//!   (shelf: f0 = 1681.97 Hz, G = +4.00 dB, Q = 0.7072; high-pass:
//!   f0 = 38.135 Hz, Q = 0.5003) with the bilinear transform, the way
//!   libebur128 does; at 48 kHz they equal BS.1770-4 Table 1/2 to ~1e-15.
//! * State is kept per channel in `f64`: the RLB poles sit within 0.2 % of
//!   z = 1 at 192 kHz, where `f32` round-off would become audible in the
//!   meter's noise floor. Samples are `f32` in, `f32`/`f64` out.
//! * Processing is planar and accepts any block length (including 0).
//!   Non-finite input samples are treated as 0 so that one bad sample cannot
//!   poison the filter state forever; tiny states are flushed to 0 at block
//!   ends so that silence never runs on subnormal numbers.
//!
//! ## Cost
//! Both sections run as a direct-form-I cascade sharing the shelf's output
//! history as the high-pass input history (its numerator is exactly
//! `1 - 2z⁻¹ + z⁻²`). Channels are processed in pairs, so the two independent
//! recurrences of a stereo pair occupy one SIMD register each step; the
//! per-sample critical path is one multiply and one add (about 4 ns per
//! stereo frame on the AMD EPYC reference machine, close to that latency).
//! On x86-64 a stereo pair is written with SSE2 intrinsics, the same
//! operations in the same order (bit-identical), because the compiler would
//! not pair the lanes by itself in AVX2 code; the AVX2 build fuses its
//! multiply-adds (one rounding each, and a loop-carried path of one fused
//! operation instead of a multiply and an add).

use super::isa::Isa;
use crate::error::ConfigError;
use crate::SUPPORTED_RATES_HZ;

/// Biquad coefficients of the two K-weighting sections, normalized so that
/// `a[0] == 1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KWeightCoefs {
    /// Pre-filter (high shelf) numerator `b0, b1, b2`.
    pub shelf_b: [f64; 3],
    /// Pre-filter denominator `1, a1, a2`.
    pub shelf_a: [f64; 3],
    /// RLB high-pass numerator `b0, b1, b2` (always `1, -2, 1`).
    pub highpass_b: [f64; 3],
    /// RLB high-pass denominator `1, a1, a2`.
    pub highpass_a: [f64; 3],
}

impl KWeightCoefs {
    /// Derive the coefficients for `sample_rate_hz` (any positive rate; the
    /// meter only uses [`crate::SUPPORTED_RATES_HZ`]).
    ///
    /// # Realtime
    /// Two `tan` and two `pow` calls; meant for construction time.
    pub fn for_rate(sample_rate_hz: f64) -> Self {
        // Analog prototype of the BS.1770 pre-filter, as fitted by libebur128
        // so that the 48 kHz bilinear transform reproduces the table.
        const SHELF_F0_HZ: f64 = 1681.974450955533;
        const SHELF_GAIN_DB: f64 = 3.999843853973347;
        const SHELF_Q: f64 = 0.7071752369554196;
        const SHELF_VB_EXP: f64 = 0.4996667741545416;
        const HP_F0_HZ: f64 = 38.13547087602444;
        const HP_Q: f64 = 0.5003270373238773;

        let k = libm::tan(core::f64::consts::PI * SHELF_F0_HZ / sample_rate_hz);
        let vh = libm::pow(10.0, SHELF_GAIN_DB / 20.0);
        let vb = libm::pow(vh, SHELF_VB_EXP);
        let a0 = 1.0 + k / SHELF_Q + k * k;
        let shelf_b = [
            (vh + vb * k / SHELF_Q + k * k) / a0,
            2.0 * (k * k - vh) / a0,
            (vh - vb * k / SHELF_Q + k * k) / a0,
        ];
        let shelf_a = [
            1.0,
            2.0 * (k * k - 1.0) / a0,
            (1.0 - k / SHELF_Q + k * k) / a0,
        ];

        let k = libm::tan(core::f64::consts::PI * HP_F0_HZ / sample_rate_hz);
        let a0 = 1.0 + k / HP_Q + k * k;
        let highpass_a = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / HP_Q + k * k) / a0];

        Self {
            shelf_b,
            shelf_a,
            highpass_b: [1.0, -2.0, 1.0],
            highpass_a,
        }
    }
}

/// Direct-form-I history of one channel: shelf input (x), shelf output =
/// high-pass input (y), high-pass output (z); index 0 is the newest.
#[derive(Debug, Clone, Copy, Default)]
struct History {
    x: [f64; 2],
    y: [f64; 2],
    z: [f64; 2],
}

impl History {
    /// Below this every state contributes < -1000 dB: flushing it to zero
    /// cannot change a reading and keeps silence off the subnormal slow path.
    const FLUSH_BELOW: f64 = 1e-50;

    /// Once per block and channel: six selects, not a chained iterator of
    /// conditional stores (that was 200 instructions a block).
    #[inline(always)]
    fn flush_tiny(&mut self) {
        for pair in [&mut self.x, &mut self.y, &mut self.z] {
            for v in pair.iter_mut() {
                *v = if v.abs() < Self::FLUSH_BELOW { 0.0 } else { *v };
            }
        }
    }
}

/// Where the lane kernel sends each stage's filtered samples (besides the
/// per-lane energy it always sums). Called once per stage of up to
/// [`STAGE`] frames, after the recurrence: keeping the sink's work out of
/// the recurrence loop lets that loop stay short and the sink's own pass
/// vectorize over frames.
trait Sink<const L: usize> {
    fn put(&mut self, start: usize, z: &[[f64; L]]);
}

/// Only the energy is wanted.
struct NoSink;

impl<const L: usize> Sink<L> for NoSink {
    #[inline(always)]
    fn put(&mut self, _start: usize, _z: &[[f64; L]]) {}
}

/// Writes (or, with `ADD`, adds) `Σ G_i · z_i²` per frame as `f32`.
struct PowerSink<'a, const L: usize, const ADD: bool> {
    weights: [f64; L],
    power: &'a mut [f32],
}

impl<const L: usize, const ADD: bool> Sink<L> for PowerSink<'_, L, ADD> {
    #[inline(always)]
    fn put(&mut self, start: usize, z: &[[f64; L]]) {
        let Some(out) = self.power.get_mut(start..) else {
            return;
        };
        for (p, z) in out.iter_mut().zip(z) {
            let mut acc = 0.0;
            for (w, z) in self.weights.iter().zip(z) {
                acc += w * z * z;
            }
            let prev = if ADD { *p as f64 } else { 0.0 };
            // Clamp so a huge (finite) input cannot produce an infinite power.
            *p = (prev + acc).min(f32::MAX as f64) as f32;
        }
    }
}

/// Writes the filtered samples of one channel.
struct SampleSink<'a> {
    out: &'a mut [f32],
}

impl Sink<1> for SampleSink<'_> {
    #[inline(always)]
    fn put(&mut self, start: usize, z: &[[f64; 1]]) {
        if let Some(out) = self.out.get_mut(start..) {
            for (o, z) in out.iter_mut().zip(z) {
                *o = z[0] as f32;
            }
        }
    }
}

/// Non-finite samples become 0 (see the module contract).
#[inline(always)]
fn sanitize(x: f32) -> f32 {
    // `x · 0` is 0 for finite x and NaN otherwise. A float compare keeps
    // this a vector select; `is_finite` compiles to integer tests and a
    // branch per sample.
    if x * 0.0 == 0.0 {
        x
    } else {
        0.0
    }
}

/// Frames staged per inner block: sanitized and interleaved by lane so the
/// filter loop loads one frame with one instruction.
const STAGE: usize = 64;

/// Working memory of `L` lanes: one stage of staged input and filtered
/// output. Nothing in it carries over between calls; a caller that filters
/// block after block keeps one to save initializing it (1.5 KB for a pair)
/// every time.
#[derive(Debug, Clone)]
pub struct Stage<const L: usize> {
    staged: [[f32; L]; STAGE],
    filtered: [[f64; L]; STAGE],
}

/// [`Stage`] of a channel pair, the one the `_in` methods take.
pub type PairStage = Stage<2>;

impl<const L: usize> Stage<L> {
    /// Zeroed working memory.
    pub fn new() -> Self {
        Self {
            staged: [[0.0; L]; STAGE],
            filtered: [[0.0; L]; STAGE],
        }
    }
}

impl<const L: usize> Default for Stage<L> {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs `L` independent channels in lock-step over `frames` frames and
/// returns each lane's energy `Σ_n z[n]²`.
///
/// Written so that the `L` recurrences are independent lanes (SIMD for
/// `L = 2`) and each lane's loop-carried path is one multiply and one add.
///
/// Out of line on every instruction set (inlined into the whole chain's
/// AVX2 build, the compiler spilled the state). A stereo pair on x86-64 is
/// written with SSE2 vector intrinsics — the same operations in the same
/// order as the generic loop, so bit-identical in the portable build, and
/// with fused multiply-adds in the AVX2 build — because in AVX2 code the
/// compiler would not pair the lanes by itself; there, three-operand
/// instructions then drop SSE2's register copies.
#[inline(always)]
fn run_lanes<const L: usize, S: Sink<L>>(
    isa: Isa,
    c: &KWeightCoefs,
    hist: [&mut History; L],
    inputs: [&[f32]; L],
    frames: usize,
    sink: &mut S,
    stage: &mut Stage<L>,
) -> [f64; L] {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 {
        // SAFETY: `isa` is `Avx2` only where `Isa::detect` found AVX2 on
        // this CPU (construction and `set_isa` cap it).
        #[allow(unsafe_code)]
        return unsafe { lanes_avx2(c, hist, inputs, frames, sink, stage) };
    }
    let _ = isa;
    lanes_portable(c, hist, inputs, frames, sink, stage)
}

#[inline(never)]
fn lanes_portable<const L: usize, S: Sink<L>>(
    c: &KWeightCoefs,
    hist: [&mut History; L],
    inputs: [&[f32]; L],
    frames: usize,
    sink: &mut S,
    stage: &mut Stage<L>,
) -> [f64; L] {
    lanes::<L, S, false>(c, hist, inputs, frames, sink, stage)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline(never)]
fn lanes_avx2<const L: usize, S: Sink<L>>(
    c: &KWeightCoefs,
    hist: [&mut History; L],
    inputs: [&[f32]; L],
    frames: usize,
    sink: &mut S,
    stage: &mut Stage<L>,
) -> [f64; L] {
    lanes::<L, S, true>(c, hist, inputs, frames, sink, stage)
}

/// The generic loop's recurrence for a pair of lanes (`L == 2`) as SSE2
/// vector operations: the same operations in the same order, so
/// bit-identical. `state` is `x1, x2, y1, y2, z1, z2, energy`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn recur_pair<const L: usize>(
    c: &KWeightCoefs,
    state: &mut [[f64; L]; 7],
    staged: &[[f32; L]],
    filtered: &mut [[f64; L]],
) {
    use core::arch::x86_64::{_mm_add_pd, _mm_mul_pd, _mm_sub_pd};
    // `a·b + c` and `c - a·b`, each rounded twice.
    let madd = |a, b, c| _mm_add_pd(_mm_mul_pd(a, b), c);
    let msub = |a, b, c| _mm_sub_pd(c, _mm_mul_pd(a, b));
    pair_loop(c, state, staged, filtered, madd, msub);
}

/// [`recur_pair`] with fused multiply-adds, for the AVX2 build (which has
/// FMA): each multiply-add rounds once, and the loop-carried path of each
/// section is one fused operation (five cycles on Zen 2) instead of a
/// multiply and a subtract (six).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn recur_pair_fused<const L: usize>(
    c: &KWeightCoefs,
    state: &mut [[f64; L]; 7],
    staged: &[[f32; L]],
    filtered: &mut [[f64; L]],
) {
    use core::arch::x86_64::{_mm_fmadd_pd, _mm_fnmadd_pd};
    pair_loop(
        c,
        state,
        staged,
        filtered,
        |a, b, c| _mm_fmadd_pd(a, b, c),
        |a, b, c| _mm_fnmadd_pd(a, b, c),
    );
}

/// The pair recurrence, with `madd(a, b, c) = a·b + c` and
/// `msub(a, b, c) = c - a·b` supplied by the build (each caller's only
/// instantiation, inlined into it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn pair_loop<const L: usize>(
    c: &KWeightCoefs,
    state: &mut [[f64; L]; 7],
    staged: &[[f32; L]],
    filtered: &mut [[f64; L]],
    madd: impl Fn(
        core::arch::x86_64::__m128d,
        core::arch::x86_64::__m128d,
        core::arch::x86_64::__m128d,
    ) -> core::arch::x86_64::__m128d,
    msub: impl Fn(
        core::arch::x86_64::__m128d,
        core::arch::x86_64::__m128d,
        core::arch::x86_64::__m128d,
    ) -> core::arch::x86_64::__m128d,
) {
    use core::arch::x86_64::{
        __m128d, _mm_add_pd, _mm_cvtsd_f64, _mm_mul_pd, _mm_set1_pd, _mm_set_pd, _mm_unpackhi_pd,
    };
    if L != 2 {
        return;
    }
    let [b0, b1, b2] = c.shelf_b.map(|v| _mm_set1_pd(v));
    let [_, a1, a2] = c.shelf_a.map(|v| _mm_set1_pd(v));
    let [_, c1, c2] = c.highpass_a.map(|v| _mm_set1_pd(v));
    let two = _mm_set1_pd(2.0);
    let [mut x1, mut x2, mut y1, mut y2, mut z1, mut z2, mut energy] =
        state.map(|a| _mm_set_pd(a[L - 1], a[0]));
    let lanes = |v: __m128d| [_mm_cvtsd_f64(v), _mm_cvtsd_f64(_mm_unpackhi_pd(v, v))];
    for (xs, z) in staged.iter().zip(filtered.iter_mut()) {
        let x = _mm_set_pd(xs[L - 1] as f64, xs[0] as f64);
        // As the generic loop: terms not depending on the previous output
        // first, so the loop-carried chain is only `- a1 * y1`.
        let t = madd(b1, x1, _mm_mul_pd(b0, x));
        let t = msub(a2, y2, madd(b2, x2, t));
        let y = msub(a1, y1, t);
        let u = msub(two, y1, _mm_add_pd(y, y2));
        let zz = msub(c1, z1, msub(c2, z2, u));
        (x2, x1, y2, y1, z2, z1) = (x1, x, y1, y, z1, zz);
        energy = madd(zz, zz, energy);
        let [lo, hi] = lanes(zz);
        z[0] = lo;
        z[L - 1] = hi;
    }
    for (a, v) in state.iter_mut().zip([x1, x2, y1, y2, z1, z2, energy]) {
        let [lo, hi] = lanes(v);
        a[0] = lo;
        a[L - 1] = hi;
    }
}

/// The body of [`run_lanes`], with the pair recurrence's multiply-adds
/// fused when `FUSED` (the AVX2 build only).
#[inline(always)]
fn lanes<const L: usize, S: Sink<L>, const FUSED: bool>(
    c: &KWeightCoefs,
    hist: [&mut History; L],
    inputs: [&[f32]; L],
    frames: usize,
    sink: &mut S,
    stage: &mut Stage<L>,
) -> [f64; L] {
    let [b0, b1, b2] = c.shelf_b;
    let [_, a1, a2] = c.shelf_a;
    let [_, c1, c2] = c.highpass_a;
    let mut x1 = [0.0; L];
    let mut x2 = [0.0; L];
    let mut y1 = [0.0; L];
    let mut y2 = [0.0; L];
    let mut z1 = [0.0; L];
    let mut z2 = [0.0; L];
    for l in 0..L {
        x1[l] = hist[l].x[0];
        x2[l] = hist[l].x[1];
        y1[l] = hist[l].y[0];
        y2[l] = hist[l].y[1];
        z1[l] = hist[l].z[0];
        z2[l] = hist[l].z[1];
    }
    let mut energy = [0.0; L];
    let Stage { staged, filtered } = stage;
    let mut start = 0;
    while start < frames {
        let n = (frames - start).min(STAGE);
        let staged = &mut staged[..n];
        let pair = match inputs.get(..2) {
            Some(&[a, b]) if L == 2 => a.get(start..start + n).zip(b.get(start..start + n)),
            _ => None,
        };
        if let Some((a, b)) = pair {
            // The common case (a stereo pair with input for every frame) as
            // one interleaving pass the compiler vectorizes; the general
            // loop below writes one lane at a time (strided scalar stores).
            for ((d, &a), &b) in staged.iter_mut().zip(a).zip(b) {
                d[0] = sanitize(a);
                d[L - 1] = sanitize(b);
            }
        } else {
            for (l, input) in inputs.iter().enumerate() {
                // Lanes that ran out of input see silence.
                let src = input.get(start..).unwrap_or(&[]);
                let have = src.len().min(n);
                for (d, &x) in staged[..have].iter_mut().zip(&src[..have]) {
                    d[l] = sanitize(x);
                }
                for d in &mut staged[have..] {
                    d[l] = 0.0;
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        if L == 2 {
            let mut state = [x1, x2, y1, y2, z1, z2, energy];
            if FUSED {
                // SAFETY: `FUSED` is set only by `lanes_avx2`, entered only
                // where `Isa::detect` found AVX2 and FMA.
                #[allow(unsafe_code)]
                unsafe {
                    recur_pair_fused(c, &mut state, staged, &mut filtered[..n])
                };
            } else {
                // SAFETY: SSE2 is part of the x86-64 baseline.
                #[allow(unsafe_code)]
                unsafe {
                    recur_pair(c, &mut state, staged, &mut filtered[..n])
                };
            }
            [x1, x2, y1, y2, z1, z2, energy] = state;
            sink.put(start, &filtered[..n]);
            start += n;
            continue;
        }
        for (xs, z) in staged.iter().zip(filtered.iter_mut()) {
            for l in 0..L {
                let x = xs[l] as f64;
                // Terms not depending on the previous output first, so the
                // loop-carried chain is only `- a1 * y1`.
                let y = (b0 * x + b1 * x1[l] + b2 * x2[l] - a2 * y2[l]) - a1 * y1[l];
                let zz = ((y + y2[l]) - 2.0 * y1[l] - c2 * z2[l]) - c1 * z1[l];
                x2[l] = x1[l];
                x1[l] = x;
                y2[l] = y1[l];
                y1[l] = y;
                z2[l] = z1[l];
                z1[l] = zz;
                z[l] = zz;
                energy[l] += zz * zz;
            }
        }
        sink.put(start, &filtered[..n]);
        start += n;
    }
    for (l, h) in hist.into_iter().enumerate() {
        h.x = [x1[l], x2[l]];
        h.y = [y1[l], y2[l]];
        h.z = [z1[l], z2[l]];
        h.flush_tiny();
    }
    energy
}

/// K-weighting filters for up to `C` channels.
#[derive(Debug, Clone)]
pub struct KWeighting<const C: usize> {
    coefs: KWeightCoefs,
    channels: usize,
    history: [History; C],
    isa: Isa,
}

impl<const C: usize> KWeighting<C> {
    /// Filters for `channels` channels at `sample_rate_hz`.
    ///
    /// # Errors
    /// [`ConfigError::UnsupportedSampleRate`] unless the rate is one of
    /// [`crate::SUPPORTED_RATES_HZ`]; [`ConfigError::UnsupportedChannelCount`]
    /// for 0 or more than `C` channels.
    pub fn new(sample_rate_hz: u32, channels: usize) -> Result<Self, ConfigError> {
        if !SUPPORTED_RATES_HZ.contains(&sample_rate_hz) {
            return Err(ConfigError::UnsupportedSampleRate(sample_rate_hz));
        }
        if channels == 0 || channels > C {
            return Err(ConfigError::UnsupportedChannelCount(channels));
        }
        Ok(Self {
            coefs: KWeightCoefs::for_rate(sample_rate_hz as f64),
            channels,
            history: [History::default(); C],
            isa: Isa::detect(),
        })
    }

    /// The coefficients in use.
    pub fn coefs(&self) -> &KWeightCoefs {
        &self.coefs
    }

    /// The instruction set the filters run on.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Runs the filters on `wanted`, or on the best instruction set this
    /// CPU supports if that is lower; returns the one in effect. Output
    /// agrees to rounding either way (see [`super::isa`]).
    pub fn set_isa(&mut self, wanted: Isa) -> Isa {
        self.isa = wanted.min(Isa::detect());
        self.isa
    }

    /// Number of channels configured.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Clear all filter state (as if preceded by silence).
    pub fn reset(&mut self) {
        self.history = [History::default(); C];
    }

    /// Filter channel `ch`: `output[n] = K(input)[n]` for
    /// `n < min(input.len(), output.len())`. Out-of-range `ch` does nothing.
    ///
    /// # Realtime
    /// No allocation; ~9 flops per sample.
    pub fn process_channel(&mut self, ch: usize, input: &[f32], output: &mut [f32]) {
        if ch >= self.channels {
            return;
        }
        let frames = input.len().min(output.len());
        let mut sink = SampleSink { out: output };
        run_lanes::<1, _>(
            self.isa,
            &self.coefs,
            [&mut self.history[ch]],
            [input],
            frames,
            &mut sink,
            &mut Stage::new(),
        );
    }

    /// Filter `frames` frames of every channel and return their weighted
    /// energy `Σ_n Σ_i weights[i] · k_i[n]²`.
    ///
    /// `inputs[i]` is channel `i`; a channel whose slice is shorter than
    /// `frames` is filtered as if followed by silence, channels beyond
    /// `inputs.len()` are not touched, and a missing weight counts as 0.
    ///
    /// # Realtime
    /// No allocation; channels run in pairs (one SIMD lane each), ~20 flops
    /// per channel-sample.
    pub fn process_energy(&mut self, inputs: &[&[f32]], weights: &[f64], frames: usize) -> f64 {
        self.process_energy_in(&mut PairStage::new(), inputs, weights, frames)
    }

    /// As [`process_energy`](Self::process_energy), with working memory
    /// from the caller (see [`Stage`]).
    #[inline(always)]
    pub fn process_energy_in(
        &mut self,
        stage: &mut PairStage,
        inputs: &[&[f32]],
        weights: &[f64],
        frames: usize,
    ) -> f64 {
        self.run(inputs, weights, frames, None, stage)
    }

    /// As [`process_energy`](Self::process_energy) over `power.len()`
    /// frames, also writing each frame's weighted power
    /// `power[n] = Σ_i weights[i] · k_i[n]²` (clamped to `f32::MAX`).
    ///
    /// # Realtime
    /// As [`process_energy`](Self::process_energy).
    #[inline(always)]
    pub fn process_power(&mut self, inputs: &[&[f32]], weights: &[f64], power: &mut [f32]) -> f64 {
        self.process_power_in(&mut PairStage::new(), inputs, weights, power)
    }

    /// As [`process_power`](Self::process_power), with working memory from
    /// the caller (see [`Stage`]).
    #[inline(always)]
    pub fn process_power_in(
        &mut self,
        stage: &mut PairStage,
        inputs: &[&[f32]],
        weights: &[f64],
        power: &mut [f32],
    ) -> f64 {
        let frames = power.len();
        self.run(inputs, weights, frames, Some(power), stage)
    }

    #[inline(always)]
    fn run(
        &mut self,
        inputs: &[&[f32]],
        weights: &[f64],
        frames: usize,
        mut power: Option<&mut [f32]>,
        stage: &mut PairStage,
    ) -> f64 {
        let channels = self.channels.min(inputs.len());
        if channels == 0 {
            if let Some(p) = power {
                p.fill(0.0);
            }
            return 0.0;
        }
        let weight = |i: usize| weights.get(i).copied().unwrap_or(0.0);
        let mut total = 0.0;
        let mut ch = 0;
        while ch < channels {
            let (lo, hi) = self.history.split_at_mut(ch + 1);
            let ha = lo.last_mut();
            let hb = hi.first_mut().filter(|_| ch + 1 < channels);
            match (ha, hb, power.as_deref_mut()) {
                (Some(ha), Some(hb), None) => {
                    let w = [weight(ch), weight(ch + 1)];
                    let e = run_lanes::<2, _>(
                        self.isa,
                        &self.coefs,
                        [ha, hb],
                        [inputs[ch], inputs[ch + 1]],
                        frames,
                        &mut NoSink,
                        stage,
                    );
                    total += w[0] * e[0] + w[1] * e[1];
                }
                (Some(ha), Some(hb), Some(p)) => {
                    let w = [weight(ch), weight(ch + 1)];
                    let (c, hist, inp) = (&self.coefs, [ha, hb], [inputs[ch], inputs[ch + 1]]);
                    // The first pair writes the power, later ones add to it.
                    let e = if ch == 0 {
                        let mut sink = PowerSink::<2, false> {
                            weights: w,
                            power: p,
                        };
                        run_lanes::<2, _>(self.isa, c, hist, inp, frames, &mut sink, stage)
                    } else {
                        let mut sink = PowerSink::<2, true> {
                            weights: w,
                            power: p,
                        };
                        run_lanes::<2, _>(self.isa, c, hist, inp, frames, &mut sink, stage)
                    };
                    total += w[0] * e[0] + w[1] * e[1];
                }
                (Some(ha), None, None) => {
                    let e = run_lanes::<1, _>(
                        self.isa,
                        &self.coefs,
                        [ha],
                        [inputs[ch]],
                        frames,
                        &mut NoSink,
                        &mut Stage::new(),
                    );
                    total += weight(ch) * e[0];
                }
                (Some(ha), None, Some(p)) => {
                    let w = [weight(ch)];
                    let (c, hist, inp) = (&self.coefs, [ha], [inputs[ch]]);
                    let e = if ch == 0 {
                        let mut sink = PowerSink::<1, false> {
                            weights: w,
                            power: p,
                        };
                        run_lanes::<1, _>(
                            self.isa,
                            c,
                            hist,
                            inp,
                            frames,
                            &mut sink,
                            &mut Stage::new(),
                        )
                    } else {
                        let mut sink = PowerSink::<1, true> {
                            weights: w,
                            power: p,
                        };
                        run_lanes::<1, _>(
                            self.isa,
                            c,
                            hist,
                            inp,
                            frames,
                            &mut sink,
                            &mut Stage::new(),
                        )
                    };
                    total += w[0] * e[0];
                }
                (None, _, _) => break,
            }
            ch += 2;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ITU-R BS.1770-4, Annex 1, Tables 1 and 2 (48 kHz).
    #[test]
    fn coefficients_at_48k_equal_the_bs1770_table() {
        let c = KWeightCoefs::for_rate(48_000.0);
        let table_shelf_b = [
            1.535_124_859_586_97,
            -2.691_696_189_406_38,
            1.198_392_810_852_85,
        ];
        let table_shelf_a = [1.0, -1.690_659_293_182_41, 0.732_480_774_215_85];
        let table_hp_b = [1.0, -2.0, 1.0];
        let table_hp_a = [1.0, -1.990_047_454_833_98, 0.990_072_250_366_21];
        for i in 0..3 {
            assert!((c.shelf_b[i] - table_shelf_b[i]).abs() < 1e-8, "shelf b{i}");
            assert!((c.shelf_a[i] - table_shelf_a[i]).abs() < 1e-8, "shelf a{i}");
            assert!((c.highpass_b[i] - table_hp_b[i]).abs() < 1e-8, "hp b{i}");
            assert!((c.highpass_a[i] - table_hp_a[i]).abs() < 1e-8, "hp a{i}");
        }
    }

    fn gain_db(c: &KWeightCoefs, f_hz: f64, fs_hz: f64) -> f64 {
        let w = 2.0 * core::f64::consts::PI * f_hz / fs_hz;
        let mag2 = |b: [f64; 3], a: [f64; 3]| {
            let (mut nr, mut ni, mut dr, mut di) = (0.0, 0.0, 0.0, 0.0);
            for k in 0..3 {
                let (s, co) = libm::sincos(-w * k as f64);
                nr += b[k] * co;
                ni += b[k] * s;
                dr += a[k] * co;
                di += a[k] * s;
            }
            (nr * nr + ni * ni) / (dr * dr + di * di)
        };
        10.0 * libm::log10(mag2(c.shelf_b, c.shelf_a) * mag2(c.highpass_b, c.highpass_a))
    }

    /// The curve is the same analog prototype at every rate. The bilinear
    /// transform is not pre-warped (as in libebur128), so the digital curves
    /// differ slightly: by at most 0.04 dB up to 10 kHz between 44.1 and
    /// 192 kHz.
    #[test]
    fn response_matches_across_rates() {
        let reference = KWeightCoefs::for_rate(48_000.0);
        for fs in SUPPORTED_RATES_HZ {
            let c = KWeightCoefs::for_rate(fs as f64);
            for f in [
                20.0, 40.0, 100.0, 997.0, 1_000.0, 2_000.0, 4_000.0, 10_000.0,
            ] {
                let d = gain_db(&c, f, fs as f64) - gain_db(&reference, f, 48_000.0);
                assert!(d.abs() < 0.04, "{fs} Hz at {f} Hz: {d} dB");
            }
            // The familiar anchors: +0.69 dB at 1 kHz, +4 dB high up, and
            // the high-pass well down at 20 Hz.
            assert!((gain_db(&c, 1_000.0, fs as f64) - 0.691).abs() < 0.03);
            assert!((gain_db(&c, 10_000.0, fs as f64) - 4.0).abs() < 0.05);
            assert!((gain_db(&c, 20.0, fs as f64) + 13.3).abs() < 0.1);
        }
    }

    #[test]
    fn sample_path_and_power_path_agree() {
        let mut a = KWeighting::<2>::new(48_000, 2).unwrap();
        let mut b = a.clone();
        let x: [f32; 300] = core::array::from_fn(|i| libm::sinf(i as f32 * 0.37) * 0.5);
        let y: [f32; 300] = core::array::from_fn(|i| libm::cosf(i as f32 * 0.011) * 0.25);
        let mut kx = [0.0f32; 300];
        let mut ky = [0.0f32; 300];
        a.process_channel(0, &x, &mut kx);
        a.process_channel(1, &y, &mut ky);
        let mut p = [0.0f32; 300];
        let total = b.process_power(&[&x, &y], &[1.0, 1.41], &mut p);
        let mut expect_total = 0.0;
        for n in 0..300 {
            let e = kx[n] as f64 * kx[n] as f64 + 1.41 * ky[n] as f64 * ky[n] as f64;
            assert!((p[n] as f64 - e).abs() < 1e-6 * (1.0 + e), "{n}");
            expect_total += e;
        }
        assert!((total - expect_total).abs() < 1e-6 * expect_total);
        // The energy-only path gives the same total.
        let mut c = KWeighting::<2>::new(48_000, 2).unwrap();
        assert!((c.process_energy(&[&x, &y], &[1.0, 1.41], 300) - total).abs() < 1e-12 * total);
    }

    #[test]
    fn non_finite_input_keeps_state_finite() {
        let mut k = KWeighting::<1>::new(44_100, 1).unwrap();
        let mut out = [0.0f32; 4];
        k.process_channel(
            0,
            &[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1.0],
            &mut out,
        );
        assert!(out.iter().all(|v| v.is_finite()));
        let mut p = [0.0f32; 3];
        let e = k.process_power(&[&[0.5, f32::NAN]], &[1.0], &mut p);
        assert!(e.is_finite() && p.iter().all(|v| v.is_finite()));
        let mut p = [0.0f32; 2];
        k.process_power(&[&[f32::MAX, -f32::MAX]], &[1.0], &mut p);
        assert!(p.iter().all(|v| v.is_finite()));
    }
}
