//! `include/headroom.h` in a real C host: `tests/c/host.c`, compiled by the
//! system's C compiler against the header (C99, all warnings as errors)
//! and linked with the `libheadroom.so` cargo built, checks every refusal
//! status and levels a torture signal. Its output must be bit-identical to
//! dsp-core run in-process with the same settings and calls, and stay under
//! the ceiling by the independent 16× reference.

#[path = "../../dsp-core/tests/common/mod.rs"]
mod common;

use common::{db, reference_true_peak, torture_stereo};
use dsp_core::dsp::chain::{Chain, ChainConfig};
use dsp_core::params::{self, Params, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const RATE: u32 = 48_000;

fn deps_dir() -> PathBuf {
    std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned()
}

/// host.c built against the header, linked with `libheadroom.so`
/// (`shared`) or `libheadroom.a`.
fn build_host(dir: &Path, shared: bool) -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let deps = deps_dir();
    let lib = deps.join(if shared {
        "libheadroom.so"
    } else {
        "libheadroom.a"
    });
    assert!(lib.exists(), "{} not built", lib.display());
    let exe = dir.join(if shared { "host" } else { "host-static" });
    let mut cc = Command::new("cc");
    cc.args([
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pedantic",
        "-O2",
    ])
    .arg("-I")
    .arg(crate_dir.join("include"))
    .arg(crate_dir.join("tests/c/host.c"));
    if shared {
        cc.arg("-L")
            .arg(&deps)
            .arg(format!("-Wl,-rpath,{}", deps.display()))
            .arg("-lheadroom");
    } else {
        cc.arg(&lib);
    }
    let out = cc
        .args(["-lm", "-o"])
        .arg(&exe)
        .output()
        .expect("running cc (Debian: build-essential)");
    assert!(
        out.status.success(),
        "cc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// What host.c does, in-process.
fn reference(x: &[f32]) -> (Vec<f32>, usize) {
    let mut p = Params::default();
    for (key, v) in [
        ("agc.enabled", Value::Bool(false)),
        ("compressor.detector", Value::Choice("peak")),
        ("compressor.makeup_db", Value::Number(12.0)),
        ("limiter.ceiling_dbtp", Value::Number(-3.0)),
    ] {
        params::set(&mut p, key, v).unwrap();
    }
    let config = ChainConfig {
        sample_rate_hz: RATE,
        channels: 2,
    };
    // Set before the first call, host.c's values apply from the first
    // sample, as if built with them.
    let mut chain = Chain::<2>::with_params(config, &p).unwrap();
    let mut out = x.to_vec();
    let frames = out.len() / 2;
    let half = frames / 2;
    let sizes = [1usize, 7, 64, 480, 33, 1024];
    let (mut done, mut k) = (0, 0);
    while done < half {
        let n = sizes[k % 6].min(half - done);
        k += 1;
        chain.process_interleaved(&mut out[2 * done..2 * (done + n)]);
        done += n;
    }
    let mut planes: Vec<Vec<f32>> = (0..2)
        .map(|c| out[2 * half..].iter().skip(c).step_by(2).copied().collect())
        .collect();
    let rest = frames - half;
    for at in (0..rest).step_by(1000) {
        let n = (rest - at).min(1000);
        let (l, r) = planes.split_at_mut(1);
        chain.process_planar(&mut [&mut l[0][at..at + n], &mut r[0][at..at + n]]);
    }
    for i in 0..rest {
        out[2 * (half + i)] = planes[0][i];
        out[2 * (half + i) + 1] = planes[1][i];
    }
    (out, chain.latency_frames())
}

#[test]
fn a_c_program_levels_through_the_shared_library() {
    c_program_levels_and_gets_every_refusal_right(true);
}

#[test]
fn a_c_program_levels_through_the_static_library() {
    c_program_levels_and_gets_every_refusal_right(false);
}

fn c_program_levels_and_gets_every_refusal_right(shared: bool) {
    let dir = std::env::temp_dir().join(format!(
        "headroom-capi-{}-{}",
        std::process::id(),
        if shared { "so" } else { "a" }
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let host = build_host(&dir, shared);
    let x = torture_stereo(RATE, 5);
    let (input, output) = (dir.join("in.f32"), dir.join("out.f32"));
    let bytes: Vec<u8> = x.iter().flat_map(|s| s.to_le_bytes()).collect();
    std::fs::write(&input, bytes).unwrap();

    let run = Command::new(&host)
        .arg(&input)
        .arg(&output)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "host.c failed:\n{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let field = |name: &str| -> String {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("host.c printed no {name}:\n{stdout}"))
            .to_owned()
    };
    assert_eq!(field("failures"), "0");
    assert_eq!(field("version"), env!("CARGO_PKG_VERSION"));

    let got: Vec<f32> = std::fs::read(&output)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let (want, latency) = reference(&x);
    assert_eq!(field("latency"), latency.to_string());
    let wide = Chain::<8>::new(ChainConfig {
        sample_rate_hz: 96_000,
        channels: 6,
    })
    .unwrap();
    assert_eq!(field("latency_wide"), wide.latency_frames().to_string());
    let reduction: f32 = field("limiter_reduction_db").parse().unwrap();
    assert!(reduction < -1.0, "limiter reduction {reduction} dB");

    assert_eq!(got.len(), want.len());
    let d = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert_eq!(d, 0.0, "host.c's output differs from dsp-core's by {d}");
    let tp = db(reference_true_peak(&got, 2));
    assert!(
        tp <= -3.0 + 0.005,
        "true peak {tp:.3} dBTP over the −3 dBTP ceiling"
    );
    assert!(
        tp > -3.5,
        "true peak {tp:.3} dBTP: the limiter was not reached"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
