//! The CLI against a fake daemon that misbehaves: it closes mid-reply, sends
//! huge numbers and odd text, or answers garbage. The CLI must never panic:
//! it prints a clear error (exit 2) or renders what it got.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::thread;

/// Serves one connection: reads one request line, then writes `reply`.
fn fake_daemon(tag: &str, reply: &'static [u8]) -> (PathBuf, thread::JoinHandle<()>) {
    let dir = std::env::temp_dir().join(format!("headroom-hostile-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("control.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let handle = thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(reply);
        }
    });
    (sock, handle)
}

fn run(sock: &PathBuf, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_headroom"))
        .env("HEADROOM_SOCKET", sock)
        .args(args)
        .output()
        .unwrap()
}

fn assert_no_panic(out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "the CLI panicked: {err}");
}

#[test]
fn daemon_closing_mid_reply_is_a_clear_error() {
    let (sock, h) = fake_daemon(
        "midreply",
        b"{\"event\":\"hello\",\"topic\":\"daemon\",\"data\":{}}\n{\"id\":1,\"ok\":tr",
    );
    let out = run(&sock, &["status"]);
    h.join().unwrap();
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("headroom: headroomd closed the connection"),
        "{err}"
    );
}

#[test]
fn garbage_from_the_daemon_is_a_clear_error() {
    let (sock, h) = fake_daemon("garbage", b"\x00\x00\x00\x05{{{{{");
    let out = run(&sock, &["status"]);
    h.join().unwrap();
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn huge_numbers_and_odd_text_render_without_panicking() {
    let reply: &'static [u8] = concat!(
        "{\"id\":1,\"ok\":true,\"result\":{\"state\":\"running\",\"bypass\":false,",
        "\"profile\":\"\\u00e9\\u4e2d\\ud83c\\udfa7\",\"sample_rate_hz\":18446744073709551615,",
        "\"channels\":-1e308,\"sink\":\"\\u0000\\t\",\"streams\":1e300,\"uptime_s\":0.000000000001,",
        "\"levels\":{\"momentary_lufs\":null,\"shortterm_lufs\":-1.7976931348623157e308,",
        "\"integrated_lufs\":\"not a number\",\"true_peak_dbtp\":[],\"gain_db\":{},\"gain_reduction_db\":true}}}\n"
    )
    .as_bytes();
    let (sock, h) = fake_daemon("huge", reply);
    let out = run(&sock, &["status"]);
    h.join().unwrap();
    assert_no_panic(&out);
    // The frame may be rejected (1e999999 is not a finite number) or
    // rendered; either way the CLI answers and exits cleanly.
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(2),
        "{out:?}"
    );
}
