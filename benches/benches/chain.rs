//! Realtime cost of the leveling chain and its dynamics blocks at 48 kHz
//! stereo, per frame, for 128- and 1024-frame host blocks.
//!
//! Signals: `programme` (noise shaped like speech, limiter acting now and
//! then), `hot` (loud noise: the side chain's true-peak work can never be
//! skipped; the AGC brings the level down, so the limiter acts on peaks) and
//! `limiting` (the same noise with the AGC and compressor off: the limiter
//! acts on every block as well — the worst case). The chain runs on the best
//! instruction set this CPU has (see `dsp_core::dsp::isa`); the `portable`
//! groups force the baseline build for comparison.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dsp_core::dsp::agc::Agc;
use dsp_core::dsp::chain::{Chain, ChainConfig, ChainScratch};
use dsp_core::dsp::compressor::Compressor;
use dsp_core::dsp::isa::Isa;
use dsp_core::dsp::limiter::Limiter;
use dsp_core::params::Params;
use std::hint::black_box;

use headroom_benches::{signal, RATE};

fn bench_chain(c: &mut Criterion) {
    for (name, input) in [
        ("programme", signal(1.0, 0.3, true)),
        ("hot", signal(1.0, 2.0, false)),
    ] {
        for block in [128usize, 1024] {
            run_chain::<2>(
                c,
                &format!("chain/{name}"),
                &input,
                block,
                Isa::Avx2,
                &Params::default(),
            );
        }
        run_chain::<2>(
            c,
            &format!("chain/{name}, portable"),
            &input,
            1024,
            Isa::Portable,
            &Params::default(),
        );
    }
    let mut limiting = Params::default();
    limiting.agc.enabled = false;
    limiting.compressor.enabled = false;
    for block in [128usize, 1024] {
        run_chain::<2>(
            c,
            "chain/limiting",
            &signal(1.0, 2.0, false),
            block,
            Isa::Avx2,
            &limiting,
        );
    }
    // What the daemon runs: a chain built for up to 8 channels, used for 2.
    run_chain::<8>(
        c,
        "chain/programme, 8-channel chain",
        &signal(1.0, 0.3, true),
        1024,
        Isa::Avx2,
        &Params::default(),
    );
    println!(
        "size_of::<Chain<2>>() = {} bytes",
        std::mem::size_of::<Chain<2>>()
    );
}

/// The chain for up to `C` channels with `params`, processing stereo
/// `input` in `block`-frame blocks on `isa` (or the best this CPU has below
/// it).
fn run_chain<const C: usize>(
    c: &mut Criterion,
    name: &str,
    input: &[f32],
    block: usize,
    isa: Isa,
    params: &Params,
) {
    let config = ChainConfig {
        sample_rate_hz: RATE,
        channels: 2,
    };
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(block as u64));
    let mut chain = Chain::<C>::with_params(config, params).unwrap();
    let isa = chain.set_isa(isa);
    println!("{name}: running on {isa:?}");
    // Warm the chain up so the AGC and limiter are in steady state.
    let mut warm = input.to_vec();
    chain.process_interleaved(&mut warm);
    let mut buf = vec![0.0f32; 2 * block];
    let mut pos = 0;
    // Working memory kept across calls, as `headroomd` keeps it.
    let mut scratch = Box::new(ChainScratch::<C>::new());
    group.bench_function(format!("{block}-frame blocks"), |b| {
        b.iter(|| {
            if pos + 2 * block > input.len() {
                pos = 0;
            }
            buf.copy_from_slice(&input[pos..pos + 2 * block]);
            pos += 2 * block;
            chain.process_interleaved_in(&mut scratch, black_box(&mut buf));
        })
    });
    group.finish();
}

fn bench_blocks(c: &mut Criterion) {
    let params = Params::default();
    let input = signal(1.0, 1.0, true);
    let left: Vec<f32> = input.iter().step_by(2).copied().collect();
    let right: Vec<f32> = input.iter().skip(1).step_by(2).copied().collect();
    for block in [128usize, 1024] {
        let mut group = c.benchmark_group(format!("blocks/{block}-frame blocks"));
        group.throughput(Throughput::Elements(block as u64));

        let mut comp = Compressor::new(RATE, &params.compressor);
        let mut gain = [0.0f32; 64];
        let mut pos = 0;
        group.bench_function("compressor", |b| {
            b.iter(|| {
                if pos + block > left.len() {
                    pos = 0;
                }
                for start in (pos..pos + block).step_by(64) {
                    comp.process(
                        &[&left[start..start + 64], &right[start..start + 64]],
                        64,
                        &mut gain,
                    );
                }
                pos += block;
                black_box(&gain);
            })
        });

        let mut lim = Limiter::<2>::new(RATE, 2, &params.limiter).unwrap();
        let mut l = vec![0.0f32; block];
        let mut r = vec![0.0f32; block];
        let mut pos = 0;
        group.bench_function("limiter", |b| {
            b.iter(|| {
                if pos + block > left.len() {
                    pos = 0;
                }
                l.copy_from_slice(&left[pos..pos + block]);
                r.copy_from_slice(&right[pos..pos + block]);
                for start in (0..block).step_by(64) {
                    lim.process(
                        &mut [&mut l[start..start + 64], &mut r[start..start + 64]],
                        64,
                        &mut gain,
                    );
                }
                pos += block;
            })
        });

        let mut agc = Agc::new(RATE, &params.agc);
        let mut g = vec![0.0f32; block];
        group.bench_function("agc", |b| {
            b.iter(|| {
                agc.on_step(1e-3, 1.0, 0.9);
                agc.fill_gain(black_box(&mut g));
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench_chain, bench_blocks);
criterion_main!(benches);
