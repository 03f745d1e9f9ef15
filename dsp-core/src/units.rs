//! Unit conversions between linear amplitude/power and decibels.
//!
//! Exact versions (`libm`, for metering where BS.1770 needs the digits) and
//! fast approximations (for per-sample gain computers, where ±0.01 dB is
//! inaudible). Power ratios use 10·log10, amplitude ratios 20·log10.

/// Decibels of an amplitude ratio; `-inf` for zero.
#[inline]
pub fn amp_to_db(amp: f32) -> f32 {
    20.0 * libm::log10f(amp)
}

/// Amplitude ratio of a decibel value.
#[inline]
pub fn db_to_amp(db: f32) -> f32 {
    libm::powf(10.0, db * 0.05)
}

/// Decibels of a power ratio (exact, double precision); `-inf` for zero.
#[inline]
pub fn power_to_db(power: f64) -> f64 {
    10.0 * libm::log10(power)
}

/// Power ratio of a decibel value (exact, double precision).
#[inline]
pub fn db_to_power(db: f64) -> f64 {
    libm::pow(10.0, db * 0.1)
}

/// Fast log2 for positive, finite `x` (max abs error 3.2e-5, i.e. 2e-4 dB).
///
/// Used by per-sample gain computers; the bit-level decomposition keeps it
/// branch-free and vectorizable. Returns a large negative number for 0.
#[inline]
pub fn fast_log2(x: f32) -> f32 {
    let bits = x.to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32 - 127;
    // Mantissa mapped to [1, 2).
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    // Least-squares quintic for log2(m) on [1, 2): max error 3.2e-5.
    let p = -2.786_813
        + m * (5.046_876
            + m * (-3.492_494 + m * (1.593_901 + m * (-0.404_867_17 + m * 0.043_428_91))));
    exponent as f32 + p
}

/// Fast 2^x for `x` in roughly [-126, 126] (max rel error 7.3e-6).
#[inline]
pub fn fast_exp2(x: f32) -> f32 {
    let x = x.clamp(-126.0, 126.0);
    // floor(x) without a libm call and without a float-to-int cast: Rust's
    // saturating `as i32` compiles to one scalar conversion and two fixups
    // per lane, which un-vectorized the compressor's block of exponentials
    // (4 % of a 128-frame block under `perf`). Adding 1.5·2²³ rounds `x` to
    // an integer in the sum's low mantissa bits; one compare makes it a
    // floor.
    const SHIFT: f32 = 12_582_912.0;
    let sum = x + SHIFT;
    let nearest = sum - SHIFT;
    let above = x < nearest;
    let xi = nearest - if above { 1.0 } else { 0.0 };
    let ni = (sum.to_bits() as i32 - SHIFT.to_bits() as i32) - above as i32;
    let f = x - xi;
    // Least-squares quartic for 2^f on [0, 1): max relative error 7.3e-6.
    let p = 1.000_007_3
        + f * (0.692_931_3 + f * (0.241_710_26 + f * (0.051_666_88 + f * 0.013_676_531)));
    f32::from_bits(((ni + 127) as u32) << 23) * p
}

/// Fast decibels of an amplitude ratio (see [`fast_log2`]).
#[inline]
pub fn fast_amp_to_db(amp: f32) -> f32 {
    // 20·log10(2)
    6.020_6 * fast_log2(amp)
}

/// Fast amplitude ratio of a decibel value (see [`fast_exp2`]).
#[inline]
pub fn fast_db_to_amp(db: f32) -> f32 {
    // log2(10)/20
    fast_exp2(db * 0.166_096_4)
}

/// Largest element of `x` (0 for an empty slice or all-negative input),
/// in independent lanes so the reduction vectorizes. NaN-free input only.
#[inline]
pub fn max_of(x: &[f32]) -> f32 {
    let above = |m: f32, v: f32| if v > m { v } else { m };
    lanes_fold(x, 0.0, |acc, b| {
        for l in 0..LANES {
            acc[l] = above(acc[l], b[l]);
        }
    })
    .map_or_else(
        || x.iter().fold(0.0, |m, &v| above(m, v)),
        |acc| tree(acc, above),
    )
}

/// Largest `|x[i + 1] - x[i]|` over `x` (0 for fewer than two elements),
/// in independent lanes kept in registers, with no array of differences
/// written first. NaN-free input only.
#[inline(always)]
pub fn max_step(x: &[f32]) -> f32 {
    let above = |m: f32, v: f32| if v > m { v } else { m };
    let Some(later) = x.get(1..) else {
        return 0.0;
    };
    if later.len() < LANES {
        return later
            .iter()
            .zip(x)
            .fold(0.0, |m, (b, a)| above(m, (b - a).abs()));
    }
    let step = |acc: &mut [f32; LANES], b: &[f32], a: &[f32]| {
        for l in 0..LANES {
            acc[l] = above(acc[l], (b[l] - a[l]).abs());
        }
    };
    let mut acc = [0.0f32; LANES];
    for (b, a) in later.chunks_exact(LANES).zip(x.chunks_exact(LANES)) {
        step(&mut acc, b, a);
    }
    // The last partial block again as a whole one, overlapping (see
    // [`lanes_fold`]).
    let tail = later.len() - LANES;
    if later.len() % LANES != 0 {
        step(&mut acc, &later[tail..], &x[tail..tail + LANES]);
    }
    tree(acc, above)
}

/// Lanes of the order-free reductions ([`max_of`], [`min_of`],
/// [`max_step`]): one AVX register of `f32`.
pub(crate) const LANES: usize = 8;

/// `fold` over `x` in blocks of [`LANES`] into lanes starting at `init`,
/// the last partial block taken as the final whole [`LANES`] elements
/// again: an idempotent fold (a maximum or minimum) does not mind seeing
/// an element twice, and a vector pass is cheaper than a scalar tail (the
/// chain reduces several odd-length spans a block). `None` when `x` is
/// shorter than one block.
#[inline(always)]
pub(crate) fn lanes_fold(
    x: &[f32],
    init: f32,
    mut fold: impl FnMut(&mut [f32; LANES], &[f32; LANES]),
) -> Option<[f32; LANES]> {
    let tail = x.len().checked_sub(LANES)?;
    let mut acc = [init; LANES];
    let mut blocks = x.chunks_exact(LANES);
    for b in &mut blocks {
        if let Ok(b) = <&[f32; LANES]>::try_from(b) {
            fold(&mut acc, b);
        }
    }
    if !blocks.remainder().is_empty() {
        if let Ok(b) = <&[f32; LANES]>::try_from(&x[tail..]) {
            fold(&mut acc, b);
        }
    }
    Some(acc)
}

/// `out[i]` = `op` folded over every channel's frame `i`, from 0. The
/// first channel writes `op(0, x)` rather than folding into zeros written
/// first (a `memset` a block).
#[inline(always)]
pub(crate) fn fold_channels(out: &mut [f32], channels: &[&[f32]], op: impl Fn(f32, f32) -> f32) {
    let Some((first, rest)) = channels.split_first() else {
        out.fill(0.0);
        return;
    };
    for (p, &x) in out.iter_mut().zip(*first) {
        *p = op(0.0, x);
    }
    for ch in rest {
        for (p, &x) in out.iter_mut().zip(*ch) {
            *p = op(*p, x);
        }
    }
}

/// `op` over the lanes as a tree (three dependent steps, not eight).
#[inline(always)]
pub(crate) fn tree(acc: [f32; LANES], op: impl Fn(f32, f32) -> f32) -> f32 {
    let four: [f32; 4] = core::array::from_fn(|i| op(acc[i], acc[i + 4]));
    let two: [f32; 2] = core::array::from_fn(|i| op(four[i], four[i + 2]));
    op(two[0], two[1])
}

/// Largest element of each group of `G` consecutive elements of `x` (the
/// last group may be short), written to `out[j]`; `out` entries past the
/// last group are left alone. NaN-free input (the limiter's and the
/// compressor's levels). See [`group_fold`] for how.
#[inline(always)]
pub fn group_max<const G: usize>(x: &[f32], out: &mut [f32]) {
    group_fold::<G>(x, out, f32::MIN, f32::max);
}

/// Sum of each group of `G` consecutive elements of `x` (the last group
/// may be short), written to `out[j]`; entries past the last group are left
/// alone. Whole groups are summed pairwise (see [`group_fold`]), which
/// rounds no worse than a running sum; a short last group is a running sum.
#[inline(always)]
pub fn group_sum<const G: usize>(x: &[f32], out: &mut [f32]) {
    group_fold::<G>(x, out, 0.0, |a, b| a + b);
}

/// `op` folded over each group of `G` consecutive elements of `x`, from
/// `init`, into `out[j]` (`op` associative and commutative up to rounding).
///
/// For `G` a power of two up to 64 (the chain's 8), whole groups go 64
/// elements at a time through `log2 G` levels of pairwise results, each
/// level half as long as the one before, in registers: element `i` of
/// level `k` folds `x[i·2^k..(i + 1)·2^k]`, so level `log2 G` is the
/// groups' results. For the maximum, a third of the time of doubling-stride
/// passes in memory (whose overlapping reloads miss store forwarding), and
/// half that of folding each group alone. The rest folds each group.
/// Always inlined: it runs inside the chain's AVX2 build.
#[inline(always)]
fn group_fold<const G: usize>(x: &[f32], out: &mut [f32], init: f32, op: impl Fn(f32, f32) -> f32) {
    const SPAN: usize = 64;
    let groups = x.len().div_ceil(G).min(out.len());
    let whole = (x.len() / G).min(groups);
    let mut done = 0;
    if G.is_power_of_two() && (2..=SPAN).contains(&G) {
        let spans = whole * G / SPAN;
        for (chunk, outs) in x[..spans * SPAN]
            .chunks_exact(SPAN)
            .zip(out.chunks_exact_mut(SPAN / G))
        {
            let l1: [f32; 32] = pair_fold(chunk, &op);
            let l2: [f32; 16] = pair_fold(&l1, &op);
            let l3: [f32; 8] = pair_fold(&l2, &op);
            let l4: [f32; 4] = pair_fold(&l3, &op);
            let l5: [f32; 2] = pair_fold(&l4, &op);
            let l6: [f32; 1] = pair_fold(&l5, &op);
            let level: &[f32] = match G {
                2 => &l1,
                4 => &l2,
                8 => &l3,
                16 => &l4,
                32 => &l5,
                _ => &l6,
            };
            outs.copy_from_slice(&level[..SPAN / G]);
        }
        done = spans * SPAN / G;
    }
    for (o, g) in out[done..whole]
        .iter_mut()
        .zip(x[done * G..].chunks_exact(G.max(1)))
    {
        *o = g.iter().fold(init, |m, &v| op(m, v));
    }
    if let (Some(o), Some(rest)) = (out.get_mut(whole), x.get(whole * G..)) {
        if whole < groups {
            *o = rest.iter().fold(init, |m, &v| op(m, v));
        }
    }
}

/// `out[i] = op(x[2i], x[2i + 1])`: one level of [`group_fold`] (zeros if
/// `x` is short, which the callers rule out). For the maximum, `max`, not a
/// compare-and-select that writes conditionally: in AVX2 code that becomes
/// a masked store (microcoded and very slow on AMD Zen).
#[inline(always)]
fn pair_fold<const N: usize>(x: &[f32], op: &impl Fn(f32, f32) -> f32) -> [f32; N] {
    let mut out = [0.0f32; N];
    if let Some(x) = x.get(..2 * N) {
        for (o, p) in out.iter_mut().zip(x.chunks_exact(2)) {
            *o = op(p[0], p[1]);
        }
    }
    out
}

/// Smallest element of `x` (`f32::MAX` for an empty slice), in independent
/// lanes so the reduction vectorizes. NaN-free input only.
#[inline]
pub fn min_of(x: &[f32]) -> f32 {
    let below = |m: f32, v: f32| if v < m { v } else { m };
    lanes_fold(x, f32::MAX, |acc, b| {
        for l in 0..LANES {
            acc[l] = below(acc[l], b[l]);
        }
    })
    .map_or_else(
        || x.iter().fold(f32::MAX, |m, &v| below(m, v)),
        |acc| tree(acc, below),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reductions() {
        let x = [3.0f32, -1.0, 7.5, 0.25, 2.0, 9.0, -4.0, 1.0, 6.0, 5.0, 8.0];
        assert_eq!(max_of(&x), 9.0);
        assert_eq!(min_of(&x), -4.0);
        assert_eq!(max_of(&[]), 0.0);
        let steps = |x: &[f32]| x.windows(2).fold(0.0f32, |m, w| m.max((w[1] - w[0]).abs()));
        for len in 2..=x.len() {
            assert_eq!(max_step(&x[..len]), steps(&x[..len]), "{len}");
        }
        assert_eq!(max_step(&x), 13.0);
        assert_eq!(max_step(&x[..1]), 0.0);
        assert_eq!(max_step(&[]), 0.0);
        let mut out = [0.0f32; 4];
        group_max::<4>(&x, &mut out);
        assert_eq!(out, [7.5, 9.0, 8.0, 0.0]);
    }

    /// The lane reductions, whose last partial block overlaps the one
    /// before, against plain scalar folds at every length up to five
    /// blocks and from every start (so the extremum sits in the main
    /// blocks, the overlap, the tail alone or a short slice).
    #[test]
    fn lane_reductions_match_scalar_folds_at_every_length() {
        let x: [f32; 48] = core::array::from_fn(|i| libm::sinf(i as f32 * 1.7) * (i % 5) as f32);
        for start in 0..8 {
            for len in 0..=x.len() - start {
                let x = &x[start..start + len];
                let max = x.iter().fold(0.0f32, |m, &v| if v > m { v } else { m });
                let min = x.iter().fold(f32::MAX, |m, &v| if v < m { v } else { m });
                let step = x.windows(2).fold(0.0f32, |m, w| m.max((w[1] - w[0]).abs()));
                assert_eq!(max_of(x), max, "max {start}+{len}");
                assert_eq!(min_of(x), min, "min {start}+{len}");
                assert_eq!(max_step(x), step, "step {start}+{len}");
            }
        }
    }

    /// `group_max` and `group_sum` against the plain definitions, for the
    /// group size the chain uses, two other powers of two, and lengths that
    /// end mid-group and mid-span. Maxima are exact; sums within the
    /// rounding of a `G`-term `f32` sum of an `f64` running sum, and a short
    /// last group is the `f32` running sum exactly.
    #[test]
    fn group_folds_match_the_definition() {
        let x: [f32; 300] = core::array::from_fn(|i| libm::sinf(i as f32 * 2.3) * (i % 7) as f32);
        for len in [0usize, 1, 7, 8, 9, 63, 64, 65, 128, 200, 256, 257, 300] {
            let x = &x[..len];
            fn check<const G: usize>(x: &[f32]) {
                let (mut max, mut sum) = ([-1.0f32; 80], [-1.0f32; 80]);
                group_max::<G>(x, &mut max);
                group_sum::<G>(x, &mut sum);
                let groups = x.len().div_ceil(G);
                for (j, g) in x.chunks(G).enumerate() {
                    let want = g.iter().fold(f32::MIN, |m, &v| m.max(v));
                    assert_eq!(max[j], want, "G {G}, {} frames, group {j}", x.len());
                    let want: f64 = g.iter().map(|&v| v as f64).sum();
                    let scale: f64 = g.iter().map(|&v| v.abs() as f64).sum();
                    assert!(
                        (sum[j] as f64 - want).abs() <= scale * G as f64 * f32::EPSILON as f64,
                        "G {G}, {} frames, group {j}: sum {} vs {want}",
                        x.len(),
                        sum[j]
                    );
                    if g.len() < G {
                        let running = g.iter().fold(0.0f32, |a, &v| a + v);
                        assert_eq!(sum[j], running, "G {G}: short group {j}");
                    }
                }
                for out in [&max, &sum] {
                    assert!(
                        out[groups..].iter().all(|&v| v == -1.0),
                        "G {G}: wrote past"
                    );
                }
            }
            check::<8>(x);
            check::<16>(x);
            check::<4>(x);
        }
    }

    #[test]
    fn exact_round_trips() {
        for db in [-60.0f32, -6.0, 0.0, 3.0, 12.0] {
            assert!((amp_to_db(db_to_amp(db)) - db).abs() < 1e-4);
        }
        assert!((power_to_db(db_to_power(-23.0)) + 23.0).abs() < 1e-12);
    }

    /// The rounding trick in `fast_exp2` is an exact floor: the result
    /// equals the same polynomial split at `libm::floorf`, bit for bit, at
    /// every integer, one ulp either side of it, across the range and at
    /// the clamps; NaN stays NaN.
    #[test]
    fn fast_exp2_splits_at_the_exact_floor() {
        let reference = |x: f32| {
            let x = x.clamp(-126.0, 126.0);
            let xi = libm::floorf(x);
            let f = x - xi;
            let p = 1.000_007_3
                + f * (0.692_931_3 + f * (0.241_710_26 + f * (0.051_666_88 + f * 0.013_676_531)));
            f32::from_bits(((xi as i32 + 127) as u32) << 23) * p
        };
        let check = |x: f32| {
            assert_eq!(fast_exp2(x).to_bits(), reference(x).to_bits(), "exp2({x})");
        };
        for k in -130..=130 {
            let k = k as f32;
            // One ulp above and below (toward and away from zero alike).
            let (up, down) = (
                f32::from_bits(k.to_bits() + 1),
                f32::from_bits(k.to_bits().saturating_sub(1)),
            );
            for x in [k, up, down, k + 0.5, k - 0.5, k + 0.999_99, k - 1e-6] {
                check(x);
            }
        }
        let mut x = -140.0f32;
        while x < 140.0 {
            check(x);
            x += 0.003_7;
        }
        for x in [
            -0.0,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1e-30,
            -1e-30,
            1e30,
            -1e30,
        ] {
            check(x);
        }
        assert!(fast_exp2(f32::NAN).is_nan());
    }

    #[test]
    fn fast_math_is_within_stated_error() {
        let mut x = 1e-6f32;
        while x < 1e6 {
            let exact = libm::log2f(x);
            assert!((fast_log2(x) - exact).abs() < 2e-4, "log2({x})");
            x *= 1.013;
        }
        let mut e = -100.0f32;
        while e < 100.0 {
            let exact = libm::exp2f(e);
            assert!(((fast_exp2(e) - exact) / exact).abs() < 2e-4, "exp2({e})");
            e += 0.0173;
        }
    }
}
