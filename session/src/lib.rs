//! PipeWire sessions for Headroom's integration tests and `headroom demo`:
//! a private, throw-away one started from scratch, or the user's own.
//!
//! [`PwSession::start`] brings up, inside a fresh temporary directory:
//! a session D-Bus (`dbus-daemon`), `pipewire` and `wireplumber` (with private
//! `XDG_RUNTIME_DIR` / `XDG_CONFIG_HOME` / `XDG_STATE_HOME` / `XDG_DATA_HOME`,
//! so the user's own PipeWire and settings are never touched, and with
//! WirePlumber's hardware monitors disabled so real sound cards are never
//! opened), then creates a null sink called `speakers` and waits until
//! WirePlumber has made it the default sink.
//!
//! [`PwSession::existing`] wraps a session that is already running (found
//! with [`reachable_socket`]): it starts nothing, its commands inherit the
//! caller's environment, and only its scratch directory is removed on drop.
//! Use it only for clients ([`PwSession::play`], [`PwSession::record`],
//! queries); the methods that add or remove sinks or restart PipeWire are
//! for private sessions.
//!
//! Contract: everything this crate starts is stopped by PID (never by name:
//! the user's own PipeWire may be running), on drop too, and every wait is
//! bounded ([`WAIT`] unless told otherwise). Errors carry the daemons' log
//! tails. Set `HEADROOM_PW_KEEP=1` to keep the directory (daemon logs:
//! `dbus.log`, `pipewire.N.log`, `wireplumber.N.log`) for a post-mortem.
//!
//! Needs the Debian packages `pipewire pipewire-bin wireplumber dbus`
//! (`pw-cli`, `pw-dump`, `pw-metadata`, `pw-link`, `pw-play`, `pw-record`);
//! [`missing_tools`] says which are absent. Works headless and as root;
//! PipeWire may refuse realtime scheduling, which is harmless here.
//!
//! With `HEADROOM_PW_PREFIX` set, private sessions run another PipeWire
//! build unpacked in that directory instead of the system's (see [`prefix`];
//! `scripts/pw1x.sh` runs the audio tests on PipeWire 1.x that way).
//!
//! [`wav`] has a tiny float32 WAV reader/writer (std only).

pub mod prefix;

use anyhow::{anyhow, bail, Context};
use prefix::Prefix;
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Name of the fake "real" sink every session has.
pub const SPEAKERS: &str = "speakers";
/// Properties of the fake sink, as given to `pw-cli create-node adapter`.
const SPEAKERS_ARGS: &str = "{ factory.name=support.null-audio-sink node.name=speakers \
     node.description=Speakers media.class=Audio/Sink object.linger=true \
     audio.rate=48000 audio.channels=2 audio.position=[FL FR] }";
/// Bound for every wait in this module unless told otherwise.
pub const WAIT: Duration = Duration::from_secs(15);
/// Environment variables that could point a child at another PipeWire/Pulse
/// or change its behaviour; removed from every command we start.
const LEAKY_ENV: &[&str] = &[
    "PIPEWIRE_REMOTE",
    "PIPEWIRE_CORE",
    "PIPEWIRE_NODE",
    "PIPEWIRE_PROPS",
    "PIPEWIRE_LATENCY",
    "PIPEWIRE_QUANTUM",
    "PIPEWIRE_RATE",
    "PIPEWIRE_CONFIG_DIR",
    "PIPEWIRE_CONFIG_NAME",
    "PIPEWIRE_CONFIG_PREFIX",
    "PIPEWIRE_MODULE_DIR",
    "SPA_PLUGIN_DIR",
    "SPA_DATA_DIR",
    "WIREPLUMBER_CONFIG_DIR",
    "WIREPLUMBER_DATA_DIR",
    "WIREPLUMBER_MODULE_DIR",
    "PULSE_SERVER",
    "PULSE_RUNTIME_PATH",
    "DBUS_SYSTEM_BUS_ADDRESS",
];

pub use anyhow::{Error, Result};

/// The tools a private session and its clients need.
pub const TOOLS: &[&str] = &[
    "pipewire",
    "wireplumber",
    "pw-cli",
    "pw-dump",
    "pw-metadata",
    "pw-link",
    "pw-play",
    "pw-record",
];

/// The Debian/Ubuntu packages that provide [`TOOLS`] (and the session bus).
pub const PACKAGES: &str = "pipewire pipewire-bin wireplumber dbus";

/// Which of [`TOOLS`] are not on `PATH`.
pub fn missing_tools() -> Vec<&'static str> {
    missing_tools_with(None)
}

/// Which of [`TOOLS`] are neither among `prefix`'s programs nor on `PATH`.
fn missing_tools_with(prefix: Option<&Prefix>) -> Vec<&'static str> {
    TOOLS
        .iter()
        .copied()
        .filter(|t| !prefix.is_some_and(|p| p.bin_dir().join(t).is_file()) && which(t).is_none())
        .collect()
}

/// The socket of a PipeWire that answers a connection, if any: the one
/// clients of this process would use (`$PIPEWIRE_RUNTIME_DIR`, else
/// `$XDG_RUNTIME_DIR`, joined with `$PIPEWIRE_REMOTE` or `pipewire-0`).
/// A stale socket file with no server behind it does not count.
pub fn reachable_socket() -> Option<PathBuf> {
    let remote = std::env::var_os("PIPEWIRE_REMOTE")
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| OsString::from("pipewire-0"));
    let remote = Path::new(&remote);
    let sock = if remote.is_absolute() {
        remote.to_path_buf()
    } else {
        let dir = ["PIPEWIRE_RUNTIME_DIR", "XDG_RUNTIME_DIR"]
            .iter()
            .filter_map(std::env::var_os)
            .find(|d| !d.is_empty())?;
        Path::new(&dir).join(remote)
    };
    std::os::unix::net::UnixStream::connect(&sock)
        .ok()
        .map(|_| sock)
}

/// A name unique to this process and call, for temporary paths.
fn unique(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{tag}-{}-{}-{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

fn mkdir_private(p: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(p)
        .with_context(|| format!("creating {}", p.display()))
}

/// A PipeWire object as listed by `pw-cli ls`: its global id and properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PwObject {
    pub id: u32,
    pub props: BTreeMap<String, String>,
}

impl PwObject {
    pub fn prop(&self, key: &str) -> Option<&str> {
        self.props.get(key).map(String::as_str)
    }
    pub fn name(&self) -> Option<&str> {
        self.prop("node.name")
    }
    /// `object.serial` (what `target.object` expects when given a number).
    pub fn serial(&self) -> Option<u64> {
        self.prop("object.serial").and_then(|s| s.parse().ok())
    }
}

// ---- signals without the libc crate -------------------------------------

const SIGINT: i32 = 2;
const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: plain syscall on a pid we spawned and have not reaped yet.
    unsafe {
        kill(child.id() as i32, sig);
    }
}

/// Spawns `c` with stdout and stderr going to a new file `log`.
fn spawn_logged(mut c: Command, log: &Path, what: &str) -> Result<Child> {
    let f = File::create(log).context("session directory I/O")?;
    c.stdout(Stdio::from(f.try_clone().context("session directory I/O")?))
        .stderr(Stdio::from(f))
        .spawn()
        .with_context(|| format!("spawning {what}"))
}

/// Waits for `child` to exit, up to `timeout`.
fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return Some(st),
            Ok(None) if Instant::now() < deadline => sleep(Duration::from_millis(20)),
            _ => return None,
        }
    }
}

/// Stops a process this process spawned, by its PID: SIGTERM, up to
/// `grace` to exit, then SIGKILL; always reaps.
pub fn stop_child(child: &mut Child, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    signal(child, SIGTERM);
    if wait_timeout(child, grace).is_none() {
        signal(child, SIGKILL);
        let _ = child.wait();
    }
}

/// Polls `f` every 50 ms until it returns `Some`, for at most `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        sleep(Duration::from_millis(50));
    }
}

fn tail(path: &Path, max_lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(max_lines)..].join("\n")
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A private PipeWire + WirePlumber session. See the module docs.
pub struct PwSession {
    root: PathBuf,
    runtime_dir: PathBuf,
    config_dir: PathBuf,
    state_dir: PathBuf,
    data_dir: PathBuf,
    /// Started by us (`start`) rather than the user's (`existing`).
    private: bool,
    bus_address: Option<String>,
    dbus: Option<Child>,
    pipewire: Option<Child>,
    wireplumber: Option<Child>,
    /// Incremented on every (re)start, names the log files.
    generation: u32,
    keep: bool,
    opts: Options,
    /// Another PipeWire build to run instead of the system's (private only).
    prefix: Option<Prefix>,
}

/// How a session starts its processes (see [`PwSession::start_with`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Start every process (the daemons, and whatever [`PwSession::command`],
    /// [`PwSession::run`], [`PwSession::play`] and [`PwSession::record`]
    /// start) in a process group of its own. A Ctrl-C typed in a terminal
    /// is sent to the whole foreground process group; with this set it
    /// reaches only the caller, which can then stop everything in order.
    /// Each also gets SIGTERM when the thread that started it dies without
    /// stopping it (the caller killed with SIGKILL, or crashing), so
    /// nothing is left running.
    pub own_process_groups: bool,
}

impl PwSession {
    /// Starts dbus (if installed), PipeWire and WirePlumber in a private
    /// directory, creates the `speakers` null sink and waits until it is the
    /// default sink. Fails (with log tails) if anything doesn't come up in time.
    pub fn start() -> Result<PwSession> {
        Self::start_with(Options::default())
    }

    /// [`PwSession::start`] with [`Options`]. With `HEADROOM_PW_PREFIX`
    /// set, that PipeWire build is run (see [`prefix`]).
    pub fn start_with(opts: Options) -> Result<PwSession> {
        let prefix = Prefix::from_env()?;
        let missing = missing_tools_with(prefix.as_ref());
        if !missing.is_empty() {
            bail!(
                "not found in PATH: {}; install the Debian packages `{PACKAGES}`",
                missing.join(", ")
            );
        }
        let root = std::env::temp_dir().join(unique("headroom-pw"));
        let runtime_dir = root.join("run");
        let config_dir = root.join("config");
        let state_dir = root.join("state");
        let data_dir = root.join("data");
        for d in [&root, &runtime_dir, &config_dir, &state_dir, &data_dir] {
            mkdir_private(d)?;
        }
        // Unix socket paths are limited to 108 bytes.
        if runtime_dir.join("pipewire-0.lock").as_os_str().len() > 100 {
            let _ = fs::remove_dir_all(&root);
            bail!(
                "temp dir path too long for a unix socket: {}",
                runtime_dir.display()
            );
        }
        let mut s = PwSession {
            root,
            runtime_dir,
            config_dir,
            state_dir,
            data_dir,
            private: true,
            bus_address: None,
            dbus: None,
            pipewire: None,
            wireplumber: None,
            generation: 0,
            keep: keep_requested(),
            opts,
            prefix,
        };
        s.write_wireplumber_config()?;
        s.start_dbus()?;
        s.start_daemons()?;
        Ok(s)
    }

    /// The session this process would connect to anyway (see
    /// [`reachable_socket`]), plus a fresh scratch directory for logs and
    /// files. Starts nothing; commands inherit this process's environment.
    ///
    /// # Errors
    /// No PipeWire answers, or the scratch directory cannot be created.
    pub fn existing() -> Result<PwSession> {
        Self::existing_with(Options::default())
    }

    /// [`PwSession::existing`] with [`Options`].
    pub fn existing_with(opts: Options) -> Result<PwSession> {
        let sock = reachable_socket().context("no PipeWire session is reachable")?;
        let root = std::env::temp_dir().join(unique("headroom-pw"));
        mkdir_private(&root)?;
        let runtime_dir = sock.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(PwSession {
            config_dir: root.clone(),
            state_dir: root.clone(),
            data_dir: root.clone(),
            root,
            runtime_dir,
            private: false,
            bus_address: None,
            dbus: None,
            pipewire: None,
            wireplumber: None,
            generation: 0,
            keep: keep_requested(),
            opts,
            prefix: None,
        })
    }

    /// Whether this session was started by [`PwSession::start`] (and is
    /// stopped on drop) rather than found with [`PwSession::existing`].
    pub fn is_private(&self) -> bool {
        self.private
    }

    /// The temporary directory (logs live here; put test files here too).
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// The private `XDG_RUNTIME_DIR` (holds the `pipewire-0` socket).
    pub fn runtime_dir(&self) -> &Path {
        &self.runtime_dir
    }

    /// Environment a client of this session needs (empty for an existing
    /// session: the caller's environment already leads there).
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        if !self.private {
            return Vec::new();
        }
        let mut v = vec![
            ("XDG_RUNTIME_DIR", self.runtime_dir.clone().into_os_string()),
            (
                "PIPEWIRE_RUNTIME_DIR",
                self.runtime_dir.clone().into_os_string(),
            ),
            ("XDG_CONFIG_HOME", self.config_dir.clone().into_os_string()),
            ("XDG_STATE_HOME", self.state_dir.clone().into_os_string()),
            ("XDG_DATA_HOME", self.data_dir.clone().into_os_string()),
            ("PIPEWIRE_REMOTE", OsString::from("pipewire-0")),
        ];
        if let Some(a) = &self.bus_address {
            v.push(("DBUS_SESSION_BUS_ADDRESS", OsString::from(a)));
        }
        if let Some(p) = &self.prefix {
            v.extend(p.env(&self.config_dir.join("wireplumber")));
        }
        v
    }

    /// The PipeWire build this session runs, when it is not the system's.
    pub fn prefix(&self) -> Option<&Prefix> {
        self.prefix.as_ref()
    }

    /// The running PipeWire server's version (`pw-cli info 0`), e.g. `0.3.65`.
    ///
    /// # Errors
    /// `pw-cli` failed or printed no version.
    pub fn server_version(&self) -> Result<String> {
        let info = self.run("pw-cli", &["info", "0"])?;
        info.lines()
            .find_map(|l| l.trim().strip_prefix("version:"))
            .map(|v| v.trim().trim_matches('"').to_string())
            .with_context(|| format!("no version in `pw-cli info 0`: {info}"))
    }

    /// A `Command` for `program` with this session's environment (for a
    /// private session, the caller's PipeWire/Pulse variables removed).
    /// Whatever the caller spawns with it, the caller must stop.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new(program);
        c.stdin(Stdio::null());
        if self.opts.own_process_groups {
            use std::os::unix::process::CommandExt;
            c.process_group(0);
            // Out of the caller's process group, nothing else would stop
            // them if the caller is killed outright (SIGKILL, a crash): they
            // get SIGTERM when it dies. Checking the parent after arming
            // closes the race with a caller that died during the fork.
            let parent = nix::unistd::Pid::this();
            // SAFETY: between fork and exec this only makes two syscalls
            // (prctl, getppid), both async-signal-safe, and allocates nothing.
            unsafe {
                c.pre_exec(move || {
                    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)?;
                    if nix::unistd::getppid() != parent {
                        return Err(std::io::Error::other("parent exited"));
                    }
                    Ok(())
                });
            }
        }
        if !self.private {
            return c;
        }
        for k in LEAKY_ENV {
            c.env_remove(k);
        }
        if self.bus_address.is_none() {
            c.env_remove("DBUS_SESSION_BUS_ADDRESS");
        }
        c.envs(self.env());
        c.stdin(Stdio::null());
        c
    }

    /// Runs a short tool to completion (bounded by [`WAIT`]), returning stdout.
    pub fn run(&self, program: &str, args: &[&str]) -> Result<String> {
        let out = self.run_output(program, args)?;
        if !out.status.success() {
            bail!(
                "`{program} {}` failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn run_output(&self, program: &str, args: &[&str]) -> Result<Output> {
        let mut child = self
            .command(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("spawning {program}"))?;
        // Read pipes on threads so a chatty tool can't block on a full pipe.
        let (Some(mut so), Some(mut se)) = (child.stdout.take(), child.stderr.take()) else {
            bail!("spawning {program}: no output pipes");
        };
        let t1 = std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = so.read_to_end(&mut b);
            b
        });
        let t2 = std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = se.read_to_end(&mut b);
            b
        });
        let status = match wait_timeout(&mut child, WAIT) {
            Some(st) => st,
            None => {
                signal(&child, SIGKILL);
                let _ = child.wait();
                bail!("`{program} {}` did not finish in {WAIT:?}", args.join(" "));
            }
        };
        Ok(Output {
            status,
            stdout: t1.join().unwrap_or_default(),
            stderr: t2.join().unwrap_or_default(),
        })
    }

    /// `pw-dump` output (JSON array of all objects).
    pub fn dump(&self) -> Result<String> {
        self.run("pw-dump", &[])
    }

    /// Objects of one interface type as listed by `pw-cli ls <kind>`
    /// (`"Node"`, `"Port"`, `"Link"`, `"Metadata"`, `"Client"`…).
    pub fn objects(&self, kind: &str) -> Result<Vec<PwObject>> {
        Ok(parse_pw_cli_ls(&self.run("pw-cli", &["ls", kind])?))
    }

    /// The node called `name` (`node.name`), if it exists.
    pub fn node(&self, name: &str) -> Result<Option<PwObject>> {
        Ok(self
            .objects("Node")?
            .into_iter()
            .find(|o| o.name() == Some(name)))
    }

    /// Waits until a node called `name` exists.
    pub fn wait_node(&self, name: &str) -> Result<PwObject> {
        wait_for(&format!("node `{name}`"), WAIT, || {
            self.node(name).ok().flatten()
        })
        .map_err(|e| self.with_logs(e))
    }

    /// Waits until no node called `name` exists.
    pub fn wait_no_node(&self, name: &str) -> Result<()> {
        wait_for(&format!("node `{name}` to disappear"), WAIT, || {
            matches!(self.node(name), Ok(None)).then_some(())
        })
    }

    /// Entries of the `default` metadata: (subject, key, value, type).
    pub fn metadata(&self) -> Result<Vec<(u32, String, String, String)>> {
        Ok(parse_pw_metadata(
            &self.run("pw-metadata", &["-n", "default"])?,
        ))
    }

    /// Sets `key` on `subject` in the `default` metadata (e.g. a stream's
    /// `target.object`, with a node name or an `object.serial`).
    pub fn set_metadata(&self, subject: u32, key: &str, value: &str) -> Result<()> {
        self.run(
            "pw-metadata",
            &["-n", "default", &subject.to_string(), key, value],
        )
        .map(drop)
    }

    /// Deletes `key` on `subject` in the `default` metadata.
    pub fn delete_metadata(&self, subject: u32, key: &str) -> Result<()> {
        self.run(
            "pw-metadata",
            &["-n", "default", "-d", &subject.to_string(), key],
        )
        .map(drop)
    }

    /// `node.name` of the current default sink (`default.audio.sink`).
    pub fn default_sink(&self) -> Result<Option<String>> {
        Ok(self
            .metadata()?
            .into_iter()
            .find(|(s, k, _, _)| *s == 0 && k == "default.audio.sink")
            .and_then(|(_, _, v, _)| json_name(&v)))
    }

    /// Waits until WirePlumber reports `name` as the default sink.
    pub fn wait_default_sink(&self, name: &str) -> Result<()> {
        wait_for(&format!("default sink `{name}`"), WAIT, || {
            (self.default_sink().ok().flatten().as_deref() == Some(name)).then_some(())
        })
        .map_err(|e| self.with_logs(e))
    }

    /// Current links as (`node:port` out, `node:port` in), from `pw-link -l`.
    pub fn links(&self) -> Result<Vec<(String, String)>> {
        Ok(parse_pw_link(&self.run("pw-link", &["-l"])?))
    }

    /// Whether some port of node `from` is linked to some port of node `to`.
    pub fn is_linked(&self, from: &str, to: &str) -> Result<bool> {
        Ok(self.links()?.iter().any(|(o, i)| {
            o.split_once(':').map(|x| x.0) == Some(from)
                && i.split_once(':').map(|x| x.0) == Some(to)
        }))
    }

    /// Waits until `from` is linked to `to` (both node names).
    pub fn wait_linked(&self, from: &str, to: &str) -> Result<()> {
        wait_for(&format!("link {from} -> {to}"), WAIT, || {
            self.is_linked(from, to).ok().filter(|b| *b).map(drop)
        })
        .map_err(|e| self.with_logs(e))
    }

    /// Creates the `speakers` null sink and waits until it is the default sink.
    pub fn add_speakers(&self) -> Result<()> {
        self.require_private()?;
        self.run("pw-cli", &["create-node", "adapter", SPEAKERS_ARGS])?;
        self.wait_node(SPEAKERS)?;
        self.wait_default_sink(SPEAKERS)
    }

    /// Creates the `speakers` null sink and waits for the node only (the
    /// session manager may keep another default, e.g. a virtual sink that
    /// became the default while `speakers` was gone).
    pub fn create_speakers(&self) -> Result<()> {
        self.require_private()?;
        self.run("pw-cli", &["create-node", "adapter", SPEAKERS_ARGS])?;
        self.wait_node(SPEAKERS).map(drop)
    }

    /// Destroys the `speakers` sink and waits until it is gone.
    pub fn remove_speakers(&self) -> Result<()> {
        self.require_private()?;
        let Some(n) = self.node(SPEAKERS)? else {
            bail!("remove_speakers: there is no `speakers` node");
        };
        self.run("pw-cli", &["destroy", &n.id.to_string()])?;
        self.wait_no_node(SPEAKERS)
    }

    /// Plays `wav` with `pw-play` (to `target`, a node name or serial, or the
    /// default sink), with extra stream properties (e.g. `application.name`).
    /// Returns at once; see [`Proc::wait`].
    pub fn play(&self, wav: &Path, target: Option<&str>, props: &[(&str, &str)]) -> Result<Proc> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut all: Vec<(&str, String)> =
            vec![("node.name", format!("headroom-session-play-{n}"))];
        all.extend(props.iter().map(|(k, v)| (*k, v.to_string())));
        let node_name = last_value(&all, "node.name");
        let mut c = self.command("pw-play");
        if let Some(t) = target {
            c.arg("--target").arg(t);
        }
        c.arg("-P").arg(spa_json_props(&all)).arg(wav);
        self.spawn_proc(c, &format!("play-{n}"), node_name)
    }

    /// Records what is played to sink `target` (its monitor ports), as
    /// float32/48 kHz/stereo WAV (bit-exact with a float32 stereo 48 kHz
    /// graph), for `seconds` (see [`Recording::finish`]). Returns once the
    /// recorder is linked to `target`, so nothing played afterwards is missed.
    pub fn record(&self, target: &str, seconds: f64, out_wav: &Path) -> Result<Recording> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let node_name = format!("headroom-session-rec-{n}");
        let mut c = self.command("pw-record");
        // `stream.capture.sink=true` is what makes WirePlumber link a capture
        // stream to a *sink's monitor*. Without it `--target <sink>` is not
        // matched and WP silently falls back to the default source.
        c.args([
            "--target",
            target,
            "--format",
            "f32",
            "--rate",
            "48000",
            "--channels",
            "2",
        ])
        .arg("-P")
        .arg(spa_json_props(&[
            ("node.name", node_name.clone()),
            ("stream.capture.sink", "true".into()),
            ("node.dont-reconnect", "true".into()),
        ]))
        .arg(out_wav);
        let proc = self.spawn_proc(c, &format!("rec-{n}"), node_name.clone())?;
        let rec = Recording {
            proc,
            until: Instant::now() + Duration::from_secs_f64(seconds),
            path: out_wav.to_path_buf(),
        };
        // Linked to the sink's monitor before we return.
        self.wait_linked(target, &node_name)?;
        Ok(rec)
    }

    fn spawn_proc(&self, mut c: Command, tag: &str, node_name: String) -> Result<Proc> {
        let log = self.root.join(format!("{tag}.log"));
        let f = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let f2 = f.try_clone().context("session directory I/O")?;
        let child = c
            .stdout(Stdio::from(f))
            .stderr(Stdio::from(f2))
            .spawn()
            .with_context(|| format!("spawning {tag}"))?;
        Ok(Proc {
            child,
            log,
            node_name,
        })
    }

    /// Kills PipeWire (SIGKILL, like a crash) and WirePlumber, and waits for both.
    /// Does nothing to an existing (user's) session.
    pub fn kill_pipewire(&mut self) {
        if !self.private {
            return;
        }
        if let Some(mut c) = self.pipewire.take() {
            signal(&c, SIGKILL);
            let _ = c.wait();
        }
        if let Some(mut c) = self.wireplumber.take() {
            // WirePlumber exits by itself when PipeWire goes away.
            if wait_timeout(&mut c, Duration::from_secs(2)).is_none() {
                stop_child(&mut c, Duration::from_secs(2));
            }
        }
        // Let clients notice; leave no stale socket behind.
        let _ = fs::remove_file(self.runtime_dir.join("pipewire-0"));
        let _ = fs::remove_file(self.runtime_dir.join("pipewire-0.lock"));
    }

    /// Kills PipeWire and WirePlumber if running, starts them again, re-creates
    /// `speakers` and waits until it is the default sink.
    pub fn restart_pipewire(&mut self) -> Result<()> {
        self.require_private()?;
        self.kill_pipewire();
        self.start_daemons()
    }

    /// Whether the PipeWire process we started is still running.
    pub fn pipewire_running(&mut self) -> bool {
        self.pipewire
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    // ---- internals ----

    fn require_private(&self) -> Result<()> {
        if self.private {
            Ok(())
        } else {
            bail!("refusing to change a PipeWire session this process did not start")
        }
    }

    fn write_wireplumber_config(&self) -> Result<()> {
        let w = |rel: &str, text: &str| -> Result<()> {
            let p = self.config_dir.join(rel);
            if let Some(dir) = p.parent() {
                fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            fs::write(&p, text).with_context(|| format!("writing {}", p.display()))
        };
        // WirePlumber 0.4 (Lua config, merged with the system's by file name).
        w(
            "wireplumber/main.lua.d/51-headroom-test.lua",
            "alsa_monitor.enabled = false\nv4l2_monitor.enabled = false\nlibcamera_monitor.enabled = false\n",
        )?;
        w(
            "wireplumber/bluetooth.lua.d/51-headroom-test.lua",
            "bluez_monitor.enabled = false\n",
        )?;
        // WirePlumber 0.5 (SPA-JSON fragments).
        w(
            "wireplumber/wireplumber.conf.d/51-headroom-test.conf",
            "wireplumber.profiles = {\n  main = {\n    hardware.audio = disabled\n    \
             hardware.bluetooth = disabled\n    hardware.video-capture = disabled\n  }\n}\n",
        )
    }

    fn start_dbus(&mut self) -> Result<()> {
        if which("dbus-daemon").is_none() {
            // PipeWire and WirePlumber run without a session bus (no
            // reservation/portal features, which a null sink doesn't need).
            return Ok(());
        }
        let sock = self.runtime_dir.join("bus");
        let addr = format!("unix:path={}", sock.display());
        let log = self.root.join("dbus.log");
        let mut c = self.command("dbus-daemon");
        c.args(["--session", "--nofork", "--nopidfile", "--nosyslog"])
            .arg(format!("--address={addr}"));
        self.dbus = Some(spawn_logged(c, &log, "dbus-daemon")?);
        wait_for("the session bus socket", WAIT, || {
            sock.exists().then_some(())
        })
        .map_err(|e| anyhow!("{e}\n--- dbus.log ---\n{}", tail(&log, 20)))?;
        self.bus_address = Some(addr);
        Ok(())
    }

    fn start_daemons(&mut self) -> Result<()> {
        self.generation += 1;
        let g = self.generation;
        let pw_log = self.root.join(format!("pipewire.{g}.log"));
        self.pipewire = Some(spawn_logged(self.command("pipewire"), &pw_log, "pipewire")?);
        // Up when the socket exists and a client gets an answer.
        let sock = self.runtime_dir.join("pipewire-0");
        let deadline = Instant::now() + WAIT;
        loop {
            if !self.pipewire_running() {
                return Err(self.with_logs(anyhow!("pipewire exited during startup")));
            }
            if sock.exists()
                && self
                    .run_output("pw-cli", &["info", "0"])
                    .is_ok_and(|o| o.status.success())
            {
                break;
            }
            if Instant::now() >= deadline {
                return Err(self.with_logs(anyhow!("pipewire not answering after {WAIT:?}")));
            }
            sleep(Duration::from_millis(50));
        }

        let wp_log = self.root.join(format!("wireplumber.{g}.log"));
        self.wireplumber = Some(spawn_logged(
            self.command("wireplumber"),
            &wp_log,
            "wireplumber",
        )?);
        // WirePlumber is ready once it has published the `default` metadata.
        wait_for("WirePlumber's `default` metadata", WAIT, || {
            self.objects("Metadata")
                .ok()
                .filter(|m| m.iter().any(|o| o.prop("metadata.name") == Some("default")))
                .map(drop)
        })
        .map_err(|e| self.with_logs(e))?;
        self.add_speakers()
    }

    /// Appends the daemons' log tails to an error.
    fn with_logs(&self, e: Error) -> Error {
        let g = self.generation;
        anyhow!(
            "{e:#}\n--- pipewire.{g}.log (tail) ---\n{}\n--- wireplumber.{g}.log (tail) ---\n{}\n(logs in {})",
            tail(&self.root.join(format!("pipewire.{g}.log")), 20),
            tail(&self.root.join(format!("wireplumber.{g}.log")), 20),
            self.root.display()
        )
    }
}

impl Drop for PwSession {
    fn drop(&mut self) {
        // Clients first, then the daemons, all by PID.
        if let Some(mut c) = self.wireplumber.take() {
            stop_child(&mut c, Duration::from_secs(3));
        }
        if let Some(mut c) = self.pipewire.take() {
            stop_child(&mut c, Duration::from_secs(3));
        }
        if let Some(mut c) = self.dbus.take() {
            stop_child(&mut c, Duration::from_secs(3));
        }
        if self.keep {
            eprintln!("headroom-session: kept {}", self.root.display());
        } else {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

/// A client process we started (`pw-play`, `pw-record`); killed by PID on drop.
pub struct Proc {
    child: Child,
    log: PathBuf,
    node_name: String,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
    /// The stream's `node.name`.
    pub fn node_name(&self) -> &str {
        &self.node_name
    }
    /// Waits up to `timeout` for the process to exit successfully.
    pub fn wait(mut self, timeout: Duration) -> Result<()> {
        match wait_timeout(&mut self.child, timeout) {
            Some(st) if st.success() => Ok(()),
            Some(st) => Err(anyhow!(
                "{} exited with {st}: {}",
                self.node_name,
                tail(&self.log, 20)
            )),
            None => Err(anyhow!(
                "{} still running after {timeout:?}: {}",
                self.node_name,
                tail(&self.log, 20)
            )),
        }
    }
    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
    /// Stops it now (SIGTERM, then SIGKILL).
    pub fn stop(mut self) {
        stop_child(&mut self.child, Duration::from_secs(2));
    }
    /// What it printed.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        stop_child(&mut self.child, Duration::from_secs(2));
    }
}

/// A running `pw-record`.
pub struct Recording {
    proc: Proc,
    until: Instant,
    path: PathBuf,
}

impl Recording {
    pub fn node_name(&self) -> &str {
        self.proc.node_name()
    }
    /// Waits until the requested duration has passed, then stops the recorder
    /// cleanly (SIGINT, so the WAV header is finalized) and returns the file.
    pub fn finish(self) -> Result<PathBuf> {
        let now = Instant::now();
        if self.until > now {
            sleep(self.until - now);
        }
        self.stop()
    }
    /// Stops recording now (SIGINT, so the WAV header is finalized).
    pub fn stop(mut self) -> Result<PathBuf> {
        signal(&self.proc.child, SIGINT);
        match wait_timeout(&mut self.proc.child, Duration::from_secs(5)) {
            Some(_) => Ok(self.path.clone()),
            None => Err(anyhow!(
                "pw-record did not stop on SIGINT: {}",
                tail(&self.proc.log, 20)
            )),
        }
    }
}

// ---- parsing the tools' output (std only) -------------------------------

fn keep_requested() -> bool {
    std::env::var_os("HEADROOM_PW_KEEP").is_some_and(|v| v != "0")
}

/// Parses `pw-cli ls <kind>`:
/// ```text
///     id 36, type PipeWire:Interface:Node/3
///         object.serial = "36"
///         node.name = "speakers"
/// ```
pub fn parse_pw_cli_ls(text: &str) -> Vec<PwObject> {
    let mut out: Vec<PwObject> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("id ") {
            if let Some(id) = rest.split(',').next().and_then(|s| s.trim().parse().ok()) {
                out.push(PwObject {
                    id,
                    props: BTreeMap::new(),
                });
                continue;
            }
        }
        if let (Some(obj), Some((k, v))) = (out.last_mut(), t.split_once(" = ")) {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            obj.props.insert(k.trim().to_string(), v.to_string());
        }
    }
    out
}

/// Parses `pw-metadata` lines:
/// `update: id:0 key:'default.audio.sink' value:'{"name":"speakers"}' type:'Spa:String:JSON'`
pub fn parse_pw_metadata(text: &str) -> Vec<(u32, String, String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("update: id:") else {
            continue;
        };
        let Some((id, rest)) = rest.split_once(" key:'") else {
            continue;
        };
        let Some((key, rest)) = rest.split_once("' value:'") else {
            continue;
        };
        let (value, ty) = match rest.rsplit_once("' type:'") {
            Some((v, t)) => (v, t.trim_end_matches('\'')),
            None => (rest.trim_end_matches('\''), ""),
        };
        if let Ok(id) = id.trim().parse() {
            out.push((id, key.to_string(), value.to_string(), ty.to_string()));
        }
    }
    out
}

/// `{"name":"speakers"}` (any spacing) → `speakers`.
fn json_name(v: &str) -> Option<String> {
    let i = v.find("\"name\"")?;
    let rest = v[i + 6..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

/// Parses `pw-link -l`:
/// ```text
/// speakers:monitor_FL
///   |-> pw-record:input_FL
/// pw-record:input_FL
///   |<- speakers:monitor_FL
/// ```
pub fn parse_pw_link(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cur: Option<&str> = None;
    for line in text.lines() {
        if !line.starts_with(char::is_whitespace) {
            cur = Some(line.trim());
        } else if let Some(c) = cur {
            let t = line.trim();
            if let Some(to) = t.strip_prefix("|->") {
                out.push((c.to_string(), to.trim().to_string()));
            } else if let Some(from) = t.strip_prefix("|<-") {
                out.push((from.trim().to_string(), c.to_string()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// `{ "k" = "v" ... }` for `pw-cat -P`; quoting keeps spaces in values intact.
fn spa_json_props(props: &[(&str, String)]) -> String {
    let mut s = String::from("{");
    for (k, v) in props {
        let v = v.replace('\\', "\\\\").replace('"', "\\\"");
        s.push_str(&format!(" \"{k}\" = \"{v}\""));
    }
    s.push_str(" }");
    s
}

fn last_value(props: &[(&str, String)], key: &str) -> String {
    props
        .iter()
        .rev()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// `program`'s path if it is in a `PATH` directory.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Minimal float32 WAV I/O (std only).
pub mod wav {
    use anyhow::{anyhow, Context, Result};
    use std::fs;
    use std::path::Path;

    /// Interleaved float32 audio.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Wav {
        pub rate: u32,
        pub channels: u16,
        pub samples: Vec<f32>,
    }

    impl Wav {
        pub fn frames(&self) -> usize {
            self.samples.len() / self.channels.max(1) as usize
        }
        /// Index of the first frame with a non-zero sample.
        pub fn first_nonzero_frame(&self) -> Option<usize> {
            self.samples
                .iter()
                .position(|s| *s != 0.0)
                .map(|i| i / self.channels as usize)
        }
        /// Index after the last frame with a non-zero sample.
        pub fn end_nonzero_frame(&self) -> Option<usize> {
            self.samples
                .iter()
                .rposition(|s| *s != 0.0)
                .map(|i| i / self.channels as usize + 1)
        }
        /// One channel's samples.
        pub fn channel(&self, c: usize) -> Vec<f32> {
            self.samples
                .iter()
                .skip(c)
                .step_by(self.channels as usize)
                .copied()
                .collect()
        }
    }

    /// Writes a WAVE_FORMAT_IEEE_FLOAT file.
    pub fn write(path: &Path, w: &Wav) -> Result<()> {
        let data_len = (w.samples.len() * 4) as u32;
        let mut b = Vec::with_capacity(44 + data_len as usize);
        b.extend_from_slice(b"RIFF");
        b.extend_from_slice(&(36 + data_len).to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&3u16.to_le_bytes()); // IEEE float
        b.extend_from_slice(&w.channels.to_le_bytes());
        b.extend_from_slice(&w.rate.to_le_bytes());
        b.extend_from_slice(&(w.rate * 4 * w.channels as u32).to_le_bytes());
        b.extend_from_slice(&(4 * w.channels).to_le_bytes());
        b.extend_from_slice(&32u16.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&data_len.to_le_bytes());
        for s in &w.samples {
            b.extend_from_slice(&s.to_le_bytes());
        }
        fs::write(path, b).with_context(|| format!("writing {}", path.display()))
    }

    /// Reads a float32 WAV (format 3, or EXTENSIBLE with float data); walks
    /// all chunks (pw-record writes `fact` and `PEAK`); tolerates an
    /// unfinalized data size by reading to the end of the file.
    pub fn read(path: &Path) -> Result<Wav> {
        let d = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let bad = |m: &str| anyhow!("{}: {m}", path.display());
        if d.len() < 12 || &d[0..4] != b"RIFF" || &d[8..12] != b"WAVE" {
            return Err(bad("not a RIFF/WAVE file"));
        }
        let u16at = |i: usize| u16::from_le_bytes([d[i], d[i + 1]]);
        let u32at = |i: usize| u32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
        let mut i = 12;
        let mut fmt: Option<(u16, u16, u32, u16)> = None;
        while i + 8 <= d.len() {
            let id = &d[i..i + 4];
            let len = u32at(i + 4) as usize;
            let body = i + 8;
            if id == b"fmt " {
                if body + 16 > d.len() {
                    return Err(bad("short fmt chunk"));
                }
                let mut tag = u16at(body);
                if tag == 0xFFFE && len >= 40 {
                    tag = u16at(body + 24); // SubFormat GUID's first two bytes
                }
                fmt = Some((tag, u16at(body + 2), u32at(body + 4), u16at(body + 14)));
            } else if id == b"data" {
                let (tag, channels, rate, bits) = fmt.ok_or_else(|| bad("data before fmt"))?;
                if tag != 3 || bits != 32 {
                    return Err(bad(&format!("not float32 (format tag {tag}, {bits} bits)")));
                }
                let end = if len == 0 || len == u32::MAX as usize || body + len > d.len() {
                    d.len()
                } else {
                    body + len
                };
                let samples = d[body..end]
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                return Ok(Wav {
                    rate,
                    channels,
                    samples,
                });
            }
            i = body + len + (len & 1);
        }
        Err(bad("no data chunk"))
    }
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn parses_tool_output() {
        let ls = "\tid 36, type PipeWire:Interface:Node/3\n \t\tobject.serial = \"37\"\n \t\tnode.name = \"speakers\"\n\tid 40, type PipeWire:Interface:Node/3\n \t\tnode.name = \"x y\"\n";
        let o = parse_pw_cli_ls(ls);
        assert_eq!(o.len(), 2);
        assert_eq!(
            (o[0].id, o[0].name(), o[0].serial()),
            (36, Some("speakers"), Some(37))
        );
        assert_eq!(o[1].name(), Some("x y"));
        let md = "Found \"default\" metadata 33\nupdate: id:0 key:'default.audio.sink' value:'{\"name\":\"speakers\"}' type:'Spa:String:JSON'\n";
        let m = parse_pw_metadata(md);
        assert_eq!(m.len(), 1);
        assert_eq!(json_name(&m[0].2).as_deref(), Some("speakers"));
        assert_eq!(
            json_name("{ \"name\": \"headroom\" }").as_deref(),
            Some("headroom")
        );
        let l = parse_pw_link(
            "speakers:monitor_FL\n  |-> rec:input_FL\nrec:input_FL\n  |<- speakers:monitor_FL\n",
        );
        assert_eq!(
            l,
            vec![(
                "speakers:monitor_FL".to_string(),
                "rec:input_FL".to_string()
            )]
        );
    }
}
