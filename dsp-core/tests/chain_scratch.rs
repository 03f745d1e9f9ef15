//! `ChainScratch` is working memory only: a chain fed through the `_in`
//! methods with one scratch kept across calls of changing lengths (so the
//! scratch holds a longer block's values past a shorter block's end) must
//! give exactly what fresh scratch per call gives, interleaved and planar,
//! and one scratch may serve two chains in turn.

mod common;

use common::*;
use dsp_core::dsp::chain::{Chain, ChainConfig, ChainScratch};
use dsp_core::params::Params;

/// Call lengths in frames: whole internal blocks, short and odd ones, and
/// a long one after short ones, so stale values sit past every short end.
const CALLS: [usize; 12] = [1024, 7, 300, 1, 256, 9, 1000, 64, 13, 2048, 3, 500];

/// Noise near the loudness target, alternating 0.2 s loud and soft, with
/// a click every 0.3 s: the AGC settles where its goal (which the energy
/// sums feed) decides each step, the compressor and limiter act, and the
/// bypass crossfade runs part-way (its mix array is used).
fn input(frames: usize) -> Vec<f32> {
    let mut noise = Noise::new(11);
    (0..frames * 2)
        .map(|i| {
            let env = if (i / 19_200) % 2 == 0 { 0.5 } else { 0.15 };
            if i % 28_800 == 0 {
                1.5
            } else {
                noise.next() * env
            }
        })
        .collect()
}

fn chain() -> Chain<2> {
    Chain::<2>::new(ChainConfig {
        sample_rate_hz: 48_000,
        channels: 2,
    })
    .unwrap()
}

/// Runs `input` through a chain in `CALLS`-long pieces, bypassing from the
/// fourth call on and back from the ninth; `process` is the call under test.
fn run(input: &[f32], mut process: impl FnMut(&mut Chain<2>, &mut [f32])) -> Vec<f32> {
    let mut c = chain();
    let mut out = input.to_vec();
    let mut at = 0;
    for (k, &frames) in CALLS.iter().cycle().enumerate() {
        if at >= out.len() {
            break;
        }
        if k == 3 || k == 8 {
            let mut p: Params = *c.params();
            p.bypass = k == 3;
            c.set_params(&p).unwrap();
        }
        let end = (at + 2 * frames).min(out.len());
        process(&mut c, &mut out[at..end]);
        at = end;
    }
    out
}

#[test]
fn kept_scratch_equals_fresh_scratch() {
    let x = input(48_000 * 20);
    let fresh = run(&x, |c, b| c.process_interleaved(b));
    let mut scratch = ChainScratch::<2>::new();
    let kept = run(&x, |c, b| c.process_interleaved_in(&mut scratch, b));
    assert!(fresh.iter().any(|v| *v != 0.0));
    let first_diff = fresh
        .iter()
        .zip(&kept)
        .position(|(a, b)| a.to_bits() != b.to_bits());
    assert_eq!(first_diff, None, "interleaved: kept scratch differs");

    // Planar, with the same scratch as used above.
    let planar = run(&x, |c, b| {
        let (mut l, mut r): (Vec<f32>, Vec<f32>) = b.chunks(2).map(|f| (f[0], f[1])).unzip();
        c.process_planar_in(&mut scratch, &mut [&mut l[..], &mut r[..]]);
        for (f, (a, b)) in b.chunks_mut(2).zip(l.iter().zip(&r)) {
            (f[0], f[1]) = (*a, *b);
        }
    });
    let first_diff = fresh
        .iter()
        .zip(&planar)
        .position(|(a, b)| a.to_bits() != b.to_bits());
    assert_eq!(first_diff, None, "planar: kept scratch differs");
}

/// One scratch alternating between two chains: neither sees the other's
/// block.
#[test]
fn one_scratch_serves_two_chains() {
    let x = input(48_000);
    let y: Vec<f32> = x.iter().map(|v| v * 0.1).collect();
    let mut a_alone = chain();
    let mut b_alone = chain();
    let (mut xa, mut yb) = (x.clone(), y.clone());
    for (bx, by) in xa.chunks_mut(2 * 480).zip(yb.chunks_mut(2 * 480)) {
        a_alone.process_interleaved(bx);
        b_alone.process_interleaved(by);
    }
    let mut scratch = ChainScratch::<2>::new();
    let (mut a, mut b) = (chain(), chain());
    let (mut xs, mut ys) = (x.clone(), y.clone());
    for (bx, by) in xs.chunks_mut(2 * 480).zip(ys.chunks_mut(2 * 480)) {
        a.process_interleaved_in(&mut scratch, bx);
        b.process_interleaved_in(&mut scratch, by);
    }
    assert!(xa.iter().zip(&xs).all(|(p, q)| p.to_bits() == q.to_bits()));
    assert!(yb.iter().zip(&ys).all(|(p, q)| p.to_bits() == q.to_bits()));
}

/// The sizes the README gives a host for its scratch.
#[test]
fn scratch_sizes_are_as_documented() {
    let kib = |b: usize| b as f64 / 1024.0;
    let (two, eight) = (
        core::mem::size_of::<ChainScratch<2>>(),
        core::mem::size_of::<ChainScratch<8>>(),
    );
    eprintln!(
        "ChainScratch<2> {:.1} KiB, <8> {:.1} KiB",
        kib(two),
        kib(eight)
    );
    assert!(kib(two) <= 19.5, "{two}");
    assert!(kib(eight) <= 31.5, "{eight}");
}
