//! Routing policy: which playback streams go through Headroom.
//!
//! A pure function from a stream's properties and the rules to a
//! [`RouteMode`], so it is tested without PipeWire. Order of precedence:
//! 1. the user's per-app overrides (`route.set APP MODE`, saved in the
//!    state file): `APP` equals the stream's `application.name` or
//!    `application.process.binary`, ignoring ASCII case;
//! 2. the active profile's `[[route]]` rules, first match wins; every
//!    field given must match its property (globs with `*` and `?`, ASCII
//!    case-insensitive): `binary` ↔ `application.process.binary`,
//!    `app` ↔ `application.name`, `role` ↔ `media.role`, `node` ↔ `node.name`;
//! 3. the profile's `default_route` (`processed` unless it says otherwise).

use crate::state::RouteMode;
use std::collections::BTreeMap;

/// One profile rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    /// Glob on `application.process.binary`.
    pub binary: Option<String>,
    /// Glob on `application.name`.
    pub app: Option<String>,
    /// Glob on `media.role`.
    pub role: Option<String>,
    /// Glob on `node.name`.
    pub node: Option<String>,
    /// Where matching streams go.
    pub mode: RouteMode,
}

/// The properties of a playback stream that rules look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamProps {
    /// `application.name`.
    pub app: Option<String>,
    /// `application.process.binary`.
    pub binary: Option<String>,
    /// `media.role`.
    pub role: Option<String>,
    /// `node.name`.
    pub node: Option<String>,
}

/// Why a stream got its mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A user override for this app.
    Override(String),
    /// The profile's rule number `n` (0-based).
    ProfileRule(usize),
    /// Nothing matched.
    Default,
}

/// `*` (any run) and `?` (any one char) glob, ASCII case-insensitive.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    // Iterative matcher with one backtrack point: O(len(p)·len(t)) worst case.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn field_matches(glob: &Option<String>, value: &Option<String>) -> bool {
    match glob {
        None => true,
        Some(g) => value.as_deref().is_some_and(|v| glob_match(g, v)),
    }
}

impl RouteRule {
    /// Whether every field given matches.
    pub fn matches(&self, s: &StreamProps) -> bool {
        field_matches(&self.binary, &s.binary)
            && field_matches(&self.app, &s.app)
            && field_matches(&self.role, &s.role)
            && field_matches(&self.node, &s.node)
    }
}

/// Decides where `stream` goes.
pub fn decide(
    stream: &StreamProps,
    overrides: &BTreeMap<String, RouteMode>,
    rules: &[RouteRule],
    default_route: RouteMode,
) -> (RouteMode, Reason) {
    let eq = |a: &Option<String>, b: &str| a.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(b));
    for (app, mode) in overrides {
        if eq(&stream.app, app) || eq(&stream.binary, app) {
            return (*mode, Reason::Override(app.clone()));
        }
    }
    for (i, r) in rules.iter().enumerate() {
        if r.matches(stream) {
            return (r.mode, Reason::ProfileRule(i));
        }
    }
    (default_route, Reason::Default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("spot*", "Spotify"));
        assert!(glob_match("*fox", "firefox"));
        assert!(glob_match("f?refox", "Firefox"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("spot", "spotify"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
    }

    #[test]
    fn precedence_override_then_rules_then_default() {
        let s = StreamProps {
            app: Some("Spotify".into()),
            binary: Some("spotify".into()),
            role: Some("Music".into()),
            node: None,
        };
        let rules = vec![
            RouteRule {
                binary: None,
                app: None,
                role: Some("music".into()),
                node: None,
                mode: RouteMode::Bypass,
            },
            RouteRule {
                binary: Some("*".into()),
                app: None,
                role: None,
                node: None,
                mode: RouteMode::Processed,
            },
        ];
        assert_eq!(
            decide(&s, &BTreeMap::new(), &rules, RouteMode::Processed),
            (RouteMode::Bypass, Reason::ProfileRule(0))
        );
        let mut o = BTreeMap::new();
        o.insert("SPOTIFY".to_string(), RouteMode::Processed);
        assert_eq!(
            decide(&s, &o, &rules, RouteMode::Bypass).0,
            RouteMode::Processed
        );
        let other = StreamProps::default();
        assert_eq!(
            decide(&other, &BTreeMap::new(), &rules, RouteMode::Bypass),
            (RouteMode::Bypass, Reason::Default)
        );
        // A rule field on a missing property does not match.
        assert_eq!(
            decide(&other, &BTreeMap::new(), &rules[1..], RouteMode::Bypass).1,
            Reason::Default
        );
    }
}
