//! # headroom-capi
//!
//! The C API of Headroom's leveling chain: `include/headroom.h` declares
//! it, this crate implements it over dsp-core, and builds `libheadroom.so`
//! and `libheadroom.a` for hosts written in C or C++.
//!
//! Contract: the header's. Every entry point checks its pointers for null,
//! none unwinds across the C boundary (dsp-core does not panic; a panic
//! anywhere would abort), and only `headroom_chain_new` allocates.

pub mod chain;
pub mod status;

use core::ffi::c_char;

/// `headroom_version`.
#[no_mangle]
pub extern "C" fn headroom_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
