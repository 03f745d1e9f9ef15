//! Decoding frames into messages: requests for the server, responses and
//! events for clients (IPC.md, "Messages" and "Ops").
//!
//! Every entry point runs the [`guard`] first, then reads the validated text
//! through [`Value`] views; nothing is copied or allocated, strings borrow the
//! frame. Request decoding is strict about what it understands and lenient
//! about what it does not: unknown members are ignored (forward
//! compatibility), but a known member with the wrong type, a value out of
//! range, or a member given twice is an error naming the member, and each
//! error maps to one [`ErrorCode`] (IPC.md, "Errors").
//!
//! Client-side decoding ([`decode_server_message`], [`FromValue`]) skips what
//! it does not know, as IPC.md's versioning rules require of clients: unknown
//! events are returned as generic [`Event`]s, unknown ops in `hello` are
//! left out of the [`OpSet`], unknown error codes read as `internal`.

use core::fmt;

use super::guard::{self, GuardError};
use super::message::*;
use super::value::{Object, Str, Value};
use super::MAX_DEPTH;

/// What is wrong with one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A required member is absent.
    Missing,
    /// The member appears more than once.
    Duplicate,
    /// Wrong type or out of range; the text says what is expected.
    Expected(&'static str),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing => f.write_str("missing"),
            Problem::Duplicate => f.write_str("given more than once"),
            Problem::Expected(what) => write!(f, "expected {what}"),
        }
    }
}

/// Why a request frame was rejected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RequestErrorKind<'a> {
    /// Not acceptable JSON (`bad_message`, or `too_large` for depth).
    Json(GuardError),
    /// Valid JSON, but not an object (`bad_message`).
    NotAnObject,
    /// A bad `id`, `op`/`cmd`, `caps` member (`bad_message`).
    Envelope {
        /// The member.
        field: &'static str,
        /// What is wrong.
        problem: Problem,
    },
    /// The op is not known (`unknown_op`).
    UnknownOp(Str<'a>),
    /// A bad argument (`bad_argument`); `field` is a path like `args.key`.
    Argument {
        /// The member path.
        field: &'static str,
        /// What is wrong.
        problem: Problem,
    },
}

/// A rejected request: the error to answer, and the id to answer it with
/// (`None` when the id itself could not be read).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestError<'a> {
    /// The request's id, if it was readable.
    pub id: Option<Id<'a>>,
    /// What is wrong.
    pub kind: RequestErrorKind<'a>,
}

impl RequestError<'_> {
    /// The protocol error code for the response.
    pub fn code(&self) -> ErrorCode {
        match self.kind {
            RequestErrorKind::Json(e) => e.code(),
            RequestErrorKind::NotAnObject | RequestErrorKind::Envelope { .. } => {
                ErrorCode::BadMessage
            }
            RequestErrorKind::UnknownOp(_) => ErrorCode::UnknownOp,
            RequestErrorKind::Argument { .. } => ErrorCode::BadArgument,
        }
    }
}

/// How many characters of an unknown op name an error message repeats.
const ECHO_OP_CHARS: usize = 64;

impl fmt::Display for RequestError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            RequestErrorKind::Json(e) => e.fmt(f),
            RequestErrorKind::NotAnObject => f.write_str("message must be a JSON object"),
            RequestErrorKind::Envelope { field, problem }
            | RequestErrorKind::Argument { field, problem } => write!(f, "{field}: {problem}"),
            RequestErrorKind::UnknownOp(op) => {
                // Bounded so that echoing a huge name cannot overflow the
                // response frame.
                f.write_str("unknown op \"")?;
                for c in op.chars().take(ECHO_OP_CHARS) {
                    fmt::Write::write_char(f, c)?;
                }
                if op.chars().nth(ECHO_OP_CHARS).is_some() {
                    f.write_str("...")?;
                }
                f.write_str("\"")
            }
        }
    }
}

/// A bad member in a server message or typed result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldError {
    /// The member path, like `result.protocol` or `data.count`.
    pub field: &'static str,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Why a server frame could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageError {
    /// Not acceptable JSON.
    Json(GuardError),
    /// Valid JSON, but not an object.
    NotAnObject,
    /// A missing or mistyped envelope member.
    Field(FieldError),
}

impl MessageError {
    /// The closest protocol error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            MessageError::Json(e) => e.code(),
            _ => ErrorCode::BadMessage,
        }
    }
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::Json(e) => e.fmt(f),
            MessageError::NotAnObject => f.write_str("message must be a JSON object"),
            MessageError::Field(e) => e.fmt(f),
        }
    }
}

/// Validates a frame and returns a view of its value.
///
/// # Errors
/// The guard's verdict (see [`guard::validate`]).
pub fn parse(frame: &[u8]) -> Result<Value<'_>, GuardError> {
    guard::validate(frame, MAX_DEPTH).map(|v| v.value())
}

// ---------------------------------------------------------------------------
// Requests

/// A member name as text for matching against short names; escaped names
/// are decoded into `buf` (names longer than it match nothing).
fn key_text<'x>(k: Str<'x>, buf: &'x mut [u8; 32]) -> &'x str {
    match k.as_str() {
        Some(s) => s,
        None => k.unescape_into(buf).unwrap_or(""),
    }
}

const ID_EXPECTED: &str =
    "an integer from 0 to 18446744073709551615 or a string of at most 128 bytes";
const CAPS_EXPECTED: &str = "a string of at most 256 bytes";
const KEY_EXPECTED: &str = "a setting key: dot-separated words of a-z, 0-9 and _, at most 64 bytes";
const PREFIX_EXPECTED: &str = "a key prefix: a-z, 0-9, _ and ., at most 64 bytes";
const PROFILE_EXPECTED: &str =
    "a profile name: 1 to 64 of A-Z, a-z, 0-9, _, - and ., not starting with .";
const APP_EXPECTED: &str = "a non-empty string of at most 256 bytes";
const MODE_EXPECTED: &str = "\"processed\" or \"bypass\"";
const STREAM_EXPECTED: &str = "an integer node id from 0 to 4294967295";
const TOPICS_EXPECTED: &str = "an array of topics: \"meters\", \"profile\", \"routing\", \"daemon\", or {\"topic\":<name>,\"max_hz\":1-100}";

fn id_from(v: Value<'_>) -> Option<Option<Id<'_>>> {
    match v {
        Value::Null => Some(None),
        Value::Number(n) => n.as_u64().map(|n| Some(Id::Num(n))),
        Value::String(s) if s.len() <= MAX_ID_BYTES => Some(Some(Id::Str(s))),
        _ => None,
    }
}

/// Decodes one request frame (the JSON bytes of a frame, without framing).
///
/// # Errors
/// A [`RequestError`] whose [`code`](RequestError::code) and `Display` form
/// the error response, and whose `id` is the one to echo. None of these
/// errors closes the connection (IPC.md: only framing errors do).
pub fn decode_request(frame: &[u8]) -> Result<Request<'_>, RequestError<'_>> {
    let fail = |id, kind| RequestError { id, kind };
    let json =
        guard::validate(frame, MAX_DEPTH).map_err(|e| fail(None, RequestErrorKind::Json(e)))?;
    let Value::Object(obj) = json.value() else {
        return Err(fail(None, RequestErrorKind::NotAnObject));
    };

    // One pass over the members, reading each known one in place; problems
    // are recorded and reported after the pass, the id's first, so that
    // every later error can echo the id.
    let envelope = |field, problem| RequestErrorKind::Envelope { field, problem };
    let mut id: Option<Id<'_>> = None;
    let mut id_problem: Option<Problem> = None;
    let mut op_str: Option<Str<'_>> = None;
    let mut op_problem: Option<Problem> = None;
    let mut caps: Option<Str<'_>> = None;
    let mut caps_problem: Option<Problem> = None;
    let mut args: Option<Object<'_>> = None;
    let mut args_problem: Option<RequestErrorKind<'_>> = None;
    let (mut seen_id, mut seen_op, mut seen_args, mut seen_caps) = (false, false, false, false);
    for (k, v) in obj.iter() {
        let mut buf = [0u8; 32];
        match key_text(k, &mut buf) {
            "op" | "cmd" => {
                if seen_op {
                    op_problem = Some(Problem::Expected("one op (or its alias cmd), given once"));
                } else if let Value::String(s) = v {
                    op_str = Some(s);
                } else {
                    op_problem = Some(Problem::Expected("a string"));
                }
                seen_op = true;
            }
            "id" => {
                if seen_id {
                    id = None;
                    id_problem = Some(Problem::Duplicate);
                } else {
                    match id_from(v) {
                        Some(parsed) => id = parsed,
                        None => id_problem = Some(Problem::Expected(ID_EXPECTED)),
                    }
                }
                seen_id = true;
            }
            "args" => {
                if seen_args {
                    args_problem = Some(envelope("args", Problem::Duplicate));
                } else {
                    match v {
                        Value::Object(o) => args = Some(o),
                        Value::Null => {}
                        _ => {
                            args_problem = Some(RequestErrorKind::Argument {
                                field: "args",
                                problem: Problem::Expected("an object"),
                            })
                        }
                    }
                }
                seen_args = true;
            }
            "caps" => {
                if seen_caps {
                    caps_problem = Some(Problem::Duplicate);
                } else {
                    match v {
                        Value::String(s) if s.len() <= MAX_CAPS_BYTES => caps = Some(s),
                        Value::Null => {}
                        _ => caps_problem = Some(Problem::Expected(CAPS_EXPECTED)),
                    }
                }
                seen_caps = true;
            }
            _ => {} // unknown members are ignored
        }
    }

    if let Some(problem) = id_problem {
        return Err(fail(None, envelope("id", problem)));
    }
    if let Some(problem) = op_problem {
        return Err(fail(id, envelope("op", problem)));
    }
    let Some(op_str) = op_str else {
        return Err(fail(id, envelope("op", Problem::Missing)));
    };
    if let Some(problem) = caps_problem {
        return Err(fail(id, envelope("caps", problem)));
    }
    let name = OpName::from_str_value(op_str)
        .ok_or_else(|| fail(id, RequestErrorKind::UnknownOp(op_str)))?;
    if let Some(kind) = args_problem {
        return Err(fail(id, kind));
    }
    let args = Args(args);
    let op = args.op(name).map_err(|kind| fail(id, kind))?;
    Ok(Request { id, op, caps })
}

type ArgResult<'a, T> = Result<T, RequestErrorKind<'a>>;

fn bad<'a, T>(field: &'static str, problem: Problem) -> ArgResult<'a, T> {
    Err(RequestErrorKind::Argument { field, problem })
}

/// A request's `args` object (absent = empty).
struct Args<'a>(Option<Object<'a>>);

/// `Some(v)` or a `Missing` error for `field`.
fn required<'a>(v: Option<Value<'a>>, field: &'static str) -> ArgResult<'a, Value<'a>> {
    v.map_or_else(|| bad(field, Problem::Missing), Ok)
}

impl<'a> Args<'a> {
    /// The members named by `fields` (paths like `args.key`), in one pass
    /// over `args`; `null` counts as absent, a repeated name is an error.
    fn fields<const N: usize>(
        &self,
        fields: [&'static str; N],
    ) -> ArgResult<'a, [Option<Value<'a>>; N]> {
        let mut found: [Option<Value<'a>>; N] = [None; N];
        let Some(obj) = self.0 else { return Ok(found) };
        for (k, v) in obj.iter() {
            let mut buf = [0u8; 32];
            let name = key_text(k, &mut buf);
            let Some(i) = fields
                .iter()
                .position(|f| f.strip_prefix("args.") == Some(name))
            else {
                continue;
            };
            if let (Some(slot), Some(&field)) = (found.get_mut(i), fields.get(i)) {
                if slot.is_some() {
                    return bad(field, Problem::Duplicate);
                }
                *slot = Some(v);
            }
        }
        // `null` is the same as absent, but still counts for duplicates.
        for slot in found.iter_mut() {
            if matches!(slot, Some(Value::Null)) {
                *slot = None;
            }
        }
        Ok(found)
    }

    fn one(&self, field: &'static str) -> ArgResult<'a, Option<Value<'a>>> {
        let [v] = self.fields([field])?;
        Ok(v)
    }

    // Inlined into its only caller: returning the large `Result<Op, _>`
    // through memory costs a store-forwarding stall.
    #[inline(always)]
    fn op(&self, name: OpName) -> ArgResult<'a, Op<'a>> {
        Ok(match name {
            OpName::Ping => Op::Ping,
            OpName::Hello => Op::Hello,
            OpName::Status => Op::Status,
            OpName::ProfileList => Op::ProfileList,
            OpName::ProfileReload => Op::ProfileReload,
            OpName::RouteList => Op::RouteList,
            OpName::SettingReset => Op::SettingReset,
            OpName::ProfileShow => Op::ProfileShow {
                name: self
                    .one("args.name")?
                    .map(|v| profile_name("args.name", v))
                    .transpose()?,
            },
            OpName::ProfileUse => Op::ProfileUse {
                name: profile_name("args.name", required(self.one("args.name")?, "args.name")?)?,
            },
            OpName::RouteSet => {
                let [a, m] = self.fields(["args.app", "args.mode"])?;
                Op::RouteSet {
                    app: app("args.app", required(a, "args.app")?)?,
                    mode: mode("args.mode", required(m, "args.mode")?)?,
                }
            }
            OpName::RouteUnset => Op::RouteUnset {
                app: app("args.app", required(self.one("args.app")?, "args.app")?)?,
            },
            OpName::RouteStream => {
                let [st, m] = self.fields(["args.stream", "args.mode"])?;
                Op::RouteStream {
                    stream: match required(st, "args.stream")?.as_u64().map(u32::try_from) {
                        Some(Ok(n)) => n,
                        _ => return bad("args.stream", Problem::Expected(STREAM_EXPECTED)),
                    },
                    mode: mode("args.mode", required(m, "args.mode")?)?,
                }
            }
            OpName::SettingGet => Op::SettingGet {
                key: key("args.key", required(self.one("args.key")?, "args.key")?)?,
            },
            OpName::SettingSet => {
                let [k, v] = self.fields(["args.key", "args.value"])?;
                Op::SettingSet {
                    key: key("args.key", required(k, "args.key")?)?,
                    value: match Scalar::from_value(required(v, "args.value")?) {
                        Some(s) => s,
                        None => {
                            return bad(
                                "args.value",
                                Problem::Expected("a boolean, a finite number or a string"),
                            )
                        }
                    },
                }
            }
            OpName::SettingList => Op::SettingList {
                prefix: match self.one("args.prefix")? {
                    None => None,
                    Some(Value::String(s))
                        if s.len() <= MAX_KEY_BYTES
                            && s.chars()
                                .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '.')) =>
                    {
                        Some(s)
                    }
                    Some(_) => return bad("args.prefix", Problem::Expected(PREFIX_EXPECTED)),
                },
            },
            OpName::SettingClear => Op::SettingClear {
                key: key("args.key", required(self.one("args.key")?, "args.key")?)?,
            },
            OpName::BypassSet => Op::BypassSet {
                bypass: match required(self.one("args.bypass")?, "args.bypass")? {
                    Value::Bool(b) => b,
                    _ => return bad("args.bypass", Problem::Expected("a boolean")),
                },
            },
            OpName::Subscribe => {
                let topics = subscriptions(required(self.one("args.topics")?, "args.topics")?)
                    .filter(|t| !t.is_empty())
                    .ok_or(RequestErrorKind::Argument {
                        field: "args.topics",
                        problem: Problem::Expected(TOPICS_EXPECTED),
                    })?;
                Op::Subscribe { topics }
            }
            OpName::Unsubscribe => Op::Unsubscribe {
                topics: match self.one("args.topics")? {
                    None => None,
                    Some(v) => Some(
                        subscriptions(v)
                            .ok_or(RequestErrorKind::Argument {
                                field: "args.topics",
                                problem: Problem::Expected(TOPICS_EXPECTED),
                            })?
                            .topics(),
                    ),
                },
            },
        })
    }
}

fn key<'a>(field: &'static str, v: Value<'a>) -> ArgResult<'a, Str<'a>> {
    if let Value::String(s) = v {
        let mut prev = '.';
        let ok = s.len() <= MAX_KEY_BYTES
            && s.chars().all(|c| {
                let ok = matches!(c, 'a'..='z' | '0'..='9' | '_') || (c == '.' && prev != '.');
                prev = c;
                ok
            })
            && prev != '.';
        if ok {
            return Ok(s);
        }
    }
    bad(field, Problem::Expected(KEY_EXPECTED))
}

fn profile_name<'a>(field: &'static str, v: Value<'a>) -> ArgResult<'a, Str<'a>> {
    if let Value::String(s) = v {
        let ok = !s.is_empty()
            && s.len() <= MAX_PROFILE_NAME_BYTES
            && s.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphanumeric() || c == '_' || c == '-' || (c == '.' && i > 0)
            });
        if ok {
            return Ok(s);
        }
    }
    bad(field, Problem::Expected(PROFILE_EXPECTED))
}

fn app<'a>(field: &'static str, v: Value<'a>) -> ArgResult<'a, Str<'a>> {
    match v {
        Value::String(s) if !s.is_empty() && s.len() <= MAX_APP_BYTES => Ok(s),
        _ => bad(field, Problem::Expected(APP_EXPECTED)),
    }
}

fn mode<'a>(field: &'static str, v: Value<'a>) -> ArgResult<'a, RouteMode> {
    v.as_string()
        .and_then(RouteMode::from_str_value)
        .map_or_else(|| bad(field, Problem::Expected(MODE_EXPECTED)), Ok)
}

/// A `topics` array: names or `{"topic":..,"max_hz":..}` objects.
fn subscriptions(v: Value<'_>) -> Option<Subscriptions> {
    let mut subs = Subscriptions::EMPTY;
    for item in v.as_array()?.iter() {
        let sub = match item {
            Value::String(s) => Subscription {
                topic: Topic::from_str_value(s)?,
                max_hz: None,
            },
            Value::Object(o) => Subscription {
                topic: Topic::from_str_value(o.get("topic")?.as_string()?)?,
                max_hz: match o.get("max_hz") {
                    None | Some(Value::Null) => None,
                    Some(hz) => Some(
                        hz.as_u64()
                            .filter(|hz| (1..=u64::from(MAX_HZ_LIMIT)).contains(hz))?
                            as u16,
                    ),
                },
            },
            _ => return None,
        };
        subs.insert(sub);
    }
    Some(subs)
}

impl<'a> Scalar<'a> {
    /// A scalar from a JSON value: a boolean, a finite number or a string.
    pub fn from_value(v: Value<'a>) -> Option<Self> {
        match v {
            Value::Bool(b) => Some(Scalar::Bool(b)),
            Value::Number(n) => n.as_f64().map(Scalar::Number),
            Value::String(s) => Some(Scalar::String(s)),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Server messages (client side)

/// Decodes a frame a server sent: a response or an event.
///
/// # Errors
/// [`MessageError`] if the frame is not JSON, not an object, or lacks or
/// mistypes an envelope member. Unknown members are ignored.
pub fn decode_server_message(frame: &[u8]) -> Result<ServerMessage<'_>, MessageError> {
    let json = guard::validate(frame, MAX_DEPTH).map_err(MessageError::Json)?;
    let Value::Object(obj) = json.value() else {
        return Err(MessageError::NotAnObject);
    };
    let field = |field, problem| MessageError::Field(FieldError { field, problem });
    let (mut id, mut ok, mut result, mut error, mut event, mut topic, mut data) =
        (None, None, None, None, None, None, None);
    for (k, v) in obj.iter() {
        let mut buf = [0u8; 32];
        let slot = match key_text(k, &mut buf) {
            "id" => &mut id,
            "ok" => &mut ok,
            "result" => &mut result,
            "error" => &mut error,
            "event" => &mut event,
            "topic" => &mut topic,
            "data" => &mut data,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(v);
        }
    }
    if let Some(event) = event {
        let event = event
            .as_string()
            .ok_or(field("event", Problem::Expected("a string")))?;
        let topic = topic
            .ok_or(field("topic", Problem::Missing))?
            .as_string()
            .ok_or(field("topic", Problem::Expected("a string")))?;
        let data = data.ok_or(field("data", Problem::Missing))?;
        if data.as_object().is_none() {
            return Err(field("data", Problem::Expected("an object")));
        }
        return Ok(ServerMessage::Event(Event { event, topic, data }));
    }
    let ok = ok
        .ok_or(field("ok", Problem::Missing))?
        .as_bool()
        .ok_or(field("ok", Problem::Expected("a boolean")))?;
    let id = match id {
        None => None,
        Some(v) => id_from(v).ok_or(field("id", Problem::Expected(ID_EXPECTED)))?,
    };
    let outcome = if ok {
        Ok(result.ok_or(field("result", Problem::Missing))?)
    } else {
        let e = error
            .ok_or(field("error", Problem::Missing))?
            .as_object()
            .ok_or(field("error", Problem::Expected("an object")))?;
        let wire_code = e
            .get("code")
            .and_then(|c| c.as_string())
            .ok_or(field("error.code", Problem::Expected("a string")))?;
        let message = e
            .get("message")
            .and_then(|c| c.as_string())
            .ok_or(field("error.message", Problem::Expected("a string")))?;
        Err(ErrorBody {
            code: ErrorCode::from_str_value(wire_code).unwrap_or(ErrorCode::Internal),
            wire_code,
            message,
        })
    };
    Ok(ServerMessage::Response(Response { id, outcome }))
}

/// Typed reading of a result or event data value (client side).
pub trait FromValue<'a>: Sized {
    /// Reads `Self` from `v`, ignoring unknown members.
    ///
    /// # Errors
    /// The first missing or mistyped member.
    fn from_value(v: Value<'a>) -> Result<Self, FieldError>;
}

fn obj<'a>(v: Value<'a>, field: &'static str) -> Result<Object<'a>, FieldError> {
    v.as_object().ok_or(FieldError {
        field,
        problem: Problem::Expected("an object"),
    })
}

/// The members named `names` (first occurrence of each) in one pass.
fn members<'a, const N: usize>(o: Object<'a>, names: [&str; N]) -> [Option<Value<'a>>; N] {
    let mut found: [Option<Value<'a>>; N] = [None; N];
    for (k, v) in o.iter() {
        let mut buf = [0u8; 32];
        let name = key_text(k, &mut buf);
        if let Some(slot) = names
            .iter()
            .position(|n| *n == name)
            .and_then(|i| found.get_mut(i))
        {
            if slot.is_none() {
                *slot = Some(v);
            }
        }
    }
    found
}

/// Reads a required member with `read`.
fn member<'a, T>(
    v: Option<Value<'a>>,
    field: &'static str,
    expected: &'static str,
    read: impl FnOnce(Value<'a>) -> Option<T>,
) -> Result<T, FieldError> {
    let v = v.ok_or(FieldError {
        field,
        problem: Problem::Missing,
    })?;
    read(v).ok_or(FieldError {
        field,
        problem: Problem::Expected(expected),
    })
}

fn u32_of(v: Value<'_>) -> Option<u32> {
    v.as_u64().and_then(|n| u32::try_from(n).ok())
}

fn opt_f64(v: Value<'_>) -> Option<Option<f64>> {
    match v {
        Value::Null => Some(None),
        _ => v.as_f64().map(Some),
    }
}

impl<'a> FromValue<'a> for PingResult<'a> {
    fn from_value(v: Value<'a>) -> Result<Self, FieldError> {
        let [name, version, protocol] = members(obj(v, "result")?, ["name", "version", "protocol"]);
        Ok(PingResult {
            name: member(name, "result.name", "a string", |v| v.as_string())?,
            version: member(version, "result.version", "a string", |v| v.as_string())?,
            protocol: member(protocol, "result.protocol", "an integer", u32_of)?,
        })
    }
}

impl<'a> FromValue<'a> for SettingResult<'a> {
    fn from_value(v: Value<'a>) -> Result<Self, FieldError> {
        let [key, value, source] = members(obj(v, "result")?, ["key", "value", "source"]);
        Ok(SettingResult {
            key: member(key, "result.key", "a string", |v| v.as_string())?,
            value: member(value, "result.value", "a scalar", Scalar::from_value)?,
            source: member(source, "result.source", "a setting source", |v| {
                v.as_string().and_then(SettingSource::from_str_value)
            })?,
        })
    }
}

impl<'a> FromValue<'a> for Subscribed {
    fn from_value(v: Value<'a>) -> Result<Self, FieldError> {
        let [topics] = members(obj(v, "result")?, ["topics"]);
        Ok(Subscribed {
            topics: member(topics, "result.topics", TOPICS_EXPECTED, subscriptions)?,
        })
    }
}

impl<'a> FromValue<'a> for Hello<'a> {
    fn from_value(v: Value<'a>) -> Result<Self, FieldError> {
        let [name, version, protocol, max_frame, ops, topics] = members(
            obj(v, "data")?,
            ["name", "version", "protocol", "max_frame", "ops", "topics"],
        );
        Ok(Hello {
            name: member(name, "data.name", "a string", |v| v.as_string())?,
            version: member(version, "data.version", "a string", |v| v.as_string())?,
            protocol: member(protocol, "data.protocol", "an integer", u32_of)?,
            max_frame: member(max_frame, "data.max_frame", "an integer", u32_of)?,
            ops: member(ops, "data.ops", "an array of strings", |v| {
                v.as_array()?.iter().try_fold(OpSet::EMPTY, |set, op| {
                    let op = op.as_string()?;
                    Some(OpName::from_str_value(op).map_or(set, |op| set.with(op)))
                })
            })?,
            topics: member(topics, "data.topics", "an array of strings", |v| {
                v.as_array()?.iter().try_fold(TopicSet::EMPTY, |set, t| {
                    let t = t.as_string()?;
                    Some(Topic::from_str_value(t).map_or(set, |t| set.with(t)))
                })
            })?,
        })
    }
}

impl<'a> FromValue<'a> for Dropped {
    fn from_value(v: Value<'a>) -> Result<Self, FieldError> {
        let [lost_topic, count, total] = members(obj(v, "data")?, ["lost_topic", "count", "total"]);
        Ok(Dropped {
            lost_topic: member(lost_topic, "data.lost_topic", "a topic", |v| {
                v.as_string().and_then(Topic::from_str_value)
            })?,
            count: member(count, "data.count", "an integer", |v| v.as_u64())?,
            total: member(total, "data.total", "an integer", |v| v.as_u64())?,
        })
    }
}

impl<'a> FromValue<'a> for Levels {
    fn from_value(v: Value<'a>) -> Result<Self, FieldError> {
        const NUM_OR_NULL: &str = "a number or null";
        let [m, s, i, tp, g, gr] = members(
            obj(v, "data")?,
            [
                "momentary_lufs",
                "shortterm_lufs",
                "integrated_lufs",
                "true_peak_dbtp",
                "gain_db",
                "gain_reduction_db",
            ],
        );
        Ok(Levels {
            momentary_lufs: member(m, "data.momentary_lufs", NUM_OR_NULL, opt_f64)?,
            shortterm_lufs: member(s, "data.shortterm_lufs", NUM_OR_NULL, opt_f64)?,
            integrated_lufs: member(i, "data.integrated_lufs", NUM_OR_NULL, opt_f64)?,
            true_peak_dbtp: member(tp, "data.true_peak_dbtp", NUM_OR_NULL, opt_f64)?,
            gain_db: member(g, "data.gain_db", "a number", |v| v.as_f64())?,
            gain_reduction_db: member(gr, "data.gain_reduction_db", "a number", |v| v.as_f64())?,
        })
    }
}

/// The events this crate types, and everything else as a generic [`Event`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KnownEvent<'a> {
    /// `hello` (topic `daemon`).
    Hello(Hello<'a>),
    /// `dropped` (topic `daemon`).
    Dropped(Dropped),
    /// `levels` (topic `meters`).
    Levels(Levels),
    /// Any other event; clients ignore the ones they do not understand.
    Other(Event<'a>),
}

impl<'a> Event<'a> {
    /// Reads the data of the events this crate types.
    ///
    /// # Errors
    /// A known event whose data has a missing or mistyped member.
    pub fn typed(&self) -> Result<KnownEvent<'a>, FieldError> {
        Ok(match (self.known_topic(), self.event.as_str()) {
            (Some(Topic::Daemon), Some("hello")) => {
                KnownEvent::Hello(Hello::from_value(self.data)?)
            }
            (Some(Topic::Daemon), Some("dropped")) => {
                KnownEvent::Dropped(Dropped::from_value(self.data)?)
            }
            (Some(Topic::Meters), Some("levels")) => {
                KnownEvent::Levels(Levels::from_value(self.data)?)
            }
            _ => KnownEvent::Other(*self),
        })
    }
}
