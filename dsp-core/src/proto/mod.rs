//! The Headroom control protocol codec (`IPC.md`, protocol 1).
//!
//! Every client — the `headroom` CLI, status bars, scripts — talks to the
//! daemon through this protocol: requests and responses plus subscribable
//! event topics, as JSON over a Unix socket, in newline-delimited or
//! length-prefixed framing. `IPC.md` at the repository root is normative;
//! this module implements it without allocating, so the daemon, the CLI and
//! an embedded host share one fuzzed implementation.
//!
//! ## Pipeline
//! 1. [`frame`]: a [`FrameDecoder`] detects the framing from a connection's
//!    first byte, reassembles frames from bytes split anywhere, and refuses
//!    oversize frames before reading them.
//! 2. [`guard`]: [`guard::validate`] checks each frame against RFC 8259, the
//!    depth limit and IPC.md's string rules in one iterative pass.
//! 3. [`decode`]: [`decode_request`] (server side) and
//!    [`decode_server_message`] (client side) read validated text through
//!    borrowed [`Value`] views into the typed messages of [`message`].
//! 4. [`encode`]: [`JsonWriter`] and the `encode_*` functions write frames
//!    into caller-provided buffers.
//!
//! ## Contract
//! * No allocation, no `unsafe`, no recursion on received data.
//! * No function panics on any input; every rejection is a typed `Copy`
//!   error with an [`ErrorCode`] and a `Display` message for the response.
//! * Frame-level errors ([`FrameError`]) close the connection; message-level
//!   errors ([`RequestError`]) are answered and the connection stays open.
//!
//! This module never imports `dsp` (and vice versa): a realtime build links
//! no JSON code.

pub mod decode;
pub mod encode;
pub mod frame;
pub mod guard;
pub mod message;
pub mod value;

pub use decode::{
    decode_request, decode_server_message, parse, FieldError, FromValue, KnownEvent, MessageError,
    Problem, RequestError, RequestErrorKind,
};
pub use encode::{
    encode_dropped, encode_error, encode_event, encode_event_with, encode_frame, encode_hello,
    encode_levels, encode_ok, encode_ok_with, encode_request, EncodeError, JsonWriter, ToJson,
};
pub use frame::{Feed, FrameDecoder, FrameError, Framing};
pub use guard::{GuardError, GuardErrorKind};
pub use message::*;
pub use value::{Array, Number, Object, Str, Value};

/// The protocol version this crate speaks (IPC.md, "Versioning").
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest frame, in bytes of JSON (prefix or newline excluded), in either
/// direction.
pub const MAX_FRAME_BYTES: usize = 65_536;

/// Deepest nesting of arrays and objects a message may have (the top-level
/// object counts as 1).
pub const MAX_DEPTH: usize = 16;

/// Default capacity of a subscriber's per-topic event queue (IPC.md,
/// "Limits"; the queue itself is [`crate::queue::EventQueue`]).
pub use crate::queue::DEFAULT_EVENT_QUEUE_LEN;

/// Name of the socket inside `$XDG_RUNTIME_DIR` (IPC.md, "Transport").
pub const SOCKET_RELATIVE_PATH: &str = "headroom/control.sock";

/// Environment variable that overrides the socket path.
pub const SOCKET_ENV: &str = "HEADROOM_SOCKET";
