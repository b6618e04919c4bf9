//! Exports of the core runtime: green threads, the hub, timers, fd readiness.

use std::ffi::{c_int, c_void};
use std::sync::Arc;

use super::boundary;
use crate::callbacks::{self, guv_hooks};
use crate::errno::{Errno, Result};
use crate::reactor::Interest;
use crate::remote::HubHandle;
use crate::{fd, ops, remote, stack};

/// Wait for the fd to be readable (or hung up, or in error).
pub const GUV_READ: c_int = 1;
/// Wait for the fd to be writable (or in error).
pub const GUV_WRITE: c_int = 2;

/// Guard regions are made with madvise(MADV_GUARD_INSTALL): no mapping per stack.
pub const GUV_GUARD_MADVISE: c_int = 1;
/// Guard regions are made with mprotect: two mappings per stack, capped by vm.max_map_count.
pub const GUV_GUARD_MPROTECT: c_int = 2;

/// How many hook sets (guv_add_hooks) may be in force at once.
pub const GUV_HOOKS_MAX: c_int = 4;
const _: () = assert!(GUV_HOOKS_MAX as usize == callbacks::MAX);

/// The body of a green thread or a callback.
pub type guv_fn = Option<unsafe extern "C" fn(arg: *mut c_void)>;

/// A thread-safe handle to one OS thread's hub, for handing it work from
/// other threads. Obtained with guv_hub_self(), released with guv_hub_release().
/// Another thread may call with a handle it does not own while the owner
/// cannot have released it yet (the hub's thread releasing its own after
/// guv_run() returns, which the last guv_hub_unhold() allows): each call
/// keeps a reference of its own until it returns.
pub struct guv_hub {
    _opaque: [u8; 0],
}

fn interest(events: c_int) -> Result<Interest> {
    Interest::from_bits(events).ok_or(Errno::EINVAL)
}

/// A reference of the call's own to the hub behind `h`. The reference the
/// caller uses may be another thread's, released as soon as this call's
/// change is seen: the hub's thread releases its own when guv_run returns,
/// which an unhold (or a green thread's end) allows before the call's
/// wake-up of the hub is done with the handle.
fn hub_ref(h: *const guv_hub) -> Result<Arc<HubHandle>> {
    if h.is_null() {
        return Err(Errno::EINVAL);
    }
    let h = h.cast::<HubHandle>();
    // SAFETY: a non-null guv_hub* comes from guv_hub_self (Arc::into_raw),
    // and a reference to it is held until guv_hub_release, which cannot
    // come before this call's start; the count taken here is given back
    // when the Arc made of it drops.
    unsafe {
        Arc::increment_strong_count(h);
        Ok(Arc::from_raw(h))
    }
}

/// Schedule `func(arg)` as a new green thread on this OS thread's hub (created
/// on first use). It starts at the hub's next turn, not inside this call, on
/// a stack of the default size (GUV_STACK_SIZE, 256 KiB unless set).
///
/// Returns the green thread's id (>= 1, never reused in the process).
/// On failure returns -1 and sets errno: EINVAL (func is NULL), ENOMEM (no
/// memory for a stack), EAGAIN (this hub has 2^21 green threads alive),
/// EDEADLK (called from a signal handler that interrupted guv: see the
/// preamble). `arg` is passed as is; guv never dereferences it, and after a
/// failure it is still the caller's. A green thread that has not started
/// when its OS thread exits never runs: the hook sets' never_started are
/// given `func` and `arg` (see guv_hooks), else whatever `arg` owns is not
/// freed. Run the hub (guv_run()) first.
#[no_mangle]
pub extern "C" fn guv_spawn(func: guv_fn, arg: *mut c_void) -> i64 {
    guv_spawn_ex(func, arg, 0)
}

/// As guv_spawn(), with a stack of `stack_size` bytes (0: the default).
/// Sizes are rounded up to whole pages; the usable stack sits above a
/// 64 KiB guard region: a frame larger than that, in code built without
/// -fstack-clash-protection, can jump it, so build C code that makes huge
/// stack frames with that flag (or give it a bigger stack). Errors as
/// guv_spawn(), plus EINVAL for a size below 16 KiB or above 1 TiB.
#[no_mangle]
pub extern "C" fn guv_spawn_ex(func: guv_fn, arg: *mut c_void, stack_size: usize) -> i64 {
    boundary("guv_spawn", || {
        let start = callbacks::CStart::new(func.ok_or(Errno::EINVAL)?, arg)?;
        ops::spawn_with_stack(move || start.call(), stack_size)
    })
}

/// Run this OS thread's hub until no green thread is left; returns 0.
///
/// On failure returns -1 and sets errno: EPERM (called inside a green thread
/// or a guv_call_on_hub() callback), EDEADLK (every remaining green thread
/// waits for something no timer, fd or other thread can ever end, such as
/// joins in a cycle; they stay suspended), EBADF or EINVAL (the hub's
/// epoll_wait failed; see the preamble).
#[no_mangle]
pub extern "C" fn guv_run() -> c_int {
    boundary("guv_run", || ops::run().map(|()| 0))
}

/// Let every other ready green thread run once, then continue. Called from
/// main (outside any green thread), it also polls fds and timers once.
/// Returns 0. On failure returns -1 and sets errno: ECANCELED (the caller
/// was killed: a loop that only computes and yields can be cancelled too),
/// ETIMEDOUT (a guv_timeout_begin() deadline passed), EPERM (inside a
/// guv_call_on_hub() callback), EACCES (may_switch refused).
// Not `return_by_jump!` as guv_sleep and guv_park are: a yield returns
// after one round of the ready tasks, and its plain return was as fast or
// faster in every case measured (benches/results/core.md, session 6):
// main <-> green thread 52 -> 37 ns, two green threads 27.7 -> 26.6 ns.
#[no_mangle]
pub extern "C" fn guv_yield() -> c_int {
    boundary("guv_yield", || ops::yield_now().map(|()| 0))
}

/// Suspend the caller for at least `seconds`; other green threads run
/// meanwhile. `seconds <= 0` yields. Called from main, it runs the hub.
///
/// Returns 0. On failure returns -1 and sets errno: EINVAL (NaN),
/// ECANCELED (the caller was killed), ETIMEDOUT (a guv_timeout_begin()
/// deadline passed first), EPERM (inside a guv_call_on_hub() callback),
/// EACCES (hooks' may_switch refused the switch), EDEADLK (main sleeps
/// forever — e.g. INFINITY — with nothing on the hub that could ever run again),
/// EINTR (guv_interrupt()).
#[no_mangle]
// SAFETY: the body is `return_by_jump!`, which keeps the C ABI (see there).
#[cfg_attr(target_arch = "x86_64", unsafe(naked))]
pub extern "C" fn guv_sleep(seconds: f64) -> c_int {
    #[cfg(target_arch = "x86_64")]
    super::return_by_jump!(sleep);
    #[cfg(not(target_arch = "x86_64"))]
    sleep(seconds)
}

extern "C" fn sleep(seconds: f64) -> c_int {
    boundary("guv_sleep", || ops::sleep(seconds).map(|()| 0))
}

/// Id of the running green thread; 0 outside any green thread (in main).
#[no_mangle]
pub extern "C" fn guv_current() -> i64 {
    ops::current()
}

/// Wait until green thread `id` has ended; 0 at once if it already has.
/// Called from main, it runs the hub meanwhile.
///
/// On failure returns -1 and sets errno: ESRCH (`id` was never issued by
/// this thread's hub, including ids <= 0 and ids of other threads' hubs),
/// EDEADLK (`id` is the caller itself, or the wait can never end),
/// ECANCELED (the caller was killed), ETIMEDOUT (a deadline passed),
/// EINTR (guv_interrupt()), EPERM (inside a guv_call_on_hub() callback),
/// EACCES (may_switch refused).
#[no_mangle]
pub extern "C" fn guv_join(id: i64) -> c_int {
    boundary("guv_join", || ops::join(id).map(|()| 0))
}

/// Kill green thread `id` (as guv_kill()) and wait until it has ended, like
/// guv_join(), but whatever happens to the caller meanwhile: a kill, a passed
/// deadline or guv_interrupt() of the caller does not end this wait. For
/// cleanup that must not return while `id` still runs, such as a killed
/// task's destructor freeing what its child uses; the wait lasts as long as
/// `id` takes to unwind. Returns 0, also when `id` has already ended.
///
/// On failure returns -1 and sets errno: ESRCH (`id` never issued by this
/// thread's hub), EDEADLK (`id` is the caller itself), EPERM (inside a
/// guv_call_on_hub() callback), EACCES (hooks' may_switch refused).
#[no_mangle]
pub extern "C" fn guv_reap(id: i64) -> c_int {
    boundary("guv_reap", || ops::reap(id).map(|()| 0))
}

/// Cancel green thread `id`: its current blocking guv call (if it is
/// suspended in one) and every later one return -1 with errno ECANCELED,
/// so it can unwind by itself. Nothing is unwound by force.
///
/// Returns 0, also when `id` has already ended. On failure returns -1 and
/// sets errno: ESRCH (`id` never issued by this thread's hub), EDEADLK
/// (called from a signal handler that interrupted guv: see the preamble).
#[no_mangle]
pub extern "C" fn guv_kill(id: i64) -> c_int {
    boundary("guv_kill", || ops::kill(id).map(|()| 0))
}

/// Suspend the caller until another green thread (or main, or another OS
/// thread through guv_hub_unpark()) calls guv_unpark() on it: the building
/// block for events, queues and condition variables. An unpark that came
/// while the caller was not parked is kept (one, not counted), and its next
/// park returns at once. `timeout` in seconds: negative waits forever.
///
/// Returns 0 when unparked. On failure returns -1 and sets errno: ETIMEDOUT
/// (`timeout` or a guv_timeout_begin() deadline passed), ECANCELED (killed),
/// EINTR (guv_interrupt()), EINVAL (NaN), EPERM (inside a guv_call_on_hub()
/// callback), EACCES (may_switch refused), EDEADLK (nothing on this hub could
/// ever unpark it: when another OS thread will, hold the hub with
/// guv_hub_hold() meanwhile).
#[no_mangle]
// SAFETY: the body is `return_by_jump!`, which keeps the C ABI (see there).
#[cfg_attr(target_arch = "x86_64", unsafe(naked))]
pub extern "C" fn guv_park(timeout: f64) -> c_int {
    #[cfg(target_arch = "x86_64")]
    super::return_by_jump!(park);
    #[cfg(not(target_arch = "x86_64"))]
    park(timeout)
}

extern "C" fn park(timeout: f64) -> c_int {
    boundary("guv_park", || ops::park(timeout).map(|()| 0))
}

/// Wake green thread `id` (0: main) from guv_park(), or, if it is not
/// parked, let its next guv_park() return at once. Returns 0, also when `id`
/// has ended. On failure returns -1 and sets errno ESRCH (`id` never issued
/// by this thread's hub).
#[no_mangle]
pub extern "C" fn guv_unpark(id: i64) -> c_int {
    boundary("guv_unpark", || ops::unpark(id).map(|()| 0))
}

/// End the current blocking guv call of green thread `id` (0: main) with
/// EINTR, once; if it is not blocked, its next blocking call fails so. Unlike
/// guv_kill() later calls are unaffected. An offloaded call is waited out.
/// Returns 0, also when `id` has ended; -1 with errno ESRCH when `id` was
/// never issued by this thread's hub.
#[no_mangle]
pub extern "C" fn guv_interrupt(id: i64) -> c_int {
    boundary("guv_interrupt", || ops::interrupt(id).map(|()| 0))
}

/// The usable stack of the running green thread: its lowest address in
/// `*lo` and its size in bytes in `*size` (the guard region below is not
/// counted). For runtimes that want their stack limits, such as CPython
/// 3.14. Returns 0, or -1 with errno ESRCH outside a green thread (main, or
/// a guv_call_on_hub() callback) and EINVAL when a pointer is NULL.
#[no_mangle]
pub extern "C" fn guv_stack_bounds(lo: *mut *mut c_void, size: *mut usize) -> c_int {
    boundary("guv_stack_bounds", || {
        if lo.is_null() || size.is_null() {
            return Err(Errno::EINVAL);
        }
        let (bottom, len) = ops::stack_bounds()?;
        // SAFETY: both pointers are non-null and, per the caller, writable.
        unsafe {
            *lo = bottom as *mut c_void;
            *size = len;
        }
        Ok(0)
    })
}

/// Suspend the caller until `fd` is ready for any of `events`
/// (GUV_READ, GUV_WRITE or both). Returns the mask of ready events (both bits
/// when both were asked and both are ready). Hang-up and error conditions
/// count as ready, as in poll(2): the next I/O call reports them. An fd that
/// epoll cannot watch (a regular file) is ready at once.
///
/// An fd closed or replaced behind guv's back while the caller waits (a
/// plain close(2) or dup2(2), from any thread) ends the wait within about a
/// second: see guv_close().
///
/// On failure returns -1 and sets errno: EBADF (fd < 0, or not open, or
/// closed while waited on), EINVAL (events not a non-empty subset of
/// GUV_READ|GUV_WRITE), EBUSY (another green thread already waits for one
/// of these events on this fd; one reader and one writer are fine),
/// ECANCELED (the caller was killed),
/// ETIMEDOUT (a guv_timeout_begin() deadline passed), EINTR
/// (guv_interrupt()), EPERM (inside a guv_call_on_hub() callback), EACCES
/// (may_switch refused).
#[no_mangle]
pub extern "C" fn guv_trampoline(fd: c_int, events: c_int) -> c_int {
    guv_trampoline_timeout(fd, events, -1.0)
}

/// As guv_trampoline(), giving up after `timeout` seconds with ETIMEDOUT.
/// `timeout` 0 polls once without suspending; negative waits forever;
/// NaN fails with EINVAL.
#[no_mangle]
pub extern "C" fn guv_trampoline_timeout(fd: c_int, events: c_int, timeout: f64) -> c_int {
    boundary("guv_trampoline", || {
        let interest = interest(events)?;
        fd::trampoline(fd, interest, timeout).map(|ready| ready.bits())
    })
}

/// As guv_trampoline_timeout(), for a caller that has just had EAGAIN from
/// an I/O call on `fd` (so `fd` is known not ready): an fd guv already
/// watches costs no system call to wait on, where guv_trampoline() re-arms
/// it (one epoll_ctl) to learn its current state. An fd closed or reused
/// behind guv's back is noticed as for any wait (see guv_close()). Same
/// errors as guv_trampoline_timeout().
#[no_mangle]
pub extern "C" fn guv_trampoline_after_eagain(fd: c_int, events: c_int, timeout: f64) -> c_int {
    boundary("guv_trampoline_after_eagain", || {
        let interest = interest(events)?;
        fd::trampoline_after_eagain(fd, interest, timeout).map(|ready| ready.bits())
    })
}

/// Whether the caller may go on: returns 0, or -1 with errno ECANCELED (it
/// was killed) or ETIMEDOUT (a guv_timeout_begin() deadline has passed),
/// without suspending. For code about to start work that a kill or deadline
/// would only interrupt, such as sending a query.
#[no_mangle]
pub extern "C" fn guv_check() -> c_int {
    boundary("guv_check", || ops::check_cancel().map(|()| 0))
}

/// Wake every green thread of this thread's hub waiting on `fd` (their
/// trampoline returns -1 with errno EBADF), forget the hub's state for it,
/// then close(2) it. Close fds that guv has waited on with this call (or
/// under libguv_hook): the waiters learn at once.
///
/// An fd closed or replaced behind guv's back instead (a plain close(2) or
/// dup2(2), from any thread, including another hub's) is noticed within
/// about a second, since guv checks the fd of every wait each second it
/// lasts (one epoll_ctl): the wait fails with EBADF if the number is no
/// longer open; if it names another file by then (reused, or dup2), the
/// wait goes on as a wait on that file and ends with its readiness, as
/// poll(2) on the number would.
///
/// Returns 0, or -1 with errno EBADF (fd < 0 or not open) or close(2)'s errno.
#[no_mangle]
pub extern "C" fn guv_close(fd: c_int) -> c_int {
    boundary("guv_close", || fd::close(fd).map(|()| 0))
}

/// The version of the libguv actually loaded, as "MAJOR.MINOR.PATCH"
/// (compare with GUV_VERSION from the header it was compiled against).
/// The string is static; do not free it.
#[no_mangle]
pub extern "C" fn guv_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The monotonic clock, in seconds.
#[no_mangle]
pub extern "C" fn guv_now() -> f64 {
    crate::now()
}

/// Number of green threads alive on this OS thread's hub (main not counted).
/// Returns -1 with errno ESRCH if the thread's hub is already torn down.
#[no_mangle]
pub extern "C" fn guv_count() -> i64 {
    boundary("guv_count", || ops::count().map(|n| n as i64))
}

/// Set the process-wide default stack size in bytes for green threads
/// spawned from now on (rounded up to pages). The GUV_STACK_SIZE environment
/// variable sets the initial default: bytes, decimal or 0x-hexadecimal, with
/// an optional K, M or G suffix ("512K", "1M"); a value that is not a size
/// from 16 KiB to 1 TiB is ignored, saying so once on stderr. Returns 0, or
/// -1 with errno EINVAL for a size below 16 KiB or above 1 TiB.
#[no_mangle]
pub extern "C" fn guv_set_stack_size(size: usize) -> c_int {
    boundary("guv_set_stack_size", || stack::set_default_size(size).map(|()| 0))
}

/// The process-wide default stack size in bytes.
#[no_mangle]
pub extern "C" fn guv_stack_size() -> usize {
    stack::default_size()
}

/// 1 if the default stack size was chosen, by guv_set_stack_size() or by a
/// usable GUV_STACK_SIZE; 0 if it is guv's own 256 KiB. A binding whose green
/// threads need more by default (CPython's) uses its own size only when 0.
#[no_mangle]
pub extern "C" fn guv_stack_size_chosen() -> c_int {
    stack::default_chosen() as c_int
}

/// How stack guard regions are made: GUV_GUARD_MADVISE, GUV_GUARD_MPROTECT,
/// or 0 before the first stack was carved.
#[no_mangle]
pub extern "C" fn guv_guard_kind() -> c_int {
    crate::guard_kind() as c_int
}

/// Add a process-wide set of per-task hooks (copied) after those in force,
/// as each binding in a process does for its own per-task state. A green
/// thread takes the sets in force when it starts running (not when it is
/// spawned) and keeps them for life. Returns the set's handle (> 0, never
/// reused), for guv_remove_hooks(). See guv_hooks for when each callback
/// runs, and in which order when several sets are in force.
///
/// On failure returns -1 and sets errno: EINVAL (`hooks` is NULL, or
/// `hooks->size` is not sizeof(guv_hooks) of a guv this library can read),
/// ENOSPC (GUV_HOOKS_MAX sets are in force).
#[no_mangle]
pub extern "C" fn guv_add_hooks(hooks: *const guv_hooks) -> c_int {
    boundary("guv_add_hooks", || {
        if hooks.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: the caller passes a valid guv_hooks of `size` bytes.
        callbacks::add(unsafe { guv_hooks::read(hooks) }?)
    })
}

/// Remove the hook set `handle` (from guv_add_hooks()): green threads that
/// start afterwards run without it, those already started keep it. Returns 0.
///
/// On failure returns -1 and sets errno: ENOENT (no set in force has that handle).
#[no_mangle]
pub extern "C" fn guv_remove_hooks(handle: c_int) -> c_int {
    boundary("guv_remove_hooks", || callbacks::remove(handle).map(|()| 0))
}

/// 1 if the caller may switch now (blocking guv calls would suspend rather
/// than fail), else 0: inside a guv_call_on_hub() callback, or when the
/// hooks' may_switch says no.
#[no_mangle]
pub extern "C" fn guv_can_switch() -> c_int {
    ops::can_switch() as c_int
}

/// Run `func(arg)` on the hub's own stack (not the green thread's) and return
/// when it has. For code that must never run on a green-thread stack (Go
/// callbacks). `func` must not block: blocking guv calls made inside fail with
/// EPERM. Returns 0, or -1 with errno EINVAL (func is NULL).
#[no_mangle]
pub extern "C" fn guv_call_on_hub(func: guv_fn, arg: *mut c_void) -> c_int {
    boundary("guv_call_on_hub", || {
        let f = func.ok_or(Errno::EINVAL)?;
        // SAFETY: the caller vouches that func(arg) may be called here, now.
        unsafe { ops::call_on_hub(f, arg) }.map(|()| 0)
    })
}

/// A new reference to this OS thread's hub (created on first use), usable
/// from any thread. Release it with guv_hub_release(). Returns NULL with
/// errno ESRCH if the thread's hub is already torn down.
#[no_mangle]
pub extern "C" fn guv_hub_self() -> *mut guv_hub {
    boundary("guv_hub_self", || remote::handle().map(|s| Arc::into_raw(s) as *mut guv_hub))
}

/// Drop a reference obtained from guv_hub_self(). NULL is ignored.
#[no_mangle]
pub extern "C" fn guv_hub_release(hub: *mut guv_hub) {
    if !hub.is_null() {
        // SAFETY: `hub` came from Arc::into_raw in guv_hub_self and is released once.
        drop(unsafe { Arc::from_raw(hub.cast::<HubHandle>()) });
    }
}

/// Thread-safe: start `func(arg)` as a green thread on `hub`, from any OS
/// thread; the hub wakes up for it. The new green thread learns its id with
/// guv_current(). `arg` must be usable on the hub's thread. Its stack (of
/// the default size, guv_set_stack_size()) is taken here, so a submission
/// either fails here or starts; the hub's guv_run() does not return before
/// it ran. (Only with 2^21 green threads alive on the hub does it wait, for
/// one of them to end.) Submissions still queued when the hub's thread exits
/// never run (stderr says how many; the hook sets' never_started get their
/// `func` and `arg`, see guv_hooks); hold the hub (guv_hub_hold()) to avoid
/// that.
///
/// Returns 0. On failure returns -1 and sets errno: EINVAL (hub or func NULL),
/// ESRCH (the hub's thread has exited), ENOMEM (no memory for the green
/// thread's stack).
#[no_mangle]
pub extern "C" fn guv_hub_spawn(hub: *mut guv_hub, func: guv_fn, arg: *mut c_void) -> c_int {
    boundary("guv_hub_spawn", || {
        let (hub, f) = (hub_ref(hub)?, func.ok_or(Errno::EINVAL)?);
        // SAFETY: the caller vouches that func(arg) may be called on the hub's thread.
        unsafe { remote::remote_spawn(&*hub, f, arg) }.map(|()| 0)
    })
}

/// Thread-safe guv_kill() of green thread `id` on `hub`. The kill is
/// delivered at the hub's next turn: an id of that hub that has ended, or
/// was never issued, is then ignored. Returns 0. On failure returns -1 and
/// sets errno: EINVAL (hub NULL), ESRCH (`id` is not of this hub, or the
/// hub's thread has exited).
#[no_mangle]
pub extern "C" fn guv_hub_kill(hub: *mut guv_hub, id: i64) -> c_int {
    boundary("guv_hub_kill", || remote::remote_kill(&*hub_ref(hub)?, id).map(|()| 0))
}

/// Thread-safe guv_unpark() of green thread `id` (0: the hub thread's main)
/// on `hub`. Returns 0. On failure returns -1 and sets errno: EINVAL (hub
/// NULL), ESRCH (`id` is not of this hub, or the hub's thread has exited).
#[no_mangle]
pub extern "C" fn guv_hub_unpark(hub: *mut guv_hub, id: i64) -> c_int {
    boundary("guv_hub_unpark", || remote::remote_unpark(&*hub_ref(hub)?, id).map(|()| 0))
}

/// Thread-safe guv_interrupt() of green thread `id` (0: the hub thread's
/// main) on `hub`, e.g. from a signal-watching thread. Returns 0. On failure
/// returns -1 and sets errno: EINVAL (hub NULL), ESRCH (`id` is not of this
/// hub, or the hub's thread has exited).
#[no_mangle]
pub extern "C" fn guv_hub_interrupt(hub: *mut guv_hub, id: i64) -> c_int {
    boundary("guv_hub_interrupt", || remote::remote_interrupt(&*hub_ref(hub)?, id).map(|()| 0))
}

/// Thread-safe: keep `hub`'s guv_run() waiting for submissions even when no
/// green thread is left, until a matching guv_hub_unhold(). Holds nest.
/// Returns 0, or -1 with errno EINVAL (hub NULL).
#[no_mangle]
pub extern "C" fn guv_hub_hold(hub: *mut guv_hub) -> c_int {
    boundary("guv_hub_hold", || hub_ref(hub).map(|h| h.hold()).map(|()| 0))
}

/// Thread-safe: end one guv_hub_hold(); the hub's guv_run() returns once
/// no hold and no green thread is left. Returns 0, or -1 with errno EINVAL
/// (hub NULL, or more unholds than holds).
#[no_mangle]
pub extern "C" fn guv_hub_unhold(hub: *mut guv_hub) -> c_int {
    boundary("guv_hub_unhold", || hub_ref(hub)?.unhold().map(|()| 0))
}

/// Open a nested deadline `seconds` from now on the calling green thread
/// (or main): every blocking guv call inside it — sleep, trampoline, join,
/// the greenified I/O calls, also when made from a driver's wait callback —
/// fails with ETIMEDOUT once the earliest open deadline has passed.
/// Returns 0, or -1 with errno EINVAL (NaN). +infinity opens no limit.
#[no_mangle]
pub extern "C" fn guv_timeout_begin(seconds: f64) -> c_int {
    boundary("guv_timeout_begin", || ops::timeout_begin(seconds).map(|()| 0))
}

/// Close the innermost deadline opened by guv_timeout_begin().
/// Returns 0, or -1 with errno EPERM when none is open.
#[no_mangle]
pub extern "C" fn guv_timeout_end() -> c_int {
    boundary("guv_timeout_end", || ops::timeout_end().map(|()| 0))
}

/// Run `func(arg)` on guv's pool of OS threads (GUV_OFFLOAD_THREADS, default
/// 8) and suspend only the caller until it returns: for getaddrinfo, file
/// I/O and C calls that can never be cooperative. It cannot be interrupted:
/// kill and deadlines take effect at the caller's next blocking call, since
/// `func` may still be using `arg`. Unlike every other blocking call, it
/// also runs `func` (and returns 0) for a caller that was already killed or
/// whose deadline has passed: clean-up that must block, such as cancelling
/// a query on the server, goes here. A `func` that ends its thread with
/// pthread_exit() (CPython does, to a thread that wants the GIL while the
/// interpreter finalizes) ends only that pool thread: its cleanup handlers
/// run and the caller returns 0 as if `func` had returned.
///
/// Returns 0. On failure returns -1 and sets errno: EINVAL (func NULL),
/// EPERM (inside a guv_call_on_hub() callback), EAGAIN (no thread could be
/// started), EACCES (may_switch refused).
#[no_mangle]
pub extern "C" fn guv_offload(func: guv_fn, arg: *mut c_void) -> c_int {
    boundary("guv_offload", || {
        let f = func.ok_or(Errno::EINVAL)?;
        // SAFETY: the caller vouches that func(arg) may run on another thread
        // while it waits, as the doc above requires.
        unsafe { ops::offload(f, arg) }.map(|()| 0)
    })
}
