//! A fixed amount of work for instruction counting: wall-clock benchmarks
//! are noisy on shared machines, instruction counts are not.
//!
//! ```sh
//! cargo build --release -p headroom-benches --example instructions
//! valgrind --tool=callgrind --toggle-collect='*instructions::run*' \
//!     target/release/examples/instructions programme
//! ```
//! and divide the total by the frames printed (programme or hot, 48 kHz
//! stereo in 1024-frame blocks, the same signals as `benches/chain.rs`).

use dsp_core::dsp::chain::{Chain, ChainConfig, ChainScratch};
use headroom_benches::{signal, RATE};

fn main() {
    let which = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "programme".into());
    let input = match which.as_str() {
        "hot" => signal(4.0, 2.0, false),
        _ => signal(4.0, 0.3, true),
    };
    let config = ChainConfig {
        sample_rate_hz: RATE,
        channels: 2,
    };
    let mut chain = Chain::<2>::new(config).expect("48 kHz stereo is supported");
    let mut buf = input.clone();
    // Working memory kept across calls, as `headroomd` keeps it.
    let mut scratch = Box::new(ChainScratch::<2>::new());
    run(&mut chain, &mut scratch, &mut buf);
    let peak = buf.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    println!("{which}: {} frames, output peak {peak}", input.len() / 2);
}

/// The measured part: everything the chain does, nothing else.
#[inline(never)]
fn run(chain: &mut Chain<2>, scratch: &mut ChainScratch<2>, buf: &mut [f32]) {
    for block in buf.chunks_mut(2 * 1024) {
        chain.process_interleaved_in(scratch, block);
    }
}
