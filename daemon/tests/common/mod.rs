//! Test support: run the real `headroomd` binary on private XDG directories
//! and talk to it over its socket in either framing.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private directory tree removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let base = std::env::temp_dir().join(format!(
            "headroom-test-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&base).unwrap();
        for d in ["run", "config", "state"] {
            std::fs::create_dir_all(base.join(d)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(base.join("run"), std::fs::Permissions::from_mode(0o700)).unwrap();
        TempDir(base)
    }
    pub fn runtime(&self) -> PathBuf {
        self.0.join("run")
    }
    pub fn config(&self) -> PathBuf {
        self.0.join("config")
    }
    pub fn state(&self) -> PathBuf {
        self.0.join("state")
    }
    pub fn profiles(&self) -> PathBuf {
        self.config().join("headroom").join("profiles")
    }
    pub fn state_file(&self) -> PathBuf {
        self.state().join("headroom").join("state.toml")
    }
    pub fn socket(&self) -> PathBuf {
        self.runtime().join("headroom").join("control.sock")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running daemon, killed (by pid) on drop.
pub struct Daemon {
    pub child: Child,
    pub dirs: std::sync::Arc<TempDir>,
    pub log: PathBuf,
}

/// The program the tests start as the daemon: the `headroomd` cargo built,
/// or the wrapper `HEADROOM_TEST_DAEMON` names (for profiling the real
/// daemon in its tests, e.g. under massif). A wrapper finds the daemon in
/// `HEADROOM_TEST_DAEMON_BIN` and must `exec` it, so that the PID the tests
/// signal and measure stays the daemon's.
pub fn daemon_bin() -> PathBuf {
    match std::env::var_os("HEADROOM_TEST_DAEMON") {
        Some(wrapper) => PathBuf::from(wrapper),
        None => PathBuf::from(env!("CARGO_BIN_EXE_headroomd")),
    }
}

/// Whether [`daemon_bin`] is a wrapper: then the audio-path tests stop a
/// daemon with SIGTERM and give it time to exit, so that a profiler writes
/// its output.
pub fn daemon_wrapped() -> bool {
    std::env::var_os("HEADROOM_TEST_DAEMON").is_some()
}

pub fn command(dirs: &TempDir) -> Command {
    let mut cmd = Command::new(daemon_bin());
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dirs.0.join("home"))
        .env("XDG_RUNTIME_DIR", dirs.runtime())
        .env("XDG_CONFIG_HOME", dirs.config())
        .env("XDG_STATE_HOME", dirs.state())
        .env("HEADROOM_TEST_DAEMON_BIN", env!("CARGO_BIN_EXE_headroomd"))
        .arg("--verbose");
    cmd
}

impl Daemon {
    pub fn start(dirs: std::sync::Arc<TempDir>) -> Daemon {
        Self::start_with(dirs, |_| {})
    }

    pub fn start_with(dirs: std::sync::Arc<TempDir>, f: impl FnOnce(&mut Command)) -> Daemon {
        let log = dirs.0.join(format!(
            "daemon-{}.log",
            Instant::now().elapsed().as_nanos()
        ));
        let mut cmd = command(&dirs);
        f(&mut cmd);
        let child = cmd
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn headroomd");
        let d = Daemon { child, dirs, log };
        d.wait_ready();
        d
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if UnixStream::connect(self.dirs.socket()).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("headroomd did not come up; log:\n{}", self.log_text());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args(["-s", sig, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Waits for exit (bounded); returns the exit status.
    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "headroomd did not exit within {within:?}; log:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.pid())
    }
}

/// Resident set size of process `pid` in KiB (0 if it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client in NDJSON framing.
pub struct Client {
    pub stream: UnixStream,
    reader: BufReader<UnixStream>,
    next_id: u64,
    /// Events received while waiting for responses.
    pub events: Vec<Value>,
}

impl Client {
    pub fn connect(path: &Path) -> Client {
        let stream = UnixStream::connect(path).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        let mut c = Client {
            stream,
            reader,
            next_id: 1,
            events: Vec::new(),
        };
        // Get the hello.
        c.send_raw(b"\n");
        let hello = c.read_msg().expect("hello");
        assert_eq!(hello["event"], "hello", "{hello}");
        c
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Next message, or None on EOF.
    pub fn read_msg(&mut self) -> Option<Value> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(
                serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("bad JSON from daemon: {e}: {line:?}")),
            ),
            Err(e) => panic!("read failed: {e}"),
        }
    }

    /// Sends `op` with `args` and returns the response (events are kept).
    pub fn call(&mut self, op: &str, args: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let req = serde_json::json!({"id": id, "op": op, "args": args});
        self.send_raw(format!("{req}\n").as_bytes());
        self.response(id)
    }

    pub fn response(&mut self, id: u64) -> Value {
        loop {
            let m = self
                .read_msg()
                .expect("connection closed before the response");
            if m.get("event").is_some() {
                self.events.push(m);
                continue;
            }
            assert_eq!(m["id"], id, "{m}");
            return m;
        }
    }

    /// Result of a successful call (panics with the error otherwise).
    pub fn ok(&mut self, op: &str, args: Value) -> Value {
        let r = self.call(op, args);
        assert_eq!(r["ok"], true, "{op}: {r}");
        r["result"].clone()
    }

    /// Error code of a failing call.
    pub fn err(&mut self, op: &str, args: Value) -> String {
        let r = self.call(op, args);
        assert_eq!(r["ok"], false, "{op} should fail: {r}");
        r["error"]["code"].as_str().unwrap().to_string()
    }

    /// Waits for an event named `name` (bounded by the read timeout).
    pub fn wait_event(&mut self, name: &str) -> Value {
        if let Some(i) = self.events.iter().position(|e| e["event"] == name) {
            return self.events.remove(i);
        }
        loop {
            let m = self.read_msg().expect("closed while waiting for an event");
            if m["event"] == name {
                return m;
            }
            self.events.push(m);
        }
    }
}

/// Reads one length-prefixed frame.
pub fn read_framed(s: &mut UnixStream) -> Option<Value> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).ok()?;
    Some(serde_json::from_slice(&body).unwrap())
}

pub fn framed(json: &str) -> Vec<u8> {
    let mut v = (json.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(json.as_bytes());
    v
}
