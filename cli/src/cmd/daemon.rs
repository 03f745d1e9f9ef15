//! The request/response commands: one request (or two for `bypass toggle`),
//! then a table, or the protocol's result object with `--json`.

use super::settings::parse_value;
use crate::args::{Command, Mode, ProfileCmd, RouteCmd, Switch};
use crate::client::{socket_path, Client};
use crate::render::{pairs, scalar, table};
use crate::Failure;
use anyhow::anyhow;
use dsp_core::params::Value as Setting;
use serde_json::{json, Value};
use std::path::Path;

fn mode(m: Mode) -> &'static str {
    match m {
        Mode::Processed => "processed",
        Mode::Bypass => "bypass",
    }
}

/// Runs a request/response command.
pub fn run(socket: Option<&Path>, command: Command, as_json: bool) -> Result<(), Failure> {
    let path = socket_path(socket)?;
    let mut c = Client::connect(&path)?;
    let (op, args): (&str, Option<Value>) = match &command {
        Command::Status => ("status", None),
        Command::Profile(ProfileCmd::List) => ("profile.list", None),
        Command::Profile(ProfileCmd::Show { name }) => {
            ("profile.show", name.as_ref().map(|n| json!({ "name": n })))
        }
        Command::Profile(ProfileCmd::Use { name }) => {
            ("profile.use", Some(json!({ "name": name })))
        }
        Command::Profile(ProfileCmd::Reload) => ("profile.reload", None),
        Command::Route(RouteCmd::List) => ("route.list", None),
        Command::Route(RouteCmd::Set { app, mode: m }) => {
            ("route.set", Some(json!({"app": app, "mode": mode(*m)})))
        }
        Command::Route(RouteCmd::Unset { app }) => ("route.unset", Some(json!({ "app": app }))),
        Command::Route(RouteCmd::Stream { node_id, mode: m }) => (
            "route.stream",
            Some(json!({"stream": node_id, "mode": mode(*m)})),
        ),
        Command::Get { key } => ("setting.get", Some(json!({ "key": key }))),
        Command::Set { key, value } => (
            "setting.set",
            Some(json!({"key": key, "value": typed_value(key, value)?})),
        ),
        Command::Settings => ("setting.list", None),
        Command::Clear { key } => ("setting.clear", Some(json!({ "key": key }))),
        Command::Reset => ("setting.reset", None),
        Command::Bypass { state } => {
            let on = match state {
                Switch::On => true,
                Switch::Off => false,
                Switch::Toggle => !c.call("status", None)?["bypass"].as_bool().unwrap_or(false),
            };
            ("bypass.set", Some(json!({ "bypass": on })))
        }
        Command::Raw { request } => return raw(&mut c, request, as_json),
        _ => unreachable!("dispatched elsewhere"),
    };
    let result = c.call(op, args)?;
    if as_json {
        crate::outln!(
            "{}",
            serde_json::to_string(&result).map_err(anyhow::Error::from)?
        );
        return Ok(());
    }
    human(&command, &result);
    Ok(())
}

/// The value typed on the command line, as the JSON type the key takes.
fn typed_value(key: &str, text: &str) -> Result<Value, Failure> {
    let Some(k) = headroom_config::settings::find(key) else {
        // Unknown here (a newer daemon?): send a number if it parses, let the
        // daemon judge.
        return Ok(text
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(text)));
    };
    let v = parse_value(&k, text).map_err(|e| Failure {
        code: 2,
        error: e,
        hint: Some(format!("`{key}` takes {}", k.describe_range())),
    })?;
    Ok(match v {
        Setting::Bool(b) => Value::Bool(b),
        Setting::Number(x) => json!(x),
        Setting::Choice(s) => Value::String(s.to_string()),
    })
}

fn raw(c: &mut Client, text: &str, _as_json: bool) -> Result<(), Failure> {
    let parsed: Value = serde_json::from_str(text).map_err(|e| Failure {
        code: 2,
        error: anyhow!("not valid JSON: {e}"),
        hint: Some(r#"e.g. headroom raw '{"op":"ping"}'"#.into()),
    })?;
    let mut line = serde_json::to_vec(&parsed).map_err(anyhow::Error::from)?;
    line.push(b'\n');
    c.send_raw(&line)?;
    // Print the first response frame exactly as decoded; skip the hello.
    loop {
        match c.next()? {
            None => return Err(anyhow!("headroomd closed the connection without answering").into()),
            Some(crate::client::Message::Event { event, .. }) if event == "hello" => continue,
            Some(crate::client::Message::Event { event, topic, data }) => {
                crate::outln!("{}", json!({"event": event, "topic": topic, "data": data}));
            }
            Some(crate::client::Message::Response { id, outcome }) => {
                let ok = outcome.is_ok();
                let msg = match outcome {
                    Ok(result) => json!({"id": id, "ok": true, "result": result}),
                    Err((code, message)) => {
                        json!({"id": id, "ok": false, "error": {"code": code, "message": message}})
                    }
                };
                crate::outln!("{msg}");
                return if ok {
                    Ok(())
                } else {
                    Err(Failure {
                        code: 1,
                        error: anyhow!("the daemon refused the request"),
                        hint: None,
                    })
                };
            }
        }
    }
}

fn s(v: &Value) -> String {
    scalar(v)
}

fn human(command: &Command, r: &Value) {
    match command {
        Command::Status => {
            let levels = &r["levels"];
            pairs(&[
                ("state", s(&r["state"])),
                ("profile", s(&r["profile"])),
                ("bypass", s(&r["bypass"])),
                ("output sink", s(&r["sink"])),
                ("sample rate", format!("{} Hz", s(&r["sample_rate_hz"]))),
                ("channels", s(&r["channels"])),
                ("streams", s(&r["streams"])),
                ("uptime", format!("{} s", s(&r["uptime_s"]))),
                (
                    "momentary",
                    format!("{} LUFS", s(&levels["momentary_lufs"])),
                ),
                (
                    "short-term",
                    format!("{} LUFS", s(&levels["shortterm_lufs"])),
                ),
                (
                    "integrated",
                    format!("{} LUFS", s(&levels["integrated_lufs"])),
                ),
                (
                    "true peak",
                    format!("{} dBTP", s(&levels["true_peak_dbtp"])),
                ),
                ("AGC gain", format!("{} dB", s(&levels["gain_db"]))),
                (
                    "reduction",
                    format!("{} dB", s(&levels["gain_reduction_db"])),
                ),
            ]);
        }
        Command::Profile(ProfileCmd::List) => {
            let active = r["active"].as_str().unwrap_or("");
            let rows: Vec<Vec<String>> = r["profiles"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let name = s(&p["name"]);
                    vec![
                        if name == active {
                            "*".into()
                        } else {
                            String::new()
                        },
                        name,
                        if p["builtin"] == true {
                            "built-in"
                        } else {
                            "user"
                        }
                        .into(),
                        p["description"].as_str().unwrap_or("").into(),
                    ]
                })
                .collect();
            table(&["", "PROFILE", "FROM", "DESCRIPTION"], &rows);
        }
        Command::Profile(ProfileCmd::Show { .. }) => {
            crate::outln!(
                "profile {}{}",
                s(&r["name"]),
                if r["active"] == true { " (active)" } else { "" }
            );
            let rows: Vec<Vec<String>> = r["settings"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| vec![k.clone(), s(v)])
                .collect();
            if rows.is_empty() {
                crate::outln!("(sets nothing: every setting at its default)");
            } else {
                table(&["KEY", "VALUE"], &rows);
            }
        }
        Command::Profile(ProfileCmd::Use { .. }) => {
            crate::outln!(
                "active profile: {}{}",
                s(&r["active"]),
                if r["changed"] == false {
                    " (unchanged)"
                } else {
                    ""
                }
            )
        }
        Command::Profile(ProfileCmd::Reload) => {
            let n = r["profiles"].as_array().map_or(0, Vec::len);
            crate::outln!("{n} profiles loaded");
            for e in r["errors"].as_array().into_iter().flatten() {
                crate::outln!("rejected: {}", s(&e["message"]));
            }
        }
        Command::Route(RouteCmd::List) => {
            let rules: Vec<Vec<String>> = r["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| vec![s(&x["app"]), s(&x["mode"])])
                .collect();
            if rules.is_empty() {
                crate::outln!(
                    "no app rules (every stream is processed unless a profile says otherwise)"
                );
            } else {
                table(&["APP", "MODE"], &rules);
            }
            let streams: Vec<Vec<String>> = r["streams"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| vec![s(&x["stream"]), s(&x["app"]), s(&x["mode"]), s(&x["rule"])])
                .collect();
            crate::outln!();
            if streams.is_empty() {
                crate::outln!("no live streams");
            } else {
                table(&["STREAM", "APP", "MODE", "RULE"], &streams);
            }
        }
        Command::Route(RouteCmd::Set { .. }) => {
            crate::outln!("{} → {}", s(&r["app"]), s(&r["mode"]))
        }
        Command::Route(RouteCmd::Unset { .. }) => {
            crate::outln!("rule for {} removed", s(&r["app"]))
        }
        Command::Route(RouteCmd::Stream { .. }) => {
            crate::outln!("stream {} → {}", s(&r["stream"]), s(&r["mode"]))
        }
        Command::Get { .. } | Command::Set { .. } | Command::Clear { .. } => {
            crate::outln!(
                "{} = {} ({})",
                s(&r["key"]),
                s(&r["value"]),
                s(&r["source"])
            )
        }
        Command::Settings => {
            let rows: Vec<Vec<String>> = r["settings"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| {
                    let range = match (x.get("min"), x.get("max"), x.get("choices")) {
                        (Some(lo), Some(hi), _) => format!("{} … {}", s(lo), s(hi)),
                        (_, _, Some(Value::Array(c))) => {
                            c.iter().map(s).collect::<Vec<_>>().join("|")
                        }
                        _ => "true|false".into(),
                    };
                    vec![
                        s(&x["key"]),
                        format!("{} {}", s(&x["value"]), x["unit"].as_str().unwrap_or(""))
                            .trim_end()
                            .into(),
                        s(&x["source"]),
                        s(&x["type"]),
                        range,
                        s(&x["default"]),
                    ]
                })
                .collect();
            table(
                &["KEY", "VALUE", "SOURCE", "TYPE", "RANGE", "DEFAULT"],
                &rows,
            );
        }
        Command::Reset => crate::outln!("{} overrides cleared", s(&r["cleared"])),
        Command::Bypass { .. } => crate::outln!(
            "bypass {}{}",
            if r["bypass"] == true { "on" } else { "off" },
            if r["changed"] == false {
                " (unchanged)"
            } else {
                ""
            }
        ),
        _ => crate::outln!("{r}"),
    }
}
