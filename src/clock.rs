//! The monotonic clock and deadlines, in nanoseconds.

use crate::errno::{Errno, Result};

/// A point on the monotonic clock in nanoseconds; `NEVER` is no deadline at all.
pub(crate) type Deadline = u64;
pub(crate) const NEVER: Deadline = u64::MAX;

/// CLOCK_MONOTONIC in nanoseconds (a vDSO call, about 20 ns).
pub(crate) fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The deadline `seconds` from now. NaN is refused; +inf (or anything past
/// the clock's range) is `NEVER`; zero or less is now.
pub(crate) fn after(seconds: f64) -> Result<Deadline> {
    if seconds.is_nan() {
        return Err(Errno::EINVAL);
    }
    let now = now_ns();
    if seconds <= 0.0 {
        return Ok(now);
    }
    let ns = seconds * 1e9;
    if ns >= (NEVER - now) as f64 {
        return Ok(NEVER);
    }
    Ok(now + ns as u64)
}
