//! System calls made by guv itself, issued directly (the `syscall`
//! instruction) rather than through libc's symbols: under libguv_hook
//! (LD_PRELOAD), libc's `read`, `recv`, `fcntl`, `epoll_wait`… are guv's own
//! wrappers, and calling them from inside guv would recurse. Each returns
//! the kernel's answer as a `Result`, never through `errno`: the I/O layer's
//! EAGAIN, once per echo round trip, then costs no thread-local write and read.

use std::ffi::c_void;

use libc::{c_int, c_long, iovec, msghdr, nfds_t, pollfd, sockaddr, socklen_t};

use crate::errno::{Errno, Result};

/// The kernel's return value: -4095..=-1 is an error number, anything else a result.
#[inline(always)]
fn ret(r: isize) -> Result<usize> {
    if (-4095..0).contains(&r) {
        Err(Errno(-r as i32))
    } else {
        Ok(r as usize)
    }
}

/// System call `nr` with six arguments (unused ones 0).
///
/// # Safety
/// As the system call's own contract: every pointer argument valid for what
/// that call reads or writes.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[inline(always)]
unsafe fn raw(nr: c_long, a: [usize; 6]) -> isize {
    let r: isize;
    // SAFETY: the kernel's x86_64 convention: number in rax, arguments in
    // rdi, rsi, rdx, r10, r8, r9, result in rax; it clobbers rcx and r11 and
    // nothing else, touches no user stack, and what it does to memory is the
    // call's contract, which the caller upholds.
    unsafe {
        std::arch::asm!("syscall",
            inlateout("rax") nr as isize => r,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2], in("r10") a[3], in("r8") a[4], in("r9") a[5],
            lateout("rcx") _, lateout("r11") _,
            options(nostack, preserves_flags));
    }
    r
}

/// As above, on aarch64: number in x8, arguments and result in x0-x5.
#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
#[inline(always)]
unsafe fn raw(nr: c_long, a: [usize; 6]) -> isize {
    let r: isize;
    // SAFETY: the kernel's aarch64 convention (svc 0, number in x8, arguments
    // x0-x5, result x0); it preserves every other register and the stack.
    unsafe {
        std::arch::asm!("svc 0",
            in("x8") nr,
            inlateout("x0") a[0] as isize => r,
            in("x1") a[1], in("x2") a[2], in("x3") a[3], in("x4") a[4], in("x5") a[5],
            options(nostack, preserves_flags));
    }
    r
}

/// Elsewhere through libc's syscall(2), which reports errors in errno.
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
unsafe fn raw(nr: c_long, a: [usize; 6]) -> isize {
    // SAFETY: as for the caller.
    let r = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if r == -1 {
        -(Errno::last().0 as isize)
    } else {
        r as isize
    }
}

/// `args` followed by zeros, as the six argument registers.
#[inline(always)]
fn six<const N: usize>(args: [usize; N]) -> [usize; 6] {
    let mut a = [0; 6];
    a[..N].copy_from_slice(&args);
    a
}

macro_rules! sys {
    ($nr:expr $(, $arg:expr)*) => {
        // SAFETY: each wrapper below passes its caller's arguments unchanged to the
        // kernel call of the same name; the caller upholds that call's contract.
        ret(unsafe { raw($nr, six([$($arg as usize),*])) })
    };
}

pub fn read(fd: c_int, buf: *mut c_void, len: usize) -> Result<usize> {
    sys!(libc::SYS_read, fd, buf, len)
}
pub fn write(fd: c_int, buf: *const c_void, len: usize) -> Result<usize> {
    sys!(libc::SYS_write, fd, buf, len)
}
pub fn readv(fd: c_int, iov: *const iovec, n: c_int) -> Result<usize> {
    sys!(libc::SYS_readv, fd, iov, n)
}
pub fn writev(fd: c_int, iov: *const iovec, n: c_int) -> Result<usize> {
    sys!(libc::SYS_writev, fd, iov, n)
}
pub fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: usize,
    fl: c_int,
    a: *mut sockaddr,
    al: *mut socklen_t,
) -> Result<usize> {
    sys!(libc::SYS_recvfrom, fd, buf, len, fl, a, al)
}
pub fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: usize,
    fl: c_int,
    a: *const sockaddr,
    al: socklen_t,
) -> Result<usize> {
    sys!(libc::SYS_sendto, fd, buf, len, fl, a, al)
}
pub fn recvmsg(fd: c_int, msg: *mut msghdr, fl: c_int) -> Result<usize> {
    sys!(libc::SYS_recvmsg, fd, msg, fl)
}
pub fn sendmsg(fd: c_int, msg: *const msghdr, fl: c_int) -> Result<usize> {
    sys!(libc::SYS_sendmsg, fd, msg, fl)
}
pub fn accept4(fd: c_int, a: *mut sockaddr, al: *mut socklen_t, fl: c_int) -> Result<usize> {
    sys!(libc::SYS_accept4, fd, a, al, fl)
}
pub fn connect(fd: c_int, a: *const sockaddr, al: socklen_t) -> Result<usize> {
    sys!(libc::SYS_connect, fd, a, al)
}
pub fn fcntl(fd: c_int, cmd: c_int, arg: c_int) -> Result<usize> {
    sys!(libc::SYS_fcntl, fd, cmd, arg)
}
pub fn getsockopt(
    fd: c_int,
    level: c_int,
    opt: c_int,
    val: *mut c_void,
    len: *mut socklen_t,
) -> Result<usize> {
    sys!(libc::SYS_getsockopt, fd, level, opt, val, len)
}
pub fn epoll_create1(flags: c_int) -> Result<usize> {
    sys!(libc::SYS_epoll_create1, flags)
}
pub fn epoll_ctl(ep: c_int, op: c_int, fd: c_int, ev: *mut libc::epoll_event) -> Result<usize> {
    sys!(libc::SYS_epoll_ctl, ep, op, fd, ev)
}
pub fn close(fd: c_int) -> Result<usize> {
    sys!(libc::SYS_close, fd)
}
pub fn pipe2(fds: &mut [c_int; 2], flags: c_int) -> Result<usize> {
    sys!(libc::SYS_pipe2, fds.as_mut_ptr(), flags)
}
/// poll(2) through ppoll, which every architecture has.
pub fn poll(fds: *mut pollfd, n: nfds_t, timeout_ms: c_int) -> Result<usize> {
    // Mutable: the kernel writes the time left back into it.
    let mut ts;
    let tsp = if timeout_ms < 0 {
        std::ptr::null_mut()
    } else {
        ts = libc::timespec {
            tv_sec: (timeout_ms / 1000) as _,
            tv_nsec: ((timeout_ms % 1000) * 1_000_000) as _,
        };
        &raw mut ts
    };
    sys!(libc::SYS_ppoll, fds, n, tsp, std::ptr::null::<c_void>(), 0)
}

/// Sleeps the OS thread `ms` milliseconds with a raw ppoll, which
/// libguv_hook's nanosleep/poll wrappers cannot turn into a green wait.
pub(crate) fn pause_ms(ms: i32) {
    let _ = poll(std::ptr::null_mut(), 0, ms);
}

pub fn timerfd_create(clock: c_int, flags: c_int) -> Result<usize> {
    sys!(libc::SYS_timerfd_create, clock, flags)
}
/// Arms timerfd `fd` to expire once at `at_ns` on its clock (absolute).
pub fn timerfd_set_abs(fd: c_int, at_ns: u64) -> Result<usize> {
    let at = libc::itimerspec {
        it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
        it_value: libc::timespec {
            tv_sec: (at_ns / 1_000_000_000) as _,
            tv_nsec: (at_ns % 1_000_000_000) as _,
        },
    };
    let old = std::ptr::null_mut::<libc::itimerspec>();
    sys!(libc::SYS_timerfd_settime, fd, libc::TFD_TIMER_ABSTIME, &at as *const libc::itimerspec, old)
}

/// epoll_wait(2) through epoll_pwait, which every architecture has.
pub fn epoll_wait(ep: c_int, events: &mut [libc::epoll_event], timeout_ms: c_int) -> Result<usize> {
    let n = events.len().min(c_int::MAX as usize);
    sys!(libc::SYS_epoll_pwait, ep, events.as_mut_ptr(), n, timeout_ms, std::ptr::null::<c_void>(), 0)
}
