//! Helpers shared by the host tests: where the built plugin is, and the
//! ceiling check every host's output gets.
#![allow(dead_code)]

use std::path::PathBuf;

#[path = "../../../dsp-core/tests/common/mod.rs"]
pub mod common;

/// The cdylib cargo built next to this test binary.
pub fn plugin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let so = exe.parent().unwrap().join("libheadroom_ladspa.so");
    assert!(so.exists(), "{} not built", so.display());
    so
}

/// Asserts that interleaved stereo `out` stays under `ceiling_dbtp` by the
/// independent 16× reference (the tolerance dsp-core's own limiter tests
/// use), and came within 0.5 dB of it (the limiter was reached); returns
/// the true peak.
pub fn assert_held(out: &[f32], ceiling_dbtp: f64) -> f64 {
    let tp = common::db(common::reference_true_peak(out, 2));
    assert!(
        tp <= ceiling_dbtp + 0.005,
        "true peak {tp:.3} dBTP over the {ceiling_dbtp} dBTP ceiling"
    );
    assert!(
        tp > ceiling_dbtp - 0.5,
        "true peak {tp:.3} dBTP: the limiter was not reached"
    );
    tp
}
