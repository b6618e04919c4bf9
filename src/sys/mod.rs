//! The operating-system seam: memory mappings, guard regions, the overflow
//! signal handler, raw system calls, the clock and fork handlers, and the
//! optional runtimes looked up in the process (dl, tsan). Everything that
//! talks to the kernel lives here, epoll_wait included, but for epoll's
//! registrations and the eventfd waker, which mio owns.

pub(crate) mod backtrace;
pub(crate) mod call;
pub(crate) mod dl;
pub(crate) mod mem;
pub(crate) mod os;
pub(crate) mod overflow;
pub(crate) mod signal;
pub(crate) mod tsan;

/// Keeps `x` (an object owning an fd) alive for the rest of the process:
/// for an fd closed behind guv's back whose number may name someone else's
/// file by now, so dropping it (closing the number) would be wrong. Kept
/// reachable rather than leaked, so leak checkers stay quiet.
pub(crate) fn keep_forever<T: Send + 'static>(x: T) {
    static KEPT: std::sync::Mutex<Vec<Box<dyn Send>>> = std::sync::Mutex::new(Vec::new());
    KEPT.lock().unwrap_or_else(|e| e.into_inner()).push(Box::new(x));
}
