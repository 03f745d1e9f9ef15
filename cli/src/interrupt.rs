//! SIGINT, SIGTERM and SIGHUP for the commands that run until stopped or start
//! processes of their own (`demo`, `meters`): a signal becomes a flag the
//! command polls, plus an optional wake-up, so the command can stop what it
//! started, in order, and say so, instead of dying half-way.
//!
//! Contract: after [`catch`], the handler only stores the signal in an
//! atomic and writes one byte to a socket (both async-signal-safe); a
//! thread reading that socket runs the command's wake-up ([`on_signal`])
//! outside the handler. Handlers are reset by `exec` and no signal is
//! blocked, so the processes the command starts get the default behaviour
//! (blocking the signals instead would be inherited by every child, which
//! then could not be stopped with SIGTERM). Commands that never call
//! [`catch`] keep the default: a Ctrl-C ends them. A signal that was
//! ignored when the process started (`nohup`) stays ignored.

use crate::Failure;
use anyhow::{anyhow, Context};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use std::io::Read;
use std::os::fd::IntoRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The signal received, as its number (0: none yet).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// Write end of the wake-up socket (-1: not set up).
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// Run by the watcher thread after [`RECEIVED`] is set: unblocks whatever
/// the command is waiting on (e.g. shuts a socket down).
type Waker = Box<dyn Fn() + Send>;
static WAKER: Mutex<Option<Waker>> = Mutex::new(None);

/// A signal that asks the command to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT (a terminal's Ctrl-C).
    Int,
    /// SIGTERM (`kill`, a service manager).
    Term,
    /// SIGHUP (the terminal closed). Handled too because the demo's
    /// children run in process groups of their own, out of the reach of the
    /// shell that would otherwise pass the hang-up on to them.
    Hup,
}

impl Stop {
    /// The conventional exit code of a process ended by this signal
    /// (128 + its number): 130, 143, 129.
    pub fn exit_code(self) -> u8 {
        match self {
            Stop::Int => 130,
            Stop::Term => 143,
            Stop::Hup => 129,
        }
    }
    /// `SIGINT`, `SIGTERM` or `SIGHUP`.
    pub fn name(self) -> &'static str {
        match self {
            Stop::Int => "SIGINT",
            Stop::Term => "SIGTERM",
            Stop::Hup => "SIGHUP",
        }
    }
}

extern "C" fn on_stop_signal(sig: nix::libc::c_int) {
    // The first signal counts; a second Ctrl-C while stopping changes
    // nothing (every wait in the stop path is bounded).
    let _ = RECEIVED.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = [1u8];
        // SAFETY: write(2) is async-signal-safe; `fd` is the write end of
        // the wake-up socket, kept open for the life of the process, and
        // the buffer is a live local. A full socket loses nothing: the
        // watcher only needs one byte.
        unsafe {
            nix::libc::write(fd, byte.as_ptr().cast(), 1);
        }
    }
}

/// Takes SIGINT, SIGTERM and SIGHUP from now on (see the module docs).
///
/// # Errors
/// The wake-up socket, its thread or the handlers cannot be set up.
pub fn catch() -> anyhow::Result<()> {
    // std creates both ends close-on-exec: children never inherit them.
    let (tx, mut rx) = UnixStream::pair().context("cannot create the signal wake-up socket")?;
    tx.set_nonblocking(true)
        .context("cannot set up the signal wake-up socket")?;
    WAKE_FD.store(tx.into_raw_fd(), Ordering::SeqCst);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut byte = [0u8; 1];
            while matches!(rx.read(&mut byte), Ok(1)) {
                if let Some(wake) = WAKER.lock().ok().as_deref().and_then(Option::as_ref) {
                    wake();
                }
            }
        })
        .context("cannot start the signal thread")?;
    // SA_RESTART: calls interrupted by the signal carry on; the command
    // notices through the flag or its wake-up instead of through EINTR.
    let action = SigAction::new(
        SigHandler::Handler(on_stop_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler is async-signal-safe (an atomic and write(2),
        // see `on_stop_signal`).
        let old =
            unsafe { sigaction(sig, &action) }.with_context(|| format!("cannot handle {sig}"))?;
        if matches!(old.handler(), SigHandler::SigIgn) {
            // Started with it ignored (`nohup`, a shell's background job):
            // keep it that way, as the one who started us asked.
            // SAFETY: puts back the disposition that was there.
            unsafe { sigaction(sig, &old) }.with_context(|| format!("cannot restore {sig}"))?;
        }
    }
    Ok(())
}

/// Runs `wake` when a signal arrives (at once if one already has): for a
/// command blocked somewhere polling cannot reach, such as a socket read.
pub fn on_signal(wake: impl Fn() + Send + 'static) {
    if let Ok(mut w) = WAKER.lock() {
        *w = Some(Box::new(wake));
    }
    // Registered before this check, so a signal is never missed: either
    // the watcher sees the waker, or this sees the signal.
    if received().is_some() {
        if let Some(w) = WAKER.lock().ok().as_deref().and_then(Option::as_ref) {
            w();
        }
    }
}

/// The stop signal received so far, if any.
pub fn received() -> Option<Stop> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        n if n == Signal::SIGTERM as i32 => Some(Stop::Term),
        n if n == Signal::SIGHUP as i32 => Some(Stop::Hup),
        _ => Some(Stop::Int),
    }
}

/// `Err` (exit 130, 143 or 129) once a stop signal has arrived.
///
/// # Errors
/// A stop signal was received; the caller returns it so its guards stop
/// what it started on the way out.
pub fn check() -> Result<(), Failure> {
    match received() {
        None => Ok(()),
        Some(s) => Err(Failure {
            code: s.exit_code(),
            error: anyhow!("interrupted ({})", s.name()),
            hint: None,
        }),
    }
}

/// Sleeps `d`, waking every 20 ms to [`check`].
///
/// # Errors
/// A stop signal arrived meanwhile.
pub fn sleep(d: Duration) -> Result<(), Failure> {
    let until = std::time::Instant::now() + d;
    loop {
        check()?;
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
}
