//! Where Headroom keeps things, per the XDG Base Directory specification.
//!
//! * profiles: `$XDG_CONFIG_HOME/headroom/profiles` (default `~/.config/…`)
//! * state:    `$XDG_STATE_HOME/headroom/state.toml` (default `~/.local/state/…`)
//! * socket:   `$HEADROOM_SOCKET`, else `$XDG_RUNTIME_DIR/headroom/control.sock`

use std::path::PathBuf;

fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

fn home() -> Option<PathBuf> {
    env_dir("HOME")
}

/// The user profile directory (it may not exist).
pub fn profile_dir() -> Option<PathBuf> {
    env_dir("XDG_CONFIG_HOME")
        .or_else(|| home().map(|h| h.join(".config")))
        .map(|d| d.join("headroom").join("profiles"))
}

/// The state directory (it may not exist).
pub fn state_dir() -> Option<PathBuf> {
    env_dir("XDG_STATE_HOME")
        .or_else(|| home().map(|h| h.join(".local").join("state")))
        .map(|d| d.join("headroom"))
}

/// The control socket path, or `None` when neither `HEADROOM_SOCKET` nor
/// `XDG_RUNTIME_DIR` is set.
pub fn socket_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HEADROOM_SOCKET").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    env_dir("XDG_RUNTIME_DIR").map(|d| d.join("headroom").join("control.sock"))
}
