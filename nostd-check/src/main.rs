//! Runs the whole Headroom chain over a generated buffer with no `std`, no
//! `alloc` and no allocator, then checks the output is finite and under the
//! ceiling. On Linux it is a real program (libc's start files call `main`;
//! exit status 0 = pass); on bare-metal targets it only has to link.
#![no_std]
#![no_main]

use dsp_core::dsp::chain::{Chain, ChainConfig};
use dsp_core::params::Params;
use dsp_core::units::db_to_amp;

// libc provides the start files, `abort`, `write` and the mem* routines
// `core` calls; nothing of Rust's std is linked.
#[cfg(target_os = "linux")]
#[link(name = "c")]
extern "C" {
    fn abort() -> !;
    fn write(fd: i32, buf: *const u8, count: usize) -> isize;
}

/// `core` is prebuilt with unwind tables that name this symbol; with
/// `panic = "abort"` it is never called.
#[cfg(target_os = "linux")]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    #[cfg(target_os = "linux")]
    // SAFETY: abort() takes no arguments and never returns.
    unsafe {
        abort()
    }
    #[cfg(not(target_os = "linux"))]
    loop {}
}

fn say(msg: &str) {
    #[cfg(target_os = "linux")]
    // SAFETY: the pointer and length describe a live, initialised &str.
    unsafe {
        write(1, msg.as_ptr(), msg.len());
    }
    #[cfg(not(target_os = "linux"))]
    let _ = msg;
}

/// One second of a loud 997 Hz tone with clicks, through the full chain.
fn run() -> bool {
    let params = Params::default();
    let Ok(mut chain) = Chain::<2>::with_params(
        ChainConfig {
            sample_rate_hz: 48_000,
            channels: 2,
        },
        &params,
    ) else {
        return false;
    };
    let ceiling = db_to_amp(params.limiter.ceiling_dbtp);
    // Sine by rotation (no libm needed here): (c, s) advances by 997 Hz.
    let w = 2.0 * core::f32::consts::PI * 997.0 / 48_000.0;
    let (cw, sw) = (
        1.0 - w * w / 2.0 + w * w * w * w / 24.0,
        w - w * w * w / 6.0,
    );
    let (mut c, mut s) = (1.0f32, 0.0f32);
    let mut buf = [0.0f32; 2 * 480];
    let mut ok = true;
    for block in 0..100 {
        for (i, frame) in buf.chunks_exact_mut(2).enumerate() {
            let (nc, ns) = (c * cw - s * sw, c * sw + s * cw);
            let norm = 1.5 - 0.5 * (nc * nc + ns * ns);
            c = nc * norm;
            s = ns * norm;
            let click = if i == 100 && block % 10 == 0 {
                3.0
            } else {
                0.0
            };
            frame[0] = 1.4 * s + click;
            frame[1] = -1.4 * s;
        }
        chain.process_interleaved(&mut buf);
        ok &= buf.iter().all(|x| x.is_finite() && x.abs() <= ceiling);
    }
    ok
}

#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    if run() {
        say("nostd-check: chain ran without std or alloc; output finite and under the ceiling\n");
        0
    } else {
        say("nostd-check: FAILED: output not finite or over the ceiling\n");
        1
    }
}
