//! The kernel services guv reaches through libc on purpose: the monotonic
//! clock, which the vDSO answers without entering the kernel (a syscall(2)
//! would cost ~10x), pthread_atfork, which is a libc registry rather
//! than a system call, and plain pthreads for the offload pool.

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

/// Starts a detached OS thread that runs `run(arg)`: a plain
/// pthread rather than a std::thread, whose root catches unwinds, so that a
/// forced unwind (pthread_exit) out of `run` ends the thread as it would a
/// C thread instead of aborting the process ("FATAL: exception not rethrown").
pub(crate) fn spawn_thread(
    run: extern "C-unwind" fn(*mut libc::c_void) -> *mut libc::c_void,
    arg: *mut libc::c_void,
) -> std::io::Result<()> {
    let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
    let mut tid = std::mem::MaybeUninit::<libc::pthread_t>::uninit();
    // SAFETY: `attr` is initialised by pthread_attr_init before any other use
    // and destroyed once; `run` is a function the new thread may call with `arg`.
    let rc = unsafe {
        let rc = libc::pthread_attr_init(attr.as_mut_ptr());
        if rc != 0 {
            return Err(std::io::Error::from_raw_os_error(rc));
        }
        libc::pthread_attr_setdetachstate(attr.as_mut_ptr(), libc::PTHREAD_CREATE_DETACHED);
        // libc declares the start routine as extern "C"; the ABI is the same.
        let start: extern "C" fn(*mut libc::c_void) -> *mut libc::c_void = std::mem::transmute(run);
        let rc = libc::pthread_create(tid.as_mut_ptr(), attr.as_ptr(), start, arg);
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        rc
    };
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// Names the calling thread (as ps and gdb show it; at most 15 bytes).
pub(crate) fn name_this_thread(name: &std::ffi::CStr) {
    // SAFETY: `name` is a NUL-terminated string; a name too long fails with ERANGE, harmlessly.
    unsafe { libc::pthread_setname_np(libc::pthread_self(), name.as_ptr()) };
}
