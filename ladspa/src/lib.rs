//! # headroom-ladspa
//!
//! Headroom's leveling chain — ITU-R BS.1770-4 meter → slow AGC →
//! compressor → lookahead true-peak limiter, the same dsp-core code the
//! daemon runs — as a LADSPA 1.1 plugin, so any LADSPA host (PipeWire's
//! filter-chain, sox, Ardour, `applyplugin`, ...) can level audio with it.
//!
//! Two plugins, selected by label:
//!
//! | index | label | ID | channels |
//! |---|---|---|---|
//! | 0 | `headroom_mono` | 7210001 | 1 |
//! | 1 | `headroom_stereo` | 7210002 | 2 |
//!
//! (The IDs are not registered with ladspa.org; select by label.)
//!
//! Contract: ports as [`ports`] lays them out; an instance as [`instance`]
//! describes. A rate the chain does not support (44.1, 48, 88.2, 96 and
//! 192 kHz are) makes `instantiate` return null. No entry point unwinds:
//! the chain never panics, and a panic anywhere else aborts the host
//! rather than cross the C boundary.

pub mod abi;
pub mod instance;
pub mod ports;

use abi::{Data, Descriptor, Handle, PortRangeHint};
use core::ffi::{c_char, c_int, c_ulong, c_void};
use instance::Instance;
use std::ffi::CString;
use std::sync::OnceLock;

/// Labels of the plugins, in descriptor order.
pub const LABELS: [&str; 2] = ["headroom_mono", "headroom_stereo"];
/// Unique IDs of the plugins, in descriptor order.
pub const UNIQUE_IDS: [c_ulong; 2] = [7_210_001, 7_210_002];

/// A descriptor with the memory its pointers point into.
struct Table {
    descriptor: Descriptor,
    _strings: Vec<CString>,
    _name_ptrs: Vec<*const c_char>,
    _port_descriptors: Vec<c_int>,
    _hints: Vec<PortRangeHint>,
}

// SAFETY: a `Table` is built once, never changed afterwards, and its raw
// pointers point only into its own heap memory, which lives as long as the
// `OnceLock` holding it (the program).
unsafe impl Sync for Table {}
unsafe impl Send for Table {}

fn c_string(s: &str) -> CString {
    CString::new(s).expect("names have no NUL")
}

fn table<const C: usize>(index: usize) -> Table {
    let ports = ports::ports(C);
    let names: Vec<CString> = ports.iter().map(|p| c_string(&p.name)).collect();
    let name_ptrs: Vec<*const c_char> = names.iter().map(|s| s.as_ptr()).collect();
    let port_descriptors: Vec<c_int> = ports.iter().map(|p| p.descriptor).collect();
    let hints: Vec<PortRangeHint> = ports.iter().map(|p| p.hint).collect();
    let label = c_string(LABELS[index]);
    let name = c_string(&format!(
        "Headroom leveler ({})",
        if C == 1 { "mono" } else { "stereo" }
    ));
    let maker = c_string("Headroom developers");
    let copyright = c_string("MIT OR Apache-2.0");
    let descriptor = Descriptor {
        unique_id: UNIQUE_IDS[index],
        label: label.as_ptr(),
        properties: 0,
        name: name.as_ptr(),
        maker: maker.as_ptr(),
        copyright: copyright.as_ptr(),
        port_count: ports.len() as c_ulong,
        port_descriptors: port_descriptors.as_ptr(),
        port_names: name_ptrs.as_ptr(),
        port_range_hints: hints.as_ptr(),
        implementation_data: core::ptr::null_mut(),
        instantiate: Some(instantiate::<C>),
        connect_port: Some(connect_port::<C>),
        activate: Some(activate::<C>),
        run: Some(run::<C>),
        run_adding: None,
        set_run_adding_gain: None,
        deactivate: None,
        cleanup: Some(cleanup::<C>),
    };
    let mut strings = names;
    strings.extend([label, name, maker, copyright]);
    Table {
        descriptor,
        _strings: strings,
        _name_ptrs: name_ptrs,
        _port_descriptors: port_descriptors,
        _hints: hints,
    }
}

fn tables() -> &'static [Table; 2] {
    static TABLES: OnceLock<[Table; 2]> = OnceLock::new();
    TABLES.get_or_init(|| [table::<1>(0), table::<2>(1)])
}

/// The LADSPA entry point: descriptor `index`, or null past the last.
#[no_mangle]
pub extern "C" fn ladspa_descriptor(index: c_ulong) -> *const Descriptor {
    match tables().get(index as usize) {
        Some(t) => &t.descriptor,
        None => core::ptr::null(),
    }
}

unsafe extern "C" fn instantiate<const C: usize>(
    _descriptor: *const Descriptor,
    sample_rate_hz: c_ulong,
) -> Handle {
    let Ok(rate) = u32::try_from(sample_rate_hz) else {
        return core::ptr::null_mut();
    };
    match Instance::<C>::new(rate) {
        Some(instance) => Box::into_raw(instance).cast::<c_void>(),
        None => core::ptr::null_mut(),
    }
}

/// The instance behind a handle.
///
/// # Safety
/// `handle` is null or came from `instantiate::<C>` and was not cleaned up.
unsafe fn instance<'a, const C: usize>(handle: Handle) -> Option<&'a mut Instance<C>> {
    // SAFETY: per this function's contract.
    unsafe { handle.cast::<Instance<C>>().as_mut() }
}

unsafe extern "C" fn connect_port<const C: usize>(handle: Handle, port: c_ulong, data: *mut Data) {
    // SAFETY: the host passes a handle it got from `instantiate`.
    if let Some(i) = unsafe { instance::<C>(handle) } {
        i.connect(port as usize, data);
    }
}

unsafe extern "C" fn activate<const C: usize>(handle: Handle) {
    // SAFETY: as in `connect_port`.
    if let Some(i) = unsafe { instance::<C>(handle) } {
        i.activate();
    }
}

unsafe extern "C" fn run<const C: usize>(handle: Handle, frames: c_ulong) {
    // SAFETY: as in `connect_port`; the host connected every port to
    // memory for `frames` frames, as LADSPA requires before `run`.
    if let Some(i) = unsafe { instance::<C>(handle) } {
        unsafe { i.run(frames as usize) };
    }
}

unsafe extern "C" fn cleanup<const C: usize>(handle: Handle) {
    if !handle.is_null() {
        // SAFETY: the handle came from `Box::into_raw` in `instantiate` and
        // the host calls `cleanup` once, last.
        drop(unsafe { Box::from_raw(handle.cast::<Instance<C>>()) });
    }
}
