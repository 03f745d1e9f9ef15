//! Control state: profiles, settings, routes and bypass, and every op that
//! reads or changes them.
//!
//! Contract: `Control` is owned by the event loop's state and touched only
//! there. Each op either fully succeeds — in memory *and* on disk — or
//! changes nothing and returns an [`OpError`]: a change that cannot be saved
//! is rolled back, so the daemon never claims a setting it would forget.
//! Changes queue events (`profile`, `routing`, `daemon` topics) for the
//! server to publish, and mark the DSP parameters dirty for the audio path.

use crate::json::Json;
use dsp_core::params::{Kind, Value};
use dsp_core::proto::{ErrorCode, SettingSource, Topic};
use headroom_config::settings::{self, AllParams, Key};
use headroom_config::state::{self, Loaded, OwnedValue, RouteMode, State};
use headroom_config::{Origin, Profile, ProfileError};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// An op's failure: a protocol error code and a message for the client.
#[derive(Debug, Clone, PartialEq)]
pub struct OpError {
    /// Protocol error code.
    pub code: ErrorCode,
    /// Human-readable cause.
    pub message: String,
}

impl OpError {
    /// Builds an error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// An event for the server to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Topic.
    pub topic: Topic,
    /// Event name.
    pub name: &'static str,
    /// `data` member.
    pub data: Json,
}

/// What the audio path last reported (kept here so `status` answers even
/// when PipeWire is away).
#[derive(Debug, Clone, Default)]
pub struct AudioStatus {
    /// Processing audio now.
    pub running: bool,
    /// Graph rate.
    pub sample_rate_hz: Option<u32>,
    /// Sink channels.
    pub channels: Option<u32>,
    /// Real output node name.
    pub sink: Option<String>,
    /// Streams routed through Headroom.
    pub streams: usize,
    /// Latest `levels` data.
    pub levels: Option<Json>,
    /// Further `status` members from the audio path (PipeWire state, sinks,
    /// streams, counters, latency).
    pub extra: Vec<(&'static str, Json)>,
}

/// One known profile: the last good parse and the last error, if any.
#[derive(Debug, Clone)]
struct Entry {
    good: Option<Profile>,
    error: Option<ProfileError>,
}

/// The control plane's state.
#[derive(Debug)]
pub struct Control {
    profile_dir: Option<PathBuf>,
    state_path: Option<PathBuf>,
    profiles: BTreeMap<String, Entry>,
    state: State,
    effective: AllParams,
    events: Vec<Event>,
    dsp_dirty: bool,
    /// Audio path status, updated by the audio side.
    pub audio: AudioStatus,
}

/// Startup messages worth logging (corrupt state, bad profiles).
pub type Notes = Vec<String>;

impl Control {
    /// Loads profiles and the saved state. Never fails: problems are returned
    /// as notes (and a corrupt state file is moved aside, not overwritten).
    pub fn new(profile_dir: Option<PathBuf>, state_path: Option<PathBuf>) -> (Self, Notes) {
        let mut notes = Vec::new();
        let state = match &state_path {
            None => State::default(),
            Some(path) => match state::load(path) {
                Loaded::Fresh(s) | Loaded::Ok(s) => s,
                Loaded::Corrupt {
                    state,
                    moved_to,
                    reason,
                } => {
                    notes.push(match moved_to {
                        Some(aside) => format!(
                            "state file {} is unusable ({reason}); moved it to {} and started from defaults",
                            path.display(),
                            aside.display()
                        ),
                        None => format!("state file {} is unusable ({reason}); using defaults", path.display()),
                    });
                    state
                }
            },
        };
        let mut c = Control {
            profile_dir,
            state_path,
            profiles: BTreeMap::new(),
            state,
            effective: AllParams::default(),
            events: Vec::new(),
            dsp_dirty: true,
            audio: AudioStatus::default(),
        };
        let errors = c.rescan();
        notes.extend(errors.iter().map(|e| e.to_string()));
        if c.active_profile().is_none() {
            notes.push(format!(
                "profile {:?} is not available; using the default profile",
                c.active_name()
            ));
        }
        c.recompute();
        c.events.clear();
        (c, notes)
    }

    /// Events produced since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// The effective parameters (profile + overrides + bypass).
    pub fn params(&self) -> &AllParams {
        &self.effective
    }

    /// Whether the DSP parameters changed since the last call; clears it.
    pub fn take_dsp_dirty(&mut self) -> bool {
        std::mem::replace(&mut self.dsp_dirty, false)
    }

    /// The saved routing overrides (app → mode).
    pub fn routes(&self) -> &BTreeMap<String, RouteMode> {
        &self.state.routes
    }

    /// Queues an event for the server to publish (the audio path's).
    pub fn emit(&mut self, topic: Topic, name: &'static str, data: Json) {
        self.events.push(Event { topic, name, data });
    }

    /// The active profile's routing rules and default route.
    pub fn route_policy(&self) -> (&[headroom_config::routing::RouteRule], RouteMode) {
        match self.active_profile() {
            Some(p) => (&p.routes, p.default_route),
            None => (&[], RouteMode::Processed),
        }
    }

    /// The active profile's name.
    pub fn active_name(&self) -> &str {
        self.state.profile.as_deref().unwrap_or("default")
    }

    fn active_profile(&self) -> Option<&Profile> {
        self.profiles
            .get(self.active_name())
            .and_then(|e| e.good.as_ref())
    }

    /// Re-reads the profile directory. Keeps the last good version of a
    /// profile whose file became invalid. Returns the errors.
    fn rescan(&mut self) -> Vec<ProfileError> {
        let mut fresh: BTreeMap<String, Entry> = BTreeMap::new();
        for (name, text) in headroom_config::BUILTIN {
            let p = headroom_config::parse(name, text, Origin::Builtin)
                .expect("built-in profiles are valid");
            fresh.insert(
                name.to_string(),
                Entry {
                    good: Some(p),
                    error: None,
                },
            );
        }
        let mut errors = Vec::new();
        if let Some(dir) = &self.profile_dir {
            let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
                Ok(rd) => rd
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                    .collect(),
                Err(_) => Vec::new(),
            };
            files.sort();
            for path in files {
                let Some(name) = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .map(str::to_string)
                else {
                    continue;
                };
                if !headroom_config::valid_name(&name) {
                    continue;
                }
                let parsed = std::fs::read_to_string(&path)
                    .map_err(|e| ProfileError {
                        origin: path.display().to_string(),
                        line: None,
                        key: None,
                        message: format!("cannot read: {e}"),
                    })
                    .and_then(|text| {
                        headroom_config::parse(&name, &text, Origin::File(path.clone()))
                    });
                match parsed {
                    Ok(p) => {
                        fresh.insert(
                            name,
                            Entry {
                                good: Some(p),
                                error: None,
                            },
                        );
                    }
                    Err(e) => {
                        errors.push(e.clone());
                        // Keep the last good version (or the built-in).
                        let previous = self
                            .profiles
                            .get(&name)
                            .and_then(|old| old.good.clone())
                            .filter(|p| p.origin != Origin::Builtin)
                            .or_else(|| fresh.get(&name).and_then(|b| b.good.clone()));
                        fresh.insert(
                            name,
                            Entry {
                                good: previous,
                                error: Some(e),
                            },
                        );
                    }
                }
            }
        }
        self.profiles = fresh;
        errors
    }

    /// Recomputes the effective parameters; queues `setting_changed` events
    /// for every key whose value changed.
    fn recompute(&mut self) {
        let before = self.effective;
        let mut all = self.active_profile().map(|p| p.params).unwrap_or_default();
        for (key, value) in &self.state.overrides {
            if let Some(k) = settings::find(key) {
                // Validated on load and on set; a failure here changes nothing.
                let _ = k.apply(&mut all, value.as_value());
            }
        }
        all.dsp.bypass = self.state.bypass;
        self.effective = all;
        if before.dsp != all.dsp {
            self.dsp_dirty = true;
        }
        for k in settings::keys() {
            if k.get(&before) != k.get(&all) {
                let data = self.setting_json(&k);
                self.events.push(Event {
                    topic: Topic::Profile,
                    name: "setting_changed",
                    data,
                });
            }
        }
    }

    fn source_of(&self, k: &Key) -> SettingSource {
        if self.state.overrides.contains_key(k.key()) {
            SettingSource::Override
        } else if self
            .active_profile()
            .is_some_and(|p| p.keys.iter().any(|x| x == k.key()))
        {
            SettingSource::Profile
        } else {
            SettingSource::Default
        }
    }

    fn setting_json(&self, k: &Key) -> Json {
        Json::obj([
            ("key", k.key().into()),
            ("value", value_json(k.get(&self.effective))),
            ("source", self.source_of(k).as_str().into()),
        ])
    }

    fn save(&mut self, previous: State) -> Result<(), OpError> {
        let Some(path) = &self.state_path else {
            return Ok(());
        };
        if let Err(e) = state::save(path, &self.state) {
            self.state = previous;
            return Err(OpError::new(
                ErrorCode::Internal,
                format!(
                    "cannot save state to {}: {e}; nothing was changed",
                    path.display()
                ),
            ));
        }
        Ok(())
    }

    // ---- ops -------------------------------------------------------------

    /// `status`.
    pub fn status(&self, uptime_s: u64) -> Json {
        let a = &self.audio;
        let mut status = Json::obj([
            (
                "state",
                if a.running { "running" } else { "waiting" }.into(),
            ),
            ("bypass", self.state.bypass.into()),
            ("profile", self.active_name().into()),
            ("sample_rate_hz", a.sample_rate_hz.into()),
            ("channels", a.channels.into()),
            ("sink", a.sink.clone().into()),
            ("streams", a.streams.into()),
            ("uptime_s", uptime_s.into()),
            ("levels", a.levels.clone().unwrap_or_else(empty_levels)),
        ]);
        if let Json::Obj(members) = &mut status {
            members.extend(a.extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        }
        status
    }

    /// `profile.list`.
    pub fn profile_list(&self) -> Json {
        let profiles = self
            .profiles
            .iter()
            .filter(|(_, e)| e.good.is_some())
            .map(|(name, e)| {
                let p = e.good.as_ref().expect("filtered");
                Json::obj([
                    ("name", name.as_str().into()),
                    ("builtin", (p.origin == Origin::Builtin).into()),
                    ("description", p.description.as_str().into()),
                    // The file's latest version was rejected; this is the last good one.
                    ("error", e.error.as_ref().map(|e| e.to_string()).into()),
                ])
            })
            .collect();
        Json::obj([
            ("active", self.active_name().into()),
            ("profiles", Json::Arr(profiles)),
        ])
    }

    fn find_profile(&self, name: &str) -> Result<&Profile, OpError> {
        self.profiles
            .get(name)
            .and_then(|e| e.good.as_ref())
            .ok_or_else(|| OpError::new(ErrorCode::NotFound, format!("no profile named {name:?}")))
    }

    /// `profile.show`.
    pub fn profile_show(&self, name: Option<&str>) -> Result<Json, OpError> {
        let name = name.unwrap_or(self.active_name());
        let p = self.find_profile(name)?;
        let settings = p
            .keys
            .iter()
            .filter_map(|k| {
                settings::find(k).map(|key| (k.clone(), value_json(key.get(&p.params))))
            })
            .collect();
        Ok(Json::obj([
            ("name", name.into()),
            ("active", (name == self.active_name()).into()),
            ("settings", Json::Obj(settings)),
        ]))
    }

    /// `profile.use`.
    pub fn profile_use(&mut self, name: &str) -> Result<Json, OpError> {
        self.find_profile(name)?;
        let previous_name = self.active_name().to_string();
        let changed = previous_name != name;
        if changed {
            let previous = self.state.clone();
            self.state.profile = Some(name.to_string());
            self.save(previous)?;
            self.recompute();
            self.events.push(Event {
                topic: Topic::Profile,
                name: "active_changed",
                data: Json::obj([("active", name.into()), ("previous", previous_name.into())]),
            });
        }
        Ok(Json::obj([
            ("active", name.into()),
            ("changed", changed.into()),
        ]))
    }

    /// `profile.reload` (also SIGHUP and file changes).
    pub fn profile_reload(&mut self) -> Json {
        let errors = self.rescan();
        self.recompute();
        let names: Vec<Json> = self
            .profiles
            .iter()
            .filter(|(_, e)| e.good.is_some())
            .map(|(n, _)| n.as_str().into())
            .collect();
        self.events.push(Event {
            topic: Topic::Profile,
            name: "reloaded",
            data: Json::obj([
                ("profiles", Json::Arr(names.clone())),
                ("errors", errors.len().into()),
            ]),
        });
        for e in &errors {
            self.events.push(Event {
                topic: Topic::Profile,
                name: "error",
                data: Json::obj([
                    ("path", e.origin.as_str().into()),
                    ("line", e.line.map(|l| l as u64).into()),
                    ("key", e.key.clone().into()),
                    ("message", e.to_string().into()),
                ]),
            });
        }
        let errors = errors
            .iter()
            .map(|e| {
                Json::obj([
                    ("path", e.origin.as_str().into()),
                    ("message", e.to_string().into()),
                ])
            })
            .collect();
        Json::obj([
            ("profiles", Json::Arr(names)),
            ("errors", Json::Arr(errors)),
        ])
    }

    fn key(&self, key: &str) -> Result<Key, OpError> {
        settings::find(key)
            .ok_or_else(|| OpError::new(ErrorCode::NotFound, format!("no setting {key:?}")))
    }

    /// `setting.get`.
    pub fn setting_get(&self, key: &str) -> Result<Json, OpError> {
        let k = self.key(key)?;
        Ok(self.setting_json(&k))
    }

    /// `setting.list`.
    pub fn setting_list(&self, prefix: Option<&str>) -> Json {
        let mut keys: Vec<Key> = settings::keys()
            .filter(|k| prefix.is_none_or(|p| k.key().starts_with(p)))
            .collect();
        keys.sort_by_key(|k| k.key());
        let items = keys
            .iter()
            .map(|k| {
                let mut item = match self.setting_json(k) {
                    Json::Obj(m) => m,
                    _ => unreachable!("setting_json builds an object"),
                };
                item.push(("type".into(), k.kind().name().into()));
                item.push(("unit".into(), k.unit().into()));
                item.push(("default".into(), value_json(k.default_value())));
                if let Kind::Number { min, max } = k.kind() {
                    item.push(("min".into(), min.into()));
                    item.push(("max".into(), max.into()));
                }
                if let Kind::Choice(names) = k.kind() {
                    item.push((
                        "choices".into(),
                        Json::Arr(names.iter().map(|n| (*n).into()).collect()),
                    ));
                }
                item.push(("description".into(), k.description().into()));
                Json::Obj(item)
            })
            .collect();
        Json::obj([("settings", Json::Arr(items))])
    }

    /// `setting.set`.
    pub fn setting_set(&mut self, key: &str, value: ScalarIn) -> Result<Json, OpError> {
        let k = self.key(key)?;
        let v = match (&value, k.kind()) {
            (ScalarIn::Bool(b), _) => Value::Bool(*b),
            (ScalarIn::Number(x), _) => Value::Number(*x),
            (ScalarIn::Text(s), Kind::Choice(_)) => settings::choice_value(&k, s).map_err(|e| {
                OpError::new(ErrorCode::BadArgument, format!("{key}: {}", k.explain(e)))
            })?,
            (ScalarIn::Text(_), _) => {
                return Err(OpError::new(
                    ErrorCode::BadArgument,
                    format!(
                        "{key}: {}",
                        k.explain(dsp_core::error::ParamError::WrongType)
                    ),
                ))
            }
        };
        k.validate(v).map_err(|e| {
            OpError::new(ErrorCode::BadArgument, format!("{key}: {}", k.explain(e)))
        })?;
        let previous = self.state.clone();
        self.state
            .overrides
            .insert(key.to_string(), OwnedValue::from_value(v));
        self.save(previous)?;
        self.recompute();
        Ok(self.setting_json(&k))
    }

    /// `setting.clear`.
    pub fn setting_clear(&mut self, key: &str) -> Result<Json, OpError> {
        let k = self.key(key)?;
        if self.state.overrides.contains_key(key) {
            let previous = self.state.clone();
            self.state.overrides.remove(key);
            self.save(previous)?;
            self.recompute();
        }
        Ok(self.setting_json(&k))
    }

    /// `setting.reset`.
    pub fn setting_reset(&mut self) -> Result<Json, OpError> {
        let cleared = self.state.overrides.len();
        if cleared > 0 {
            let previous = self.state.clone();
            self.state.overrides.clear();
            self.save(previous)?;
            self.recompute();
        }
        Ok(Json::obj([("cleared", cleared.into())]))
    }

    /// `bypass.set`.
    pub fn bypass_set(&mut self, bypass: bool) -> Result<Json, OpError> {
        let changed = self.state.bypass != bypass;
        if changed {
            let previous = self.state.clone();
            self.state.bypass = bypass;
            self.save(previous)?;
            self.recompute();
            self.events.push(Event {
                topic: Topic::Daemon,
                name: "bypass_changed",
                data: Json::obj([("bypass", bypass.into())]),
            });
        }
        Ok(Json::obj([
            ("bypass", bypass.into()),
            ("changed", changed.into()),
        ]))
    }

    /// `route.list` (rules; live streams come from the audio path).
    pub fn route_rules(&self) -> Json {
        Json::Arr(
            self.state
                .routes
                .iter()
                .map(|(app, mode)| {
                    Json::obj([("app", app.as_str().into()), ("mode", mode.as_str().into())])
                })
                .collect(),
        )
    }

    /// `route.set`.
    pub fn route_set(&mut self, app: &str, mode: RouteMode) -> Result<Json, OpError> {
        let previous = self.state.clone();
        let replaced = self.state.routes.insert(app.to_string(), mode).is_some();
        self.save(previous)?;
        self.events.push(Event {
            topic: Topic::Routing,
            name: "rule_changed",
            data: Json::obj([("app", app.into()), ("mode", mode.as_str().into())]),
        });
        Ok(Json::obj([
            ("app", app.into()),
            ("mode", mode.as_str().into()),
            ("replaced", replaced.into()),
        ]))
    }

    /// `route.unset`.
    pub fn route_unset(&mut self, app: &str) -> Result<Json, OpError> {
        if !self.state.routes.contains_key(app) {
            return Err(OpError::new(
                ErrorCode::NotFound,
                format!("no rule for app {app:?}"),
            ));
        }
        let previous = self.state.clone();
        self.state.routes.remove(app);
        self.save(previous)?;
        self.events.push(Event {
            topic: Topic::Routing,
            name: "rule_changed",
            data: Json::obj([("app", app.into()), ("mode", Json::Null)]),
        });
        Ok(Json::obj([("app", app.into())]))
    }
}

/// A scalar from a request, owned.
#[derive(Debug, Clone, PartialEq)]
pub enum ScalarIn {
    /// Boolean.
    Bool(bool),
    /// Number.
    Number(f64),
    /// String.
    Text(String),
}

/// A setting value as JSON.
pub fn value_json(v: Value<'_>) -> Json {
    match v {
        Value::Bool(b) => Json::Bool(b),
        Value::Number(x) => Json::Num(x),
        Value::Choice(s) => Json::Str(s.to_string()),
    }
}

/// `levels` data before any audio ran.
pub fn empty_levels() -> Json {
    Json::obj([
        ("momentary_lufs", Json::Null),
        ("shortterm_lufs", Json::Null),
        ("integrated_lufs", Json::Null),
        ("true_peak_dbtp", Json::Null),
        ("gain_db", Json::Num(0.0)),
        ("gain_reduction_db", Json::Num(0.0)),
    ])
}
