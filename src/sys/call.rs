//! System calls made by the I/O layer, issued with syscall(2) rather than
//! through libc's symbols: under libguv_hook (LD_PRELOAD), libc's `read`,
//! `recv`, `fcntl`… are guv's own wrappers, and calling them from inside
//! guv would recurse.

use std::ffi::c_void;

use libc::{c_int, c_long, iovec, msghdr, nfds_t, pollfd, sockaddr, socklen_t};

/// The raw result: >= 0, or -1 with errno set, like the libc wrapper.
macro_rules! sys {
    ($nr:expr $(, $arg:expr)*) => {
        // SAFETY: each wrapper below passes its caller's arguments unchanged to the
        // kernel call of the same name; the caller upholds that call's contract.
        unsafe { libc::syscall($nr $(, $arg as c_long)*) as isize }
    };
}

pub fn read(fd: c_int, buf: *mut c_void, len: usize) -> isize {
    sys!(libc::SYS_read, fd, buf, len)
}
pub fn write(fd: c_int, buf: *const c_void, len: usize) -> isize {
    sys!(libc::SYS_write, fd, buf, len)
}
pub fn readv(fd: c_int, iov: *const iovec, n: c_int) -> isize {
    sys!(libc::SYS_readv, fd, iov, n)
}
pub fn writev(fd: c_int, iov: *const iovec, n: c_int) -> isize {
    sys!(libc::SYS_writev, fd, iov, n)
}
pub fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: usize,
    fl: c_int,
    a: *mut sockaddr,
    al: *mut socklen_t,
) -> isize {
    sys!(libc::SYS_recvfrom, fd, buf, len, fl, a, al)
}
pub fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: usize,
    fl: c_int,
    a: *const sockaddr,
    al: socklen_t,
) -> isize {
    sys!(libc::SYS_sendto, fd, buf, len, fl, a, al)
}
pub fn recvmsg(fd: c_int, msg: *mut msghdr, fl: c_int) -> isize {
    sys!(libc::SYS_recvmsg, fd, msg, fl)
}
pub fn sendmsg(fd: c_int, msg: *const msghdr, fl: c_int) -> isize {
    sys!(libc::SYS_sendmsg, fd, msg, fl)
}
pub fn accept4(fd: c_int, a: *mut sockaddr, al: *mut socklen_t, fl: c_int) -> isize {
    sys!(libc::SYS_accept4, fd, a, al, fl)
}
pub fn connect(fd: c_int, a: *const sockaddr, al: socklen_t) -> isize {
    sys!(libc::SYS_connect, fd, a, al)
}
pub fn fcntl(fd: c_int, cmd: c_int, arg: c_int) -> isize {
    sys!(libc::SYS_fcntl, fd, cmd, arg)
}
pub fn getsockopt(fd: c_int, level: c_int, opt: c_int, val: *mut c_void, len: *mut socklen_t) -> isize {
    sys!(libc::SYS_getsockopt, fd, level, opt, val, len)
}
pub fn epoll_create1(flags: c_int) -> isize {
    sys!(libc::SYS_epoll_create1, flags)
}
pub fn epoll_ctl(ep: c_int, op: c_int, fd: c_int, ev: *mut libc::epoll_event) -> isize {
    sys!(libc::SYS_epoll_ctl, ep, op, fd, ev)
}
pub fn close(fd: c_int) -> isize {
    sys!(libc::SYS_close, fd)
}
pub fn pipe2(fds: &mut [c_int; 2], flags: c_int) -> isize {
    sys!(libc::SYS_pipe2, fds.as_mut_ptr(), flags)
}
/// poll(2) through ppoll, which every architecture has.
pub fn poll(fds: *mut pollfd, n: nfds_t, timeout_ms: c_int) -> isize {
    let ts;
    let tsp = if timeout_ms < 0 {
        std::ptr::null()
    } else {
        ts = libc::timespec {
            tv_sec: (timeout_ms / 1000) as _,
            tv_nsec: ((timeout_ms % 1000) * 1_000_000) as _,
        };
        &ts as *const libc::timespec
    };
    sys!(libc::SYS_ppoll, fds, n, tsp, std::ptr::null::<c_void>(), 0)
}

/// Sleeps the OS thread `ms` milliseconds with a raw ppoll, which
/// libguv_hook's nanosleep/poll wrappers cannot turn into a green wait.
pub(crate) fn pause_ms(ms: i32) {
    poll(std::ptr::null_mut(), 0, ms);
}
