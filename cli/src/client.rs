//! Talking to `headroomd` over its socket, with dsp-core's codec (the same
//! fuzzed framing, guard and decoder the daemon uses).
//!
//! Requests go out in NDJSON framing; responses and events are decoded and
//! converted to `serde_json::Value` (key order preserved) for rendering.

use crate::Failure;
use anyhow::{anyhow, Context};
use dsp_core::proto::{self, FrameDecoder, ServerMessage, Value as Wire};
use serde_json::{Map, Value};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A response or an event, decoded.
#[derive(Debug)]
pub enum Message {
    /// `{"id":..,"ok":..}`.
    Response {
        /// Echoed id.
        id: Value,
        /// `Ok(result)` or `Err((code, message))`.
        outcome: Result<Value, (String, String)>,
    },
    /// `{"event":..,"topic":..,"data":..}`.
    Event {
        /// Event name.
        event: String,
        /// Topic.
        topic: String,
        /// Data.
        data: Value,
    },
}

/// An open connection.
pub struct Client {
    stream: UnixStream,
    decoder: FrameDecoder<Box<[u8]>>,
    pending: Vec<u8>,
    next_id: u64,
    /// Events that arrived while waiting for a response.
    pub events: Vec<Message>,
}

/// Resolves the socket path: `--socket`, then `HEADROOM_SOCKET`, then XDG.
pub fn socket_path(flag: Option<&Path>) -> Result<PathBuf, Failure> {
    flag.map(Path::to_path_buf)
        .or_else(headroom_config::paths::socket_path)
        .ok_or_else(|| Failure {
            code: 2,
            error: anyhow!(
                "cannot find the daemon's socket: XDG_RUNTIME_DIR and HEADROOM_SOCKET are unset"
            ),
            hint: Some("pass --socket PATH or set HEADROOM_SOCKET".into()),
        })
}

pub(crate) fn wire_to_json(v: Wire<'_>) -> Value {
    match v {
        Wire::Null => Value::Null,
        Wire::Bool(b) => Value::Bool(b),
        Wire::Number(n) => serde_json::from_str(n.as_str()).unwrap_or(Value::Null),
        Wire::String(s) => Value::String(s.chars().collect()),
        Wire::Array(a) => Value::Array(a.iter().map(wire_to_json).collect()),
        Wire::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o.iter() {
                m.insert(k.chars().collect(), wire_to_json(v));
            }
            Value::Object(m)
        }
    }
}

fn id_json(id: Option<proto::Id<'_>>) -> Value {
    match id {
        None => Value::Null,
        Some(proto::Id::Num(n)) => Value::from(n),
        Some(proto::Id::Str(s)) => Value::String(s.chars().collect()),
    }
}

impl Client {
    /// Connects, explaining a missing daemon in words.
    pub fn connect(path: &Path) -> Result<Client, Failure> {
        let stream = UnixStream::connect(path).map_err(|e| {
            let (what, hint) = match e.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => (
                    format!("headroomd is not running (no daemon at {})", path.display()),
                    "start it with `headroomd &` or `systemctl --user start headroomd`",
                ),
                std::io::ErrorKind::PermissionDenied => (
                    format!("permission denied on {}", path.display()),
                    "the daemon only accepts its own user",
                ),
                _ => (
                    format!("cannot connect to {}: {e}", path.display()),
                    "is headroomd running?",
                ),
            };
            Failure {
                code: 2,
                error: anyhow!(what),
                hint: Some(hint.into()),
            }
        })?;
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
        Ok(Client {
            stream,
            decoder: FrameDecoder::new(vec![0u8; proto::MAX_FRAME_BYTES].into_boxed_slice()),
            pending: Vec::new(),
            next_id: 1,
            events: Vec::new(),
        })
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.stream
            .write_all(bytes)
            .context("cannot send to headroomd")
    }

    /// Sends a request; returns its id.
    pub fn send(&mut self, op: &str, args: Option<Value>) -> anyhow::Result<u64> {
        let id = self.next_id;
        self.next_id += 1;
        let mut req = Map::new();
        req.insert("id".into(), id.into());
        req.insert("op".into(), op.into());
        if let Some(a) = args {
            req.insert("args".into(), a);
        }
        let mut line = serde_json::to_vec(&Value::Object(req))?;
        line.push(b'\n');
        self.send_raw(&line)?;
        Ok(id)
    }

    /// Removes the read timeout (for streams of events).
    pub fn no_timeout(&mut self) {
        self.stream.set_read_timeout(None).ok();
    }

    /// A handle that can shut the connection down from another thread
    /// (`shutdown` makes a blocked [`Client::next`] return `None`).
    pub fn shutdown_handle(&self) -> anyhow::Result<UnixStream> {
        self.stream
            .try_clone()
            .context("cannot clone the connection to headroomd")
    }

    /// The next message, or `None` when the daemon closed the connection.
    pub fn next(&mut self) -> anyhow::Result<Option<Message>> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if !self.pending.is_empty() {
                let (used, feed) = self.decoder.feed(&self.pending);
                let msg = match feed {
                    proto::Feed::Frame(f) if f.iter().all(u8::is_ascii_whitespace) => None,
                    proto::Feed::Frame(f) => Some(decode(f)?),
                    proto::Feed::NeedMore => None,
                    proto::Feed::Error(e) => {
                        return Err(anyhow!("the daemon sent a bad frame: {e}"))
                    }
                };
                self.pending.drain(..used.min(self.pending.len()));
                if let Some(m) = msg {
                    return Ok(Some(m));
                }
                if used == 0 {
                    self.pending.clear();
                }
                if !self.pending.is_empty() {
                    continue;
                }
            }
            let n = match self.stream.read(&mut buf) {
                Ok(0) => return Ok(None),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(anyhow!("headroomd did not answer within 10 s"))
                }
                Err(e) => return Err(anyhow!(e).context("reading from headroomd")),
            };
            self.pending.extend_from_slice(&buf[..n]);
        }
    }

    /// Waits for the response to `id`, keeping events aside.
    pub fn response(&mut self, id: u64) -> anyhow::Result<Result<Value, (String, String)>> {
        loop {
            match self.next()? {
                None => return Err(anyhow!("headroomd closed the connection before answering")),
                Some(Message::Response { id: got, outcome }) if got == id || got.is_null() => {
                    return Ok(outcome);
                }
                Some(m @ Message::Event { .. }) => self.events.push(m),
                Some(_) => {}
            }
        }
    }

    /// Calls `op`; a refusal becomes a [`Failure`] with exit code 1.
    pub fn call(&mut self, op: &str, args: Option<Value>) -> Result<Value, Failure> {
        let id = self.send(op, args)?;
        match self.response(id)? {
            Ok(v) => Ok(v),
            Err((code, message)) => Err(Failure {
                code: 1,
                error: anyhow!("{message} ({code})"),
                hint: hint_for(&code, op),
            }),
        }
    }
}

fn decode(frame: &[u8]) -> anyhow::Result<Message> {
    match proto::decode_server_message(frame) {
        Ok(ServerMessage::Response(r)) => Ok(Message::Response {
            id: id_json(r.id),
            outcome: match r.outcome {
                Ok(v) => Ok(wire_to_json(v)),
                Err(e) => Err((e.wire_code.chars().collect(), e.message.chars().collect())),
            },
        }),
        Ok(ServerMessage::Event(e)) => Ok(Message::Event {
            event: e.event.chars().collect(),
            topic: e.topic.chars().collect(),
            data: wire_to_json(e.data),
        }),
        Err(e) => Err(anyhow!(
            "the daemon sent a message this client cannot read: {e}"
        )),
    }
}

fn hint_for(code: &str, op: &str) -> Option<String> {
    Some(match code {
        "not_found" if op.starts_with("setting") => "`headroom settings` lists every key".into(),
        "not_found" if op.starts_with("profile") => {
            "`headroom profile list` shows the profiles".into()
        }
        "not_found" if op == "route.stream" => {
            "`headroom route list` shows live streams and their ids".into()
        }
        "bad_argument" if op.starts_with("setting") => {
            "`headroom settings` shows each key's type and range".into()
        }
        "busy" => "try again in a moment".into(),
        "denied" => "set HEADROOM_CAPS_TOKEN to the daemon's token".into(),
        _ => return None,
    })
}
