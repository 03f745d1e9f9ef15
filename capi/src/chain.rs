//! `headroom_chain`: a boxed dsp-core chain with its working memory and the
//! settings in force, at one of two channel capacities (a stereo-sized
//! chain for 1–2 channels, an 8-channel one for 3–8, as the daemon does).
//!
//! Contract: every entry point but `headroom_chain_new` and
//! `headroom_chain_free` is realtime-safe (no allocation, lock or system
//! call) and tolerates null pointers; none unwinds (a panic would abort,
//! and dsp-core does not panic).

use crate::status::{self, Status};
use core::ffi::{c_char, CStr};
use dsp_core::dsp::chain::{Chain, ChainConfig, ChainMeters, ChainScratch};
use dsp_core::params::{self, Params, Value};

struct Inner<const C: usize> {
    chain: Chain<C>,
    scratch: ChainScratch<C>,
    params: Params,
    /// No audio processed yet: settings apply from the first sample
    /// instead of gliding from the defaults.
    fresh: bool,
}

impl<const C: usize> Inner<C> {
    fn new(config: ChainConfig) -> Result<Box<Self>, Status> {
        let params = Params::default();
        let chain = Chain::<C>::with_params(config, &params).map_err(status::from_chain)?;
        Ok(Box::new(Self {
            chain,
            scratch: ChainScratch::new(),
            params,
            fresh: true,
        }))
    }

    fn set(&mut self, key: &str, value: Value<'_>) -> Status {
        let mut next = self.params;
        if let Err(e) = params::set(&mut next, key, value) {
            return status::from_param(e);
        }
        let applied = if self.fresh {
            // Built in place of the old one: no allocation, and nothing to
            // glide from.
            Chain::<C>::with_params(self.chain.config(), &next)
                .map(|c| self.chain = c)
                .map_err(|e| match e {
                    dsp_core::dsp::chain::Error::Param(p) => p,
                    dsp_core::dsp::chain::Error::Config(_) => {
                        dsp_core::error::ParamError::Inconsistent
                    }
                })
        } else {
            self.chain.set_params(&next)
        };
        match applied {
            Ok(()) => {
                self.params = next;
                status::OK
            }
            Err(e) => status::from_param(e),
        }
    }

    fn planar(&mut self, channels: *const *mut f32, frames: usize) {
        let n = self.chain.config().channels;
        let mut slices: [&mut [f32]; 8] = Default::default();
        for (c, slot) in slices.iter_mut().enumerate().take(n) {
            // SAFETY: the caller passes `n` pointers (header contract).
            let p = unsafe { *channels.add(c) };
            if p.is_null() {
                return;
            }
            // SAFETY: each points at `frames` samples, distinct buffers.
            *slot = unsafe { core::slice::from_raw_parts_mut(p, frames) };
        }
        self.chain
            .process_planar_in(&mut self.scratch, &mut slices[..n]);
    }
}

/// The opaque `headroom_chain`.
pub struct HeadroomChain(Engine);

enum Engine {
    Stereo(Box<Inner<2>>),
    Wide(Box<Inner<8>>),
}

/// Runs `$body` with `$inner` bound to whichever capacity `$chain` has.
macro_rules! each {
    ($chain:expr, $inner:ident => $body:expr) => {
        match $chain {
            HeadroomChain(Engine::Stereo($inner)) => $body,
            HeadroomChain(Engine::Wide($inner)) => $body,
        }
    };
}

/// A key or choice from C, or the status refusing it.
///
/// # Safety
/// `s` is null or a NUL-terminated string.
unsafe fn text<'a>(s: *const c_char) -> Result<&'a str, Status> {
    if s.is_null() {
        return Err(status::ERR_NULL);
    }
    // SAFETY: per this function's contract.
    unsafe { CStr::from_ptr(s) }
        .to_str()
        .map_err(|_| status::ERR_NOT_UTF8)
}

/// `headroom_chain_new`.
///
/// # Safety
/// `out` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn headroom_chain_new(
    sample_rate_hz: u32,
    channels: u32,
    out: *mut *mut HeadroomChain,
) -> Status {
    if out.is_null() {
        return status::ERR_NULL;
    }
    let config = ChainConfig {
        sample_rate_hz,
        channels: channels as usize,
    };
    let chain = match channels {
        1 | 2 => Inner::<2>::new(config).map(Engine::Stereo),
        3..=8 => Inner::<8>::new(config).map(Engine::Wide),
        _ => Err(status::ERR_CHANNELS),
    };
    match chain {
        Ok(c) => {
            // SAFETY: checked non-null; writable per the contract.
            unsafe { out.write(Box::into_raw(Box::new(HeadroomChain(c)))) };
            status::OK
        }
        Err(s) => s,
    }
}

/// `headroom_chain_free`.
///
/// # Safety
/// `chain` is null or from `headroom_chain_new`, not freed before.
#[no_mangle]
pub unsafe extern "C" fn headroom_chain_free(chain: *mut HeadroomChain) {
    if !chain.is_null() {
        // SAFETY: per this function's contract.
        drop(unsafe { Box::from_raw(chain) });
    }
}

/// `headroom_chain_latency_frames`.
///
/// # Safety
/// `chain` is null or a live chain.
#[no_mangle]
pub unsafe extern "C" fn headroom_chain_latency_frames(chain: *const HeadroomChain) -> u32 {
    // SAFETY: per this function's contract.
    match unsafe { chain.as_ref() } {
        Some(c) => each!(c, i => i.chain.latency_frames() as u32),
        None => 0,
    }
}

/// Sets `key` to what `value` makes of it.
///
/// # Safety
/// `chain` is null or a live chain not in use elsewhere; `key` is null or a
/// NUL-terminated string.
unsafe fn set_with(
    chain: *mut HeadroomChain,
    key: *const c_char,
    value: impl FnOnce() -> Result<Value<'static>, Status>,
) -> Status {
    // SAFETY: per this function's contract.
    let (Some(c), key) = (unsafe { chain.as_mut() }, unsafe { text(key) }) else {
        return status::ERR_NULL;
    };
    let key = match key {
        Ok(k) => k,
        Err(s) => return s,
    };
    match value() {
        Ok(v) => each!(c, i => i.set(key, v)),
        Err(s) => s,
    }
}

/// `headroom_chain_set_number`.
///
/// # Safety
/// As `set_with`.
#[no_mangle]
pub unsafe extern "C" fn headroom_chain_set_number(
    chain: *mut HeadroomChain,
    key: *const c_char,
    value: f64,
) -> Status {
    // SAFETY: forwarded contract.
    unsafe { set_with(chain, key, || Ok(Value::Number(value))) }
}

/// `headroom_chain_set_bool`.
///
/// # Safety
/// As `set_with`.
#[no_mangle]
pub unsafe extern "C" fn headroom_chain_set_bool(
    chain: *mut HeadroomChain,
    key: *const c_char,
    value: bool,
) -> Status {
    // SAFETY: forwarded contract.
    unsafe { set_with(chain, key, || Ok(Value::Bool(value))) }
}

/// `headroom_chain_set_choice`.
///
/// # Safety
/// As `set_with`; `value` is null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn headroom_chain_set_choice(
    chain: *mut HeadroomChain,
    key: *const c_char,
    value: *const c_char,
) -> Status {
    // `Value<'static>` needs a static name: take the setting's own.
    let choice = || {
        // SAFETY: both are null or NUL-terminated (the contract).
        let (key, wanted) = unsafe { (text(key)?, text(value)?) };
        let setting = params::find(key).ok_or(status::ERR_UNKNOWN_KEY)?;
        let params::Kind::Choice(names) = setting.kind else {
            return Err(status::ERR_WRONG_TYPE);
        };
        names
            .iter()
            .find(|n| **n == wanted)
            .map(|n| Value::Choice(n))
            .ok_or(status::ERR_OUT_OF_RANGE)
    };
    // SAFETY: forwarded contract.
    unsafe { set_with(chain, key, choice) }
}

/// `headroom_chain_process_interleaved`.
///
/// # Safety
/// `chain` is null or a live chain not in use elsewhere; `samples` is null
/// or points at `frames × channels` samples.
#[no_mangle]
pub unsafe extern "C" fn headroom_chain_process_interleaved(
    chain: *mut HeadroomChain,
    samples: *mut f32,
    frames: usize,
) {
    // SAFETY: per this function's contract.
    let Some(c) = (unsafe { chain.as_mut() }) else {
        return;
    };
    if samples.is_null() {
        return;
    }
    each!(c, i => {
        let Some(len) = frames.checked_mul(i.chain.config().channels) else {
            return;
        };
        // SAFETY: `len` samples per the contract.
        let buf = unsafe { core::slice::from_raw_parts_mut(samples, len) };
        i.fresh = false;
        i.chain.process_interleaved_in(&mut i.scratch, buf);
    })
}

/// `headroom_chain_process_planar`.
///
/// # Safety
/// `chain` is null or a live chain not in use elsewhere; `channels` is null
/// or points at one pointer per channel, each null or at `frames` samples,
/// no two overlapping.
#[no_mangle]
pub unsafe extern "C" fn headroom_chain_process_planar(
    chain: *mut HeadroomChain,
    channels: *const *mut f32,
    frames: usize,
) {
    // SAFETY: per this function's contract.
    let Some(c) = (unsafe { chain.as_mut() }) else {
        return;
    };
    if channels.is_null() {
        return;
    }
    each!(c, i => i.planar(channels, frames))
}

/// `headroom_meters`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadroomMeters {
    /// Input momentary loudness, LUFS.
    pub input_momentary_lufs: f64,
    /// Input short-term loudness, LUFS.
    pub input_shortterm_lufs: f64,
    /// Input integrated loudness, LUFS.
    pub input_integrated_lufs: f64,
    /// Input true peak, dBTP.
    pub input_true_peak_dbtp: f32,
    /// AGC gain, dB.
    pub agc_gain_db: f32,
    /// Deepest compressor reduction, dB.
    pub compressor_reduction_db: f32,
    /// Deepest limiter reduction, dB.
    pub limiter_reduction_db: f32,
}

impl From<ChainMeters> for HeadroomMeters {
    fn from(m: ChainMeters) -> Self {
        Self {
            input_momentary_lufs: m.input_momentary_lufs,
            input_shortterm_lufs: m.input_shortterm_lufs,
            input_integrated_lufs: m.input_integrated_lufs,
            input_true_peak_dbtp: m.input_true_peak_dbtp,
            agc_gain_db: m.agc_gain_db,
            compressor_reduction_db: m.compressor_reduction_db,
            limiter_reduction_db: m.limiter_reduction_db,
        }
    }
}

/// `headroom_chain_take_meters`.
///
/// # Safety
/// `chain` is null or a live chain not in use elsewhere; `out` is null or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn headroom_chain_take_meters(
    chain: *mut HeadroomChain,
    out: *mut HeadroomMeters,
) -> Status {
    // SAFETY: per this function's contract.
    let Some(c) = (unsafe { chain.as_mut() }) else {
        return status::ERR_NULL;
    };
    if out.is_null() {
        return status::ERR_NULL;
    }
    let m = each!(c, i => i.chain.take_meters());
    // SAFETY: checked non-null; writable per the contract.
    unsafe { out.write(m.into()) };
    status::OK
}
