//! Reactor::verify: when the registration of an fd waited on is checked for
//! a close behind guv's back. Real fds and epoll, the clock simulated.

use crate::errno::Errno;
use crate::reactor::{Interest, Reactor, VERIFY_AFTER, VERIFY_MAX};

const SECOND: u64 = 1_000_000_000;
/// Where the simulated clock starts.
const T0: u64 = 5 * SECOND;

fn socketpair() -> [i32; 2] {
    let mut sv = [0; 2];
    // SAFETY: `sv` has room for the two fds socketpair writes.
    assert_eq!(unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, sv.as_mut_ptr()) }, 0);
    sv
}

fn close(fd: i32) {
    // SAFETY: the test's own fd, not used again.
    assert_eq!(unsafe { libc::close(fd) }, 0);
}

/// Runs the checks due from `from` to `to`, the hub's way: a turn whenever one is due.
fn run(r: &mut Reactor, from: u64, to: u64, failed: &mut Vec<(i32, Errno)>) {
    let mut now = from;
    while now <= to {
        if r.next_check() <= now {
            r.verify(now, failed);
        }
        now += SECOND / 100;
    }
}

/// A wait of an hour on an fd nothing happens to costs about 60 checks (at
/// 1, 2, 4 … 64 s, then once a minute), not one a second.
#[test]
fn an_idle_wait_is_checked_less_and_less_often() {
    let mut r = Reactor::new().unwrap();
    let [a, b] = socketpair();
    r.watch(a, Interest::READ, (1, 0), T0, false).unwrap();
    let mut failed = Vec::new();
    run(&mut r, T0, T0 + 70 * SECOND, &mut failed);
    assert_eq!(r.checked, 7, "at 1, 2, 4, 8, 16, 32 and 64 s");
    run(&mut r, T0 + 70 * SECOND, T0 + 3600 * SECOND, &mut failed);
    assert!((60..=64).contains(&r.checked), "{} checks in an hour", r.checked);
    assert!(failed.is_empty());
    // Closed behind guv's back after an hour: found within a minute.
    close(a);
    let closed = T0 + 3600 * SECOND;
    run(&mut r, closed, closed + VERIFY_MAX + SECOND, &mut failed);
    assert_eq!(failed, vec![(a, Errno::EBADF)]);
    r.forget(a);
    close(b);
}

/// Waits that end within the second, one after another, cost no check at all.
#[test]
fn short_waits_are_never_checked() {
    let mut r = Reactor::new().unwrap();
    let [a, b] = socketpair();
    let mut failed = Vec::new();
    let mut now = T0;
    for wait in 0..200 {
        r.watch(a, Interest::READ, (1, wait), now, false).unwrap();
        run(&mut r, now, now + VERIFY_AFTER / 2, &mut failed);
        r.remove_waiter(a, 1);
        now += VERIFY_AFTER * 6 / 10;
    }
    assert_eq!(r.checked, 0);
    assert!(failed.is_empty());
    // The last wait's entry goes when it comes due and finds no waiter.
    run(&mut r, now, now + 2 * VERIFY_AFTER, &mut failed);
    assert_eq!(r.next_check(), u64::MAX, "no entry left queued");
    r.forget(a);
    close(a);
    close(b);
}
