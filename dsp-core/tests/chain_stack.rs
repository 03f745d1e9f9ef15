//! The chain's stack use stays within what the README promises: its block
//! buffers live on the stack (nothing allocates), so a host must give the
//! thread that calls `process_*` enough. Each case runs on a thread with
//! exactly the promised stack; using more overflows it, which aborts this
//! test binary (a failure, not a hang).
//!
//! Measured when written (x86-64, 256-frame blocks; the thread's own
//! overhead included): the stereo chain needs 48–56 KiB, the 8-channel one
//! 72–80 KiB. The promises leave room for other compilers and targets.

mod common;

use common::Noise;
use dsp_core::dsp::chain::{Chain, ChainConfig};
use dsp_core::dsp::isa::Isa;

/// What the README promises, per chain capacity.
const STEREO_STACK_KIB: usize = 96;
const EIGHT_CHANNEL_STACK_KIB: usize = 128;

fn exercise<const C: usize>(channels: usize, stack_kib: usize) {
    for isa in [Isa::Portable, Isa::detect()] {
        // Built here (the chain itself is ~31 KiB per two channels of
        // state) and moved to the measured thread in a box.
        let mut chain = Box::new(
            Chain::<C>::new(ChainConfig {
                sample_rate_hz: 48_000,
                channels,
            })
            .unwrap(),
        );
        chain.set_isa(isa);
        let mut noise = Noise::new(3);
        let mut interleaved: Vec<f32> = (0..channels * 4096).map(|_| noise.next() * 2.0).collect();
        let mut planes: Vec<Vec<f32>> = (0..channels)
            .map(|_| (0..2048).map(|_| noise.next()).collect())
            .collect();
        let worker = std::thread::Builder::new()
            .stack_size(stack_kib * 1024)
            .spawn(move || {
                // Whole blocks, a partial one, and the planar path.
                chain.process_interleaved(&mut interleaved);
                chain.process_interleaved(&mut interleaved[..channels * 100]);
                let mut refs: Vec<&mut [f32]> =
                    planes.iter_mut().map(|p| p.as_mut_slice()).collect();
                chain.process_planar(&mut refs);
                interleaved.iter().all(|s| s.is_finite())
            })
            .unwrap();
        assert!(worker.join().unwrap(), "{isa:?}: non-finite output");
    }
}

#[test]
fn stereo_chain_runs_on_the_promised_stack() {
    exercise::<2>(2, STEREO_STACK_KIB);
}

#[test]
fn eight_channel_chain_runs_on_the_promised_stack() {
    exercise::<8>(8, EIGHT_CHANNEL_STACK_KIB);
}
