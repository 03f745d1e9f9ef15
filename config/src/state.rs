//! The daemon's persisted state: what the user changed at runtime.
//!
//! `$XDG_STATE_HOME/headroom/state.toml` holds the active profile, setting
//! overrides, per-app route overrides and bypass. Contract:
//! * **Atomic**: written to a temporary file in the same directory, fsynced,
//!   renamed over the old file, and the directory fsynced — a crash or full
//!   disk leaves either the old or the new state, never half of one.
//! * **Never lost**: a state file that cannot be parsed or validated is moved
//!   aside (`state.toml.corrupt-<unix seconds>`) and reported; it is never
//!   overwritten with defaults.
//! * **Strict**: every override is validated against the settings table on
//!   load, exactly as `setting.set` validates it.

use crate::settings;
use dsp_core::params::{Kind, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// An owned setting value (the persisted form of [`Value`]).
#[derive(Debug, Clone, PartialEq)]
pub enum OwnedValue {
    /// A switch.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A named choice.
    Choice(String),
}

impl OwnedValue {
    /// Borrows as a table [`Value`].
    pub fn as_value(&self) -> Value<'_> {
        match self {
            Self::Bool(b) => Value::Bool(*b),
            Self::Number(x) => Value::Number(*x),
            Self::Choice(s) => Value::Choice(s),
        }
    }

    /// Copies a table [`Value`].
    pub fn from_value(v: Value<'_>) -> Self {
        match v {
            Value::Bool(b) => Self::Bool(b),
            Value::Number(x) => Self::Number(x),
            Value::Choice(s) => Self::Choice(s.to_string()),
        }
    }
}

impl fmt::Display for OwnedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(b) => write!(f, "{b}"),
            Self::Number(x) => write!(f, "{x}"),
            Self::Choice(s) => f.write_str(s),
        }
    }
}

/// Where an app's audio goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RouteMode {
    /// Through the Headroom sink.
    Processed,
    /// Straight to the real sink, untouched.
    Bypass,
}

impl RouteMode {
    /// The wire/file name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processed => "processed",
            Self::Bypass => "bypass",
        }
    }

    /// Parses a wire/file name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "processed" => Some(Self::Processed),
            "bypass" => Some(Self::Bypass),
            _ => None,
        }
    }
}

/// Everything the user changed at runtime.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    /// Active profile name (`None`: the default profile).
    pub profile: Option<String>,
    /// Setting overrides by dotted key.
    pub overrides: BTreeMap<String, OwnedValue>,
    /// Per-app route overrides (app name or binary → mode).
    pub routes: BTreeMap<String, RouteMode>,
    /// Global bypass.
    pub bypass: bool,
}

/// What happened when loading the state.
#[derive(Debug)]
pub enum Loaded {
    /// No state file yet: defaults.
    Fresh(State),
    /// Read and valid.
    Ok(State),
    /// Unreadable or invalid: moved to `moved_to` (if the move worked),
    /// defaults in use; `reason` says what was wrong.
    Corrupt {
        /// Defaults.
        state: State,
        /// Where the bad file now is.
        moved_to: Option<PathBuf>,
        /// What was wrong.
        reason: String,
    },
}

const FILE_VERSION: i64 = 1;

fn parse(text: &str) -> Result<State, String> {
    let doc: toml_edit::Document<&str> =
        toml_edit::Document::parse(text).map_err(|e| e.to_string())?;
    let mut state = State::default();
    for (key, item) in doc.as_table().iter() {
        match key {
            "version" => match item.as_integer() {
                Some(FILE_VERSION) => {}
                other => return Err(format!("unsupported state version {other:?}")),
            },
            "profile" => {
                let name = item.as_str().ok_or("profile must be a string")?;
                if !crate::valid_name(name) {
                    return Err(format!("invalid profile name {name:?}"));
                }
                state.profile = Some(name.to_string());
            }
            "bypass" => state.bypass = item.as_bool().ok_or("bypass must be true or false")?,
            "overrides" => {
                let table = item.as_table_like().ok_or("overrides must be a table")?;
                for (k, v) in table.iter() {
                    let setting =
                        settings::find(k).ok_or_else(|| format!("unknown setting {k:?}"))?;
                    let value = match (setting.kind(), v.as_value()) {
                        (Kind::Bool, Some(toml_edit::Value::Boolean(b))) => Value::Bool(*b.value()),
                        (Kind::Number { .. }, Some(toml_edit::Value::Float(f))) => {
                            Value::Number(*f.value())
                        }
                        (Kind::Number { .. }, Some(toml_edit::Value::Integer(i))) => {
                            Value::Number(*i.value() as f64)
                        }
                        (Kind::Choice(names), Some(toml_edit::Value::String(s))) => {
                            let s = s.value();
                            Value::Choice(
                                names
                                    .iter()
                                    .find(|n| **n == s.as_str())
                                    .ok_or_else(|| format!("{k}: bad choice {s:?}"))?,
                            )
                        }
                        _ => return Err(format!("{k}: wrong type")),
                    };
                    setting
                        .validate(value)
                        .map_err(|e| format!("{k}: {}", setting.explain(e)))?;
                    state
                        .overrides
                        .insert(k.to_string(), OwnedValue::from_value(value));
                }
            }
            "routes" => {
                let table = item.as_table_like().ok_or("routes must be a table")?;
                for (app, v) in table.iter() {
                    let mode = v.as_str().and_then(RouteMode::parse).ok_or_else(|| {
                        format!("route {app:?}: expected \"processed\" or \"bypass\"")
                    })?;
                    state.routes.insert(app.to_string(), mode);
                }
            }
            other => return Err(format!("unknown key {other:?}")),
        }
    }
    Ok(state)
}

fn render(state: &State) -> String {
    let mut doc = toml_edit::DocumentMut::new();
    doc["version"] = toml_edit::value(FILE_VERSION);
    if let Some(p) = &state.profile {
        doc["profile"] = toml_edit::value(p.as_str());
    }
    doc["bypass"] = toml_edit::value(state.bypass);
    let mut overrides = toml_edit::Table::new();
    for (k, v) in &state.overrides {
        overrides[k.as_str()] = match v {
            OwnedValue::Bool(b) => toml_edit::value(*b),
            OwnedValue::Number(x) => toml_edit::value(*x),
            OwnedValue::Choice(s) => toml_edit::value(s.as_str()),
        };
    }
    doc["overrides"] = toml_edit::Item::Table(overrides);
    let mut routes = toml_edit::Table::new();
    for (app, mode) in &state.routes {
        routes[app.as_str()] = toml_edit::value(mode.as_str());
    }
    doc["routes"] = toml_edit::Item::Table(routes);
    format!("# Headroom runtime state, written by headroomd. Edit profiles instead.\n{doc}")
}

/// The state file in `dir`.
pub fn file_in(dir: &Path) -> PathBuf {
    dir.join("state.toml")
}

/// Loads the state from `path`. Never fails: problems are reported in the
/// [`Loaded`] variant, and a bad file is moved aside, not overwritten.
pub fn load(path: &Path) -> Loaded {
    let text = match fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => return corrupt(path, "not UTF-8 text".into()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Loaded::Fresh(State::default())
        }
        Err(e) => {
            // Unreadable (permissions, I/O): leave it where it is.
            return Loaded::Corrupt {
                state: State::default(),
                moved_to: None,
                reason: format!("cannot read {}: {e}", path.display()),
            };
        }
    };
    match parse(&text) {
        Ok(s) => Loaded::Ok(s),
        Err(reason) => corrupt(path, reason),
    }
}

fn corrupt(path: &Path, reason: String) -> Loaded {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".corrupt-{secs}"));
    let aside = PathBuf::from(aside);
    let moved_to = fs::rename(path, &aside).ok().map(|_| aside);
    Loaded::Corrupt {
        state: State::default(),
        moved_to,
        reason,
    }
}

/// Writes `state` to `path` atomically (temp file, fsync, rename, fsync of
/// the directory), creating the directory (0700) if needed.
///
/// # Errors
/// Any I/O failure; the previous file is then untouched.
pub fn save(path: &Path, state: &State) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let tmp = path.with_extension("toml.tmp");
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(render(state).as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates `dir` and its parents; a new final directory gets mode 0700.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("headroom-state-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn round_trips() {
        let dir = tmpdir("rt");
        let path = file_in(&dir);
        let mut s = State {
            profile: Some("night".into()),
            bypass: true,
            ..State::default()
        };
        s.overrides
            .insert("limiter.ceiling_dbtp".into(), OwnedValue::Number(-2.5));
        s.overrides.insert(
            "compressor.detector".into(),
            OwnedValue::Choice("peak".into()),
        );
        s.overrides
            .insert("agc.enabled".into(), OwnedValue::Bool(false));
        s.routes.insert("Firefox Nightly".into(), RouteMode::Bypass);
        save(&path, &s).unwrap();
        match load(&path) {
            Loaded::Ok(back) => assert_eq!(back, s),
            other => panic!("{other:?}"),
        }
        assert!(!path.with_extension("toml.tmp").exists());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_is_fresh() {
        let dir = tmpdir("fresh");
        assert!(matches!(load(&file_in(&dir)), Loaded::Fresh(_)));
    }

    #[test]
    fn corrupt_is_moved_aside_not_overwritten() {
        let dir = tmpdir("corrupt");
        let path = file_in(&dir);
        for bad in [
            "this is not toml [",
            "[overrides]\n\"limiter.ceiling_dbtp\" = nan\n",
            "version = 99\n",
        ] {
            fs::write(&path, bad).unwrap();
            match load(&path) {
                Loaded::Corrupt {
                    moved_to: Some(aside),
                    reason,
                    ..
                } => {
                    assert_eq!(fs::read_to_string(&aside).unwrap(), bad, "{reason}");
                    assert!(!path.exists());
                    fs::remove_file(aside).unwrap();
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        let _ = fs::remove_dir_all(&dir);
    }
}
