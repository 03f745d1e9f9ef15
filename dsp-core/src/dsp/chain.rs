//! The whole leveling chain: BS.1770 meter → slow AGC → compressor →
//! lookahead true-peak limiter, with a latency-matched dry bypass.
//!
//! Contract:
//! * [`Chain::new`] sizes everything; nothing allocates afterwards.
//! * [`Chain::process_interleaved`] / [`Chain::process_planar`] take any
//!   number of frames (internally split into blocks of [`BLOCK_FRAMES`]),
//!   are infallible and never panic. NaN and infinities become silence,
//!   absurd magnitudes are clamped to ±[`INPUT_LIMIT`], so output is always
//!   finite. Output is the input delayed by [`Chain::latency_frames`].
//! * [`Chain::set_params`] validates, then every change takes effect live and
//!   click-free (glides, ramps, crossfades); latency never changes.
//! * Bypass crossfades to the dry signal delayed by the same latency; once
//!   the fade completes the output is bit-exact with the (finite) input.
//! * One true-peak detector serves both ends: the input meter's per-frame
//!   reports, scaled by the AGC and compressor gains plus a bound for how
//!   fast those gains move, are the limiter's side chain (see
//!   `SideChain`). Checked end to end against an independent 16×
//!   reference, with fast compression ahead of the limiter.

use super::agc::Agc;
use super::aligned::Aligned;
use super::compressor::Compressor;
use super::envelope::Crossfade;
use super::isa::Isa;
use super::limiter::{HfGuard, Limiter};
use super::loudness::{LoudnessMeter, MeterScratch};
use crate::error::{ConfigError, ParamError};
use crate::params::Params;
use crate::units::{amp_to_db, fold_channels, max_of, max_step};

/// Most frames per internal block (fewer at 192 kHz, where the limiter's
/// delay leaves room for half: [`Limiter::max_block_frames`]). Long blocks
/// spread what is done once per block — the control-rate chains, which
/// are serial, and the set-up of every pass — over more frames: going from
/// 64 to 256 cut the chain's time per frame by a fifth. Parameter glides
/// step once per block (5.3 ms at 48 kHz), well inside their 20–30 ms time
/// constants; everything that scales audio moves per frame.
pub const BLOCK_FRAMES: usize = 256;
/// Input magnitudes are clamped to this (+80 dBFS) so squares stay finite.
pub const INPUT_LIMIT: f32 = 1.0e4;
const DRY_RING: usize = 512;
/// Frames of gain and magnitude history the shared side chain keeps: the
/// detector's reach behind a report (at most `2 × 19 + 2` frames, at
/// 44.1 kHz).
const REACH_HIST: usize = 40;
const BYPASS_FADE_MS: f32 = 20.0;

/// Construction-time configuration of a [`Chain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainConfig {
    /// One of [`crate::SUPPORTED_RATES_HZ`].
    pub sample_rate_hz: u32,
    /// 1 to the chain's capacity `C` (and at most 8).
    pub channels: usize,
}

/// What the chain did recently, for meters. Loudness values are LUFS
/// (`-inf` when unknown), peaks dBFS/dBTP, reductions dB (≤ 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainMeters {
    /// Input momentary loudness (400 ms).
    pub input_momentary_lufs: f64,
    /// Input short-term loudness (3 s).
    pub input_shortterm_lufs: f64,
    /// Input integrated loudness since the start.
    pub input_integrated_lufs: f64,
    /// Input true peak since the last `take_meters`.
    pub input_true_peak_dbtp: f32,
    /// AGC gain now.
    pub agc_gain_db: f32,
    /// Deepest compressor reduction since the last `take_meters`.
    pub compressor_reduction_db: f32,
    /// Deepest limiter reduction since the last `take_meters`.
    pub limiter_reduction_db: f32,
}

/// The leveling chain for up to `C` channels.
#[derive(Debug, Clone)]
pub struct Chain<const C: usize> {
    config: ChainConfig,
    params: Params,
    meter: LoudnessMeter<C>,
    agc: Agc,
    compressor: Compressor,
    limiter: Limiter<C>,
    dry: Aligned<[[f32; DRY_RING]; C]>,
    dry_pos: usize,
    /// Weight of the dry signal: 0 = processed, 1 = dry.
    bypass: Crossfade,
    meter_steps: u64,
    energy_pre: f64,
    energy_post: f64,
    side: SideChain<C>,
}

/// Working memory for [`Chain`]'s `_in` methods: the host's audio staged
/// as planar blocks, the meter's scratch and the per-frame arrays of one
/// block. Nothing in it carries over between blocks, so one can serve any
/// number of chains of the same capacity, and a host that keeps one saves
/// initializing it (about 19.5 KiB for stereo) on every call (`memset` was
/// 10 % of the time at 128-frame calls, 19 % at 32). Not part of the
/// chain's state (which stays under 32 KiB for stereo).
#[derive(Debug, Clone)]
pub struct ChainScratch<const C: usize> {
    block: Aligned<[[f32; BLOCK_FRAMES]; C]>,
    out: Aligned<[[f32; BLOCK_FRAMES]; C]>,
    meter: MeterScratch,
    work: BlockWork,
}

impl<const C: usize> ChainScratch<C> {
    /// Zeroed working memory.
    pub fn new() -> Self {
        Self {
            block: Aligned([[0.0; BLOCK_FRAMES]; C]),
            out: Aligned([[0.0; BLOCK_FRAMES]; C]),
            meter: MeterScratch::new(),
            work: BlockWork {
                agc_gain: [0.0; BLOCK_FRAMES],
                comp_gain: [0.0; BLOCK_FRAMES],
                power: [0.0; BLOCK_FRAMES],
                peak: [0.0; BLOCK_FRAMES],
                lim_gain: [0.0; BLOCK_FRAMES],
                weights: [0.0; BLOCK_FRAMES],
                shrink: [0.0; BLOCK_FRAMES],
                mix: [0.0; BLOCK_FRAMES],
                side: SideWork {
                    gain: [0.0; REACH_HIST + BLOCK_FRAMES],
                    mag: [0.0; REACH_HIST + BLOCK_FRAMES],
                    hf: [0.0; BLOCK_FRAMES],
                    tp: [0.0; BLOCK_FRAMES],
                },
            },
        }
    }
}

impl<const C: usize> Default for ChainScratch<C> {
    fn default() -> Self {
        Self::new()
    }
}

/// The per-frame arrays of one block (gains, K-weighted power, side-chain
/// readings, energy weights, the bypass mix). Only `[..n]` of a block of
/// `n` frames is meaningful; every use writes before it reads.
#[derive(Debug, Clone)]
struct BlockWork {
    agc_gain: [f32; BLOCK_FRAMES],
    comp_gain: [f32; BLOCK_FRAMES],
    power: [f32; BLOCK_FRAMES],
    peak: [f32; BLOCK_FRAMES],
    lim_gain: [f32; BLOCK_FRAMES],
    weights: [f32; BLOCK_FRAMES],
    shrink: [f32; BLOCK_FRAMES],
    mix: [f32; BLOCK_FRAMES],
    side: SideWork,
}

/// [`SideChain::peaks`]'s arrays: the pre-limiter gain and the input
/// magnitude from [`REACH_HIST`] frames back (the history copied in front
/// of the block's `n` frames), the high-band guard's bounds and the
/// detector's reports. Kept by the host like the rest of [`BlockWork`]:
/// zeroing them was a quarter of a 128-frame block's `memset`.
#[derive(Debug, Clone)]
struct SideWork {
    gain: [f32; REACH_HIST + BLOCK_FRAMES],
    mag: [f32; REACH_HIST + BLOCK_FRAMES],
    hf: [f32; BLOCK_FRAMES],
    tp: [f32; BLOCK_FRAMES],
}

/// The limiter's side chain, computed from the input meter's true-peak
/// reports instead of a second detector on the gained signal.
///
/// The limiter needs, for each report `n` (frame `m = n - d` with `d` the
/// detector latency), a bound on the detector's reading of `y = G·x`, the
/// input times the AGC and compressor gains. Every oversampled point is
/// linear in the input, so with `G` varying by at most `s` per frame over
/// the detector's reach and `|x| <= M` there, the reading of `y` is at most
/// `G[m]·(reading of x) + s·M·moment` (see
/// [`TruePeakDetector::modulation_moment`](super::true_peak::TruePeakDetector::modulation_moment)).
/// The same holds for the limiter's high-band guard. Gains move slowly next
/// to the audio, so the extra term is tiny except during very fast
/// compressor attacks, where it only makes the limiter more careful.
#[derive(Debug, Clone)]
struct SideChain<const C: usize> {
    hf: HfGuard<C>,
    /// Detector latency `d` and reach `2d + 2` (frames).
    latency: usize,
    reach: usize,
    /// `s·M` multipliers of the detector and the guard.
    moment: f32,
    /// Largest reading per unit of input magnitude, detector plus guard:
    /// a block whose input times this (and the gain) stays under the aim
    /// needs neither.
    bound_gain: f32,
    /// Pre-limiter gain and largest input magnitude of the last
    /// [`REACH_HIST`] frames, oldest first.
    gain_hist: [f32; REACH_HIST],
    mag_hist: [f32; REACH_HIST],
}

impl<const C: usize> Chain<C> {
    /// Builds a chain with default parameters.
    ///
    /// # Errors
    /// [`Error::Config`] for an unsupported rate or channel count.
    pub fn new(config: ChainConfig) -> Result<Self, Error> {
        Self::with_params(config, &Params::default())
    }

    /// Builds a chain with `params` in effect from the first sample.
    ///
    /// # Errors
    /// [`Error::Config`] for an unsupported configuration,
    /// [`Error::Param`] for invalid parameters.
    pub fn with_params(config: ChainConfig, params: &Params) -> Result<Self, Error> {
        if config.channels == 0 || config.channels > C || config.channels > crate::MAX_CHANNELS {
            return Err(Error::Config(ConfigError::UnsupportedChannelCount(
                config.channels,
            )));
        }
        if !crate::SUPPORTED_RATES_HZ.contains(&config.sample_rate_hz) {
            return Err(Error::Config(ConfigError::UnsupportedSampleRate(
                config.sample_rate_hz,
            )));
        }
        params.validate().map_err(Error::Param)?;
        let rate = config.sample_rate_hz;
        let chain = Self {
            config,
            params: *params,
            meter: LoudnessMeter::new(rate, config.channels).map_err(Error::Config)?,
            agc: Agc::new(rate, &params.agc),
            compressor: Compressor::new(rate, &params.compressor),
            limiter: Limiter::new(rate, config.channels, &params.limiter).map_err(Error::Config)?,
            dry: Aligned([[0.0; DRY_RING]; C]),
            dry_pos: 0,
            bypass: Crossfade::new(params.bypass, (BYPASS_FADE_MS * 0.001 * rate as f32) as u32),
            meter_steps: 0,
            energy_pre: 0.0,
            energy_post: 0.0,
            side: SideChain::new(rate)?,
        };
        // The bypass reads the dry line `latency` frames behind a whole
        // block just written: both must fit in the ring.
        debug_assert!(
            chain.latency_frames() + chain.limiter.max_block_frames().min(BLOCK_FRAMES) <= DRY_RING
        );
        Ok(chain)
    }

    /// The instruction set the block code runs on (the best this CPU
    /// supports, unless lowered with [`set_isa`](Self::set_isa)).
    pub fn isa(&self) -> Isa {
        // One setting for the whole chain, kept by the meter's K-weighting
        // (never above what `Isa::detect` found on this CPU).
        self.meter.isa()
    }

    /// Runs the block code on `wanted`, or on the best this CPU supports if
    /// that is lower; returns the one in effect. Output agrees to rounding
    /// either way (see [`super::isa`]); this exists for comparisons.
    pub fn set_isa(&mut self, wanted: Isa) -> Isa {
        self.meter.set_isa(wanted)
    }

    /// The configuration the chain was built with.
    pub fn config(&self) -> ChainConfig {
        self.config
    }

    /// The parameters in effect (or gliding into effect).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Frames from input to output; constant for the chain's life.
    pub fn latency_frames(&self) -> usize {
        self.limiter.latency_frames()
    }

    /// Validates and applies `params`; on error nothing changes.
    ///
    /// # Errors
    /// The first invalid value's [`ParamError`].
    ///
    /// # Realtime
    /// O(1), no allocation: safe to call between process calls on the
    /// audio thread.
    pub fn set_params(&mut self, params: &Params) -> Result<(), ParamError> {
        params.validate()?;
        self.params = *params;
        self.agc.set_params(&params.agc);
        self.compressor.set_params(&params.compressor);
        self.limiter.set_params(&params.limiter);
        self.bypass.set(params.bypass);
        Ok(())
    }

    /// Carries over from `earlier` (typically the chain this one replaces
    /// after a sample-rate change) what does not depend on the rate: the
    /// AGC's programme estimate and gain, so leveling continues instead of
    /// restarting from unity. Meters, dynamics and delay lines start afresh
    /// (their state is in samples of the old rate).
    ///
    /// # Realtime
    /// O(1), no allocation: safe on the audio thread at the swap.
    pub fn continue_from<const D: usize>(&mut self, earlier: &Chain<D>) {
        self.agc.continue_from(&earlier.agc);
    }

    /// The input meter (integrated loudness, LRA, peaks of what came in).
    pub fn input_meter(&self) -> &LoudnessMeter<C> {
        &self.meter
    }

    /// Reads the meters and starts new peak/reduction windows.
    pub fn take_meters(&mut self) -> ChainMeters {
        let tp = self.meter.true_peak_window();
        self.meter.reset_window_peaks();
        ChainMeters {
            input_momentary_lufs: self.meter.loudness_momentary(),
            input_shortterm_lufs: self.meter.loudness_shortterm(),
            input_integrated_lufs: self.meter.loudness_global(),
            input_true_peak_dbtp: amp_to_db(tp),
            agc_gain_db: self.agc.gain_db(),
            compressor_reduction_db: self.compressor.take_max_reduction_db(),
            limiter_reduction_db: self.limiter.take_max_reduction_db(),
        }
    }

    /// Processes interleaved audio in place. A trailing partial frame is
    /// left untouched.
    ///
    /// # Realtime
    /// No allocation, no locks, no syscalls; O(frames). Its block buffers
    /// (a [`ChainScratch`] made per call) are on the stack: give the calling
    /// thread at least 96 KiB for a stereo chain, 128 KiB for an 8-channel
    /// one (checked by a test).
    pub fn process_interleaved(&mut self, samples: &mut [f32]) {
        self.process_interleaved_in(&mut ChainScratch::new(), samples);
    }

    /// [`process_interleaved`](Self::process_interleaved) with working
    /// memory the host keeps (see [`ChainScratch`]): what a host calling
    /// block after block should use.
    pub fn process_interleaved_in(&mut self, scratch: &mut ChainScratch<C>, samples: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if self.isa() == Isa::Avx2 {
            // SAFETY: `isa` is `Avx2` only where `Isa::detect` found AVX2
            // on this CPU (construction and `set_isa` cap it).
            #[allow(unsafe_code)]
            unsafe {
                self.interleaved_avx2(samples, scratch)
            };
            return;
        }
        self.interleaved::<false>(samples, scratch);
    }

    /// [`interleaved`](Self::interleaved) compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn interleaved_avx2(&mut self, samples: &mut [f32], scratch: &mut ChainScratch<C>) {
        self.interleaved::<true>(samples, scratch);
    }

    /// The body of [`process_interleaved`](Self::process_interleaved),
    /// inlined into each instruction set's build; `FUSED` in the AVX2
    /// build only (see [`super::isa::madd`]).
    #[inline(always)]
    fn interleaved<const FUSED: bool>(
        &mut self,
        samples: &mut [f32],
        scratch: &mut ChainScratch<C>,
    ) {
        let ch = self.config.channels;
        let block_frames = self.limiter.max_block_frames().min(BLOCK_FRAMES);
        for chunk in samples.chunks_mut(block_frames * ch) {
            let n = chunk.len() / ch;
            if n == 0 {
                break;
            }
            // Stereo, the common case, as a loop the compiler vectorizes.
            if let ([left, right, ..], 2) = (&mut scratch.block[..], ch) {
                for ((l, r), frame) in left
                    .iter_mut()
                    .zip(right.iter_mut())
                    .zip(chunk.chunks_exact(2))
                {
                    (*l, *r) = (frame[0], frame[1]);
                }
            } else {
                for (f, frame) in chunk.chunks_exact(ch).enumerate() {
                    for (c, &s) in frame.iter().enumerate() {
                        scratch.block[c][f] = s;
                    }
                }
            }
            self.process_block_of::<FUSED>(n, scratch);
            if let ([left, right, ..], 2) = (&scratch.out[..], ch) {
                for ((&l, &r), frame) in
                    left.iter().zip(right.iter()).zip(chunk.chunks_exact_mut(2))
                {
                    (frame[0], frame[1]) = (l, r);
                }
            } else {
                for (f, frame) in chunk.chunks_exact_mut(ch).enumerate() {
                    for (c, s) in frame.iter_mut().enumerate() {
                        *s = scratch.out[c][f];
                    }
                }
            }
        }
    }

    /// Processes planar audio in place: one slice per channel, the shortest
    /// slice sets the frame count. Extra channels beyond the configuration
    /// are left untouched.
    ///
    /// # Realtime
    /// As [`Chain::process_interleaved`].
    pub fn process_planar(&mut self, channels: &mut [&mut [f32]]) {
        self.process_planar_in(&mut ChainScratch::new(), channels);
    }

    /// [`process_planar`](Self::process_planar) with working memory the
    /// host keeps (see [`ChainScratch`]).
    pub fn process_planar_in(
        &mut self,
        scratch: &mut ChainScratch<C>,
        channels: &mut [&mut [f32]],
    ) {
        #[cfg(target_arch = "x86_64")]
        if self.isa() == Isa::Avx2 {
            // SAFETY: as in `process_interleaved`.
            #[allow(unsafe_code)]
            unsafe {
                self.planar_avx2(channels, scratch)
            };
            return;
        }
        self.planar::<false>(channels, scratch);
    }

    /// [`planar`](Self::planar) compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn planar_avx2(&mut self, channels: &mut [&mut [f32]], scratch: &mut ChainScratch<C>) {
        self.planar::<true>(channels, scratch);
    }

    /// The body of [`process_planar`](Self::process_planar), inlined into
    /// each instruction set's build.
    #[inline(always)]
    fn planar<const FUSED: bool>(
        &mut self,
        channels: &mut [&mut [f32]],
        scratch: &mut ChainScratch<C>,
    ) {
        let ch = self.config.channels.min(channels.len());
        if ch < self.config.channels {
            return;
        }
        let frames = channels[..ch].iter().map(|c| c.len()).min().unwrap_or(0);
        let block_frames = self.limiter.max_block_frames().min(BLOCK_FRAMES);
        let mut start = 0;
        while start < frames {
            let n = (frames - start).min(block_frames);
            for (b, x) in scratch.block.iter_mut().zip(channels[..ch].iter()) {
                b[..n].copy_from_slice(&x[start..start + n]);
            }
            self.process_block_of::<FUSED>(n, scratch);
            for (x, o) in channels[..ch].iter_mut().zip(scratch.out.iter()) {
                x[start..start + n].copy_from_slice(&o[..n]);
            }
            start += n;
        }
    }

    /// [`process_block`](Self::process_block) with whole blocks (every
    /// block but a host buffer's last partial one) as their own copy, where
    /// the length is a constant: loops get fixed trip counts, copies become
    /// plain moves.
    #[inline(always)]
    fn process_block_of<const FUSED: bool>(&mut self, n: usize, scratch: &mut ChainScratch<C>) {
        let ChainScratch {
            block,
            out,
            meter: scratch,
            work,
        } = scratch;
        if n == BLOCK_FRAMES {
            self.process_block::<FUSED>(block, out, BLOCK_FRAMES, scratch, work);
        } else {
            self.process_block::<FUSED>(block, out, n, scratch, work);
        }
    }

    /// One block: `input[..channels][..n]` in (sanitized in place, then
    /// kept for the side chain and the dry line), the processed audio to
    /// `out[..channels][..n]`.
    #[inline(always)]
    fn process_block<const FUSED: bool>(
        &mut self,
        input: &mut [[f32; BLOCK_FRAMES]; C],
        out: &mut [[f32; BLOCK_FRAMES]; C],
        n: usize,
        scratch: &mut MeterScratch,
        work: &mut BlockWork,
    ) {
        let ch = self.config.channels;
        let input = &mut input[..ch];

        // Sanitize: non-finite → 0, absurd → clamped. `x · 0 == 0` only for
        // finite x; compare-and-select keeps the loop a vector loop.
        for samples in input.iter_mut() {
            for s in samples[..n].iter_mut() {
                let v = if *s * 0.0 == 0.0 { *s } else { 0.0 };
                let v = if v > INPUT_LIMIT { INPUT_LIMIT } else { v };
                *s = if v < -INPUT_LIMIT { -INPUT_LIMIT } else { v };
            }
        }

        // Dry path: keep the input for the latency-matched bypass.
        let pos = self.dry_pos;
        for (line, samples) in self.dry.iter_mut().zip(input.iter()) {
            super::ring::write(line, pos as u32, &samples[..n]);
        }

        // The input stays as it is (the side chain measures it, not the
        // gained signal); the gains are applied on the way to `out`.
        let mut input_refs: [&[f32]; C] = [&[]; C];
        for (r, samples) in input_refs.iter_mut().zip(input.iter()) {
            *r = &samples[..n];
        }
        let input_refs = &input_refs[..ch];
        let block = &mut out[..ch];

        // AGC gain.
        let agc_gain = &mut work.agc_gain;
        self.agc.fill_gain(&mut agc_gain[..n]);
        for (samples, x) in block.iter_mut().zip(input_refs) {
            for ((s, &x), g) in samples[..n].iter_mut().zip(&x[..n]).zip(&agc_gain[..n]) {
                *s = x * g;
            }
        }

        // Compressor.
        let comp_gain = &mut work.comp_gain;
        {
            let mut refs: [&[f32]; C] = [&[]; C];
            for (r, samples) in refs.iter_mut().zip(block.iter()) {
                *r = &samples[..n];
            }
            self.compressor.process(&refs[..ch], n, &mut comp_gain[..n]);
        }
        for samples in block.iter_mut() {
            for (s, g) in samples[..n].iter_mut().zip(&comp_gain[..n]) {
                *s *= g;
            }
        }

        // Meter → per-frame K-weighted power, and momentary steps for the
        // AGC, which take effect from the next block. Measured after the
        // compressor has been handed its block: the compressor's gain
        // computer is a short serial chain and the K-weighting a long
        // latency-bound one, and in this order the processor overlaps them.
        let power = &mut work.power;
        self.meter
            .process_planar_power_deferred_peak_in(scratch, input_refs, &mut power[..n]);
        let steps = self.meter.blocks_completed();
        if steps != self.meter_steps {
            self.meter_steps = steps;
            self.agc.on_step(
                self.meter.momentary_power(),
                self.energy_pre,
                self.energy_post,
            );
            self.energy_pre = 0.0;
            self.energy_post = 0.0;
        }

        // Side chain from the input meter's true-peak work.
        let side = &mut work.side;
        for ((g, &a), &c) in side.gain[REACH_HIST..REACH_HIST + n]
            .iter_mut()
            .zip(&agc_gain[..n])
            .zip(&comp_gain[..n])
        {
            *g = a * c;
        }
        let peak = &mut work.peak;
        let aim = self.limiter.aim(n);
        self.side.peaks::<C, FUSED>(
            &mut self.meter,
            scratch,
            side,
            input_refs,
            aim,
            &mut peak[..n],
        );

        // Limiter (delays by the chain latency).
        let lim_gain = &mut work.lim_gain;
        {
            let mut refs: [&mut [f32]; C] = core::array::from_fn(|_| &mut [][..]);
            for (r, samples) in refs.iter_mut().zip(block.iter_mut()) {
                *r = &mut samples[..n];
            }
            self.limiter
                .process_with_peaks(&mut refs[..ch], n, &peak[..n], &mut lim_gain[..n]);
        }

        // What the dynamics took away, K-weighted, for the AGC.
        // Eight independent sums (whole groups of eight, the rest zero):
        // one serial chain of adds would cost an add's latency per frame.
        let (mut pre, mut post) = ([0.0f32; 8], [0.0f32; 8]);
        let weights = &mut work.weights;
        let shrink = &mut work.shrink;
        for (((w, s), (&p, &a)), (&c, &l)) in weights[..n]
            .iter_mut()
            .zip(shrink[..n].iter_mut())
            .zip(power[..n].iter().zip(&agc_gain[..n]))
            .zip(comp_gain[..n].iter().zip(&lim_gain[..n]))
        {
            *w = p * (a * a);
            *s = (c * l) * (c * l);
        }
        // Kept between blocks, so past `n` they hold an earlier block's
        // values: zero the last group's tail and sum only this block's.
        let groups_end = n.div_ceil(8) * 8;
        weights[n..groups_end].fill(0.0);
        shrink[n..groups_end].fill(0.0);
        // Two passes, not one: summed together, the compiler pairs
        // `pre[k]` with `post[k]` in two-lane vectors and shuffles every
        // value (37 instructions per group of eight instead of 4).
        for w in weights[..groups_end].chunks_exact(8) {
            for k in 0..8 {
                pre[k] += w[k];
            }
        }
        for (w, s) in weights[..groups_end]
            .chunks_exact(8)
            .zip(shrink[..groups_end].chunks_exact(8))
        {
            for k in 0..8 {
                post[k] += w[k] * s[k];
            }
        }
        self.energy_pre += pre.iter().sum::<f32>() as f64;
        self.energy_post += post.iter().sum::<f32>() as f64;

        // Bypass crossfade against the dry line, delayed by the latency.
        let was = self.bypass.value();
        let mix = &mut work.mix;
        self.bypass.fill(&mut mix[..n]);
        if was > 0.0 || self.bypass.value() > 0.0 {
            let latency = self.limiter.latency_frames();
            for (line, samples) in self.dry.iter().zip(block.iter_mut()) {
                let mut dry = [0.0f32; BLOCK_FRAMES];
                super::ring::read(line, (pos + DRY_RING - latency) as u32, &mut dry[..n]);
                for ((s, &d), &m) in samples[..n].iter_mut().zip(&dry[..n]).zip(&mix[..n]) {
                    *s = if m >= 1.0 { d } else { *s + (d - *s) * m };
                }
            }
        }
        self.dry_pos = (pos + n) % DRY_RING;
    }
}

impl<const C: usize> SideChain<C> {
    fn new(sample_rate_hz: u32) -> Result<Self, Error> {
        let detector = super::true_peak::TruePeakDetector::<1>::new(sample_rate_hz, 1)
            .map_err(Error::Config)?;
        let latency = detector.latency_frames();
        let hf = HfGuard::new(sample_rate_hz, latency);
        let reach = 2 * latency + 2;
        debug_assert!(reach <= REACH_HIST);
        Ok(Self {
            latency,
            reach: reach.min(REACH_HIST),
            moment: detector.modulation_moment() + hf.modulation_moment(),
            bound_gain: detector.bound_gain() + hf.bound_gain(),
            hf,
            gain_hist: [1.0; REACH_HIST],
            mag_hist: [0.0; REACH_HIST],
        })
    }

    /// Side-chain readings of `gain · input` for one block of
    /// `peak.len()` frames (see the type's docs), aligned like the
    /// limiter's own detector, the gain given in
    /// `work.gain[REACH_HIST..][..n]`; readings at or below `aim` may be
    /// any value at or below it. Also feeds the meter's true peak.
    #[inline(always)]
    fn peaks<const M: usize, const FUSED: bool>(
        &mut self,
        meter: &mut LoudnessMeter<M>,
        scratch: &mut MeterScratch,
        work: &mut SideWork,
        input: &[&[f32]],
        aim: f32,
        peak: &mut [f32],
    ) {
        let n = peak.len().min(BLOCK_FRAMES);
        let SideWork {
            gain: g,
            mag,
            hf,
            tp,
        } = work;
        // Gains and magnitudes from `reach` frames back to the block's end.
        g[..REACH_HIST].copy_from_slice(&self.gain_hist);
        mag[..REACH_HIST].copy_from_slice(&self.mag_hist);
        // `max`, not a compare-and-select on `*m`: that would be a masked
        // store in AVX2 code (see `units::pair_fold`).
        fold_channels(&mut mag[REACH_HIST..REACH_HIST + n], input, |m, v| {
            m.max(v.abs())
        });
        let span = REACH_HIST - self.reach..REACH_HIST + n;
        let max_mag = max_of(&mag[span.clone()]);
        let slope = max_step(&g[span.start.max(1) - 1..span.end]);
        let extra = slope * max_mag * self.moment;
        // The gain at each report's own frame, `latency` frames back.
        let centre = &g[REACH_HIST - self.latency..REACH_HIST - self.latency + n];
        let max_gain = max_of(centre);

        // A quiet block (the bound of every reading, detector and guard, is
        // under the aim) skips the guard: its readings may be any value at
        // or below the aim, and 0 plus the detector's is.
        // A NaN bound (not expected: every factor is finite) computes.
        let bound = max_gain * max_mag * self.bound_gain + extra;
        let guarded = bound > aim || bound.is_nan();
        let max_hf = if guarded {
            hf[..n].fill(0.0);
            self.hf.add_bound_on::<_, FUSED>(input, n, &mut hf[..n]);
            max_of(&hf[..n])
        } else {
            self.hf.skip(input, n, max_mag);
            0.0
        };

        // Reports that cannot lift a reading over `aim` may skip the work.
        let floor = if max_gain > 0.0 {
            ((aim - extra) / max_gain - max_hf).max(0.0)
        } else {
            f32::MAX
        };
        // The detector merges its reports into what is there.
        tp[..n].fill(0.0);
        meter.measure_true_peak_frames_on::<FUSED>(scratch, input, floor, &mut tp[..n]);
        if guarded {
            for (((p, &t), &h), &gc) in peak.iter_mut().zip(&tp[..n]).zip(&hf[..n]).zip(centre) {
                *p = gc * (t + h) + extra;
            }
        } else {
            // The guard's bound taken as 0, the same sum written out.
            for ((p, &t), &gc) in peak.iter_mut().zip(&tp[..n]).zip(centre) {
                *p = gc * (t + 0.0) + extra;
            }
        }

        self.gain_hist.copy_from_slice(&g[n..n + REACH_HIST]);
        self.mag_hist.copy_from_slice(&mag[n..n + REACH_HIST]);
    }
}

/// Why a chain could not be built with the given parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Unsupported configuration.
    Config(ConfigError),
    /// Invalid parameters.
    Param(ParamError),
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Config(e) => e.fmt(f),
            Self::Param(e) => e.fmt(f),
        }
    }
}
