//! `headroom meters` with audio really flowing: a private PipeWire session,
//! the real headroomd, a tone played into the Headroom sink; the command's
//! plain (not a terminal) and `--json` output carry live levels, and on a
//! pseudo-terminal it draws bars in place, hides the cursor while it does,
//! and shows it again when stopped by SIGINT or when the daemon goes away.

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

/// Starts the real headroomd on `socket` in `session`; its log goes to
/// `headroomd.N.log` in the session's directory.
fn start_daemon(session: &PwSession, socket: &Path, n: u32) -> std::process::Child {
    let dir = session.dir();
    let daemon_bin = Path::new(env!("CARGO_BIN_EXE_headroom")).with_file_name("headroomd");
    assert!(
        daemon_bin.exists(),
        "headroomd not built next to headroom (run cargo test --workspace)"
    );
    let log = dir.join(format!("headroomd.{n}.log"));
    let child = session
        .command(&daemon_bin)
        .env("HEADROOM_SOCKET", socket)
        .env("XDG_CONFIG_HOME", dir.join("cfg"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::os::unix::net::UnixStream::connect(socket).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "headroomd not answering:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// `headroom meters` with its stdout and stderr on a fresh pseudo-terminal;
/// a thread collects what it writes until the terminal closes.
struct OnTty {
    child: std::process::Child,
    output: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
}

impl OnTty {
    fn start(socket: &Path) -> OnTty {
        let pty = nix::pty::openpty(
            None::<&nix::pty::Winsize>,
            None::<&nix::sys::termios::Termios>,
        )
        .expect("openpty");
        let child = Command::new(env!("CARGO_BIN_EXE_headroom"))
            .env("HEADROOM_SOCKET", socket)
            .arg("meters")
            .stdin(Stdio::null())
            .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
            .stderr(Stdio::from(pty.slave))
            .spawn()
            .unwrap();
        // Our copy of the terminal's far end is gone with `pty.slave`, so
        // the read below ends (EIO) when the command exits.
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = output.clone();
        let mut master = std::fs::File::from(pty.master);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = std::io::Read::read(&mut master, &mut buf) {
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        OnTty {
            child,
            output,
            reader,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).replace('\r', "")
    }

    /// Waits (10 s at most) until `frames` complete blocks have been drawn.
    fn wait_frames(&self, frames: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while parse_frames(&self.text()).len() < frames {
            assert!(
                std::time::Instant::now() < deadline,
                "fewer than {frames} frames in 10 s: {:?}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (5 s at most) for the command to exit; its status and output.
    fn finish(mut self) -> (std::process::ExitStatus, String) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            if std::time::Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("headroom meters still running after 5 s: {:?}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let text = {
            let OnTty { reader, output, .. } = self;
            reader.join().unwrap();
            let bytes = output.lock().unwrap();
            String::from_utf8_lossy(&bytes).replace('\r', "")
        };
        (status, text)
    }
}

const HIDE_CURSOR: &str = "\x1b[?25l";
const SHOW_CURSOR: &str = "\x1b[?25h";
const ERASE_LINE: &str = "\x1b[2K";
const UP_7: &str = "\x1b[7A";
const BAR_CELLS: usize = 40;

/// One meter line as drawn: `name bar value unit`.
#[derive(Debug)]
struct Meter {
    name: String,
    filled: usize,
    value: Option<f64>,
    unit: String,
}

/// The complete 7-line blocks in `text`: the first is drawn after the
/// cursor is hidden, each later one after moving up over the last.
fn parse_frames(text: &str) -> Vec<Vec<Meter>> {
    let Some(body) = text.strip_prefix(HIDE_CURSOR) else {
        return Vec::new();
    };
    let mut frames = Vec::new();
    for block in body.split(UP_7) {
        let lines: Vec<&str> = block.split_inclusive('\n').collect();
        if lines.len() < 7 || !lines[..7].iter().all(|l| l.ends_with('\n')) {
            continue; // still being written, or the tail after the last one
        }
        let meters: Option<Vec<Meter>> = lines[..7].iter().map(|l| parse_line(l)).collect();
        frames.push(meters.unwrap_or_else(|| panic!("unreadable block {block:?}")));
    }
    frames
}

fn parse_line(line: &str) -> Option<Meter> {
    let rest = line.strip_prefix(ERASE_LINE)?.strip_suffix('\n')?;
    let (name, rest) = rest.split_at(rest.char_indices().nth(10)?.0);
    let rest = rest.strip_prefix(' ')?;
    let bar: String = rest.chars().take(BAR_CELLS).collect();
    if bar.chars().any(|c| c != '█' && c != '·') || bar.chars().count() != BAR_CELLS {
        return None;
    }
    let filled = bar.chars().take_while(|c| *c == '█').count();
    if bar.chars().skip(filled).any(|c| c == '█') {
        return None; // a bar fills from the left
    }
    let mut words = rest[bar.len()..].split_whitespace();
    let value = match words.next()? {
        "-" => None,
        v => Some(v.parse().ok()?),
    };
    let unit = words.next()?.to_string();
    Some(Meter {
        name: name.trim().to_string(),
        filled,
        value,
        unit,
    })
}

#[test]
fn meters_on_a_terminal_redraw_in_place_and_give_the_cursor_back() {
    let session = PwSession::start().expect("private PipeWire session");
    let dir = session.dir().to_path_buf();
    let socket = dir.join("headroom-tty.sock");
    let mut daemon = start_daemon(&session, &socket, 1);
    if let Err(e) = session.wait_node("headroom") {
        let _ = daemon.kill();
        panic!("{e:#}");
    }
    // 30 s of a 1 kHz tone at -20 dBFS on both channels (-20.0 LUFS) into
    // the Headroom sink.
    let rate = 48_000usize;
    let mut samples = Vec::with_capacity(rate * 30 * 2);
    for i in 0..rate * 30 {
        let v = 0.1 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / rate as f64).sin();
        samples.extend([v as f32, v as f32]);
    }
    let wav = dir.join("tone.wav");
    headroom_session::wav::write(
        &wav,
        &headroom_session::wav::Wav {
            rate: 48_000,
            channels: 2,
            samples,
        },
    )
    .unwrap();
    let _play = session
        .play(
            &wav,
            Some("headroom"),
            &[("application.name", "meters-tty-test")],
        )
        .unwrap();
    // Past the 3 s short-term window, so short-term loudness has a value.
    std::thread::sleep(Duration::from_millis(3500));

    // 1. Stopped by SIGINT: exit 0, the cursor shown again as the last word.
    let tty = OnTty::start(&socket);
    tty.wait_frames(6);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(tty.child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let (status, text) = tty.finish();
    assert!(status.success(), "exit {status:?} on SIGINT: {text:?}");
    assert!(text.starts_with(HIDE_CURSOR), "{text:?}");
    assert!(
        text.ends_with(SHOW_CURSOR),
        "cursor not shown again: {text:?}"
    );
    assert_eq!(text.matches(SHOW_CURSOR).count(), 1, "{text:?}");
    let frames = parse_frames(&text);
    // In place: every block after the first moves up over the one before.
    assert!(frames.len() >= 6, "{} frames: {text:?}", frames.len());
    assert_eq!(text.matches(UP_7).count(), frames.len() - 1, "{text:?}");
    assert_eq!(
        text.matches(ERASE_LINE).count(),
        7 * frames.len(),
        "{text:?}"
    );
    let scales = [
        ("momentary", -60.0, 0.0, "LUFS"),
        ("short-term", -60.0, 0.0, "LUFS"),
        ("integrated", -60.0, 0.0, "LUFS"),
        ("input S", -60.0, 0.0, "LUFS"),
        ("true peak", -60.0, 0.0, "dBTP"),
        ("AGC gain", -24.0, 24.0, "dB"),
        ("reduction", 0.0, 24.0, "dB"),
    ];
    for frame in &frames {
        for (m, (name, lo, hi, unit)) in frame.iter().zip(scales) {
            assert_eq!((m.name.as_str(), m.unit.as_str()), (name, unit), "{m:?}");
            // The bar shows the number beside it (to the nearest cell; the
            // number is rounded to 0.01 before it is printed).
            let want = m
                .value
                .map_or(0.0, |v| ((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 40.0);
            assert!(
                (m.filled as f64 - want).abs() <= 0.51,
                "{m:?}: {want:.2} cells expected"
            );
        }
    }
    let last = frames.last().unwrap();
    let value = |name: &str| {
        last.iter()
            .find(|m| m.name == name)
            .and_then(|m| m.value)
            .unwrap_or_else(|| panic!("no {name} value in {last:?}"))
    };
    eprintln!("last frame: {last:?}");
    // The input is the tone: -20.0 LUFS, within the meter's 0.5 LU.
    assert!((value("input S") + 20.0).abs() < 0.5, "{last:?}");
    // The output: somewhere between the input and the -18 LUFS target,
    // under the -1 dBTP ceiling, with gains inside their ranges.
    for name in ["momentary", "short-term", "integrated"] {
        let v = value(name);
        assert!((-24.0..=-14.0).contains(&v), "{name} {v}: {last:?}");
    }
    let tp = value("true peak");
    assert!((-30.0..=-0.9).contains(&tp), "true peak {tp}");
    assert!((-24.0..=24.0).contains(&value("AGC gain")), "{last:?}");
    assert!((0.0..=24.0).contains(&value("reduction")), "{last:?}");

    // 2. The daemon shuts down: meters says so, exits 0, cursor back.
    let tty = OnTty::start(&socket);
    tty.wait_frames(2);
    headroom_session::stop_child(&mut daemon, Duration::from_secs(5));
    let (status, text) = tty.finish();
    assert!(status.success(), "exit {status:?} on shutdown: {text:?}");
    let tail = text.rsplit(UP_7).next().unwrap();
    assert!(
        tail.ends_with(&format!("{SHOW_CURSOR}headroom: headroomd shut down\n")),
        "{tail:?}"
    );

    // 3. The daemon dies (SIGKILL, no goodbye): an error, exit 2, cursor back.
    let mut daemon = start_daemon(&session, &socket, 2);
    let tty = OnTty::start(&socket);
    tty.wait_frames(2);
    let _ = daemon.kill();
    let _ = daemon.wait();
    let (status, text) = tty.finish();
    assert_eq!(status.code(), Some(2), "{text:?}");
    let tail = text.rsplit(UP_7).next().unwrap();
    assert!(
        tail.ends_with(&format!(
            "{SHOW_CURSOR}headroom: headroomd closed the connection\n"
        )),
        "{tail:?}"
    );
}
