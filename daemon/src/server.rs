//! The IPC server side of IPC.md: the listening socket and each client
//! connection's buffers, framing, queues and backpressure.
//!
//! Contract:
//! * The socket lives in a 0700 directory and is 0600; a lock file next to
//!   it (`flock`) tells a live daemon from a stale socket, so a running
//!   daemon's socket is never stolen and a dead one's is replaced.
//! * Everything is non-blocking and driven by the event loop (edge-triggered
//!   readiness): no thread per client, no blocking write, ever.
//! * Memory per connection is bounded: one 64 KiB frame buffer, an outbox
//!   that stops the reading of new requests at 64 KiB (responses are never
//!   dropped), and 64 queued events per topic (then dropped and counted,
//!   with one `dropped` notice when there is room again).

use crate::json::Json;
use dsp_core::proto::{
    self, encode_dropped, encode_error, encode_event, encode_hello, encode_ok, Dropped, ErrorCode,
    FrameDecoder, Framing, Hello, Id, Topic, MAX_FRAME_BYTES,
};
use dsp_core::queue::{Delivery, EventQueue};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Most simultaneous connections (IPC.md "Limits").
pub const MAX_CONNECTIONS: usize = 64;
/// Unsent output above which a connection's requests are no longer read.
pub const OUTBOX_LIMIT: usize = 64 * 1024;
/// A connection that accepts no output for this long is closed.
pub const WRITE_STALL: Duration = Duration::from_secs(30);
/// Daemon name in `hello` and `ping`.
pub const NAME: &str = "headroomd";
/// Daemon version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Room for one encoded frame (JSON + prefix or newline).
const FRAME_ROOM: usize = MAX_FRAME_BYTES + 4;

/// The bound control socket and the lock that proves we own it.
#[derive(Debug)]
pub struct Socket {
    /// The listener (non-blocking).
    pub listener: UnixListener,
    /// Its path.
    pub path: PathBuf,
    _lock: std::fs::File,
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds the control socket at `path` per IPC.md "Transport".
///
/// # Errors
/// Another live daemon holds it (the message says so), or the directory or
/// socket cannot be created.
pub fn bind(path: &Path) -> anyhow::Result<Socket> {
    use anyhow::{bail, Context};
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        headroom_config::state::create_private_dir(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // IPC.md: the directory is 0700. Tighten one we own that is looser.
    if let Ok(meta) = std::fs::metadata(dir) {
        use std::os::unix::fs::MetadataExt;
        if meta.uid() == rustix::process::getuid().as_raw() && meta.mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot make {} private", dir.display()))?;
        }
    }
    let lock_path = path.with_extension("lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open lock file {}", lock_path.display()))?;
    if rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        bail!(
            "another headroomd is already running on {} (stop it first, or set HEADROOM_SOCKET to run a second one elsewhere)",
            path.display()
        );
    }
    // We hold the lock: whatever is at `path` is left over from a dead daemon.
    match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            use std::os::unix::fs::FileTypeExt;
            if !meta.file_type().is_socket() {
                bail!(
                    "{} exists and is not a socket; refusing to replace it",
                    path.display()
                );
            }
            std::fs::remove_file(path)
                .with_context(|| format!("cannot remove stale socket {}", path.display()))?;
            crate::info!("replaced stale socket {}", path.display());
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", path.display())),
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("cannot bind {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot set permissions on {}", path.display()))?;
    listener.set_nonblocking(true)?;
    Ok(Socket {
        listener,
        path: path.to_path_buf(),
        _lock: lock,
    })
}

/// Whether `stream`'s peer runs as our user. Returns the peer uid when not.
pub fn foreign_peer(stream: &UnixStream) -> Option<u32> {
    let me = rustix::process::getuid();
    match rustix::net::sockopt::socket_peercred(stream.as_fd()) {
        Ok(cred) if cred.uid == me => None,
        Ok(cred) => Some(cred.uid.as_raw()),
        // Unknown peer: refuse rather than trust.
        Err(_) => Some(u32::MAX),
    }
}

fn topic_index(t: Topic) -> usize {
    Topic::ALL.iter().position(|x| *x == t).unwrap_or(0)
}

/// An encoded event, shared between connections with the same framing.
pub type Frame = Rc<[u8]>;

/// One client connection.
#[derive(Debug)]
pub struct Conn {
    stream: Rc<UnixStream>,
    decoder: FrameDecoder<Box<[u8]>>,
    framing: Option<Framing>,
    greeted: bool,
    outbox: Vec<u8>,
    sent: usize,
    queues: [EventQueue<Frame>; 4],
    /// Subscriptions (topic → max_hz).
    pub subs: proto::Subscriptions,
    meters_last: Option<Instant>,
    stalled_since: Option<Instant>,
    /// Close once the outbox is flushed (frame error, peer finished).
    closing: bool,
    peer_done: bool,
    /// Set when the connection should be dropped now.
    pub dead: bool,
    /// A refusal to send once the framing is known (denied/busy).
    refusal: Option<(ErrorCode, String)>,
    /// When a refused connection gives up waiting for its first byte.
    pub refuse_deadline: Option<Instant>,
}

/// What a connection's input produced: requests to answer.
pub type Frames = Vec<Vec<u8>>;

impl Conn {
    /// Wraps an accepted, non-blocking stream.
    pub fn new(stream: Rc<UnixStream>) -> Self {
        Conn {
            stream,
            decoder: FrameDecoder::new(vec![0u8; MAX_FRAME_BYTES].into_boxed_slice()),
            framing: None,
            greeted: false,
            outbox: Vec::new(),
            sent: 0,
            queues: Default::default(),
            subs: proto::Subscriptions::EMPTY,
            meters_last: None,
            stalled_since: None,
            closing: false,
            peer_done: false,
            dead: false,
            refusal: None,
            refuse_deadline: None,
        }
    }

    /// A connection to refuse with `code`: answered once its first byte
    /// shows the framing (or after a second, in lines framing), then closed.
    pub fn refused(stream: Rc<UnixStream>, code: ErrorCode, message: String) -> Self {
        let mut c = Conn::new(stream);
        c.refusal = Some((code, message));
        c.refuse_deadline = Some(Instant::now() + Duration::from_secs(1));
        c
    }

    /// The framing, once known.
    pub fn framing(&self) -> Option<Framing> {
        self.framing
    }

    fn unsent(&self) -> usize {
        self.outbox.len() - self.sent
    }

    /// Appends an encoded frame to the outbox.
    pub fn push_frame(&mut self, frame: &[u8]) {
        if self.sent > 0 && self.sent == self.outbox.len() {
            self.outbox.clear();
            self.sent = 0;
        }
        self.outbox.extend_from_slice(frame);
    }

    /// Encodes with `f` into a scratch buffer and appends; an encoding
    /// failure becomes an `internal` error response for `id`.
    pub fn push_with(
        &mut self,
        scratch: &mut [u8],
        id: Option<Id<'_>>,
        f: impl FnOnce(&mut [u8], Framing) -> Result<usize, proto::EncodeError>,
    ) {
        let framing = self.framing.unwrap_or(Framing::Lines);
        match f(scratch, framing) {
            Ok(n) => self.push_frame(&scratch[..n]),
            Err(e) => {
                let n = encode_error(
                    scratch,
                    framing,
                    id,
                    e.code(),
                    &format_args!("cannot encode the result: {e}"),
                )
                .unwrap_or(0);
                self.push_frame(&scratch[..n]);
            }
        }
    }

    /// Sends the refusal (if the framing is known or the wait is over) and
    /// marks the connection to close.
    pub fn send_refusal(&mut self, scratch: &mut [u8]) {
        if let Some((code, message)) = self.refusal.take() {
            self.push_with(scratch, None, |buf, fr| {
                encode_error(buf, fr, None, code, &message)
            });
            self.closing = true;
            self.peer_done = true;
        }
    }

    /// Reads what is available (edge-triggered: until `WouldBlock`), returning
    /// complete frames. Stops early while the outbox is over its limit.
    pub fn read(&mut self, scratch: &mut [u8]) -> Frames {
        let mut frames = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        while !self.dead && !self.peer_done && self.unsent() < OUTBOX_LIMIT {
            let n = match (&*self.stream).read(&mut buf) {
                Ok(0) => {
                    self.peer_done = true;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.dead = true;
                    break;
                }
            };
            let mut input = &buf[..n];
            while !input.is_empty() {
                let (used, feed) = self.decoder.feed(input);
                input = &input[used.min(input.len())..];
                let feed = match feed {
                    proto::Feed::NeedMore => None,
                    proto::Feed::Frame(f) => Some(Ok(f.to_vec())),
                    proto::Feed::Error(e) => Some(Err(e)),
                };
                if self.framing.is_none() {
                    self.framing = self.decoder.framing();
                }
                match feed {
                    None => {
                        if used == 0 {
                            break;
                        }
                    }
                    Some(Ok(f)) => {
                        if self.refusal.is_none() && !self.closing {
                            frames.push(f);
                        }
                    }
                    Some(Err(e)) => {
                        if self.refusal.is_none() {
                            // A stream that never selected a framing gets the
                            // error instead of hello (IPC.md lifecycle).
                            let framing = self.framing.unwrap_or(Framing::Lines);
                            if self.framing.is_none() {
                                self.greeted = true;
                            }
                            self.framing = Some(framing);
                            self.greet(scratch);
                            let n = encode_error(scratch, framing, None, e.code(), &e).unwrap_or(0);
                            self.push_frame(&scratch[..n]);
                        }
                        self.closing = true;
                        self.peer_done = true;
                        input = &[];
                    }
                }
            }
            if self.framing.is_some() {
                if self.refusal.is_some() {
                    self.send_refusal(scratch);
                } else {
                    self.greet(scratch);
                }
            }
        }
        frames
    }

    /// Sends `hello` once, as the first frame.
    fn greet(&mut self, scratch: &mut [u8]) {
        if self.greeted || self.refusal.is_some() {
            return;
        }
        self.greeted = true;
        let framing = self.framing.unwrap_or(Framing::Lines);
        if let Ok(n) = encode_hello(scratch, framing, &Hello::current(NAME, VERSION)) {
            self.push_frame(&scratch[..n]);
        }
    }

    /// Whether the connection wants `topic` events now (subscribed, and for
    /// meters, not faster than its `max_hz`; without one, every tick of
    /// `meters.publish_hz`).
    pub fn wants(&mut self, topic: Topic, now: Instant) -> bool {
        let Some(sub) = self.subs.get(topic) else {
            return false;
        };
        if let (Topic::Meters, Some(max_hz)) = (topic, sub.max_hz) {
            let hz = max_hz.max(1) as f64;
            // Tolerate timer jitter: 0.9 of the period.
            let period = Duration::from_secs_f64(0.9 / hz);
            if self
                .meters_last
                .is_some_and(|t| now.duration_since(t) < period)
            {
                return false;
            }
            self.meters_last = Some(now);
        }
        true
    }

    /// Queues an event frame on `topic` (dropped and counted when full).
    pub fn queue_event(&mut self, topic: Topic, frame: Frame) {
        if !self.greeted {
            return;
        }
        let _ = self.queues[topic_index(topic)].push(frame);
    }

    /// Drops queued events of topics no longer subscribed.
    pub fn discard_topic(&mut self, topic: Topic) {
        self.queues[topic_index(topic)].clear();
    }

    /// Moves queued events into the outbox while it has room.
    pub fn pump(&mut self, scratch: &mut [u8]) {
        let Some(framing) = self.framing else { return };
        'outer: while self.unsent() < OUTBOX_LIMIT {
            let mut moved = false;
            for (i, q) in self.queues.iter_mut().enumerate() {
                if self.outbox.len() - self.sent >= OUTBOX_LIMIT {
                    break 'outer;
                }
                match q.pop() {
                    Some(Delivery::Event(frame)) => {
                        if self.sent > 0 && self.sent == self.outbox.len() {
                            self.outbox.clear();
                            self.sent = 0;
                        }
                        self.outbox.extend_from_slice(&frame);
                        moved = true;
                    }
                    Some(Delivery::Dropped { count, total }) => {
                        let d = Dropped {
                            lost_topic: Topic::ALL[i],
                            count,
                            total,
                        };
                        if let Ok(n) = encode_dropped(scratch, framing, &d) {
                            self.outbox.extend_from_slice(&scratch[..n]);
                        }
                        moved = true;
                    }
                    None => {}
                }
            }
            if !moved {
                break;
            }
        }
    }

    /// Writes as much of the outbox as the socket takes. Returns whether the
    /// connection finished (closing and flushed, or broken).
    pub fn flush(&mut self, now: Instant) -> bool {
        while self.sent < self.outbox.len() {
            match (&*self.stream).write(&self.outbox[self.sent..]) {
                Ok(0) => {
                    self.dead = true;
                    break;
                }
                Ok(n) => {
                    self.sent += n;
                    self.stalled_since = None;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.stalled_since.get_or_insert(now);
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.dead = true;
                    break;
                }
            }
        }
        if self.sent == self.outbox.len() {
            self.outbox.clear();
            self.sent = 0;
            // Keep memory bounded after a burst.
            if self.outbox.capacity() > 2 * OUTBOX_LIMIT {
                self.outbox.shrink_to(OUTBOX_LIMIT);
            }
        }
        if self.closing && self.unsent() == 0 {
            self.dead = true;
        }
        if self.peer_done
            && self.unsent() == 0
            && self.queues.iter().all(|q| q.is_empty())
            && self.subs.is_empty()
        {
            self.dead = true;
        }
        self.dead
    }

    /// Whether writes have been stuck for longer than [`WRITE_STALL`].
    pub fn stalled(&self, now: Instant) -> bool {
        self.stalled_since
            .is_some_and(|t| now.duration_since(t) > WRITE_STALL)
    }

    /// Whether the connection can take more requests (outbox under limit).
    pub fn can_read(&self) -> bool {
        self.unsent() < OUTBOX_LIMIT && !self.peer_done && !self.dead
    }

    /// Queues the `shutdown` event directly (every connection gets it).
    pub fn push_shutdown(&mut self, scratch: &mut [u8]) {
        if let Some(framing) = self.framing {
            if let Ok(n) = encode_event(
                scratch,
                framing,
                Topic::Daemon,
                "shutdown",
                &Json::Obj(Vec::new()),
            ) {
                self.push_frame(&scratch[..n]);
            }
        }
    }

    /// Appends an ok response.
    pub fn respond_ok(&mut self, scratch: &mut [u8], id: Option<Id<'_>>, result: &Json) {
        self.push_with(scratch, id, |buf, fr| encode_ok(buf, fr, id, result));
    }

    /// Appends an error response.
    pub fn respond_err(
        &mut self,
        scratch: &mut [u8],
        id: Option<Id<'_>>,
        code: ErrorCode,
        message: &str,
    ) {
        self.push_with(scratch, id, |buf, fr| {
            encode_error(buf, fr, id, code, message)
        });
    }
}

/// A scratch buffer big enough for any frame.
pub fn scratch() -> Box<[u8]> {
    vec![0u8; FRAME_ROOM].into_boxed_slice()
}
