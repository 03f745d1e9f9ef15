//! Rings with power-of-two capacity (delay lines, the limiter's prefix
//! sums), written and read a block at a time as at most two contiguous
//! copies (instead of one masked index per sample), so delay lines move
//! audio at memory speed.
//!
//! Contract: positions are frame counters of any size (wrapping), reduced
//! modulo the ring's length, which must be a power of two; a block longer
//! than the ring writes or reads only its last `len` samples' worth of
//! slots, as per-sample indexing would end up with.

/// Writes `src` into `ring` starting at position `pos`.
#[inline]
pub fn write<T: Copy>(ring: &mut [T], pos: u32, src: &[T]) {
    let len = ring.len();
    debug_assert!(len.is_power_of_two());
    if len == 0 {
        return;
    }
    // A block longer than the ring leaves only its tail in it.
    let at = pos as usize & (len - 1);
    // The common case first, as one copy of the caller's length: when that
    // length is a constant (whole blocks) the copy is inlined, not a call.
    if let Some(dst) = ring.get_mut(at..at + src.len()) {
        dst.copy_from_slice(src);
        return;
    }
    let skip = src.len().saturating_sub(len);
    let (pos, src) = (pos.wrapping_add(skip as u32), &src[skip..]);
    let at = pos as usize & (len - 1);
    let first = src.len().min(len - at);
    ring[at..at + first].copy_from_slice(&src[..first]);
    ring[..src.len() - first].copy_from_slice(&src[first..]);
}

/// Fills `dst` from `ring` starting at position `pos`.
#[inline]
pub fn read<T: Copy>(ring: &[T], pos: u32, dst: &mut [T]) {
    let len = ring.len();
    debug_assert!(len.is_power_of_two());
    if len == 0 {
        return;
    }
    // As in `write`: the unwrapped case as one copy of the caller's length.
    let at = pos as usize & (len - 1);
    if let Some(src) = ring.get(at..at + dst.len()) {
        dst.copy_from_slice(src);
        return;
    }
    let mut pos = pos;
    let mut rest = dst;
    while !rest.is_empty() {
        let at = pos as usize & (len - 1);
        let n = rest.len().min(len - at);
        let (head, tail) = rest.split_at_mut(n);
        head.copy_from_slice(&ring[at..at + n]);
        rest = tail;
        pos = pos.wrapping_add(n as u32);
    }
}

/// As [`read`], each sample times `gain[i]` (`dst[i] = ring[pos + i]·gain[i]`
/// for `i` below both lengths): a delay line's output with its gain applied
/// in the same pass, without a staging copy.
#[inline(always)]
pub fn read_scaled(ring: &[f32], pos: u32, gain: &[f32], dst: &mut [f32]) {
    let len = ring.len();
    debug_assert!(len.is_power_of_two());
    if len == 0 {
        return;
    }
    let n = dst.len().min(gain.len());
    let (mut pos, mut done) = (pos, 0);
    while done < n {
        let at = pos as usize & (len - 1);
        let run = (n - done).min(len - at);
        for ((d, &x), &g) in dst[done..done + run]
            .iter_mut()
            .zip(&ring[at..at + run])
            .zip(&gain[done..done + run])
        {
            *d = x * g;
        }
        done += run;
        pos = pos.wrapping_add(run as u32);
    }
}

/// Differences of a ring of wrapping sums, scaled: `dst[i] =
/// (ring[hi + i] - ring[lo + i]) · scale`, the difference taken as a signed
/// 32-bit integer (the caller's windows hold less than 2³¹). At most three
/// runs in which neither end wraps, so the loop vectorizes with no staging
/// copy of either end.
#[inline(always)]
pub fn window_diffs(ring: &[u32], hi: u32, lo: u32, scale: f32, dst: &mut [f32]) {
    let len = ring.len();
    debug_assert!(len.is_power_of_two());
    if len == 0 {
        return;
    }
    let (mut hi, mut lo) = (hi, lo);
    let mut rest = dst;
    while !rest.is_empty() {
        let (h, l) = (hi as usize & (len - 1), lo as usize & (len - 1));
        let n = rest.len().min(len - h).min(len - l);
        let (head, tail) = rest.split_at_mut(n);
        for ((d, &a), &b) in head.iter_mut().zip(&ring[h..h + n]).zip(&ring[l..l + n]) {
            // The signed conversion is a vector instruction (the unsigned
            // one is not) and gives the same value below 2³¹.
            *d = a.wrapping_sub(b) as i32 as f32 * scale;
        }
        rest = tail;
        hi = hi.wrapping_add(n as u32);
        lo = lo.wrapping_add(n as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Block copies agree with per-sample masked indexing, across wraps,
    /// with odd block lengths and counters near `u32::MAX`.
    #[test]
    fn block_copies_equal_per_sample_indexing() {
        const LEN: usize = 16;
        let mut fast = [0.0f32; LEN];
        let mut slow = [0.0f32; LEN];
        let mut pos = u32::MAX - 40;
        let mut value = 0.0f32;
        for block in [1usize, 5, 16, 3, 7, 20, 11, 0, 13, 9, 15, 2] {
            let src: [f32; 20] = core::array::from_fn(|i| value + i as f32);
            value += 100.0;
            write(&mut fast, pos, &src[..block]);
            for (i, &x) in src[..block].iter().enumerate() {
                slow[pos.wrapping_add(i as u32) as usize % LEN] = x;
            }
            assert_eq!(fast, slow, "write of {block} at {pos}");
            let back = pos.wrapping_sub(9);
            let mut got = [0.0f32; 20];
            read(&fast, back, &mut got[..block]);
            for (i, &g) in got[..block].iter().enumerate() {
                assert_eq!(g, slow[back.wrapping_add(i as u32) as usize % LEN]);
            }
            let gain: [f32; 20] = core::array::from_fn(|i| 0.5 + i as f32);
            let mut scaled = [0.0f32; 20];
            read_scaled(&fast, back, &gain[..block], &mut scaled[..block]);
            for (i, &s) in scaled[..block].iter().enumerate() {
                assert_eq!(s, got[i] * gain[i]);
            }
            pos = pos.wrapping_add(block as u32);
        }
    }

    /// Window differences agree with per-sample masked indexing for every
    /// pair of starting slots and lengths up to twice the ring.
    #[test]
    fn window_diffs_equal_per_sample_indexing() {
        const LEN: usize = 16;
        let ring: [u32; LEN] = core::array::from_fn(|i| (i as u32).wrapping_mul(0x9e37_79b9));
        for hi in u32::MAX - 20..=u32::MAX {
            for back in [0u32, 1, 5, 15, 16, 17, 30] {
                let lo = hi.wrapping_sub(back);
                for n in [0usize, 1, 3, 15, 16, 17, 32] {
                    let mut got = [0.0f32; 32];
                    window_diffs(&ring, hi, lo, 0.25, &mut got[..n]);
                    for (i, &g) in got[..n].iter().enumerate() {
                        let a = ring[hi.wrapping_add(i as u32) as usize % LEN];
                        let b = ring[lo.wrapping_add(i as u32) as usize % LEN];
                        assert_eq!(g, a.wrapping_sub(b) as i32 as f32 * 0.25);
                    }
                }
            }
        }
    }
}
