//! Fixed-size queues: the per-subscriber event queue with drop accounting,
//! and the realtime ↔ control single-producer single-consumer channels.
//!
//! # Realtime
//! Every operation here is O(1), allocation-free and lock-free; none blocks.
//! A full queue never waits and never grows: it hands the item back (as
//! heapless does) and counts the loss, so a slow reader costs a bounded
//! amount of memory and never stalls the writer (IPC.md, "Backpressure").
//!
//! ## [`EventQueue`]: one per (subscriber, topic)
//! When full, a new event is dropped and counted. As soon as the reader frees
//! a slot, a single *dropped notice* takes it, in order, after the events
//! that were queued before the loss; popping it yields [`Delivery::Dropped`]
//! with the number lost since the previous notice and the running total. The
//! host turns that into IPC.md's `dropped` event. Responses never go through
//! these queues, so they are never dropped.
//!
//! ## [`Spsc`]: realtime ↔ control
//! A wrapper over [`heapless::spsc::Queue`] (Lamport's ring with one atomic
//! index per side: a push and a pop are each one relaxed load, one acquire
//! load and one release store). The realtime thread owns one end of each
//! direction — commands in ([`CommandQueue`]), meter snapshots out
//! ([`MeterQueue`]) — generic over the item type, so the chain's command and
//! snapshot types plug in unchanged. It needs only atomic load/store, so it
//! builds for Cortex-M0+ (`thumbv6m-none-eabi`, which has no CAS; heapless
//! enables the module for it explicitly) as well as Cortex-M4F and hosts.
//! Heapless reserves one slot to tell full from empty: `Spsc<T, N>` holds
//! `N - 1` items.

use heapless::spsc;
use heapless::Deque;

/// Default capacity of an [`EventQueue`] (IPC.md: 64 events per topic).
pub const DEFAULT_EVENT_QUEUE_LEN: usize = 64;

/// What an [`EventQueue`] hands to the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery<T> {
    /// The next event.
    Event(T),
    /// Events were lost here: `count` since the previous notice, `total` since
    /// the queue was created.
    Dropped {
        /// Lost since the previous notice.
        count: u64,
        /// Lost since creation.
        total: u64,
    },
}

#[derive(Debug, Clone)]
enum Entry<T> {
    Event(T),
    /// The position of a loss; its count is read when it is popped, so drops
    /// that happen while it waits are reported in it too.
    DroppedNotice,
}

/// A bounded FIFO of events for one subscriber and topic, with drop
/// accounting (see the module docs). `N` ≥ 1 slots, notice included.
#[derive(Debug, Clone)]
pub struct EventQueue<T, const N: usize = DEFAULT_EVENT_QUEUE_LEN> {
    entries: Deque<Entry<T>, N>,
    /// Lost since the last delivered notice.
    lost: u64,
    total: u64,
    notice_queued: bool,
}

impl<T, const N: usize> Default for EventQueue<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> EventQueue<T, N> {
    /// An empty queue.
    pub const fn new() -> Self {
        const { assert!(N >= 1, "an EventQueue needs at least one slot") };
        EventQueue {
            entries: Deque::new(),
            lost: 0,
            total: 0,
            notice_queued: false,
        }
    }

    /// Queues `event`.
    ///
    /// # Errors
    /// When full, the event is counted as lost and handed back.
    pub fn push(&mut self, event: T) -> Result<(), T> {
        match self.entries.push_back(Entry::Event(event)) {
            Ok(()) => Ok(()),
            Err(Entry::Event(event)) => {
                self.lost = self.lost.saturating_add(1);
                self.total = self.total.saturating_add(1);
                Err(event)
            }
            // push_back hands back exactly what it was given.
            Err(Entry::DroppedNotice) => Ok(()),
        }
    }

    /// The next event or dropped notice, oldest first.
    pub fn pop(&mut self) -> Option<Delivery<T>> {
        let delivery = match self.entries.pop_front()? {
            Entry::Event(e) => Delivery::Event(e),
            Entry::DroppedNotice => {
                self.notice_queued = false;
                let count = core::mem::take(&mut self.lost);
                Delivery::Dropped {
                    count,
                    total: self.total,
                }
            }
        };
        self.queue_notice();
        Some(delivery)
    }

    /// Puts the notice in the slot just freed, if events were lost.
    fn queue_notice(&mut self) {
        if self.lost > 0
            && !self.notice_queued
            && self.entries.push_back(Entry::DroppedNotice).is_ok()
        {
            self.notice_queued = true;
        }
    }

    /// Entries waiting (events and at most one notice).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the next push would be dropped.
    pub fn is_full(&self) -> bool {
        self.entries.is_full()
    }

    /// Slots in total.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Lost events not yet reported by a notice.
    pub fn pending_lost(&self) -> u64 {
        self.lost
    }

    /// Lost events since creation.
    pub fn total_dropped(&self) -> u64 {
        self.total
    }

    /// Discards queued events and notices (e.g. on unsubscribe); the totals
    /// are kept.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.lost = 0;
        self.notice_queued = false;
    }
}

/// Storage for a realtime ↔ control channel holding `N - 1` items of `T`.
///
/// Create it where both threads can borrow it (a `static`, a leaked box, or
/// a scope), then [`split`](Self::split) it once into its two ends.
#[derive(Debug)]
pub struct Spsc<T, const N: usize> {
    queue: spsc::Queue<T, N>,
}

impl<T, const N: usize> Default for Spsc<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> Spsc<T, N> {
    /// Empty storage. `N` must be at least 2.
    pub const fn new() -> Self {
        Spsc {
            queue: spsc::Queue::new(),
        }
    }

    /// Items it can hold (`N - 1`).
    pub const fn capacity(&self) -> usize {
        N - 1
    }

    /// The two ends: [`Sender`] for the producing thread, [`Receiver`] for
    /// the consuming one.
    pub fn split(&mut self) -> (Sender<'_, T>, Receiver<'_, T>) {
        let (producer, consumer) = self.queue.split();
        (
            Sender {
                producer,
                dropped: 0,
            },
            Receiver { consumer },
        )
    }
}

/// Commands from the control thread to the realtime thread.
pub type CommandQueue<C, const N: usize = 33> = Spsc<C, N>;

/// Meter snapshots from the realtime thread to the control thread.
pub type MeterQueue<M, const N: usize = 17> = Spsc<M, N>;

/// The producing end of an [`Spsc`].
pub struct Sender<'q, T> {
    producer: spsc::Producer<'q, T>,
    dropped: u64,
}

impl<T> Sender<'_, T> {
    /// Sends `item` without blocking.
    ///
    /// # Errors
    /// When full, `item` is handed back and counted in [`Self::dropped`].
    ///
    /// # Realtime
    /// Wait-free, O(1), no allocation.
    pub fn try_send(&mut self, item: T) -> Result<(), T> {
        self.producer.enqueue(item).inspect_err(|_| {
            self.dropped = self.dropped.saturating_add(1);
        })
    }

    /// Whether a send would succeed now.
    pub fn has_room(&self) -> bool {
        self.producer.ready()
    }

    /// Items refused because the queue was full, since creation.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Items currently queued.
    pub fn len(&self) -> usize {
        self.producer.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.producer.is_empty()
    }
}

impl<T> core::fmt::Debug for Sender<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("dropped", &self.dropped)
            .finish()
    }
}

/// The consuming end of an [`Spsc`].
pub struct Receiver<'q, T> {
    consumer: spsc::Consumer<'q, T>,
}

impl<T> Receiver<'_, T> {
    /// The oldest item, if any.
    ///
    /// # Realtime
    /// Wait-free, O(1), no allocation.
    pub fn try_recv(&mut self) -> Option<T> {
        self.consumer.dequeue()
    }

    /// Drains the queue and returns the newest item (for snapshots, where
    /// only the latest matters). O(queued items).
    pub fn latest(&mut self) -> Option<T> {
        let mut last = None;
        while let Some(item) = self.consumer.dequeue() {
            last = Some(item);
        }
        last
    }

    /// Items currently queued.
    pub fn len(&self) -> usize {
        self.consumer.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.consumer.is_empty()
    }
}

impl<T> core::fmt::Debug for Receiver<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_takes_the_first_freed_slot_in_order() {
        let mut q: EventQueue<u32, 3> = EventQueue::new();
        for i in 0..3 {
            q.push(i).unwrap();
        }
        assert_eq!(q.push(3), Err(3));
        assert_eq!(q.push(4), Err(4));
        assert_eq!(q.pop(), Some(Delivery::Event(0)));
        // The freed slot went to the notice, so the queue is still full.
        assert_eq!(q.push(5), Err(5));
        assert_eq!(q.pop(), Some(Delivery::Event(1)));
        q.push(6).unwrap();
        assert_eq!(q.pop(), Some(Delivery::Event(2)));
        assert_eq!(q.pop(), Some(Delivery::Dropped { count: 3, total: 3 }));
        assert_eq!(q.pop(), Some(Delivery::Event(6)));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn spsc_hands_back_when_full_and_counts() {
        let mut storage: Spsc<u8, 4> = Spsc::new();
        assert_eq!(storage.capacity(), 3);
        let (mut tx, mut rx) = storage.split();
        for i in 0..3 {
            tx.try_send(i).unwrap();
        }
        assert_eq!(tx.try_send(9), Err(9));
        assert_eq!(tx.dropped(), 1);
        assert_eq!(rx.try_recv(), Some(0));
        assert_eq!(rx.latest(), Some(2));
        assert!(rx.is_empty());
    }
}
