//! `headroom demo` end to end: the built binaries against a private
//! PipeWire session that the demo starts itself (the test gives it a fresh,
//! empty `XDG_RUNTIME_DIR`, so it can never find another session), or
//! against a "desktop" session the test starts and points it at. Ctrl-C
//! (SIGINT to its process group, as a terminal sends it) and SIGTERM while
//! it runs: every process it started gone, found by PID in /proc.
//!
//! Needs `pipewire pipewire-bin wireplumber dbus` and `headroomd` built next
//! to `headroom` (`cargo test --workspace` builds both); fails, does not
//! skip, without them.

use headroom_session::PwSession;
use serde_json::Value;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A private directory tree, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("hr-demo-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        for sub in ["run", "config", "state", "home"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.join("run"), std::fs::Permissions::from_mode(0o700)).unwrap();
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `headroom demo ARGS` with nothing of the caller's PipeWire in reach
/// (`session_env` empty), or pointed at a session of the test's own, in a
/// process group of its own (as a shell puts a job), output piped.
fn spawn_demo(dir: &Dir, args: &[&str], session_env: &[(&'static str, OsString)]) -> Child {
    let bin = Path::new(env!("CARGO_BIN_EXE_headroom"));
    assert!(
        bin.with_file_name("headroomd").exists(),
        "headroomd not built next to {} (run cargo test --workspace)",
        bin.display()
    );
    let mut cmd = Command::new(bin);
    // As from a terminal: the stop signals at their defaults even when the
    // test itself runs under `nohup` (an ignored SIGHUP is inherited, and
    // the demo rightly keeps it ignored).
    // SAFETY: `signal` is async-signal-safe; nothing else runs in the child
    // between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            use nix::sys::signal::{signal, SigHandler, Signal};
            for sig in [Signal::SIGHUP, Signal::SIGINT, Signal::SIGTERM] {
                signal(sig, SigHandler::SigDfl).map_err(std::io::Error::from)?;
            }
            Ok(())
        });
    }
    cmd.arg("demo")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.0.join("home"))
        .env("XDG_RUNTIME_DIR", dir.0.join("run"))
        .env("XDG_CONFIG_HOME", dir.0.join("config"))
        .env("XDG_STATE_HOME", dir.0.join("state"))
        .envs(session_env.iter().cloned())
        .env("TMPDIR", &dir.0)
        .current_dir(&dir.0)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn headroom demo")
}

/// Waits for `child` to exit, killing it (by PID) if it outlives `limit`.
fn finish(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            // By PID. The private session's daemons it started would
            // outlive it, but the Dir's removal takes their sockets away.
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "headroom demo still running after {limit:?}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

/// Runs `headroom demo ARGS` with nothing of the caller's PipeWire in reach.
fn demo(dir: &Dir, args: &[&str], limit: Duration) -> Output {
    finish(spawn_demo(dir, args, &[]), limit)
}

fn num(v: &Value, side: &str, key: &str) -> f64 {
    v[side][key]
        .as_f64()
        .unwrap_or_else(|| panic!("{side}.{key} missing in {v}"))
}

#[test]
fn demo_starts_a_private_session_levels_the_programme_and_plots_it() {
    let dir = Dir::new("json");
    let plot = dir.0.join("plot.png");
    let t0 = Instant::now();
    let out = demo(
        &dir,
        &["--json", "--plot", plot.to_str().unwrap()],
        Duration::from_secs(90),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\nstderr:\n{stderr}",
        out.status
    );
    eprintln!("demo took {:?}\n{stderr}", t0.elapsed());
    assert!(
        stderr.contains("starting a private one"),
        "did not start a private session:\n{stderr}"
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    eprintln!("{v:#}");
    assert_levelled(&v);
    assert_eq!(v["plot"], plot.to_str().unwrap());
    assert_eq!(v["session"], "private");
    assert_plot_reads(&plot);
    assert_no_temp_dirs(&dir);
}

/// The demo's measurements show what Headroom does: the output nearer the
/// target, a smaller loudness range, true peaks held at the ceiling
/// (0.1 dB: the meter's 4× true-peak estimate against the limiter's).
fn assert_levelled(v: &Value) {
    let target = v["target_lufs"].as_f64().unwrap();
    let ceiling = v["ceiling_dbtp"].as_f64().unwrap();
    assert!(num(v, "after", "true_peak_dbtp") <= ceiling + 0.1, "{v}");
    assert!(num(v, "before", "true_peak_dbtp") > 0.0, "{v}");
    assert!(
        (num(v, "after", "integrated_lufs") - target).abs()
            < (num(v, "before", "integrated_lufs") - target).abs(),
        "{v}"
    );
    assert!(
        num(v, "after", "lra_lu") < num(v, "before", "lra_lu"),
        "{v}"
    );
}

/// The plot decodes, has both series, and its text where the layout in
/// cli/src/cmd/demo/plot.rs puts it (the exact glyphs are checked by that
/// module's own tests): a title, a legend with both colours, the tick values
/// left of the loudness axis, and nothing in the margins between them.
fn assert_plot_reads(plot: &Path) {
    const TEXT: [u8; 3] = [20, 20, 20];
    const BG: [u8; 3] = [255, 255, 255];
    const GREY: [u8; 3] = [150, 150, 150];
    const BLUE: [u8; 3] = [25, 100, 210];
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(plot).expect("the plot exists"),
    ));
    let mut reader = decoder.read_info().expect("the plot is a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("the plot decodes");
    assert_eq!((info.width, info.height), (1000, 700));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let px = |x: usize, y: usize| -> [u8; 3] {
        let i = (y * 1000 + x) * 3;
        [buf[i], buf[i + 1], buf[i + 2]]
    };
    let count = |xs: std::ops::Range<usize>, ys: std::ops::Range<usize>, c: [u8; 3]| {
        ys.flat_map(|y| xs.clone().map(move |x| (x, y)))
            .filter(|&(x, y)| px(x, y) == c)
            .count()
    };
    // Both series are drawn: grey (before) and blue (after) pixels exist.
    assert!(count(0..1000, 100..640, GREY) > 500, "no grey line");
    assert!(count(0..1000, 100..640, BLUE) > 500, "no blue line");
    // Title (64 characters, 2× size) along the top.
    let title = count(16..1000, 12..30, TEXT);
    assert!(title > 1500, "title: {title} text pixels");
    // Legend: a grey and a blue swatch, each followed by its name.
    assert_eq!(px(30, 48), GREY, "grey swatch");
    assert!(count(52..260, 42..60, TEXT) > 400, "legend `before` text");
    let blue_swatch = count(260..400, 48..50, BLUE);
    assert!(blue_swatch >= 2 * 28, "blue swatch: {blue_swatch} pixels");
    // Loudness tick values (0 to -50 LUFS every 10) left of the axis,
    // one per grid line, blank between them.
    for k in 0..6 {
        let grid_y = 100 + 50 * k;
        let label = count(16..56, grid_y - 7..grid_y + 7, TEXT);
        assert!(label > 30, "no tick value at y {grid_y}: {label} pixels");
        if k < 5 {
            let gap = count(0..56, grid_y + 9..grid_y + 41, BG);
            assert_eq!(gap, 56 * 32, "something between tick values at y {grid_y}");
        }
    }
    // Blank: the left margin, and the band between the legend and the first
    // panel's name.
    assert_eq!(count(0..16, 0..700, BG), 16 * 700, "left margin");
    assert_eq!(
        count(0..1000, 62..74, BG),
        1000 * 12,
        "band under the legend"
    );
}

/// No `headroom-pw*` temporary directory left in the demo's TMPDIR.
fn assert_no_temp_dirs(dir: &Dir) {
    let left = temp_dirs(dir);
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn temp_dirs(dir: &Dir) -> Vec<String> {
    std::fs::read_dir(&dir.0)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("headroom-pw"))
        .collect()
}

#[test]
fn demo_prints_a_side_by_side_table() {
    let dir = Dir::new("human");
    let out = demo(&dir, &["--plot", "demo.png"], Duration::from_secs(90));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{stdout}");
    let header = stdout.lines().next().unwrap_or("");
    assert!(
        header.contains("before (bypassed)") && header.contains("after (Headroom)"),
        "{stdout}"
    );
    for row in [
        "integrated loudness",
        "loudness range",
        "true peak",
        "short-term max",
    ] {
        assert!(stdout.contains(row), "no `{row}` row:\n{stdout}");
    }
    assert!(stdout.contains("faster AGC"), "{stdout}");
    assert!(dir.0.join("demo.png").is_file());
}

/// A process as /proc shows it; `start` (clock ticks since boot) tells it
/// apart from a later process that reuses its PID.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProcInfo {
    pid: u32,
    comm: String,
    state: char,
    ppid: u32,
    pgrp: u32,
    start: u64,
}

fn proc_info(pid: u32) -> Option<ProcInfo> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses.
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_string();
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcInfo {
        pid,
        comm,
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        pgrp: f.get(2)?.parse().ok()?,
        // Field 22 of the line; `rest` starts at field 3.
        start: f.get(19)?.parse().ok()?,
    })
}

/// Every live process below `root`, found through /proc's parent links.
fn descendants(root: u32) -> Vec<ProcInfo> {
    let all: Vec<ProcInfo> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter_map(proc_info)
        .collect();
    let mut found: Vec<ProcInfo> = Vec::new();
    let mut parents = vec![root];
    while let Some(p) = parents.pop() {
        for c in all.iter().filter(|c| c.ppid == p) {
            parents.push(c.pid);
            found.push(c.clone());
        }
    }
    found
}

/// Whether `p` still runs: same PID and start time, and not a zombie.
fn still_running(p: &ProcInfo) -> bool {
    proc_info(p.pid).is_some_and(|now| now.start == p.start && now.state != 'Z')
}

/// Stderr lines as they come, and all of them so far.
struct Lines {
    rx: mpsc::Receiver<String>,
    seen: String,
}

impl Lines {
    fn of(child: &mut Child) -> Lines {
        let err = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            rx,
            seen: String::new(),
        }
    }

    /// Waits (up to `limit`) for a line containing `needle`.
    fn wait_for(&mut self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                    if line.contains(needle) {
                        return;
                    }
                }
                Err(_) => panic!("no `{needle}` within {limit:?}; stderr:\n{}", self.seen),
            }
        }
    }

    /// Everything, once the process has exited.
    fn rest(mut self) -> String {
        while let Ok(line) = self.rx.recv_timeout(Duration::from_secs(5)) {
            self.seen.push_str(&line);
            self.seen.push('\n');
        }
        self.seen
    }
}

/// Waits until every one of `names` runs below `root`; returns them all.
fn wait_for_children(root: u32, names: &[&str], limit: Duration) -> Vec<ProcInfo> {
    let deadline = Instant::now() + limit;
    loop {
        let procs = descendants(root);
        if names.iter().all(|n| procs.iter().any(|p| p.comm == *n)) {
            return procs;
        }
        assert!(
            Instant::now() < deadline,
            "not all of {names:?} running under the demo after {limit:?}: {procs:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `signal` to the demo at the moment `wait` says, then checks that it
/// stops everything it started, removes its temporary directory, and exits
/// with `code` within `bound`.
fn interrupt_demo(
    tag: &str,
    signal: nix::sys::signal::Signal,
    to_group: bool,
    wait: impl FnOnce(&mut Lines, u32) -> Vec<ProcInfo>,
    code: i32,
) {
    let dir = Dir::new(tag);
    let mut child = spawn_demo(&dir, &["--plot", "demo.png"], &[]);
    let pid = child.id();
    let mut lines = Lines::of(&mut child);
    let started = wait(&mut lines, pid);
    assert_eq!(
        temp_dirs(&dir).len(),
        1,
        "no temporary directory while running"
    );
    // Its own process group (as a shell's job); every child in another one,
    // so a terminal's Ctrl-C reaches only `headroom`.
    let demo_group = proc_info(pid).unwrap().pgrp;
    assert_eq!(demo_group, pid);
    for p in &started {
        assert_ne!(p.pgrp, demo_group, "{p:?} shares the demo's process group");
    }
    let target = nix::unistd::Pid::from_raw(pid as i32);
    let t0 = Instant::now();
    if to_group {
        nix::sys::signal::killpg(target, signal).unwrap();
    } else {
        nix::sys::signal::kill(target, signal).unwrap();
    }
    let out = finish(child, Duration::from_secs(30));
    let took = t0.elapsed();
    let stderr = lines.rest();
    eprintln!("{signal} -> exit {:?} after {took:?}\n{stderr}", out.status);
    assert_eq!(out.status.code(), Some(code), "stderr:\n{stderr}");
    assert!(
        took < Duration::from_secs(10),
        "took {took:?} to stop after {signal}"
    );
    assert!(
        stderr.contains(&format!("interrupted ({signal})")),
        "no message:\n{stderr}"
    );
    assert_no_temp_dirs(&dir);
    let left: Vec<&ProcInfo> = started.iter().filter(|p| still_running(p)).collect();
    assert!(left.is_empty(), "still running: {left:?}");
    assert!(
        !dir.0.join("demo.png").exists(),
        "a plot from an interrupted demo"
    );
}

/// Waits until the programme plays through Headroom in a private session:
/// dbus, PipeWire, WirePlumber, headroomd, pw-record and pw-play all run.
fn playing_with_everything(lines: &mut Lines, pid: u32) -> Vec<ProcInfo> {
    lines.wait_for("1/2 through Headroom", Duration::from_secs(60));
    let all = [
        "dbus-daemon",
        "pipewire",
        "wireplumber",
        "headroomd",
        "pw-record",
        "pw-play",
    ];
    wait_for_children(pid, &all, Duration::from_secs(20))
}

/// Ctrl-C while the programme plays through Headroom: the terminal sends
/// SIGINT to the foreground process group, which holds only `headroom`.
#[test]
fn ctrl_c_while_playing_stops_everything_the_demo_started() {
    interrupt_demo(
        "sigint",
        nix::sys::signal::Signal::SIGINT,
        true,
        playing_with_everything,
        130,
    );
}

/// SIGTERM while the private session is still coming up.
#[test]
fn sigterm_while_starting_stops_everything_the_demo_started() {
    interrupt_demo(
        "sigterm",
        nix::sys::signal::Signal::SIGTERM,
        false,
        |lines, pid| {
            lines.wait_for("starting a private one", Duration::from_secs(30));
            wait_for_children(pid, &["pipewire"], Duration::from_secs(20))
        },
        143,
    );
}

/// SIGHUP (the terminal closed) while playing: the children, in process
/// groups of their own, would get no hang-up from the shell; the demo
/// stops them.
#[test]
fn sighup_while_playing_stops_everything_the_demo_started() {
    interrupt_demo(
        "sighup",
        nix::sys::signal::Signal::SIGHUP,
        false,
        |lines, pid| {
            lines.wait_for("1/2 through Headroom", Duration::from_secs(60));
            wait_for_children(pid, &["headroomd", "pw-play"], Duration::from_secs(20))
        },
        129,
    );
}

/// `kill -9` while playing: the demo cannot clean up, but nothing it
/// started may outlive it. Everything it started gets SIGTERM from the
/// kernel when it dies (parent-death signal), so dbus, PipeWire,
/// WirePlumber, headroomd, pw-play and pw-record all exit on their own.
#[test]
fn sigkill_while_playing_leaves_nothing_running() {
    let dir = Dir::new("sigkill");
    let mut child = spawn_demo(&dir, &[], &[]);
    let pid = child.id();
    let mut lines = Lines::of(&mut child);
    let started = playing_with_everything(&mut lines, pid);
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "{status:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<&ProcInfo> = started.iter().filter(|p| still_running(p)).collect();
        if left.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            for p in &left {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(p.pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            panic!("still running 10 s after the demo was killed: {left:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// On a desktop (a PipeWire session already running, here one the test
/// starts) the demo uses it: it says so, its numbers are sane, the
/// desktop's default sink never changes, and afterwards nothing of the
/// demo is left in the session, which still runs.
#[test]
fn demo_uses_a_running_desktop_session_and_leaves_it_as_it_was() {
    let mut desktop = PwSession::start().expect("the desktop's PipeWire session");
    let default_sink = || {
        desktop
            .default_sink()
            .expect("pw-metadata")
            .unwrap_or_default()
    };
    let before = default_sink();
    assert_eq!(before, headroom_session::SPEAKERS);
    let dir = Dir::new("desktop");
    let plot = dir.0.join("plot.png");
    let mut child = spawn_demo(
        &dir,
        &["--json", "--plot", plot.to_str().unwrap()],
        &desktop.env(),
    );
    let pid = child.id();
    let mut lines = Lines::of(&mut child);
    lines.wait_for(
        "using your running PipeWire session",
        Duration::from_secs(30),
    );
    // While it runs: the default sink stays put; Headroom's sink appears.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut defaults, mut saw_headroom, mut started) = (Vec::new(), false, Vec::new());
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "demo still running after 120 s");
        defaults.push(default_sink());
        saw_headroom |= desktop.node("headroom").unwrap().is_some();
        for p in descendants(pid) {
            if !started.contains(&p) {
                started.push(p);
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = lines.rest();
    eprintln!("{stderr}");
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    assert!(
        saw_headroom,
        "no `headroom` node seen in the desktop session"
    );
    assert!(
        defaults.len() > 20,
        "sampled the default sink only {} times",
        defaults.len()
    );
    assert!(
        defaults.iter().all(|d| *d == before),
        "the default sink changed while the demo ran: {defaults:?}"
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    eprintln!("{v:#}");
    assert_eq!(v["session"], "existing");
    assert_eq!(v["sink"], headroom_session::SPEAKERS);
    assert_levelled(&v);
    assert_plot_reads(&plot);

    // Afterwards: same default sink, no node of the demo's, no process of
    // its, no temporary directory; the desktop session still answers.
    assert_eq!(default_sink(), before);
    let names: Vec<String> = desktop
        .objects("Node")
        .unwrap()
        .iter()
        .filter_map(|n| n.name().map(str::to_string))
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("headroom")),
        "left in the desktop session: {names:?}"
    );
    let names: Vec<&str> = started.iter().map(|p| p.comm.as_str()).collect();
    for tool in ["headroomd", "pw-play", "pw-record"] {
        assert!(
            names.contains(&tool),
            "never saw {tool} under the demo: {names:?}"
        );
    }
    for tool in ["pipewire", "wireplumber", "dbus-daemon"] {
        assert!(!names.contains(&tool), "the demo started its own {tool}");
    }
    let left: Vec<&ProcInfo> = started.iter().filter(|p| still_running(p)).collect();
    assert!(left.is_empty(), "still running: {left:?}");
    assert_no_temp_dirs(&dir);
    assert!(desktop.pipewire_running(), "the desktop's PipeWire is gone");
    assert!(desktop.node(headroom_session::SPEAKERS).unwrap().is_some());
}
