//! Deadline arithmetic: seconds from now to a point on the monotonic clock.

use crate::clock::{after, after_or_never, now_ns, NEVER};
use crate::errno::Errno;

/// `after(seconds)` lies between `seconds` past a reading taken before the
/// call and `seconds` past one taken after it.
fn brackets(seconds: f64) -> (u64, u64, u64) {
    let before = now_ns();
    let at = after(seconds).unwrap();
    let after_call = now_ns();
    (before, at, after_call)
}

#[test]
fn the_clock_does_not_go_back() {
    let a = now_ns();
    let b = now_ns();
    assert!(b >= a);
}

#[test]
fn a_positive_delay_lands_that_far_ahead() {
    let (before, at, after_call) = brackets(1.5);
    assert!(at >= before + 1_500_000_000 && at <= after_call + 1_500_000_000);
}

#[test]
fn zero_and_negative_mean_now() {
    for s in [0.0, -0.0, -1.0, f64::NEG_INFINITY] {
        let (before, at, after_call) = brackets(s);
        assert!(at >= before && at <= after_call, "after({s})");
    }
}

#[test]
fn beyond_the_clock_is_never() {
    assert_eq!(after(f64::INFINITY), Ok(NEVER));
    assert_eq!(after(1e300), Ok(NEVER));
    assert_eq!(after(u64::MAX as f64 / 1e9), Ok(NEVER));
}

#[test]
fn nan_is_refused() {
    assert_eq!(after(f64::NAN), Err(Errno::EINVAL));
    assert_eq!(after_or_never(f64::NAN), Err(Errno::EINVAL));
}

#[test]
fn negative_means_never_where_a_timeout_is_taken() {
    assert_eq!(after_or_never(-1.0), Ok(NEVER));
    assert_eq!(after_or_never(f64::NEG_INFINITY), Ok(NEVER));
    let before = now_ns();
    let at = after_or_never(0.0).unwrap();
    assert!(at >= before && at <= now_ns(), "0 is now, not never");
}
