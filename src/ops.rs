//! The operations on green threads that the C ABI exposes (src/ffi calls
//! each): spawn, run, yield, sleep, join, kill, park, interrupt, deadlines,
//! offload, call_on_hub, introspection. Each asks the hub (`hub::with`) or
//! suspends with a request (`hub::suspend`); none keeps books of its own.
//! Waiting on fds is in `fd`, other threads' operations in `remote`.

use std::ffi::c_void;

use crate::clock::{self, NEVER};
use crate::errno::{Errno, Result};
use crate::hub::{self, with};
use crate::remote::CCall;
use crate::stack;
use crate::sys::overflow;
use crate::task::{Current, Func, Request};

/// Starts `f` as a green thread at the hub's next turn; returns its id.
pub fn spawn<F: FnOnce() + 'static>(f: F) -> Result<i64> {
    spawn_with_stack(f, 0)
}

/// As `spawn`, with a stack of `stack_size` bytes (0: the default).
pub fn spawn_with_stack<F: FnOnce() + 'static>(f: F, stack_size: usize) -> Result<i64> {
    let size = if stack_size == 0 { stack::default_size() } else { stack::normalize(stack_size)? };
    with(|h| h.spawn(Func::new(f), size))?
}

/// Runs this thread's hub until no green thread is left.
pub fn run() -> Result<()> {
    let l = hub::local();
    let cur = l.cur();
    if !cur.yielder().is_null() || cur.on_hub_stack {
        return Err(Errno::EPERM);
    }
    hub::main_block(l, Request::RunAll).map(drop)
}

/// Lets every other ready green thread run once.
///
/// The blocking calls are inlined into their callers: a green thread that
/// returns from a call it suspended in, to another call site than the
/// green thread before it returned to, is a mispredicted return each time.
#[inline(always)]
pub fn yield_now() -> Result<()> {
    hub::yield_now().map(drop)
}

/// Suspends the caller for at least `seconds` (`<= 0`: one round of the
/// other ready green threads, with no timer and no clock read).
#[inline(always)]
pub fn sleep(seconds: f64) -> Result<()> {
    let until = if seconds > 0.0 {
        clock::after(seconds)?
    } else if seconds.is_nan() {
        return Err(Errno::EINVAL);
    } else {
        0
    };
    hub::sleep_until(until).map(drop)
}

/// Id of the running green thread; 0 in main.
pub fn current() -> i64 {
    hub::cur().id
}

/// Waits until green thread `id` has ended.
pub fn join(id: i64) -> Result<()> {
    if id == current() && id != 0 {
        return Err(Errno::EDEADLK);
    }
    hub::suspend(Request::Join { id, until: NEVER }).map(drop)
}

/// Kills green thread `id` and waits until it has ended, even when the caller
/// itself is killed, past its deadline or interrupted.
pub fn reap(id: i64) -> Result<()> {
    if id == current() && id != 0 {
        return Err(Errno::EDEADLK);
    }
    hub::suspend(Request::Reap { id }).map(drop)
}

/// Cancels green thread `id`: its current or next blocking call, and every later one, fails with ECANCELED.
pub fn kill(id: i64) -> Result<()> {
    with(|h| h.kill(id))?
}

/// Suspends the caller until guv_unpark names it (at once if an unpark
/// came since its last park), `seconds` pass (ETIMEDOUT; negative: never),
/// or it is killed.
#[inline(always)]
pub fn park(seconds: f64) -> Result<()> {
    let until = if seconds < 0.0 { NEVER } else { clock::after(seconds)? };
    hub::park_until(until).map(drop)
}

/// Wakes green thread `id` (0: main) from guv_park, or lets its next park return at once.
#[inline]
pub fn unpark(id: i64) -> Result<()> {
    hub::unpark(id)
}

/// Ends the current blocking call of `id` (0: main) with EINTR, or its next one.
pub fn interrupt(id: i64) -> Result<()> {
    with(|h| h.interrupt(id))?
}

/// The usable stack of the running green thread: (lowest address, size).
pub fn stack_bounds() -> Result<(usize, usize)> {
    let cur = hub::cur();
    if cur.yielder().is_null() || cur.on_hub_stack {
        return Err(Errno::ESRCH);
    }
    with(|h| {
        // SAFETY: the running green thread's bounds, in its home (see Hub::running).
        let r = unsafe { *h.running(cur.slot) };
        let lo = r.guard + stack::GUARD_SIZE;
        (lo, r.top - lo)
    })
}

/// Fails with ECANCELED if the caller was killed, or ETIMEDOUT if its
/// deadline passed: the I/O layer asks before each call, so that a killed
/// green thread reading a busy socket notices without ever waiting.
pub fn check_cancel() -> Result<()> {
    with(|h| h.current_task().cancelled().map_or(Ok(()), Err))?
}

/// Opens a nested deadline `seconds` from now on the calling green thread.
pub fn timeout_begin(seconds: f64) -> Result<()> {
    let until = clock::after(seconds)?;
    with(|h| {
        let t = h.current_task();
        t.deadlines.push(t.deadline);
        t.deadline = t.deadline.min(until);
    })
}

/// Closes the innermost deadline; EPERM when none is open.
pub fn timeout_end() -> Result<()> {
    with(|h| {
        let t = h.current_task();
        t.deadline = t.deadlines.pop().ok_or(Errno::EPERM)?;
        Ok(())
    })?
}

/// Runs `f(arg)` on an offload thread; suspends only the caller until it returns.
///
/// # Safety
/// `f(arg)` must be sound to call once on another OS thread while the caller
/// is suspended (what `arg` points at stays valid until this returns).
pub unsafe fn offload(f: unsafe extern "C" fn(*mut c_void), arg: *mut c_void) -> Result<()> {
    if hub::cur().on_hub_stack {
        return Err(Errno::EPERM);
    }
    hub::suspend(Request::Offload { job: CCall { f, arg } }).map(drop)
}

/// Runs `f(arg)` on the hub's own stack (corosensei's on_parent_stack).
/// Blocking guv calls made from there fail with EPERM.
///
/// # Safety
/// `f(arg)` must be sound to call once, on this thread, now.
pub unsafe fn call_on_hub(f: unsafe extern "C" fn(*mut c_void), arg: *mut c_void) -> Result<()> {
    let call = CCall { f, arg };
    let l = hub::local();
    let (cur, saved) = (l.cur(), l.cur_ptr());
    /// The callback stays on this OS thread: on_parent_stack's Send bound
    /// guards against handing a Yielder to another thread, which we don't.
    struct SameThread(*const Current, Current);
    // SAFETY: see above; the values never leave this thread.
    unsafe impl Send for SameThread {}
    impl SameThread {
        fn get(self) -> (*const Current, Current) {
            (self.0, self.1)
        }
    }
    let pass = SameThread(saved, cur);
    let run = move || {
        let (saved, cur) = pass.get();
        let on_hub = cur.on_hub();
        let l = hub::local();
        // `on_hub` lives on this stack until the call returns, when `saved` is back.
        l.set_cur(&on_hub);
        overflow::set_running(std::ptr::null());
        hub::outside(|| call.call());
        l.set_cur(saved);
    };
    if cur.yielder().is_null() || cur.on_hub_stack {
        run();
    } else {
        // SAFETY: as in `hub::suspend`, the yielder is the running coroutine's.
        unsafe { &*cur.yielder() }.on_parent_stack(run);
        with(|h| overflow::set_running(h.running(cur.slot)))?;
    }
    Ok(())
}

/// Whether the caller may switch now: inside a green thread or main, not on
/// the hub's stack, and the hooks' may_switch agrees.
pub fn can_switch() -> bool {
    let cur = hub::cur();
    !cur.on_hub_stack && cur.hooks.is_none_or(|h| h.may_switch(cur.hook_data))
}

/// Number of green threads alive on this thread's hub.
pub fn count() -> Result<usize> {
    with(|h| h.live())
}
