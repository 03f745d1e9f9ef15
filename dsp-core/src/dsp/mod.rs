//! The leveling chain, one block per module.
//!
//! Signal flow (see [`chain`]): [`loudness`] meter (with [`kweight`] and
//! [`true_peak`]) → [`agc`] → [`compressor`] → [`limiter`]. Every block
//! allocates nothing, sizes its buffers at construction, and processes any
//! block length. Blocks take planar audio: one slice per channel.

pub mod agc;
pub mod aligned;
pub mod chain;
pub mod channels;
pub mod compressor;
pub mod envelope;
pub mod isa;
pub mod kweight;
pub mod limiter;
pub mod loudness;
pub mod ring;
pub mod true_peak;
