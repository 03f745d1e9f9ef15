//! Which instruction set the chain's per-block code runs on.
//!
//! Contract: the chain's block code is compiled twice on x86-64, once for
//! the baseline target (SSE2) and once with AVX2 enabled, from the same
//! Rust source; [`Isa::detect`] says which one this CPU can run. The two
//! produce bit-identical output (the source never asks for fused
//! multiply-adds, so the compiler may not contract, and both round every
//! operation the same way) — a test in `chain` checks it. Only the vector
//! width, and so the speed, differs: the chain runs about 25 % faster with
//! AVX2, the meter with true peak up to 30 % (README, Performance).
//!
//! The crate's `unsafe` is this detection and the calls that enter an AVX2
//! build (in `chain`, `loudness` and `kweight`), each made only when the
//! K-weighting's `isa` setting (the one setting a chain or meter has) is
//! [`Isa::Avx2`] — which construction and every
//! `set_isa` cap at what [`Isa::detect`] found on this CPU — plus the call
//! of `kweight`'s SSE2 kernel (SSE2 is part of the x86-64 baseline).
#![allow(unsafe_code)]

/// An instruction set the chain can run its block code on, slowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// The compilation target's baseline (SSE2 on x86-64; any other
    /// architecture).
    Portable,
    /// x86-64 with AVX2 (and the OS saving its registers).
    Avx2,
}

impl Isa {
    /// The best instruction set this CPU (and OS) supports.
    ///
    /// # Realtime
    /// A few `cpuid` instructions: cheap, but meant for construction time.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if cfg!(target_feature = "avx2") || x86::has_avx2() {
                return Self::Avx2;
            }
        }
        Self::Portable
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::{__cpuid_count, _xgetbv, CpuidResult};

    /// CPUID: AVX2 (leaf 7, EBX bit 5) and AVX (leaf 1, ECX bit 28), with
    /// the OS saving the YMM state (OSXSAVE, ECX bit 27, and XCR0 bits 1
    /// and 2); without the last check the upper halves of the registers
    /// could be lost on a context switch.
    pub(super) fn has_avx2() -> bool {
        let leaf = |eax: u32| -> CpuidResult {
            // SAFETY: `cpuid` exists on every x86-64 CPU.
            #[allow(unused_unsafe)]
            unsafe {
                __cpuid_count(eax, 0)
            }
        };
        if leaf(0).eax < 7 {
            return false;
        }
        let ecx = leaf(1).ecx;
        let (avx, osxsave) = (ecx & (1 << 28) != 0, ecx & (1 << 27) != 0);
        if !(avx && osxsave) {
            return false;
        }
        // SAFETY: OSXSAVE is set, so XGETBV is available and enabled.
        let xcr0 = unsafe { xgetbv0() };
        xcr0 & 0b110 == 0b110 && leaf(7).ebx & (1 << 5) != 0
    }

    #[target_feature(enable = "xsave")]
    unsafe fn xgetbv0() -> u64 {
        _xgetbv(0)
    }
}
