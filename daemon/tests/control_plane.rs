//! The real `headroomd` over its real socket: every op, every error code,
//! both framings, hostile and slow clients, limits, profiles, persistence,
//! signals. Audio is not involved (no PipeWire is needed here).

mod common;

use common::*;
use serde_json::json;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

fn setup(tag: &str) -> (Arc<TempDir>, Daemon) {
    let dirs = Arc::new(TempDir::new(tag));
    let d = Daemon::start(dirs.clone());
    (dirs, d)
}

#[test]
fn every_op_answers() {
    let (dirs, _d) = setup("ops");
    let mut c = Client::connect(&dirs.socket());
    let ping = c.ok("ping", json!(null));
    assert_eq!(ping["name"], "headroomd");
    assert_eq!(ping["protocol"], 1);
    let hello = c.ok("hello", json!(null));
    assert_eq!(hello["ops"].as_array().unwrap().len(), 19);
    let status = c.ok("status", json!(null));
    assert_eq!(status["profile"], "default");
    assert_eq!(status["state"], "waiting");

    let list = c.ok("profile.list", json!(null));
    let names: Vec<&str> = list["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for n in [
        "default",
        "speech",
        "music",
        "movie",
        "night",
        "transparent",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let night = c.ok("profile.show", json!({"name": "night"}));
    assert_eq!(night["settings"]["limiter.ceiling_dbtp"], -6.0);
    assert_eq!(
        c.ok("profile.use", json!({"name": "night"}))["changed"],
        true
    );
    assert_eq!(
        c.ok("profile.use", json!({"name": "night"}))["changed"],
        false
    );
    assert_eq!(
        c.ok("setting.get", json!({"key": "limiter.ceiling_dbtp"}))["source"],
        "profile"
    );
    c.ok("profile.reload", json!(null));

    let s = c.ok(
        "setting.set",
        json!({"key": "limiter.ceiling_dbtp", "value": -3}),
    );
    assert_eq!(
        (s["value"].as_f64(), s["source"].as_str()),
        (Some(-3.0), Some("override"))
    );
    c.ok(
        "setting.set",
        json!({"key": "compressor.detector", "value": "peak"}),
    );
    c.ok("setting.set", json!({"key": "agc.enabled", "value": false}));
    let all = c.ok("setting.list", json!(null));
    assert!(all["settings"].as_array().unwrap().len() >= 20);
    let lim = c.ok("setting.list", json!({"prefix": "limiter."}));
    assert!(lim["settings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["key"].as_str().unwrap().starts_with("limiter.")));
    let cleared = c.ok("setting.clear", json!({"key": "limiter.ceiling_dbtp"}));
    assert_eq!(
        (cleared["value"].as_f64(), cleared["source"].as_str()),
        (Some(-6.0), Some("profile"))
    );
    assert_eq!(c.ok("setting.reset", json!(null))["cleared"], 2);

    assert_eq!(c.ok("bypass.set", json!({"bypass": true}))["changed"], true);
    assert_eq!(c.ok("status", json!(null))["bypass"], true);
    c.ok("bypass.set", json!({"bypass": false}));

    let r = c.ok("route.set", json!({"app": "Firefox", "mode": "bypass"}));
    assert_eq!(r["replaced"], false);
    assert_eq!(
        c.ok("route.list", json!(null))["rules"][0]["app"],
        "Firefox"
    );
    c.ok("route.unset", json!({"app": "Firefox"}));

    let subs = c.ok(
        "subscribe",
        json!({"topics": [{"topic": "meters", "max_hz": 5}, "profile"]}),
    );
    assert_eq!(
        subs["topics"],
        json!([{"topic": "meters", "max_hz": 5}, "profile"])
    );
    c.ok(
        "setting.set",
        json!({"key": "agc.target_lufs", "value": -20}),
    );
    let ev = c.wait_event("setting_changed");
    assert_eq!(ev["data"]["key"], "agc.target_lufs");
    assert_eq!(
        c.ok("unsubscribe", json!({"topics": ["meters"]}))["topics"],
        json!(["profile"])
    );
    assert_eq!(c.ok("unsubscribe", json!(null))["topics"], json!([]));
}

#[test]
fn every_error_code_is_reachable_and_keeps_the_connection() {
    let dirs = Arc::new(TempDir::new("errors"));
    let d = Daemon::start_with(dirs.clone(), |cmd| {
        cmd.env("HEADROOM_CAPS_TOKEN", "secret");
    });
    let mut c = Client::connect(&dirs.socket());
    assert_eq!(c.err("no.such.op", json!(null)), "unknown_op");
    assert_eq!(
        c.err("setting.get", json!({"key": "Bad Key"})),
        "bad_argument"
    );
    assert_eq!(
        c.err("setting.get", json!({"key": "limiter.nope"})),
        "not_found"
    );
    assert_eq!(c.err("profile.show", json!({"name": "nope"})), "not_found");
    c.send_raw(
        b"{\"id\":97,\"op\":\"route.unset\",\"args\":{\"app\":\"nobody\"},\"caps\":\"secret\"}\n",
    );
    assert_eq!(c.response(97)["error"]["code"], "not_found");
    c.send_raw(b"{\"id\":98,\"op\":\"route.stream\",\"args\":{\"stream\":4242,\"mode\":\"processed\"},\"caps\":\"secret\"}\n");
    assert_eq!(c.response(98)["error"]["code"], "not_found");
    // Mutating without the token: denied; with it: fine.
    assert_eq!(c.err("bypass.set", json!({"bypass": true})), "denied");
    c.send_raw(
        b"{\"id\":99,\"op\":\"bypass.set\",\"args\":{\"bypass\":true},\"caps\":\"secret\"}\n",
    );
    assert_eq!(c.response(99)["ok"], true);
    // Out of range → bad_argument, and nothing changed.
    assert_eq!(
        c.err(
            "setting.set",
            json!({"key": "limiter.ceiling_dbtp", "value": 3.0})
        ),
        "denied"
    );
    c.send_raw(b"{\"id\":100,\"op\":\"setting.set\",\"args\":{\"key\":\"limiter.ceiling_dbtp\",\"value\":3.0},\"caps\":\"secret\"}\n");
    assert_eq!(c.response(100)["error"]["code"], "bad_argument");
    // Malformed JSON and non-objects: bad_message, connection stays.
    c.send_raw(b"{\"id\":7,\"op\":\"ping\"\n");
    let m = c.read_msg().unwrap();
    assert_eq!(m["error"]["code"], "bad_message", "{m}");
    c.send_raw(b"[\"ping\"]\n");
    assert_eq!(c.read_msg().unwrap()["error"]["code"], "bad_message");
    // Too deep: too_large, stays open.
    let deep = format!(
        "{{\"id\":8,\"op\":\"ping\",\"args\":{{\"x\":{}{}}}}}\n",
        "[".repeat(20),
        "]".repeat(20)
    );
    c.send_raw(deep.as_bytes());
    assert_eq!(c.read_msg().unwrap()["error"]["code"], "too_large");
    assert_eq!(c.ok("ping", json!(null))["protocol"], 1);
    // internal: the state directory is unwritable → the change is refused.
    let state_dir = dirs.state().join("headroom");
    std::fs::create_dir_all(&state_dir).unwrap();
    std::fs::remove_dir_all(&state_dir).unwrap();
    std::fs::write(&state_dir, b"not a directory").unwrap();
    c.send_raw(b"{\"id\":101,\"op\":\"setting.set\",\"args\":{\"key\":\"agc.target_lufs\",\"value\":-20},\"caps\":\"secret\"}\n");
    let r = c.response(101);
    assert_eq!(r["error"]["code"], "internal", "{r}");
    assert_eq!(
        c.ok("setting.get", json!({"key": "agc.target_lufs"}))["value"],
        -18.0,
        "rolled back"
    );
    drop(d);

    // Frame-level: bad first byte → bad_frame, then closed.
    let (dirs, _d) = setup("badframe");
    let mut s = UnixStream::connect(dirs.socket()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["error"]["code"], "bad_frame", "{out}");
    // Oversize length prefix → too_large, closed; other clients unaffected.
    let mut other = Client::connect(&dirs.socket());
    let mut s = UnixStream::connect(dirs.socket()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&[0, 1, 0, 1]).unwrap();
    let first = read_framed(&mut s).unwrap();
    assert_eq!(first["event"], "hello");
    let err = read_framed(&mut s).unwrap();
    assert_eq!(err["error"]["code"], "too_large", "{err}");
    assert!(read_framed(&mut s).is_none(), "connection must close");
    // An endless line → too_large.
    let mut s = UnixStream::connect(dirs.socket()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(&vec![b' '; 70_000]);
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.contains("too_large"), "{out}");
    assert_eq!(other.ok("ping", json!(null))["name"], "headroomd");
}

#[test]
fn length_prefixed_framing_and_split_frames() {
    let (dirs, _d) = setup("framed");
    let mut s = UnixStream::connect(dirs.socket()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // A request split at every byte boundary, one byte per write.
    let req = framed(r#"{"id":1,"op":"setting.get","args":{"key":"agc.target_lufs"}}"#);
    for b in &req {
        s.write_all(std::slice::from_ref(b)).unwrap();
        s.flush().unwrap();
    }
    assert_eq!(read_framed(&mut s).unwrap()["event"], "hello");
    let r = read_framed(&mut s).unwrap();
    assert_eq!(r["result"]["value"], -18.0, "{r}");
    // Keep-alive (zero-length frame), then two requests in one write.
    let mut two = framed("");
    two.extend(framed(r#"{"id":2,"op":"ping"}"#));
    two.extend(framed(r#"{"id":3,"cmd":"ping"}"#));
    s.write_all(&two).unwrap();
    assert_eq!(read_framed(&mut s).unwrap()["id"], 2);
    assert_eq!(read_framed(&mut s).unwrap()["id"], 3);
}

#[test]
fn a_subscriber_that_never_reads_is_bounded_and_told_what_it_lost() {
    let (dirs, d) = setup("slow");
    // The slow client subscribes and then stops reading.
    let mut slow = Client::connect(&dirs.socket());
    slow.ok("subscribe", json!({"topics": ["profile"]}));
    let rss_before = d.rss_kib();
    // Another client makes thousands of changes → thousands of events.
    let mut fast = Client::connect(&dirs.socket());
    for i in 0..3000 {
        let v = -20.0 - (i % 10) as f64;
        fast.ok("setting.set", json!({"key": "agc.target_lufs", "value": v}));
    }
    let rss_after = d.rss_kib();
    assert!(
        rss_after < rss_before + 8 * 1024,
        "daemon RSS grew from {rss_before} KiB to {rss_after} KiB with a stalled subscriber"
    );
    // Now the slow client reads: it gets events, then a dropped notice.
    let dropped = slow.wait_event("dropped");
    assert_eq!(dropped["data"]["lost_topic"], "profile");
    assert!(dropped["data"]["count"].as_u64().unwrap() > 0);
    assert!(
        dropped["data"]["total"].as_u64().unwrap() >= dropped["data"]["count"].as_u64().unwrap()
    );
    // And it still works.
    assert_eq!(slow.ok("ping", json!(null))["name"], "headroomd");
}

#[test]
fn connection_limit_refuses_with_busy() {
    let (dirs, _d) = setup("limit");
    let clients: Vec<Client> = (0..64).map(|_| Client::connect(&dirs.socket())).collect();
    let mut s = UnixStream::connect(dirs.socket()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"{\"id\":1,\"op\":\"ping\"}\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.contains("\"busy\""), "{out}");
    drop(clients);
    // Room again after the others leave.
    std::thread::sleep(Duration::from_millis(200));
    let mut c = Client::connect(&dirs.socket());
    c.ok("ping", json!(null));
}

#[test]
fn stale_socket_is_replaced_and_a_live_daemon_is_never_stolen() {
    let dirs = Arc::new(TempDir::new("stale"));
    // A stale socket file from a dead daemon.
    std::fs::create_dir_all(dirs.socket().parent().unwrap()).unwrap();
    drop(std::os::unix::net::UnixListener::bind(dirs.socket()).unwrap());
    assert!(dirs.socket().exists());
    let _d = Daemon::start(dirs.clone());
    Client::connect(&dirs.socket()).ok("ping", json!(null));
    // A second daemon on the same socket exits non-zero with a clear message.
    let out = command(&dirs).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already running"), "{err}");
    Client::connect(&dirs.socket()).ok("ping", json!(null));
    // Permissions per IPC.md.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dirs.socket()), 0o600);
    assert_eq!(mode(dirs.socket().parent().unwrap()), 0o700);
}

#[test]
fn profiles_hot_reload_and_broken_profiles_keep_the_last_good_version() {
    let dirs = Arc::new(TempDir::new("reload"));
    std::fs::create_dir_all(dirs.profiles()).unwrap();
    std::fs::write(
        dirs.profiles().join("mine.toml"),
        "[limiter]\nceiling_dbtp = -4.0\n",
    )
    .unwrap();
    let _d = Daemon::start(dirs.clone());
    let mut c = Client::connect(&dirs.socket());
    c.ok("subscribe", json!({"topics": ["profile"]}));
    c.ok("profile.use", json!({"name": "mine"}));
    assert_eq!(
        c.ok("setting.get", json!({"key": "limiter.ceiling_dbtp"}))["value"],
        -4.0
    );
    // Edit the file: picked up without any request.
    std::fs::write(
        dirs.profiles().join("mine.toml"),
        "[limiter]\nceiling_dbtp = -5.0\n",
    )
    .unwrap();
    c.wait_event("reloaded");
    assert_eq!(
        c.ok("setting.get", json!({"key": "limiter.ceiling_dbtp"}))["value"],
        -5.0
    );
    // Break it with a NaN: rejected as a whole, error names file, line and key; -5 stays.
    std::fs::write(
        dirs.profiles().join("mine.toml"),
        "description = \"x\"\n[limiter]\nceiling_dbtp = nan\n",
    )
    .unwrap();
    let ev = c.wait_event("error");
    let msg = ev["data"]["message"].as_str().unwrap();
    assert!(
        msg.contains("mine.toml:3") && msg.contains("limiter.ceiling_dbtp"),
        "{msg}"
    );
    assert_eq!(
        c.ok("setting.get", json!({"key": "limiter.ceiling_dbtp"}))["value"],
        -5.0
    );
    // profile.reload reports it too.
    let r = c.ok("profile.reload", json!(null));
    assert_eq!(r["errors"].as_array().unwrap().len(), 1, "{r}");
}

#[test]
fn sighup_reloads_profiles() {
    let (dirs, d) = setup("sighup");
    let mut c = Client::connect(&dirs.socket());
    c.ok("subscribe", json!({"topics": ["profile"]}));
    // Stop the watcher from doing it first: write outside, then move in is
    // also a change, so just check that SIGHUP alone yields a reload event.
    d.signal("HUP");
    c.wait_event("reloaded");
}

#[test]
fn state_persists_across_restart_and_corrupt_state_is_kept_aside() {
    let dirs = Arc::new(TempDir::new("persist"));
    {
        let _d = Daemon::start(dirs.clone());
        let mut c = Client::connect(&dirs.socket());
        c.ok("profile.use", json!({"name": "speech"}));
        c.ok(
            "setting.set",
            json!({"key": "limiter.ceiling_dbtp", "value": -2.5}),
        );
        c.ok("bypass.set", json!({"bypass": true}));
        c.ok("route.set", json!({"app": "spotify", "mode": "bypass"}));
    }
    {
        let _d = Daemon::start(dirs.clone());
        let mut c = Client::connect(&dirs.socket());
        let st = c.ok("status", json!(null));
        assert_eq!(
            (st["profile"].as_str(), st["bypass"].as_bool()),
            (Some("speech"), Some(true))
        );
        assert_eq!(
            c.ok("setting.get", json!({"key": "limiter.ceiling_dbtp"}))["value"],
            -2.5
        );
        assert_eq!(
            c.ok("route.list", json!(null))["rules"][0]["app"],
            "spotify"
        );
    }
    // Corrupt it: the daemon starts on defaults and the bad file is kept aside.
    std::fs::write(dirs.state_file(), "garbage = [\n").unwrap();
    let d = Daemon::start(dirs.clone());
    let mut c = Client::connect(&dirs.socket());
    assert_eq!(c.ok("status", json!(null))["profile"], "default");
    let aside: Vec<_> = std::fs::read_dir(dirs.state().join("headroom"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("state.toml.corrupt-")
        })
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(
        std::fs::read_to_string(aside[0].path()).unwrap(),
        "garbage = [\n"
    );
    assert!(d.log_text().contains("moved it to"), "{}", d.log_text());
}

#[test]
fn tells_systemd_when_ready() {
    let dirs = Arc::new(TempDir::new("notify"));
    let sock_path = dirs.0.join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _d = Daemon::start_with(dirs.clone(), |cmd| {
        cmd.env("NOTIFY_SOCKET", &sock_path);
    });
    let mut buf = [0u8; 64];
    let n = sock.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"READY=1");
}

#[test]
fn sigterm_shuts_down_cleanly_and_tells_clients() {
    let (dirs, mut d) = setup("term");
    let mut c = Client::connect(&dirs.socket());
    d.signal("TERM");
    let ev = c.wait_event("shutdown");
    assert_eq!(ev["topic"], "daemon");
    let st = d.wait_exit(Duration::from_secs(10));
    assert!(st.success(), "{st:?}");
    assert!(!dirs.socket().exists(), "socket removed on exit");
}

#[test]
fn command_line_help_version_and_mistakes() {
    let run = |args: &[&str]| {
        std::process::Command::new(daemon_bin())
            .args(args)
            .output()
            .unwrap()
    };
    let help = run(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--socket <PATH>",
        "--verbose",
        "--promote-default",
        "HEADROOM_SOCKET",
    ] {
        assert!(text.contains(flag), "help lacks {flag}:\n{text}");
    }
    let version = run(&["-V"]);
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("headroomd {}", env!("CARGO_PKG_VERSION"))
    );
    // A mistake never starts a daemon: it is named, with a hint, exit 2.
    for (args, cause) in [
        (&["--sokcet", "/tmp/x"][..], "unknown option '--sokcet'"),
        (&["--socket"][..], "option '--socket' needs a value"),
        (&["start"][..], "unexpected argument 'start'"),
    ] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with(&format!("headroomd: {cause}")),
            "{args:?}: {err}"
        );
        assert!(err.contains("hint: "), "{args:?}: {err}");
    }
}
