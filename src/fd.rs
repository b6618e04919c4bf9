//! Waiting on fds and the hub's per-fd books, for the C ABI and the I/O
//! layer: guv_trampoline (with its poll-once path), close and forget, and
//! what io.rs asks of the reactor before and after each call (pending
//! errors, fd kind and mode).

use crate::clock::{self, Deadline};
use crate::errno::{Errno, Result};
use crate::hub::{self, with, with_existing};
use crate::reactor::{FdFacts, FdKind, FdMode, Interest};

/// Waits until `fd` is ready for any of `interest`; returns the ready mask.
/// `timeout` in seconds: negative waits forever, 0 polls once.
pub fn trampoline(fd: i32, interest: Interest, timeout: f64) -> Result<Interest> {
    let until = wait_until(fd, timeout)?;
    if timeout == 0.0 {
        return poll_now(fd, interest);
    }
    let ready = hub::wait_fd(fd, interest, until, true)?;
    Ok(Interest::from_bits(ready).unwrap_or(interest))
}

/// As `trampoline`, for a caller that has just seen EAGAIN on `fd`: a
/// registered fd is then known not ready, so no re-arm system call is needed.
pub fn trampoline_after_eagain(fd: i32, interest: Interest, timeout: f64) -> Result<Interest> {
    wait_after_eagain(fd, interest, wait_until(fd, timeout)?)
}

/// The checks both trampolines make: EBADF for fd < 0, EINVAL for a NaN
/// timeout; then the deadline `timeout` seconds away (negative: none).
fn wait_until(fd: i32, timeout: f64) -> Result<Deadline> {
    if fd < 0 {
        return Err(Errno::EBADF);
    }
    clock::after_or_never(timeout)
}

/// Waits for `interest` on `fd` right after an I/O call on it failed with
/// EAGAIN: a registered fd is then known not ready, so no re-arm is needed.
#[inline(always)]
pub(crate) fn wait_after_eagain(fd: i32, interest: Interest, until: Deadline) -> Result<Interest> {
    let ready = hub::wait_fd(fd, interest, until, false)?;
    Ok(Interest::from_bits(ready).unwrap_or(interest))
}

fn poll_now(fd: i32, interest: Interest) -> Result<Interest> {
    let mut pfd = libc::pollfd { fd, events: interest.poll_events(), revents: 0 };
    crate::sys::call::poll(&mut pfd, 1, 0)?;
    if pfd.revents & libc::POLLNVAL != 0 {
        return Err(Errno::EBADF);
    }
    interest.ready_in(pfd.revents).ok_or(Errno::ETIMEDOUT)
}

/// Wakes every green thread waiting on `fd` with EBADF, forgets it, and closes it.
pub fn close(fd: i32) -> Result<()> {
    if fd < 0 {
        return Err(Errno::EBADF);
    }
    forget_fd(fd)?;
    crate::sys::call::close(fd).map(drop)
}

/// Wakes the waiters of `fd` with EBADF and drops the hub's state for it
/// (for callers that close or replace the fd themselves, e.g. dup2).
pub fn forget_fd(fd: i32) -> Result<()> {
    with_existing(|h| h.forget_fd(fd)).map(drop)
}

/// The start of every greenified call, in one visit to the hub: fails with
/// ECANCELED or ETIMEDOUT as `check_cancel`, or with the error kept for `fd`
/// (see `set_pending_error`), else says what is known of `fd`.
#[inline(always)]
pub(crate) fn io_begin(fd: i32) -> Result<FdFacts> {
    let l = hub::local();
    with(|h| match h.current_task().cancelled() {
        Some(e) => Err(e),
        None => h.reactor().begin_call(fd, l.dry.get()),
    })?
}

/// Keeps `e` for the next call on `fd`: a call that made progress before an
/// error returns its count, and the error must not be lost.
pub(crate) fn set_pending_error(fd: i32, e: Errno) {
    let _ = with(|h| h.reactor().set_pending(fd, e));
}

pub(crate) fn set_fd_kind(fd: i32, kind: FdKind) {
    let _ = with(|h| h.reactor().set_kind(fd, kind));
}

/// The cached mode of `fd` (see FdMode).
pub(crate) fn fd_mode(fd: i32) -> Option<FdMode> {
    with(|h| h.reactor().mode(fd)).ok().flatten()
}

pub(crate) fn set_fd_mode(fd: i32, mode: Option<FdMode>) {
    let _ = with(|h| h.reactor().set_mode(fd, mode));
}
