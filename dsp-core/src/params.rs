//! Chain parameters and the settings table: the single source of every DSP
//! setting key.
//!
//! Each setting has a dotted key (`limiter.ceiling_dbtp`), a type, a unit, a
//! range, a default and a one-line description. Profile parsing, the
//! `setting.*` protocol ops, the CLI's `--set KEY=VALUE` and the docs all read
//! [`SETTINGS`], so a key cannot exist in one place and not another.
//!
//! Values are validated when set (finite, in range, right type) and rejected
//! with a [`ParamError`] that leaves the parameters untouched. The chain
//! smooths every change, so any valid value may be applied live.

use crate::error::ParamError;

/// Loudness follower (slow AGC) parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgcParams {
    /// Whether the AGC moves the gain at all (off: unity gain).
    pub enabled: bool,
    /// Integrated loudness the chain output aims for.
    pub target_lufs: f32,
    /// Most the AGC may raise the level.
    pub max_boost_db: f32,
    /// Most the AGC may lower the level.
    pub max_cut_db: f32,
    /// Momentary loudness below which the AGC holds its gain (pauses, room tone).
    pub gate_lufs: f32,
    /// Time constant of the loudness estimate the AGC follows.
    pub window_s: f32,
    /// Fastest the AGC gain may move.
    pub max_rate_db_per_s: f32,
}

/// Detector of the compressor's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detector {
    /// Instantaneous peak across channels.
    Peak,
    /// Mean square across channels, smoothed over 10 ms.
    Rms,
}

impl Detector {
    /// The wire/profile name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Peak => "peak",
            Self::Rms => "rms",
        }
    }
}

/// Compressor parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompressorParams {
    /// Whether the compressor acts (switching crossfades).
    pub enabled: bool,
    /// Level where compression starts (centre of the knee).
    pub threshold_db: f32,
    /// Input dB over threshold per output dB over threshold.
    pub ratio: f32,
    /// Width of the soft knee.
    pub knee_db: f32,
    /// Time constant of gain reduction onset.
    pub attack_ms: f32,
    /// Time constant of gain reduction recovery.
    pub release_ms: f32,
    /// Level detector.
    pub detector: Detector,
    /// Gain after compression (the AGC still lands the output on target).
    pub makeup_db: f32,
}

/// Lookahead true-peak limiter parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimiterParams {
    /// Whether the limiter acts. Off is for measurement only: peaks pass.
    pub enabled: bool,
    /// Highest true peak the output may reach.
    pub ceiling_dbtp: f32,
    /// How long before a peak the gain starts to fall (attack ramp).
    pub lookahead_ms: f32,
    /// Time constant of gain recovery after a peak.
    pub release_ms: f32,
}

/// Every parameter of the chain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Loudness follower.
    pub agc: AgcParams,
    /// Compressor.
    pub compressor: CompressorParams,
    /// Limiter.
    pub limiter: LimiterParams,
    /// Dry, latency-matched output (crossfaded, bit-exact once faded).
    pub bypass: bool,
}

impl Default for Params {
    fn default() -> Self {
        let mut p = Params {
            agc: AgcParams {
                enabled: true,
                target_lufs: 0.0,
                max_boost_db: 0.0,
                max_cut_db: 0.0,
                gate_lufs: 0.0,
                window_s: 0.0,
                max_rate_db_per_s: 0.0,
            },
            compressor: CompressorParams {
                enabled: true,
                threshold_db: 0.0,
                ratio: 1.0,
                knee_db: 0.0,
                attack_ms: 0.0,
                release_ms: 0.0,
                detector: Detector::Peak,
                makeup_db: 0.0,
            },
            limiter: LimiterParams {
                enabled: true,
                ceiling_dbtp: 0.0,
                lookahead_ms: 0.0,
                release_ms: 0.0,
            },
            bypass: false,
        };
        for s in SETTINGS {
            // Defaults are in range by construction (checked by a test).
            let _ = (s.set)(&mut p, s.default);
        }
        p
    }
}

/// A setting's value, as it travels through profiles, the protocol and the CLI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// A switch.
    Bool(bool),
    /// A number in the setting's unit.
    Number(f64),
    /// One of the setting's named choices.
    Choice(&'a str),
}

/// The type of a setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// `true` / `false`.
    Bool,
    /// A number within `[min, max]`.
    Number {
        /// Smallest accepted value.
        min: f64,
        /// Largest accepted value.
        max: f64,
    },
    /// One of the listed names.
    Choice(&'static [&'static str]),
}

impl Kind {
    /// The protocol/doc name of the type.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::Number { .. } => "number",
            Self::Choice(_) => "choice",
        }
    }
}

/// One row of the settings table.
#[derive(Clone, Copy)]
pub struct Setting {
    /// Dotted key, e.g. `limiter.ceiling_dbtp`.
    pub key: &'static str,
    /// Type and range.
    pub kind: Kind,
    /// Unit for display (`dB`, `LUFS`, `ms`, …), empty for none.
    pub unit: &'static str,
    /// Value when nothing overrides it.
    pub default: Value<'static>,
    /// One-line description.
    pub description: &'static str,
    /// Reads the value from a parameter set.
    pub get: fn(&Params) -> Value<'static>,
    /// Writes an already validated value.
    set: fn(&mut Params, Value<'_>) -> Result<(), ParamError>,
}

impl core::fmt::Debug for Setting {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Setting").field("key", &self.key).finish()
    }
}

impl Setting {
    /// Checks `value` against this setting's type and range.
    ///
    /// # Errors
    /// [`ParamError::WrongType`], [`ParamError::NotFinite`] or
    /// [`ParamError::OutOfRange`].
    pub fn validate(&self, value: Value<'_>) -> Result<(), ParamError> {
        match (self.kind, value) {
            (Kind::Bool, Value::Bool(_)) => Ok(()),
            (Kind::Number { min, max }, Value::Number(x)) => {
                if !x.is_finite() {
                    Err(ParamError::NotFinite)
                } else if x < min || x > max {
                    Err(ParamError::OutOfRange)
                } else {
                    Ok(())
                }
            }
            (Kind::Choice(names), Value::Choice(s)) => {
                if names.contains(&s) {
                    Ok(())
                } else {
                    Err(ParamError::OutOfRange)
                }
            }
            _ => Err(ParamError::WrongType),
        }
    }

    /// Validates and writes `value` into `params`; on error nothing changes.
    ///
    /// # Errors
    /// As [`Setting::validate`].
    pub fn apply(&self, params: &mut Params, value: Value<'_>) -> Result<(), ParamError> {
        self.validate(value)?;
        (self.set)(params, value)
    }
}

/// Looks a setting up by its dotted key.
pub fn find(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// Validates and applies `key = value` to `params`; on error nothing changes.
///
/// # Errors
/// [`ParamError::UnknownKey`] or as [`Setting::validate`].
pub fn set(params: &mut Params, key: &str, value: Value<'_>) -> Result<(), ParamError> {
    find(key)
        .ok_or(ParamError::UnknownKey)?
        .apply(params, value)
}

impl Params {
    /// Checks every value (e.g. a struct built by hand by an embedding host).
    ///
    /// # Errors
    /// The first invalid value's error.
    pub fn validate(&self) -> Result<(), ParamError> {
        for s in SETTINGS {
            s.validate((s.get)(self))?;
        }
        Ok(())
    }
}

fn num(v: Value<'_>) -> Result<f32, ParamError> {
    match v {
        Value::Number(x) => Ok(x as f32),
        _ => Err(ParamError::WrongType),
    }
}

fn boolean(v: Value<'_>) -> Result<bool, ParamError> {
    match v {
        Value::Bool(b) => Ok(b),
        _ => Err(ParamError::WrongType),
    }
}

macro_rules! number {
    ($key:literal, $unit:literal, $min:expr, $max:expr, $default:expr, $desc:literal, $($field:ident).+) => {
        Setting {
            key: $key,
            kind: Kind::Number { min: $min, max: $max },
            unit: $unit,
            default: Value::Number($default),
            description: $desc,
            get: |p| Value::Number(p.$($field).+ as f64),
            set: |p, v| {
                p.$($field).+ = num(v)?;
                Ok(())
            },
        }
    };
}

macro_rules! switch {
    ($key:literal, $default:expr, $desc:literal, $($field:ident).+) => {
        Setting {
            key: $key,
            kind: Kind::Bool,
            unit: "",
            default: Value::Bool($default),
            description: $desc,
            get: |p| Value::Bool(p.$($field).+),
            set: |p, v| {
                p.$($field).+ = boolean(v)?;
                Ok(())
            },
        }
    };
}

/// Every DSP setting, in display order.
pub static SETTINGS: &[Setting] = &[
    switch!(
        "agc.enabled",
        true,
        "Follow the programme loudness toward the target",
        agc.enabled
    ),
    number!(
        "agc.target_lufs",
        "LUFS",
        -40.0,
        -6.0,
        -18.0,
        "Integrated loudness the output aims for",
        agc.target_lufs
    ),
    number!(
        "agc.max_boost_db",
        "dB",
        0.0,
        30.0,
        18.0,
        "Most the AGC may raise the level",
        agc.max_boost_db
    ),
    number!(
        "agc.max_cut_db",
        "dB",
        0.0,
        40.0,
        24.0,
        "Most the AGC may lower the level",
        agc.max_cut_db
    ),
    number!(
        "agc.gate_lufs",
        "LUFS",
        -80.0,
        -20.0,
        -50.0,
        "Below this momentary loudness the AGC holds its gain",
        agc.gate_lufs
    ),
    number!(
        "agc.window_s",
        "s",
        1.0,
        60.0,
        8.0,
        "Time constant of the loudness the AGC follows",
        agc.window_s
    ),
    number!(
        "agc.max_rate_db_per_s",
        "dB/s",
        0.1,
        20.0,
        3.0,
        "Fastest the AGC gain may move",
        agc.max_rate_db_per_s
    ),
    switch!(
        "compressor.enabled",
        true,
        "Even out short-term dynamics",
        compressor.enabled
    ),
    number!(
        "compressor.threshold_db",
        "dBFS",
        -60.0,
        0.0,
        -24.0,
        "Level where compression starts (knee centre)",
        compressor.threshold_db
    ),
    number!(
        "compressor.ratio",
        ":1",
        1.0,
        20.0,
        2.5,
        "Input dB over threshold per output dB",
        compressor.ratio
    ),
    number!(
        "compressor.knee_db",
        "dB",
        0.0,
        24.0,
        8.0,
        "Width of the soft knee",
        compressor.knee_db
    ),
    number!(
        "compressor.attack_ms",
        "ms",
        0.1,
        200.0,
        10.0,
        "Time constant of gain reduction onset",
        compressor.attack_ms
    ),
    number!(
        "compressor.release_ms",
        "ms",
        5.0,
        3000.0,
        200.0,
        "Time constant of gain reduction recovery",
        compressor.release_ms
    ),
    Setting {
        key: "compressor.detector",
        kind: Kind::Choice(&["peak", "rms"]),
        unit: "",
        default: Value::Choice("rms"),
        description: "Level detector: peak or 10 ms RMS",
        get: |p| Value::Choice(p.compressor.detector.name()),
        set: |p, v| {
            p.compressor.detector = match v {
                Value::Choice("peak") => Detector::Peak,
                Value::Choice("rms") => Detector::Rms,
                Value::Choice(_) => return Err(ParamError::OutOfRange),
                _ => return Err(ParamError::WrongType),
            };
            Ok(())
        },
    },
    number!(
        "compressor.makeup_db",
        "dB",
        0.0,
        24.0,
        0.0,
        "Gain after compression",
        compressor.makeup_db
    ),
    switch!(
        "limiter.enabled",
        true,
        "Hold true peaks at the ceiling",
        limiter.enabled
    ),
    number!(
        "limiter.ceiling_dbtp",
        "dBTP",
        -20.0,
        0.0,
        -1.0,
        "Highest true peak the output may reach",
        limiter.ceiling_dbtp
    ),
    number!(
        "limiter.lookahead_ms",
        "ms",
        0.25,
        1.5,
        1.5,
        "How long before a peak the gain starts to fall",
        limiter.lookahead_ms
    ),
    number!(
        "limiter.release_ms",
        "ms",
        1.0,
        2000.0,
        60.0,
        "Time constant of limiter recovery",
        limiter.release_ms
    ),
    switch!(
        "bypass",
        false,
        "Pass audio through untouched (latency-matched)",
        bypass
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_applied() {
        let p = Params::default();
        assert_eq!(p.validate(), Ok(()));
        for s in SETTINGS {
            assert_eq!(s.validate(s.default), Ok(()), "{}", s.key);
            assert_eq!((s.get)(&p), s.default, "{}", s.key);
        }
        assert_eq!(p.limiter.ceiling_dbtp, -1.0);
    }

    #[test]
    fn keys_are_unique_and_dotted_with_units() {
        for (i, a) in SETTINGS.iter().enumerate() {
            for b in &SETTINGS[i + 1..] {
                assert_ne!(a.key, b.key);
            }
        }
    }

    #[test]
    fn rejects_bad_values_without_changing_anything() {
        let mut p = Params::default();
        let before = p;
        assert_eq!(
            set(&mut p, "limiter.ceiling_dbtp", Value::Number(f64::NAN)),
            Err(ParamError::NotFinite)
        );
        assert_eq!(
            set(&mut p, "limiter.ceiling_dbtp", Value::Number(0.5)),
            Err(ParamError::OutOfRange)
        );
        assert_eq!(
            set(&mut p, "limiter.ceiling_dbtp", Value::Bool(true)),
            Err(ParamError::WrongType)
        );
        assert_eq!(
            set(&mut p, "compressor.detector", Value::Choice("loud")),
            Err(ParamError::OutOfRange)
        );
        assert_eq!(
            set(&mut p, "no.such", Value::Bool(true)),
            Err(ParamError::UnknownKey)
        );
        assert_eq!(p, before);
        assert_eq!(
            set(&mut p, "limiter.ceiling_dbtp", Value::Number(-2.0)),
            Ok(())
        );
        assert_eq!(p.limiter.ceiling_dbtp, -2.0);
        assert_eq!(
            set(&mut p, "compressor.detector", Value::Choice("peak")),
            Ok(())
        );
        assert_eq!(p.compressor.detector, Detector::Peak);
    }
}
