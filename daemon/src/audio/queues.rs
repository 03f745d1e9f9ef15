//! The queues between the realtime side ([`super::rt::Rt`]) and the control
//! thread for one Headroom sink: commands in, meter snapshots out, old chains
//! back to be freed.
//!
//! Contract: the three dsp-core [`Spsc`] queues live in one heap block that
//! both ends own jointly; the block (and anything still queued in it) is
//! freed when the last end is dropped, so recreating the sink — on every
//! PipeWire reconnect or channel-count change — costs no memory for good.
//! Both ends are dropped on the control thread (the realtime end lives in the
//! output stream's process closure, which the control thread drops), so the
//! free never happens in the realtime callback.
//!
//! # Realtime
//! [`RtEnds`]' methods are wait-free and O(1), with no allocation (dsp-core's
//! queue contract). A full queue hands the item back.

use super::rt::{Cmd, Dsp, Snapshot};
use dsp_core::queue::{Receiver, Sender, Spsc};
use std::ptr::NonNull;
use std::sync::Arc;

/// Capacity + 1 of the command queue (a chain, parameters, a few spare).
const CMD_SLOTS: usize = 9;
/// Capacity + 1 of the snapshot queue: a second at 60 snapshots/s, so the
/// slowest drain (1 Hz, a subscriber's `max_hz` or `meters.publish_hz`)
/// loses none.
const METER_SLOTS: usize = 65;
/// Capacity + 1 of the queue of chains to free.
const TRASH_SLOTS: usize = 9;

struct Queues {
    cmds: Spsc<Cmd, CMD_SLOTS>,
    meters: Spsc<Snapshot, METER_SLOTS>,
    trash: Spsc<Box<Dsp>, TRASH_SLOTS>,
}

/// Owns the heap block; frees it when the last end lets go.
struct Block(NonNull<Queues>);

// SAFETY: `Block` never touches the queues; it only frees the allocation, in
// `Drop`, which `Arc` runs once, when no other owner remains. The queues are
// used only through the ends, which are `Send` because every item type is.
unsafe impl Send for Block {}
// SAFETY: as above; a shared `&Block` gives no access to anything.
unsafe impl Sync for Block {}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::into_raw` in `pair`, and this is
        // the last owner: every end that borrowed the queues was dropped
        // first (each end struct declares its `Arc<Block>` last and never
        // hands its queue ends out), so nothing refers to them any more.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// The realtime side's ends.
pub struct RtEnds {
    cmds: Receiver<'static, Cmd>,
    meters: Sender<'static, Snapshot>,
    trash: Sender<'static, Box<Dsp>>,
    // Declared last: dropped after the ends above.
    _block: Arc<Block>,
}

impl RtEnds {
    /// The next command, if any.
    pub fn recv_cmd(&mut self) -> Option<Cmd> {
        self.cmds.try_recv()
    }

    /// Sends a snapshot; a full queue hands it back.
    ///
    /// # Errors
    /// The queue is full.
    pub fn send_meters(&mut self, s: Snapshot) -> Result<(), Snapshot> {
        self.meters.try_send(s)
    }

    /// Sends an old chain to be freed; a full queue hands it back.
    ///
    /// # Errors
    /// The queue is full.
    pub fn send_trash(&mut self, d: Box<Dsp>) -> Result<(), Box<Dsp>> {
        self.trash.try_send(d)
    }
}

/// The control thread's ends.
pub struct ControlEnds {
    cmds: Sender<'static, Cmd>,
    meters: Receiver<'static, Snapshot>,
    trash: Receiver<'static, Box<Dsp>>,
    // Declared last: dropped after the ends above.
    _block: Arc<Block>,
}

impl ControlEnds {
    /// Sends a command; a full queue hands it back.
    ///
    /// # Errors
    /// The queue is full.
    pub fn send_cmd(&mut self, c: Cmd) -> Result<(), Cmd> {
        self.cmds.try_send(c)
    }

    /// The oldest meter snapshot, if any.
    pub fn recv_meters(&mut self) -> Option<Snapshot> {
        self.meters.try_recv()
    }

    /// An old chain to free here, if any.
    pub fn recv_trash(&mut self) -> Option<Box<Dsp>> {
        self.trash.try_recv()
    }

    /// Whether the storage is still shared with a realtime end (tests).
    #[cfg(test)]
    pub fn shared_with_rt(&self) -> bool {
        Arc::strong_count(&self._block) > 1
    }
}

/// Creates the queues and returns the realtime and control ends.
pub fn pair() -> (RtEnds, ControlEnds) {
    let raw = Box::into_raw(Box::new(Queues {
        cmds: Spsc::new(),
        meters: Spsc::new(),
        trash: Spsc::new(),
    }));
    // `Box::into_raw` never returns null.
    let block = Arc::new(Block(NonNull::new(raw).expect("boxed queues")));
    // SAFETY: `raw` is a fresh, unique allocation. The `'static` borrow is
    // confined to the ends below, which never outlive `block` (see `Block`).
    let q: &'static mut Queues = unsafe { &mut *raw };
    let (ctx, crx) = q.cmds.split();
    let (mtx, mrx) = q.meters.split();
    let (ttx, trx) = q.trash.split();
    (
        RtEnds {
            cmds: crx,
            meters: mtx,
            trash: ttx,
            _block: block.clone(),
        },
        ControlEnds {
            cmds: ctx,
            meters: mrx,
            trash: trx,
            _block: block,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Weak;

    /// The storage is freed once both ends are gone, whichever goes first,
    /// with items still queued (regression: it used to be leaked per sink).
    #[test]
    fn storage_is_freed_when_both_ends_drop() {
        for rt_first in [true, false] {
            let (mut rt, mut ctl) = pair();
            let weak: Weak<Block> = Arc::downgrade(&ctl._block);
            let dsp = Dsp::new(48_000, 2, &dsp_core::params::Params::default()).unwrap();
            assert!(rt.send_trash(dsp).is_ok());
            assert!(ctl.send_cmd(Cmd::Params(Default::default())).is_ok());
            assert!(ctl.shared_with_rt());
            if rt_first {
                drop(rt);
                assert!(!ctl.shared_with_rt());
                drop(ctl);
            } else {
                drop(ctl);
                assert!(
                    weak.upgrade().is_some(),
                    "freed while the realtime end lives"
                );
                drop(rt);
            }
            assert!(weak.upgrade().is_none(), "queue storage not freed");
        }
    }
}
