//! Exports of the I/O layer: POSIX calls that suspend only the calling green
//! thread. Each has the signature and results of its POSIX namesake; on an fd
//! in blocking mode it waits cooperatively (the fd's flags are left as they
//! were), on an fd the caller made non-blocking it passes straight through.
//! Called from main they run the hub while they wait. Inside a
//! guv_call_on_hub() callback, or when the hooks' may_switch refuses, they
//! block the OS thread as the plain call would.
//!
//! Besides the errno of the POSIX call, each may fail with ECANCELED (the
//! caller was killed), ETIMEDOUT (a guv_timeout_begin() deadline passed) or
//! EINTR (guv_interrupt(), as a signal interrupts the blocking call).
//! SO_RCVTIMEO/SO_SNDTIMEO are honoured: running out reads as EAGAIN.
//!
//! guv remembers what it learned of an fd (its epoll registration, its
//! socket timeouts, read at the first wait) until guv_close() or
//! guv_forget(). So close fds used with these calls through guv_close() (or
//! call guv_forget() before closing them yourself), and call guv_forget()
//! after changing the socket timeouts of an fd guv has waited on.
//! guv_accept() and guv_connect() start afresh on their fd. An fd closed or
//! replaced behind guv's back is caught within a second, as for every wait
//! (see guv_close()).

use std::ffi::{c_int, c_void};

use libc::{iovec, msghdr, nfds_t, pollfd, sockaddr, socklen_t, ssize_t};

use super::boundary;
use crate::{fd, io};

fn ssize(r: crate::Result<usize>) -> crate::Result<ssize_t> {
    r.map(|n| n as ssize_t)
}

/// read(2), cooperatively.
#[no_mangle]
pub extern "C" fn guv_read(fd: c_int, buf: *mut c_void, count: usize) -> ssize_t {
    boundary("guv_read", || ssize(io::read(fd, buf, count)))
}

/// write(2), cooperatively. On a blocking-mode fd it returns once all
/// `count` bytes are written, or the count written before an error.
#[no_mangle]
pub extern "C" fn guv_write(fd: c_int, buf: *const c_void, count: usize) -> ssize_t {
    boundary("guv_write", || ssize(io::write(fd, buf, count)))
}

/// readv(2), cooperatively.
#[no_mangle]
pub extern "C" fn guv_readv(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t {
    boundary("guv_readv", || ssize(io::readv(fd, iov, iovcnt)))
}

/// writev(2), cooperatively. Unlike guv_write() a short write is returned
/// as such.
#[no_mangle]
pub extern "C" fn guv_writev(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t {
    boundary("guv_writev", || ssize(io::writev(fd, iov, iovcnt)))
}

/// recv(2), cooperatively (MSG_WAITALL and MSG_DONTWAIT are honoured).
#[no_mangle]
pub extern "C" fn guv_recv(fd: c_int, buf: *mut c_void, len: usize, flags: c_int) -> ssize_t {
    boundary("guv_recv", || ssize(io::recv(fd, buf, len, flags)))
}

/// send(2), cooperatively; on a blocking-mode socket, all `len` bytes.
#[no_mangle]
pub extern "C" fn guv_send(fd: c_int, buf: *const c_void, len: usize, flags: c_int) -> ssize_t {
    boundary("guv_send", || ssize(io::send(fd, buf, len, flags)))
}

/// recvfrom(2), cooperatively.
#[no_mangle]
pub extern "C" fn guv_recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: usize,
    flags: c_int,
    src_addr: *mut sockaddr,
    addrlen: *mut socklen_t,
) -> ssize_t {
    boundary("guv_recvfrom", || ssize(io::recvfrom(fd, buf, len, flags, src_addr, addrlen)))
}

/// sendto(2), cooperatively.
#[no_mangle]
pub extern "C" fn guv_sendto(
    fd: c_int,
    buf: *const c_void,
    len: usize,
    flags: c_int,
    dest_addr: *const sockaddr,
    addrlen: socklen_t,
) -> ssize_t {
    boundary("guv_sendto", || ssize(io::sendto(fd, buf, len, flags, dest_addr, addrlen)))
}

/// recvmsg(2), cooperatively.
#[no_mangle]
pub extern "C" fn guv_recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    boundary("guv_recvmsg", || ssize(io::recvmsg(fd, msg, flags)))
}

/// sendmsg(2), cooperatively (one call: a short send is returned as such).
#[no_mangle]
pub extern "C" fn guv_sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    boundary("guv_sendmsg", || ssize(io::sendmsg(fd, msg, flags)))
}

/// accept(2), cooperatively.
#[no_mangle]
pub extern "C" fn guv_accept(fd: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t) -> c_int {
    guv_accept4(fd, addr, addrlen, 0)
}

/// accept4(2), cooperatively.
#[no_mangle]
pub extern "C" fn guv_accept4(
    fd: c_int,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
    flags: c_int,
) -> c_int {
    boundary("guv_accept4", || io::accept4(fd, addr, addrlen, flags))
}

/// connect(2), cooperatively: on a blocking-mode socket it returns once the
/// connection is established or has failed (errno from SO_ERROR, e.g.
/// ECONNREFUSED; ETIMEDOUT when SO_SNDTIMEO runs out).
#[no_mangle]
pub extern "C" fn guv_connect(fd: c_int, addr: *const sockaddr, addrlen: socklen_t) -> c_int {
    boundary("guv_connect", || io::connect(fd, addr, addrlen).map(|()| 0))
}

/// poll(2), cooperatively: suspends the caller until one of `fds` is ready
/// or `timeout` milliseconds pass (negative: forever; 0: no wait). The
/// primitive driver wait loops need (libpq blocks in poll).
#[no_mangle]
pub extern "C" fn guv_poll(fds: *mut pollfd, nfds: nfds_t, timeout: c_int) -> c_int {
    boundary("guv_poll", || {
        if fds.is_null() && nfds > 0 {
            return Err(crate::Errno(libc::EFAULT));
        }
        // SAFETY: the caller passes `nfds` valid pollfds, as for poll(2).
        unsafe { io::poll(fds, nfds, timeout) }.map(|n| n as c_int)
    })
}

/// Forget guv's state for `fd` without closing it: waiters are woken with
/// EBADF, and its epoll registration and remembered mode (O_NONBLOCK,
/// SO_RCVTIMEO/SO_SNDTIMEO) are dropped. Call it before closing an fd
/// yourself, after dup2() onto it, or after changing its mode.
/// Returns 0, or -1 with errno EBADF (fd < 0).
#[no_mangle]
pub extern "C" fn guv_forget(fd: c_int) -> c_int {
    boundary("guv_forget", || {
        if fd < 0 {
            return Err(crate::Errno::EBADF);
        }
        fd::forget_fd(fd).map(|()| 0)
    })
}
