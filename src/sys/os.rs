//! The kernel services guv reaches through libc on purpose: the monotonic
//! clock, which the vDSO answers without entering the kernel (a syscall(2)
//! would cost ~10x), and pthread_atfork, which is a libc registry rather
//! than a system call.

/// CLOCK_MONOTONIC in nanoseconds (a vDSO call, about 20 ns).
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Runs `f` in the child after every fork(2) of this process.
pub(crate) fn at_fork_child(f: extern "C" fn()) {
    // SAFETY: registering a handler has no precondition; the handler guv
    // passes only touches atomics, which is all a forked child may do.
    unsafe { libc::pthread_atfork(None, None, Some(f)) };
}
