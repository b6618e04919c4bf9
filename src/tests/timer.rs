//! The timer heap: earliest first, only what is due, stale entries dropped.

use crate::timer::Timers;

#[test]
fn empty_heap_has_nothing_due() {
    let mut t = Timers::default();
    assert_eq!(t.next(), None);
    assert_eq!(t.pop_due(u64::MAX), None);
    assert_eq!(t.len(), 0);
}

#[test]
fn pops_in_deadline_order_and_only_when_due() {
    let mut t = Timers::default();
    t.push(30, 3, 0);
    t.push(10, 1, 0);
    t.push(20, 2, 7);
    assert_eq!(t.next(), Some(10));
    assert_eq!(t.pop_due(9), None, "nothing is due before 10");
    assert_eq!(t.pop_due(25), Some((10, 1, 0)));
    assert_eq!(t.pop_due(25), Some((20, 2, 7)));
    assert_eq!(t.pop_due(25), None, "30 is not due at 25");
    assert_eq!(t.next(), Some(30));
    assert_eq!(t.len(), 1);
}

#[test]
fn equal_deadlines_all_fire() {
    let mut t = Timers::default();
    for slot in 0..5 {
        t.push(100, slot, 0);
    }
    let mut slots: Vec<u32> = std::iter::from_fn(|| t.pop_due(100)).map(|(_, s, _)| s).collect();
    slots.sort();
    assert_eq!(slots, [0, 1, 2, 3, 4]);
}

#[test]
fn retain_drops_stale_entries_only() {
    let mut t = Timers::default();
    t.push(10, 1, 1); // stale: slot 1 is at wait generation 2 now
    t.push(20, 1, 2);
    t.push(30, 2, 5);
    t.retain(|slot, wait_gen| !(slot == 1 && wait_gen == 1));
    assert_eq!(t.len(), 2);
    assert_eq!(t.pop_due(u64::MAX), Some((20, 1, 2)));
    assert_eq!(t.pop_due(u64::MAX), Some((30, 2, 5)));
}
