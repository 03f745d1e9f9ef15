//! Typed, `Copy` errors for every fallible operation in the core.
//!
//! No strings: hosts map these to their own messages (the daemon to protocol
//! error codes, the CLI to `headroom: <cause>`). `Display` gives a short
//! English description for hosts that just want text.

use core::fmt;

/// Why a block or chain could not be constructed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// The sample rate is not one of [`crate::SUPPORTED_RATES_HZ`].
    UnsupportedSampleRate(u32),
    /// Zero channels, or more than the block's capacity.
    UnsupportedChannelCount(usize),
    /// The channel layout's length does not match the channel count.
    LayoutMismatch,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedSampleRate(hz) => write!(
                f,
                "unsupported sample rate {hz} Hz (supported: 44100, 48000, 88200, 96000, 192000)"
            ),
            Self::UnsupportedChannelCount(n) => {
                write!(f, "unsupported channel count {n} (supported: 1 to 8)")
            }
            Self::LayoutMismatch => {
                f.write_str("channel layout length does not match channel count")
            }
        }
    }
}

/// Why a parameter value was rejected. Nothing is changed when this is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamError {
    /// NaN or infinity.
    NotFinite,
    /// Outside the parameter's documented range.
    OutOfRange,
    /// The value has the wrong type for the key (e.g. a number for a switch).
    WrongType,
    /// No parameter has this key.
    UnknownKey,
    /// The values are individually valid but contradict each other
    /// (e.g. a release shorter than zero after conversion).
    Inconsistent,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotFinite => "value is not finite",
            Self::OutOfRange => "value is out of range",
            Self::WrongType => "value has the wrong type",
            Self::UnknownKey => "unknown setting key",
            Self::Inconsistent => "values contradict each other",
        })
    }
}
