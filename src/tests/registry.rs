//! Registry: every hub's address, kept by a forked child but for its own.

use crate::registry::Registry;

/// Distinct addresses to enter, never dereferenced.
fn addr(i: usize) -> *mut u64 {
    (0x1000 + i * 8) as *mut u64
}

/// A registry of its own for each test (leaked, as the process's is
/// static), with `addr(i)` entered for each i of `entered`.
fn registry(entered: impl IntoIterator<Item = usize>) -> &'static Registry<u64> {
    let r = Box::leak(Box::new(Registry::new()));
    entered.into_iter().for_each(|i| r.enter(addr(i)));
    r
}

/// What the fork handler of a thread without a hub keeps.
fn kept_by_hubless(r: &'static Registry<u64>) -> usize {
    r.keep_all_but(std::ptr::null_mut())
}

#[test]
fn a_child_keeps_every_entry_but_its_own() {
    let r = registry(0..3);
    assert_eq!(r.keep_all_but(addr(1)), 2);
    assert_eq!(r.keep_all_but(addr(1)), 0, "a grandchild finds them kept already");
}

#[test]
fn a_thread_without_a_hub_keeps_them_all() {
    assert_eq!(kept_by_hubless(registry(0..2)), 2);
}

#[test]
fn removed_entries_are_not_kept() {
    let r = registry(0..2);
    r.remove(addr(0));
    r.remove(addr(7)); // never entered: nothing changes
    assert_eq!(kept_by_hubless(r), 1);
}

/// A hub freed and not yet removed when another thread's new hub got its
/// address: two entries, each removal takes one.
#[test]
fn an_address_entered_twice_is_removed_once_per_entry() {
    let r = registry([0, 0]);
    r.remove(addr(0));
    assert_eq!(kept_by_hubless(r), 1);
    r.remove(addr(0));
    assert_eq!(kept_by_hubless(r), 0, "a kept entry is no longer its hub's to remove");
}

#[test]
fn holds_more_than_a_chunk_through_removals() {
    let r = registry(0..200);
    (0..100).for_each(|i| r.remove(addr(i)));
    (200..250).for_each(|i| r.enter(addr(i)));
    assert_eq!(r.keep_all_but(addr(249)), 149);
}

#[test]
fn threads_enter_and_remove_at_once() {
    let r = registry([]);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for round in 0..1000 {
                    let mine: Vec<_> = (0..20).map(|i| addr(t * 100_000 + round * 20 + i)).collect();
                    mine.iter().for_each(|&p| r.enter(p));
                    mine.iter().for_each(|&p| r.remove(p));
                }
                r.enter(addr(t * 100_000 + 99_999));
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(kept_by_hubless(r), 4);
}
