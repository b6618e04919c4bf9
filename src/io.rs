//! Greenified I/O: the POSIX calls with their exact results, suspending only
//! the calling green thread.
//!
//! On an fd in blocking mode a call is emulated: a non-blocking attempt,
//! a wait on EAGAIN, another attempt. Sockets get MSG_DONTWAIT per call, so
//! the fast path costs no extra system call and the fd's flags never change;
//! other fds (pipes, ttys) get O_NONBLOCK for the length of one attempt.
//! An fd the caller made non-blocking passes straight through.

use std::ffi::c_void;

use crate::clock::{self, Deadline, NEVER};
use crate::errno::{Errno, Result};
use crate::reactor::{FdFacts, FdKind, FdMode, Interest, ModeHint};
use crate::sys::call as sys;
use crate::{fd, hub, ops};

fn fd_flags(fd: i32) -> Result<i32> {
    sys::fcntl(fd, libc::F_GETFL, 0).map(|fl| fl as i32)
}

/// SO_RCVTIMEO or SO_SNDTIMEO in nanoseconds (0 when unset or not a socket).
fn socket_timeout_ns(fd: i32, opt: i32) -> u64 {
    let mut tv = libc::timeval { tv_sec: 0, tv_usec: 0 };
    let mut len = std::mem::size_of::<libc::timeval>() as libc::socklen_t;
    // `tv` and `len` are valid for writing a timeval.
    match sys::getsockopt(fd, libc::SOL_SOCKET, opt, (&raw mut tv).cast(), &mut len) {
        Ok(_) => tv.tv_sec as u64 * 1_000_000_000 + tv.tv_usec as u64 * 1000,
        Err(_) => 0,
    }
}

/// An int socket option at SOL_SOCKET (-1 when not a socket).
fn socket_int(fd: i32, opt: i32) -> i32 {
    let mut v: i32 = -1;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // `v` and `len` are valid for an int option.
    match sys::getsockopt(fd, libc::SOL_SOCKET, opt, (&raw mut v).cast(), &mut len) {
        Ok(_) => v,
        Err(_) => -1,
    }
}

/// A TCP socket: the one kind whose short read says it was read dry (see
/// FdFacts::drained). An AF_UNIX stream read stops short at a message that
/// carries fds or other credentials, with more data queued behind it.
fn is_tcp(fd: i32) -> bool {
    socket_int(fd, libc::SO_PROTOCOL) == libc::IPPROTO_TCP
        && matches!(socket_int(fd, libc::SO_DOMAIN), libc::AF_INET | libc::AF_INET6)
}

/// The caller's view of `fd` (flags, socket timeouts), asked of the kernel
/// once and then kept by the hub (see FdMode).
#[cold]
fn mode(fd: i32) -> Result<FdMode> {
    if let Some(m) = fd::fd_mode(fd) {
        return Ok(m);
    }
    let m = FdMode {
        flags: fd_flags(fd)?,
        rcvtimeo: socket_timeout_ns(fd, libc::SO_RCVTIMEO),
        sndtimeo: socket_timeout_ns(fd, libc::SO_SNDTIMEO),
        tcp: is_tcp(fd),
    };
    fd::set_fd_mode(fd, Some(m));
    Ok(m)
}

/// How long a blocking call on `fd` may wait for `interest`: its socket timeout as a deadline.
fn deadline(m: FdMode, interest: Interest) -> Deadline {
    let ns = if interest == Interest::WRITE { m.sndtimeo } else { m.rcvtimeo };
    if ns == 0 {
        NEVER
    } else {
        clock::now_ns().saturating_add(ns)
    }
}

/// Suspends until `fd` is ready for `interest` after an attempt saw EAGAIN.
/// Where the caller may not switch (a hub-stack callback, or the binding's
/// may_switch says no) it blocks the OS thread in poll(2), as the plain call would.
/// The caller's own timeout (`until`) running out reads as EAGAIN, as for a
/// socket with SO_RCVTIMEO; a guv_timeout_begin deadline as ETIMEDOUT.
/// Inlined into each call: as a function of its own, with the request
/// dispatch behind it, it cost an echo round trip ~50 instructions.
#[inline(always)]
fn wait(fd: i32, interest: Interest, until: Deadline) -> Result<()> {
    // Only the slow path's callers (main, the hub's stack, hooks) may be refused a switch.
    if hub::cur().slow() && !ops::can_switch() {
        return poll_blocking(fd, interest, until);
    }
    match fd::wait_after_eagain(fd, interest, until) {
        Ok(_) => Ok(()),
        Err(e) => Err(wait_error(e, until)),
    }
}

#[cold]
fn wait_error(e: Errno, until: Deadline) -> Errno {
    if e == Errno::ETIMEDOUT && until != NEVER && clock::now_ns() >= until {
        Errno::EAGAIN
    } else {
        e
    }
}

#[cold]
fn poll_blocking(fd: i32, interest: Interest, until: Deadline) -> Result<()> {
    let mut pfd = libc::pollfd { fd, events: interest.poll_events(), revents: 0 };
    let ms = if until == NEVER { -1 } else { (until.saturating_sub(clock::now_ns()) / 1_000_000) as i32 };
    match sys::poll(&mut pfd, 1, ms)? {
        0 => Err(Errno::EAGAIN),
        _ => Ok(()),
    }
}

/// Repeats `attempt` until it does not fail with EAGAIN, waiting for
/// `interest` between attempts. `attempt` must not block (MSG_DONTWAIT or
/// O_NONBLOCK). At the first EAGAIN, `blocking` says whether the caller
/// wanted a blocking call (Some: wait, until that deadline) or not (None:
/// EAGAIN is its answer). With `dry` (see FdFacts::drained) the first
/// attempt is known to fail with EAGAIN and is not made.
#[inline(always)]
fn cooperate(
    fd: i32,
    interest: Interest,
    dry: bool,
    blocking: impl Fn() -> Result<Option<Deadline>>,
    mut attempt: impl FnMut() -> Result<usize>,
) -> Result<usize> {
    let mut until = None;
    let mut skip = dry;
    loop {
        if !skip {
            match attempt() {
                Err(Errno::EAGAIN) => {}
                other => return other,
            }
        }
        skip = false;
        let until = match until {
            Some(u) => u,
            None => *until.insert(blocking()?.ok_or(Errno::EAGAIN)?),
        };
        wait(fd, interest, until)?;
    }
}

/// A socket call: MSG_DONTWAIT per attempt, unless the caller asked for it.
/// `hint` is the fd's mode as `begin` found it.
#[inline(always)]
fn socket_op(
    fd: i32,
    interest: Interest,
    flags: i32,
    hint: ModeHint,
    dry: bool,
    mut call: impl FnMut(i32) -> Result<usize>,
) -> Result<usize> {
    let r = cooperate(
        fd,
        interest,
        dry,
        || {
            if flags & libc::MSG_DONTWAIT != 0 {
                return Ok(None);
            }
            match hint {
                ModeHint::Blocking => Ok(Some(NEVER)),
                ModeHint::NonBlocking => Ok(None),
                ModeHint::Unknown | ModeHint::Timeouts => {
                    let m = mode(fd)?;
                    Ok((m.flags & libc::O_NONBLOCK == 0).then(|| deadline(m, interest)))
                }
            }
        },
        || call(flags | libc::MSG_DONTWAIT),
    );
    if r == Err(Errno::ENOTSOCK) {
        fd::set_fd_kind(fd, FdKind::Other);
    }
    r
}

/// A call on a non-socket fd: O_NONBLOCK is set for each attempt and the
/// caller's flags restored right after, before any switch. The flags are
/// read afresh each time: restoring remembered ones would undo a change the
/// caller made since (O_NONBLOCK, O_APPEND).
fn toggled_op(fd: i32, interest: Interest, mut call: impl FnMut() -> Result<usize>) -> Result<usize> {
    let flags = fd_flags(fd)?;
    if flags & libc::O_NONBLOCK != 0 {
        return call();
    }
    cooperate(
        fd,
        interest,
        false,
        || Ok(Some(deadline(mode(fd)?, interest))),
        || {
            let _ = sys::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
            let r = call();
            let _ = sys::fcntl(fd, libc::F_SETFL, flags);
            r
        },
    )
}

/// A call that made progress and then met `e` returns its count, and the
/// fd's next call reports `e`: a socket error is consumed by the call that
/// fetched it, so dropping it would turn a reset into a clean end. Errors of
/// the caller's own making (kill, deadline, interrupt) are not kept.
fn progress_then(fd: i32, done: usize, e: Errno) -> usize {
    if !matches!(e, Errno::ECANCELED | Errno::ETIMEDOUT | Errno::EINTR | Errno::EAGAIN) {
        fd::set_pending_error(fd, e);
    }
    done
}

/// Blocking write semantics: everything is written unless an error comes
/// first; an error after some progress returns the progress (the next call
/// reports the error), as an interrupted blocking write does.
fn write_all(fd: i32, total: usize, mut step: impl FnMut(usize) -> Result<usize>) -> Result<usize> {
    let mut done = 0;
    loop {
        match step(done) {
            Ok(n) => done += n,
            Err(e) if done == 0 => return Err(e),
            Err(e) => return Ok(progress_then(fd, done, e)),
        }
        if done >= total {
            return Ok(done);
        }
    }
}

/// The start of every call: fails if the caller was killed or its deadline
/// passed (even when data is ready), and says what is known of `fd`: whether
/// it may be a socket, and its mode. One visit to the hub for all of it.
#[inline(always)]
fn begin(fd: i32) -> Result<FdFacts> {
    fd::io_begin(fd)
}

/// Whether a read of `len` bytes may skip its first attempt: the socket
/// was read dry since its last readable event (a read of 0 bytes returns at once).
#[inline(always)]
fn dry(known: FdFacts, len: usize) -> bool {
    known.drained && len > 0
}

/// After a read of a blocking socket returned `r` for `len` bytes: a short
/// read emptied it, if it is a TCP socket (see FdFacts::drained), which
/// the next read can use. One store to a thread-local, no visit to the hub.
#[inline(always)]
fn note_read(fd: i32, known: FdFacts, len: usize, r: Result<usize>) -> Result<usize> {
    if let Ok(n) = r {
        if n > 0 && n < len && known.mode == ModeHint::Blocking {
            hub::local().dry.set(fd);
        }
    }
    r
}

pub fn read(fd: i32, buf: *mut c_void, len: usize) -> Result<usize> {
    let known = begin(fd)?;
    if known.kind != FdKind::Other {
        match socket_op(fd, Interest::READ, 0, known.mode, dry(known, len), |fl| {
            sys::recvfrom(fd, buf, len, fl, std::ptr::null_mut(), std::ptr::null_mut())
        }) {
            Err(Errno::ENOTSOCK) => {}
            other => return note_read(fd, known, len, other),
        }
    }
    toggled_op(fd, Interest::READ, || sys::read(fd, buf, len))
}

pub fn write(fd: i32, buf: *const c_void, len: usize) -> Result<usize> {
    let known = begin(fd)?;
    let mut socket = known.kind != FdKind::Other;
    write_all(fd, len, |done| {
        // SAFETY: `done < len`, so the rest of the caller's buffer is valid.
        let rest = unsafe { buf.cast::<u8>().add(done) }.cast::<c_void>();
        if socket {
            match socket_op(fd, Interest::WRITE, 0, known.mode, false, |fl| {
                sys::sendto(fd, rest, len - done, fl, std::ptr::null(), 0)
            }) {
                Err(Errno::ENOTSOCK) => socket = false,
                other => return other,
            }
        }
        toggled_op(fd, Interest::WRITE, || sys::write(fd, rest, len - done))
    })
}

fn iov_msg(iov: *const libc::iovec, iovcnt: i32) -> libc::msghdr {
    // SAFETY: an all-zero msghdr is valid (no name, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.cast_mut();
    msg.msg_iovlen = iovcnt as usize;
    msg
}

pub fn readv(fd: i32, iov: *const libc::iovec, iovcnt: i32) -> Result<usize> {
    let known = begin(fd)?;
    if known.kind != FdKind::Other {
        let mut msg = iov_msg(iov, iovcnt);
        match socket_op(fd, Interest::READ, 0, known.mode, false, |fl| sys::recvmsg(fd, &mut msg, fl)) {
            Err(Errno::ENOTSOCK) => {}
            other => return other,
        }
    }
    toggled_op(fd, Interest::READ, || sys::readv(fd, iov, iovcnt))
}

/// Unlike `write`, a short writev is returned as such rather than completed:
/// finishing it would mean copying and advancing the caller's iovec array.
pub fn writev(fd: i32, iov: *const libc::iovec, iovcnt: i32) -> Result<usize> {
    let known = begin(fd)?;
    if known.kind != FdKind::Other {
        let msg = iov_msg(iov, iovcnt);
        match socket_op(fd, Interest::WRITE, 0, known.mode, false, |fl| sys::sendmsg(fd, &msg, fl)) {
            Err(Errno::ENOTSOCK) => {}
            other => return other,
        }
    }
    toggled_op(fd, Interest::WRITE, || sys::writev(fd, iov, iovcnt))
}

pub fn recv(fd: i32, buf: *mut c_void, len: usize, flags: i32) -> Result<usize> {
    recvfrom(fd, buf, len, flags, std::ptr::null_mut(), std::ptr::null_mut())
}

pub fn recvfrom(
    fd: i32,
    buf: *mut c_void,
    len: usize,
    flags: i32,
    addr: *mut libc::sockaddr,
    addrlen: *mut libc::socklen_t,
) -> Result<usize> {
    let known = begin(fd)?;
    let waitall = flags & libc::MSG_WAITALL != 0 && flags & libc::MSG_DONTWAIT == 0;
    let flags = flags & !libc::MSG_WAITALL;
    // A plain read (not a peek, not out-of-band data) may use and tell whether the socket is dry.
    let plain = flags == 0;
    let mut done = 0;
    loop {
        // SAFETY: `done < len` bytes of the caller's buffer are left; address out-params as for recvfrom(2).
        let rest = unsafe { buf.cast::<u8>().add(done) }.cast::<c_void>();
        let r = socket_op(fd, Interest::READ, flags, known.mode, plain && done == 0 && dry(known, len), |fl| {
            sys::recvfrom(fd, rest, len - done, fl, addr, addrlen)
        });
        let r = if plain { note_read(fd, known, len - done, r) } else { r };
        // MSG_WAITALL: keep reading until `len` bytes, EOF or an error after progress.
        match r {
            Ok(n) if waitall && n > 0 && done + n < len => done += n,
            Ok(n) => return Ok(done + n),
            Err(e) if done > 0 => return Ok(progress_then(fd, done, e)),
            Err(e) => return Err(e),
        }
    }
}

pub fn send(fd: i32, buf: *const c_void, len: usize, flags: i32) -> Result<usize> {
    sendto(fd, buf, len, flags, std::ptr::null(), 0)
}

pub fn sendto(
    fd: i32,
    buf: *const c_void,
    len: usize,
    flags: i32,
    addr: *const libc::sockaddr,
    addrlen: libc::socklen_t,
) -> Result<usize> {
    let known = begin(fd)?;
    let nonblocking = flags & libc::MSG_DONTWAIT != 0;
    write_all(fd, if nonblocking { 0 } else { len }, |done| {
        // SAFETY: `done < len`; the rest of the caller's buffer is valid, as for sendto(2).
        let rest = unsafe { buf.cast::<u8>().add(done) }.cast::<c_void>();
        socket_op(fd, Interest::WRITE, flags, known.mode, false, |fl| {
            sys::sendto(fd, rest, len - done, fl, addr, addrlen)
        })
    })
}

pub fn recvmsg(fd: i32, msg: *mut libc::msghdr, flags: i32) -> Result<usize> {
    let known = begin(fd)?;
    socket_op(fd, Interest::READ, flags, known.mode, false, |fl| sys::recvmsg(fd, msg, fl))
}

pub fn sendmsg(fd: i32, msg: *const libc::msghdr, flags: i32) -> Result<usize> {
    let known = begin(fd)?;
    socket_op(fd, Interest::WRITE, flags, known.mode, false, |fl| sys::sendmsg(fd, msg, fl))
}

pub fn accept4(fd: i32, addr: *mut libc::sockaddr, addrlen: *mut libc::socklen_t, flags: i32) -> Result<i32> {
    begin(fd)?;
    toggled_op(fd, Interest::READ, || sys::accept4(fd, addr, addrlen, flags)).map(|n| {
        // A new fd: whatever the hub remembers of this number is from a closed one.
        let _ = fd::forget_fd(n as i32);
        fd::set_fd_kind(n as i32, FdKind::Socket);
        n as i32
    })
}

/// A blocking connect: start it non-blocking, wait for writability, then
/// report the outcome from SO_ERROR. A non-blocking fd passes straight through.
pub fn connect(fd: i32, addr: *const libc::sockaddr, addrlen: libc::socklen_t) -> Result<()> {
    // A socket being connected is new: what the hub remembers of its number is stale.
    fd::forget_fd(fd)?;
    let flags = fd_flags(fd)?;
    let attempt = || sys::connect(fd, addr, addrlen);
    if flags & libc::O_NONBLOCK != 0 {
        return attempt().map(drop);
    }
    let _ = sys::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    let r = attempt();
    let _ = sys::fcntl(fd, libc::F_SETFL, flags);
    match r {
        Ok(_) => return Ok(()),
        Err(Errno(libc::EINPROGRESS)) => {}
        Err(e) => return Err(e),
    }
    fd::set_fd_kind(fd, FdKind::Socket);
    wait(fd, Interest::WRITE, deadline(mode(fd)?, Interest::WRITE)).map_err(|e| {
        if e == Errno::EAGAIN {
            Errno::ETIMEDOUT
        } else {
            e
        }
    })?;
    let mut err: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // `err` and `len` are valid for an int option.
    sys::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR, (&raw mut err).cast(), &mut len)?;
    if err != 0 {
        return Err(Errno(err));
    }
    // The socket is still "connecting" in the kernel's books until connect(2)
    // is called again; without this a later connect would return 0, not EISCONN.
    match attempt() {
        Ok(_) | Err(Errno(libc::EISCONN)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// poll(2) that suspends only the caller. One fd waits in the hub's reactor;
/// several wait through a temporary level-triggered epoll instance, watched
/// like any other fd, so they cannot collide with other green threads' waits.
///
/// # Safety
/// `fds` must point to `nfds` valid pollfds (or be unused when nfds is 0).
pub unsafe fn poll(fds: *mut libc::pollfd, nfds: libc::nfds_t, timeout_ms: i32) -> Result<usize> {
    let poll_now = || sys::poll(fds, nfds, 0);
    ops::check_cancel()?;
    if !ops::can_switch() {
        // A hub-stack callback, or may_switch refused: block the plain way.
        return sys::poll(fds, nfds, timeout_ms);
    }
    let n = poll_now()?;
    if n > 0 || timeout_ms == 0 {
        return Ok(n);
    }
    let until = if timeout_ms < 0 { NEVER } else { clock::after(timeout_ms as f64 / 1e3)? };
    let seconds_left =
        || if until == NEVER { -1.0 } else { until.saturating_sub(clock::now_ns()) as f64 / 1e9 };
    if nfds == 0 {
        return ops::sleep(seconds_left()).map(|()| 0);
    }
    // SAFETY: per the caller, `fds` holds `nfds` pollfds (non-null, as nfds > 0).
    let list = unsafe { std::slice::from_raw_parts(fds, nfds as usize) };
    let watched: Vec<&libc::pollfd> = list.iter().filter(|p| p.fd >= 0).collect();
    if watched.is_empty() {
        return ops::sleep(seconds_left()).map(|()| 0);
    }
    loop {
        let left = seconds_left();
        if left == 0.0 {
            return Ok(0);
        }
        // guv checks an fd it waits on each second, but not the members of
        // wait_many's private epoll: a closed one vanishes from it silently.
        // Look at them all again (poll_now says POLLNVAL) each second.
        let left = if watched.len() > 1 && (left < 0.0 || left > 1.0) { 1.0 } else { left };
        let r = if watched.len() == 1 {
            let p = watched[0];
            let interest = Interest::from_poll_events(p.events).unwrap_or(Interest::READ);
            match fd::trampoline(p.fd, interest, left) {
                Err(Errno::EBUSY) => wait_many(&watched, left),
                other => other.map(drop),
            }
        } else {
            wait_many(&watched, left)
        };
        match r {
            Ok(()) | Err(Errno::EBADF) => {}
            Err(Errno::ETIMEDOUT) if until != NEVER && clock::now_ns() >= until => return Ok(0),
            // The one-second slice ran out, unless it was a guv_timeout_begin deadline.
            Err(Errno::ETIMEDOUT) if watched.len() > 1 => ops::check_cancel()?,
            Err(e) => return Err(e),
        }
        let n = poll_now()?;
        if n > 0 {
            return Ok(n);
        }
    }
}

fn wait_many(watched: &[&libc::pollfd], seconds: f64) -> Result<()> {
    let ep = sys::epoll_create1(libc::EPOLL_CLOEXEC)? as i32;
    for p in watched {
        let events = Interest::from_poll_events(p.events).map_or(0, Interest::epoll_events);
        let mut ev = libc::epoll_event { events, u64: 0 };
        // A bad `p.fd` fails here and poll_now reports POLLNVAL for it.
        let _ = sys::epoll_ctl(ep, libc::EPOLL_CTL_ADD, p.fd, &mut ev);
    }
    let r = fd::trampoline(ep, Interest::READ, seconds).map(drop);
    let _ = fd::close(ep);
    r
}
