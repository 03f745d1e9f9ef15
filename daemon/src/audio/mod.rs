//! The audio path: Headroom's PipeWire sink, its realtime processing, and
//! the routing of playback streams.
//!
//! Contract:
//! * [`AudioEngine`] lives in the daemon's state and is driven from the
//!   calloop loop only: [`AudioEngine::poll_connect`] (from a timer; returns
//!   the PipeWire loop fd to watch), [`AudioEngine::dispatch`] (when that fd
//!   is readable), [`AudioEngine::sync`] (after every control op),
//!   [`AudioEngine::tick_meters`] (at `meters.publish_hz`) and
//!   [`AudioEngine::shutdown`]. There is no thread of ours besides
//!   PipeWire's data thread, which runs only [`rt::Rt::process`].
//! * PipeWire unreachable or lost: the engine drops everything, reports
//!   `"waiting"`, and retries with exponential backoff (100 ms … 5 s),
//!   logging once per outage, while IPC keeps being served.
//! * Routing: every playback stream gets a `target.object` in the `default`
//!   metadata naming the Headroom sink (`processed`) or the real sink
//!   (`bypass`, or every stream while bypass is on), as decided by
//!   [`headroom_config::routing::decide`] (a one-stream `route.stream`
//!   override comes first). Headroom's own output is only ever aimed at the
//!   real sink. On shutdown the keys it set are deleted (streams return to
//!   the default sink) and a promoted default sink is given back.
//! * The real sink is the user's default sink unless that is Headroom, else
//!   the previous real sink if it still exists, else the first real sink.
//!   Headroom's sink has the lowest `priority.session` ([`pw`]), so the
//!   session manager makes it the default only while no real sink exists
//!   and hands the default back when one (re)appears.
//! * Rate: the chain runs at the graph rate. When it changes
//!   (`clock.force-rate`, rate switching within `clock.allowed-rates`, a new
//!   driver) PipeWire renegotiates both streams and the output's new format
//!   rebuilds the chain at that rate ([`PwEvent::Format`]); `status` reports
//!   the new rate and latency. The realtime side hands the old chain's
//!   leveling to the new one as it swaps them (`Chain::continue_from`: the
//!   AGC's estimate and gain carry over, meters start afresh), and the
//!   limiter holds the ceiling throughout.
//! * Memory: everything belonging to a connection (streams, chain, the
//!   realtime queues of [`queues`]) is freed when it is lost; reconnecting
//!   costs nothing for good.
//!
//! # New streams reach Headroom by a race (WirePlumber 0.4 and 0.5)
//! The session manager links a new playback stream as soon as it has set up
//! its session item for it: to the stream's `target.object` in the `default`
//! metadata if one is there by then, otherwise to the default sink
//! (WirePlumber 0.4.13 `policy-node.lua`, `findDefinedTarget` then
//! `findUndefinedTarget`; 0.5 `linking/find-defined-target.lua` then
//! `find-default-target.lua`). Nothing exists before the node does, so
//! headroomd can only react to the same registry event WirePlumber reacts to
//! and write `target.object` quickly; no interface lets another client hold
//! the stream until it has decided. Measured on this project's shared
//! 2-core machine, WirePlumber 0.4.13, optimised headroomd: on a quiet
//! machine its metadata write reached WirePlumber 0.55–0.83 ms before the
//! link decision (30 of 30 streams); in a later run with other work on the
//! machine 3 of 20 streams were first linked to the real sink and moved
//! ("moving to new target") about 6 ms later. With only headroomd's control
//! thread starved (SCHED_IDLE beside a busy loop) 10 of 10 were, moved
//! 12–16 ms later, and none of their opening full-scale clicks reached the
//! speakers (the stream had not started yet); with the whole daemon starved
//! the moves came 90–320 ms late and one click in six reached the speakers
//! at full scale. WirePlumber 0.5.8 behaves alike (5 of 10 streams first
//! linked to the real sink). The one deterministic route is to make
//! Headroom the default sink: with `--promote-default` (or
//! `daemon.promote_default`) the session manager links new streams straight
//! to it, and bypassed ones are moved off it instead — processed, never
//! louder, for their first milliseconds.

pub mod client_conf;
pub mod graph;
pub mod pw;
pub mod queues;
pub mod rt;

use crate::control::{Control, OpError};
use crate::json::Json;
use crate::{debug, info, warn};
use dsp_core::params::Params;
use dsp_core::proto::{ErrorCode, Topic};
use graph::{Graph, SINK_NAME};
use headroom_config::routing::{decide, Reason};
use headroom_config::state::RouteMode;
use pw::{Conn, LatencyInfo, PwEvent};
use rt::{Cmd, ControlEnds, Dsp, Shared, Snapshot};
use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
const EPIPE: i32 = 32;
const KEY_TARGET: &str = "target.object";
const KEY_CONFIGURED_SINK: &str = "default.configured.audio.sink";

/// Connection state, as `status` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PwState {
    /// Not connected; retrying with backoff.
    Waiting,
    /// Connected to PipeWire.
    Connected,
}

/// What Headroom set for one stream.
#[derive(Debug, Clone, PartialEq)]
struct Routed {
    mode: RouteMode,
    target: Option<String>,
    rule: Option<String>,
}

/// The audio path's state on the control thread.
pub struct AudioEngine {
    conn: Option<Conn>,
    ends: Option<ControlEnds>,
    shared: Arc<Shared>,
    graph: Graph,
    state: PwState,
    backoff: Duration,
    next_attempt: Instant,
    outage_logged: bool,
    last_error: Option<String>,
    real_sink: Option<String>,
    output_meta: Option<(u32, String)>,
    format: Option<(u32, usize)>,
    dsp_latency_frames: u32,
    downstream: Option<LatencyInfo>,
    params: Params,
    pending: Option<Cmd>,
    params_pending: bool,
    routed: BTreeMap<u32, Routed>,
    stream_overrides: BTreeMap<u32, RouteMode>,
    promote_flag: bool,
    promoted_from: Option<Option<String>>,
    cmd_overruns: u64,
    output_state: String,
    streaming: bool,
    meter_acc: Option<Snapshot>,
}

impl AudioEngine {
    /// A disconnected engine; `promote_default` from the command line.
    pub fn new(promote_default: bool) -> Self {
        Self {
            conn: None,
            ends: None,
            shared: Arc::new(Shared::default()),
            graph: Graph::default(),
            state: PwState::Waiting,
            backoff: BACKOFF_MIN,
            next_attempt: Instant::now(),
            outage_logged: false,
            last_error: None,
            real_sink: None,
            output_meta: None,
            format: None,
            dsp_latency_frames: 0,
            downstream: None,
            params: Params::default(),
            pending: None,
            params_pending: false,
            routed: BTreeMap::new(),
            stream_overrides: BTreeMap::new(),
            promote_flag: promote_default,
            promoted_from: None,
            cmd_overruns: 0,
            output_state: "unconnected".into(),
            streaming: false,
            meter_acc: None,
        }
    }

    /// Tries to connect if it is time to; returns the loop fd to watch.
    pub fn poll_connect(&mut self, control: &mut Control) -> Option<OwnedFd> {
        if self.conn.is_some() || Instant::now() < self.next_attempt {
            return None;
        }
        match Conn::connect().and_then(|c| {
            c.loop_fd()
                .map(|fd| (c, fd))
                .map_err(|e| format!("cannot watch PipeWire: {e}"))
        }) {
            Ok((conn, fd)) => {
                info!("connected to PipeWire");
                control.emit(Topic::Daemon, "pipewire_connected", Json::obj([]));
                self.conn = Some(conn);
                self.state = PwState::Connected;
                self.backoff = BACKOFF_MIN;
                self.outage_logged = false;
                self.last_error = None;
                self.params = control.params().dsp;
                self.update_status(control);
                Some(fd)
            }
            Err(e) => {
                if !self.outage_logged {
                    info!("PipeWire not reachable ({e}); retrying in the background");
                    self.outage_logged = true;
                } else {
                    debug!("PipeWire still not reachable: {e}");
                }
                self.last_error = Some(e);
                self.next_attempt = Instant::now() + self.backoff;
                self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
                None
            }
        }
    }

    /// Runs PipeWire's ready work and reacts to it. Returns false when the
    /// connection was lost (the caller stops watching the fd).
    pub fn dispatch(&mut self, control: &mut Control) -> bool {
        let Some(conn) = &self.conn else { return false };
        conn.iterate();
        let events = conn.take_events();
        let mut lost = false;
        for ev in events {
            if self.handle(ev, control) {
                lost = true;
            }
        }
        if lost {
            self.lose(control, "PipeWire connection lost");
            return false;
        }
        self.reconcile(control);
        true
    }

    /// Forgets the connection; a reconnect follows after the backoff.
    fn lose(&mut self, control: &mut Control, why: &str) {
        warn!("{why}; reconnecting");
        control.emit(
            Topic::Daemon,
            "error",
            Json::obj([("message", format!("{why}; reconnecting").into())]),
        );
        self.conn = None;
        self.ends = None;
        self.state = PwState::Waiting;
        self.last_error = Some(why.to_string());
        self.graph = Graph::default();
        self.routed.clear();
        self.stream_overrides.clear();
        self.format = None;
        self.downstream = None;
        self.output_meta = None;
        self.streaming = false;
        self.pending = None;
        self.output_state = "unconnected".into();
        // Our promotion died with the sink; the session manager chose anew.
        self.promoted_from = None;
        self.next_attempt = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
        self.outage_logged = true;
        if self.real_sink.take().is_some() {
            control.emit(
                Topic::Routing,
                "sink_changed",
                Json::obj([("sink", Json::Null)]),
            );
        }
        self.update_status(control);
    }

    /// Returns true if the event means the connection is gone.
    fn handle(&mut self, ev: PwEvent, control: &mut Control) -> bool {
        match ev {
            PwEvent::Node(n) => {
                let id = n.id;
                let playback = n.is_playback();
                self.graph.nodes.insert(id, n);
                if playback {
                    debug!("playback stream {id} appeared");
                }
            }
            PwEvent::DefaultMetadata(id) => {
                if let Some(c) = &mut self.conn {
                    c.bind_metadata(id);
                }
            }
            PwEvent::Removed(id) => {
                if let Some(n) = self.graph.nodes.remove(&id) {
                    if n.is_playback() && self.routed.remove(&id).is_some() {
                        control.emit(
                            Topic::Routing,
                            "stream_removed",
                            Json::obj([("stream", id.into())]),
                        );
                    }
                    self.stream_overrides.remove(&id);
                }
                self.graph.targets.remove(&id);
            }
            PwEvent::Meta {
                subject,
                key,
                value,
            } => match key.as_deref() {
                None => {
                    self.graph.targets.clear();
                    self.graph.default_sink = None;
                    self.graph.configured_sink = None;
                }
                Some("default.audio.sink") if subject == 0 => {
                    self.graph.default_sink = value.as_deref().and_then(graph::parse_default_name);
                }
                Some(KEY_CONFIGURED_SINK) if subject == 0 => {
                    self.graph.configured_sink =
                        value.as_deref().and_then(graph::parse_default_name);
                }
                Some(KEY_TARGET) => match value {
                    Some(v) => {
                        self.graph.targets.insert(subject, v);
                    }
                    None => {
                        self.graph.targets.remove(&subject);
                    }
                },
                _ => {}
            },
            PwEvent::CoreError { id, res, message } => {
                if id == 0 && res == -EPIPE {
                    return true;
                }
                debug!("PipeWire error on object {id}: {message} ({res})");
            }
            PwEvent::Format { rate_hz, channels } => {
                let channels = channels as usize;
                if self.format != Some((rate_hz, channels)) && rate_hz > 0 && channels > 0 {
                    match Dsp::new(rate_hz, channels, &self.params) {
                        Ok(dsp) => {
                            info!(
                                "processing {channels} channels at {rate_hz} Hz ({:?} DSP build)",
                                dsp.isa()
                            );
                            self.dsp_latency_frames = dsp.latency_frames() as u32;
                            self.format = Some((rate_hz, channels));
                            // A newer chain replaces one still waiting.
                            self.pending = Some(Cmd::Dsp(dsp));
                            self.flush_commands();
                            self.report_latency();
                        }
                        Err(e) => warn!("cannot process {channels} channels at {rate_hz} Hz: {e}; output is silent"),
                    }
                }
            }
            PwEvent::OutputLatency(l) => {
                if self.downstream != Some(l) {
                    self.downstream = Some(l);
                    self.report_latency();
                }
            }
            PwEvent::StreamState {
                output,
                state,
                error,
            } => {
                if let Some(e) = &error {
                    warn!(
                        "{} stream error: {e}",
                        if output { "output" } else { "sink" }
                    );
                }
                if output {
                    self.streaming = state == "streaming";
                    self.output_state = state;
                }
            }
        }
        false
    }

    fn report_latency(&self) {
        if let Some(c) = &self.conn {
            c.report_latency(self.downstream, self.dsp_latency_frames);
        }
    }

    /// Sends what waits for the realtime side; a full queue is counted and
    /// retried on the next call.
    fn flush_commands(&mut self) {
        let Some(ends) = &mut self.ends else { return };
        while ends.recv_trash().is_some() {}
        if let Some(cmd) = self.pending.take() {
            if let Err(cmd) = ends.send_cmd(cmd) {
                self.cmd_overruns += 1;
                self.pending = Some(cmd);
                return;
            }
        }
        if self.params_pending {
            if ends.send_cmd(Cmd::Params(self.params)).is_err() {
                self.cmd_overruns += 1;
                return;
            }
            self.params_pending = false;
        }
    }

    /// Applies control changes: DSP parameters, routes, bypass, promotion.
    pub fn sync(&mut self, control: &mut Control) {
        if control.take_dsp_dirty() {
            self.params = control.params().dsp;
            self.params_pending = true;
        }
        self.flush_commands();
        if self.conn.is_some() {
            self.reconcile(control);
        }
    }

    /// Brings the graph in line with the policy.
    fn reconcile(&mut self, control: &mut Control) {
        self.flush_commands();
        // 1. The real sink.
        let preferred = [
            self.graph.default_sink.as_deref(),
            self.graph.configured_sink.as_deref(),
        ]
        .into_iter()
        .flatten()
        .find(|n| *n != SINK_NAME)
        .map(str::to_string)
        .or_else(|| self.promoted_from.clone().flatten());
        let real = self
            .graph
            .choose_real_sink(preferred.as_deref(), self.real_sink.as_deref());
        if real != self.real_sink {
            info!("real sink: {}", real.as_deref().unwrap_or("(none)"));
            self.real_sink = real.clone();
            control.emit(
                Topic::Routing,
                "sink_changed",
                Json::obj([("sink", real.clone().into())]),
            );
        }
        let Some(conn) = &mut self.conn else { return };
        // 2. Our streams (once the graph is known: the metadata is bound).
        let want_channels = real
            .as_deref()
            .and_then(|r| self.graph.real_sink(r))
            .and_then(|n| n.channels)
            .map_or(2, |c| (c as usize).clamp(2, rt::MAX_CHANNELS));
        let have = conn.streams.as_ref().map(|s| s.channels);
        if conn.has_metadata() && real.is_some() && have != Some(want_channels) {
            let (rt_side, ends) = rt::pair(self.shared.clone());
            match conn.create_streams(want_channels, real.as_deref(), rt_side, self.shared.clone())
            {
                Ok(()) => {
                    info!("Headroom sink created ({want_channels} channels)");
                    self.ends = Some(ends);
                    self.format = None;
                    self.output_meta = None;
                    self.params_pending = true;
                }
                Err(e) => {
                    warn!("{e}");
                    self.last_error = Some(e);
                }
            }
        }
        // 3. Aim our output at the real sink.
        if let (Some(id), Some(r)) = (conn.output_node_id(), real.as_deref()) {
            if self
                .output_meta
                .as_ref()
                .is_none_or(|(i, t)| *i != id || t != r)
            {
                conn.set_meta(id, KEY_TARGET, Some("Spa:String"), Some(r));
                self.output_meta = Some((id, r.to_string()));
            }
        }
        // 4. Promotion.
        let promote = self.promote_flag || control.params().host.promote_default;
        if promote
            && self.promoted_from.is_none()
            && self.graph.has_headroom_sink()
            && conn.has_metadata()
        {
            let previous = self.graph.configured_sink.clone();
            if previous.as_deref() != Some(SINK_NAME) {
                info!("making Headroom the default sink");
                conn.set_meta(
                    0,
                    KEY_CONFIGURED_SINK,
                    Some("Spa:String:JSON"),
                    Some(&graph::default_value(SINK_NAME)),
                );
                self.promoted_from = Some(previous.or_else(|| real.clone()));
            }
        } else if !promote {
            if let Some(prev) = self.promoted_from.take() {
                restore_default(conn, prev.as_deref());
            }
        }
        // 5. Streams.
        let bypass_all = control.params().dsp.bypass;
        let (rules, default_route) = control.route_policy();
        let sink_ready = self.graph.has_headroom_sink();
        let mut changes = Vec::new();
        for n in self.graph.playback_streams() {
            let (mode, rule) = match self.stream_overrides.get(&n.id) {
                Some(m) => (*m, Some("stream".to_string())),
                None => {
                    let (m, why) =
                        decide(&n.stream_props(), control.routes(), rules, default_route);
                    (
                        m,
                        match why {
                            Reason::Override(app) => Some(format!("app {app}")),
                            Reason::ProfileRule(i) => Some(format!("profile rule {}", i + 1)),
                            Reason::Default => None,
                        },
                    )
                }
            };
            let target = if mode == RouteMode::Processed && !bypass_all {
                if !sink_ready {
                    continue;
                }
                Some(SINK_NAME.to_string())
            } else {
                real.clone()
            };
            let want = Routed { mode, target, rule };
            if self.routed.get(&n.id) != Some(&want) {
                changes.push((n.id, n.app_label(), want));
            }
        }
        for (id, app, want) in changes {
            match &want.target {
                Some(t) => conn.set_meta(id, KEY_TARGET, Some("Spa:String"), Some(t)),
                None => conn.set_meta(id, KEY_TARGET, None, None),
            };
            let mode = if bypass_all {
                RouteMode::Bypass
            } else {
                want.mode
            };
            let name = if self.routed.contains_key(&id) {
                "stream_routed"
            } else {
                "stream_added"
            };
            debug!(
                "stream {id} ({app}) → {}",
                want.target.as_deref().unwrap_or("default")
            );
            control.emit(
                Topic::Routing,
                name,
                Json::obj([
                    ("stream", id.into()),
                    ("app", app.into()),
                    ("mode", mode.as_str().into()),
                ]),
            );
            self.routed.insert(id, want);
        }
        self.update_status(control);
    }

    /// `route.stream`: moves one live stream now (not saved).
    ///
    /// # Errors
    /// `not_found` for no such playback stream, `conflict` for Headroom's own.
    pub fn route_stream(
        &mut self,
        control: &mut Control,
        id: u32,
        mode: RouteMode,
    ) -> Result<Json, OpError> {
        match self.graph.nodes.get(&id) {
            Some(n) if n.is_ours() => {
                return Err(OpError::new(
                    ErrorCode::Conflict,
                    format!("node {id} is Headroom's own"),
                ));
            }
            Some(n) if n.is_playback() => {}
            _ => {
                return Err(OpError::new(
                    ErrorCode::NotFound,
                    if self.conn.is_some() {
                        format!("no live playback stream {id}")
                    } else {
                        format!("no live stream {id} (PipeWire is not connected)")
                    },
                ))
            }
        }
        self.stream_overrides.insert(id, mode);
        self.reconcile(control);
        Ok(Json::obj([
            ("stream", id.into()),
            ("mode", mode.as_str().into()),
        ]))
    }

    /// Live streams for `route.list`.
    pub fn streams_json(&self) -> Json {
        Json::Arr(
            self.routed
                .iter()
                .filter_map(|(id, r)| {
                    let n = self.graph.nodes.get(id)?;
                    Some(Json::obj([
                        ("stream", (*id).into()),
                        ("app", n.app_label().into()),
                        ("binary", n.binary.clone().into()),
                        ("mode", r.mode.as_str().into()),
                        ("target", r.target.clone().into()),
                        ("rule", r.rule.clone().into()),
                    ]))
                })
                .collect(),
        )
    }

    /// Refreshes `control.audio` (what `status` shows).
    pub fn update_status(&self, control: &mut Control) {
        let a = &mut control.audio;
        a.running = self.conn.is_some() && self.streaming && self.format.is_some();
        a.sample_rate_hz = self.format.map(|f| f.0);
        a.channels = self.format.map(|f| f.1 as u32);
        a.sink = self.real_sink.clone();
        a.streams = self
            .routed
            .values()
            .filter(|r| r.target.as_deref() == Some(SINK_NAME))
            .count();
        let quantum = self.shared.quantum.load(Ordering::Relaxed);
        let rate = self.format.map_or(48_000, |f| f.0) as f64;
        let ms = |frames: u32| (frames as f64 * 1000.0 / rate * 1000.0).round() / 1000.0;
        let sinks = self
            .graph
            .nodes
            .values()
            .filter(|n| n.class == "Audio/Sink")
            .map(|n| {
                Json::obj([
                    ("id", n.id.into()),
                    ("name", n.name.clone().into()),
                    ("description", n.description.clone().into()),
                    (
                        "rate_hz",
                        n.rate_hz
                            .or(if n.is_ours() { a.sample_rate_hz } else { None })
                            .into(),
                    ),
                    ("channels", n.channels.into()),
                    ("headroom", n.is_ours().into()),
                    (
                        "output",
                        (n.name.is_some() && n.name == self.real_sink).into(),
                    ),
                    (
                        "default",
                        (n.name.is_some() && n.name == self.graph.default_sink).into(),
                    ),
                ])
            })
            .collect();
        a.extra = vec![
            (
                "pipewire",
                Json::obj([
                    (
                        "state",
                        match self.state {
                            PwState::Waiting => "waiting",
                            PwState::Connected => "connected",
                        }
                        .into(),
                    ),
                    ("output_state", self.output_state.as_str().into()),
                    ("error", self.last_error.clone().into()),
                    ("promoted_default", self.promoted_from.is_some().into()),
                ]),
            ),
            ("sinks", Json::Arr(sinks)),
            ("stream_list", self.streams_json()),
            (
                "counters",
                Json::obj([
                    ("cycles", self.shared.cycles.load(Ordering::Relaxed).into()),
                    ("xruns", self.shared.xruns.load(Ordering::Relaxed).into()),
                    (
                        "late_buffers",
                        self.shared.late_buffers.load(Ordering::Relaxed).into(),
                    ),
                    (
                        "empty_cycles",
                        self.shared.empty_cycles.load(Ordering::Relaxed).into(),
                    ),
                    ("command_overruns", self.cmd_overruns.into()),
                    (
                        "meter_overruns",
                        self.shared.meter_overruns.load(Ordering::Relaxed).into(),
                    ),
                    (
                        "rt_alloc_violations",
                        crate::alloc_guard::violations().into(),
                    ),
                    ("heap_bytes", crate::alloc_guard::heap_bytes().into()),
                ]),
            ),
            (
                "latency",
                Json::obj([
                    ("dsp_frames", self.dsp_latency_frames.into()),
                    ("dsp_ms", ms(self.dsp_latency_frames).into()),
                    ("quantum_frames", quantum.into()),
                    ("total_ms", ms(self.dsp_latency_frames + quantum).into()),
                ]),
            ),
        ];
    }

    /// Collects meter snapshots; returns `levels` data when audio ran since
    /// the last call.
    pub fn tick_meters(&mut self, control: &mut Control) -> Option<Json> {
        self.flush_commands();
        let ends = self.ends.as_mut()?;
        while let Some(s) = ends.recv_meters() {
            self.meter_acc = Some(match self.meter_acc {
                None => s,
                Some(acc) => Snapshot {
                    out_true_peak_dbtp: acc.out_true_peak_dbtp.max(s.out_true_peak_dbtp),
                    chain: dsp_core::dsp::chain::ChainMeters {
                        compressor_reduction_db: acc
                            .chain
                            .compressor_reduction_db
                            .min(s.chain.compressor_reduction_db),
                        limiter_reduction_db: acc
                            .chain
                            .limiter_reduction_db
                            .min(s.chain.limiter_reduction_db),
                        input_true_peak_dbtp: acc
                            .chain
                            .input_true_peak_dbtp
                            .max(s.chain.input_true_peak_dbtp),
                        ..s.chain
                    },
                    ..s
                },
            });
        }
        let s = self.meter_acc.take()?;
        let comp = -s.chain.compressor_reduction_db.min(0.0) as f64;
        let lim = -s.chain.limiter_reduction_db.min(0.0) as f64;
        let n = |x: f64| Json::num_or_null((x * 100.0).round() / 100.0);
        let levels = Json::obj([
            ("momentary_lufs", n(s.out_momentary_lufs)),
            ("shortterm_lufs", n(s.out_shortterm_lufs)),
            ("integrated_lufs", n(s.out_integrated_lufs)),
            ("true_peak_dbtp", n(s.out_true_peak_dbtp as f64)),
            ("gain_db", n(s.chain.agc_gain_db as f64)),
            ("gain_reduction_db", n(comp + lim)),
            ("compressor_reduction_db", n(comp)),
            ("limiter_reduction_db", n(lim)),
            ("input_momentary_lufs", n(s.chain.input_momentary_lufs)),
            ("input_shortterm_lufs", n(s.chain.input_shortterm_lufs)),
            ("input_integrated_lufs", n(s.chain.input_integrated_lufs)),
            (
                "input_true_peak_dbtp",
                n(s.chain.input_true_peak_dbtp as f64),
            ),
        ]);
        control.audio.levels = Some(levels.clone());
        Some(levels)
    }

    /// Leaves the graph as it was: streams back to the default sink, the
    /// default sink given back, our nodes gone. Waits (briefly) for
    /// PipeWire to have received it.
    pub fn shutdown(&mut self) {
        let Some(conn) = &mut self.conn else { return };
        if let Some(prev) = self.promoted_from.take() {
            restore_default(conn, prev.as_deref());
        }
        for id in self.routed.keys() {
            conn.set_meta(*id, KEY_TARGET, None, None);
        }
        if let Some(id) = conn.output_node_id() {
            conn.set_meta(id, KEY_TARGET, None, None);
        }
        conn.streams = None;
        // Let the messages go out before the socket closes.
        for _ in 0..20 {
            conn.iterate();
            std::thread::sleep(Duration::from_millis(5));
        }
        self.conn = None;
        info!("left PipeWire");
    }
}

fn restore_default(conn: &Conn, previous: Option<&str>) {
    info!(
        "giving the default sink back ({})",
        previous.unwrap_or("session manager's choice")
    );
    match previous {
        Some(p) if p != SINK_NAME => {
            conn.set_meta(
                0,
                KEY_CONFIGURED_SINK,
                Some("Spa:String:JSON"),
                Some(&graph::default_value(p)),
            );
        }
        _ => {
            conn.set_meta(0, KEY_CONFIGURED_SINK, None, None);
        }
    }
}
