//! Proves the private-PipeWire test harness (`support/pw.rs`) works:
//! audio played to `speakers` is recorded from its monitor, at the right
//! level and bit-exact (float32 end to end), and the session can lose and
//! regain its sink and its PipeWire.
//!
//! Needs `pipewire pipewire-bin wireplumber dbus` installed; fails (does not
//! skip) without them.

#[path = "support/pw.rs"]
mod pw;

use std::time::Duration;

use pw::wav::{self, Wav};
use pw::{PwSession, SPEAKERS};

const RATE: u32 = 48_000;

/// `secs` of a `freq` Hz sine at `amp` on both channels, then `pad` seconds
/// of silence (pw-play 0.3.x drops the last ~2 quanta of a file, so the
/// interesting part must not be at the very end).
fn tone(freq: f64, amp: f32, secs: f64, pad: f64) -> Wav {
    let n = (secs * RATE as f64) as usize;
    let total = n + (pad * RATE as f64) as usize;
    let mut samples = Vec::with_capacity(total * 2);
    for i in 0..total {
        let s = if i < n {
            amp * (2.0 * std::f64::consts::PI * freq * i as f64 / RATE as f64).sin() as f32
        } else {
            0.0
        };
        samples.extend([s, s]);
    }
    Wav {
        rate: RATE,
        channels: 2,
        samples,
    }
}

fn rms_db(x: &[f32]) -> f64 {
    let ms = x.iter().map(|s| (*s as f64).powi(2)).sum::<f64>() / x.len() as f64;
    10.0 * ms.log10()
}

/// Positive-going zero crossings per second of one channel.
fn crossings_per_s(x: &[f32]) -> f64 {
    let n = x.windows(2).filter(|w| w[0] <= 0.0 && w[1] > 0.0).count();
    n as f64 * RATE as f64 / x.len() as f64
}

#[test]
fn plays_and_records_speakers_bit_exact() {
    let s = PwSession::start().unwrap_or_else(|e| panic!("harness start: {e}"));
    let src = s.dir().join("tone.wav");
    let reference = tone(1000.0, 0.5, 1.0, 0.5);
    wav::write(&src, &reference).unwrap();
    let out = s.dir().join("rec.wav");

    let rec = s.record(SPEAKERS, 10.0, &out).unwrap();
    let play = s
        .play(
            &src,
            Some(SPEAKERS),
            &[("application.name", "harness test")],
        )
        .unwrap();
    play.wait(Duration::from_secs(15)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let path = rec.stop().unwrap();

    let got = wav::read(&path).unwrap();
    assert_eq!((got.rate, got.channels), (RATE, 2), "recording format");
    let first_ref = reference.first_nonzero_frame().unwrap();
    let first = got
        .first_nonzero_frame()
        .expect("the recording is silent: nothing reached the speakers");
    assert!(first >= first_ref, "signal before the reference starts?");
    let offset = first - first_ref;
    let tone_frames = RATE as usize; // the 1 s sine; the rest of `reference` is silence
    assert!(
        got.frames() >= offset + reference.frames(),
        "recording too short: {} frames, need {}",
        got.frames(),
        offset + reference.frames()
    );

    let seg = &got.samples[offset * 2..(offset + tone_frames) * 2];
    // Level: a 0.5-amplitude sine is -9.03 dBFS RMS.
    let expect_db = 20.0 * (0.5f64 / 2f64.sqrt()).log10();
    let l = got.channel(0)[offset..offset + tone_frames].to_vec();
    let r = got.channel(1)[offset..offset + tone_frames].to_vec();
    for (name, ch) in [("left", &l), ("right", &r)] {
        let db = rms_db(ch);
        assert!(
            (db - expect_db).abs() <= 0.5,
            "{name} level {db:.2} dBFS, expected {expect_db:.2} ±0.5"
        );
        let f = crossings_per_s(ch);
        assert!(
            (f - 1000.0).abs() <= 2.0,
            "{name} frequency ≈{f:.1} Hz, expected 1000"
        );
    }
    // Bit-exact: float32 file -> pw-play -> null sink -> monitor -> pw-record.
    let want = &reference.samples[..tone_frames * 2];
    let bad: Vec<usize> = seg
        .iter()
        .zip(want)
        .enumerate()
        .filter(|(_, (a, b))| a.to_bits() != b.to_bits())
        .map(|(i, _)| i / 2)
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {tone_frames} frames differ from what was played (first at frame {:?})",
        bad.len(),
        bad.first()
    );
    // And nothing else was played: silence before and after the tone.
    assert_eq!(
        got.end_nonzero_frame().unwrap(),
        offset + tone_frames,
        "non-silence after the tone"
    );
}

#[test]
fn survives_sink_and_pipewire_restarts() {
    let mut s = PwSession::start().unwrap_or_else(|e| panic!("harness start: {e}"));
    assert_eq!(s.default_sink().unwrap().as_deref(), Some(SPEAKERS));
    assert!(s.dump().unwrap().contains("\"speakers\""));
    // The session is private.
    let env = s.env();
    let xdg = env.iter().find(|(k, _)| *k == "XDG_RUNTIME_DIR").unwrap();
    assert!(std::path::Path::new(&xdg.1).starts_with(s.dir()));

    s.remove_speakers().unwrap();
    assert!(s.node(SPEAKERS).unwrap().is_none());
    s.add_speakers().unwrap();
    let sp = s.node(SPEAKERS).unwrap().expect("speakers back");
    assert_eq!(sp.prop("media.class"), Some("Audio/Sink"));

    s.kill_pipewire();
    assert!(!s.pipewire_running());
    assert!(
        s.objects("Node").is_err(),
        "pw-cli still reaches a PipeWire after kill_pipewire"
    );
    s.restart_pipewire().unwrap();
    assert_eq!(s.default_sink().unwrap().as_deref(), Some(SPEAKERS));
}

/// The session runs the PipeWire it was asked for: the build in
/// `HEADROOM_PW_PREFIX` when set (scripts/pw1x.sh), else the system's. A
/// harness that silently fell back to the system's would make a PipeWire 1.x
/// run test 0.3 again.
#[test]
fn runs_the_requested_pipewire() {
    let s = PwSession::start().unwrap_or_else(|e| panic!("harness start: {e}"));
    let server = s.server_version().unwrap();
    let program = s
        .prefix()
        .map(|p| p.bin_dir().join("pipewire"))
        .unwrap_or_else(|| "pipewire".into());
    let out = s.command(&program).arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let linked = text
        .lines()
        .find_map(|l| l.strip_prefix("Linked with libpipewire "))
        .unwrap_or_else(|| panic!("unexpected `pipewire --version`: {text}"))
        .trim();
    eprintln!(
        "PipeWire server {server}, {} build",
        if s.prefix().is_some() {
            "prefix"
        } else {
            "system"
        }
    );
    assert_eq!(server, linked, "the server is not the requested build");
    if s.prefix().is_some() {
        assert!(
            !server.starts_with("0.3."),
            "prefix run on PipeWire {server}"
        );
    }
}
