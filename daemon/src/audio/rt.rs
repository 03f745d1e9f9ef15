//! The realtime side of the audio path: what runs inside PipeWire's process
//! callback of `headroom.output`.
//!
//! # Realtime
//! [`Rt::process`] never allocates, locks, logs or makes a syscall, and never
//! blocks: commands arrive through a fixed-size SPSC queue and are applied at
//! the start of a block (the chain glides to new parameters itself, so a
//! change is click-free); meter snapshots leave through another fixed-size
//! queue, and a full queue is counted in [`Shared`], never waited on. A new
//! [`Dsp`] (rate or layout changed) arrives boxed through the command queue;
//! the old one goes back to the control thread through the trash queue to be
//! freed there (if that queue were ever full, the old box is leaked and
//! counted rather than freed on this thread). Debug and test builds check the
//! no-allocation rule with [`crate::alloc_guard`].
//!
//! Volume: the Headroom sink's desktop volume and mute are applied *after*
//! the chain (the sink stream's own soft volume is pinned at unity), ramped
//! linearly over one block so a change never clicks.

use super::queues::{self, RtEnds};
use dsp_core::dsp::chain::{Chain, ChainConfig, ChainMeters, ChainScratch};
use dsp_core::dsp::isa::Isa;
use dsp_core::dsp::loudness::{LoudnessMeter, MeterScratch};
use dsp_core::params::Params;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

pub use super::queues::ControlEnds;

/// Most channels the sink offers (dsp-core's limit).
pub const MAX_CHANNELS: usize = dsp_core::MAX_CHANNELS;

/// Snapshots per second of audio time sent to the control thread (≥ the
/// highest `meters.publish_hz`).
const SNAPSHOTS_PER_S: u32 = 60;

/// The processing for one negotiated format, built on the control thread.
pub struct Dsp {
    /// The chain and output meter, at the capacity the format needs.
    engine: Engine,
    /// Interleaved channels of the buffers.
    pub channels: usize,
    /// Sample rate.
    pub rate_hz: u32,
}

/// Stereo, the common format, gets a chain built for two channels: one
/// built for eight and used for two took 43 % more time per frame
/// (criterion, programme: 10.5 against 7.3 ns). Its state and scratch are
/// about four times the size, which is the likely reason.
enum Engine {
    Stereo(Box<Stages<2>>),
    Wide(Box<Stages<MAX_CHANNELS>>),
}

/// The leveling chain and the BS.1770 meter of what leaves Headroom
/// (before the desktop volume), for up to `C` channels, with their working
/// memory (kept so no callback initializes it).
struct Stages<const C: usize> {
    chain: Chain<C>,
    scratch: ChainScratch<C>,
    out_meter: LoudnessMeter<C>,
    out_scratch: MeterScratch,
}

impl<const C: usize> Stages<C> {
    fn new(rate_hz: u32, channels: usize, params: &Params) -> Result<Box<Self>, String> {
        let cfg = ChainConfig {
            sample_rate_hz: rate_hz,
            channels,
        };
        let mut chain = Chain::with_params(cfg, params).map_err(|e| format!("{e}"))?;
        let mut out_meter = LoudnessMeter::new(rate_hz, channels).map_err(|e| format!("{e:?}"))?;
        let isa = wanted_isa();
        chain.set_isa(isa);
        out_meter.set_isa(isa);
        Ok(Box::new(Stages {
            chain,
            scratch: ChainScratch::new(),
            out_meter,
            out_scratch: MeterScratch::new(),
        }))
    }

    fn process(&mut self, buf: &mut [f32]) {
        self.chain.process_interleaved_in(&mut self.scratch, buf);
        self.out_meter
            .process_interleaved_in(&mut self.out_scratch, buf);
    }

    fn snapshot(&mut self) -> Snapshot {
        let tp = self.out_meter.true_peak_window();
        self.out_meter.reset_window_peaks();
        Snapshot {
            chain: self.chain.take_meters(),
            out_momentary_lufs: self.out_meter.loudness_momentary(),
            out_shortterm_lufs: self.out_meter.loudness_shortterm(),
            out_integrated_lufs: self.out_meter.loudness_global(),
            out_true_peak_dbtp: amp_to_db(tp),
        }
    }
}

/// `$body` with `$s` bound to the engine's stages, whichever capacity.
macro_rules! with_stages {
    ($engine:expr, $s:ident => $body:expr) => {
        match $engine {
            Engine::Stereo($s) => $body,
            Engine::Wide($s) => $body,
        }
    };
}

impl Dsp {
    /// Builds the chain and output meter for `rate_hz` × `channels`.
    ///
    /// # Errors
    /// A message when dsp-core does not support the format.
    pub fn new(rate_hz: u32, channels: usize, params: &Params) -> Result<Box<Dsp>, String> {
        let engine = if channels == 2 {
            Engine::Stereo(Stages::new(rate_hz, channels, params)?)
        } else {
            Engine::Wide(Stages::new(rate_hz, channels, params)?)
        };
        Ok(Box::new(Dsp {
            engine,
            channels,
            rate_hz,
        }))
    }

    /// The instruction set the chain runs on.
    pub fn isa(&self) -> Isa {
        with_stages!(&self.engine, s => s.chain.isa())
    }

    /// Frames from input to output.
    pub fn latency_frames(&self) -> usize {
        with_stages!(&self.engine, s => s.chain.latency_frames())
    }

    /// New (validated) parameters; they glide into effect.
    pub fn set_params(&mut self, params: &Params) {
        // Validated by the sender; an error changes nothing.
        let _ = with_stages!(&mut self.engine, s => s.chain.set_params(params));
    }

    /// Carries the leveling over from the chain this one replaces.
    pub fn continue_from(&mut self, earlier: &Dsp) {
        with_stages!(&mut self.engine, s => with_stages!(&earlier.engine, e => {
            s.chain.continue_from(&e.chain)
        }))
    }

    /// The chain and the output meter over one interleaved buffer.
    fn process(&mut self, buf: &mut [f32]) {
        with_stages!(&mut self.engine, s => s.process(buf))
    }

    /// Reads the meters and starts new peak windows.
    fn snapshot(&mut self) -> Snapshot {
        with_stages!(&mut self.engine, s => s.snapshot())
    }
}

/// The instruction set `HEADROOM_DSP_ISA` asks for: `portable` runs the
/// baseline build even where a faster one exists (output agrees to
/// rounding, see `dsp_core::dsp::isa`; for comparisons and for CPUs that misreport their features); unset or
/// `best` runs the best this CPU supports.
fn wanted_isa() -> Isa {
    match std::env::var("HEADROOM_DSP_ISA").as_deref() {
        Ok("portable") => Isa::Portable,
        Ok("best") | Err(_) => Isa::Avx2,
        Ok(other) => {
            crate::warn!("HEADROOM_DSP_ISA={other:?} is not 'portable' or 'best'; using the best");
            Isa::Avx2
        }
    }
}

/// A command for the realtime side.
pub enum Cmd {
    /// New chain parameters (validated by the control side).
    Params(Params),
    /// A new chain for a new format.
    Dsp(Box<Dsp>),
}

/// What the realtime side measured over a short interval.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    /// Chain meters (input loudness, AGC gain, reductions).
    pub chain: ChainMeters,
    /// Output momentary loudness, LUFS (`-inf` when unknown).
    pub out_momentary_lufs: f64,
    /// Output short-term loudness.
    pub out_shortterm_lufs: f64,
    /// Output integrated loudness since the format was set.
    pub out_integrated_lufs: f64,
    /// Output true peak over the interval, dBTP.
    pub out_true_peak_dbtp: f32,
}

/// Atomics both sides read; the realtime side writes the counters, the
/// control side the volume.
#[derive(Debug)]
pub struct Shared {
    /// Process cycles run.
    pub cycles: AtomicU64,
    /// Frames processed.
    pub frames: AtomicU64,
    /// Cycles without an output buffer (input missing is `empty_cycles`).
    pub xruns: AtomicU64,
    /// Sink buffers skipped because a newer one was already queued: the
    /// output fell a cycle behind the sink, and catching up keeps the added
    /// latency at the lookahead (see `pw.rs`).
    pub late_buffers: AtomicU64,
    /// Output cycles with nothing from the sink (silence went out).
    pub empty_cycles: AtomicU64,
    /// Meter snapshots lost to a full queue.
    pub meter_overruns: AtomicU64,
    /// Old chains leaked because the trash queue was full.
    pub trash_leaks: AtomicU64,
    /// Frames in the last cycle.
    pub quantum: AtomicU32,
    /// Desktop volume per channel (f32 bits), applied after the chain.
    pub volume: [AtomicU32; MAX_CHANNELS],
    /// Desktop mute.
    pub mute: AtomicBool,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            cycles: AtomicU64::new(0),
            frames: AtomicU64::new(0),
            xruns: AtomicU64::new(0),
            late_buffers: AtomicU64::new(0),
            empty_cycles: AtomicU64::new(0),
            meter_overruns: AtomicU64::new(0),
            trash_leaks: AtomicU64::new(0),
            quantum: AtomicU32::new(0),
            volume: std::array::from_fn(|_| AtomicU32::new(1f32.to_bits())),
            mute: AtomicBool::new(false),
        }
    }
}

/// The realtime state, owned by the output stream's process callback.
pub struct Rt {
    dsp: Option<Box<Dsp>>,
    queues: RtEnds,
    shared: Arc<Shared>,
    gains: [f32; MAX_CHANNELS],
    since_snapshot: u32,
}

/// Creates a connected pair: the realtime state and the control ends.
pub fn pair(shared: Arc<Shared>) -> (Rt, ControlEnds) {
    let (rt_ends, control_ends) = queues::pair();
    (
        Rt {
            dsp: None,
            queues: rt_ends,
            shared,
            gains: [1.0; MAX_CHANNELS],
            since_snapshot: 0,
        },
        control_ends,
    )
}

impl Rt {
    fn apply_commands(&mut self) {
        while let Some(cmd) = self.queues.recv_cmd() {
            match cmd {
                Cmd::Params(p) => {
                    if let Some(d) = &mut self.dsp {
                        d.set_params(&p);
                    }
                }
                Cmd::Dsp(mut new) => {
                    // A new format (rate) must not restart the leveling.
                    if let Some(old) = &self.dsp {
                        new.continue_from(old);
                    }
                    if let Some(old) = self.dsp.replace(new) {
                        if let Err(old) = self.queues.send_trash(old) {
                            // Never free on this thread.
                            std::mem::forget(old);
                            self.shared.trash_leaks.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    self.since_snapshot = 0;
                }
            }
        }
    }

    /// Processes one interleaved block in place: chain, output meter,
    /// volume. With no chain for this layout the block is silenced.
    ///
    /// # Realtime
    /// No allocation, no locks, no syscalls; O(frames × channels).
    pub fn process(&mut self, buf: &mut [f32]) {
        self.apply_commands();
        let Some(d) = &mut self.dsp else {
            buf.fill(0.0);
            return;
        };
        let ch = d.channels;
        let frames = buf.len() / ch;
        let buf = &mut buf[..frames * ch];
        d.process(buf);
        // Desktop volume after the chain, ramped over the block.
        let mute = self.shared.mute.load(Ordering::Relaxed);
        for c in 0..ch {
            let target = if mute {
                0.0
            } else {
                f32::from_bits(self.shared.volume[c].load(Ordering::Relaxed))
            };
            let start = self.gains[c];
            if start == 1.0 && target == 1.0 {
                continue;
            }
            let step = if frames > 0 {
                (target - start) / frames as f32
            } else {
                0.0
            };
            for (i, s) in buf[c..].iter_mut().step_by(ch).enumerate() {
                *s *= start + step * (i + 1) as f32;
            }
            self.gains[c] = target;
        }
        self.shared
            .frames
            .fetch_add(frames as u64, Ordering::Relaxed);
        self.shared.quantum.store(frames as u32, Ordering::Relaxed);
        self.since_snapshot = self.since_snapshot.saturating_add(frames as u32);
        if self.since_snapshot >= d.rate_hz / SNAPSHOTS_PER_S {
            self.since_snapshot = 0;
            let snap = d.snapshot();
            if self.queues.send_meters(snap).is_err() {
                self.shared.meter_overruns.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn amp_to_db(a: f32) -> f32 {
    if a > 0.0 {
        20.0 * a.log10()
    } else {
        f32::NEG_INFINITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bypass_is_bit_exact_after_latency_and_commands_apply() {
        let shared = Arc::new(Shared::default());
        let (mut rt, mut ctl) = pair(shared.clone());
        let params = Params {
            bypass: true,
            ..Params::default()
        };
        let dsp = Dsp::new(48_000, 2, &params).unwrap();
        let lat = dsp.latency_frames();
        assert!(ctl.send_cmd(Cmd::Dsp(dsp)).is_ok());
        let input: Vec<f32> = (0..48_000)
            .map(|i| ((i as f32) * 0.001).sin() * 0.5)
            .collect();
        let mut out = input.clone();
        {
            let _g = crate::alloc_guard::enter();
            for block in out.chunks_mut(1024) {
                rt.process(block);
            }
        }
        // After the 20 ms bypass fade, output = input delayed by `lat` frames.
        for i in (2 * 2400)..out.len() {
            assert_eq!(out[i].to_bits(), input[i - 2 * lat].to_bits(), "sample {i}");
        }
        assert!(ctl.recv_meters().is_some(), "meter snapshots flow");
        assert_eq!(crate::alloc_guard::violations(), 0);
        // A second Dsp sends the first back to the trash.
        assert!(ctl
            .send_cmd(Cmd::Dsp(Dsp::new(44_100, 2, &params).unwrap()))
            .is_ok());
        rt.process(&mut out[..64]);
        assert!(ctl.recv_trash().is_some());
        assert_eq!(shared.trash_leaks.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn volume_applies_after_the_chain_and_no_chain_means_silence() {
        let shared = Arc::new(Shared::default());
        let (mut rt, mut ctl) = pair(shared.clone());
        let mut buf = [0.5f32; 128];
        rt.process(&mut buf);
        assert!(buf.iter().all(|s| *s == 0.0));
        let params = Params {
            bypass: true,
            ..Params::default()
        };
        assert!(ctl
            .send_cmd(Cmd::Dsp(Dsp::new(48_000, 2, &params).unwrap()))
            .is_ok());
        shared.mute.store(true, Ordering::Relaxed);
        let mut buf = vec![0.5f32; 48_000];
        rt.process(&mut buf);
        assert!(buf[2..].iter().all(|s| *s == 0.0 || s.abs() < 0.5));
        let mut buf = vec![0.5f32; 4096];
        rt.process(&mut buf);
        assert!(buf.iter().all(|s| *s == 0.0));
    }

    /// Stereo runs on the two-channel engine, other layouts on the wide
    /// one; a format change between them swaps engines on the realtime
    /// thread without allocating, keeps the leveling going, and output
    /// stays finite and under the ceiling.
    #[test]
    fn formats_switch_between_the_stereo_and_the_wide_engine() {
        let shared = Arc::new(Shared::default());
        let (mut rt, mut ctl) = pair(shared.clone());
        let params = Params::default();
        let ceiling = 10f32.powf(params.limiter.ceiling_dbtp / 20.0);
        let stereo = Dsp::new(48_000, 2, &params).unwrap();
        assert!(matches!(stereo.engine, Engine::Stereo(_)));
        let wide = Dsp::new(48_000, 6, &params).unwrap();
        assert!(matches!(wide.engine, Engine::Wide(_)));
        assert_eq!(stereo.latency_frames(), wide.latency_frames());
        for (dsp, ch) in [
            (stereo, 2usize),
            (wide, 6),
            (Dsp::new(44_100, 2, &params).unwrap(), 2),
        ] {
            assert!(ctl.send_cmd(Cmd::Dsp(dsp)).is_ok());
            let mut buf: Vec<f32> = (0..ch * 24_000)
                .map(|i| ((i / ch) as f32 * 0.05).sin() * 1.5)
                .collect();
            {
                let _g = crate::alloc_guard::enter();
                for block in buf.chunks_mut(ch * 512) {
                    rt.process(block);
                }
            }
            assert_eq!(crate::alloc_guard::violations(), 0, "{ch} channels");
            let peak = buf.iter().fold(0.0f32, |m, s| m.max(s.abs()));
            assert!(
                peak.is_finite() && peak <= ceiling,
                "{ch} channels: peak {peak}"
            );
            assert!(peak > 0.1, "{ch} channels: silent output");
            while ctl.recv_trash().is_some() {}
        }
        assert!(ctl.recv_meters().is_some());
        assert_eq!(shared.trash_leaks.load(Ordering::Relaxed), 0);
    }
}
