//! task::Rare: a list that costs one pointer until first used.

use crate::task::Rare;

#[test]
fn one_pointer_until_used() {
    assert_eq!(size_of::<Rare<(u32, u32)>>(), size_of::<usize>());
    let r: Rare<u64> = Rare::default();
    assert!(r.is_empty());
}

#[test]
fn a_stack_of_deadlines() {
    let mut r = Rare::default();
    assert_eq!(r.pop(), None, "pop of a never-used list");
    r.push(3u64);
    r.push(5);
    assert!(!r.is_empty());
    assert_eq!(r.pop(), Some(5));
    assert_eq!(r.pop(), Some(3));
    assert_eq!(r.pop(), None);
    assert!(r.is_empty());
}

#[test]
fn drain_and_clear_empty_it_for_the_next_task() {
    let mut r = Rare::default();
    for j in [(1u32, 7u32), (2, 8)] {
        r.push(j);
    }
    assert_eq!(r.drain().collect::<Vec<_>>(), [(1, 7), (2, 8)]);
    assert!(r.is_empty());
    assert_eq!(r.drain().count(), 0);
    r.push((3, 9));
    r.clear();
    assert!(r.is_empty());
    assert_eq!(Rare::<u8>::default().drain().count(), 0, "drain of a never-used list");
}
