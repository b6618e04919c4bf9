//! Interest: GUV_READ/GUV_WRITE and their poll(2) and epoll spellings.

use libc::{EPOLLIN, EPOLLOUT, EPOLLPRI, EPOLLRDHUP, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI};

use crate::reactor::Interest;

#[test]
fn from_bits_takes_non_empty_subsets_only() {
    assert_eq!(Interest::from_bits(0), None);
    assert_eq!(Interest::from_bits(1), Some(Interest::READ));
    assert_eq!(Interest::from_bits(2), Some(Interest::WRITE));
    assert_eq!(Interest::from_bits(3), Some(Interest::BOTH));
    assert_eq!(Interest::from_bits(4), None);
    assert_eq!(Interest::from_bits(-1), None);
    assert_eq!(Interest::BOTH.bits(), 3);
}

#[test]
fn poll_events_both_ways() {
    assert_eq!(Interest::from_poll_events(POLLIN), Some(Interest::READ));
    assert_eq!(Interest::from_poll_events(POLLPRI), Some(Interest::READ));
    assert_eq!(Interest::from_poll_events(POLLOUT), Some(Interest::WRITE));
    assert_eq!(Interest::from_poll_events(POLLIN | POLLOUT), Some(Interest::BOTH));
    assert_eq!(Interest::from_poll_events(POLLERR | POLLHUP), None);
    assert_eq!(Interest::from_poll_events(0), None);
    assert_eq!(Interest::READ.poll_events(), POLLIN);
    assert_eq!(Interest::WRITE.poll_events(), POLLOUT);
    assert_eq!(Interest::BOTH.poll_events(), POLLIN | POLLOUT);
}

#[test]
fn epoll_events_watch_hangups_as_readable() {
    assert_eq!(Interest::READ.epoll_events(), (EPOLLIN | EPOLLPRI | EPOLLRDHUP) as u32);
    assert_eq!(Interest::WRITE.epoll_events(), EPOLLOUT as u32);
    assert_eq!(Interest::BOTH.epoll_events(), (EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLOUT) as u32);
}

#[test]
fn ready_in_counts_errors_as_ready_for_what_was_asked() {
    assert_eq!(Interest::READ.ready_in(POLLIN), Some(Interest::READ));
    assert_eq!(Interest::BOTH.ready_in(POLLOUT), Some(Interest::WRITE));
    assert_eq!(Interest::READ.ready_in(0), None);
    assert_eq!(Interest::READ.ready_in(POLLHUP), Some(Interest::READ));
    assert_eq!(Interest::WRITE.ready_in(POLLERR), Some(Interest::WRITE));
    assert_eq!(Interest::BOTH.ready_in(POLLERR), Some(Interest::BOTH));
}
