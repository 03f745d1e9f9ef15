//! The part of the PipeWire graph Headroom cares about, as plain data:
//! audio sinks, playback streams, and the `default` metadata (default sink,
//! per-stream `target.object`). Filled from registry and metadata events on
//! the control thread; choosing the real sink is a pure function of it.
//!
//! Contract: Headroom's own nodes (`headroom`, `headroom.output`) are never
//! playback streams to route and never a real sink, so its output can never
//! be routed into itself.

use headroom_config::routing::StreamProps;
use std::collections::BTreeMap;

/// `node.name` of the Headroom sink.
pub const SINK_NAME: &str = "headroom";
/// `node.name` of the stream that plays Headroom's output to the real sink.
pub const OUTPUT_NAME: &str = "headroom.output";

/// What the registry tells about a node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeInfo {
    /// Global id.
    pub id: u32,
    /// `media.class`.
    pub class: String,
    /// `node.name`.
    pub name: Option<String>,
    /// `node.description`.
    pub description: Option<String>,
    /// `application.name`.
    pub app: Option<String>,
    /// `application.process.binary`.
    pub binary: Option<String>,
    /// `media.role`.
    pub role: Option<String>,
    /// `audio.channels`.
    pub channels: Option<u32>,
    /// `audio.rate` when the node announces one.
    pub rate_hz: Option<u32>,
}

impl NodeInfo {
    /// Whether it is one of Headroom's own nodes.
    pub fn is_ours(&self) -> bool {
        matches!(self.name.as_deref(), Some(SINK_NAME) | Some(OUTPUT_NAME))
    }

    /// An audio sink other than Headroom.
    pub fn is_real_sink(&self) -> bool {
        self.class == "Audio/Sink" && !self.is_ours()
    }

    /// An application's playback stream.
    pub fn is_playback(&self) -> bool {
        self.class == "Stream/Output/Audio" && !self.is_ours()
    }

    /// The properties routing rules look at.
    pub fn stream_props(&self) -> StreamProps {
        StreamProps {
            app: self.app.clone(),
            binary: self.binary.clone(),
            role: self.role.clone(),
            node: self.name.clone(),
        }
    }

    /// A display name for the stream's application.
    pub fn app_label(&self) -> String {
        self.app
            .clone()
            .or_else(|| self.binary.clone())
            .or_else(|| self.name.clone())
            .unwrap_or_else(|| format!("node {}", self.id))
    }
}

/// Sinks, streams and defaults.
#[derive(Debug, Default)]
pub struct Graph {
    /// Nodes by global id.
    pub nodes: BTreeMap<u32, NodeInfo>,
    /// `default.audio.sink` (the session manager's current default).
    pub default_sink: Option<String>,
    /// `default.configured.audio.sink` (what the user chose).
    pub configured_sink: Option<String>,
    /// `target.object` per subject, as the metadata says now.
    pub targets: BTreeMap<u32, String>,
}

impl Graph {
    /// Real sinks, by id.
    pub fn real_sinks(&self) -> impl Iterator<Item = &NodeInfo> {
        self.nodes.values().filter(|n| n.is_real_sink())
    }

    /// Playback streams to route.
    pub fn playback_streams(&self) -> impl Iterator<Item = &NodeInfo> {
        self.nodes.values().filter(|n| n.is_playback())
    }

    /// A real sink by node name.
    pub fn real_sink(&self, name: &str) -> Option<&NodeInfo> {
        self.real_sinks().find(|n| n.name.as_deref() == Some(name))
    }

    /// Whether the Headroom sink node exists.
    pub fn has_headroom_sink(&self) -> bool {
        self.nodes
            .values()
            .any(|n| n.name.as_deref() == Some(SINK_NAME) && n.class == "Audio/Sink")
    }

    /// The real sink to play to: the first of `preferred` (the user's default
    /// sink, unless that is Headroom) and `previous` that still exists, else
    /// the lowest-id real sink.
    pub fn choose_real_sink(
        &self,
        preferred: Option<&str>,
        previous: Option<&str>,
    ) -> Option<String> {
        [preferred, previous]
            .into_iter()
            .flatten()
            .filter(|n| *n != SINK_NAME)
            .find(|n| self.real_sink(n).is_some())
            .map(str::to_string)
            .or_else(|| self.real_sinks().find_map(|n| n.name.clone()))
    }
}

/// The node name in a `default.*` metadata value (`{"name":"…"}`).
pub fn parse_default_name(value: &str) -> Option<String> {
    let rest = &value[value.find("\"name\"")? + 6..];
    let rest = rest
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

/// A `default.*` metadata value naming `node`.
pub fn default_value(node: &str) -> String {
    let escaped: String = node
        .chars()
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("{{ \"name\": \"{escaped}\" }}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u32, class: &str, name: &str) -> NodeInfo {
        NodeInfo {
            id,
            class: class.into(),
            name: Some(name.into()),
            ..NodeInfo::default()
        }
    }

    #[test]
    fn default_values_round_trip() {
        assert_eq!(
            parse_default_name("{\"name\":\"speakers\"}").as_deref(),
            Some("speakers")
        );
        assert_eq!(
            parse_default_name("{ \"name\": \"a\\\"b\" }").as_deref(),
            Some("a\"b")
        );
        assert_eq!(
            parse_default_name(&default_value("x\"y")).as_deref(),
            Some("x\"y")
        );
        assert_eq!(parse_default_name("{}"), None);
    }

    #[test]
    fn real_sink_follows_default_never_headroom_and_falls_back() {
        let mut g = Graph::default();
        g.nodes.insert(30, node(30, "Audio/Sink", SINK_NAME));
        g.nodes.insert(40, node(40, "Audio/Sink", "hdmi"));
        g.nodes.insert(41, node(41, "Audio/Sink", "speakers"));
        g.nodes
            .insert(50, node(50, "Stream/Output/Audio", OUTPUT_NAME));
        g.nodes.insert(51, node(51, "Stream/Output/Audio", "mpv"));
        assert_eq!(
            g.choose_real_sink(Some("speakers"), None).as_deref(),
            Some("speakers")
        );
        assert_eq!(
            g.choose_real_sink(Some(SINK_NAME), Some("speakers"))
                .as_deref(),
            Some("speakers")
        );
        assert_eq!(
            g.choose_real_sink(Some("gone"), None).as_deref(),
            Some("hdmi")
        );
        assert_eq!(
            g.playback_streams().map(|n| n.id).collect::<Vec<_>>(),
            vec![51]
        );
        g.nodes.clear();
        assert_eq!(g.choose_real_sink(Some("speakers"), None), None);
    }
}
