//! A hub's thread-safe side: other OS threads hand it work through an inbox
//! and wake it through an eventfd (mio's Waker), which epoll reports like any
//! fd. `HubHandle` is what C knows as `guv_hub`; the guv_hub_* operations
//! are at the end.
//!
//! The hub's stack pools live under the inbox's lock: a submitter takes its
//! green thread's stack where it queues it, so a submission that cannot have
//! one fails there (ENOMEM) and one that was queued can always start.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::callbacks::CStart;
use crate::errno::{Errno, Result};
use crate::hub;
use crate::lock::{Guard, Mutex};
use crate::stack::{self, PooledStack, Pools};
use crate::task;

/// A C function and its argument, movable to another thread: the caller of
/// the thread-safe API vouches that `arg` may be used there.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CCall {
    pub f: unsafe extern "C" fn(*mut c_void),
    pub arg: *mut c_void,
}
// SAFETY: see above; guv never dereferences `arg` itself.
unsafe impl Send for CCall {}

impl CCall {
    pub fn call(self) {
        // SAFETY: the submitter vouched for the pair.
        unsafe { (self.f)(self.arg) }
    }
}

/// A green thread submitted from another thread, with the stack it will run on.
pub(crate) struct Submission {
    pub call: CStart,
    pub stack: PooledStack,
}

pub(crate) enum Msg {
    Spawn(Submission),
    Kill(i64),
    Unpark(i64),
    Interrupt(i64),
    /// An offloaded call finished for the task in (slot, wait_gen).
    OffloadDone(u32, u32),
}

/// The thread-safe handle of one hub (`guv_hub` in C), shared by every
/// thread that submits to it.
pub struct HubHandle {
    pub(crate) serial: u64,
    inbox: Mutex<Inbox>,
    pending: AtomicBool,
    /// Replaced (see `replace_waker`) when the hub takes a new epoll instance.
    waker: Mutex<mio::Waker>,
    /// Cleared when the hub's thread exits; later submissions fail with ESRCH.
    alive: AtomicBool,
    /// guv_hub_hold counts: while positive, guv_run keeps waiting for submissions.
    holds: AtomicUsize,
}

/// What the inbox's lock guards.
pub(crate) struct Inbox {
    msgs: Vec<Msg>,
    /// The hub's stack pools: taken from by submitters, else only by the hub.
    pub stacks: Pools,
}

impl HubHandle {
    pub(crate) fn new(serial: u64, waker: mio::Waker, stacks: Pools) -> HubHandle {
        HubHandle {
            serial,
            inbox: Mutex::new(Inbox { msgs: Vec::new(), stacks }),
            pending: AtomicBool::new(false),
            waker: Mutex::new(waker),
            alive: AtomicBool::new(true),
            holds: AtomicUsize::new(0),
        }
    }

    pub(crate) fn send(&self, m: Msg) -> Result<()> {
        self.send_with(|_| Ok(m))
    }

    /// Queues the message `make` builds under the inbox's lock, and wakes the
    /// hub unless an earlier sender's wake is still to come.
    ///
    /// `pending` goes false → true only after a push and true → false only
    /// before the hub's `drain` takes the lock: so a sender that finds it
    /// already true pushed before that drain's lock, and the sender that set
    /// it wakes the hub after. A burst of submissions makes one eventfd
    /// write, not one each (and does not queue on the waker's lock).
    fn send_with(&self, make: impl FnOnce(&mut Inbox) -> Result<Msg>) -> Result<()> {
        {
            let mut inbox = self.inbox.lock();
            if !self.alive.load(Ordering::Relaxed) {
                return Err(Errno::ESRCH);
            }
            let m = make(&mut inbox)?;
            inbox.msgs.push(m);
        }
        if !self.pending.swap(true, Ordering::AcqRel) {
            self.wake();
        }
        Ok(())
    }

    /// The inbox's lock, for the hub's own use of its stack pools.
    pub(crate) fn lock(&self) -> Guard<'_, Inbox> {
        self.inbox.lock()
    }

    /// In a forked child: the stack pools, for the child's new handle. If
    /// another thread of the parent held the lock at the fork, they may be
    /// half-updated: left alone (their arenas stay mapped) and new ones begun.
    pub(crate) fn take_stacks_after_fork(&self) -> Pools {
        self.inbox.try_lock().map(|mut inbox| std::mem::take(&mut inbox.stacks)).unwrap_or_default()
    }

    pub(crate) fn wake(&self) {
        let _ = self.waker.lock().wake();
        // Under TSan: the eventfd write happens before the handle's drop closes it.
        crate::sys::tsan::release(self);
    }

    /// Wakes the hub through `waker` from now on. The old one's eventfd is
    /// left open, not closed: its number may name someone else's file by now.
    pub(crate) fn replace_waker(&self, waker: mio::Waker) {
        let old = std::mem::replace(&mut *self.waker.lock(), waker);
        crate::sys::keep_forever(old);
    }

    /// Whether anything was submitted since the last `drain`, or a hold is on:
    /// a hub with neither, and nothing of its own due, can skip a turn.
    pub(crate) fn stirring(&self) -> bool {
        self.pending.load(Ordering::Relaxed) || self.held()
    }

    /// Whether anything was sent since the last `drain` (a hint: a send
    /// that races with it is followed by the eventfd's wake).
    #[inline]
    pub(crate) fn has_mail(&self) -> bool {
        self.pending.load(Ordering::Relaxed)
    }

    /// Moves everything submitted so far into `out` (cheap when nothing is pending).
    pub(crate) fn drain(&self, out: &mut Vec<Msg>) {
        // A plain load first: the swap is a locked instruction, and the hub
        // looks at every turn (a missed store is followed by the eventfd's wake).
        if self.pending.load(Ordering::Relaxed) && self.pending.swap(false, Ordering::Acquire) {
            out.append(&mut self.inbox.lock().msgs);
        }
    }

    pub(crate) fn close(&self) {
        let _inbox = self.inbox.lock();
        self.alive.store(false, Ordering::Relaxed);
    }

    pub fn hold(&self) {
        self.holds.fetch_add(1, Ordering::AcqRel);
    }

    pub fn unhold(&self) -> Result<()> {
        self.holds
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .map_err(|_| Errno::EINVAL)?;
        self.wake();
        Ok(())
    }

    pub(crate) fn held(&self) -> bool {
        self.holds.load(Ordering::Acquire) > 0
    }
}

impl Drop for HubHandle {
    /// Under TSan: every thread's last use of the handle (Arc's count is
    /// invisible to it) happens before the drop closes the eventfd.
    fn drop(&mut self) {
        crate::sys::tsan::acquire(self);
    }
}

/// The thread-safe handle of this thread's hub.
pub fn handle() -> Result<Arc<HubHandle>> {
    hub::with(|h| h.handle().clone())
}

/// Checks that `id` (0: main) can name a task of the hub behind `handle`.
fn remote_id(handle: &HubHandle, id: i64) -> Result<i64> {
    if id != 0 {
        let (serial, _, _) = task::split_id(id).ok_or(Errno::ESRCH)?;
        if serial != handle.serial {
            return Err(Errno::ESRCH);
        }
    }
    Ok(id)
}

/// Thread-safe unpark of green thread `id` of the hub behind `handle`.
pub fn remote_unpark(handle: &HubHandle, id: i64) -> Result<()> {
    handle.send(Msg::Unpark(remote_id(handle, id)?))
}

/// Thread-safe interrupt of green thread `id` of the hub behind `handle`.
pub fn remote_interrupt(handle: &HubHandle, id: i64) -> Result<()> {
    handle.send(Msg::Interrupt(remote_id(handle, id)?))
}

/// Spawns on the hub behind `handle` from any thread, on a stack of the
/// default size taken now: ENOMEM when there is no memory for it.
///
/// # Safety
/// `f(arg)` must be sound to call once, later, on the hub's thread.
pub unsafe fn remote_spawn(
    handle: &HubHandle,
    f: unsafe extern "C" fn(*mut c_void),
    arg: *mut c_void,
) -> Result<()> {
    let size = stack::default_size();
    handle.send_with(|inbox| {
        let stack = inbox.stacks.take(size)?;
        Ok(Msg::Spawn(Submission { call: CStart { f, arg }, stack }))
    })
}

/// Kills green thread `id` of the hub behind `handle`, from any thread.
pub fn remote_kill(handle: &HubHandle, id: i64) -> Result<()> {
    if id == 0 {
        return Err(Errno::ESRCH); // main cannot be killed
    }
    handle.send(Msg::Kill(remote_id(handle, id)?))
}
