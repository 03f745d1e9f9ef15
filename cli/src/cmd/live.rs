//! Streams: `monitor` (events as they arrive) and `meters` (a live view).

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

/// `headroom meters`.
pub fn meters(socket: Option<&Path>, as_json: bool) -> Result<(), Failure> {
    let mut c = Client::connect(&socket_path(socket)?)?;
    subscribe(&mut c, vec![json!({"topic": "meters", "max_hz": 10})])?;
    let tty = std::io::stdout().is_terminal() && !as_json;
    let mut out = std::io::stdout().lock();
    let mut drawn = false;
    while let Some(m) = c.next()? {
        let Message::Event { event, data, .. } = m else {
            continue;
        };
        if event == "shutdown" {
            break;
        }
        if event != "levels" {
            continue;
        }
        if as_json {
            writeln!(out, "{data}").map_err(anyhow::Error::from)?;
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
                write!(out, "\x1b[{}A", lines.len()).map_err(anyhow::Error::from)?;
            }
            for (name, v, lo, hi, unit) in lines {
                writeln!(
                    out,
                    "\x1b[2K{name} {} {:>7} {unit}",
                    bar(num(v), lo, hi, 40),
                    scalar(v)
                )
                .map_err(anyhow::Error::from)?;
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
            )
            .map_err(anyhow::Error::from)?;
        }
        out.flush().map_err(anyhow::Error::from)?;
    }
    Ok(())
}
