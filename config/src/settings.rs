//! The one settings table hosts use: the DSP settings of
//! [`dsp_core::params::SETTINGS`] plus the daemon's own (`meters.*`,
//! `daemon.*`), behind one [`Key`] type.
//!
//! Profiles, `setting.*` ops, the CLI's `settings` listing and the README's
//! table are all generated from [`keys`], so a key cannot exist in one place
//! and not another.

use dsp_core::error::ParamError;
use dsp_core::params::{self, Kind, Params, Value};

/// Settings of the daemon itself (not of the DSP chain).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostParams {
    /// Rate of `levels` events on the `meters` topic.
    pub meters_publish_hz: f32,
    /// Make Headroom the default sink while running (restored on exit).
    pub promote_default: bool,
}

impl Default for HostParams {
    fn default() -> Self {
        Self {
            meters_publish_hz: 20.0,
            promote_default: false,
        }
    }
}

/// Every setting's value.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AllParams {
    /// The chain's.
    pub dsp: Params,
    /// The daemon's.
    pub host: HostParams,
}

/// One host setting row (same shape as [`params::Setting`]).
#[derive(Clone, Copy)]
pub struct HostSetting {
    /// Dotted key.
    pub key: &'static str,
    /// Type and range.
    pub kind: Kind,
    /// Unit for display.
    pub unit: &'static str,
    /// Default.
    pub default: Value<'static>,
    /// One-line description.
    pub description: &'static str,
    get: fn(&HostParams) -> Value<'static>,
    set: fn(&mut HostParams, Value<'_>),
}

/// The daemon's own settings.
pub static HOST_SETTINGS: &[HostSetting] = &[
    HostSetting {
        key: "meters.publish_hz",
        kind: Kind::Number {
            min: 1.0,
            max: 60.0,
        },
        unit: "Hz",
        default: Value::Number(20.0),
        description: "Rate of levels events on the meters topic",
        get: |h| Value::Number(h.meters_publish_hz as f64),
        set: |h, v| {
            if let Value::Number(x) = v {
                h.meters_publish_hz = x as f32;
            }
        },
    },
    HostSetting {
        key: "daemon.promote_default",
        kind: Kind::Bool,
        unit: "",
        default: Value::Bool(false),
        description: "Make Headroom the default sink while running (given back on exit)",
        get: |h| Value::Bool(h.promote_default),
        set: |h, v| {
            if let Value::Bool(b) = v {
                h.promote_default = b;
            }
        },
    },
];

/// A setting of either table.
#[derive(Clone, Copy)]
pub enum Key {
    /// A DSP setting.
    Dsp(&'static params::Setting),
    /// A daemon setting.
    Host(&'static HostSetting),
}

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.key())
    }
}

impl Key {
    /// Dotted key.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Dsp(s) => s.key,
            Self::Host(s) => s.key,
        }
    }
    /// Type and range.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Dsp(s) => s.kind,
            Self::Host(s) => s.kind,
        }
    }
    /// Unit.
    pub fn unit(&self) -> &'static str {
        match self {
            Self::Dsp(s) => s.unit,
            Self::Host(s) => s.unit,
        }
    }
    /// Default value.
    pub fn default_value(&self) -> Value<'static> {
        match self {
            Self::Dsp(s) => s.default,
            Self::Host(s) => s.default,
        }
    }
    /// Description.
    pub fn description(&self) -> &'static str {
        match self {
            Self::Dsp(s) => s.description,
            Self::Host(s) => s.description,
        }
    }
    /// Current value in `all`.
    pub fn get(&self, all: &AllParams) -> Value<'static> {
        match self {
            Self::Dsp(s) => (s.get)(&all.dsp),
            Self::Host(s) => (s.get)(&all.host),
        }
    }
    /// Checks type and range.
    ///
    /// # Errors
    /// [`ParamError::WrongType`], [`ParamError::NotFinite`], [`ParamError::OutOfRange`].
    pub fn validate(&self, value: Value<'_>) -> Result<(), ParamError> {
        match self {
            Self::Dsp(s) => s.validate(value),
            Self::Host(s) => validate_kind(s.kind, value),
        }
    }
    /// Validates and writes; on error nothing changes.
    ///
    /// # Errors
    /// As [`Key::validate`].
    pub fn apply(&self, all: &mut AllParams, value: Value<'_>) -> Result<(), ParamError> {
        match self {
            Self::Dsp(s) => s.apply(&mut all.dsp, value),
            Self::Host(s) => {
                validate_kind(s.kind, value)?;
                (s.set)(&mut all.host, value);
                Ok(())
            }
        }
    }
    /// Accepted values in words, e.g. `a number from -20 to 0 dBTP`.
    pub fn describe_range(&self) -> String {
        match self.kind() {
            Kind::Bool => "true or false".into(),
            Kind::Number { min, max } => format!("a number from {min} to {max} {}", self.unit())
                .trim_end()
                .into(),
            Kind::Choice(names) => format!("one of {}", names.join(", ")),
        }
    }
    /// A [`ParamError`] for this key in words.
    pub fn explain(&self, err: ParamError) -> String {
        let expected = self.describe_range();
        match err {
            ParamError::NotFinite => {
                format!("NaN and infinity are not allowed; expected {expected}")
            }
            ParamError::OutOfRange => format!("out of range; expected {expected}"),
            ParamError::WrongType => format!("wrong type; expected {expected}"),
            ParamError::UnknownKey => "unknown setting".into(),
            ParamError::Inconsistent => "contradicts another setting".into(),
        }
    }
}

fn validate_kind(kind: Kind, value: Value<'_>) -> Result<(), ParamError> {
    match (kind, value) {
        (Kind::Bool, Value::Bool(_)) => Ok(()),
        (Kind::Number { min, max }, Value::Number(x)) if !x.is_finite() => {
            let _ = (min, max);
            Err(ParamError::NotFinite)
        }
        (Kind::Number { min, max }, Value::Number(x)) if x < min || x > max => {
            Err(ParamError::OutOfRange)
        }
        (Kind::Number { .. }, Value::Number(_)) => Ok(()),
        (Kind::Choice(names), Value::Choice(s)) if names.contains(&s) => Ok(()),
        (Kind::Choice(_), Value::Choice(_)) => Err(ParamError::OutOfRange),
        _ => Err(ParamError::WrongType),
    }
}

/// Every setting, DSP first, in display order.
pub fn keys() -> impl Iterator<Item = Key> {
    params::SETTINGS
        .iter()
        .map(Key::Dsp)
        .chain(HOST_SETTINGS.iter().map(Key::Host))
}

/// Finds a setting by dotted key.
pub fn find(key: &str) -> Option<Key> {
    keys().find(|k| k.key() == key)
}

/// Converts a TOML/JSON-ish scalar into a [`Value`] for `key`: strings are
/// only accepted for choice settings (whose names are `'static`).
pub fn choice_value(key: &Key, s: &str) -> Result<Value<'static>, ParamError> {
    match key.kind() {
        Kind::Choice(names) => names
            .iter()
            .find(|n| **n == s)
            .map(|n| Value::Choice(n))
            .ok_or(ParamError::OutOfRange),
        _ => Err(ParamError::WrongType),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_table_unique_keys_valid_defaults() {
        let all = AllParams::default();
        let keys: Vec<Key> = keys().collect();
        for (i, k) in keys.iter().enumerate() {
            assert!(
                keys[i + 1..].iter().all(|o| o.key() != k.key()),
                "{}",
                k.key()
            );
            assert_eq!(k.validate(k.default_value()), Ok(()));
            assert_eq!(k.get(&all), k.default_value(), "{}", k.key());
        }
    }

    #[test]
    fn host_settings_validate() {
        let mut all = AllParams::default();
        let k = find("meters.publish_hz").unwrap();
        assert_eq!(
            k.apply(&mut all, Value::Number(61.0)),
            Err(ParamError::OutOfRange)
        );
        assert_eq!(
            k.apply(&mut all, Value::Number(f64::INFINITY)),
            Err(ParamError::NotFinite)
        );
        assert_eq!(
            k.apply(&mut all, Value::Bool(true)),
            Err(ParamError::WrongType)
        );
        assert_eq!(k.apply(&mut all, Value::Number(60.0)), Ok(()));
        assert_eq!(all.host.meters_publish_hz, 60.0);
    }
}
