//! The plugin's ports, made from dsp-core's settings table: every setting
//! the daemon and the CLI know is a control input under the same dotted key
//! (`limiter.ceiling_dbtp`, ...), so a profile, a `render --set` and a
//! LADSPA host's control all say the same thing.
//!
//! Contract:
//! * Port order is fixed: `C` audio inputs, `C` audio outputs, one control
//!   input per [`SETTINGS`] row in table order, then the [`Meter`] outputs.
//! * Each port's hint makes a LADSPA host's computed default equal the
//!   core's default. LADSPA can only say "min", "low", "middle", "high",
//!   "max", 0, 1, 100 or 440, so where the default is none of those the
//!   *hinted* range is narrowed until one of them lands on it
//!   ([`number_hint`]). The hinted range only guides a host's slider: the
//!   plugin accepts the core's whole range ([`to_value`]).
//! * A control value out of range is clamped into it; a NaN or infinite
//!   one is ignored (the last good value stays). LADSPA has no way to
//!   report an error from `run`, and the audio must go on.

use crate::abi::{self, PortRangeHint};
use core::ffi::c_int;
use dsp_core::params::{Kind, Setting, Value, SETTINGS};

/// Most ports any descriptor has; instances keep this many port pointers.
pub const MAX_PORTS: usize = 64;

/// The control outputs, after the settings. Values are refreshed every
/// [`METER_PERIOD_MS`] of audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meter {
    /// Frames from input to output (the LADSPA convention hosts read to
    /// compensate delay).
    LatencyFrames,
    /// AGC gain now, dB.
    AgcGainDb,
    /// Deepest compressor reduction in the last period, dB (≤ 0).
    CompressorReductionDb,
    /// Deepest limiter reduction in the last period, dB (≤ 0).
    LimiterReductionDb,
    /// Input momentary loudness (400 ms), LUFS; [`FLOOR_DB`] for silence.
    InputMomentaryLufs,
}

/// Meter outputs in port order.
pub const METERS: [Meter; 5] = [
    Meter::LatencyFrames,
    Meter::AgcGainDb,
    Meter::CompressorReductionDb,
    Meter::LimiterReductionDb,
    Meter::InputMomentaryLufs,
];

/// How often the meter outputs are refreshed.
pub const METER_PERIOD_MS: u32 = 50;

/// What a meter output shows instead of −∞ (hosts draw −∞ badly).
pub const FLOOR_DB: f32 = -120.0;

impl Meter {
    /// Port name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::LatencyFrames => "latency",
            Self::AgcGainDb => "agc.gain_db",
            Self::CompressorReductionDb => "compressor.reduction_db",
            Self::LimiterReductionDb => "limiter.reduction_db",
            Self::InputMomentaryLufs => "input.momentary_lufs",
        }
    }

    fn hint(self) -> PortRangeHint {
        let (lower_bound, upper_bound) = match self {
            Self::LatencyFrames => (0.0, 512.0),
            Self::AgcGainDb => (-40.0, 30.0),
            Self::CompressorReductionDb | Self::LimiterReductionDb => (-60.0, 0.0),
            Self::InputMomentaryLufs => (FLOOR_DB, 20.0),
        };
        PortRangeHint {
            hint_descriptor: abi::HINT_BOUNDED_BELOW
                | abi::HINT_BOUNDED_ABOVE
                | if self == Self::LatencyFrames {
                    abi::HINT_INTEGER
                } else {
                    0
                },
            lower_bound,
            upper_bound,
        }
    }
}

/// What a port is for.
#[derive(Debug, Clone, Copy)]
pub enum Role {
    /// Audio input of channel `n`.
    AudioIn(usize),
    /// Audio output of channel `n`.
    AudioOut(usize),
    /// Control input for a setting.
    Setting(&'static Setting),
    /// Control output.
    Meter(Meter),
}

/// One port as a descriptor lists it.
#[derive(Debug, Clone)]
pub struct Port {
    /// Name hosts show and filter-chain configurations refer to.
    pub name: String,
    /// `LADSPA_PORT_*` bits.
    pub descriptor: c_int,
    /// Range and default.
    pub hint: PortRangeHint,
    /// What it is for.
    pub role: Role,
}

/// Audio port names for `channels` channels (1 or 2).
fn audio_name(dir: &str, channel: usize, channels: usize) -> String {
    match channels {
        1 => dir.to_owned(),
        2 => format!("{dir}.{}", ["left", "right"][channel]),
        _ => format!("{dir}.{}", channel + 1),
    }
}

/// The ports of the descriptor for `channels` channels, in port order.
pub fn ports(channels: usize) -> Vec<Port> {
    let none = PortRangeHint {
        hint_descriptor: 0,
        lower_bound: 0.0,
        upper_bound: 0.0,
    };
    let mut out = Vec::new();
    for (dir, bits) in [("in", abi::PORT_INPUT), ("out", abi::PORT_OUTPUT)] {
        for c in 0..channels {
            out.push(Port {
                name: audio_name(dir, c, channels),
                descriptor: bits | abi::PORT_AUDIO,
                hint: none,
                role: if dir == "in" {
                    Role::AudioIn(c)
                } else {
                    Role::AudioOut(c)
                },
            });
        }
    }
    for s in SETTINGS {
        out.push(Port {
            name: s.key.to_owned(),
            descriptor: abi::PORT_INPUT | abi::PORT_CONTROL,
            hint: setting_hint(s),
            role: Role::Setting(s),
        });
    }
    for m in METERS {
        out.push(Port {
            name: m.name().to_owned(),
            descriptor: abi::PORT_OUTPUT | abi::PORT_CONTROL,
            hint: m.hint(),
            role: Role::Meter(m),
        });
    }
    out
}

/// The control value that stands for a setting's value.
pub fn to_port(s: &Setting, v: Value<'_>) -> f32 {
    match (s.kind, v) {
        (_, Value::Bool(b)) => f32::from(u8::from(b)),
        (_, Value::Number(x)) => x as f32,
        (Kind::Choice(names), Value::Choice(c)) => {
            names.iter().position(|n| *n == c).unwrap_or(0) as f32
        }
        (_, Value::Choice(_)) => 0.0,
    }
}

/// The setting value a control value asks for: clamped into the core's
/// range, rounded for choices; `None` for NaN or ±∞.
pub fn to_value(s: &Setting, x: f32) -> Option<Value<'static>> {
    if !x.is_finite() {
        return None;
    }
    Some(match s.kind {
        Kind::Bool => Value::Bool(x > 0.0),
        Kind::Number { min, max } => Value::Number(f64::from(x).clamp(min, max)),
        Kind::Choice(names) => {
            let last = names.len().saturating_sub(1);
            Value::Choice(names[(x.round().max(0.0) as usize).min(last)])
        }
    })
}

fn setting_hint(s: &Setting) -> PortRangeHint {
    let both = abi::HINT_BOUNDED_BELOW | abi::HINT_BOUNDED_ABOVE;
    let default = to_port(s, s.default);
    match s.kind {
        Kind::Bool => PortRangeHint {
            hint_descriptor: abi::HINT_TOGGLED
                | if default > 0.0 {
                    abi::HINT_DEFAULT_1
                } else {
                    abi::HINT_DEFAULT_0
                },
            lower_bound: 0.0,
            upper_bound: 1.0,
        },
        Kind::Choice(names) => PortRangeHint {
            hint_descriptor: both
                | abi::HINT_INTEGER
                | if default == 0.0 {
                    abi::HINT_DEFAULT_MINIMUM
                } else if default as usize == names.len() - 1 {
                    abi::HINT_DEFAULT_MAXIMUM
                } else {
                    abi::HINT_DEFAULT_1
                },
            lower_bound: 0.0,
            upper_bound: (names.len() - 1) as f32,
        },
        Kind::Number { min, max } => {
            let (flags, lo, hi) = number_hint(min, max, f64::from(default));
            PortRangeHint {
                hint_descriptor: both | flags,
                lower_bound: lo as f32,
                upper_bound: hi as f32,
            }
        }
    }
}

/// Hint bits and hinted range `[lo, hi]` ⊆ `[min, max]` whose LADSPA
/// default is `default`: the whole range when a bound or a constant
/// default says it; otherwise the widest range, linear or logarithmic,
/// whose low, middle or high point is `default`, keeping one of the core's
/// bounds.
pub fn number_hint(min: f64, max: f64, default: f64) -> (c_int, f64, f64) {
    if default == min {
        return (abi::HINT_DEFAULT_MINIMUM, min, max);
    }
    if default == max {
        return (abi::HINT_DEFAULT_MAXIMUM, min, max);
    }
    for (value, bits) in [
        (0.0, abi::HINT_DEFAULT_0),
        (1.0, abi::HINT_DEFAULT_1),
        (100.0, abi::HINT_DEFAULT_100),
        (440.0, abi::HINT_DEFAULT_440),
    ] {
        if default == value {
            return (bits, min, max);
        }
    }
    // (bits, weight of the lower bound) as the specification defines them.
    const POINTS: [(c_int, f64); 3] = [
        (abi::HINT_DEFAULT_LOW, 0.75),
        (abi::HINT_DEFAULT_MIDDLE, 0.5),
        (abi::HINT_DEFAULT_HIGH, 0.25),
    ];
    let mut best = (abi::HINT_DEFAULT_MIDDLE, min, max, f64::NEG_INFINITY);
    for log in [false, true] {
        if log && min <= 0.0 {
            continue;
        }
        type Map = fn(f64) -> f64;
        let (to, from): (Map, Map) = if log {
            (f64::ln, f64::exp)
        } else {
            (|x| x, |x| x)
        };
        let (l, u, d) = (to(min), to(max), to(default));
        for (bits, w) in POINTS {
            // d = w·lo + (1 − w)·hi with one bound kept.
            let keep_lower = (min, from((d - w * l) / (1.0 - w)));
            let keep_upper = (from((d - (1.0 - w) * u) / w), max);
            for (lo, hi) in [keep_lower, keep_upper] {
                if lo >= min && hi <= max && lo < default && default < hi && hi - lo > best.3 {
                    let flags = bits | if log { abi::HINT_LOGARITHMIC } else { 0 };
                    best = (flags, lo, hi, hi - lo);
                }
            }
        }
    }
    (best.0, best.1, best.2)
}

/// The default a LADSPA host computes from a hint, as the specification
/// says (for tests and documentation).
pub fn host_default(h: &PortRangeHint) -> Option<f32> {
    let (lo, hi) = (h.lower_bound, h.upper_bound);
    let log = h.hint_descriptor & abi::HINT_LOGARITHMIC != 0;
    let between = |w: f32| {
        if log {
            (lo.ln() * w + hi.ln() * (1.0 - w)).exp()
        } else {
            lo * w + hi * (1.0 - w)
        }
    };
    Some(match h.hint_descriptor & abi::HINT_DEFAULT_MASK {
        abi::HINT_DEFAULT_MINIMUM => lo,
        abi::HINT_DEFAULT_LOW => between(0.75),
        abi::HINT_DEFAULT_MIDDLE => between(0.5),
        abi::HINT_DEFAULT_HIGH => between(0.25),
        abi::HINT_DEFAULT_MAXIMUM => hi,
        abi::HINT_DEFAULT_0 => 0.0,
        abi::HINT_DEFAULT_1 => 1.0,
        abi::HINT_DEFAULT_100 => 100.0,
        abi::HINT_DEFAULT_440 => 440.0,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_host_default_is_the_core_default() {
        for channels in [1, 2] {
            for p in ports(channels) {
                let Role::Setting(s) = p.role else { continue };
                let want = to_port(s, s.default);
                let got = host_default(&p.hint).expect(s.key);
                assert!(
                    (got - want).abs() <= 1e-4 * want.abs().max(1.0),
                    "{}: host default {got}, core default {want} (hint {:?})",
                    s.key,
                    p.hint
                );
                if let Kind::Number { min, max } = s.kind {
                    assert!(f64::from(p.hint.lower_bound) >= min - 1e-6, "{}", s.key);
                    assert!(f64::from(p.hint.upper_bound) <= max + 1e-6, "{}", s.key);
                    assert!(p.hint.lower_bound < p.hint.upper_bound, "{}", s.key);
                    eprintln!(
                        "{:26} core [{min}, {max}] hinted [{}, {}] default {want}",
                        s.key, p.hint.lower_bound, p.hint.upper_bound
                    );
                }
                if !matches!(s.kind, Kind::Number { .. }) {
                    assert_eq!(to_value(s, got), Some(s.default), "{}", s.key);
                }
            }
        }
    }

    #[test]
    fn port_order_and_names() {
        let p = ports(2);
        assert_eq!(p.len(), 4 + SETTINGS.len() + METERS.len());
        assert!(p.len() <= MAX_PORTS);
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            &names[..4],
            ["in.left", "in.right", "out.left", "out.right"]
        );
        assert_eq!(names[4], SETTINGS[0].key);
        assert_eq!(names[p.len() - METERS.len()], "latency");
        let mono: Vec<String> = ports(1).into_iter().take(2).map(|p| p.name).collect();
        assert_eq!(mono, ["in", "out"]);
    }

    #[test]
    fn bad_control_values_are_clamped_or_ignored() {
        let ceiling = dsp_core::params::find("limiter.ceiling_dbtp").unwrap();
        assert_eq!(to_value(ceiling, 3.0), Some(Value::Number(0.0)));
        assert_eq!(to_value(ceiling, -99.0), Some(Value::Number(-20.0)));
        assert_eq!(to_value(ceiling, f32::NAN), None);
        assert_eq!(to_value(ceiling, f32::INFINITY), None);
        let detector = dsp_core::params::find("compressor.detector").unwrap();
        assert_eq!(to_value(detector, 0.4), Some(Value::Choice("peak")));
        assert_eq!(to_value(detector, 7.0), Some(Value::Choice("rms")));
        assert_eq!(to_value(detector, -3.0), Some(Value::Choice("peak")));
        let agc = dsp_core::params::find("agc.enabled").unwrap();
        assert_eq!(to_value(agc, 0.0), Some(Value::Bool(false)));
        assert_eq!(to_value(agc, 0.5), Some(Value::Bool(true)));
    }
}
