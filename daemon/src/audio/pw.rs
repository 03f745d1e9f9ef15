//! One connection to PipeWire: main loop, core, registry, the `default`
//! metadata, and Headroom's two streams.
//!
//! Contract:
//! * Nothing here runs the PipeWire loop itself: the daemon watches
//!   [`Conn::loop_fd`] from calloop and calls [`Conn::iterate`], which never
//!   blocks. There is no PipeWire main-loop thread (PipeWire's own data
//!   thread runs the realtime process callbacks).
//! * Callbacks on the main loop only append [`PwEvent`]s to an inbox, which
//!   the engine drains after each iteration with full access to its state.
//!   They never panic (a panic across the C boundary aborts): a busy inbox
//!   drops the event.
//! * The sink (`headroom`, an input stream with `media.class=Audio/Sink`) and
//!   the output (`headroom.output`, an output stream with `TRIGGER`) share a
//!   `node.group` (one driver, one cycle) and a `node.link-group` (the
//!   session manager never links one into the other). The sink's process
//!   callback triggers the output's; the output's dequeues the sink's buffer,
//!   runs [`Rt::process`] in place and queues it: no buffering beyond the
//!   chain's lookahead, and no quantum is forced (`node.latency` is unset).
//! * Rate is left open in the formats, so both streams follow the graph rate;
//!   a renegotiated `Format` becomes a [`PwEvent::Format`].
//! * The sink is connected `ASYNC` ([`STREAM_FLAG_ASYNC`]): its buffers are
//!   dequeued and queued by the output's callback, not its own. Since
//!   PipeWire 0.3.73 `trigger_process` on a `TRIGGER` stream schedules the
//!   output through the graph instead of running it inline, so the output
//!   runs after the sink's callback returned; without the flag PipeWire
//!   1.4 recycled the sink's buffer first and every other cycle was lost
//!   (12 of 23 cycles per second processed, the output 2.5 dB low).
//!   PipeWire 0.3.65 ignores the bit and runs the output inline.
//! * The sink has the lowest `priority.session` ([`SINK_PRIORITY_SESSION`]),
//!   so the session manager never prefers it over a real sink as the
//!   default (only `--promote-default` makes it the default).
//! * The context is created with the client configuration
//!   [`client_conf::preferred`] chooses: module-rt loaded before the data
//!   thread starts (so the realtime callback runs SCHED_FIFO where the user
//!   may have realtime priority), and no session-manager or client-device
//!   module, which the daemon never uses.

use super::client_conf;
use super::graph::{NodeInfo, OUTPUT_NAME, SINK_NAME};
use super::rt::{Rt, Shared, MAX_CHANNELS};
use crate::{debug, warn};
use pipewire as pw;
use pw::properties::PropertiesBox;
use pw::spa;
use pw::stream::{StreamFlags, StreamListener, StreamRc, StreamState};
use spa::pod::{Object, Pod, Property, PropertyFlags, Value};
use std::cell::RefCell;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// `PW_STREAM_FLAG_ASYNC` (PipeWire ≥ 0.3.73; pipewire-rs 0.10 has no name
/// for it, and older libraries ignore the bit): the sink's buffers are
/// dequeued and queued by the output's process callback, not its own.
pub const STREAM_FLAG_ASYNC: StreamFlags = StreamFlags::from_bits_retain(1 << 10);

/// `priority.session` of the Headroom sink: lower than any real sink's.
pub const SINK_PRIORITY_SESSION: &str = "-1000";

/// Something PipeWire told us, for the engine to act on.
#[derive(Debug)]
pub enum PwEvent {
    /// A node appeared (or we learned its properties).
    Node(NodeInfo),
    /// The `default` metadata object appeared.
    DefaultMetadata(u32),
    /// A global disappeared.
    Removed(u32),
    /// A property of the `default` metadata changed (`key` None: all cleared).
    Meta {
        /// Subject id.
        subject: u32,
        /// Key.
        key: Option<String>,
        /// New value (None: removed).
        value: Option<String>,
    },
    /// A core error; `res == -EPIPE` on the core means the connection is gone.
    CoreError {
        /// Object id (0 = core).
        id: u32,
        /// Negative errno.
        res: i32,
        /// Message.
        message: String,
    },
    /// The output stream's negotiated format.
    Format {
        /// Rate.
        rate_hz: u32,
        /// Channels.
        channels: u32,
    },
    /// Latency downstream of the output stream (to forward to the sink).
    OutputLatency(LatencyInfo),
    /// A stream's state changed.
    StreamState {
        /// The output stream (else the sink).
        output: bool,
        /// New state.
        state: String,
        /// The error, when the state is an error.
        error: Option<String>,
    },
}

/// Events waiting for the engine.
pub type Inbox = Rc<RefCell<Vec<PwEvent>>>;

fn post(inbox: &Inbox, ev: PwEvent) {
    if let Ok(mut q) = inbox.try_borrow_mut() {
        q.push(ev);
    }
}

/// `spa_latency_info`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencyInfo {
    /// `SPA_DIRECTION_*`.
    pub direction: u32,
    /// Quanta.
    pub min_quantum: f32,
    /// Quanta.
    pub max_quantum: f32,
    /// Frames.
    pub min_rate: i32,
    /// Frames.
    pub max_rate: i32,
    /// Nanoseconds.
    pub min_ns: i64,
    /// Nanoseconds.
    pub max_ns: i64,
}

/// A connection (everything dropped together, streams first).
pub struct Conn {
    /// Headroom's streams, once created.
    pub streams: Option<Streams>,
    metadata: Option<(u32, pw::metadata::Metadata, pw::metadata::MetadataListener)>,
    _registry_listener: pw::registry::Listener,
    registry: pw::registry::RegistryRc,
    _core_listener: pw::core::Listener,
    core: pw::core::CoreRc,
    _context: pw::context::ContextRc,
    mainloop: pw::main_loop::MainLoopRc,
    /// Events from callbacks.
    pub inbox: Inbox,
}

/// Headroom's sink and output streams.
pub struct Streams {
    _sink_listener: StreamListener<()>,
    _output_listener: StreamListener<()>,
    /// The `headroom` sink.
    pub sink: StreamRc,
    /// `headroom.output`.
    pub output: StreamRc,
    /// Channels both streams were created with.
    pub channels: usize,
}

impl Drop for Streams {
    fn drop(&mut self) {
        // Disconnecting removes both nodes from the data loop synchronously,
        // so no process callback runs while the listeners are dropped.
        let _ = self.sink.disconnect();
        let _ = self.output.disconnect();
    }
}

fn init_once() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(pw::init);
}

fn prop(d: &spa::utils::dict::DictRef, key: &str) -> Option<String> {
    d.get(key).map(str::to_string)
}

fn node_info(id: u32, d: &spa::utils::dict::DictRef) -> NodeInfo {
    NodeInfo {
        id,
        class: d.get("media.class").unwrap_or("").to_string(),
        name: prop(d, "node.name"),
        description: prop(d, "node.description").or_else(|| prop(d, "node.nick")),
        app: prop(d, "application.name"),
        binary: prop(d, "application.process.binary"),
        role: prop(d, "media.role"),
        channels: d.get("audio.channels").and_then(|s| s.parse().ok()),
        rate_hz: d.get("audio.rate").and_then(|s| s.parse().ok()),
    }
}

impl Conn {
    /// Connects to the PipeWire of `$XDG_RUNTIME_DIR` (or `$PIPEWIRE_REMOTE`).
    ///
    /// # Errors
    /// PipeWire is not running or refused us.
    pub fn connect() -> Result<Conn, String> {
        init_once();
        let mainloop = pw::main_loop::MainLoopRc::new(None)
            .map_err(|e| format!("cannot create a PipeWire loop: {e}"))?;
        // `config` keeps its memory file open until the context has read it.
        let config = client_conf::preferred();
        let mut choice = config.choice;
        let context = match pw::context::ContextRc::new(&mainloop, Some(config.props)) {
            Err(e) if choice == client_conf::Choice::Own => {
                warn!(
                    "PipeWire refused headroomd's client configuration ({e}); using {}",
                    client_conf::STOCK_RT_CONFIG
                );
                let fallback = client_conf::fallback();
                choice = fallback.choice;
                pw::context::ContextRc::new(&mainloop, Some(fallback.props))
            }
            other => other,
        }
        .map_err(|e| format!("cannot create a PipeWire context: {e}"))?;
        debug!("PipeWire client configuration: {choice:?}");
        let core = context
            .connect_rc(None)
            .map_err(|e| format!("cannot connect to PipeWire: {e}"))?;
        let inbox: Inbox = Rc::default();
        let ib = inbox.clone();
        let core_listener = core
            .add_listener_local()
            .error(move |id, _seq, res, msg| {
                post(
                    &ib,
                    PwEvent::CoreError {
                        id,
                        res,
                        message: msg.to_string(),
                    },
                )
            })
            .register();
        let registry = core
            .get_registry_rc()
            .map_err(|e| format!("cannot get the PipeWire registry: {e}"))?;
        let ib = inbox.clone();
        let ib2 = inbox.clone();
        let registry_listener = registry
            .add_listener_local()
            .global(move |g| {
                let Some(props) = g.props else { return };
                match g.type_ {
                    pw::types::ObjectType::Node => post(&ib, PwEvent::Node(node_info(g.id, props))),
                    pw::types::ObjectType::Metadata
                        if props.get("metadata.name") == Some("default") =>
                    {
                        post(&ib, PwEvent::DefaultMetadata(g.id))
                    }
                    _ => {}
                }
            })
            .global_remove(move |id| post(&ib2, PwEvent::Removed(id)))
            .register();
        Ok(Conn {
            streams: None,
            metadata: None,
            _registry_listener: registry_listener,
            registry,
            _core_listener: core_listener,
            core,
            _context: context,
            mainloop,
            inbox,
        })
    }

    /// A duplicate of the loop's fd, readable when [`Self::iterate`] has work.
    ///
    /// # Errors
    /// `dup` failed.
    pub fn loop_fd(&self) -> std::io::Result<OwnedFd> {
        self.mainloop.loop_().fd().try_clone_to_owned()
    }

    /// Dispatches whatever is ready, without blocking.
    pub fn iterate(&self) {
        self.mainloop.loop_().iterate(pw::loop_::Timeout::None);
    }

    /// Takes the events callbacks posted.
    pub fn take_events(&self) -> Vec<PwEvent> {
        std::mem::take(&mut *self.inbox.borrow_mut())
    }

    /// Binds the `default` metadata object `id` and watches its properties.
    pub fn bind_metadata(&mut self, id: u32) {
        if self
            .metadata
            .as_ref()
            .is_some_and(|(bound, _, _)| *bound == id)
        {
            return;
        }
        let global = pw::registry::GlobalObject {
            id,
            permissions: pw::permissions::PermissionFlags::all(),
            type_: pw::types::ObjectType::Metadata,
            version: 3,
            props: None::<PropertiesBox>,
        };
        let Ok(md) = self.registry.bind::<pw::metadata::Metadata, _>(&global) else {
            return;
        };
        let ib = self.inbox.clone();
        let listener = md
            .add_listener_local()
            .property(move |subject, key, _type, value| {
                post(
                    &ib,
                    PwEvent::Meta {
                        subject,
                        key: key.map(str::to_string),
                        value: value.map(str::to_string),
                    },
                );
                0
            })
            .register();
        self.metadata = Some((id, md, listener));
    }

    /// Whether the `default` metadata is bound.
    pub fn has_metadata(&self) -> bool {
        self.metadata.is_some()
    }

    /// Sets (`Some`) or deletes (`None`) a property of the `default` metadata.
    pub fn set_meta(
        &self,
        subject: u32,
        key: &str,
        type_: Option<&str>,
        value: Option<&str>,
    ) -> bool {
        match &self.metadata {
            Some((_, md, _)) => {
                md.set_property(subject, key, type_, value);
                true
            }
            None => false,
        }
    }

    /// Creates the sink and output streams (`channels` wide; the output
    /// initially aimed at `target`).
    ///
    /// # Errors
    /// PipeWire refused a stream.
    pub fn create_streams(
        &mut self,
        channels: usize,
        target: Option<&str>,
        rt: Rt,
        shared: Arc<Shared>,
    ) -> Result<(), String> {
        self.streams = None;
        let channels = channels.clamp(1, MAX_CHANNELS);
        let group = format!("headroom-{}", std::process::id());
        let positions = positions(channels);
        let pos_str = format!(
            "[ {} ]",
            positions
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(" ")
        );
        let ch_str = channels.to_string();
        let mut sink_props = PropertiesBox::new();
        for (k, v) in [
            ("media.type", "Audio"),
            ("media.category", "Duplex"),
            ("media.class", "Audio/Sink"),
            ("node.name", SINK_NAME),
            ("node.description", "Headroom"),
            ("media.name", "Headroom"),
            ("node.virtual", "true"),
            // Below every real sink (ALSA's are in the hundreds and up, and
            // a sink without the property counts as -1 in WirePlumber 0.4's
            // default-nodes, 0 in 0.5's): the session manager makes Headroom
            // the default only while it is the only sink, and gives the
            // default back to a real sink as soon as one (re)appears.
            ("priority.session", SINK_PRIORITY_SESSION),
            ("node.group", group.as_str()),
            ("node.link-group", group.as_str()),
            ("audio.channels", ch_str.as_str()),
            ("audio.position", pos_str.as_str()),
        ] {
            sink_props.insert(k, v);
        }
        let mut out_props = PropertiesBox::new();
        for (k, v) in [
            ("media.type", "Audio"),
            ("media.category", "Duplex"),
            ("media.class", "Stream/Output/Audio"),
            ("node.name", OUTPUT_NAME),
            ("node.description", "Headroom output"),
            ("media.name", "Headroom output"),
            ("node.group", group.as_str()),
            ("node.link-group", group.as_str()),
            ("node.passive", "true"),
            ("stream.dont-remix", "true"),
            ("audio.channels", ch_str.as_str()),
            ("audio.position", pos_str.as_str()),
        ] {
            out_props.insert(k, v);
        }
        if let Some(t) = target {
            out_props.insert("target.object", t);
        }
        let sink = StreamRc::new(self.core.clone(), SINK_NAME, sink_props)
            .map_err(|e| format!("cannot create the sink: {e}"))?;
        let output = StreamRc::new(self.core.clone(), OUTPUT_NAME, out_props)
            .map_err(|e| format!("cannot create the output: {e}"))?;

        // ---- sink: volume/mute go after the DSP; process triggers the output.
        let output_for_sink = output.clone();
        let shared_sink = shared.clone();
        let ib = self.inbox.clone();
        let sink_listener = sink
            .add_local_listener_with_user_data(())
            .state_changed(move |_, _, _, new| post(&ib, state_event(false, new)))
            .param_changed(move |s, _, id, param| {
                if id == spa::sys::SPA_PARAM_Props {
                    if let Some(p) = param {
                        on_sink_props(s, p, &shared_sink, channels);
                    }
                }
            })
            .process(move |s, _| {
                let _g = crate::alloc_guard::enter();
                if output_for_sink.trigger_process().is_err() {
                    // The output is not ready (not linked): recycle the input
                    // so the sink never runs out of buffers.
                    while let Some(b) = s.dequeue_buffer() {
                        drop(b);
                    }
                }
            })
            .register()
            .map_err(|e| format!("cannot listen to the sink: {e}"))?;

        // ---- output: copy the sink's buffer, process, queue.
        let sink_for_output = sink.clone();
        let ib = self.inbox.clone();
        let ib2 = self.inbox.clone();
        let mut rt = rt;
        let output_listener = output
            .add_local_listener_with_user_data(())
            .state_changed(move |_, _, _, new| post(&ib, state_event(true, new)))
            .param_changed(move |_, _, id, param| {
                let Some(p) = param else { return };
                if id == spa::param::ParamType::Format.as_raw() {
                    let mut info = spa::param::audio::AudioInfoRaw::new();
                    if info.parse(p).is_ok() {
                        post(
                            &ib2,
                            PwEvent::Format {
                                rate_hz: info.rate(),
                                channels: info.channels(),
                            },
                        );
                    }
                } else if id == spa::sys::SPA_PARAM_Latency {
                    if let Some(l) = parse_latency(p) {
                        if l.direction == spa::sys::SPA_DIRECTION_INPUT {
                            post(&ib2, PwEvent::OutputLatency(l));
                        }
                    }
                }
            })
            .process(move |out_stream, _| {
                let _g = crate::alloc_guard::enter();
                shared.cycles.fetch_add(1, Ordering::Relaxed);
                // The newest of the sink's queued buffers: more than one
                // means this output fell behind (a cycle in which it did not
                // run), and draining to the newest puts the added latency
                // back at the lookahead instead of carrying a quantum more
                // for as long as the stream plays. Bounded: the sink has a
                // fixed number of buffers.
                let mut inb = sink_for_output.dequeue_buffer();
                if inb.is_some() {
                    while let Some(newer) = sink_for_output.dequeue_buffer() {
                        shared.late_buffers.fetch_add(1, Ordering::Relaxed);
                        inb = Some(newer);
                    }
                }
                let Some(mut outb) = out_stream.dequeue_buffer() else {
                    shared.xruns.fetch_add(1, Ordering::Relaxed);
                    return; // dropping `inb` gives it back
                };
                let requested = outb.requested() as usize;
                let Some(out_d) = outb.datas_mut().first_mut() else {
                    return;
                };
                let Some(out_bytes) = out_d.data() else {
                    return;
                };
                let out = as_f32(out_bytes);
                let max_frames = out.len() / channels;
                let frames = match inb {
                    Some(mut inb) => match inb.datas_mut().first_mut() {
                        Some(in_d) => {
                            let off = in_d.chunk().offset() as usize;
                            let size = in_d.chunk().size() as usize;
                            let in_bytes = in_d.data().unwrap_or(&mut []);
                            let end = off.saturating_add(size).min(in_bytes.len());
                            let src = as_f32(&mut in_bytes[off.min(end)..end]);
                            let frames = (src.len() / channels).min(max_frames);
                            out[..frames * channels].copy_from_slice(&src[..frames * channels]);
                            frames
                        }
                        None => 0,
                    },
                    None => {
                        // Nothing from the sink this cycle: keep time running on silence.
                        shared.empty_cycles.fetch_add(1, Ordering::Relaxed);
                        let frames = requested.min(max_frames);
                        out[..frames * channels].fill(0.0);
                        frames
                    }
                };
                rt.process(&mut out[..frames * channels]);
                let chunk = out_d.chunk_mut();
                *chunk.offset_mut() = 0;
                *chunk.stride_mut() = (channels * 4) as i32;
                *chunk.size_mut() = (frames * channels * 4) as u32;
            })
            .register()
            .map_err(|e| format!("cannot listen to the output: {e}"))?;

        let fmt = format_pod(&positions);
        let pod = Pod::from_bytes(&fmt).ok_or("bad format pod")?;
        output
            .connect(
                spa::utils::Direction::Output,
                None,
                StreamFlags::AUTOCONNECT
                    | StreamFlags::MAP_BUFFERS
                    | StreamFlags::RT_PROCESS
                    | StreamFlags::TRIGGER,
                &mut [pod],
            )
            .map_err(|e| format!("cannot connect the output: {e}"))?;
        sink.connect(
            spa::utils::Direction::Input,
            None,
            StreamFlags::AUTOCONNECT
                | StreamFlags::MAP_BUFFERS
                | StreamFlags::RT_PROCESS
                | STREAM_FLAG_ASYNC,
            &mut [pod],
        )
        .map_err(|e| format!("cannot connect the sink: {e}"))?;
        self.streams = Some(Streams {
            _sink_listener: sink_listener,
            _output_listener: output_listener,
            sink,
            output,
            channels,
        });
        Ok(())
    }

    /// Tells PipeWire the sink's latency: `downstream` (what follows the
    /// output) plus `dsp_frames`.
    pub fn report_latency(&self, downstream: Option<LatencyInfo>, dsp_frames: u32) {
        let Some(s) = &self.streams else { return };
        let mut l = downstream.unwrap_or(LatencyInfo {
            direction: spa::sys::SPA_DIRECTION_INPUT,
            ..LatencyInfo::default()
        });
        l.min_rate = l.min_rate.saturating_add(dsp_frames as i32);
        l.max_rate = l.max_rate.saturating_add(dsp_frames as i32);
        if let Some(bytes) = latency_pod(&l) {
            if let Some(pod) = Pod::from_bytes(&bytes) {
                let _ = s.sink.update_params(&mut [pod]);
            }
        }
    }

    /// The output stream's node id, once PipeWire assigned it.
    pub fn output_node_id(&self) -> Option<u32> {
        self.streams
            .as_ref()
            .map(|s| s.output.node_id())
            .filter(|id| *id != spa::sys::SPA_ID_INVALID)
    }
}

fn state_event(output: bool, s: StreamState) -> PwEvent {
    let (state, error) = match s {
        StreamState::Error(e) => ("error".to_string(), Some(e)),
        StreamState::Unconnected => ("unconnected".to_string(), None),
        StreamState::Connecting => ("connecting".to_string(), None),
        StreamState::Paused => ("paused".to_string(), None),
        StreamState::Streaming => ("streaming".to_string(), None),
    };
    PwEvent::StreamState {
        output,
        state,
        error,
    }
}

/// Reads the sink's volume and mute into `shared` (applied after the DSP)
/// and pins the stream's own soft volume at unity.
fn on_sink_props(stream: &pw::stream::Stream, pod: &Pod, shared: &Shared, channels: usize) {
    let Ok((_, Value::Object(obj))) =
        spa::pod::deserialize::PodDeserializer::deserialize_any_from(pod.as_bytes())
    else {
        return;
    };
    let mut soft_not_unity = false;
    let mut saw_volume = false;
    for p in obj.properties {
        match (p.key, p.value) {
            (
                spa::sys::SPA_PROP_channelVolumes,
                Value::ValueArray(spa::pod::ValueArray::Float(v)),
            ) => {
                saw_volume = true;
                for (c, a) in shared.volume.iter().enumerate() {
                    let x = v.get(c).or(v.last()).copied().unwrap_or(1.0);
                    a.store(
                        if x.is_finite() { x.max(0.0) } else { 1.0 }.to_bits(),
                        Ordering::Relaxed,
                    );
                }
            }
            (spa::sys::SPA_PROP_mute, Value::Bool(m)) => {
                saw_volume = true;
                shared.mute.store(m, Ordering::Relaxed);
            }
            (spa::sys::SPA_PROP_softVolumes, Value::ValueArray(spa::pod::ValueArray::Float(v))) => {
                soft_not_unity = v.iter().any(|x| *x != 1.0);
            }
            (spa::sys::SPA_PROP_softMute, Value::Bool(true)) => soft_not_unity = true,
            _ => {}
        }
    }
    if saw_volume || soft_not_unity {
        set_soft_unity(stream, channels);
    }
}

/// `pw_stream_set_control(softVolumes = 1…, softMute = false)`.
///
/// Called directly: pipewire-rs 0.10.1's `Stream::set_control` omits the
/// variadic list's 0 terminator.
fn set_soft_unity(stream: &pw::stream::Stream, channels: usize) {
    let mut ones = [1.0f32; MAX_CHANNELS];
    let mut unmute = [0.0f32];
    // SAFETY: the stream pointer is live (we are in its callback); each
    // (id, n_values, *mut f32) triple points at `n_values` floats that
    // outlive the call; the list ends with the 0 id C expects.
    unsafe {
        pw::sys::pw_stream_set_control(
            stream.as_raw_ptr(),
            spa::sys::SPA_PROP_softVolumes,
            channels.min(MAX_CHANNELS) as u32,
            ones.as_mut_ptr(),
            spa::sys::SPA_PROP_softMute,
            1u32,
            unmute.as_mut_ptr(),
            0u32,
        );
    }
}

/// Views a mapped buffer as f32 samples (empty if misaligned, which
/// PipeWire never does for F32 formats).
fn as_f32(bytes: &mut [u8]) -> &mut [f32] {
    if bytes.as_ptr().align_offset(std::mem::align_of::<f32>()) != 0 {
        return &mut [];
    }
    // SAFETY: PipeWire's mapped buffer memory: aligned (checked above),
    // length rounded down to whole floats, borrowed for the same lifetime,
    // and every bit pattern is a valid f32.
    unsafe { std::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast::<f32>(), bytes.len() / 4) }
}

/// Channel names and SPA positions for a count.
fn positions(channels: usize) -> Vec<(&'static str, u32)> {
    use spa::sys::*;
    let all: &[(&str, u32)] = match channels {
        1 => &[("MONO", SPA_AUDIO_CHANNEL_MONO)],
        6 => &[
            ("FL", SPA_AUDIO_CHANNEL_FL),
            ("FR", SPA_AUDIO_CHANNEL_FR),
            ("FC", SPA_AUDIO_CHANNEL_FC),
            ("LFE", SPA_AUDIO_CHANNEL_LFE),
            ("RL", SPA_AUDIO_CHANNEL_RL),
            ("RR", SPA_AUDIO_CHANNEL_RR),
        ],
        _ => &[
            ("FL", SPA_AUDIO_CHANNEL_FL),
            ("FR", SPA_AUDIO_CHANNEL_FR),
            ("FC", SPA_AUDIO_CHANNEL_FC),
            ("LFE", SPA_AUDIO_CHANNEL_LFE),
            ("RL", SPA_AUDIO_CHANNEL_RL),
            ("RR", SPA_AUDIO_CHANNEL_RR),
            ("SL", SPA_AUDIO_CHANNEL_SL),
            ("SR", SPA_AUDIO_CHANNEL_SR),
        ],
    };
    all.iter().copied().take(channels.max(1)).collect()
}

fn format_pod(positions: &[(&str, u32)]) -> Vec<u8> {
    let mut info = spa::param::audio::AudioInfoRaw::new();
    info.set_format(spa::param::audio::AudioFormat::F32LE);
    info.set_channels(positions.len() as u32);
    let mut pos = [0u32; spa::param::audio::MAX_CHANNELS];
    for (i, (_, p)) in positions.iter().enumerate() {
        pos[i] = *p;
    }
    info.set_position(pos);
    let obj = Object {
        type_: spa::utils::SpaTypes::ObjectParamFormat.as_raw(),
        id: spa::param::ParamType::EnumFormat.as_raw(),
        properties: info.into(),
    };
    spa::pod::serialize::PodSerializer::serialize(
        std::io::Cursor::new(Vec::new()),
        &Value::Object(obj),
    )
    .map(|(c, _)| c.into_inner())
    .unwrap_or_default()
}

fn parse_latency(pod: &Pod) -> Option<LatencyInfo> {
    let (_, v) =
        spa::pod::deserialize::PodDeserializer::deserialize_any_from(pod.as_bytes()).ok()?;
    let Value::Object(obj) = v else { return None };
    let mut l = LatencyInfo::default();
    for p in obj.properties {
        match (p.key, p.value) {
            (spa::sys::SPA_PARAM_LATENCY_direction, Value::Id(id)) => l.direction = id.0,
            (spa::sys::SPA_PARAM_LATENCY_minQuantum, Value::Float(f)) => l.min_quantum = f,
            (spa::sys::SPA_PARAM_LATENCY_maxQuantum, Value::Float(f)) => l.max_quantum = f,
            (spa::sys::SPA_PARAM_LATENCY_minRate, Value::Int(i)) => l.min_rate = i,
            (spa::sys::SPA_PARAM_LATENCY_maxRate, Value::Int(i)) => l.max_rate = i,
            (spa::sys::SPA_PARAM_LATENCY_minNs, Value::Long(i)) => l.min_ns = i,
            (spa::sys::SPA_PARAM_LATENCY_maxNs, Value::Long(i)) => l.max_ns = i,
            _ => {}
        }
    }
    Some(l)
}

fn latency_pod(l: &LatencyInfo) -> Option<Vec<u8>> {
    let prop = |key, value| Property {
        key,
        flags: PropertyFlags::empty(),
        value,
    };
    let obj = Object {
        type_: spa::sys::SPA_TYPE_OBJECT_ParamLatency,
        id: spa::sys::SPA_PARAM_Latency,
        properties: vec![
            prop(
                spa::sys::SPA_PARAM_LATENCY_direction,
                Value::Id(spa::utils::Id(l.direction)),
            ),
            prop(
                spa::sys::SPA_PARAM_LATENCY_minQuantum,
                Value::Float(l.min_quantum),
            ),
            prop(
                spa::sys::SPA_PARAM_LATENCY_maxQuantum,
                Value::Float(l.max_quantum),
            ),
            prop(spa::sys::SPA_PARAM_LATENCY_minRate, Value::Int(l.min_rate)),
            prop(spa::sys::SPA_PARAM_LATENCY_maxRate, Value::Int(l.max_rate)),
            prop(spa::sys::SPA_PARAM_LATENCY_minNs, Value::Long(l.min_ns)),
            prop(spa::sys::SPA_PARAM_LATENCY_maxNs, Value::Long(l.max_ns)),
        ],
    };
    spa::pod::serialize::PodSerializer::serialize(
        std::io::Cursor::new(Vec::new()),
        &Value::Object(obj),
    )
    .ok()
    .map(|(c, _)| c.into_inner())
}
