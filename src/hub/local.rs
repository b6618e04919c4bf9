//! This thread's guv state: the one thread-local on the hot path (`Local`) holding its hub,
//! the running green thread (`cur`), and whether guv's own code is running
//! on the thread (`enter`/`outside`, which refuse calls from a signal
//! handler that interrupted guv).

use std::cell::Cell;

use super::Hub;
use crate::errno::{Errno, Result};
use crate::task::{Current, MAIN_CURRENT};

/// This thread's guv state, in one thread-local so that a call costs one
/// thread-local access (in libguv.so each is a call to __tls_get_addr).
/// Const-initialised and without Drop: an access needs no lazy-init check.
pub(crate) struct Local {
    /// Null until the thread's first guv call; `dead()` once freed at thread exit.
    pub(super) hub: Cell<*mut Hub>,
    /// Set while a `&mut Hub` is live: a call that reaches the hub meanwhile
    /// (a libguv_hook wrapper of a libc call the hub made) fails with
    /// EDEADLK instead of aliasing it.
    pub(super) busy: Cell<bool>,
    /// The running green thread's `Home::cur` (MAIN_CURRENT in main), set by
    /// the loop at every resume, read by every blocking call.
    pub(super) cur: Cell<*const Current>,
    /// Set while this thread runs guv's own code (a C call, the loop); the
    /// user code guv calls back runs with it clear (see `outside`).
    pub(super) inside: Cell<bool>,
    /// The fd the thread's last read found dry, until the hub's next
    /// epoll_wait (-1: none): see reactor::FdFacts::drained.
    pub(crate) dry: Cell<i32>,
}

thread_local! {
    static LOCAL: Local = const {
        Local {
            hub: Cell::new(std::ptr::null_mut()),
            busy: Cell::new(false),
            cur: Cell::new(&MAIN_CURRENT.0),
            inside: Cell::new(false),
            dry: Cell::new(-1),
        }
    };
}

/// This thread's `Local`, as a plain reference rather than through a
/// closure, so that the blocking calls built on it inline into each caller.
#[inline(always)]
pub(crate) fn local() -> &'static Local {
    // SAFETY: LOCAL is const-initialised and has no destructor, so its storage
    // is valid for the thread's whole life; Local is not Sync, so the
    // reference cannot leave this thread.
    LOCAL.with(|l| unsafe { &*(l as *const Local) })
}

impl Local {
    /// What the running green thread knows of itself (see `Current`).
    #[inline(always)]
    pub(crate) fn cur(&self) -> Current {
        // SAFETY: `cur` points at MAIN_CURRENT, at a running task's home (which
        // lives as long as the hub), or at call_on_hub's copy while it runs.
        unsafe { *self.cur.get() }
    }

    /// Where `cur` points now, to be put back with `set_cur`.
    #[inline(always)]
    pub(crate) fn cur_ptr(&self) -> *const Current {
        self.cur.get()
    }

    /// Points `cur` at `c`, which must stay valid and unchanged until the next call.
    #[inline(always)]
    pub(crate) fn set_cur(&self, c: *const Current) {
        self.cur.set(c)
    }
}

/// What the running green thread knows of itself (see `Current`).
#[inline]
pub(crate) fn cur() -> Current {
    local().cur()
}

/// Proof that the caller entered guv from user code; leaving clears it.
pub(crate) struct Inside(());

impl Drop for Inside {
    #[inline]
    fn drop(&mut self) {
        local().inside.set(false);
    }
}

/// Marks the start of a C call into guv. A call that finds guv already
/// running on this thread was made from a signal handler that interrupted
/// guv (its books may be half-written): it is refused with EDEADLK before
/// anything is touched.
#[inline]
pub(crate) fn enter() -> Result<Inside> {
    if local().inside.replace(true) {
        return Err(Errno::EDEADLK);
    }
    Ok(Inside(()))
}

/// A green thread leaving its function by a forced unwind is back in guv.
pub(crate) fn enter_from_unwind() {
    local().inside.set(true);
}

/// Runs user code that guv calls back (a green thread's function, a hook, a
/// hub-stack callback) as outside guv, so that the guv calls it makes are
/// accepted; then restores the caller's state.
#[inline]
pub(crate) fn outside<R>(f: impl FnOnce() -> R) -> R {
    let l = local();
    let was = l.inside.replace(false);
    let r = f();
    l.inside.set(was);
    r
}
