//! Checks the realtime rule "no allocation" in debug and test builds.
//!
//! In builds with `debug_assertions` the process's global allocator is
//! [`System`] wrapped by a counter: an allocation, reallocation or free made
//! on a thread while it holds an [`enter`] guard is counted in
//! [`violations`] (reported by `status` as `rt_alloc_violations`; the
//! integration tests require 0). It is counted, not aborted on, so a test
//! reports the failure instead of killing the audio path. Release builds
//! use the plain system allocator and the guard costs nothing.

#[cfg(debug_assertions)]
mod imp {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;
    use std::sync::atomic::{AtomicU64, Ordering};

    thread_local! {
        static IN_RT: Cell<bool> = const { Cell::new(false) };
    }
    static VIOLATIONS: AtomicU64 = AtomicU64::new(0);

    fn check() {
        // `try_with`: the TLS slot may be gone during thread teardown.
        if IN_RT.try_with(Cell::get).unwrap_or(false) {
            VIOLATIONS.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub struct Counting;

    // SAFETY: every method forwards to `System` unchanged; the extra work
    // (a thread-local read and an atomic add) does not allocate.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            check();
            // SAFETY: same contract as ours.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            check();
            // SAFETY: same contract as ours.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            check();
            // SAFETY: same contract as ours.
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            check();
            // SAFETY: same contract as ours.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    pub struct Guard(bool);

    pub fn enter() -> Guard {
        Guard(IN_RT.try_with(|c| c.replace(true)).unwrap_or(false))
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = IN_RT.try_with(|c| c.set(self.0));
        }
    }

    pub fn violations() -> u64 {
        VIOLATIONS.load(Ordering::Relaxed)
    }
}

#[cfg(not(debug_assertions))]
mod imp {
    pub struct Guard;

    pub fn enter() -> Guard {
        Guard
    }

    pub fn violations() -> u64 {
        0
    }
}

/// Marks this thread as realtime until the guard drops.
#[must_use = "the check lasts as long as the guard"]
pub fn enter() -> imp::Guard {
    imp::enter()
}

/// Allocations counted inside guards since the start (always 0 in release
/// builds, which do not check).
pub fn violations() -> u64 {
    imp::violations()
}
