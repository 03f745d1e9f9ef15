//! Watching the profile directory with inotify, as an fd the event loop
//! polls (no watcher thread).
//!
//! Any change in the directory (a file written, renamed in, deleted) marks
//! the profiles dirty; the event loop debounces and reloads. Editors that
//! save by rename-over are covered by `MOVED_TO`.

use rustix::fs::inotify::{self, CreateFlags, WatchFlags};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// An inotify instance watching one directory.
#[derive(Debug)]
pub struct DirWatch {
    fd: OwnedFd,
}

impl AsFd for DirWatch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl DirWatch {
    /// Watches `dir` (which must exist).
    ///
    /// # Errors
    /// inotify unavailable or the directory unreadable.
    pub fn new(dir: &Path) -> std::io::Result<Self> {
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?;
        inotify::add_watch(
            &fd,
            dir,
            WatchFlags::CLOSE_WRITE
                | WatchFlags::MOVED_TO
                | WatchFlags::MOVED_FROM
                | WatchFlags::CREATE
                | WatchFlags::DELETE
                | WatchFlags::DELETE_SELF
                | WatchFlags::MOVE_SELF,
        )?;
        Ok(Self { fd })
    }

    /// Drains pending events; returns whether there were any.
    pub fn drain(&self) -> bool {
        let mut buf = [0u8; 4096];
        let mut any = false;
        loop {
            match rustix::io::read(&self.fd, &mut buf) {
                Ok(0) => break,
                Ok(_) => any = true,
                Err(rustix::io::Errno::INTR) => {}
                Err(_) => break,
            }
        }
        any
    }
}
