//! The PipeWire client configuration `headroomd` connects with: which
//! modules its context loads, so that the realtime process callback gets a
//! realtime thread and no unused module sits in memory.
//!
//! Contract, by the libpipewire found at run time:
//! * **Always**: the context properties `module.client-device = false` and
//!   `module.session-manager = false`. PipeWire 1.x's stock `client.conf`
//!   loads those two modules only when such a property is not false; the
//!   daemon uses neither, and mapped code is resident (the session-manager
//!   module was 300 KiB of the daemon's RSS). 0.3.x ignores the properties.
//! * **`PIPEWIRE_CONFIG_NAME` set**: PipeWire reads that file, as it does for
//!   any client; nothing else here applies (the escape hatch for a site with
//!   its own client configuration).
//! * **PipeWire 1.x**: its stock `client.conf`, with the user's drop-ins.
//!   It loads `libpipewire-module-rt` first, so the data thread is realtime.
//! * **PipeWire 0.3.x**: Debian 12's `client.conf` (0.3.65) has no
//!   `module-rt`, and without it the data thread, which runs the process
//!   callback, ran at `SCHED_OTHER`, nice 0, beside every other process. The
//!   daemon passes its own configuration instead ([`OWN_CONFIG`]: `module-rt`,
//!   then the four modules a stream client needs), from a sealed memory file
//!   named by its `/proc/self/fd` path (0.3.x takes any absolute path; 1.x
//!   insists on a name ending in `.conf`, which is why 1.x does not get it).
//!   If that fails, `client-rt.conf`, the stock file with `module-rt`.
//! * `module-rt` makes the data thread `SCHED_FIFO` directly when the process
//!   may (root, or an `RLIMIT_RTPRIO` from `/etc/security/limits.d`), else
//!   through RealtimeKit on the system bus; if neither works it logs a
//!   warning and audio still flows at normal priority.

use pipewire as pw;
use std::ffi::CStr;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};

/// The configuration headroomd loads on PipeWire 0.3.x: `client-rt.conf`
/// without the client-device and session-manager modules.
pub const OWN_CONFIG: &str = "\
context.spa-libs = {
    audio.convert.* = audioconvert/libspa-audioconvert
    support.*       = support/libspa-support
}
context.modules = [
    { name = libpipewire-module-rt flags = [ ifexists nofail ] }
    { name = libpipewire-module-protocol-native }
    { name = libpipewire-module-client-node }
    { name = libpipewire-module-adapter }
    { name = libpipewire-module-metadata }
]
";

/// Stock 0.3.x configuration with `module-rt`, when [`OWN_CONFIG`] cannot be
/// passed.
pub const STOCK_RT_CONFIG: &str = "client-rt.conf";

/// Which configuration a context was created with, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// `PIPEWIRE_CONFIG_NAME` named one.
    User,
    /// The library's `client.conf` (PipeWire 1.x).
    Stock,
    /// [`OWN_CONFIG`].
    Own,
    /// [`STOCK_RT_CONFIG`].
    StockRt,
}

/// Properties for `pw_context_new`, and the file they name (keep it open
/// until the context exists: PipeWire reads it while creating the context).
pub struct ContextConfig {
    /// What was chosen.
    pub choice: Choice,
    /// The properties to create the context with.
    pub props: pw::properties::PropertiesBox,
    _file: Option<OwnedFd>,
}

/// The major version of the libpipewire this process runs against (not the
/// one it was built against).
pub fn library_major() -> Option<u32> {
    // SAFETY: PipeWire returns a pointer to a static NUL-terminated string.
    let v = unsafe { CStr::from_ptr(pw::sys::pw_get_library_version()) };
    parse_major(v.to_str().ok()?)
}

fn parse_major(version: &str) -> Option<u32> {
    version.split('.').next()?.trim().parse().ok()
}

/// The configuration to try first.
pub fn preferred() -> ContextConfig {
    let user_named_one = std::env::var_os("PIPEWIRE_CONFIG_NAME").is_some();
    match choose(user_named_one, library_major()) {
        Choice::Own => match own_config_file() {
            Ok((path, fd)) => with(Choice::Own, Some(&path), Some(fd)),
            Err(_) => fallback(),
        },
        other => with(other, None, None),
    }
}

/// The rule behind [`preferred`]: the user's file if they named one, else
/// [`OWN_CONFIG`] on 0.3.x only. An unreadable version counts as 1.x, whose
/// stock file is the safe choice there.
fn choose(user_named_one: bool, library_major: Option<u32>) -> Choice {
    match (user_named_one, library_major) {
        (true, _) => Choice::User,
        (false, Some(0)) => Choice::Own,
        (false, _) => Choice::Stock,
    }
}

/// The configuration to try when [`preferred`] gave [`Choice::Own`] and the
/// context could not be created with it.
pub fn fallback() -> ContextConfig {
    with(Choice::StockRt, Some(STOCK_RT_CONFIG), None)
}

fn with(choice: Choice, config_name: Option<&str>, file: Option<OwnedFd>) -> ContextConfig {
    let mut props = pw::properties::PropertiesBox::new();
    props.insert("module.client-device", "false");
    props.insert("module.session-manager", "false");
    if let Some(name) = config_name {
        props.insert("config.name", name);
    }
    ContextConfig {
        choice,
        props,
        _file: file,
    }
}

/// [`OWN_CONFIG`] in a sealed memory file, and the path PipeWire can open it
/// by.
fn own_config_file() -> std::io::Result<(String, OwnedFd)> {
    use rustix::fs::{fcntl_add_seals, memfd_create, MemfdFlags, SealFlags};
    let fd = memfd_create(
        c"headroomd-client.conf",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )?;
    let mut file = std::fs::File::from(fd);
    file.write_all(OWN_CONFIG.as_bytes())?;
    let fd = OwnedFd::from(file);
    fcntl_add_seals(&fd, SealFlags::WRITE | SealFlags::GROW | SealFlags::SHRINK)?;
    let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    // PipeWire only warns about a path it cannot read and goes on with
    // `client.conf`, so check here and take the `client-rt.conf` path instead.
    std::fs::metadata(&path)?;
    Ok((path, fd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_file_wins_and_only_0_3_gets_ours() {
        assert_eq!(choose(true, Some(0)), Choice::User);
        assert_eq!(choose(true, Some(1)), Choice::User);
        assert_eq!(choose(false, Some(0)), Choice::Own);
        assert_eq!(choose(false, Some(1)), Choice::Stock);
        assert_eq!(choose(false, None), Choice::Stock);
    }

    #[test]
    fn every_choice_skips_the_unused_modules_and_names_its_file() {
        for config in [preferred(), fallback()] {
            assert_eq!(config.props.get("module.client-device"), Some("false"));
            assert_eq!(config.props.get("module.session-manager"), Some("false"));
            let name = config.props.get("config.name");
            match config.choice {
                Choice::User | Choice::Stock => assert_eq!(name, None),
                Choice::Own => assert!(name.is_some_and(|n| n.starts_with("/proc/self/fd/"))),
                Choice::StockRt => assert_eq!(name, Some(STOCK_RT_CONFIG)),
            }
        }
    }

    #[test]
    fn major_versions_parse() {
        assert_eq!(parse_major("0.3.65"), Some(0));
        assert_eq!(parse_major("1.4.2"), Some(1));
        assert_eq!(parse_major("garbage"), None);
        assert_eq!(parse_major(""), None);
    }

    #[test]
    fn own_config_is_readable_through_its_path_and_sealed() {
        let (path, fd) = own_config_file().expect("memfd");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), OWN_CONFIG);
        let mut f = std::fs::File::from(fd);
        assert!(f.write_all(b"x").is_err(), "sealed file accepted a write");
    }

    #[test]
    fn own_config_has_rt_and_the_stream_modules_and_nothing_unused() {
        for needed in [
            "rt",
            "protocol-native",
            "client-node",
            "adapter",
            "metadata",
        ] {
            assert!(
                OWN_CONFIG.contains(&format!("libpipewire-module-{needed} ")),
                "{needed} missing"
            );
        }
        assert!(!OWN_CONFIG.contains("session-manager"));
        assert!(!OWN_CONFIG.contains("client-device"));
    }
}
