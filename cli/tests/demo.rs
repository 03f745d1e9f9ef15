//! `headroom demo` end to end: the built binaries against a private
//! PipeWire session that the demo starts itself (the test gives it a fresh,
//! empty `XDG_RUNTIME_DIR`, so it can never find another session).
//!
//! Needs `pipewire pipewire-bin wireplumber dbus` and `headroomd` built next
//! to `headroom` (`cargo test --workspace` builds both); fails, does not
//! skip, without them.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
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

/// Runs `headroom demo ARGS` with nothing of the caller's PipeWire in reach,
/// killing it if it outlives `limit`.
fn demo(dir: &Dir, args: &[&str], limit: Duration) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_headroom"));
    assert!(
        bin.with_file_name("headroomd").exists(),
        "headroomd not built next to {} (run cargo test --workspace)",
        bin.display()
    );
    let mut child = Command::new(bin)
        .arg("demo")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.0.join("home"))
        .env("XDG_RUNTIME_DIR", dir.0.join("run"))
        .env("XDG_CONFIG_HOME", dir.0.join("config"))
        .env("XDG_STATE_HOME", dir.0.join("state"))
        .env("TMPDIR", &dir.0)
        .current_dir(&dir.0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn headroom demo");
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
    let target = v["target_lufs"].as_f64().unwrap();
    let ceiling = v["ceiling_dbtp"].as_f64().unwrap();
    assert!(num(&v, "after", "true_peak_dbtp") <= ceiling + 0.1, "{v}");
    assert!(num(&v, "before", "true_peak_dbtp") > 0.0, "{v}");
    assert!(
        (num(&v, "after", "integrated_lufs") - target).abs()
            < (num(&v, "before", "integrated_lufs") - target).abs(),
        "{v}"
    );
    assert!(
        num(&v, "after", "lra_lu") < num(&v, "before", "lra_lu"),
        "{v}"
    );
    assert_eq!(v["plot"], plot.to_str().unwrap());
    assert_eq!(v["session"], "private");

    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&plot).expect("the plot exists"),
    ));
    let mut reader = decoder.read_info().expect("the plot is a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("the plot decodes");
    assert_eq!((info.width, info.height), (1000, 640));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    // Both series are drawn: grey (before) and blue (after) pixels exist.
    let px: Vec<&[u8]> = buf[..info.buffer_size()].chunks(3).collect();
    assert!(px.iter().any(|p| *p == [150, 150, 150]), "no grey line");
    assert!(px.iter().any(|p| *p == [25, 100, 210]), "no blue line");

    // Everything it started is gone: its temporary directories too.
    let left: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("headroom-pw"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
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
