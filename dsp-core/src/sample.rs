//! Sample format conversions between integer PCM and the chain's `f32`.
//!
//! Contract: integer → float is exact scaling by 2^-(bits-1) (so full scale
//! negative maps to -1.0); float → integer rounds to nearest and saturates,
//! and maps NaN to 0, so any float input gives a valid sample. The Q15/Q31
//! views use the `fixed` crate's `I1F15`/`I1F31`, the formats a future
//! FPU-less path will process natively.

use fixed::types::{I1F15, I1F31};

/// 16-bit PCM → float in [-1, 1).
pub fn i16_to_f32(input: &[i16], output: &mut [f32]) {
    for (o, &i) in output.iter_mut().zip(input) {
        *o = I1F15::from_bits(i).to_num::<f32>();
    }
}

/// Float → 16-bit PCM, rounded to nearest, saturating; NaN → 0.
pub fn f32_to_i16(input: &[f32], output: &mut [i16]) {
    for (o, &f) in output.iter_mut().zip(input) {
        let f = if f.is_nan() { 0.0 } else { f };
        *o = I1F15::saturating_from_num(f).to_bits();
    }
}

/// 32-bit PCM → float in [-1, 1).
pub fn i32_to_f32(input: &[i32], output: &mut [f32]) {
    for (o, &i) in output.iter_mut().zip(input) {
        *o = I1F31::from_bits(i).to_num::<f32>();
    }
}

/// Float → 32-bit PCM, rounded to nearest, saturating; NaN → 0.
pub fn f32_to_i32(input: &[f32], output: &mut [i32]) {
    for (o, &f) in output.iter_mut().zip(input) {
        let f = if f.is_nan() { 0.0 } else { f };
        *o = I1F31::saturating_from_num(f).to_bits();
    }
}

/// `bits`-bit PCM held in the low bits of an `i32` (e.g. 24-bit WAV) → float.
/// `bits` is clamped to 1..=32.
pub fn int_to_f32(input: &[i32], bits: u32, output: &mut [f32]) {
    let scale = 1.0 / (1u64 << (bits.clamp(1, 32) - 1)) as f64;
    for (o, &i) in output.iter_mut().zip(input) {
        *o = (i as f64 * scale) as f32;
    }
}

/// Float → `bits`-bit PCM in an `i32`, rounded to nearest, saturating;
/// NaN → 0. `bits` is clamped to 1..=32.
pub fn f32_to_int(input: &[f32], bits: u32, output: &mut [i32]) {
    let full = (1u64 << (bits.clamp(1, 32) - 1)) as f64;
    let (lo, hi) = (-full, full - 1.0);
    for (o, &f) in output.iter_mut().zip(input) {
        let v = if f.is_nan() {
            0.0
        } else {
            libm::round(f as f64 * full)
        };
        *o = v.clamp(lo, hi) as i32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i16_round_trip_is_exact() {
        let input = [i16::MIN, -1, 0, 1, 12345, i16::MAX];
        let mut f = [0.0f32; 6];
        let mut back = [0i16; 6];
        i16_to_f32(&input, &mut f);
        assert_eq!(f[0], -1.0);
        f32_to_i16(&f, &mut back);
        assert_eq!(back, input);
    }

    #[test]
    fn float_to_int_saturates_and_maps_nan() {
        let mut out = [0i16; 4];
        f32_to_i16(&[2.0, -2.0, f32::NAN, 0.5], &mut out);
        assert_eq!(out, [i16::MAX, i16::MIN, 0, 16384]);
        let mut out = [0i32; 3];
        f32_to_int(&[1.0, -1.0, f32::INFINITY], 24, &mut out);
        assert_eq!(out, [(1 << 23) - 1, -(1 << 23), (1 << 23) - 1]);
    }

    #[test]
    fn i24_round_trip_is_exact() {
        let input = [-(1 << 23), -1, 0, 1, (1 << 23) - 1];
        let mut f = [0.0f32; 5];
        let mut back = [0i32; 5];
        int_to_f32(&input, 24, &mut f);
        f32_to_int(&f, 24, &mut back);
        assert_eq!(back, input);
    }

    #[test]
    fn i32_round_trip_within_float_precision() {
        let input = [i32::MIN, 0, 1 << 20, i32::MAX];
        let mut f = [0.0f32; 4];
        let mut back = [0i32; 4];
        i32_to_f32(&input, &mut f);
        f32_to_i32(&f, &mut back);
        assert_eq!(back[0], i32::MIN);
        assert_eq!(back[2], 1 << 20);
        assert_eq!(back[3], i32::MAX);
    }
}
