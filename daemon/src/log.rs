//! Levelled logging to stderr, journald-friendly.
//!
//! Under systemd (`JOURNAL_STREAM` set) each line starts with an sd-daemon
//! priority prefix (`<3>` error … `<7>` debug) so the journal records the
//! level; elsewhere lines read `headroomd: warning: …`. Never called from the
//! realtime thread.

use std::sync::atomic::{AtomicU8, Ordering};

/// Message severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Something failed.
    Error = 3,
    /// Something is off but handled.
    Warn = 4,
    /// Normal milestones.
    Info = 6,
    /// Detail for `--verbose`.
    Debug = 7,
}

static MAX_LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);
static JOURNAL: AtomicU8 = AtomicU8::new(0);

/// Sets the most verbose level printed and detects journald.
pub fn init(verbose: bool) {
    MAX_LEVEL.store(
        if verbose { Level::Debug } else { Level::Info } as u8,
        Ordering::Relaxed,
    );
    JOURNAL.store(
        std::env::var_os("JOURNAL_STREAM").is_some() as u8,
        Ordering::Relaxed,
    );
}

/// Whether `level` would be printed.
pub fn enabled(level: Level) -> bool {
    level as u8 <= MAX_LEVEL.load(Ordering::Relaxed)
}

#[doc(hidden)]
pub fn write(level: Level, args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if !enabled(level) {
        return;
    }
    let mut err = std::io::stderr().lock();
    let _ = if JOURNAL.load(Ordering::Relaxed) == 1 {
        writeln!(err, "<{}>{args}", level as u8)
    } else {
        let tag = match level {
            Level::Error => "error: ",
            Level::Warn => "warning: ",
            Level::Info => "",
            Level::Debug => "debug: ",
        };
        writeln!(err, "headroomd: {tag}{args}")
    };
}

/// Logs at error level.
#[macro_export]
macro_rules! error { ($($t:tt)*) => { $crate::log::write($crate::log::Level::Error, format_args!($($t)*)) } }
/// Logs at warning level.
#[macro_export]
macro_rules! warn { ($($t:tt)*) => { $crate::log::write($crate::log::Level::Warn, format_args!($($t)*)) } }
/// Logs at info level.
#[macro_export]
macro_rules! info { ($($t:tt)*) => { $crate::log::write($crate::log::Level::Info, format_args!($($t)*)) } }
/// Logs at debug level (`--verbose`).
#[macro_export]
macro_rules! debug { ($($t:tt)*) => { $crate::log::write($crate::log::Level::Debug, format_args!($($t)*)) } }
