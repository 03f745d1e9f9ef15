//! # headroom-config
//!
//! Profiles: named sets of DSP settings written in TOML, shared by
//! `headroomd` and the `headroom` CLI so both read them the same way.
//!
//! Contract:
//! * Built-in profiles (`default`, `speech`, `music`, `movie`, `night`,
//!   `transparent`) are embedded in the binary; `default` serves with no
//!   files at all.
//! * User profiles live in `$XDG_CONFIG_HOME/headroom/profiles/NAME.toml`
//!   (default `~/.config/headroom/profiles`) and override a built-in of the
//!   same name.
//! * Parsing is strict: a syntax error, an unknown key, a wrong type, NaN or
//!   infinity, or an out-of-range value rejects the whole profile with a
//!   [`ProfileError`] naming the file, line and key. A profile sets only the
//!   keys it names; everything else keeps its default.
//! * Keys are exactly the dotted keys of [`settings::keys`]: the DSP keys,
//!   written as TOML tables (`[limiter]` + `ceiling_dbtp = -1.0`) or dotted
//!   keys (`limiter.ceiling_dbtp = -1.0`), plus the daemon's own keys of
//!   [`settings::HOST_SETTINGS`].

use dsp_core::params::Value;
use settings::AllParams;
use std::fmt;
use std::path::{Path, PathBuf};

pub mod paths;
pub mod routing;
pub mod settings;
pub mod state;

/// Built-in profiles: (name, TOML text).
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../profiles/default.toml")),
    ("speech", include_str!("../profiles/speech.toml")),
    ("music", include_str!("../profiles/music.toml")),
    ("movie", include_str!("../profiles/movie.toml")),
    ("night", include_str!("../profiles/night.toml")),
    ("transparent", include_str!("../profiles/transparent.toml")),
];

/// Where a profile came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Embedded in the binary.
    Builtin,
    /// A user file.
    File(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Builtin => f.write_str("built-in"),
            Self::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A parsed, validated profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Name (the file stem for user profiles).
    pub name: String,
    /// One-line description (empty if the file has none).
    pub description: String,
    /// Where it came from.
    pub origin: Origin,
    /// Defaults overlaid with the profile's keys.
    pub params: AllParams,
    /// The dotted keys the profile sets explicitly, in file order.
    pub keys: Vec<String>,
    /// `[[route]]` rules, in file order (first match wins).
    pub routes: Vec<routing::RouteRule>,
    /// Where streams no rule matches go.
    pub default_route: state::RouteMode,
}

/// Why a profile was rejected. Displays as `FILE:LINE: key KEY: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    /// The file (or `built-in NAME`).
    pub origin: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The dotted key at fault, when there is one.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if let Some(key) = &self.key {
            write!(f, "key `{key}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProfileError {}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// Parses profile `name` from `text`.
///
/// # Errors
/// A [`ProfileError`] for the first problem found; nothing is partially
/// applied.
pub fn parse(name: &str, text: &str, origin: Origin) -> Result<Profile, ProfileError> {
    let origin_name = match &origin {
        Origin::Builtin => format!("built-in profile {name}"),
        Origin::File(p) => p.display().to_string(),
    };
    let err = |line: Option<usize>, key: Option<String>, message: String| ProfileError {
        origin: origin_name.clone(),
        line,
        key,
        message,
    };
    let doc: toml_edit::Document<&str> = toml_edit::Document::parse(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        err(line, None, format!("TOML syntax: {}", e.message().trim()))
    })?;

    let mut params = AllParams::default();
    let mut description = String::new();
    let mut keys = Vec::new();
    let mut routes = Vec::new();
    let mut default_route = state::RouteMode::Processed;

    // Flatten tables into (dotted key, item) in document order.
    let mut flat: Vec<(String, &toml_edit::Item, Option<std::ops::Range<usize>>)> = Vec::new();
    fn walk<'a>(
        prefix: &str,
        table: &'a dyn toml_edit::TableLike,
        out: &mut Vec<(String, &'a toml_edit::Item, Option<std::ops::Range<usize>>)>,
    ) {
        for (k, item) in table.iter() {
            let key = if prefix.is_empty() {
                k.to_string()
            } else {
                format!("{prefix}.{k}")
            };
            let span = table.key(k).and_then(|k| k.span()).or_else(|| item.span());
            match item.as_table_like() {
                Some(t) if !(prefix.is_empty() && k == "route") => walk(&key, t, out),
                _ => out.push((key, item, span)),
            }
        }
    }
    walk("", doc.as_table(), &mut flat);

    for (key, item, span) in flat {
        let line = span.map(|s| line_of(text, s.start));
        if key == "default_route" {
            default_route = item
                .as_str()
                .and_then(state::RouteMode::parse)
                .ok_or_else(|| {
                    err(
                        line,
                        Some(key.clone()),
                        "expected \"processed\" or \"bypass\"".into(),
                    )
                })?;
            continue;
        }
        if key == "route" {
            routes = parse_routes(item).map_err(|(offset, m)| {
                err(
                    offset.map(|o| line_of(text, o)).or(line),
                    Some("route".into()),
                    m,
                )
            })?;
            continue;
        }
        if key == "description" {
            match item.as_str() {
                Some(s) => description = s.to_string(),
                None => return Err(err(line, Some(key), "expected a string".into())),
            }
            continue;
        }
        let Some(setting) = settings::find(&key) else {
            let hint = settings::keys()
                .find(|s| s.key().rsplit('.').next() == key.rsplit('.').next())
                .map(|s| format!(" (did you mean `{}`?)", s.key()))
                .unwrap_or_default();
            return Err(err(line, Some(key), format!("unknown key{hint}")));
        };
        let value = match item.as_value() {
            Some(toml_edit::Value::Boolean(b)) => Value::Bool(*b.value()),
            Some(toml_edit::Value::Float(f)) => Value::Number(*f.value()),
            Some(toml_edit::Value::Integer(i)) => Value::Number(*i.value() as f64),
            Some(toml_edit::Value::String(s)) => settings::choice_value(&setting, s.value())
                .map_err(|e| err(line, Some(key.clone()), setting.explain(e)))?,
            _ => {
                return Err(err(
                    line,
                    Some(key),
                    setting.explain(dsp_core::error::ParamError::WrongType),
                ))
            }
        };
        setting
            .apply(&mut params, value)
            .map_err(|e| err(line, Some(key.clone()), setting.explain(e)))?;
        keys.push(key);
    }

    Ok(Profile {
        name: name.to_string(),
        description,
        origin,
        params,
        keys,
        routes,
        default_route,
    })
}

/// Parses `[[route]]` tables: each needs `mode` and at least one of
/// `binary`, `app`, `role`, `node`.
fn parse_routes(
    item: &toml_edit::Item,
) -> Result<Vec<routing::RouteRule>, (Option<usize>, String)> {
    let Some(array) = item.as_array_of_tables() else {
        return Err((
            item.span().map(|s| s.start),
            "expected [[route]] tables".into(),
        ));
    };
    let mut rules = Vec::new();
    for table in array.iter() {
        let at = table.span().map(|s| s.start);
        let mut rule = routing::RouteRule {
            binary: None,
            app: None,
            role: None,
            node: None,
            mode: state::RouteMode::Processed,
        };
        let mut mode = None;
        for (k, v) in table.iter() {
            let at = table.key(k).and_then(|k| k.span()).map(|s| s.start).or(at);
            let text = v
                .as_str()
                .ok_or((at, format!("`{k}` must be a string")))?
                .to_string();
            match k {
                "binary" => rule.binary = Some(text),
                "app" => rule.app = Some(text),
                "role" => rule.role = Some(text),
                "node" => rule.node = Some(text),
                "mode" => {
                    mode = Some(
                        state::RouteMode::parse(&text)
                            .ok_or((at, "mode must be \"processed\" or \"bypass\"".to_string()))?,
                    )
                }
                other => {
                    return Err((
                        at,
                        format!("unknown route field `{other}` (binary, app, role, node, mode)"),
                    ))
                }
            }
        }
        rule.mode = mode.ok_or((at, "a route needs `mode`".to_string()))?;
        if rule.binary.is_none() && rule.app.is_none() && rule.role.is_none() && rule.node.is_none()
        {
            return Err((
                at,
                "a route needs at least one of binary, app, role, node".into(),
            ));
        }
        rules.push(rule);
    }
    Ok(rules)
}

/// The built-in profile `name`, parsed.
pub fn builtin(name: &str) -> Option<Profile> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(n, text)| {
        parse(n, text, Origin::Builtin).expect("built-in profiles are valid (tested)")
    })
}

/// Whether `name` is usable as a profile name (a file stem): letters,
/// digits, `-`, `_`, `.`; not starting with `.`; at most 64 bytes.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Loads profile `name`: the user's file in `dir` if there is one, else the
/// built-in.
///
/// # Errors
/// `Ok(None)` if neither exists; a [`ProfileError`] if the user file is
/// unreadable or invalid (the built-in is *not* silently used instead).
pub fn load(dir: Option<&Path>, name: &str) -> Result<Option<Profile>, ProfileError> {
    if !valid_name(name) {
        return Err(ProfileError {
            origin: format!("profile {name:?}"),
            line: None,
            key: None,
            message: "invalid profile name (letters, digits, '-', '_', '.')".into(),
        });
    }
    if let Some(dir) = dir {
        let path = dir.join(format!("{name}.toml"));
        match std::fs::read_to_string(&path) {
            Ok(text) => return parse(name, &text, Origin::File(path)).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(ProfileError {
                    origin: path.display().to_string(),
                    line: None,
                    key: None,
                    message: format!("cannot read: {e}"),
                })
            }
        }
    }
    Ok(builtin(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_differ() {
        for (name, text) in BUILTIN {
            let p = parse(name, text, Origin::Builtin).unwrap();
            assert!(!p.description.is_empty(), "{name}");
        }
        assert_eq!(
            builtin("night").unwrap().params.dsp.limiter.ceiling_dbtp,
            -6.0
        );
        assert!(!builtin("transparent").unwrap().params.dsp.agc.enabled);
        assert_eq!(builtin("default").unwrap().params, AllParams::default());
    }

    #[test]
    fn errors_name_line_and_key() {
        let e = parse(
            "x",
            "[agc]\ntarget_lufs = -18\n\n[limiter]\nceiling_dbtp = nan\n",
            Origin::Builtin,
        )
        .unwrap_err();
        assert_eq!(e.line, Some(5));
        assert_eq!(e.key.as_deref(), Some("limiter.ceiling_dbtp"));
        assert!(e.message.contains("NaN"), "{e}");

        let e = parse("x", "[limiter]\nceiling_dbtp = 3.0\n", Origin::Builtin).unwrap_err();
        assert_eq!(
            (e.line, e.message.contains("out of range")),
            (Some(2), true),
            "{e}"
        );

        let e = parse("x", "[limiter]\nceiling = -1\n", Origin::Builtin).unwrap_err();
        assert!(e.message.contains("unknown key"), "{e}");

        let e = parse("x", "agc.enabled = 1\n", Origin::Builtin).unwrap_err();
        assert!(e.message.contains("wrong type"), "{e}");

        let e = parse("x", "[agc\n", Origin::Builtin).unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.message.starts_with("TOML syntax"), "{e}");

        let e = parse("x", "compressor.detector = \"loud\"\n", Origin::Builtin).unwrap_err();
        assert!(e.message.contains("one of peak, rms"), "{e}");
    }

    #[test]
    fn dotted_and_table_forms_agree() {
        let a = parse(
            "a",
            "limiter.ceiling_dbtp = -3\ncompressor.detector = \"peak\"\n",
            Origin::Builtin,
        )
        .unwrap();
        let b = parse(
            "b",
            "[limiter]\nceiling_dbtp = -3.0\n[compressor]\ndetector = \"peak\"\n",
            Origin::Builtin,
        )
        .unwrap();
        assert_eq!(a.params, b.params);
        assert_eq!(a.keys, vec!["limiter.ceiling_dbtp", "compressor.detector"]);
    }

    #[test]
    fn route_rules_parse_and_are_checked() {
        let p = parse(
            "r",
            "default_route = \"bypass\"\n[[route]]\nbinary = \"spot*\"\nmode = \"processed\"\n[[route]]\nrole = \"Notification\"\nmode = \"bypass\"\n",
            Origin::Builtin,
        )
        .unwrap();
        assert_eq!(p.default_route, state::RouteMode::Bypass);
        assert_eq!(p.routes.len(), 2);
        assert_eq!(p.routes[0].binary.as_deref(), Some("spot*"));
        let e = parse("r", "[[route]]\nbinary = \"x\"\n", Origin::Builtin).unwrap_err();
        assert!(e.message.contains("needs `mode`"), "{e}");
        let e = parse("r", "[[route]]\nmode = \"bypass\"\n", Origin::Builtin).unwrap_err();
        assert!(e.message.contains("at least one"), "{e}");
        let e = parse(
            "r",
            "[[route]]\nbinary = \"x\"\nmode = \"loud\"\n",
            Origin::Builtin,
        )
        .unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_name("my-profile_2"));
        assert!(!valid_name("../etc/passwd"));
        assert!(!valid_name(""));
        assert!(!valid_name(".hidden"));
    }
}
