//! The fixed-size queues: drop accounting of the per-subscriber event queue
//! against a model, and the realtime ↔ control SPSC channel across threads.

use std::collections::VecDeque;

use dsp_core::queue::*;
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
enum Step {
    Push,
    Pop,
    Clear,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![6 => Just(Step::Push), 5 => Just(Step::Pop), 1 => Just(Step::Clear)],
        0..300,
    )
}

fn check_queue<const N: usize>(steps: &[Step]) -> Result<(), TestCaseError> {
    let mut q: EventQueue<u32, N> = EventQueue::new();
    // Model: the events accepted, in order, and the losses.
    let mut accepted: VecDeque<u32> = VecDeque::new();
    let mut refused = 0u64;
    let mut reported = 0u64;
    let mut next = 0u32;
    let mut last_seen: Option<u32> = None;
    for step in steps {
        match step {
            Step::Push => {
                let was_full = q.is_full();
                match q.push(next) {
                    Ok(()) => {
                        prop_assert!(!was_full);
                        accepted.push_back(next);
                    }
                    Err(back) => {
                        prop_assert!(was_full);
                        prop_assert_eq!(back, next, "a refused event is handed back");
                        refused += 1;
                    }
                }
                next += 1;
            }
            Step::Pop => match q.pop() {
                Some(Delivery::Event(e)) => {
                    prop_assert_eq!(
                        Some(e),
                        accepted.pop_front(),
                        "events in order, none lost silently"
                    );
                    prop_assert!(last_seen.is_none_or(|l| e > l));
                    last_seen = Some(e);
                }
                Some(Delivery::Dropped { count, total }) => {
                    prop_assert!(count > 0, "a notice reports at least one loss");
                    reported += count;
                    prop_assert_eq!(total, refused);
                }
                None => {
                    prop_assert!(accepted.is_empty());
                    prop_assert!(q.is_empty());
                }
            },
            Step::Clear => {
                q.clear();
                accepted.clear();
                reported = refused; // cleared losses are no longer owed a notice
                prop_assert_eq!(q.pending_lost(), 0);
            }
        }
        prop_assert!(q.len() <= N);
        prop_assert!(q.len() <= accepted.len() + 1, "at most one notice queued");
        prop_assert_eq!(q.total_dropped(), refused);
        prop_assert_eq!(
            reported + q.pending_lost(),
            refused,
            "every loss is reported once"
        );
    }
    // Draining delivers every accepted event and owes no notice afterwards.
    while let Some(d) = q.pop() {
        match d {
            Delivery::Event(e) => prop_assert_eq!(Some(e), accepted.pop_front()),
            Delivery::Dropped { count, .. } => reported += count,
        }
    }
    prop_assert!(accepted.is_empty());
    prop_assert_eq!(reported, refused);
    prop_assert_eq!(q.pending_lost(), 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn event_queue_matches_its_model_n1(s in steps()) { check_queue::<1>(&s)?; }
    #[test]
    fn event_queue_matches_its_model_n3(s in steps()) { check_queue::<3>(&s)?; }
    #[test]
    fn event_queue_matches_its_model_n64(s in steps()) { check_queue::<64>(&s)?; }
}

#[test]
fn the_notice_arrives_as_soon_as_there_is_room_and_in_order() {
    let mut q: EventQueue<&str> = EventQueue::new();
    assert_eq!(q.capacity(), 64);
    for _ in 0..64 {
        q.push("old").unwrap();
    }
    for _ in 0..10 {
        assert_eq!(q.push("lost"), Err("lost"));
    }
    assert_eq!(q.pending_lost(), 10);
    // One pop frees a slot; the notice takes it at the tail.
    assert_eq!(q.pop(), Some(Delivery::Event("old")));
    assert_eq!(q.len(), 64);
    assert_eq!(q.push("lost"), Err("lost"));
    for _ in 0..63 {
        assert_eq!(q.pop(), Some(Delivery::Event("old")));
    }
    q.push("new").unwrap();
    assert_eq!(
        q.pop(),
        Some(Delivery::Dropped {
            count: 11,
            total: 11
        })
    );
    assert_eq!(q.pop(), Some(Delivery::Event("new")));
    assert_eq!(q.pop(), None);
    // A second episode reports only its own losses, with the running total.
    for _ in 0..65 {
        let _ = q.push("x");
    }
    let mut deliveries = Vec::new();
    while let Some(d) = q.pop() {
        deliveries.push(d);
    }
    assert_eq!(
        deliveries.last(),
        Some(&Delivery::Dropped {
            count: 1,
            total: 12
        })
    );
}

#[test]
fn spsc_carries_every_item_in_order_across_threads() {
    const ITEMS: u32 = 200_000;
    let mut storage: CommandQueue<u32> = CommandQueue::new();
    assert_eq!(storage.capacity(), 32);
    let (mut tx, mut rx) = storage.split();
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut i = 0;
            while i < ITEMS {
                match tx.try_send(i) {
                    Ok(()) => i += 1,
                    Err(back) => {
                        assert_eq!(back, i);
                        std::hint::spin_loop();
                    }
                }
            }
            assert!(tx.dropped() > 0 || ITEMS < 32);
        });
        let mut expect = 0;
        while expect < ITEMS {
            if let Some(v) = rx.try_recv() {
                assert_eq!(v, expect);
                expect += 1;
            } else {
                std::hint::spin_loop();
            }
        }
        assert!(rx.try_recv().is_none());
    });
}

#[test]
fn meter_queue_latest_keeps_only_the_newest_snapshot() {
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct Snapshot {
        seq: u32,
        shortterm_lufs: f32,
    }
    let mut storage: MeterQueue<Snapshot> = MeterQueue::new();
    assert_eq!(storage.capacity(), 16);
    let (mut tx, mut rx) = storage.split();
    for seq in 0..20 {
        let _ = tx.try_send(Snapshot {
            seq,
            shortterm_lufs: -20.0,
        });
    }
    assert_eq!(
        tx.dropped(),
        4,
        "the realtime side never blocks; overflow is counted"
    );
    assert!(!tx.has_room());
    assert_eq!(rx.latest().map(|s| s.seq), Some(15));
    assert!(rx.is_empty() && tx.is_empty());
}
