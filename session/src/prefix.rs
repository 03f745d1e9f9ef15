//! Another PipeWire build for private sessions: an unpacked file tree named
//! by `HEADROOM_PW_PREFIX` (e.g. Debian's backported `pipewire`,
//! `pipewire-bin`, `libpipewire-0.3-*`, `libspa-0.2-modules`, `wireplumber`
//! and `libwireplumber-*` packages extracted with `dpkg -x`, as
//! `scripts/pw1x.sh` does), used instead of the system's without installing
//! it.
//!
//! Contract: every process a private session starts — `pipewire`,
//! `wireplumber`, the `pw-*` tools — and every process the caller spawns with
//! [`crate::PwSession::command`] (headroomd in the tests) gets [`Prefix::env`]:
//! the prefix's programs first on `PATH`, its libraries on `LD_LIBRARY_PATH`,
//! and PipeWire's and WirePlumber's module, plugin, data and configuration
//! directories pointed into the prefix (the system's configuration of another
//! version is never read). The session's own WirePlumber configuration
//! directory is searched before the prefix's, so its test settings (no
//! hardware monitors) still apply.

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The environment variable naming the prefix.
pub const PREFIX_ENV: &str = "HEADROOM_PW_PREFIX";

/// An unpacked PipeWire + WirePlumber tree.
#[derive(Debug, Clone)]
pub struct Prefix {
    root: PathBuf,
    /// `usr/lib/<multiarch triplet>`: where `libpipewire-0.3.so.0` is.
    lib_dir: PathBuf,
}

impl Prefix {
    /// The prefix `HEADROOM_PW_PREFIX` names, if it is set and not empty.
    ///
    /// # Errors
    /// It is set but is not a PipeWire tree.
    pub fn from_env() -> Result<Option<Prefix>> {
        match std::env::var_os(PREFIX_ENV).filter(|v| !v.is_empty()) {
            Some(root) => Prefix::open(Path::new(&root))
                .with_context(|| format!("{PREFIX_ENV}={}", Path::new(&root).display()))
                .map(Some),
            None => Ok(None),
        }
    }

    /// Checks that `root` holds `usr/bin/pipewire`, `usr/bin/wireplumber`
    /// and `usr/lib/*/libpipewire-0.3.so.0`.
    ///
    /// # Errors
    /// Any of them is missing.
    pub fn open(root: &Path) -> Result<Prefix> {
        let root = root
            .canonicalize()
            .with_context(|| format!("no directory {}", root.display()))?;
        for tool in ["pipewire", "wireplumber"] {
            if !root.join("usr/bin").join(tool).is_file() {
                bail!("no usr/bin/{tool} in {}", root.display());
            }
        }
        let lib_dir = std::fs::read_dir(root.join("usr/lib"))
            .with_context(|| format!("no usr/lib in {}", root.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|d| d.join("libpipewire-0.3.so.0").exists())
            .with_context(|| format!("no usr/lib/*/libpipewire-0.3.so.0 in {}", root.display()))?;
        Ok(Prefix { root, lib_dir })
    }

    /// The prefix's top directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where its programs are.
    pub fn bin_dir(&self) -> PathBuf {
        self.root.join("usr/bin")
    }

    /// The WirePlumber API directory name (`wireplumber-0.5`, …), if any.
    fn wireplumber_module_dir(&self) -> Option<PathBuf> {
        std::fs::read_dir(&self.lib_dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                p.is_dir()
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("wireplumber-"))
            })
    }

    /// Environment for a process of a session using this prefix, whose own
    /// WirePlumber configuration is in `session_wp_config`.
    pub fn env(&self, session_wp_config: &Path) -> Vec<(&'static str, OsString)> {
        let prepend = |first: PathBuf, var: &str| -> OsString {
            let rest = std::env::var_os(var).unwrap_or_default();
            let mut all = vec![first];
            all.extend(std::env::split_paths(&rest));
            std::env::join_paths(all).unwrap_or_default()
        };
        let share = self.root.join("usr/share");
        let wp_config = [session_wp_config.to_path_buf(), share.join("wireplumber")];
        let mut v = vec![
            ("PATH", prepend(self.bin_dir(), "PATH")),
            (
                "LD_LIBRARY_PATH",
                prepend(self.lib_dir.clone(), "LD_LIBRARY_PATH"),
            ),
            (
                "PIPEWIRE_MODULE_DIR",
                self.lib_dir.join("pipewire-0.3").into_os_string(),
            ),
            (
                "SPA_PLUGIN_DIR",
                self.lib_dir.join("spa-0.2").into_os_string(),
            ),
            ("SPA_DATA_DIR", share.join("spa-0.2").into_os_string()),
            (
                "PIPEWIRE_CONFIG_DIR",
                share.join("pipewire").into_os_string(),
            ),
            (
                "WIREPLUMBER_DATA_DIR",
                share.join("wireplumber").into_os_string(),
            ),
            (
                "WIREPLUMBER_CONFIG_DIR",
                std::env::join_paths(wp_config).unwrap_or_default(),
            ),
        ];
        if let Some(d) = self.wireplumber_module_dir() {
            v.push(("WIREPLUMBER_MODULE_DIR", d.into_os_string()));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_needs_the_programs_and_the_library_and_points_everything_into_it() {
        let root =
            std::env::temp_dir().join(format!("headroom-prefix-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("usr/bin")).unwrap();
        assert!(Prefix::open(&root).is_err(), "no programs");
        for tool in ["pipewire", "wireplumber"] {
            std::fs::write(root.join("usr/bin").join(tool), "").unwrap();
        }
        assert!(Prefix::open(&root).is_err(), "no libpipewire");
        let lib = root.join("usr/lib/x86_64-linux-gnu");
        std::fs::create_dir_all(lib.join("wireplumber-0.5")).unwrap();
        std::fs::write(lib.join("libpipewire-0.3.so.0"), "").unwrap();
        let p = Prefix::open(&root).unwrap();
        let env = p.env(Path::new("/session/config/wireplumber"));
        let get = |k: &str| {
            env.iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| PathBuf::from(v))
                .unwrap_or_else(|| panic!("{k} not set"))
        };
        let root = p.root().to_path_buf();
        let first = |k: &str| std::env::split_paths(&get(k)).next().unwrap();
        assert_eq!(first("PATH"), root.join("usr/bin"));
        assert_eq!(
            first("LD_LIBRARY_PATH"),
            root.join("usr/lib/x86_64-linux-gnu")
        );
        assert_eq!(
            get("SPA_PLUGIN_DIR"),
            root.join("usr/lib/x86_64-linux-gnu/spa-0.2")
        );
        assert_eq!(get("PIPEWIRE_CONFIG_DIR"), root.join("usr/share/pipewire"));
        assert_eq!(
            get("WIREPLUMBER_MODULE_DIR"),
            root.join("usr/lib/x86_64-linux-gnu/wireplumber-0.5")
        );
        let wp: Vec<PathBuf> = std::env::split_paths(&get("WIREPLUMBER_CONFIG_DIR")).collect();
        assert_eq!(
            wp,
            [
                PathBuf::from("/session/config/wireplumber"),
                root.join("usr/share/wireplumber")
            ]
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
