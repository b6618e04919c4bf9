//! Exports for looking inside: names, dumps, counters, the blocking detector.

use std::ffi::{c_char, c_int, c_void, CStr};

use super::boundary;
use crate::errno::{Errno, Result};
pub use crate::introspect::guv_stats;
use crate::{hub, monitor};

/// Name green thread `id` (0: the caller, green thread or main). The name is
/// copied and truncated to 63 bytes; it appears in guv_dump(), in the
/// blocking detector's reports and in the stack-overflow report. Returns 0,
/// or -1 with errno EINVAL (name is NULL) or ESRCH (no such green thread on
/// this OS thread's hub, or it has ended).
#[no_mangle]
pub extern "C" fn guv_set_name(id: i64, name: *const c_char) -> c_int {
    boundary("guv_set_name", || {
        if name.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: the caller passes a NUL-terminated string.
        let name = unsafe { CStr::from_ptr(name) }.to_bytes();
        hub::set_name(id, name).map(|()| 0)
    })
}

/// Copy the name of green thread `id` (0: the caller) into `buf`, NUL-terminated
/// and truncated to `len - 1` bytes; an unnamed green thread has the empty
/// name. Returns the name's full length in bytes (at most 63), or -1 with
/// errno EINVAL (buf is NULL or len is 0) or ESRCH (as guv_set_name()).
#[no_mangle]
pub extern "C" fn guv_get_name(id: i64, buf: *mut c_char, len: usize) -> c_int {
    boundary("guv_get_name", || {
        if buf.is_null() || len == 0 {
            return Err(Errno::EINVAL);
        }
        let name = hub::name(id)?;
        let n = name.len().min(len - 1);
        // SAFETY: the caller passes `len` writable bytes at `buf`; `n < len`.
        unsafe {
            std::ptr::copy_nonoverlapping(name.as_ptr(), buf.cast::<u8>(), n);
            *buf.add(n) = 0;
        }
        Ok(name.len() as c_int)
    })
}

/// Write one line per green thread of this OS thread's hub, main included,
/// to `fd`, after a first line about the hub. Returns 0, or -1 with errno set
/// by write(2) (EBADF, EPIPE, …). The format is stable; fields are separated
/// by one space, and new ones are only ever added at the end of a line:
///
/// ```text
/// hub=H thread=T green_threads=N running=… ready=… sleeping=… fd=… joining=… parked=… offload=… run=…
///   id=ID name="NAME" state=STATE [DETAILS] for=SECONDS stack=BYTES
/// ```
///
/// H is the hub's serial (the top bits of its green threads' ids), T its OS
/// thread id (gettid), N its green threads (main not counted); the counts that
/// follow are per state, main included. NAME has `"` and `\` escaped and other
/// bytes outside printable ASCII written as \xNN. STATE is one of:
/// running (the caller), ready, sleeping, fd, joining, parked, offload (in
/// guv_offload), run (main inside guv_run). DETAILS: sleeping and parked have
/// `until=+S` (seconds from now, negative once due) or `until=never`; fd has
/// `fd=N events=read|write|read+write until=…`; joining has `target=ID
/// until=…`. `until` includes the green thread's guv_timeout_begin deadline.
/// SECONDS is the time spent in this state, counted from the hub turn in
/// which it began; BYTES the usable stack (0 for main, on its thread's stack).
///
/// GUV_DUMP_SIGNAL=<signal> in the environment (USR2, SIGUSR2, RTMIN+3 or a
/// number), read when the first hub is made, makes that signal write the dump
/// of every hub of the process to stderr, each at its next turn (an idle hub
/// is woken for it); the handler itself only counts the signal.
#[no_mangle]
pub extern "C" fn guv_dump(fd: c_int) -> c_int {
    boundary("guv_dump", || {
        let text = hub::dump()?;
        write_all(fd, text.as_bytes()).map(|()| 0)
    })
}

fn write_all(fd: c_int, mut b: &[u8]) -> Result<()> {
    while !b.is_empty() {
        match crate::sys::call::write(fd, b.as_ptr().cast(), b.len()) {
            Ok(n) => b = &b[n..],
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Fill `*out` with this OS thread's hub's counters. `size` is `sizeof *out`
/// as the caller was compiled: a larger struct from a newer header gets its
/// unknown tail zeroed, a smaller one from an older header only what it has.
/// Returns 0, or -1 with errno EINVAL (out is NULL or size is 0).
#[no_mangle]
pub extern "C" fn guv_stats(out: *mut guv_stats, size: usize) -> c_int {
    boundary("guv_stats", || {
        if out.is_null() || size == 0 {
            return Err(Errno::EINVAL);
        }
        let s = hub::stats()?;
        let n = size.min(std::mem::size_of::<guv_stats>());
        // SAFETY: the caller passes `size` writable bytes at `out`; `n <= size`
        // and `n` bytes of `s` are readable.
        unsafe {
            let dst = out.cast::<u8>();
            std::ptr::write_bytes(dst, 0, size);
            std::ptr::copy_nonoverlapping((&raw const s).cast::<u8>(), dst, n);
        }
        Ok(0)
    })
}

/// Turn the blocking detector on: when a hub's running green thread (or
/// main) has gone `seconds` without switching, a monitor thread writes to
/// stderr which one (id, name, OS thread), for how long, and its native
/// stack, taken at that moment on the hub's thread by a signal handler;
/// when the hub switches again, one more line says how long it lasted.
/// One report per episode. A thread the OS keeps off the CPU that long (an
/// overloaded machine) looks the same and is reported too, with the stack
/// where it stood. 0 turns it off. The environment variable
/// GUV_BLOCK_REPORT=<milliseconds> turns it on when the first hub is made.
///
/// Names of functions come from dladdr: build programs with -rdynamic to see
/// their own, or resolve the printed file+offset with addr2line. The capture
/// signal is SIGRTMIN+6, installed with SA_RESTART: a read or write it lands
/// in resumes, but calls that are never restarted (sleep, nanosleep, poll,
/// epoll_wait, select) return early with EINTR, once per episode, as under a
/// profiler. Returns 0, or -1 with errno EINVAL (seconds negative, NaN or
/// above an hour) or EBUSY (the program handles SIGRTMIN+6 itself).
#[no_mangle]
pub extern "C" fn guv_set_block_report(seconds: f64) -> c_int {
    boundary("guv_set_block_report", || monitor::set_block_report(seconds).map(|()| 0))
}

/// Called by the blocking detector after each report, on its monitor thread:
/// the offending green thread's id (0: main), the task data of the first
/// hook set it runs with (see guv_add_hooks; NULL without hooks), the hub's
/// OS thread id, and the seconds it has blocked so far. For bindings that
/// add their language's stack; one with a hook set of its own is told with
/// its own task data through that set's `blocked` (see guv_hooks).
pub type guv_block_fn = Option<
    unsafe extern "C" fn(userdata: *mut c_void, id: i64, task_data: *mut c_void, thread: c_int, seconds: f64),
>;

/// Install (or with NULL remove) the blocking detector's callback. It runs
/// on the monitor thread while the hub is still blocked; it must not call
/// guv functions that act on a hub. A callback replaced or removed may still
/// be running on the monitor thread when this returns: keep what its
/// userdata points to alive as long as the process may report. Returns 0.
#[no_mangle]
pub extern "C" fn guv_set_block_callback(func: guv_block_fn, userdata: *mut c_void) -> c_int {
    monitor::set_block_hook(func.map(|f| monitor::BlockHook { f, userdata }));
    0
}
