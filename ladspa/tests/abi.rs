//! The plugin driven through its C entry points, as a host would: the
//! descriptor, in-place buffers, odd block lengths, bad control values.

use dsp_core::dsp::chain::{Chain, ChainConfig};
use dsp_core::params::{self, Params, Value, SETTINGS};
use headroom_ladspa::abi::Descriptor;
use headroom_ladspa::ladspa_descriptor;
use headroom_ladspa::ports::METERS;

/// Noise with loud bursts: the AGC, the compressor and the limiter all act.
fn programme(frames: usize, channels: usize) -> Vec<Vec<f32>> {
    let mut state = 0x2545_f491_u32;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as f32 / u32::MAX as f32 * 2.0 - 1.0
    };
    (0..channels)
        .map(|_| {
            (0..frames)
                .map(|i| {
                    let loud = (i / 24_000) % 3 == 1;
                    noise() * if loud { 1.5 } else { 0.05 }
                })
                .collect()
        })
        .collect()
}

/// A host: one instance, every port connected, control values settable.
struct Host {
    d: &'static Descriptor,
    handle: *mut core::ffi::c_void,
    controls: Box<[f32; 64]>,
}

impl Host {
    fn new(index: u64, rate: u64) -> Option<Self> {
        // SAFETY: the descriptor lives for the program; the entry points
        // are called as LADSPA prescribes.
        let d = unsafe { &*ladspa_descriptor(index as _) };
        let handle = unsafe { (d.instantiate.unwrap())(d, rate as _) };
        if handle.is_null() {
            return None;
        }
        let mut h = Host {
            d,
            handle,
            controls: Box::new([0.0; 64]),
        };
        let channels = index as usize + 1;
        for (i, s) in SETTINGS.iter().enumerate() {
            h.controls[2 * channels + i] = headroom_ladspa::ports::to_port(s, s.default);
        }
        for p in 2 * channels..h.d.port_count as usize {
            let ptr: *mut f32 = &mut h.controls[p];
            unsafe { (d.connect_port.unwrap())(handle, p as _, ptr) };
        }
        unsafe { (d.activate.unwrap())(handle) };
        Some(h)
    }

    fn set(&mut self, channels: usize, key: &str, x: f32) {
        let i = SETTINGS.iter().position(|s| s.key == key).unwrap();
        self.controls[2 * channels + i] = x;
    }

    fn meter(&self, channels: usize, i: usize) -> f32 {
        self.controls[2 * channels + SETTINGS.len() + i]
    }

    /// Runs in place over planar `audio` in calls of `block` frames.
    fn run_in_place(&mut self, audio: &mut [Vec<f32>], block: usize) {
        let c = audio.len();
        let frames = audio[0].len();
        let mut done = 0;
        while done < frames {
            let n = block.min(frames - done);
            for (ch, a) in audio.iter_mut().enumerate() {
                let p = a[done..].as_mut_ptr();
                unsafe {
                    (self.d.connect_port.unwrap())(self.handle, ch as _, p);
                    (self.d.connect_port.unwrap())(self.handle, (c + ch) as _, p);
                }
            }
            unsafe { (self.d.run.unwrap())(self.handle, n as _) };
            done += n;
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        unsafe { (self.d.cleanup.unwrap())(self.handle) };
    }
}

fn chain_reference(input: &[Vec<f32>], params: &Params, block: usize) -> Vec<Vec<f32>> {
    let mut chain = Chain::<2>::with_params(
        ChainConfig {
            sample_rate_hz: 48_000,
            channels: input.len(),
        },
        params,
    )
    .unwrap();
    let mut out = input.to_vec();
    let frames = out[0].len();
    let mut done = 0;
    while done < frames {
        let n = block.min(frames - done);
        let mut planar: Vec<&mut [f32]> = out.iter_mut().map(|c| &mut c[done..done + n]).collect();
        chain.process_planar(&mut planar);
        done += n;
    }
    out
}

fn max_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn in_place_any_block_length_matches_the_core_chain() {
    // Internal blocks follow the call length (controls step once per
    // block), so the reference runs with the same calls.
    let input = programme(48_000 * 6, 2);
    for block in [1024, 4096, 100, 1, 333] {
        let want = chain_reference(&input, &Params::default(), block);
        let mut host = Host::new(1, 48_000).unwrap();
        let mut got = input.clone();
        host.run_in_place(&mut got, block);
        let d = max_diff(&got, &want);
        eprintln!("block {block}: max difference {d:e}");
        assert_eq!(d, 0.0, "block {block}: differs from the core chain by {d}");
    }
}

#[test]
fn controls_take_effect_and_bad_values_are_clamped_or_ignored() {
    let input = programme(48_000 * 4, 2);
    let mut want_params = Params::default();
    params::set(
        &mut want_params,
        "limiter.ceiling_dbtp",
        Value::Number(-6.0),
    )
    .unwrap();
    params::set(&mut want_params, "agc.target_lufs", Value::Number(-40.0)).unwrap();
    params::set(
        &mut want_params,
        "compressor.detector",
        Value::Choice("peak"),
    )
    .unwrap();
    let want = chain_reference(&input, &want_params, 512);

    let mut host = Host::new(1, 48_000).unwrap();
    host.set(2, "limiter.ceiling_dbtp", -6.0);
    host.set(2, "agc.target_lufs", -99.0); // clamped to the core's −40
    host.set(2, "compressor.detector", 0.2); // rounds to 0: peak
    host.set(2, "compressor.ratio", f32::NAN); // ignored: stays 2.5
    host.set(2, "agc.max_boost_db", f32::INFINITY); // ignored
    unsafe { (host.d.activate.unwrap())(host.handle) };
    let mut got = input.clone();
    host.run_in_place(&mut got, 512);
    assert_eq!(max_diff(&got, &want), 0.0);

    let chain = Chain::<2>::new(ChainConfig {
        sample_rate_hz: 48_000,
        channels: 2,
    })
    .unwrap();
    assert_eq!(
        host.meter(2, 0),
        chain.latency_frames() as f32,
        "latency port"
    );
    // The AGC heads for −40 LUFS at its 3 dB/s: well down after 4 s.
    let agc_db = host.meter(2, 1);
    assert!((-14.0..-6.0).contains(&agc_db), "AGC gain {agc_db} dB");
    let reduction = host.meter(2, 3);
    assert!(
        (-60.0..=0.0).contains(&reduction),
        "limiter reduction {reduction}"
    );
    let momentary = host.meter(2, 4);
    assert!(
        momentary > -30.0 && momentary < 10.0,
        "input momentary {momentary}"
    );
    assert_eq!(METERS.len(), 5);
}

#[test]
fn a_live_control_change_glides_without_a_click() {
    // A steady sine; the ceiling drops 6 dB between two runs. A click is a
    // spike in the second difference; the sine's own is A·ω².
    let frames = 48_000 * 2;
    // Faded in over 10 ms: a sine starting at full level has a corner of
    // its own.
    let tone: Vec<f32> = (0..frames)
        .map(|i| {
            let fade = (i as f32 / 480.0).min(1.0);
            fade * 0.9 * (2.0 * core::f32::consts::PI * 997.0 * i as f32 / 48_000.0).sin()
        })
        .collect();
    let mut host = Host::new(1, 48_000).unwrap();
    for key in ["agc.enabled", "compressor.enabled"] {
        host.set(2, key, 0.0);
    }
    unsafe { (host.d.activate.unwrap())(host.handle) };
    let (first, second) = tone.split_at(frames / 2);
    let mut a = vec![first.to_vec(), first.to_vec()];
    host.run_in_place(&mut a, 480);
    host.set(2, "limiter.ceiling_dbtp", -7.0);
    let mut b = vec![second.to_vec(), second.to_vec()];
    host.run_in_place(&mut b, 480);
    let out: Vec<f32> = a[0].iter().chain(&b[0]).copied().collect();
    let w = 2.0 * core::f32::consts::PI * 997.0 / 48_000.0;
    let sine_curve = 0.9 * w * w;
    let (at, worst) = out
        .windows(3)
        .map(|x| (x[2] - 2.0 * x[1] + x[0]).abs())
        .enumerate()
        .fold((0, 0.0), |m, (i, d)| if d > m.1 { (i, d) } else { m });
    eprintln!("largest second difference {worst} at frame {at}");
    assert!(
        worst <= sine_curve * 1.5,
        "largest second difference {worst}, the sine's own {sine_curve}"
    );
    // And the new ceiling is in force by the end (true peak within 0.1 dB
    // of a sample peak for a 997 Hz tone).
    let tail = out[out.len() - 4_800..]
        .iter()
        .fold(0.0f32, |m, x| m.max(x.abs()));
    let tail_db = 20.0 * tail.log10();
    assert!(
        tail_db <= -7.0 + 0.05 && tail_db > -7.5,
        "tail peak {tail_db} dBFS"
    );
}

#[test]
fn unsupported_rates_and_indexes_give_null() {
    assert!(Host::new(1, 22_050).is_none());
    assert!(Host::new(0, 0).is_none());
    assert!(Host::new(0, 44_100).is_some());
    assert!(ladspa_descriptor(2).is_null());
}
