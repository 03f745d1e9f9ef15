//! (c) The DSP chain with arbitrary parameters and samples: any rate and
//! channel count, any values for every setting (invalid ones must be
//! rejected without changing anything), parameter changes mid-stream, any
//! block sizes, and samples including NaN, infinities, denormals and huge
//! values. Properties: no panic; every output sample finite; no output
//! sample above the (current) ceiling once the limiter is on.
#![no_main]

use dsp_core::dsp::chain::{Chain, ChainConfig};
use dsp_core::params::{self, Kind, Params, Value};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

fn arbitrary_params(u: &mut Unstructured<'_>, p: &mut Params) -> Result<()> {
    for s in params::SETTINGS {
        if !u.arbitrary::<bool>()? {
            continue;
        }
        let value = match s.kind {
            Kind::Bool => Value::Bool(u.arbitrary()?),
            Kind::Number { min, max } => {
                if u.ratio(1, 8)? {
                    // Anything at all, NaN and infinities included.
                    Value::Number(f64::from_bits(u.arbitrary()?))
                } else {
                    let t: f64 = u.int_in_range(0..=1000u32)? as f64 / 1000.0;
                    Value::Number(min + (max - min) * t)
                }
            }
            Kind::Choice(names) => Value::Choice(u.choose(names)?),
        };
        let before = *p;
        if s.apply(p, value).is_err() {
            assert_eq!(*p, before, "a rejected value changed the parameters");
        }
    }
    Ok(())
}

fn sample(u: &mut Unstructured<'_>) -> Result<f32> {
    Ok(match u.int_in_range(0..=9u8)? {
        0 => f32::from_bits(u.arbitrary()?),
        1 => f32::NAN,
        2 => f32::INFINITY,
        3 => f32::NEG_INFINITY,
        4 => 1e-40,
        _ => (u.int_in_range(-40000..=40000i32)? as f32) / 10000.0,
    })
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let rate = *u.choose(&dsp_core::SUPPORTED_RATES_HZ)?;
    let channels = u.int_in_range(1..=8usize)?;
    let mut p = Params::default();
    arbitrary_params(u, &mut p)?;
    let mut chain = Chain::<8>::with_params(
        ChainConfig {
            sample_rate_hz: rate,
            channels,
        },
        &p,
    )
    .expect("validated parameters and supported rates build");
    let mut buf = [0.0f32; 8 * 600];
    // The full-scale bound holds while the limiter has been on (and bypass
    // off) throughout: switching either crossfades from unlimited audio.
    let mut always_limited = p.limiter.enabled && !p.bypass;
    for _ in 0..u.int_in_range(1..=12u8)? {
        if u.ratio(1, 4)? {
            arbitrary_params(u, &mut p)?;
            chain
                .set_params(&p)
                .expect("parameters were validated one by one");
            always_limited &= p.limiter.enabled && !p.bypass;
        }
        let frames = u.int_in_range(0..=600usize)?;
        let block = &mut buf[..frames * channels];
        for s in block.iter_mut() {
            *s = sample(u)?;
        }
        chain.process_interleaved(block);
        let ceiling = dsp_core::units::db_to_amp(p.limiter.ceiling_dbtp);
        for &y in block.iter() {
            assert!(y.is_finite(), "non-finite output");
            if always_limited {
                // The ceiling glides after a change; the old one bounds too.
                assert!(
                    y.abs() <= 1.0001,
                    "output {y} above full scale with the limiter on (ceiling {ceiling})"
                );
            }
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = run(&mut u);
});
