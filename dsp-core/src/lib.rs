//! # headroom-dsp-core
//!
//! The allocation-free core shared by every Headroom host: the leveling chain
//! (ITU-R BS.1770-4 / EBU R128 meter → slow AGC → compressor → lookahead
//! true-peak limiter), the control-protocol codec (`IPC.md`), and the
//! fixed-size queues that connect a realtime thread to its control plane.
//!
//! ## Contract
//! * `#![no_std]` with no `alloc`: every buffer is sized at construction
//!   (const generics and fixed capacities), so the crate runs on an MCU, a
//!   low-power ARM box or inside another audio host's process callback.
//! * Setting a parameter validates it and returns a typed `Copy` error;
//!   `process` is infallible, never panics, and turns non-finite input into
//!   finite output.
//! * `dsp` and `proto` never import each other: a realtime build of the chain
//!   links no JSON code.
//! * No `unsafe` except where a measured SIMD win needs it, each use
//!   allowed locally with its safety argument: CPU-feature detection in
//!   [`dsp::isa`], the calls into the AVX2 builds that detection enables,
//!   the fused multiply-adds used only inside those builds, and the SSE2
//!   K-weighting kernel.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod dsp;
pub mod error;
pub mod params;
pub mod proto;
pub mod queue;
pub mod sample;
pub mod units;

/// Most channels any block accepts (7.1).
pub const MAX_CHANNELS: usize = 8;
/// Highest supported sample rate; fixed-capacity buffers are sized for it.
pub const MAX_SAMPLE_RATE_HZ: u32 = 192_000;
/// The sample rates the chain is specified and tested at.
pub const SUPPORTED_RATES_HZ: [u32; 5] = [44_100, 48_000, 88_200, 96_000, 192_000];
