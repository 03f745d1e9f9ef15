//! The built `headroom` binary against a real `headroomd` on a private
//! runtime directory: human and --json output, exit codes, and the
//! daemon-not-running message.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Env {
    root: PathBuf,
    daemon: Option<Child>,
}

impl Env {
    fn new(tag: &str) -> Env {
        let root = std::env::temp_dir().join(format!("headroom-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for d in ["run", "config", "state", "home"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.join("run"), std::fs::Permissions::from_mode(0o700)).unwrap();
        Env { root, daemon: None }
    }

    fn envs(&self, cmd: &mut Command) {
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.root.join("home"))
            .env("XDG_RUNTIME_DIR", self.root.join("run"))
            .env("XDG_CONFIG_HOME", self.root.join("config"))
            .env("XDG_STATE_HOME", self.root.join("state"));
    }

    fn start_daemon(&mut self) {
        let bin = Path::new(env!("CARGO_BIN_EXE_headroom")).with_file_name("headroomd");
        assert!(
            bin.exists(),
            "{} not built (run cargo test --workspace)",
            bin.display()
        );
        let mut cmd = Command::new(bin);
        self.envs(&mut cmd);
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.daemon = Some(child);
        let sock = self.root.join("run/headroom/control.sock");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&sock).is_err() {
            assert!(Instant::now() < deadline, "daemon did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_headroom"));
        self.envs(&mut cmd);
        cmd.args(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        let text = self.ok(&a);
        serde_json::from_str(text.trim())
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {text}"))
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            let _ = d.kill();
            let _ = d.wait();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[test]
fn daemon_not_running_is_explained_with_exit_2() {
    let env = Env::new("down");
    let out = env.run(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("headroom: headroomd is not running"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn every_command_human_and_json() {
    let mut env = Env::new("all");
    env.start_daemon();

    let st = env.json(&["status"]);
    assert_eq!(st["profile"], "default");
    assert!(env.ok(&["status"]).contains("profile"));

    let list = env.json(&["profile", "list"]);
    assert_eq!(list["active"], "default");
    assert!(env.ok(&["profile", "list"]).contains("transparent"));
    assert_eq!(
        env.json(&["profile", "show", "night"])["settings"]["limiter.ceiling_dbtp"],
        -6.0
    );
    assert!(env.ok(&["profile", "show"]).contains("profile default"));
    assert_eq!(env.json(&["profile", "use", "speech"])["active"], "speech");
    assert!(env
        .ok(&["profile", "use", "default"])
        .contains("active profile: default"));
    assert!(
        env.json(&["profile", "reload"])["profiles"]
            .as_array()
            .unwrap()
            .len()
            >= 6
    );

    // Negative numbers work without `--`.
    assert_eq!(
        env.json(&["set", "limiter.ceiling_dbtp", "-2"])["value"],
        -2.0
    );
    assert!(env
        .ok(&["set", "limiter.ceiling_dbtp", "-1.5"])
        .contains("-1.5 (override)"));
    assert_eq!(
        env.json(&["get", "limiter.ceiling_dbtp"])["source"],
        "override"
    );
    assert_eq!(
        env.json(&["set", "compressor.detector", "peak"])["value"],
        "peak"
    );
    assert_eq!(env.json(&["set", "agc.enabled", "off"])["value"], false);
    let settings = env.json(&["settings"]);
    let items = settings["settings"].as_array().unwrap();
    let ceiling = items
        .iter()
        .find(|s| s["key"] == "limiter.ceiling_dbtp")
        .unwrap();
    assert_eq!(
        (
            ceiling["min"].as_f64(),
            ceiling["max"].as_f64(),
            ceiling["default"].as_f64()
        ),
        (Some(-20.0), Some(0.0), Some(-1.0))
    );
    let human = env.ok(&["settings"]);
    assert!(
        human.contains("KEY") && human.contains("RANGE") && human.contains("override"),
        "{human}"
    );
    assert_eq!(
        env.json(&["clear", "limiter.ceiling_dbtp"])["source"],
        "profile"
    );
    assert_eq!(env.json(&["reset"])["cleared"], 2);

    assert_eq!(env.json(&["bypass", "on"])["bypass"], true);
    assert_eq!(env.json(&["bypass", "toggle"])["bypass"], false);
    assert!(env.ok(&["bypass", "off"]).contains("unchanged"));

    // Multibyte app names survive the table.
    assert_eq!(
        env.json(&["route", "set", "Fïrefox 🦊", "bypass"])["mode"],
        "bypass"
    );
    let table = env.ok(&["route", "list"]);
    assert!(table.contains("Fïrefox 🦊"), "{table}");
    assert_eq!(
        env.json(&["route", "list"])["rules"][0]["app"],
        "Fïrefox 🦊"
    );
    env.ok(&["route", "unset", "Fïrefox 🦊"]);

    let raw = env.ok(&["raw", r#"{"id":"x","op":"ping"}"#]);
    let v: Value = serde_json::from_str(raw.trim()).unwrap();
    assert_eq!(
        (v["id"].as_str(), v["ok"].as_bool()),
        (Some("x"), Some(true))
    );

    assert!(env.ok(&["completions", "bash"]).contains("headroom"));
}

#[test]
fn refusals_exit_1_with_the_code_and_usage_errors_exit_2() {
    let mut env = Env::new("refuse");
    env.start_daemon();
    let out = env.run(&["set", "limiter.ceiling_dbtp", "3"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad_argument") && err.contains("-20 to 0"),
        "{err}"
    );
    let out = env.run(&["profile", "use", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not_found"));
    let out = env.run(&["get", "no.such.key"]);
    assert_eq!(out.status.code(), Some(1));
    let out = env.run(&["set", "agc.enabled", "maybe"]);
    assert_eq!(out.status.code(), Some(2));
    let out = env.run(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = env.run(&["raw", "{not json"]);
    assert_eq!(out.status.code(), Some(2));
    let out = env.run(&["monitor", "weather"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn monitor_prints_events_as_ndjson() {
    let mut env = Env::new("monitor");
    env.start_daemon();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_headroom"));
    env.envs(&mut cmd);
    let mut child = cmd
        .args(["monitor", "profile", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    env.ok(&["set", "agc.target_lufs", "-20"]);
    std::thread::sleep(Duration::from_millis(300));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let first: Value = serde_json::from_str(text.lines().next().unwrap_or("null")).unwrap();
    assert_eq!(first["event"], "setting_changed", "{text}");
    assert_eq!(first["data"]["key"], "agc.target_lufs");
}
