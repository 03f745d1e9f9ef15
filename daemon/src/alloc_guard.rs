//! Checks the realtime rule "no allocation" in debug and test builds.
//!
//! In builds with `debug_assertions` the process's global allocator is
//! [`System`](std::alloc::System) wrapped by a counter: an allocation, reallocation or free made
//! on a thread while it holds an [`enter`] guard is counted in
//! [`violations`] (reported by `status` as `rt_alloc_violations`; the
//! integration tests require 0). It is counted, not aborted on, so a test
//! reports the failure instead of killing the audio path. The same wrapper
//! keeps [`heap_bytes`], the bytes Rust code holds on the heap now (reported
//! by `status` as `heap_bytes`; the reconnect test uses it to find leaks too
//! small for RSS to show). Release builds use the plain system allocator,
//! the guard costs nothing and both counters read 0.

#[cfg(debug_assertions)]
mod imp {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

    thread_local! {
        static IN_RT: Cell<bool> = const { Cell::new(false) };
    }
    static VIOLATIONS: AtomicU64 = AtomicU64::new(0);
    // Signed: a block freed here may have been allocated before `main`.
    static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

    fn track(delta: isize) {
        LIVE_BYTES.fetch_add(delta as i64, Ordering::Relaxed);
    }

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
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                track(layout.size() as isize);
            }
            p
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            check();
            track(-(layout.size() as isize));
            // SAFETY: same contract as ours.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            check();
            // SAFETY: same contract as ours.
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                track(layout.size() as isize);
            }
            p
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            check();
            // SAFETY: same contract as ours.
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                track(new_size as isize - layout.size() as isize);
            }
            p
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

    pub fn heap_bytes() -> u64 {
        LIVE_BYTES.load(Ordering::Relaxed).max(0) as u64
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

    pub fn heap_bytes() -> u64 {
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

/// Bytes Rust code holds on the heap now (0 in release builds, which do not
/// count). Allocations made by C libraries (libpipewire) are not included.
pub fn heap_bytes() -> u64 {
    imp::heap_bytes()
}
