//! The crate's lock: std's Mutex, poison-tolerant, with each hand-off from
//! one holder to the next told to ThreadSanitizer (std's lock is a futex TSan
//! cannot see, so a user's TSan run would report what guv's queues pass on).

use crate::sys::tsan::{acquire, release};

/// std's Mutex, poison-tolerant, telling TSan of its hand-offs.
pub(crate) struct Mutex<T>(std::sync::Mutex<T>);

/// The lock held; TSan learns of the hand-off when it is dropped.
pub(crate) struct Guard<'a, T> {
    guard: Option<std::sync::MutexGuard<'a, T>>,
    key: *const (),
}

impl<T> Mutex<T> {
    pub(crate) const fn new(v: T) -> Mutex<T> {
        Mutex(std::sync::Mutex::new(v))
    }

    /// Locks it; a holder that panicked left the data as it was, which is
    /// still consistent for every user here (queues and flags).
    pub(crate) fn lock(&self) -> Guard<'_, T> {
        let guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        acquire(self);
        Guard { guard: Some(guard), key: (self as *const Self).cast() }
    }

    /// Locks it if no one holds it.
    pub(crate) fn try_lock(&self) -> Option<Guard<'_, T>> {
        let guard = match self.0.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        acquire(self);
        Some(Guard { guard: Some(guard), key: (self as *const Self).cast() })
    }
}

impl<'a, T> Guard<'a, T> {
    /// Condvar::wait_timeout on this lock, telling TSan of the unlock and relock.
    pub(crate) fn wait_timeout(
        mut self,
        cv: &std::sync::Condvar,
        dur: std::time::Duration,
    ) -> (Guard<'a, T>, std::sync::WaitTimeoutResult) {
        release(self.key);
        let inner = self.guard.take().expect("a live guard holds its lock");
        let (inner, r) = cv.wait_timeout(inner, dur).unwrap_or_else(|e| e.into_inner());
        acquire(self.key);
        self.guard = Some(inner);
        (self, r)
    }
}

impl<T> std::ops::Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("a live guard holds its lock")
    }
}

impl<T> std::ops::DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("a live guard holds its lock")
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        if self.guard.is_some() {
            release(self.key); // before the field's drop unlocks
        }
    }
}
