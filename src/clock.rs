//! The monotonic clock and deadlines, in nanoseconds.

use crate::errno::{Errno, Result};

/// A point on the monotonic clock in nanoseconds; `NEVER` is no deadline at all.
pub(crate) type Deadline = u64;
pub(crate) const NEVER: Deadline = u64::MAX;

/// CLOCK_MONOTONIC in nanoseconds (a vDSO call, about 20 ns).
#[inline]
pub(crate) fn now_ns() -> u64 {
    crate::sys::os::monotonic_ns()
}

/// As `after`, where a negative `seconds` means no deadline at all (`NEVER`),
/// the convention of every guv call that takes a timeout.
pub(crate) fn after_or_never(seconds: f64) -> Result<Deadline> {
    if seconds < 0.0 {
        Ok(NEVER)
    } else {
        after(seconds)
    }
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
