//! Encoding messages into caller-provided buffers (IPC.md, "Messages").
//!
//! [`JsonWriter`] is a small streaming JSON writer over `&mut [u8]`:
//! `begin_object` / `key` / value / `end_object`, escaping strings as RFC 8259
//! requires and refusing to produce anything but one well-formed value (a
//! misplaced call is [`EncodeError::Misuse`], not broken JSON). The
//! `encode_*` functions wrap it in a frame of the connection's
//! [`Framing`] and write the canonical member order IPC.md's examples use.
//!
//! ## Contract
//! * No allocation; the only memory touched is the output slice.
//! * A frame's JSON never exceeds [`MAX_FRAME_BYTES`] nor the slice: either
//!   is [`EncodeError::TooLarge`], and the slice's contents are then
//!   unspecified (nothing was sent).
//! * Output always passes this crate's own guard: compact (no newlines, so
//!   it is valid NDJSON), strings escaped (`"` `\` and U+0000–U+001F; other
//!   characters are written as UTF-8), non-finite numbers refused
//!   ([`EncodeError::NotFinite`]), nesting capped at [`MAX_DEPTH`].
//! * Nothing panics, whatever the calls and buffer size.
//!
//! Numbers: integers in decimal; floats in the shortest form that reads back
//! to the same bits (Ryū: `-1.0`, `0.1`, `1e-7`, `1e16`), which is valid JSON.

use core::fmt::{self, Write as _};

use super::frame::Framing;
use super::message::*;
use super::value::{Str, Value};
use super::{MAX_DEPTH, MAX_FRAME_BYTES};

/// Why a message could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The buffer, or the 64 KiB frame limit, is too small for the message.
    TooLarge,
    /// A NaN or infinite number (JSON has none).
    NotFinite,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Calls that would not produce one well-formed value (a key outside an
    /// object, a value where a key is due, unbalanced ends, two top-level
    /// values or none).
    Misuse,
}

impl EncodeError {
    /// `too_large` for size limits; everything else is a server bug
    /// (`internal`).
    pub fn code(&self) -> ErrorCode {
        match self {
            EncodeError::TooLarge => ErrorCode::TooLarge,
            _ => ErrorCode::Internal,
        }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EncodeError::TooLarge => "message exceeds the frame limit or buffer",
            EncodeError::NotFinite => "number is not finite",
            EncodeError::TooDeep => "nesting deeper than the protocol allows",
            EncodeError::Misuse => "JSON writer calls do not form one value",
        })
    }
}

type Result<T = ()> = core::result::Result<T, EncodeError>;

/// Streaming JSON writer into a fixed buffer.
///
/// ```
/// use dsp_core::proto::encode::JsonWriter;
/// let mut buf = [0u8; 64];
/// let mut w = JsonWriter::new(&mut buf);
/// w.begin_object().unwrap();
/// w.field("profile", "night \"quiet\"").unwrap();
/// w.key("streams").unwrap();
/// w.u64(3).unwrap();
/// w.end_object().unwrap();
/// let n = w.finish().unwrap();
/// assert_eq!(&buf[..n], br#"{"profile":"night \"quiet\"","streams":3}"#);
/// ```
#[derive(Debug)]
pub struct JsonWriter<'b> {
    out: &'b mut [u8],
    pos: usize,
    end: usize,
    depth: usize,
    /// Bit d: the container at depth d+1 is an object.
    stack: u32,
    /// No member/element written yet in the innermost container.
    first: bool,
    /// A key was written and its value is due.
    after_key: bool,
    /// The top-level value is complete.
    done: bool,
}

/// Bytes that strings must escape.
const fn escape_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
}
static NEEDS_ESCAPE: [bool; 256] = escape_table();

impl<'b> JsonWriter<'b> {
    /// A writer filling `out` from its start.
    pub fn new(out: &'b mut [u8]) -> Self {
        let end = out.len();
        Self::range(out, 0, end)
    }

    fn range(out: &'b mut [u8], start: usize, end: usize) -> Self {
        JsonWriter {
            out,
            pos: start,
            end,
            depth: 0,
            stack: 0,
            first: true,
            after_key: false,
            done: false,
        }
    }

    /// Ends writing; returns the index after the last byte written.
    ///
    /// # Errors
    /// [`EncodeError::Misuse`] unless exactly one complete value was written.
    pub fn finish(self) -> Result<usize> {
        if self.done && self.depth == 0 {
            Ok(self.pos)
        } else {
            Err(EncodeError::Misuse)
        }
    }

    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result {
        let next = self.pos + bytes.len();
        if next > self.end {
            return Err(EncodeError::TooLarge);
        }
        let dst = self
            .out
            .get_mut(self.pos..next)
            .ok_or(EncodeError::TooLarge)?;
        if bytes.len() <= 16 {
            // Most writes are a few bytes of punctuation or a short name: a
            // plain loop beats a call to `memcpy`.
            for (d, &b) in dst.iter_mut().zip(bytes) {
                *d = b;
            }
        } else {
            dst.copy_from_slice(bytes);
        }
        self.pos = next;
        Ok(())
    }

    fn in_object(&self) -> bool {
        self.depth > 0 && self.stack & (1 << (self.depth - 1)) != 0
    }

    fn before_value(&mut self) -> Result {
        if self.depth == 0 {
            if self.done {
                return Err(EncodeError::Misuse);
            }
        } else if self.in_object() {
            if !self.after_key {
                return Err(EncodeError::Misuse);
            }
            self.after_key = false;
        } else if !self.first {
            self.put(b",")?;
        }
        Ok(())
    }

    fn after_value(&mut self) {
        self.first = false;
        if self.depth == 0 {
            self.done = true;
        }
    }

    fn open(&mut self, object: bool) -> Result {
        self.before_value()?;
        if self.depth >= MAX_DEPTH {
            return Err(EncodeError::TooDeep);
        }
        self.put(if object { b"{" } else { b"[" })?;
        if object {
            self.stack |= 1 << self.depth;
        } else {
            self.stack &= !(1 << self.depth);
        }
        self.depth += 1;
        self.first = true;
        Ok(())
    }

    fn close(&mut self, object: bool) -> Result {
        if self.depth == 0 || self.in_object() != object || self.after_key {
            return Err(EncodeError::Misuse);
        }
        self.put(if object { b"}" } else { b"]" })?;
        self.depth -= 1;
        self.after_value();
        Ok(())
    }

    /// Writes `{`.
    ///
    /// # Errors
    /// [`EncodeError`] (full buffer, misuse, depth).
    pub fn begin_object(&mut self) -> Result {
        self.open(true)
    }

    /// Writes `}`.
    ///
    /// # Errors
    /// [`EncodeError`] (full buffer, misuse).
    pub fn end_object(&mut self) -> Result {
        self.close(true)
    }

    /// Writes `[`.
    ///
    /// # Errors
    /// [`EncodeError`] (full buffer, misuse, depth).
    pub fn begin_array(&mut self) -> Result {
        self.open(false)
    }

    /// Writes `]`.
    ///
    /// # Errors
    /// [`EncodeError`] (full buffer, misuse).
    pub fn end_array(&mut self) -> Result {
        self.close(false)
    }

    fn key_start(&mut self) -> Result {
        if !self.in_object() || self.after_key {
            return Err(EncodeError::Misuse);
        }
        if !self.first {
            self.put(b",")?;
        }
        self.first = false;
        Ok(())
    }

    /// Writes a member name (escaped) and `:`.
    ///
    /// # Errors
    /// [`EncodeError`] (full buffer, or not at a member position).
    pub fn key(&mut self, name: &str) -> Result {
        self.key_start()?;
        self.quoted(name)?;
        self.put(b":")?;
        self.after_key = true;
        Ok(())
    }

    /// Writes a member name given as a JSON string.
    ///
    /// # Errors
    /// As [`Self::key`].
    pub fn key_str(&mut self, name: Str<'_>) -> Result {
        self.key_start()?;
        self.quoted_str(name)?;
        self.put(b":")?;
        self.after_key = true;
        Ok(())
    }

    /// Writes a member: `key` then `value`.
    ///
    /// # Errors
    /// As [`Self::key`] and the value's encoding.
    pub fn field<T: ToJson + ?Sized>(&mut self, key: &str, value: &T) -> Result {
        self.key(key)?;
        value.to_json(self)
    }

    /// Writes any [`ToJson`] value.
    ///
    /// # Errors
    /// The value's encoding error.
    pub fn write<T: ToJson + ?Sized>(&mut self, value: &T) -> Result {
        value.to_json(self)
    }

    fn escaped(&mut self, s: &str) -> Result {
        let b = s.as_bytes();
        let mut start = 0;
        for (i, &c) in b.iter().enumerate() {
            if !NEEDS_ESCAPE[c as usize] {
                continue;
            }
            self.put(b.get(start..i).unwrap_or_default())?;
            start = i + 1;
            let hex = b"0123456789abcdef";
            let u = [
                b'\\',
                b'u',
                b'0',
                b'0',
                hex[usize::from(c >> 4)],
                hex[usize::from(c & 0xf)],
            ];
            self.put(match c {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x08 => b"\\b",
                0x0c => b"\\f",
                _ => &u,
            })?;
        }
        self.put(b.get(start..).unwrap_or_default())
    }

    fn quoted(&mut self, s: &str) -> Result {
        self.put(b"\"")?;
        self.escaped(s)?;
        self.put(b"\"")
    }

    fn quoted_str(&mut self, s: Str<'_>) -> Result {
        match s.raw() {
            // Validated JSON string source is already correctly escaped.
            (raw, true) => {
                self.put(b"\"")?;
                self.put(raw.as_bytes())?;
                self.put(b"\"")
            }
            (plain, false) => self.quoted(plain),
        }
    }

    /// Writes a string value (escaped).
    ///
    /// # Errors
    /// [`EncodeError`] (full buffer, misuse).
    pub fn str(&mut self, s: &str) -> Result {
        self.before_value()?;
        self.quoted(s)?;
        self.after_value();
        Ok(())
    }

    /// Writes a string value given as a JSON string.
    ///
    /// # Errors
    /// [`EncodeError`] (full buffer, misuse).
    pub fn json_str(&mut self, s: Str<'_>) -> Result {
        self.before_value()?;
        self.quoted_str(s)?;
        self.after_value();
        Ok(())
    }

    /// Writes the `Display` output of `text` as a string value (escaped),
    /// without an intermediate buffer.
    ///
    /// # Errors
    /// [`EncodeError`] (full buffer, misuse).
    pub fn display<T: fmt::Display + ?Sized>(&mut self, text: &T) -> Result {
        self.before_value()?;
        self.put(b"\"")?;
        let mut esc = Escaper { w: self, err: None };
        if write!(esc, "{text}").is_err() {
            return Err(esc.err.unwrap_or(EncodeError::TooLarge));
        }
        self.put(b"\"")?;
        self.after_value();
        Ok(())
    }

    /// Writes `null`.
    ///
    /// # Errors
    /// [`EncodeError`] (full buffer, misuse).
    pub fn null(&mut self) -> Result {
        self.before_value()?;
        self.put(b"null")?;
        self.after_value();
        Ok(())
    }

    /// Writes `true` or `false`.
    ///
    /// # Errors
    /// [`EncodeError`] (full buffer, misuse).
    pub fn bool(&mut self, b: bool) -> Result {
        self.before_value()?;
        self.put(if b { b"true" } else { b"false" })?;
        self.after_value();
        Ok(())
    }

    /// Writes an unsigned integer.
    ///
    /// # Errors
    /// [`EncodeError`] (full buffer, misuse).
    pub fn u64(&mut self, n: u64) -> Result {
        self.before_value()?;
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut n = n;
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.put(digits.get(i..).unwrap_or_default())?;
        self.after_value();
        Ok(())
    }

    /// Writes a signed integer.
    ///
    /// # Errors
    /// [`EncodeError`] (full buffer, misuse).
    pub fn i64(&mut self, n: i64) -> Result {
        if n >= 0 {
            return self.u64(n as u64);
        }
        self.before_value()?;
        self.put(b"-")?;
        // Write the magnitude without the value bookkeeping twice.
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut m = n.unsigned_abs();
        loop {
            i -= 1;
            digits[i] = b'0' + (m % 10) as u8;
            m /= 10;
            if m == 0 {
                break;
            }
        }
        self.put(digits.get(i..).unwrap_or_default())?;
        self.after_value();
        Ok(())
    }

    /// Writes a finite float in shortest round-trip form.
    ///
    /// # Errors
    /// [`EncodeError::NotFinite`] for NaN and infinities; full buffer, misuse.
    pub fn f64(&mut self, x: f64) -> Result {
        self.float(x, x.is_finite())
    }

    /// Writes a finite `f32` in its own shortest round-trip form (`0.1f32`
    /// is written `0.1`, not as its widened `f64` digits).
    ///
    /// # Errors
    /// As [`Self::f64`].
    pub fn f32(&mut self, x: f32) -> Result {
        self.float(x, x.is_finite())
    }

    fn float<F: serde::Serialize>(&mut self, x: F, finite: bool) -> Result {
        if !finite {
            return Err(EncodeError::NotFinite);
        }
        self.before_value()?;
        // serde-json-core prints finite floats with Ryū: the shortest text
        // that reads back to the same bits, always valid JSON (`1.0`,
        // `1e-7`, `1e16`), at a fraction of `core::fmt`'s cost.
        let mut digits = [0u8; 32];
        let n = serde_json_core::to_slice(&x, &mut digits).map_err(|_| EncodeError::TooLarge)?;
        self.put(digits.get(..n).unwrap_or_default())?;
        self.after_value();
        Ok(())
    }

    /// Writes a borrowed JSON value (re-encoded compactly).
    ///
    /// # Errors
    /// [`EncodeError`] (full buffer, misuse, depth).
    pub fn value(&mut self, v: &Value<'_>) -> Result {
        match v {
            Value::Null => self.null(),
            Value::Bool(b) => self.bool(*b),
            Value::Number(n) => {
                // Validated number text is already canonical JSON.
                self.before_value()?;
                self.put(n.as_str().as_bytes())?;
                self.after_value();
                Ok(())
            }
            Value::String(s) => self.json_str(*s),
            Value::Array(a) => {
                self.begin_array()?;
                for e in a.iter() {
                    self.value(&e)?;
                }
                self.end_array()
            }
            Value::Object(o) => {
                self.begin_object()?;
                for (k, e) in o.iter() {
                    self.key_str(k)?;
                    self.value(&e)?;
                }
                self.end_object()
            }
        }
    }
}

/// `fmt::Write` adapter that escapes into a string value.
struct Escaper<'w, 'b> {
    w: &'w mut JsonWriter<'b>,
    err: Option<EncodeError>,
}

impl fmt::Write for Escaper<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.w.escaped(s).map_err(|e| {
            self.err = Some(e);
            fmt::Error
        })
    }
}

/// Something that can write itself as one JSON value.
pub trait ToJson {
    /// Writes `self` as one value.
    ///
    /// # Errors
    /// The writer's [`EncodeError`]s.
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result;
}

impl ToJson for str {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.str(self)
    }
}
impl ToJson for Str<'_> {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.json_str(*self)
    }
}
impl ToJson for bool {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.bool(*self)
    }
}
impl ToJson for u64 {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.u64(*self)
    }
}
impl ToJson for u32 {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.u64(u64::from(*self))
    }
}
impl ToJson for u16 {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.u64(u64::from(*self))
    }
}
impl ToJson for usize {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.u64(*self as u64)
    }
}
impl ToJson for i64 {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.i64(*self)
    }
}
impl ToJson for f64 {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.f64(*self)
    }
}
impl ToJson for f32 {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.f32(*self)
    }
}
impl<T: ToJson> ToJson for Option<T> {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        match self {
            Some(v) => v.to_json(w),
            None => w.null(),
        }
    }
}
impl<T: ToJson + ?Sized> ToJson for &T {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        (**self).to_json(w)
    }
}
impl<T: ToJson> ToJson for [T] {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.begin_array()?;
        for v in self {
            v.to_json(w)?;
        }
        w.end_array()
    }
}
impl ToJson for Value<'_> {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.value(self)
    }
}

macro_rules! to_json_wire_name {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
                w.str(self.as_str())
            }
        }
    )*};
}
to_json_wire_name!(Topic, OpName, ErrorCode, RouteMode, SettingSource);

impl ToJson for Id<'_> {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        match self {
            Id::Num(n) => w.u64(*n),
            Id::Str(s) => w.json_str(*s),
        }
    }
}

impl ToJson for Scalar<'_> {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        match self {
            Scalar::Bool(b) => w.bool(*b),
            Scalar::Number(x) => w.f64(*x),
            Scalar::String(s) => w.json_str(*s),
        }
    }
}

impl ToJson for TopicSet {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.begin_array()?;
        for t in self.iter() {
            w.str(t.as_str())?;
        }
        w.end_array()
    }
}

impl ToJson for OpSet {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.begin_array()?;
        for op in self.iter() {
            w.str(op.as_str())?;
        }
        w.end_array()
    }
}

impl ToJson for Subscriptions {
    /// Canonical form: a bare name without `max_hz`, an object with it.
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.begin_array()?;
        for s in self.iter() {
            match s.max_hz {
                None => w.str(s.topic.as_str())?,
                Some(hz) => {
                    w.begin_object()?;
                    w.field("topic", &s.topic)?;
                    w.field("max_hz", &hz)?;
                    w.end_object()?;
                }
            }
        }
        w.end_array()
    }
}

impl ToJson for Subscribed {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.begin_object()?;
        w.field("topics", &self.topics)?;
        w.end_object()
    }
}

impl ToJson for PingResult<'_> {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.begin_object()?;
        w.field("name", &self.name)?;
        w.field("version", &self.version)?;
        w.field("protocol", &self.protocol)?;
        w.end_object()
    }
}

impl ToJson for SettingResult<'_> {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.begin_object()?;
        w.field("key", &self.key)?;
        w.field("value", &self.value)?;
        w.field("source", &self.source)?;
        w.end_object()
    }
}

impl ToJson for Hello<'_> {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.begin_object()?;
        w.field("name", &self.name)?;
        w.field("version", &self.version)?;
        w.field("protocol", &self.protocol)?;
        w.field("max_frame", &self.max_frame)?;
        w.field("ops", &self.ops)?;
        w.field("topics", &self.topics)?;
        w.end_object()
    }
}

impl ToJson for Dropped {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.begin_object()?;
        w.field("reason", "backpressure")?;
        w.field("lost_topic", &self.lost_topic)?;
        w.field("count", &self.count)?;
        w.field("total", &self.total)?;
        w.end_object()
    }
}

impl ToJson for Levels {
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.begin_object()?;
        w.field("momentary_lufs", &self.momentary_lufs)?;
        w.field("shortterm_lufs", &self.shortterm_lufs)?;
        w.field("integrated_lufs", &self.integrated_lufs)?;
        w.field("true_peak_dbtp", &self.true_peak_dbtp)?;
        w.field("gain_db", &self.gain_db)?;
        w.field("gain_reduction_db", &self.gain_reduction_db)?;
        w.end_object()
    }
}

impl ToJson for Request<'_> {
    /// Canonical member order: `id`, `op`, `args`, `caps`; `args` only when
    /// the op has arguments to send.
    fn to_json(&self, w: &mut JsonWriter<'_>) -> Result {
        w.begin_object()?;
        if let Some(id) = &self.id {
            w.field("id", id)?;
        }
        w.field("op", &self.op.name())?;
        write_args(w, &self.op)?;
        if let Some(caps) = &self.caps {
            w.field("caps", caps)?;
        }
        w.end_object()
    }
}

fn write_args(w: &mut JsonWriter<'_>, op: &Op<'_>) -> Result {
    let open = |w: &mut JsonWriter<'_>| -> Result {
        w.key("args")?;
        w.begin_object()
    };
    match op {
        Op::Ping
        | Op::Hello
        | Op::Status
        | Op::ProfileList
        | Op::ProfileReload
        | Op::RouteList
        | Op::SettingReset
        | Op::ProfileShow { name: None }
        | Op::SettingList { prefix: None }
        | Op::Unsubscribe { topics: None } => return Ok(()),
        Op::ProfileShow { name: Some(name) } | Op::ProfileUse { name } => {
            open(w)?;
            w.field("name", name)?;
        }
        Op::RouteSet { app, mode } => {
            open(w)?;
            w.field("app", app)?;
            w.field("mode", mode)?;
        }
        Op::RouteUnset { app } => {
            open(w)?;
            w.field("app", app)?;
        }
        Op::RouteStream { stream, mode } => {
            open(w)?;
            w.field("stream", stream)?;
            w.field("mode", mode)?;
        }
        Op::SettingGet { key } | Op::SettingClear { key } => {
            open(w)?;
            w.field("key", key)?;
        }
        Op::SettingSet { key, value } => {
            open(w)?;
            w.field("key", key)?;
            w.field("value", value)?;
        }
        Op::SettingList {
            prefix: Some(prefix),
        } => {
            open(w)?;
            w.field("prefix", prefix)?;
        }
        Op::BypassSet { bypass } => {
            open(w)?;
            w.field("bypass", bypass)?;
        }
        Op::Subscribe { topics } => {
            open(w)?;
            w.field("topics", topics)?;
        }
        Op::Unsubscribe {
            topics: Some(topics),
        } => {
            open(w)?;
            w.field("topics", topics)?;
        }
    }
    w.end_object()
}

/// Writes one frame: the framing around whatever `build` writes (exactly one
/// JSON value). Returns the frame's length in `out`.
///
/// # Errors
/// [`EncodeError::TooLarge`] when the JSON exceeds [`MAX_FRAME_BYTES`] or
/// `out`; otherwise `build`'s error.
pub fn encode_frame<F>(out: &mut [u8], framing: Framing, build: F) -> Result<usize>
where
    F: FnOnce(&mut JsonWriter<'_>) -> Result,
{
    // JSON goes in out[start..end]: after the prefix, or before the newline.
    let (start, tail) = match framing {
        Framing::Lines => (0, 1),
        Framing::LengthPrefixed => (4, 0),
    };
    let end = out
        .len()
        .checked_sub(tail)
        .filter(|&end| end >= start)
        .ok_or(EncodeError::TooLarge)?
        .min(start + MAX_FRAME_BYTES);
    let mut w = JsonWriter::range(&mut *out, start, end);
    build(&mut w)?;
    let json_end = w.finish()?;
    match framing {
        Framing::Lines => {
            *out.get_mut(json_end).ok_or(EncodeError::TooLarge)? = b'\n';
            Ok(json_end + 1)
        }
        Framing::LengthPrefixed => {
            let len = u32::try_from(json_end - start).map_err(|_| EncodeError::TooLarge)?;
            out.get_mut(..4)
                .ok_or(EncodeError::TooLarge)?
                .copy_from_slice(&len.to_be_bytes());
            Ok(json_end)
        }
    }
}

/// Encodes a request (client side).
///
/// # Errors
/// [`EncodeError`] (size; `NotFinite` for a NaN setting value).
pub fn encode_request(out: &mut [u8], framing: Framing, req: &Request<'_>) -> Result<usize> {
    encode_frame(out, framing, |w| req.to_json(w))
}

fn response_head(w: &mut JsonWriter<'_>, id: Option<Id<'_>>, ok: bool) -> Result {
    w.begin_object()?;
    w.field("id", &id)?;
    w.field("ok", &ok)
}

/// Encodes a success response with a typed result.
///
/// # Errors
/// [`EncodeError`]; on `TooLarge` answer [`encode_error`] with
/// [`ErrorCode::TooLarge`] instead.
pub fn encode_ok<T: ToJson + ?Sized>(
    out: &mut [u8],
    framing: Framing,
    id: Option<Id<'_>>,
    result: &T,
) -> Result<usize> {
    encode_ok_with(out, framing, id, |w| result.to_json(w))
}

/// Encodes a success response whose result `build` writes (one value).
///
/// # Errors
/// As [`encode_ok`].
pub fn encode_ok_with<F>(
    out: &mut [u8],
    framing: Framing,
    id: Option<Id<'_>>,
    build: F,
) -> Result<usize>
where
    F: FnOnce(&mut JsonWriter<'_>) -> Result,
{
    encode_frame(out, framing, |w| {
        response_head(w, id, true)?;
        w.key("result")?;
        build(w)?;
        w.end_object()
    })
}

/// Encodes an error response; `message` is written through `Display`.
///
/// # Errors
/// [`EncodeError::TooLarge`] if even this does not fit.
pub fn encode_error<M: fmt::Display + ?Sized>(
    out: &mut [u8],
    framing: Framing,
    id: Option<Id<'_>>,
    code: ErrorCode,
    message: &M,
) -> Result<usize> {
    encode_frame(out, framing, |w| {
        response_head(w, id, false)?;
        w.key("error")?;
        w.begin_object()?;
        w.field("code", &code)?;
        w.key("message")?;
        w.display(message)?;
        w.end_object()?;
        w.end_object()
    })
}

/// Encodes an event with typed data.
///
/// # Errors
/// [`EncodeError`].
pub fn encode_event<T: ToJson + ?Sized>(
    out: &mut [u8],
    framing: Framing,
    topic: Topic,
    event: &str,
    data: &T,
) -> Result<usize> {
    encode_event_with(out, framing, topic, event, |w| data.to_json(w))
}

/// Encodes an event whose data object `build` writes.
///
/// # Errors
/// [`EncodeError`].
pub fn encode_event_with<F>(
    out: &mut [u8],
    framing: Framing,
    topic: Topic,
    event: &str,
    build: F,
) -> Result<usize>
where
    F: FnOnce(&mut JsonWriter<'_>) -> Result,
{
    encode_frame(out, framing, |w| {
        w.begin_object()?;
        w.field("event", event)?;
        w.field("topic", &topic)?;
        w.key("data")?;
        build(w)?;
        w.end_object()
    })
}

/// Encodes the `hello` event (the first frame on every connection).
///
/// # Errors
/// [`EncodeError`].
pub fn encode_hello(out: &mut [u8], framing: Framing, hello: &Hello<'_>) -> Result<usize> {
    encode_event(out, framing, Topic::Daemon, "hello", hello)
}

/// Encodes a `dropped` notice.
///
/// # Errors
/// [`EncodeError`].
pub fn encode_dropped(out: &mut [u8], framing: Framing, dropped: &Dropped) -> Result<usize> {
    encode_event(out, framing, Topic::Daemon, "dropped", dropped)
}

/// Encodes a `levels` event.
///
/// # Errors
/// [`EncodeError`] (`NotFinite` for a non-finite gain).
pub fn encode_levels(out: &mut [u8], framing: Framing, levels: &Levels) -> Result<usize> {
    encode_event(out, framing, Topic::Meters, "levels", levels)
}
