//! `headroom meters` with audio really flowing: a private PipeWire session,
//! the real headroomd, a tone played into the Headroom sink; the command's
//! plain (not a terminal) and `--json` output carry live levels.

use headroom_session::PwSession;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn meters_show_live_levels_while_audio_plays() {
    let session = PwSession::start().expect("private PipeWire session");
    let dir = session.dir().to_path_buf();
    let socket = dir.join("headroom-test.sock");
    let bin = Path::new(env!("CARGO_BIN_EXE_headroom"));
    let daemon_bin = bin.with_file_name("headroomd");
    assert!(
        daemon_bin.exists(),
        "headroomd not built next to headroom (run cargo test --workspace)"
    );
    let mut daemon = session
        .command(&daemon_bin)
        .env("HEADROOM_SOCKET", &socket)
        .env("XDG_CONFIG_HOME", dir.join("cfg"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("headroomd.log")).unwrap())
        .spawn()
        .unwrap();
    let cleanup = scopeguard(&mut daemon);
    if let Err(e) = session.wait_node("headroom") {
        panic!(
            "{e:#}\nheadroomd log:\n{}",
            std::fs::read_to_string(dir.join("headroomd.log")).unwrap_or_default()
        );
    }

    // Eight seconds of a 1 kHz tone at -20 dBFS into the Headroom sink.
    let wav = dir.join("tone.wav");
    let rate = 48_000usize;
    let mut samples = Vec::new();
    for i in 0..rate * 8 {
        let v = 0.1 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / rate as f64).sin();
        samples.push(v as f32);
        samples.push(v as f32);
    }
    let tone = headroom_session::wav::Wav {
        rate: 48_000,
        channels: 2,
        samples,
    };
    headroom_session::wav::write(&wav, &tone).unwrap();
    let _play = session
        .play(
            &wav,
            Some("headroom"),
            &[("application.name", "meters-test")],
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));

    let run = |json: bool| {
        let mut cmd = Command::new(bin);
        cmd.env("HEADROOM_SOCKET", &socket)
            .arg("meters")
            .stdout(Stdio::piped());
        if json {
            cmd.arg("--json");
        }
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let _ = child.kill();
        String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
    };
    let plain = run(false);
    let line = plain
        .lines()
        .find(|l| l.starts_with("M "))
        .unwrap_or_else(|| panic!("no meter line in {plain:?}"));
    assert!(
        line.contains(" S ") && line.contains(" TP ") && line.contains(" GR "),
        "{line}"
    );
    let json = run(true);
    let levels: Vec<serde_json::Value> = json
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        levels.len() >= 5,
        "expected several levels events in 1.5 s, got {}: {json}",
        levels.len()
    );
    let momentary = levels.last().unwrap()["momentary_lufs"]
        .as_f64()
        .expect("momentary loudness while a tone plays");
    assert!(momentary > -40.0 && momentary < 0.0, "{momentary}");
    drop(cleanup);
}

/// Kills the daemon (by pid) when the test ends, pass or fail.
fn scopeguard(child: &mut std::process::Child) -> impl Drop + '_ {
    struct Guard<'a>(&'a mut std::process::Child);
    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    Guard(child)
}
