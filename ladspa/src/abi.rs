//! The LADSPA 1.1 C ABI (`ladspa.h`, the Linux Audio Developer's Simple
//! Plugin API), written out from the specification: the descriptor a host
//! gets from `ladspa_descriptor`, and the bit flags its fields use.
//!
//! Contract: the layouts are `repr(C)` and match the header field for field
//! (`unsigned long` is `c_ulong`, `int` is `c_int`, `LADSPA_Data` is `f32`).

use core::ffi::{c_char, c_int, c_ulong, c_void};

/// `LADSPA_Data`: every audio sample and control value.
pub type Data = f32;
/// `LADSPA_Handle`: one plugin instance, opaque to the host.
pub type Handle = *mut c_void;

/// Port is an input.
pub const PORT_INPUT: c_int = 0x1;
/// Port is an output.
pub const PORT_OUTPUT: c_int = 0x2;
/// Port carries one control value per `run`.
pub const PORT_CONTROL: c_int = 0x4;
/// Port carries one sample per frame.
pub const PORT_AUDIO: c_int = 0x8;

/// `LowerBound` is meaningful.
pub const HINT_BOUNDED_BELOW: c_int = 0x1;
/// `UpperBound` is meaningful.
pub const HINT_BOUNDED_ABOVE: c_int = 0x2;
/// A switch: > 0 is on.
pub const HINT_TOGGLED: c_int = 0x4;
/// Bounds and defaults move on a log scale.
pub const HINT_LOGARITHMIC: c_int = 0x10;
/// Whole numbers only.
pub const HINT_INTEGER: c_int = 0x20;
/// The default is the lower bound.
pub const HINT_DEFAULT_MINIMUM: c_int = 0x40;
/// The default is ¾ of the way to the lower bound (log or linear).
pub const HINT_DEFAULT_LOW: c_int = 0x80;
/// The default is the middle of the bounds (log or linear).
pub const HINT_DEFAULT_MIDDLE: c_int = 0xC0;
/// The default is ¾ of the way to the upper bound (log or linear).
pub const HINT_DEFAULT_HIGH: c_int = 0x100;
/// The default is the upper bound.
pub const HINT_DEFAULT_MAXIMUM: c_int = 0x140;
/// The default is 0.
pub const HINT_DEFAULT_0: c_int = 0x200;
/// The default is 1.
pub const HINT_DEFAULT_1: c_int = 0x240;
/// The default is 100.
pub const HINT_DEFAULT_100: c_int = 0x280;
/// The default is 440.
pub const HINT_DEFAULT_440: c_int = 0x2C0;
/// Bits of a hint that select the default.
pub const HINT_DEFAULT_MASK: c_int = 0x3C0;

/// `LADSPA_PortRangeHint`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PortRangeHint {
    /// `LADSPA_HINT_*` bits.
    pub hint_descriptor: c_int,
    /// Lower bound, when `HINT_BOUNDED_BELOW`.
    pub lower_bound: Data,
    /// Upper bound, when `HINT_BOUNDED_ABOVE`.
    pub upper_bound: Data,
}

/// `LADSPA_Descriptor`: what a plugin is and the entry points to run it.
#[repr(C)]
pub struct Descriptor {
    /// Unique plugin ID.
    pub unique_id: c_ulong,
    /// Short name hosts select the plugin by.
    pub label: *const c_char,
    /// `LADSPA_PROPERTY_*` bits.
    pub properties: c_int,
    /// Name for display.
    pub name: *const c_char,
    /// Who made it.
    pub maker: *const c_char,
    /// Licence.
    pub copyright: *const c_char,
    /// Number of ports.
    pub port_count: c_ulong,
    /// `port_count` `LADSPA_PORT_*` combinations.
    pub port_descriptors: *const c_int,
    /// `port_count` names.
    pub port_names: *const *const c_char,
    /// `port_count` range hints.
    pub port_range_hints: *const PortRangeHint,
    /// Unused by this plugin.
    pub implementation_data: *mut c_void,
    /// Makes an instance for a sample rate, or returns null.
    pub instantiate: Option<unsafe extern "C" fn(*const Descriptor, c_ulong) -> Handle>,
    /// Points a port at the host's memory.
    pub connect_port: Option<unsafe extern "C" fn(Handle, c_ulong, *mut Data)>,
    /// Resets state before the first `run` after (re)activation.
    pub activate: Option<unsafe extern "C" fn(Handle)>,
    /// Processes a number of frames.
    pub run: Option<unsafe extern "C" fn(Handle, c_ulong)>,
    /// Processes and adds into the outputs (not provided).
    pub run_adding: Option<unsafe extern "C" fn(Handle, c_ulong)>,
    /// Gain for `run_adding` (not provided).
    pub set_run_adding_gain: Option<unsafe extern "C" fn(Handle, Data)>,
    /// Counterpart of `activate`.
    pub deactivate: Option<unsafe extern "C" fn(Handle)>,
    /// Frees an instance.
    pub cleanup: Option<unsafe extern "C" fn(Handle)>,
}
