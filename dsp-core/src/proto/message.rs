//! The protocol's message types (IPC.md, "Messages", "Ops", "Topics and
//! events", "Errors").
//!
//! Requests are fully typed: [`Request`] carries an [`Op`] whose variant holds
//! that op's validated arguments, borrowing strings from the frame. Results
//! and event data are op-specific JSON; the simple ones are typed here
//! ([`PingResult`], [`SettingResult`], [`Subscriptions`], [`Hello`],
//! [`Dropped`], [`Levels`]), the rest are built by the daemon with
//! [`JsonWriter`](super::encode::JsonWriter) and read by clients as
//! [`Value`]s.
//!
//! Every enum with a wire name has `as_str` and `from_wire`; `from_wire` is
//! exact and case-sensitive, as IPC.md specifies.

use core::fmt;

use super::value::{Str, Value};

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $( $(#[$vmeta])* $variant, )* }

        impl $name {
            /// Every value, in IPC.md's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The wire name.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $wire, )* }
            }

            /// Parses a wire name (exact match).
            pub fn from_wire(s: &str) -> Option<Self> {
                match s { $( $wire => Some($name::$variant), )* _ => None }
            }

            /// Parses a wire name given as a JSON string (escapes allowed).
            pub fn from_str_value(s: Str<'_>) -> Option<Self> {
                match s.as_str() {
                    Some(plain) => Self::from_wire(plain),
                    None => {
                        let mut buf = [0u8; 32];
                        Self::from_wire(s.unescape_into(&mut buf).ok()?)
                    }
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// Error codes (IPC.md, "Errors"). Clients must treat codes they do not
    /// know like `internal`.
    pub enum ErrorCode {
        /// The byte stream violates the framing (connection closes).
        BadFrame = "bad_frame",
        /// Not valid JSON, not an object, or a bad `id`/`op`/`caps` field.
        BadMessage = "bad_message",
        /// The op is not one this server implements.
        UnknownOp = "unknown_op",
        /// An argument is missing, of the wrong type, or out of range.
        BadArgument = "bad_argument",
        /// The named profile, setting, rule or stream does not exist.
        NotFound = "not_found",
        /// The request would break an invariant (e.g. contradictory settings).
        Conflict = "conflict",
        /// The peer or its capability token may not do this.
        Denied = "denied",
        /// The daemon cannot take this now (queue full, too many clients).
        Busy = "busy",
        /// A frame, nesting or result exceeds a limit.
        TooLarge = "too_large",
        /// A daemon bug or an unexpected system failure.
        Internal = "internal",
    }
}

wire_enum! {
    /// Subscribable topics (IPC.md, "Topics and events").
    pub enum Topic {
        /// Loudness and gain meters (`levels` events).
        Meters = "meters",
        /// Active profile and setting changes.
        Profile = "profile",
        /// Routing rules and streams.
        Routing = "routing",
        /// Daemon lifecycle, `hello` and `dropped` notices.
        Daemon = "daemon",
    }
}

wire_enum! {
    /// Names of all ops (IPC.md, "Ops").
    pub enum OpName {
        /// Liveness check; answers name, version, protocol.
        Ping = "ping",
        /// The hello data again.
        Hello = "hello",
        /// Daemon and chain state.
        Status = "status",
        /// Known profiles.
        ProfileList = "profile.list",
        /// One profile's settings.
        ProfileShow = "profile.show",
        /// Switch the active profile.
        ProfileUse = "profile.use",
        /// Re-read profile files.
        ProfileReload = "profile.reload",
        /// Routing rules and live streams.
        RouteList = "route.list",
        /// Add or replace an app rule.
        RouteSet = "route.set",
        /// Remove an app rule.
        RouteUnset = "route.unset",
        /// Move one live stream now.
        RouteStream = "route.stream",
        /// Read one setting.
        SettingGet = "setting.get",
        /// Override one setting at runtime.
        SettingSet = "setting.set",
        /// All settings.
        SettingList = "setting.list",
        /// Drop one runtime override.
        SettingClear = "setting.clear",
        /// Drop all runtime overrides.
        SettingReset = "setting.reset",
        /// Bypass processing on or off.
        BypassSet = "bypass.set",
        /// Subscribe to topics.
        Subscribe = "subscribe",
        /// Unsubscribe from topics.
        Unsubscribe = "unsubscribe",
    }
}

wire_enum! {
    /// Where a routed app's audio goes.
    pub enum RouteMode {
        /// Through Headroom's leveling sink.
        Processed = "processed",
        /// Straight to the real output, unprocessed.
        Bypass = "bypass",
    }
}

wire_enum! {
    /// Where a setting's current value comes from.
    pub enum SettingSource {
        /// The built-in default.
        Default = "default",
        /// The active profile.
        Profile = "profile",
        /// A runtime override (`setting.set`).
        Override = "override",
    }
}

impl OpName {
    /// Whether the op changes daemon state (IPC.md: these may require `caps`).
    pub fn is_mutating(self) -> bool {
        matches!(
            self,
            OpName::ProfileUse
                | OpName::ProfileReload
                | OpName::RouteSet
                | OpName::RouteUnset
                | OpName::RouteStream
                | OpName::SettingSet
                | OpName::SettingClear
                | OpName::SettingReset
                | OpName::BypassSet
        )
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl Topic {
    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A set of ops (e.g. the `ops` a server announces in `hello`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpSet(u32);

impl OpSet {
    /// No ops.
    pub const EMPTY: OpSet = OpSet(0);

    /// Every op this crate knows.
    pub fn all() -> OpSet {
        OpName::ALL.iter().fold(OpSet::EMPTY, |s, &o| s.with(o))
    }

    /// This set plus `op`.
    #[must_use]
    pub fn with(self, op: OpName) -> OpSet {
        OpSet(self.0 | op.bit())
    }

    /// Whether `op` is in the set.
    pub fn contains(&self, op: OpName) -> bool {
        self.0 & op.bit() != 0
    }

    /// The ops in the set, in IPC.md order.
    pub fn iter(&self) -> impl Iterator<Item = OpName> + '_ {
        OpName::ALL.iter().copied().filter(|&o| self.contains(o))
    }
}

/// A set of topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopicSet(u8);

impl TopicSet {
    /// No topics.
    pub const EMPTY: TopicSet = TopicSet(0);

    /// All four topics.
    pub fn all() -> TopicSet {
        Topic::ALL.iter().fold(TopicSet::EMPTY, |s, &t| s.with(t))
    }

    /// This set plus `topic`.
    #[must_use]
    pub fn with(self, topic: Topic) -> TopicSet {
        TopicSet(self.0 | topic.bit())
    }

    /// Whether `topic` is in the set.
    pub fn contains(&self, topic: Topic) -> bool {
        self.0 & topic.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The topics in the set, in IPC.md order.
    pub fn iter(&self) -> impl Iterator<Item = Topic> + '_ {
        Topic::ALL.iter().copied().filter(|&t| self.contains(t))
    }
}

/// Highest `max_hz` a subscription may ask for.
pub const MAX_HZ_LIMIT: u16 = 100;

/// One topic subscription with its optional event-rate cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription {
    /// The topic.
    pub topic: Topic,
    /// At most this many events per second (1..=100); `None`: the topic's
    /// default (IPC.md: 10 for `meters`, unlimited for the others).
    pub max_hz: Option<u16>,
}

/// A set of subscriptions, at most one per topic (a later entry for the same
/// topic replaces an earlier one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Subscriptions {
    topics: TopicSet,
    max_hz: [u16; 4],
}

impl Subscriptions {
    /// No subscriptions.
    pub const EMPTY: Subscriptions = Subscriptions {
        topics: TopicSet::EMPTY,
        max_hz: [0; 4],
    };

    /// Adds or replaces the subscription for `sub.topic`.
    ///
    /// A `max_hz` of `Some(0)` is stored as `None`; values above
    /// [`MAX_HZ_LIMIT`] are clamped (the decoder rejects both before this).
    pub fn insert(&mut self, sub: Subscription) {
        self.topics = self.topics.with(sub.topic);
        if let Some(slot) = self.max_hz.get_mut(sub.topic.index()) {
            *slot = sub.max_hz.unwrap_or(0).min(MAX_HZ_LIMIT);
        }
    }

    /// Removes `topic`.
    pub fn remove(&mut self, topic: Topic) {
        self.topics = TopicSet(self.topics.0 & !topic.bit());
        if let Some(slot) = self.max_hz.get_mut(topic.index()) {
            *slot = 0;
        }
    }

    /// The subscription for `topic`, if any.
    pub fn get(&self, topic: Topic) -> Option<Subscription> {
        self.topics.contains(topic).then(|| Subscription {
            topic,
            max_hz: self
                .max_hz
                .get(topic.index())
                .copied()
                .filter(|&hz| hz != 0),
        })
    }

    /// The subscribed topics.
    pub fn topics(&self) -> TopicSet {
        self.topics
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    /// The subscriptions, in IPC.md topic order.
    pub fn iter(&self) -> impl Iterator<Item = Subscription> + '_ {
        Topic::ALL.iter().filter_map(|&t| self.get(t))
    }
}

impl FromIterator<Subscription> for Subscriptions {
    fn from_iter<I: IntoIterator<Item = Subscription>>(iter: I) -> Self {
        let mut s = Subscriptions::EMPTY;
        iter.into_iter().for_each(|sub| s.insert(sub));
        s
    }
}

/// Result of `subscribe` and `unsubscribe`: the connection's subscriptions
/// after the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Subscribed {
    /// All current subscriptions.
    pub topics: Subscriptions,
}

/// Longest `id` string, in bytes (decoded).
pub const MAX_ID_BYTES: usize = 128;
/// Longest `caps` token, in bytes (decoded).
pub const MAX_CAPS_BYTES: usize = 256;
/// Longest setting key or prefix, in bytes.
pub const MAX_KEY_BYTES: usize = 64;
/// Longest profile name, in bytes.
pub const MAX_PROFILE_NAME_BYTES: usize = 64;
/// Longest route `app` match, in bytes (decoded).
pub const MAX_APP_BYTES: usize = 256;

/// A request id: an integer or a string, echoed in the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Id<'a> {
    /// `0..=2^64-1`
    Num(u64),
    /// At most [`MAX_ID_BYTES`] bytes.
    Str(Str<'a>),
}

/// A setting value: JSON scalars only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    /// `true`/`false`
    Bool(bool),
    /// A finite number.
    Number(f64),
    /// A string.
    String(Str<'a>),
}

/// One decoded request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request<'a> {
    /// The id to echo; `None` when absent (the response then has `"id":null`).
    pub id: Option<Id<'a>>,
    /// The op and its validated arguments.
    pub op: Op<'a>,
    /// The capability token, if sent.
    pub caps: Option<Str<'a>>,
}

impl<'a> Request<'a> {
    /// A request without id or caps.
    pub fn new(op: Op<'a>) -> Self {
        Request {
            id: None,
            op,
            caps: None,
        }
    }
}

/// An op with its arguments (IPC.md, "Ops", has each one's schema).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op<'a> {
    /// `ping`
    Ping,
    /// `hello`
    Hello,
    /// `status`
    Status,
    /// `profile.list`
    ProfileList,
    /// `profile.show`
    ProfileShow {
        /// The profile; `None` means the active one.
        name: Option<Str<'a>>,
    },
    /// `profile.use`
    ProfileUse {
        /// The profile to activate.
        name: Str<'a>,
    },
    /// `profile.reload`
    ProfileReload,
    /// `route.list`
    RouteList,
    /// `route.set`
    RouteSet {
        /// The application match.
        app: Str<'a>,
        /// Where its audio goes.
        mode: RouteMode,
    },
    /// `route.unset`
    RouteUnset {
        /// The application match whose rule is removed.
        app: Str<'a>,
    },
    /// `route.stream`
    RouteStream {
        /// PipeWire node id of the stream.
        stream: u32,
        /// Where it goes.
        mode: RouteMode,
    },
    /// `setting.get`
    SettingGet {
        /// Dotted setting key.
        key: Str<'a>,
    },
    /// `setting.set`
    SettingSet {
        /// Dotted setting key.
        key: Str<'a>,
        /// New value.
        value: Scalar<'a>,
    },
    /// `setting.list`
    SettingList {
        /// Only keys starting with this.
        prefix: Option<Str<'a>>,
    },
    /// `setting.clear`
    SettingClear {
        /// Dotted setting key.
        key: Str<'a>,
    },
    /// `setting.reset`
    SettingReset,
    /// `bypass.set`
    BypassSet {
        /// `true`: pass audio through unprocessed.
        bypass: bool,
    },
    /// `subscribe`
    Subscribe {
        /// Topics to add (non-empty).
        topics: Subscriptions,
    },
    /// `unsubscribe`
    Unsubscribe {
        /// Topics to drop; `None` means all.
        topics: Option<TopicSet>,
    },
}

impl Op<'_> {
    /// The op's name.
    pub fn name(&self) -> OpName {
        match self {
            Op::Ping => OpName::Ping,
            Op::Hello => OpName::Hello,
            Op::Status => OpName::Status,
            Op::ProfileList => OpName::ProfileList,
            Op::ProfileShow { .. } => OpName::ProfileShow,
            Op::ProfileUse { .. } => OpName::ProfileUse,
            Op::ProfileReload => OpName::ProfileReload,
            Op::RouteList => OpName::RouteList,
            Op::RouteSet { .. } => OpName::RouteSet,
            Op::RouteUnset { .. } => OpName::RouteUnset,
            Op::RouteStream { .. } => OpName::RouteStream,
            Op::SettingGet { .. } => OpName::SettingGet,
            Op::SettingSet { .. } => OpName::SettingSet,
            Op::SettingList { .. } => OpName::SettingList,
            Op::SettingClear { .. } => OpName::SettingClear,
            Op::SettingReset => OpName::SettingReset,
            Op::BypassSet { .. } => OpName::BypassSet,
            Op::Subscribe { .. } => OpName::Subscribe,
            Op::Unsubscribe { .. } => OpName::Unsubscribe,
        }
    }
}

/// Result of `ping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingResult<'a> {
    /// Daemon name (`headroomd`).
    pub name: Str<'a>,
    /// Daemon version.
    pub version: Str<'a>,
    /// Protocol version ([`PROTOCOL_VERSION`](super::PROTOCOL_VERSION)).
    pub protocol: u32,
}

/// Result of `setting.get`, `setting.set` and `setting.clear`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SettingResult<'a> {
    /// Dotted key.
    pub key: Str<'a>,
    /// Current value.
    pub value: Scalar<'a>,
    /// Where the value comes from.
    pub source: SettingSource,
}

/// Data of the `hello` event and result of the `hello` op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello<'a> {
    /// Daemon name.
    pub name: Str<'a>,
    /// Daemon version.
    pub version: Str<'a>,
    /// Protocol version.
    pub protocol: u32,
    /// Largest frame the server accepts and sends, in bytes.
    pub max_frame: u32,
    /// Ops the server implements (unknown names a newer server lists are
    /// skipped when decoding).
    pub ops: OpSet,
    /// Topics the server publishes.
    pub topics: TopicSet,
}

impl<'a> Hello<'a> {
    /// This crate's protocol, every op and topic, under the given name.
    pub fn current(name: &'a str, version: &'a str) -> Self {
        Hello {
            name: Str::new(name),
            version: Str::new(version),
            protocol: super::PROTOCOL_VERSION,
            max_frame: super::MAX_FRAME_BYTES as u32,
            ops: OpSet::all(),
            topics: TopicSet::all(),
        }
    }
}

/// Data of the `dropped` notice (topic `daemon`): events of `lost_topic`
/// were dropped because the subscriber did not read fast enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// The topic whose events were lost.
    pub lost_topic: Topic,
    /// Events lost since the previous notice for that topic.
    pub count: u64,
    /// Events of that topic lost on this connection so far.
    pub total: u64,
}

/// Data of the `levels` event (topic `meters`). `None` encodes as `null`:
/// no measurement yet, or silence below the gate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Levels {
    /// Momentary loudness (400 ms), LUFS.
    pub momentary_lufs: Option<f64>,
    /// Short-term loudness (3 s), LUFS.
    pub shortterm_lufs: Option<f64>,
    /// Integrated loudness since the stream started, LUFS.
    pub integrated_lufs: Option<f64>,
    /// True peak of the output over the last interval, dBTP.
    pub true_peak_dbtp: Option<f64>,
    /// Gain the AGC applies, dB.
    pub gain_db: f64,
    /// Gain reduction by compressor and limiter, dB (≥ 0).
    pub gain_reduction_db: f64,
}

/// An error response's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorBody<'a> {
    /// The code; codes unknown to this crate decode as [`ErrorCode::Internal`]
    /// (IPC.md, "Versioning").
    pub code: ErrorCode,
    /// The code exactly as sent.
    pub wire_code: Str<'a>,
    /// Human-readable explanation.
    pub message: Str<'a>,
}

/// A decoded response.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Response<'a> {
    /// The echoed id (`None` for `null`).
    pub id: Option<Id<'a>>,
    /// `result` on success, `error` on failure.
    pub outcome: Result<Value<'a>, ErrorBody<'a>>,
}

/// A decoded event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event<'a> {
    /// Event name within its topic.
    pub event: Str<'a>,
    /// Topic name; a newer server may send topics this crate does not know.
    pub topic: Str<'a>,
    /// Event data (an object).
    pub data: Value<'a>,
}

impl Event<'_> {
    /// The topic, if this crate knows it.
    pub fn known_topic(&self) -> Option<Topic> {
        Topic::from_str_value(self.topic)
    }
}

/// Anything a server sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServerMessage<'a> {
    /// A response to a request.
    Response(Response<'a>),
    /// An event.
    Event(Event<'a>),
}
