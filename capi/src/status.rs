//! The status codes of `include/headroom.h` and what dsp-core's typed
//! errors map to. The numbers are ABI: never renumber, only add.

use core::ffi::{c_char, CStr};
use dsp_core::dsp::chain::Error;
use dsp_core::error::{ConfigError, ParamError};

/// `headroom_status`.
pub type Status = i32;

/// Success.
pub const OK: Status = 0;
/// A required pointer was null.
pub const ERR_NULL: Status = 1;
/// Unsupported sample rate.
pub const ERR_SAMPLE_RATE: Status = 2;
/// Unsupported channel count.
pub const ERR_CHANNELS: Status = 3;
/// No such setting.
pub const ERR_UNKNOWN_KEY: Status = 4;
/// The setting has another type.
pub const ERR_WRONG_TYPE: Status = 5;
/// NaN or infinite.
pub const ERR_NOT_FINITE: Status = 6;
/// Outside the range or not a choice.
pub const ERR_OUT_OF_RANGE: Status = 7;
/// A string is not UTF-8.
pub const ERR_NOT_UTF8: Status = 8;
/// Values contradict each other.
pub const ERR_INCONSISTENT: Status = 9;

/// Every status with its header name and message, in number order.
pub const ALL: [(Status, &str, &CStr); 10] = [
    (OK, "HEADROOM_OK", c"ok"),
    (
        ERR_NULL,
        "HEADROOM_ERR_NULL",
        c"a required pointer was NULL",
    ),
    (
        ERR_SAMPLE_RATE,
        "HEADROOM_ERR_SAMPLE_RATE",
        c"unsupported sample rate (supported: 44100, 48000, 88200, 96000, 192000 Hz)",
    ),
    (
        ERR_CHANNELS,
        "HEADROOM_ERR_CHANNELS",
        c"unsupported channel count (supported: 1 to 8)",
    ),
    (
        ERR_UNKNOWN_KEY,
        "HEADROOM_ERR_UNKNOWN_KEY",
        c"unknown setting key",
    ),
    (
        ERR_WRONG_TYPE,
        "HEADROOM_ERR_WRONG_TYPE",
        c"the setting has another type (number, switch or choice)",
    ),
    (
        ERR_NOT_FINITE,
        "HEADROOM_ERR_NOT_FINITE",
        c"value is not finite",
    ),
    (
        ERR_OUT_OF_RANGE,
        "HEADROOM_ERR_OUT_OF_RANGE",
        c"value is out of range or not one of the choices",
    ),
    (
        ERR_NOT_UTF8,
        "HEADROOM_ERR_NOT_UTF8",
        c"string is not valid UTF-8",
    ),
    (
        ERR_INCONSISTENT,
        "HEADROOM_ERR_INCONSISTENT",
        c"values contradict each other",
    ),
];

/// The status for a parameter error.
pub fn from_param(e: ParamError) -> Status {
    match e {
        ParamError::NotFinite => ERR_NOT_FINITE,
        ParamError::OutOfRange => ERR_OUT_OF_RANGE,
        ParamError::WrongType => ERR_WRONG_TYPE,
        ParamError::UnknownKey => ERR_UNKNOWN_KEY,
        ParamError::Inconsistent => ERR_INCONSISTENT,
    }
}

/// The status for a construction error.
pub fn from_chain(e: Error) -> Status {
    match e {
        Error::Config(ConfigError::UnsupportedSampleRate(_)) => ERR_SAMPLE_RATE,
        Error::Config(ConfigError::UnsupportedChannelCount(_) | ConfigError::LayoutMismatch) => {
            ERR_CHANNELS
        }
        Error::Param(p) => from_param(p),
    }
}

/// `headroom_status_message`.
#[no_mangle]
pub extern "C" fn headroom_status_message(status: Status) -> *const c_char {
    ALL.iter()
        .find(|(s, _, _)| *s == status)
        .map_or(c"unknown status", |(_, _, m)| *m)
        .as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header and this table agree, name for name and number for number.
    #[test]
    fn header_defines_every_status_with_its_number() {
        let header = include_str!("../include/headroom.h");
        for (i, (status, name, _)) in ALL.iter().enumerate() {
            assert_eq!(*status, i as Status);
            let line = format!("#define {name} {status}\n");
            assert!(header.contains(&line), "headroom.h lacks `{}`", line.trim());
        }
        let defined = header.matches("#define HEADROOM_ERR_").count() + 1;
        assert_eq!(
            defined,
            ALL.len(),
            "headroom.h has statuses this table lacks"
        );
    }
}
