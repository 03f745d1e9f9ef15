//! Cache-line alignment for the buffers the vector loops stream through.
//!
//! Contract: [`Aligned<T>`] is `T` placed on a 64-byte boundary, and
//! dereferences to it. The FIRs and delay lines read windows at arbitrary
//! offsets with unaligned vector loads; on a buffer whose start is not
//! aligned, more of those loads split a cache line, and which ones depends
//! on the caller's stack layout — measured as ±5 % swings of the whole
//! chain from unrelated edits. Aligning the buffers makes the cost stable.

use core::ops::{Deref, DerefMut};

/// `T` on a 64-byte (cache-line) boundary.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[repr(C, align(64))]
pub struct Aligned<T>(pub T);

impl<T> Deref for Aligned<T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Aligned<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}
