//! The event loop and the one state it owns.
//!
//! [`Daemon`] is calloop's shared data: the control state, every
//! connection, and the timers' bookkeeping. Each source's callback borrows
//! it mutably for the duration of one event, so there is no locking and no
//! cross-thread state. Order at startup matters: signals are blocked (by
//! the signalfd source) before anything could spawn a thread, so no thread
//! ever inherits an unblocked SIGTERM.

use crate::audio::AudioEngine;
use crate::control::{Control, OpError, ScalarIn};
use crate::json::{owned, Json};
use crate::server::{self, Conn};
use crate::watch::DirWatch;
use crate::{debug, info, warn, Args};
use anyhow::Context;
use calloop::generic::Generic;
use calloop::signals::{Signal, Signals};
use calloop::timer::{TimeoutAction, Timer};
use calloop::{EventLoop, Interest, LoopHandle, LoopSignal, Mode, PostAction, RegistrationToken};
use dsp_core::proto::{self, decode_request, ErrorCode, Op, Request, Topic};
use headroom_config::state::RouteMode;
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Quiet time after a profile file change before reloading.
const RELOAD_DEBOUNCE: Duration = Duration::from_millis(200);
/// Housekeeping period (stalled writers, refusals).
const HOUSEKEEPING: Duration = Duration::from_secs(1);
/// How often meter snapshots become `status.levels` while no client
/// subscribes to `meters` (subscribers bring their own rate, up to
/// `meters.publish_hz`).
const UNWATCHED_METERS_HZ: f32 = 4.0;
/// How often the audio path checks whether a PipeWire reconnect is due (the
/// attempts themselves back off from 100 ms to 5 s).
const AUDIO_POLL: Duration = Duration::from_millis(100);
/// The same check while connected: losing PipeWire is seen on its fd.
const AUDIO_POLL_CONNECTED: Duration = Duration::from_secs(2);

struct Client {
    conn: Conn,
    token: Option<RegistrationToken>,
}

/// Everything the event loop owns.
pub struct Daemon {
    control: Control,
    clients: HashMap<u64, Client>,
    next_id: u64,
    scratch: Box<[u8]>,
    started: Instant,
    caps_token: Option<String>,
    handle: LoopHandle<'static, Daemon>,
    signal: LoopSignal,
    reload_timer: Option<RegistrationToken>,
    audio: AudioEngine,
    pw_source: Option<RegistrationToken>,
    /// The timer that (re)connects to PipeWire ([`Daemon::schedule_audio_poll`]).
    poll_timer: Option<RegistrationToken>,
}

/// Runs the daemon until SIGTERM/SIGINT.
///
/// # Errors
/// Startup failures (socket in use, no runtime directory, event loop).
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut event_loop: EventLoop<'static, Daemon> =
        EventLoop::try_new().context("cannot create the event loop")?;
    let handle = event_loop.handle();

    // First: block and route signals through a signalfd, before any thread.
    let signals = Signals::new(&[Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP])
        .context("cannot set up signal handling")?;
    handle
        .insert_source(signals, |event, _, d: &mut Daemon| match event.signal() {
            Signal::SIGHUP => {
                info!("SIGHUP: reloading profiles");
                d.reload_profiles();
            }
            s => {
                info!("{s:?}: shutting down");
                d.signal.stop();
            }
        })
        .map_err(|e| anyhow::anyhow!("cannot watch signals: {e}"))?;

    let socket_path = args
        .socket
        .clone()
        .or_else(headroom_config::paths::socket_path)
        .context("no socket path: set XDG_RUNTIME_DIR or HEADROOM_SOCKET, or pass --socket")?;
    let socket = server::bind(&socket_path)?;
    info!("listening on {}", socket.path.display());

    let profile_dir = headroom_config::paths::profile_dir();
    let state_path =
        headroom_config::paths::state_dir().map(|d| headroom_config::state::file_in(&d));
    let (control, notes) = Control::new(profile_dir.clone(), state_path);
    for n in notes {
        warn!("{n}");
    }

    let listener = socket
        .listener
        .try_clone()
        .context("cannot duplicate the listening socket")?;
    handle
        .insert_source(
            Generic::new(listener, Interest::READ, Mode::Level),
            |_, l, d: &mut Daemon| {
                d.accept(l);
                Ok(PostAction::Continue)
            },
        )
        .map_err(|e| anyhow::anyhow!("cannot watch the socket: {e}"))?;

    if let Some(dir) = &profile_dir {
        if !dir.exists() {
            let _ = std::fs::create_dir_all(dir);
        }
        match DirWatch::new(dir) {
            Ok(w) => {
                handle
                    .insert_source(
                        Generic::new(w, Interest::READ, Mode::Level),
                        |_, w, d: &mut Daemon| {
                            if w.drain() {
                                d.schedule_reload();
                            }
                            Ok(PostAction::Continue)
                        },
                    )
                    .map_err(|e| anyhow::anyhow!("cannot watch profiles: {e}"))?;
            }
            Err(e) => warn!("not watching {} for changes: {e}", dir.display()),
        }
    }

    handle
        .insert_source(
            Timer::from_duration(HOUSEKEEPING),
            |_, _, d: &mut Daemon| {
                d.housekeeping();
                TimeoutAction::ToDuration(HOUSEKEEPING)
            },
        )
        .map_err(|e| anyhow::anyhow!("cannot start timer: {e}"))?;

    handle
        .insert_source(
            Timer::from_duration(Duration::from_millis(50)),
            |_, _, d: &mut Daemon| {
                if let Some(levels) = d.audio.tick_meters(&mut d.control) {
                    d.control.emit(Topic::Meters, "levels", levels);
                    d.publish();
                }
                // As fast as the most eager subscriber asks (at most
                // `meters.publish_hz`, which one without `max_hz` gets);
                // with nobody watching, refresh `status.levels` only, at a
                // rate that costs next to nothing.
                let publish = d.control.params().host.meters_publish_hz.clamp(1.0, 60.0);
                let wanted = d
                    .clients
                    .values()
                    .filter_map(|c| c.conn.subs.get(Topic::Meters))
                    .map(|sub| sub.max_hz.map_or(publish, f32::from))
                    .reduce(f32::max);
                let hz = wanted.map_or(UNWATCHED_METERS_HZ, |w| w.clamp(1.0, publish));
                TimeoutAction::ToDuration(Duration::from_secs_f32(1.0 / hz))
            },
        )
        .map_err(|e| anyhow::anyhow!("cannot start timer: {e}"))?;

    let mut daemon = Daemon {
        control,
        clients: HashMap::new(),
        next_id: 1,
        scratch: server::scratch(),
        started: Instant::now(),
        caps_token: std::env::var("HEADROOM_CAPS_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
        handle: handle.clone(),
        signal: event_loop.get_signal(),
        reload_timer: None,
        audio: AudioEngine::new(args.promote_default),
        pw_source: None,
        poll_timer: None,
    };
    daemon.schedule_audio_poll(Duration::ZERO);
    info!("ready (profile {})", daemon.control.active_name());
    crate::notify::notify("READY=1");

    event_loop
        .run(None, &mut daemon, |_| {})
        .context("event loop failed")?;

    crate::notify::notify("STOPPING=1");
    daemon.audio.shutdown();
    daemon.shutdown();
    drop(socket);
    info!("stopped");
    Ok(())
}

impl Daemon {
    fn accept(&mut self, listener: &std::os::unix::net::UnixListener) {
        loop {
            let stream = match listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    warn!("accept failed: {e}");
                    return;
                }
            };
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            let stream = Rc::new(stream);
            let live = self
                .clients
                .values()
                .filter(|c| c.conn.refuse_deadline.is_none())
                .count();
            let conn = if let Some(uid) = server::foreign_peer(&stream) {
                warn!("refused a connection from uid {uid}");
                Conn::refused(
                    stream.clone(),
                    ErrorCode::Denied,
                    format!("peer uid {uid} is not the daemon's user"),
                )
            } else if live >= server::MAX_CONNECTIONS {
                if self.clients.len() >= server::MAX_CONNECTIONS + 16 {
                    // Even the refusal queue is full: just close.
                    continue;
                }
                warn!(
                    "refused a connection: {} connections already",
                    server::MAX_CONNECTIONS
                );
                Conn::refused(
                    stream.clone(),
                    ErrorCode::Busy,
                    format!("too many connections ({})", server::MAX_CONNECTIONS),
                )
            } else {
                Conn::new(stream.clone())
            };
            let id = self.next_id;
            self.next_id += 1;
            let token = self
                .handle
                .insert_source(
                    Generic::new(stream, Interest::BOTH, Mode::Edge),
                    move |readiness, _, d: &mut Daemon| {
                        d.on_ready(id, readiness.readable, readiness.writable);
                        Ok(PostAction::Continue)
                    },
                )
                .ok();
            if token.is_none() {
                warn!("cannot watch a new connection; closing it");
                continue;
            }
            debug!("connection {id} opened");
            self.clients.insert(id, Client { conn, token });
        }
    }

    fn on_ready(&mut self, id: u64, readable: bool, writable: bool) {
        let now = Instant::now();
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        if writable {
            client.conn.flush(now);
            client.conn.pump(&mut self.scratch);
        }
        if readable || writable {
            self.serve(id);
        }
    }

    /// Reads and answers what a connection sent, as long as it has room.
    fn serve(&mut self, id: u64) {
        let now = Instant::now();
        loop {
            let Some(client) = self.clients.get_mut(&id) else {
                return;
            };
            if !client.conn.can_read() {
                break;
            }
            let frames = client.conn.read(&mut self.scratch);
            if frames.is_empty() {
                break;
            }
            for frame in frames {
                self.answer(id, &frame);
            }
            self.audio.sync(&mut self.control);
            self.publish();
        }
        if let Some(client) = self.clients.get_mut(&id) {
            client.conn.pump(&mut self.scratch);
            if client.conn.flush(now) {
                self.close(id);
            }
        }
    }

    fn close(&mut self, id: u64) {
        if let Some(client) = self.clients.remove(&id) {
            if let Some(t) = client.token {
                self.handle.remove(t);
            }
            debug!("connection {id} closed");
        }
    }

    fn answer(&mut self, id: u64, frame: &[u8]) {
        if frame.iter().all(u8::is_ascii_whitespace) {
            return; // keep-alive
        }
        let scratch = &mut self.scratch;
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        let req = match decode_request(frame) {
            Ok(r) => r,
            Err(e) => {
                let msg = e.to_string();
                client.conn.respond_err(scratch, e.id, e.code(), &msg);
                return;
            }
        };
        if req.op.name().is_mutating() {
            if let Some(token) = &self.caps_token {
                let given = req.caps.map(owned);
                if given.as_deref() != Some(token.as_str()) {
                    let msg = format!("capability token not accepted for {}", req.op.name());
                    client
                        .conn
                        .respond_err(scratch, req.id, ErrorCode::Denied, &msg);
                    return;
                }
            }
        }
        let result = self.dispatch(id, &req);
        let scratch = &mut self.scratch;
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        match result {
            Ok(json) => client.conn.respond_ok(scratch, req.id, &json),
            Err(e) => client.conn.respond_err(scratch, req.id, e.code, &e.message),
        }
    }

    fn dispatch(&mut self, id: u64, req: &Request<'_>) -> Result<Json, OpError> {
        let c = &mut self.control;
        match req.op {
            Op::Ping => Ok(Json::obj([
                ("name", server::NAME.into()),
                ("version", server::VERSION.into()),
                ("protocol", proto::PROTOCOL_VERSION.into()),
            ])),
            Op::Hello => Ok(hello_json()),
            Op::Status => {
                self.audio.update_status(&mut self.control);
                Ok(self.control.status(self.started.elapsed().as_secs()))
            }
            Op::ProfileList => Ok(c.profile_list()),
            Op::ProfileShow { name } => c.profile_show(name.map(owned).as_deref()),
            Op::ProfileUse { name } => c.profile_use(&owned(name)),
            Op::ProfileReload => Ok(c.profile_reload()),
            Op::RouteList => Ok(Json::obj([
                ("rules", c.route_rules()),
                ("streams", self.audio.streams_json()),
            ])),
            Op::RouteSet { app, mode } => c.route_set(&owned(app), route_mode(mode)),
            Op::RouteUnset { app } => c.route_unset(&owned(app)),
            Op::RouteStream { stream, mode } => {
                self.audio
                    .route_stream(&mut self.control, stream, route_mode(mode))
            }
            Op::SettingGet { key } => c.setting_get(&owned(key)),
            Op::SettingSet { key, value } => {
                let v = match value {
                    proto::Scalar::Bool(b) => ScalarIn::Bool(b),
                    proto::Scalar::Number(x) => ScalarIn::Number(x),
                    proto::Scalar::String(s) => ScalarIn::Text(owned(s)),
                };
                c.setting_set(&owned(key), v)
            }
            Op::SettingList { prefix } => Ok(c.setting_list(prefix.map(owned).as_deref())),
            Op::SettingClear { key } => c.setting_clear(&owned(key)),
            Op::SettingReset => c.setting_reset(),
            Op::BypassSet { bypass } => c.bypass_set(bypass),
            Op::Subscribe { topics } => {
                let client = self.clients.get_mut(&id).expect("caller holds the id");
                for sub in topics.iter() {
                    client.conn.subs.insert(sub);
                }
                Ok(subs_json(&client.conn.subs))
            }
            Op::Unsubscribe { topics } => {
                let client = self.clients.get_mut(&id).expect("caller holds the id");
                let remove: Vec<Topic> = match topics {
                    Some(set) => set.iter().collect(),
                    None => Topic::ALL.to_vec(),
                };
                for t in remove {
                    client.conn.subs.remove(t);
                    client.conn.discard_topic(t);
                }
                Ok(subs_json(&client.conn.subs))
            }
        }
    }

    /// Publishes the control plane's pending events to subscribers.
    fn publish(&mut self) {
        let events = self.control.take_events();
        if events.is_empty() {
            return;
        }
        let now = Instant::now();
        for ev in events {
            // Meter ticks would flood a verbose log (and its disk).
            if ev.topic != Topic::Meters {
                debug!("event {} {}", ev.topic, ev.name);
            }
            let mut cache: [Option<server::Frame>; 2] = [None, None];
            for client in self.clients.values_mut() {
                let Some(framing) = client.conn.framing() else {
                    continue;
                };
                if !client.conn.wants(ev.topic, now) {
                    continue;
                }
                let slot = match framing {
                    proto::Framing::Lines => 0,
                    proto::Framing::LengthPrefixed => 1,
                };
                if cache[slot].is_none() {
                    match proto::encode_event(
                        &mut self.scratch,
                        framing,
                        ev.topic,
                        ev.name,
                        &ev.data,
                    ) {
                        Ok(n) => cache[slot] = Some(Rc::from(&self.scratch[..n])),
                        Err(e) => {
                            warn!("cannot encode event {}: {e}", ev.name);
                            break;
                        }
                    }
                }
                if let Some(frame) = &cache[slot] {
                    client.conn.queue_event(ev.topic, frame.clone());
                }
            }
        }
        let ids: Vec<u64> = self.clients.keys().copied().collect();
        for id in ids {
            if let Some(client) = self.clients.get_mut(&id) {
                client.conn.pump(&mut self.scratch);
                if client.conn.flush(now) {
                    self.close(id);
                }
            }
        }
    }

    fn schedule_reload(&mut self) {
        if let Some(t) = self.reload_timer.take() {
            self.handle.remove(t);
        }
        self.reload_timer = self
            .handle
            .insert_source(
                Timer::from_duration(RELOAD_DEBOUNCE),
                |_, _, d: &mut Daemon| {
                    d.reload_timer = None;
                    info!("profile directory changed: reloading");
                    d.reload_profiles();
                    TimeoutAction::Drop
                },
            )
            .ok();
    }

    /// Connects to PipeWire when a (re)connect is due and watches its loop.
    fn audio_poll(&mut self) {
        if let Some(fd) = self.audio.poll_connect(&mut self.control) {
            self.watch_pipewire(fd);
        }
    }

    /// (Re)starts the reconnect timer, first firing after `after`: every
    /// [`AUDIO_POLL`] while PipeWire is away, every [`AUDIO_POLL_CONNECTED`]
    /// (a safety net) while connected, so an idle daemon seldom wakes. A
    /// lost connection restarts it at once.
    fn schedule_audio_poll(&mut self, after: Duration) {
        if let Some(t) = self.poll_timer.take() {
            self.handle.remove(t);
        }
        let timer = Timer::from_duration(after);
        match self.handle.insert_source(timer, |_, _, d: &mut Daemon| {
            d.audio_poll();
            TimeoutAction::ToDuration(if d.pw_source.is_some() {
                AUDIO_POLL_CONNECTED
            } else {
                AUDIO_POLL
            })
        }) {
            Ok(t) => self.poll_timer = Some(t),
            Err(e) => warn!("cannot start the PipeWire reconnect timer: {e}"),
        }
    }

    fn watch_pipewire(&mut self, fd: OwnedFd) {
        let source = Generic::new(fd, Interest::READ, Mode::Level);
        match self.handle.insert_source(source, |_, _, d: &mut Daemon| {
            let alive = d.audio.dispatch(&mut d.control);
            d.publish();
            if alive {
                Ok(PostAction::Continue)
            } else {
                d.pw_source = None;
                d.schedule_audio_poll(Duration::ZERO);
                Ok(PostAction::Remove)
            }
        }) {
            Ok(t) => {
                self.pw_source = Some(t);
                // Pick up what is already pending.
                self.audio.dispatch(&mut self.control);
            }
            Err(e) => warn!("cannot watch PipeWire: {e}"),
        }
    }

    fn reload_profiles(&mut self) {
        let result = self.control.profile_reload();
        if let Json::Obj(m) = &result {
            if let Some((_, Json::Arr(errors))) = m.iter().find(|(k, _)| k == "errors") {
                for e in errors {
                    if let Json::Obj(fields) = e {
                        if let Some((_, Json::Str(msg))) =
                            fields.iter().find(|(k, _)| k == "message")
                        {
                            warn!("profile rejected: {msg}");
                        }
                    }
                }
            }
        }
        self.audio.sync(&mut self.control);
        self.publish();
    }

    fn housekeeping(&mut self) {
        let now = Instant::now();
        let mut close = Vec::new();
        for (id, client) in self.clients.iter_mut() {
            if client.conn.stalled(now) {
                warn!(
                    "connection {id}: no output accepted for {} s; closing",
                    server::WRITE_STALL.as_secs()
                );
                close.push(*id);
                continue;
            }
            if client.conn.refuse_deadline.is_some_and(|d| now >= d) {
                client.conn.refuse_deadline = None;
                client.conn.send_refusal(&mut self.scratch);
                if client.conn.flush(now) {
                    close.push(*id);
                }
            }
        }
        for id in close {
            self.close(id);
        }
    }

    fn shutdown(&mut self) {
        let now = Instant::now();
        for client in self.clients.values_mut() {
            client.conn.push_shutdown(&mut self.scratch);
            client.conn.flush(now);
        }
        let ids: Vec<u64> = self.clients.keys().copied().collect();
        for id in ids {
            self.close(id);
        }
    }
}

fn route_mode(m: proto::RouteMode) -> RouteMode {
    match m {
        proto::RouteMode::Processed => RouteMode::Processed,
        proto::RouteMode::Bypass => RouteMode::Bypass,
    }
}

fn subs_json(subs: &proto::Subscriptions) -> Json {
    let topics = Json::Arr(
        subs.iter()
            .map(|s| match s.max_hz {
                Some(hz) => Json::obj([
                    ("topic", s.topic.as_str().into()),
                    ("max_hz", (hz as u64).into()),
                ]),
                None => s.topic.as_str().into(),
            })
            .collect(),
    );
    Json::obj([("topics", topics)])
}

fn hello_json() -> Json {
    Json::obj([
        ("name", server::NAME.into()),
        ("version", server::VERSION.into()),
        ("protocol", proto::PROTOCOL_VERSION.into()),
        ("max_frame", (proto::MAX_FRAME_BYTES as u64).into()),
        (
            "ops",
            Json::Arr(
                proto::OpName::ALL
                    .iter()
                    .map(|o| o.as_str().into())
                    .collect(),
            ),
        ),
        (
            "topics",
            Json::Arr(Topic::ALL.iter().map(|t| t.as_str().into()).collect()),
        ),
    ])
}
