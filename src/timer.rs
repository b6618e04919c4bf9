//! The timer heap: (deadline, task slot, wait generation) entries. A wait that
//! ends early is not searched for and removed; its entry goes stale (the
//! task's wait generation moved on) and is skipped when it surfaces. The
//! reactor keeps its fd checks in one too, an fd number in the slot's place.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::clock::Deadline;

#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Deadline, u32, u32)>>,
}

impl Timers {
    pub fn push(&mut self, when: Deadline, slot: u32, wait_gen: u32) {
        self.heap.push(Reverse((when, slot, wait_gen)));
    }

    pub fn next(&self) -> Option<Deadline> {
        self.heap.peek().map(|Reverse((when, _, _))| *when)
    }

    /// Pops the earliest entry due at `now`.
    pub fn pop_due(&mut self, now: Deadline) -> Option<(Deadline, u32, u32)> {
        match self.heap.peek() {
            Some(Reverse((when, _, _))) if *when <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Drops stale entries; called when they outnumber live ones, so a
    /// server whose waits mostly end early does not grow the heap forever.
    pub fn retain(&mut self, live: impl FnMut(u32, u32) -> bool) {
        let mut live = live;
        self.heap.retain(|Reverse((_, slot, g))| live(*slot, *g));
    }
}
