//! Which instruction set the chain's per-block code runs on.
//!
//! Contract: the chain's block code is compiled twice on x86-64, once for
//! the baseline target (SSE2) and once with AVX2 and FMA enabled, from the
//! same Rust source; [`Isa::detect`] says which one this CPU can run. The
//! AVX2 build differs in vector width and in one more way: its filter
//! kernels (the K-weighting recurrences, the true-peak interpolators and
//! the limiter's high-band guard, through `madd`, whose `FUSED` flag the
//! AVX2 entry points pass down at compile time, so neither build carries
//! the other's kernels) use fused multiply-adds,
//! which round once where the baseline rounds twice. Everything else rounds
//! identically. So the builds agree to rounding — `tests/chain_isa.rs`
//! bounds the difference — not bit for bit. The fused kernels make the AVX2
//! build 5–6 % faster than it was without them; the chain takes about 40 %
//! less time than in the baseline build (README, Performance).
//!
//! The crate's `unsafe` is this detection, the fused multiply-add and the
//! calls that enter an AVX2 build (in `chain`, `loudness` and `kweight`),
//! each made only when the `isa` setting in force is [`Isa::Avx2`] — which construction and every `set_isa` cap at
//! what [`Isa::detect`] found on this CPU — plus the call of `kweight`'s
//! SSE2 kernel (SSE2 is part of the x86-64 baseline).
#![allow(unsafe_code)]

/// An instruction set the chain can run its block code on, slowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// The compilation target's baseline (SSE2 on x86-64; any other
    /// architecture).
    Portable,
    /// x86-64 with AVX2 and FMA (and the OS saving the vector registers):
    /// every AVX2 processor made so far also has FMA.
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
            if cfg!(all(target_feature = "avx2", target_feature = "fma")) || x86::has_avx2_fma() {
                return Self::Avx2;
            }
        }
        Self::Portable
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::{__cpuid_count, _xgetbv, CpuidResult};

    /// CPUID: AVX2 (leaf 7, EBX bit 5), AVX (leaf 1, ECX bit 28) and FMA
    /// (leaf 1, ECX bit 12), with the OS saving the YMM state (OSXSAVE, ECX
    /// bit 27, and XCR0 bits 1 and 2); without the last check the upper
    /// halves of the registers could be lost on a context switch.
    pub(super) fn has_avx2_fma() -> bool {
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
        let (avx, osxsave, fma) = (
            ecx & (1 << 28) != 0,
            ecx & (1 << 27) != 0,
            ecx & (1 << 12) != 0,
        );
        if !(avx && osxsave && fma) {
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

/// `a·b + c`, rounded once when `FUSED` (a fused multiply-add: only for
/// code compiled with the `fma` target feature, i.e. inside the AVX2
/// builds' entry points), else rounded after the multiply and after the
/// add like any other Rust expression. Loops of it vectorize either way.
#[inline(always)]
pub(crate) fn madd<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if FUSED {
        use core::arch::x86_64::{_mm_cvtss_f32, _mm_fmadd_ss, _mm_set_ss};
        // SAFETY: `FUSED` kernels are instantiated only below entry points
        // compiled with `fma`, which are entered only where `Isa::detect`
        // found it.
        return unsafe { _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c))) };
    }
    a * b + c
}
