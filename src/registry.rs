//! The addresses of every live object of one kind (the hubs), for a forked
//! child. The child keeps the objects of the threads that did not follow it
//! and must not drop them (their threads may have been using them, or held
//! their locks, at the fork); leak checkers do not read a vanished thread's
//! thread-locals, where those threads held them. So the child's fork handler
//! makes their entries here plain addresses, which keep them reachable.
//! Until then each address is hidden (bitwise not, as Boehm GC's
//! GC_HIDE_POINTER), so that leak checkers still see an object its thread
//! failed to free.
//!
//! Lock-free: a thread the fork caught half-way through an entry or a
//! removal leaves neither a lock held nor a chunk torn, as each slot changes
//! by one atomic operation and chunks are only ever appended, never freed.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

const SLOTS: usize = 63;

/// A chunk of the registry (the first is the registry itself): slots
/// holding a hidden address (0: free) or, in a forked child, a plain one,
/// and the next chunk once this one was found full.
pub(crate) struct Registry<T> {
    slots: [AtomicUsize; SLOTS],
    next: AtomicPtr<Registry<T>>,
    kind: PhantomData<fn(*mut T)>,
}

/// A user-space address has its top bit clear, so a hidden one has it set
/// and the two are never taken for each other.
fn hide<T>(p: *mut T) -> usize {
    !(p as usize)
}

fn hidden(v: usize) -> bool {
    (v as isize) < 0
}

impl<T> Registry<T> {
    pub(crate) const fn new() -> Registry<T> {
        Registry {
            slots: [const { AtomicUsize::new(0) }; SLOTS],
            next: AtomicPtr::new(std::ptr::null_mut()),
            kind: PhantomData,
        }
    }

    /// The chunks, this one first.
    fn chunks(&'static self) -> impl Iterator<Item = &'static Registry<T>> {
        // SAFETY: chunks are leaked Boxes, never freed.
        std::iter::successors(Some(self), |c| unsafe { c.next.load(Ordering::Acquire).as_ref() })
    }

    /// Enters `p` in the first free slot, adding a chunk if all are taken.
    pub(crate) fn enter(&'static self, p: *mut T) {
        let take =
            |s: &AtomicUsize| s.compare_exchange(0, hide(p), Ordering::Relaxed, Ordering::Relaxed).is_ok();
        let mut chunk = self;
        while !chunk.slots.iter().any(take) {
            let mut next = chunk.next.load(Ordering::Acquire);
            if next.is_null() {
                let new = Box::into_raw(Box::new(Registry::new()));
                let null = std::ptr::null_mut();
                next = match chunk.next.compare_exchange(null, new, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => new,
                    Err(other) => {
                        // SAFETY: `new` was never published; another thread's chunk was.
                        drop(unsafe { Box::from_raw(new) });
                        other
                    }
                };
            }
            // SAFETY: as in `chunks`.
            chunk = unsafe { &*next };
        }
    }

    /// Removes an entry of `p`, which may be freed already (an entry of its
    /// address made since, by another thread, is then as good).
    pub(crate) fn remove(&'static self, p: *mut T) {
        let clear =
            |s: &AtomicUsize| s.compare_exchange(hide(p), 0, Ordering::Relaxed, Ordering::Relaxed).is_ok();
        let _ = self.chunks().any(|c| c.slots.iter().any(clear));
    }

    /// In a forked child: keeps every entry but those of `own` (this
    /// thread's object, if any), making their addresses plain; returns how
    /// many. Entries kept by an earlier fork stay as they are.
    pub(crate) fn keep_all_but(&'static self, own: *mut T) -> usize {
        let mut kept = 0;
        for s in self.chunks().flat_map(|c| c.slots.iter()) {
            let v = s.load(Ordering::Relaxed);
            if hidden(v) && v != hide(own) {
                s.store(!v, Ordering::Relaxed);
                kept += 1;
            }
        }
        kept
    }
}
