//! `headroom demo`: hear and see what Headroom does, on any machine.
//!
//! 1. A PipeWire session: the user's, when one answers (see
//!    [`headroom_session::reachable_socket`]), else (or with `--private`) a
//!    private one with a null sink `speakers` (silent: no sound card opened).
//! 2. A `headroomd` of its own: found next to this executable, else on
//!    `PATH`; private socket, config and state (the user's settings are never
//!    read or written), never `--promote-default` (the user's default sink is
//!    left alone). Its profile `demo` is the default chain with a faster AGC
//!    and `default_route = "bypass"`, so only the demo's own stream is
//!    processed; other apps stay on the sink they play to.
//! 3. The built-in [`programme`], played through Headroom and then bypassed,
//!    each recorded from the real sink's monitor.
//! 4. Both recordings measured with dsp-core's meter ([`measure`]), shown
//!    side by side (or as one JSON object), and plotted ([`plot`]).
//!
//! Everything it starts (PipeWire, WirePlumber, dbus, headroomd, pw-play,
//! pw-record) is stopped by PID when it finishes or fails (drop guards), and
//! its temporary directory removed. Each of those runs in a process group of
//! its own, so a Ctrl-C typed in the terminal reaches only `headroom`, which
//! takes SIGINT and SIGTERM ([`crate::interrupt`]), stops them in order
//! (clients, headroomd, WirePlumber, PipeWire, dbus), removes the directory
//! and exits with 130 (143 for SIGTERM, 129 for SIGHUP: a closed terminal
//! would otherwise leave the children, out of its process group, running). The demo's own waits look for the
//! signal every 20 ms; a wait inside the session crate (bounded, 15 s at
//! most, usually well under a second) finishes first.

mod font;
mod plot;
mod programme;

use crate::client::Client;
use crate::cmd::analyze::{measure, Analysis};
use crate::interrupt;
use crate::Failure;
use anyhow::{anyhow, Context};
use dsp_core::dsp::loudness::LoudnessMeter;
use headroom_session::{self as session, wav, PwSession, SPEAKERS};
use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// `application.name` of the processed run (routed by the demo profile).
const APP_PROCESSED: &str = "Headroom demo (processed)";
/// `application.name` of the bypassed run (the profile's default route).
const APP_BYPASSED: &str = "Headroom demo (bypassed)";
/// Headroom's sink and its output stream (see daemon/src/audio/graph.rs).
const HEADROOM_SINK: &str = "headroom";
const HEADROOM_OUTPUT: &str = "headroom.output";
/// The AGC made fast enough for a 20 s programme (everyday: 8 s, 3 dB/s).
const AGC_WINDOW_S: f64 = 2.0;
const AGC_MAX_RATE_DB_PER_S: f64 = 12.0;
/// The demo daemon's profile.
const DEMO_PROFILE: &str = r#"description = "headroom demo: the default chain, a faster AGC, only the demo's stream processed"
default_route = "bypass"

[agc]
window_s = 2.0
max_rate_db_per_s = 12.0

[[route]]
app = "Headroom demo (processed)"
mode = "processed"
"#;
/// Tools a client of an existing session needs.
const CLIENT_TOOLS: [&str; 5] = ["pw-cli", "pw-link", "pw-metadata", "pw-play", "pw-record"];

/// Progress goes to stderr so `--json` output stays one object on stdout.
/// A closed terminal (SIGHUP) is no reason to stop cleaning up: write
/// errors are ignored.
fn say(msg: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "headroom demo: {msg}");
}

/// Every process the demo's session starts gets a process group of its own.
const SESSION_OPTIONS: session::Options = session::Options {
    own_process_groups: true,
};

/// `headroom demo [--plot PATH] [--private]`.
pub fn run(plot_path: &Path, private: bool, json: bool) -> Result<(), Failure> {
    interrupt::catch()?;
    interrupt::on_signal(|| {
        if let Some(s) = interrupt::received() {
            say(format!(
                "{}: stopping everything the demo started…",
                s.name()
            ));
        }
    });
    let result = demo(plot_path, private, json);
    // `demo` has returned, so its guards have stopped everything it started
    // and removed its temporary directory.
    match interrupt::received() {
        Some(s) => Err(Failure {
            code: s.exit_code(),
            error: anyhow!(
                "demo interrupted ({}): everything it started is stopped and its temporary \
                 directory removed",
                s.name()
            ),
            hint: None,
        }),
        None => result,
    }
}

fn demo(plot_path: &Path, private: bool, json: bool) -> Result<(), Failure> {
    let session = open_session(private)?;
    interrupt::check()?;
    if !session.is_private() && session.node(HEADROOM_SINK)?.is_some() {
        return Err(Failure {
            code: 2,
            error: anyhow!(
                "a `{HEADROOM_SINK}` sink already exists in your PipeWire session (is headroomd running?)"
            ),
            hint: Some(
                "stop it for the demo (`systemctl --user stop headroomd`), or run \
                 `headroom demo --private` for a private, silent session"
                    .into(),
            ),
        });
    }
    let private = session.is_private();
    let mut daemon = Daemon::start(&session)?;
    let status = daemon.wait_running()?;
    interrupt::check()?;
    let real_sink = if private {
        SPEAKERS.to_string()
    } else {
        status["sink"]
            .as_str()
            .context("headroomd reports no real sink")?
            .to_string()
    };
    session.wait_linked(HEADROOM_OUTPUT, &real_sink)?;
    interrupt::check()?;
    let mut client = daemon.client()?;
    let target_lufs = setting(&mut client, "agc.target_lufs")?;
    let ceiling_dbtp = setting(&mut client, "limiter.ceiling_dbtp")?;

    let src = session.dir().join("programme.wav");
    wav::write(
        &src,
        &wav::Wav {
            rate: programme::RATE_HZ,
            channels: programme::CHANNELS as u16,
            samples: programme::programme(),
        },
    )?;
    let len_s = programme::programme_frames() as f64 / programme::RATE_HZ as f64;
    if !session.is_private() {
        say(format!(
            "playing a {len_s:.0} s programme twice on `{real_sink}` (quiet speech, loud bursts, \
             inter-sample peaks; turn your volume down a little)"
        ));
    }
    say(format!(
        "1/2 through Headroom (recording the monitor of `{real_sink}`, {len_s:.0} s)"
    ));
    let after = play_and_record(&session, &src, HEADROOM_SINK, APP_PROCESSED, &real_sink)?;
    say(format!("2/2 bypassed ({len_s:.0} s)"));
    let before = play_and_record(&session, &src, &real_sink, APP_BYPASSED, &real_sink)?;
    drop(client);
    drop(daemon);
    drop(session);

    interrupt::check()?;
    let rate = programme::RATE_HZ;
    let a_before = measure(&before, rate, programme::CHANNELS)?;
    let a_after = measure(&after, rate, programme::CHANNELS)?;
    let (st_before, tp_before) = series(&before)?;
    let (st_after, tp_after) = series(&after)?;
    plot::write(
        plot_path,
        &plot::Series {
            shortterm_lufs: &st_before,
            true_peak_dbtp: &tp_before,
        },
        &plot::Series {
            shortterm_lufs: &st_after,
            true_peak_dbtp: &tp_after,
        },
        target_lufs,
        ceiling_dbtp,
    )?;
    interrupt::check()?;

    if json {
        crate::outln!(
            "{}",
            json!({
                "before": side(&a_before),
                "after": side(&a_after),
                "target_lufs": target_lufs,
                "ceiling_dbtp": ceiling_dbtp,
                "plot": plot_path,
                "session": if private { "private" } else { "existing" },
                "sink": real_sink,
                "agc": {"window_s": AGC_WINDOW_S, "max_rate_db_per_s": AGC_MAX_RATE_DB_PER_S},
            })
        );
    } else {
        print_table(&a_before, &a_after, target_lufs, ceiling_dbtp);
        crate::outln!();
        crate::outln!(
            "plot: {} (short-term loudness above, true peak per 100 ms below; \
             grey = bypassed, blue = Headroom; dashed: target and ceiling)",
            plot_path.display()
        );
        crate::outln!(
            "The demo's headroomd ran with a faster AGC (agc.window_s = {AGC_WINDOW_S} s, \
             agc.max_rate_db_per_s = {AGC_MAX_RATE_DB_PER_S} dB/s; everyday defaults 8 s and \
             3 dB/s) so a {len_s:.0} s programme shows it; its settings lived in a temporary \
             directory, now removed."
        );
        if !private {
            crate::outln!(
                "Recorded from the monitor of `{real_sink}`: anything else playing meanwhile is \
                 in these numbers too."
            );
        }
    }
    Ok(())
}

fn open_session(private: bool) -> Result<PwSession, Failure> {
    let existing = !private && session::reachable_socket().is_some();
    let needed: &[&str] = if existing {
        &CLIENT_TOOLS
    } else {
        session::TOOLS
    };
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|t| session::which(t).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(Failure {
            code: 2,
            error: anyhow!(
                "the demo needs PipeWire's tools; not found in PATH: {}",
                missing.join(", ")
            ),
            hint: Some(format!("sudo apt-get install -y {}", session::PACKAGES)),
        });
    }
    if existing {
        say("using your running PipeWire session (your default sink is left as it is)");
        Ok(PwSession::existing_with(SESSION_OPTIONS)?)
    } else {
        say(
            "no PipeWire session in use: starting a private one with a null sink `speakers` \
             (silent: nothing reaches a sound card)",
        );
        Ok(PwSession::start_with(SESSION_OPTIONS)
            .context("cannot start a private PipeWire session")?)
    }
}

/// The demo's own headroomd; stopped (SIGTERM, so it removes its routing
/// keys, then SIGKILL) on drop.
struct Daemon {
    child: Child,
    socket: PathBuf,
    log: PathBuf,
}

impl Daemon {
    fn start(s: &PwSession) -> Result<Daemon, Failure> {
        let bin = headroomd_path().ok_or_else(|| Failure {
            code: 2,
            error: anyhow!("headroomd not found next to this executable or in PATH"),
            hint: Some("build both binaries: `cargo build --release`".into()),
        })?;
        let root = s.dir().join("headroomd");
        let config = root.join("config");
        let state = root.join("state");
        let profiles = config.join("headroom").join("profiles");
        std::fs::create_dir_all(&profiles)
            .with_context(|| format!("creating {}", profiles.display()))?;
        std::fs::write(profiles.join("demo.toml"), DEMO_PROFILE)
            .context("writing the demo profile")?;
        headroom_config::state::save(
            &state.join("headroom").join("state.toml"),
            &headroom_config::state::State {
                profile: Some("demo".into()),
                ..Default::default()
            },
        )
        .context("writing the demo daemon's state")?;
        let socket = s.dir().join("headroom.sock");
        let log = s.dir().join("headroomd.log");
        let log_file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = s
            .command(&bin)
            .arg("--socket")
            .arg(&socket)
            .env("XDG_CONFIG_HOME", &config)
            .env("XDG_STATE_HOME", &state)
            .env_remove("HEADROOM_SOCKET")
            .env_remove("HEADROOM_CAPS_TOKEN")
            .stdout(Stdio::null())
            .stderr(log_file)
            // Out of the terminal's foreground group: a Ctrl-C reaches
            // `headroom`, which stops headroomd after its clients.
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Ok(Daemon { child, socket, log })
    }

    fn client(&self) -> Result<Client, Failure> {
        Client::connect(&self.socket)
    }

    fn failed(&self, what: &str) -> Failure {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        anyhow!("{what}\n--- headroomd log (tail) ---\n{tail}").into()
    }

    /// Waits (15 s at most) until headroomd's sink is up in front of a real
    /// sink, with the demo profile active; returns its status.
    fn wait_running(&mut self) -> Result<Value, Failure> {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut client: Option<Client> = None;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Err(self.failed(&format!("headroomd exited ({st})")));
            }
            if Instant::now() >= deadline {
                return Err(self.failed("headroomd did not start its sink within 15 s"));
            }
            interrupt::sleep(Duration::from_millis(100))?;
            let Some(c) = client.as_mut() else {
                client = Client::connect(&self.socket).ok();
                continue;
            };
            let st = c.call("status", None)?;
            // `state` says "running" only while audio flows; the sink is up
            // once PipeWire is connected and a real sink is found.
            if st["pipewire"]["state"] == "connected" && st["sink"].is_string() {
                if st["profile"] != "demo" {
                    return Err(self.failed(&format!(
                        "headroomd did not take the demo profile (it runs {})",
                        st["profile"]
                    )));
                }
                return Ok(st);
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        session::stop_child(&mut self.child, Duration::from_secs(5));
    }
}

fn headroomd_path() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .map(|p| p.with_file_name("headroomd"))
        .filter(|p| p.is_file())
        .or_else(|| session::which("headroomd"))
}

fn setting(c: &mut Client, key: &str) -> Result<f64, Failure> {
    let v = c.call("setting.get", Some(json!({ "key": key })))?;
    v["value"]
        .as_f64()
        .ok_or_else(|| anyhow!("headroomd sent no number for {key}: {v}").into())
}

/// Plays `src` to `target` as `app` while recording `real_sink`'s monitor;
/// returns the recording from where the programme starts, programme-long.
///
/// # Errors
/// A tool fails, nothing reaches the sink, or a stop signal arrives (then
/// `pw-play` and `pw-record` are stopped on the way out).
fn play_and_record(
    s: &PwSession,
    src: &Path,
    target: &str,
    app: &str,
    real_sink: &str,
) -> Result<Vec<f32>, Failure> {
    let frames = programme::programme_frames();
    let len_s = frames as f64 / programme::RATE_HZ as f64;
    let tag = if target == HEADROOM_SINK {
        "after"
    } else {
        "before"
    };
    let out = s.dir().join(format!("{tag}.wav"));
    let rec = s.record(real_sink, len_s + 5.0, &out)?;
    interrupt::check()?;
    let mut play = s.play(
        src,
        Some(target),
        &[
            ("application.name", app),
            ("node.name", &format!("headroom-demo-{tag}")),
        ],
    )?;
    // Polled rather than `Proc::wait`, so a Ctrl-C is noticed within 20 ms.
    let limit = Duration::from_secs_f64(len_s + 15.0);
    let t0 = Instant::now();
    while play.running() {
        if t0.elapsed() >= limit {
            return Err(anyhow!("pw-play still playing after {limit:?}:\n{}", play.log()).into());
        }
        interrupt::sleep(Duration::from_millis(20))?;
    }
    // Exited: this only reads its status.
    play.wait(Duration::from_secs(1))?;
    // The last quantum and Headroom's 1.5 ms reach the monitor.
    interrupt::sleep(Duration::from_millis(300))?;
    let got = wav::read(&rec.stop()?)?;
    if (got.rate, got.channels as usize) != (programme::RATE_HZ, programme::CHANNELS) {
        return Err(anyhow!(
            "recorded {} Hz, {} channels; expected {} Hz stereo",
            got.rate,
            got.channels,
            programme::RATE_HZ
        )
        .into());
    }
    // Align on the first sound: the programme's starts after LEAD_S.
    let lead = (programme::LEAD_S * programme::RATE_HZ as f64) as usize;
    let first = got
        .first_nonzero_frame()
        .with_context(|| format!("nothing reached `{real_sink}` ({tag})"))?;
    let start = first.saturating_sub(lead) * programme::CHANNELS;
    let end = (start + frames * programme::CHANNELS).min(got.samples.len());
    Ok(got.samples[start..end].to_vec())
}

/// Short-term loudness and true peak, every 100 ms.
fn series(samples: &[f32]) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let rate = programme::RATE_HZ;
    let mut m = LoudnessMeter::<2>::new(rate, programme::CHANNELS)
        .map_err(|e| anyhow!("{e}"))
        .context("cannot measure the recording")?;
    let step = rate as usize / 10 * programme::CHANNELS;
    let (mut st, mut tp) = (Vec::new(), Vec::new());
    for chunk in samples.chunks(step) {
        m.process_interleaved(chunk);
        st.push(m.loudness_shortterm());
        tp.push(20.0 * (m.true_peak_window() as f64).log10());
        m.reset_window_peaks();
    }
    Ok((st, tp))
}

fn side(a: &Analysis) -> Value {
    json!({
        "integrated_lufs": a.integrated_lufs,
        "lra_lu": a.lra_lu,
        "true_peak_dbtp": a.true_peak_dbtp,
        "short_term_max_lufs": a.short_term_max_lufs,
    })
}

fn print_table(before: &Analysis, after: &Analysis, target_lufs: f64, ceiling_dbtp: f64) {
    let show = |v: Option<f64>, unit: &str| match v {
        Some(x) if unit == "dBTP" => format!("{x:>+7.1} {unit}"),
        Some(x) => format!("{x:>7.1} {unit}"),
        None => format!("{:>7} {unit}", "-inf"),
    };
    let rows = vec![
        vec![
            "integrated loudness".to_string(),
            show(before.integrated_lufs, "LUFS"),
            show(after.integrated_lufs, "LUFS"),
            format!("target {target_lufs} LUFS"),
        ],
        vec![
            "loudness range".to_string(),
            show(before.lra_lu, "LU"),
            show(after.lra_lu, "LU"),
            "smaller: fewer trips to the volume knob".to_string(),
        ],
        vec![
            "true peak".to_string(),
            show(before.true_peak_dbtp, "dBTP"),
            show(after.true_peak_dbtp, "dBTP"),
            format!("ceiling {ceiling_dbtp} dBTP"),
        ],
        vec![
            "short-term max".to_string(),
            show(before.short_term_max_lufs, "LUFS"),
            show(after.short_term_max_lufs, "LUFS"),
            "the loudest 3 s".to_string(),
        ],
    ];
    crate::render::table(&["", "before (bypassed)", "after (Headroom)", ""], &rows);
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsp_core::dsp::chain::{Chain, ChainConfig};

    /// The programme shows what the demo claims even offline: the demo
    /// profile's chain brings it toward the target, narrows its range and
    /// holds the ceiling.
    #[test]
    fn demo_profile_levels_the_programme_offline() {
        let profile =
            headroom_config::parse("demo", DEMO_PROFILE, headroom_config::Origin::Builtin).unwrap();
        let params = profile.params.dsp;
        assert_eq!(params.agc.window_s, AGC_WINDOW_S as f32);
        let input = programme::programme();
        let mut chain = Chain::<2>::with_params(
            ChainConfig {
                sample_rate_hz: programme::RATE_HZ,
                channels: 2,
            },
            &params,
        )
        .unwrap();
        let mut out = input.clone();
        for block in out.chunks_mut(960) {
            chain.process_interleaved(block);
        }
        let b = measure(&input, programme::RATE_HZ, 2).unwrap();
        let a = measure(&out, programme::RATE_HZ, 2).unwrap();
        let target = params.agc.target_lufs as f64;
        let ceiling = params.limiter.ceiling_dbtp as f64;
        eprintln!("before {b:?}\nafter  {a:?}");
        assert!(
            (a.integrated_lufs.unwrap() - target).abs()
                < (b.integrated_lufs.unwrap() - target).abs()
        );
        assert!(a.lra_lu.unwrap() < b.lra_lu.unwrap());
        assert!(b.true_peak_dbtp.unwrap() > 2.0);
        assert!(a.true_peak_dbtp.unwrap() <= ceiling + 0.1);
    }
}
