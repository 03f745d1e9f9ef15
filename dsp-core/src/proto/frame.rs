//! Framing: turning a connection's byte stream into frames (IPC.md,
//! "Framing").
//!
//! A connection's first byte selects its framing for its whole life:
//! * `{` or ASCII whitespace → [`Framing::Lines`]: newline-delimited JSON,
//!   one message per line (LF; a CR before it is JSON whitespace). Lines that
//!   are empty or all whitespace are keep-alives and are skipped.
//! * `0x00` → [`Framing::LengthPrefixed`]: a 4-byte big-endian length, then
//!   that many bytes of JSON. A zero length is a keep-alive and is skipped.
//!   (Every legal length is below 2^24, so its first byte is always 0.)
//! * anything else → [`FrameError::BadFirstByte`].
//!
//! ## Contract
//! [`FrameDecoder`] accepts input split at any byte boundary and never
//! buffers more than its limit: an oversize frame is refused as soon as its
//! length is known (a prefix over the limit, or a line that grows past it),
//! before any of it is parsed. After a [`FrameError`] the decoder is
//! *failed*: it swallows all further input and yields nothing, because the
//! stream can no longer be trusted to be in sync; the host answers the error
//! and closes the connection.
//!
//! ## Cost
//! Each input byte is examined once and copied once into the buffer.

use core::fmt;

use super::{ErrorCode, MAX_FRAME_BYTES};

/// How a connection's frames are delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framing {
    /// Newline-delimited JSON (NDJSON).
    Lines,
    /// 4-byte big-endian length + JSON.
    LengthPrefixed,
}

impl Framing {
    /// The framing a connection whose first byte is `first` uses.
    pub fn detect(first: u8) -> Option<Framing> {
        match first {
            b'{' | b' ' | b'\t' | b'\n' | b'\r' => Some(Framing::Lines),
            0 => Some(Framing::LengthPrefixed),
            _ => None,
        }
    }

    /// Bytes a frame adds around its JSON (the prefix, or the newline).
    pub fn overhead(self) -> usize {
        match self {
            Framing::Lines => 1,
            Framing::LengthPrefixed => 4,
        }
    }
}

/// A framing violation; the connection must be closed after answering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The connection's first byte selects no framing.
    BadFirstByte(u8),
    /// A line grew past the limit without a newline.
    LineTooLong {
        /// The limit in bytes (newline excluded).
        limit: usize,
    },
    /// A length prefix announced more than the limit.
    FrameTooLarge {
        /// The announced length.
        declared: u32,
        /// The limit in bytes.
        limit: usize,
    },
}

impl FrameError {
    /// `bad_frame` for an unknown framing, `too_large` for the size limits.
    pub fn code(&self) -> ErrorCode {
        match self {
            FrameError::BadFirstByte(_) => ErrorCode::BadFrame,
            FrameError::LineTooLong { .. } | FrameError::FrameTooLarge { .. } => {
                ErrorCode::TooLarge
            }
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::BadFirstByte(b) => write!(
                f,
                "first byte 0x{b:02x} selects no framing (expected '{{', whitespace or 0x00)"
            ),
            FrameError::LineTooLong { limit } => {
                write!(f, "line longer than the {limit}-byte limit")
            }
            FrameError::FrameTooLarge { declared, limit } => {
                write!(
                    f,
                    "frame of {declared} bytes exceeds the {limit}-byte limit"
                )
            }
        }
    }
}

/// The result of feeding bytes to a [`FrameDecoder`].
#[derive(Debug, PartialEq, Eq)]
pub enum Feed<'b> {
    /// All input was consumed and no frame is complete yet.
    NeedMore,
    /// A complete frame's JSON bytes (without prefix or newline). Valid until
    /// the next call.
    Frame(&'b [u8]),
    /// The stream violates the framing; answer this and close.
    Error(FrameError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing received yet.
    Start,
    /// Accumulating a line of `len` bytes.
    Line,
    /// Accumulating a length prefix: `got` bytes of it so far.
    Header { got: u8, bytes: [u8; 4] },
    /// Accumulating a body of `need` bytes.
    Body { need: usize },
    /// A framing error happened; everything is swallowed.
    Failed,
}

/// Incremental frame decoder over a caller-provided buffer.
///
/// The frame limit is `min(buffer length, MAX_FRAME_BYTES)`; give it at least
/// [`MAX_FRAME_BYTES`] to implement IPC.md.
///
/// ```
/// use dsp_core::proto::frame::{Feed, FrameDecoder};
/// let mut dec = FrameDecoder::new([0u8; 64]);
/// let input = b"{\"op\":\"ping\"}\n{\"op\":";
/// let (n, feed) = dec.feed(input);
/// assert_eq!(feed, Feed::Frame(b"{\"op\":\"ping\"}"));
/// let (m, feed) = dec.feed(&input[n..]);
/// assert_eq!((n + m, feed), (input.len(), Feed::NeedMore));
/// ```
#[derive(Debug, Clone)]
pub struct FrameDecoder<B> {
    buf: B,
    limit: usize,
    framing: Option<Framing>,
    state: State,
    len: usize,
    /// The previous call returned a frame, so the buffer is free again.
    returned: bool,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> FrameDecoder<B> {
    /// A decoder accumulating frames in `buf`.
    pub fn new(buf: B) -> Self {
        let limit = buf.as_ref().len().min(MAX_FRAME_BYTES);
        FrameDecoder {
            buf,
            limit,
            framing: None,
            state: State::Start,
            len: 0,
            returned: false,
        }
    }

    /// The connection's framing, once its first byte has arrived.
    pub fn framing(&self) -> Option<Framing> {
        self.framing
    }

    /// The largest frame accepted, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Whether a framing error has happened.
    pub fn is_failed(&self) -> bool {
        self.state == State::Failed
    }

    /// Whether a frame is partly received (an EOF now truncates it).
    pub fn has_partial_frame(&self) -> bool {
        match self.state {
            State::Line => self.len > 0 && !self.returned,
            State::Header { got, .. } => got > 0,
            State::Body { .. } => true,
            State::Start | State::Failed => false,
        }
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> B {
        self.buf
    }

    /// Consumes bytes from `input` up to and including the end of the next
    /// complete frame; returns how many were consumed and what happened.
    ///
    /// Call it again with the rest of the input until it returns
    /// [`Feed::NeedMore`]; it consumes at least one byte per call whenever
    /// `input` is not empty.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Feed<'_>) {
        if self.returned {
            self.returned = false;
            self.len = 0;
        }
        let mut pos = 0;
        loop {
            let rest = input.get(pos..).unwrap_or_default();
            let Some(&first) = rest.first() else {
                return (pos, Feed::NeedMore);
            };
            match self.state {
                State::Failed => return (input.len(), Feed::NeedMore),
                State::Start => match Framing::detect(first) {
                    Some(f) => {
                        self.framing = Some(f);
                        self.state = match f {
                            Framing::Lines => State::Line,
                            Framing::LengthPrefixed => State::Header {
                                got: 0,
                                bytes: [0; 4],
                            },
                        };
                    }
                    None => return self.fail(pos + 1, FrameError::BadFirstByte(first)),
                },
                State::Line => {
                    let (chunk, newline) = match rest.iter().position(|&c| c == b'\n') {
                        Some(k) => (rest.get(..k).unwrap_or_default(), true),
                        None => (rest, false),
                    };
                    if self.len + chunk.len() > self.limit {
                        // Refuse before buffering or parsing any more of it.
                        let limit = self.limit;
                        let used = (limit - self.len) + 1;
                        return self.fail(
                            pos + used.min(rest.len()),
                            FrameError::LineTooLong { limit },
                        );
                    }
                    self.append(chunk);
                    pos += chunk.len();
                    if newline {
                        pos += 1;
                        let line = self.buf.as_ref().get(..self.len).unwrap_or_default();
                        if line
                            .iter()
                            .all(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
                        {
                            self.len = 0; // keep-alive
                            continue;
                        }
                        return self.emit(pos);
                    }
                }
                State::Header { mut got, mut bytes } => {
                    for (slot, &c) in bytes.iter_mut().skip(usize::from(got)).zip(rest) {
                        *slot = c;
                        got += 1;
                        pos += 1;
                    }
                    if got < 4 {
                        self.state = State::Header { got, bytes };
                        continue;
                    }
                    let declared = u32::from_be_bytes(bytes);
                    let need = declared as usize;
                    if need > self.limit {
                        let limit = self.limit;
                        return self.fail(pos, FrameError::FrameTooLarge { declared, limit });
                    }
                    self.state = if need == 0 {
                        State::Header {
                            got: 0,
                            bytes: [0; 4],
                        } // keep-alive
                    } else {
                        State::Body { need }
                    };
                }
                State::Body { need } => {
                    let take = (need - self.len).min(rest.len());
                    self.append(rest.get(..take).unwrap_or_default());
                    pos += take;
                    if self.len == need {
                        self.state = State::Header {
                            got: 0,
                            bytes: [0; 4],
                        };
                        return self.emit(pos);
                    }
                }
            }
        }
    }

    fn append(&mut self, chunk: &[u8]) {
        let end = self.len + chunk.len();
        if let Some(dst) = self.buf.as_mut().get_mut(self.len..end) {
            dst.copy_from_slice(chunk);
            self.len = end;
        }
    }

    fn emit(&mut self, consumed: usize) -> (usize, Feed<'_>) {
        self.returned = true;
        let frame = self.buf.as_ref().get(..self.len).unwrap_or_default();
        (consumed, Feed::Frame(frame))
    }

    fn fail(&mut self, consumed: usize, e: FrameError) -> (usize, Feed<'_>) {
        self.state = State::Failed;
        self.len = 0;
        (consumed, Feed::Error(e))
    }
}
