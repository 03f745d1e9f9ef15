//! One plugin instance: a dsp-core [`Chain`] for `C` channels, the host's
//! port pointers, and the control values last applied.
//!
//! Contract (LADSPA 1.1):
//! * `instantiate` allocates everything; `run` allocates nothing, takes no
//!   lock, makes no system call and never panics. Its cost is bounded by
//!   `a + b·frames` but depends on the signal (the limiter skips blocks
//!   that cannot reach the ceiling), which is why the descriptor does not
//!   claim `HARD_RT_CAPABLE`.
//! * Any block length; inputs and outputs may be the same buffers
//!   (in-place): each chunk is copied into the instance before anything is
//!   written back.
//! * Control changes are read at the start of every `run` and glide in
//!   without clicks, as in the daemon; `activate` starts the chain afresh
//!   with the controls in effect.

use crate::ports::{self, Meter, FLOOR_DB, MAX_PORTS, METERS, METER_PERIOD_MS};
use dsp_core::dsp::chain::{Chain, ChainConfig, ChainScratch};
use dsp_core::params::{Params, SETTINGS};

/// Frames copied in and processed at a time.
const CHUNK: usize = 256;

/// A plugin instance for `C` channels.
pub struct Instance<const C: usize> {
    chain: Chain<C>,
    scratch: ChainScratch<C>,
    staging: [[f32; CHUNK]; C],
    ports: [*mut f32; MAX_PORTS],
    /// The raw control values behind `params`, to notice a change cheaply.
    controls: [f32; MAX_PORTS],
    params: Params,
    meter_frames: u32,
    meter_period_frames: u32,
    meters: [f32; METERS.len()],
}

impl<const C: usize> Instance<C> {
    /// A new instance at `sample_rate_hz` with the core's default
    /// parameters, or `None` for a rate the chain does not support.
    pub fn new(sample_rate_hz: u32) -> Option<Box<Self>> {
        let config = ChainConfig {
            sample_rate_hz,
            channels: C,
        };
        let params = Params::default();
        let chain = Chain::<C>::with_params(config, &params).ok()?;
        let mut controls = [f32::NAN; MAX_PORTS];
        for (c, s) in controls.iter_mut().zip(SETTINGS) {
            *c = ports::to_port(s, (s.get)(&params));
        }
        let mut meters = [0.0; METERS.len()];
        meters[0] = chain.latency_frames() as f32;
        Some(Box::new(Self {
            chain,
            scratch: ChainScratch::new(),
            staging: [[0.0; CHUNK]; C],
            ports: [core::ptr::null_mut(); MAX_PORTS],
            controls,
            params,
            meter_frames: 0,
            meter_period_frames: sample_rate_hz / 1000 * METER_PERIOD_MS,
            meters,
        }))
    }

    /// Points port `port` at the host's memory (ignored when out of range).
    pub fn connect(&mut self, port: usize, data: *mut f32) {
        if let Some(p) = self.ports.get_mut(port) {
            *p = data;
        }
    }

    /// Starts the chain afresh with the controls in effect.
    pub fn activate(&mut self) {
        self.read_controls();
        if let Ok(chain) = Chain::<C>::with_params(self.chain.config(), &self.params) {
            self.chain = chain;
        }
        self.meter_frames = 0;
    }

    /// Processes `frames` frames from the input ports to the output ports.
    ///
    /// # Safety
    /// Every audio port is connected to `frames` valid samples, and every
    /// connected control port to one valid value, as LADSPA requires of the
    /// host before `run`.
    pub unsafe fn run(&mut self, frames: usize) {
        self.read_controls();
        let (ins, outs) = self.ports.split_at(C);
        if ins.iter().chain(&outs[..C]).any(|p| p.is_null()) {
            return;
        }
        let mut done = 0;
        while done < frames {
            let n = (frames - done).min(CHUNK);
            for (c, buf) in self.staging.iter_mut().enumerate() {
                // SAFETY: the host gave `frames` samples at each input; raw
                // copies, because an output may be the same memory.
                unsafe { core::ptr::copy(self.ports[c].add(done), buf.as_mut_ptr(), n) };
            }
            let mut planar = self.staging.each_mut().map(|b| &mut b[..n]);
            self.chain.process_planar_in(&mut self.scratch, &mut planar);
            for (c, buf) in self.staging.iter().enumerate() {
                // SAFETY: as above, for the outputs.
                unsafe { core::ptr::copy(buf.as_ptr(), self.ports[C + c].add(done), n) };
            }
            done += n;
            self.meter_frames += n as u32;
            if self.meter_frames >= self.meter_period_frames {
                self.meter_frames = 0;
                self.update_meters();
            }
        }
        self.write_meters();
    }

    /// Applies the control inputs if any changed since the last call.
    fn read_controls(&mut self) {
        let first = 2 * C;
        let mut changed = false;
        for (i, s) in SETTINGS.iter().enumerate() {
            let p = self.ports[first + i];
            if p.is_null() {
                continue;
            }
            // SAFETY: a connected control port points at one value.
            let x = unsafe { p.read() };
            if x.to_bits() == self.controls[i].to_bits() {
                continue;
            }
            self.controls[i] = x;
            if let Some(v) = ports::to_value(s, x) {
                changed |= s.apply(&mut self.params, v).is_ok();
            }
        }
        // Each value was validated on its own; the set is checked again by
        // the chain, and on a refusal the chain keeps what it had.
        if changed && self.chain.set_params(&self.params).is_err() {
            self.params = *self.chain.params();
        }
    }

    fn update_meters(&mut self) {
        let m = self.chain.take_meters();
        let floor = |x: f64| {
            if x.is_finite() {
                (x as f32).max(FLOOR_DB)
            } else {
                FLOOR_DB
            }
        };
        for (slot, meter) in self.meters.iter_mut().zip(METERS) {
            *slot = match meter {
                Meter::LatencyFrames => self.chain.latency_frames() as f32,
                Meter::AgcGainDb => m.agc_gain_db,
                Meter::CompressorReductionDb => m.compressor_reduction_db,
                Meter::LimiterReductionDb => m.limiter_reduction_db,
                Meter::InputMomentaryLufs => floor(m.input_momentary_lufs),
            };
        }
    }

    fn write_meters(&mut self) {
        let first = 2 * C + SETTINGS.len();
        for (i, &v) in self.meters.iter().enumerate() {
            let p = self.ports[first + i];
            if !p.is_null() {
                // SAFETY: a connected control output points at one value.
                unsafe { p.write(v) };
            }
        }
    }
}
