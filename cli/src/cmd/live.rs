//! Streams: `monitor` (events as they arrive) and `meters` (a live view).
//!
//! `meters` takes SIGINT/SIGTERM ([`crate::interrupt`]) so that on a
//! terminal it always leaves the cursor visible and the screen tidy.

use crate::client::{socket_path, Client, Message};
use crate::render::scalar;
use crate::Failure;
use anyhow::anyhow;
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::path::Path;

const TOPICS: [&str; 4] = ["meters", "profile", "routing", "daemon"];

fn subscribe(c: &mut Client, topics: Vec<Value>) -> Result<(), Failure> {
    c.call("subscribe", Some(json!({ "topics": topics })))?;
    c.no_timeout();
    Ok(())
}

/// `headroom monitor [TOPIC...]`.
pub fn monitor(socket: Option<&Path>, topics: &[String], as_json: bool) -> Result<(), Failure> {
    for t in topics {
        if !TOPICS.contains(&t.as_str()) {
            return Err(Failure {
                code: 2,
                error: anyhow!("unknown topic {t:?}"),
                hint: Some(format!("topics: {}", TOPICS.join(", "))),
            });
        }
    }
    let wanted: Vec<Value> = if topics.is_empty() {
        TOPICS.iter().map(|t| json!(t)).collect()
    } else {
        topics.iter().map(|t| json!(t)).collect()
    };
    let mut c = Client::connect(&socket_path(socket)?)?;
    subscribe(&mut c, wanted)?;
    let mut out = std::io::stdout().lock();
    let pending: Vec<Message> = std::mem::take(&mut c.events);
    let mut print = |m: Message| -> std::io::Result<bool> {
        if let Message::Event { event, topic, data } = m {
            if event == "hello" {
                return Ok(true);
            }
            if as_json {
                writeln!(
                    out,
                    "{}",
                    json!({"event": event, "topic": topic, "data": data})
                )?;
            } else {
                writeln!(out, "{topic:<8} {event:<16} {data}")?;
            }
            out.flush()?;
            return Ok(event != "shutdown");
        }
        Ok(true)
    };
    for m in pending {
        if !print(m)? {
            return Ok(());
        }
    }
    while let Some(m) = c.next()? {
        if !print(m)? {
            return Ok(());
        }
    }
    Ok(())
}

/// A bar of `width` cells for `value` on a `lo`..`hi` scale.
fn bar(value: Option<f64>, lo: f64, hi: f64, width: usize) -> String {
    let filled = value.map_or(0, |v| {
        (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * width as f64).round() as usize
    });
    format!("{}{}", "█".repeat(filled), "·".repeat(width - filled))
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// Escape sequences of the live view (ECMA-48 / VT100, which every terminal
/// emulator in use understands).
mod esc {
    /// Hide the cursor while the view redraws (no flicker).
    pub const HIDE_CURSOR: &str = "\x1b[?25l";
    /// Show it again.
    pub const SHOW_CURSOR: &str = "\x1b[?25h";
    /// Erase the whole line the cursor is on.
    pub const ERASE_LINE: &str = "\x1b[2K";
    /// Move the cursor up `n` lines: `\x1b[{n}A`.
    pub fn up(n: usize) -> String {
        format!("\x1b[{n}A")
    }
}

/// Hides the cursor for the live view and shows it again when dropped: on
/// a normal end, an error, a signal or a panic alike.
struct HiddenCursor;

impl HiddenCursor {
    fn new(out: &mut impl Write) -> std::io::Result<HiddenCursor> {
        out.write_all(esc::HIDE_CURSOR.as_bytes())?;
        out.flush()?;
        Ok(HiddenCursor)
    }
}

impl Drop for HiddenCursor {
    fn drop(&mut self) {
        let mut out = std::io::stdout();
        let _ = out.write_all(esc::SHOW_CURSOR.as_bytes());
        let _ = out.flush();
    }
}

/// Why the stream of levels ended.
enum End {
    /// The daemon said it is exiting.
    Shutdown,
    /// The connection closed without a word (the daemon died).
    Closed,
}

/// `headroom meters`: levels until SIGINT/SIGTERM (exit 0) or the daemon
/// goes away (exit 0 if it said `shutdown`, 2 if the connection just
/// closed). On a terminal, a block of bars redrawn in place with the cursor
/// hidden, and shown again however the command ends.
pub fn meters(socket: Option<&Path>, as_json: bool) -> Result<(), Failure> {
    crate::interrupt::catch()?;
    let mut c = Client::connect(&socket_path(socket)?)?;
    subscribe(&mut c, vec![json!({"topic": "meters", "max_hz": 10})])?;
    // A signal shuts the connection down, which ends the blocked read.
    let conn = c.shutdown_handle()?;
    crate::interrupt::on_signal(move || {
        let _ = conn.shutdown(std::net::Shutdown::Both);
    });
    let tty = std::io::stdout().is_terminal() && !as_json;
    let end = {
        let mut out = std::io::stdout().lock();
        let _cursor = if tty {
            Some(HiddenCursor::new(&mut out).map_err(anyhow::Error::from)?)
        } else {
            None
        };
        stream_levels(&mut c, &mut out, tty, as_json)
    };
    if crate::interrupt::received().is_some() {
        return Ok(());
    }
    match end? {
        End::Shutdown => {
            let _ = writeln!(std::io::stderr(), "headroom: headroomd shut down");
            Ok(())
        }
        End::Closed => Err(anyhow!("headroomd closed the connection").into()),
    }
}

fn stream_levels(
    c: &mut Client,
    out: &mut impl Write,
    tty: bool,
    as_json: bool,
) -> anyhow::Result<End> {
    let mut drawn = false;
    while crate::interrupt::received().is_none() {
        let Some(m) = c.next()? else {
            return Ok(End::Closed);
        };
        let Message::Event { event, data, .. } = m else {
            continue;
        };
        if event == "shutdown" {
            return Ok(End::Shutdown);
        }
        if event != "levels" {
            continue;
        }
        if as_json {
            writeln!(out, "{data}")?;
        } else if tty {
            let lines = [
                ("momentary ", &data["momentary_lufs"], -60.0, 0.0, "LUFS"),
                ("short-term", &data["shortterm_lufs"], -60.0, 0.0, "LUFS"),
                ("integrated", &data["integrated_lufs"], -60.0, 0.0, "LUFS"),
                (
                    "input S   ",
                    &data["input_shortterm_lufs"],
                    -60.0,
                    0.0,
                    "LUFS",
                ),
                ("true peak ", &data["true_peak_dbtp"], -60.0, 0.0, "dBTP"),
                ("AGC gain  ", &data["gain_db"], -24.0, 24.0, "dB"),
                ("reduction ", &data["gain_reduction_db"], 0.0, 24.0, "dB"),
            ];
            if drawn {
                write!(out, "{}", esc::up(lines.len()))?;
            }
            for (name, v, lo, hi, unit) in lines {
                writeln!(
                    out,
                    "{}{name} {} {:>7} {unit}",
                    esc::ERASE_LINE,
                    bar(num(v), lo, hi, 40),
                    scalar(v)
                )?;
            }
            drawn = true;
        } else {
            writeln!(
                out,
                "M {} S {} I {} TP {} gain {} GR {}",
                scalar(&data["momentary_lufs"]),
                scalar(&data["shortterm_lufs"]),
                scalar(&data["integrated_lufs"]),
                scalar(&data["true_peak_dbtp"]),
                scalar(&data["gain_db"]),
                scalar(&data["gain_reduction_db"])
            )?;
        }
        out.flush()?;
    }
    Ok(End::Closed)
}
