//! Criterion benchmarks live in `benches/`; this library holds the test
//! signals they and the `instructions` example share.

/// The benchmarks' sample rate.
pub const RATE: u32 = 48_000;

/// Interleaved stereo white noise (xorshift, fixed seed) of `seconds` at
/// amplitude `amp`, the right channel 0.8 × the left. With `shaped`, a
/// 4 Hz raised-cosine envelope makes it programme-like (loud and quiet
/// passages, the limiter acting now and then).
pub fn signal(seconds: f64, amp: f32, shaped: bool) -> Vec<f32> {
    let n = (seconds * RATE as f64) as usize;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut out = Vec::with_capacity(2 * n);
    for i in 0..n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let w = ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0;
        let env = if shaped {
            let t = i as f32 / RATE as f32;
            0.5 - 0.5 * (2.0 * std::f32::consts::PI * 4.0 * t).cos()
        } else {
            1.0
        };
        out.push(w * amp * env);
        out.push(w * amp * env * 0.8);
    }
    out
}
