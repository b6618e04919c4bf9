//! The reactor: per-fd state and epoll (registrations and the waker through
//! mio, epoll_wait directly).
//!
//! An fd is registered once, edge-triggered for both directions, and stays
//! registered across waits: re-registering per wait cost a third of the
//! ping-pong throughput. An event's token is the fd number itself (and the
//! registration's generation), so it reaches the fd's waiters by indexing
//! the fd table: no map, no hashing. Each registration gets a generation carried in the
//! epoll token, so events of an fd number that was closed and reused are
//! recognised as stale and never reach the new owner's waiters.
//!
//! epoll drops the registration of a closed file without a word, so a wait
//! on an fd closed (or closed and its number reused) behind guv's back would
//! never end. A wait that lasts has its registration checked (`verify`): at
//! one second, then each time it has lasted twice as long, then once a
//! minute. 10k idle keep-alive connections thus cost ~170 epoll_ctl a
//! second instead of 10k, and the fds whose waits end sooner cost none.
//! A timerfd in the same epoll wakes the hub for these checks, so that its
//! epoll_wait needs no timeout of its own for them.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Poll, Token};

use crate::errno::{Errno, Result};
use crate::timer::Timers;

/// A wait on an fd has its registration checked once it has lasted this
/// long (nanoseconds), in case the fd was closed behind guv's back...
pub(crate) const VERIFY_AFTER: u64 = 1_000_000_000;
/// ...and again each time it has lasted twice as long, but at least this
/// often: a wait of any age ends within about a minute of such a close.
pub(crate) const VERIFY_MAX: u64 = 64 * VERIFY_AFTER;
/// Checks are rounded up to this grain, so that the fds due around the same
/// time are checked in one wake-up of the hub.
const VERIFY_GRAIN: u64 = VERIFY_AFTER / 8;

/// Readiness a green thread waits for: GUV_READ = 1, GUV_WRITE = 2.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Interest(u8);

impl Interest {
    pub const READ: Interest = Interest(1);
    pub const WRITE: Interest = Interest(2);
    pub const BOTH: Interest = Interest(3);

    /// A non-empty subset of READ|WRITE, or None.
    pub fn from_bits(events: i32) -> Option<Interest> {
        (1..=3).contains(&events).then_some(Interest(events as u8))
    }
    pub fn bits(self) -> i32 {
        self.0 as i32
    }
    fn has(self, other: Interest) -> bool {
        self.0 & other.0 != 0
    }

    /// The interest of poll(2) `events`: POLLIN or POLLPRI is read, POLLOUT
    /// write; None when it has neither.
    pub(crate) fn from_poll_events(events: i16) -> Option<Interest> {
        let read = events & (libc::POLLIN | libc::POLLPRI) != 0;
        let write = events & libc::POLLOUT != 0;
        Interest::from_bits(read as i32 | (write as i32) << 1)
    }

    /// As poll(2) events.
    pub(crate) fn poll_events(self) -> i16 {
        (if self.has(Interest::READ) { libc::POLLIN } else { 0 })
            | (if self.has(Interest::WRITE) { libc::POLLOUT } else { 0 })
    }

    /// As epoll events, level-triggered; a peer's hang-up counts as readable.
    pub(crate) fn epoll_events(self) -> u32 {
        (if self.has(Interest::READ) {
            (libc::EPOLLIN | libc::EPOLLPRI | libc::EPOLLRDHUP) as u32
        } else {
            0
        }) | (if self.has(Interest::WRITE) { libc::EPOLLOUT as u32 } else { 0 })
    }

    /// What of `self` poll(2)'s `revents` reports ready. An error or hang-up
    /// counts as ready for all of it: the next I/O call reports it.
    pub(crate) fn ready_in(self, revents: i16) -> Option<Interest> {
        let err = revents & (libc::POLLERR | libc::POLLHUP) != 0;
        let read = revents & libc::POLLIN != 0 || (err && self.has(Interest::READ));
        let write = revents & libc::POLLOUT != 0 || (err && self.has(Interest::WRITE));
        Interest::from_bits(read as i32 | (write as i32) << 1)
    }
}

/// A waiting task: (slot, wait generation).
pub(crate) type Waiter = (u32, u32);

pub(crate) const WAKER: Token = Token(usize::MAX);
/// The token of the timerfd that wakes the hub for `verify`.
const CHECKER: Token = Token(usize::MAX - 1);

/// Events taken per epoll_wait.
const EVENTS: usize = 1024;

/// What the I/O layer learned about an fd, so it picks the right call
/// without asking the kernel each time. A stale guess is harmless: a socket
/// call on a non-socket fails with ENOTSOCK and the guess is corrected.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub enum FdKind {
    #[default]
    Unknown,
    Socket,
    Other,
}

/// The caller-visible mode of an fd, read from the kernel at its first wait
/// and remembered until guv_close/guv_forget (or libguv_hook's fcntl and
/// setsockopt wrappers) drop it: asking per wait cost two system calls per
/// round trip of an echo server.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FdMode {
    /// F_GETFL flags as the caller set them.
    pub flags: i32,
    /// SO_RCVTIMEO / SO_SNDTIMEO in nanoseconds (0: none).
    pub rcvtimeo: u64,
    pub sndtimeo: u64,
    /// A TCP socket, whose short read means it was read dry (see `FdFacts::drained`).
    pub tcp: bool,
}

/// What the I/O layer knows of an fd when a call on it begins: three bytes,
/// so that they travel in a register rather than copied through memory.
#[derive(Clone, Copy)]
pub(crate) struct FdFacts {
    pub kind: FdKind,
    pub mode: ModeHint,
    /// A read of a registered TCP socket that returned less than it asked
    /// for has emptied it: with the fd registered edge-triggered, any data
    /// that comes after brings an event. Until the hub's next epoll_wait,
    /// which may deliver that event, the next read of the fd (on the same
    /// thread) would say EAGAIN, so it waits at once instead of making that
    /// system call, a third of an echo round trip's. The thread-local
    /// `hub::Local::dry` names the fd last read short; `poll` forgets it.
    /// Tokio makes the same inference (tokio-rs/tokio#5866). A hang-up or an
    /// error is a state that no later event announces again: once one is
    /// seen, the registration is never taken as dry (a short read of the
    /// last data must not make the read of the end wait). Nor once urgent
    /// data (MSG_OOB, EPOLLPRI) is: a TCP read stops short at its mark with
    /// the rest queued. Not AF_UNIX: its read stops short at a message that
    /// carries fds, with more queued.
    pub drained: bool,
}

/// As much of an fd's FdMode as decides what a call does at EAGAIN.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) enum ModeHint {
    /// Not read from the kernel yet.
    #[default]
    Unknown,
    /// Blocking, without socket timeouts: wait as long as it takes.
    Blocking,
    /// The caller made it non-blocking: EAGAIN is the answer.
    NonBlocking,
    /// Blocking with SO_RCVTIMEO or SO_SNDTIMEO: the full FdMode says how long.
    Timeouts,
}

impl ModeHint {
    fn of(mode: Option<FdMode>) -> ModeHint {
        match mode {
            None => ModeHint::Unknown,
            Some(m) if m.flags & libc::O_NONBLOCK != 0 => ModeHint::NonBlocking,
            Some(m) if m.rcvtimeo == 0 && m.sndtimeo == 0 => ModeHint::Blocking,
            Some(_) => ModeHint::Timeouts,
        }
    }
}

#[derive(Clone, Copy, Default)]
struct FdState {
    /// Registration generation in epoll; 0 = not registered.
    reg: u32,
    kind: FdKind,
    /// `mode` as a call's start needs it, kept beside it so that the start reads one byte.
    hint: ModeHint,
    /// `mode.tcp`, beside the hint: whether a short read empties it.
    tcp: bool,
    /// This registration (`reg`) reported a hang-up, an error or urgent
    /// data (NOT_DRY): never taken as dry.
    not_dry: bool,
    mode: Option<FdMode>,
    /// An error the kernel reported after a call had already made progress
    /// (and so returned its count): the fd's next call reports it, as the
    /// kernel would have, since fetching it consumed the socket's error.
    pending: Option<Errno>,
    /// When the present wait began (the fd had no waiter before), for `verify`.
    waited_since: u64,
    /// When `verify` next looks at the fd (0: it is not in `checks`); an
    /// entry of `checks` for another time is stale.
    check_at: u64,
    reader: Option<Waiter>,
    writer: Option<Waiter>,
}

impl FdState {
    /// Records `w` as waiting for `interest` from `now` on: one reader and
    /// one writer at most. True when the fd has no check queued: a wait that
    /// lasts gets its registration checked (see `verify`), and an fd waited
    /// on again and again keeps its one entry, moved on by `verify`.
    #[inline(always)]
    fn add_waiter(&mut self, interest: Interest, w: Waiter, now: u64) -> Result<bool> {
        let (read, write) = (interest.has(Interest::READ), interest.has(Interest::WRITE));
        if (read && self.reader.is_some()) || (write && self.writer.is_some()) {
            return Err(Errno::EBUSY);
        }
        if self.reader.is_none() && self.writer.is_none() {
            self.waited_since = now;
        }
        if read {
            self.reader = Some(w);
        }
        if write {
            self.writer = Some(w);
        }
        Ok(self.check_at == 0)
    }
}

/// The outcome of arming an fd for a wait.
pub(crate) enum Armed {
    /// Registered: an event will come when it is ready.
    Watched,
    /// epoll cannot watch it (a regular file): ready at once, as poll(2) says.
    AlwaysReady,
}

pub(crate) struct Reactor {
    poll: Poll,
    /// epoll_wait's buffer: `EVENTS` entries, filled by the kernel.
    events: Vec<libc::epoll_event>,
    fds: Vec<FdState>,
    next_reg: u32,
    /// When `verify` looks at which fd: at most one live entry per fd.
    checks: Timers,
    /// Registrations re-armed by `verify` (guv_stats' fd_checks).
    pub checked: u64,
    /// Expires when `verify` is next due, waking epoll_wait: the hub then
    /// blocks without a timeout. A timeout on every epoll_wait that sleeps
    /// cost ~3 % of a one-connection echo server's CPU (the kernel arms and
    /// cancels a timer each time); this one is re-armed when the next check
    /// moves, about once a second per fd grain.
    checker: OwnedFd,
    /// When `checker` expires (0: not armed).
    checker_at: u64,
}

/// A timerfd registered in `poll` under CHECKER.
fn new_checker(poll: &Poll) -> std::io::Result<OwnedFd> {
    let fd = crate::sys::call::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_CLOEXEC | libc::TFD_NONBLOCK)
        .map_err(|e| std::io::Error::from_raw_os_error(e.0))? as i32;
    // SAFETY: timerfd_create just returned this fd, which nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    poll.registry().register(&mut SourceFd(&fd.as_raw_fd()), CHECKER, mio::Interest::READABLE)?;
    Ok(fd)
}

impl Reactor {
    pub fn new() -> std::io::Result<Reactor> {
        let poll = Poll::new()?;
        Ok(Reactor {
            checker: new_checker(&poll)?,
            checker_at: 0,
            poll,
            events: vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS],
            fds: Vec::new(),
            next_reg: 1,
            checks: Timers::default(),
            checked: 0,
        })
    }

    pub fn registry(&self) -> &mio::Registry {
        self.poll.registry()
    }

    fn state(&mut self, fd: i32) -> &mut FdState {
        let i = fd as usize;
        if i >= self.fds.len() {
            self.fds.resize(i + 1, FdState::default());
        }
        &mut self.fds[i]
    }

    /// Arms `fd` (see `arm`) and records `w` as waiting on it for `interest`
    /// from `now` on: EBUSY if another task waits for the same. The common
    /// case, a registered fd right after EAGAIN, is one look at the fd table.
    #[inline(always)]
    pub fn watch(&mut self, fd: i32, interest: Interest, w: Waiter, now: u64, rearm: bool) -> Result<Armed> {
        match self.fds.get_mut(fd as usize) {
            Some(st) if st.reg != 0 && !rearm => {
                if st.add_waiter(interest, w, now)? {
                    self.queue_check(fd, now + VERIFY_AFTER);
                }
                Ok(Armed::Watched)
            }
            _ => self.arm_and_watch(fd, interest, w, now, rearm),
        }
    }

    /// `watch` for an fd to register or re-arm first.
    #[inline(never)]
    fn arm_and_watch(&mut self, fd: i32, interest: Interest, w: Waiter, now: u64, rearm: bool) -> Result<Armed> {
        if let Armed::AlwaysReady = self.arm(fd, rearm)? {
            return Ok(Armed::AlwaysReady);
        }
        // Armed: so in the table.
        if self.fds[fd as usize].add_waiter(interest, w, now)? {
            self.queue_check(fd, now + VERIFY_AFTER);
        }
        Ok(Armed::Watched)
    }

    /// Makes sure `fd` is in epoll. With `rearm`, an fd believed registered is
    /// re-armed (EPOLL_CTL_MOD), which re-reports its current readiness as a
    /// new edge, notices an fd closed behind our back (EBADF) and one closed
    /// and reused (ENOENT: registered afresh). Without it (the caller has just
    /// seen EAGAIN) a registered fd costs no system call.
    #[inline(never)]
    pub fn arm(&mut self, fd: i32, rearm: bool) -> Result<Armed> {
        // Read without growing the table: the fd may not even exist (epoll says so below).
        let reg = self.fds.get(fd as usize).map_or(0, |st| st.reg);
        if reg != 0 && !rearm {
            return Ok(Armed::Watched);
        }
        // PRIORITY: urgent data wakes a reader, and ends the dry-read inference (NOT_DRY).
        let interests = mio::Interest::READABLE | mio::Interest::WRITABLE | mio::Interest::PRIORITY;
        let registry = self.poll.registry();
        if reg != 0 {
            match registry.reregister(&mut SourceFd(&fd), token(fd, reg), interests) {
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                other => return arm_result(other),
            }
        }
        // Not in epoll (first wait, or the old registration died with a close): add it.
        let reg = self.next_reg;
        self.next_reg = self.next_reg.wrapping_add(1).max(1);
        let mut r = registry.register(&mut SourceFd(&fd), token(fd, reg), interests);
        if matches!(&r, Err(e) if e.raw_os_error() == Some(libc::EEXIST)) {
            r = registry.reregister(&mut SourceFd(&fd), token(fd, reg), interests);
        }
        let armed = arm_result(r)?;
        if let Armed::Watched = armed {
            let st = self.state(fd);
            (st.reg, st.not_dry) = (reg, false);
        }
        Ok(armed)
    }

    /// What an I/O call on `fd` needs to know first: the error kept for it
    /// (taken), else its kind and mode, and whether it is dry (`dry`: the fd
    /// the thread's last read found dry, see FdFacts::drained).
    #[inline(always)]
    pub fn begin_call(&mut self, fd: i32, dry: i32) -> Result<FdFacts> {
        match self.fds.get_mut(fd as usize) {
            None => Ok(FdFacts { kind: FdKind::Unknown, mode: ModeHint::Unknown, drained: false }),
            Some(st) => match st.pending {
                Some(e) => {
                    st.pending = None;
                    Err(e)
                }
                None => Ok(FdFacts {
                    kind: st.kind,
                    mode: st.hint,
                    drained: dry == fd && st.tcp && st.reg != 0 && !st.not_dry,
                }),
            },
        }
    }

    pub fn set_kind(&mut self, fd: i32, kind: FdKind) {
        self.state(fd).kind = kind;
    }

    pub fn set_pending(&mut self, fd: i32, e: Errno) {
        self.state(fd).pending = Some(e);
    }

    pub fn mode(&self, fd: i32) -> Option<FdMode> {
        self.fds.get(fd as usize).and_then(|st| st.mode)
    }

    pub fn set_mode(&mut self, fd: i32, mode: Option<FdMode>) {
        let st = self.state(fd);
        st.mode = mode;
        st.hint = ModeHint::of(mode);
        st.tcp = mode.is_some_and(|m| m.tcp);
    }

    #[inline(never)]
    fn queue_check(&mut self, fd: i32, at: u64) {
        let at = at.div_ceil(VERIFY_GRAIN) * VERIFY_GRAIN;
        self.fds[fd as usize].check_at = at;
        self.checks.push(at, fd as u32, 0);
    }

    /// When `verify` next has an fd to look at (u64::MAX: none).
    pub fn next_check(&self) -> u64 {
        self.checks.next().unwrap_or(u64::MAX)
    }

    /// Re-arms each fd whose wait has lasted long enough for a check
    /// (EPOLL_CTL_MOD, or ADD when the number was closed and reused behind
    /// guv's back, which epoll does not report). A live registration thereby
    /// re-reports its readiness, so a wait on a reused number ends as a wait
    /// on what the number now names. Fds that cannot be armed any more
    /// (closed: EBADF) are returned with the error for the caller to wake
    /// their waiters. Fds no longer waited on leave the queue; those whose
    /// present wait is younger than a second cost no system call.
    pub fn verify(&mut self, now: u64, failed: &mut Vec<(i32, Errno)>) {
        while let Some((at, fd, _)) = self.checks.pop_due(now) {
            let st = &mut self.fds[fd as usize];
            if st.check_at != at {
                continue; // stale: the fd was forgotten since
            }
            st.check_at = 0;
            if st.reader.is_none() && st.writer.is_none() {
                continue; // its next wait queues it again
            }
            let age = now.saturating_sub(st.waited_since);
            if age < VERIFY_AFTER {
                let since = st.waited_since;
                self.queue_check(fd as i32, since + VERIFY_AFTER);
                continue;
            }
            self.checked += 1;
            match self.arm(fd as i32, true) {
                Ok(Armed::Watched) => {
                    let st = &self.fds[fd as usize];
                    if st.reader.is_some() || st.writer.is_some() {
                        self.queue_check(fd as i32, now + age.min(VERIFY_MAX));
                    }
                }
                Ok(Armed::AlwaysReady) => failed.push((fd as i32, Errno(0))),
                Err(e) => failed.push((fd as i32, e)),
            }
        }
    }

    pub fn remove_waiter(&mut self, fd: i32, slot: u32) {
        if let Some(st) = self.fds.get_mut(fd as usize) {
            if st.reader.is_some_and(|w| w.0 == slot) {
                st.reader = None;
            }
            if st.writer.is_some_and(|w| w.0 == slot) {
                st.writer = None;
            }
        }
    }

    /// Takes the waiters of `fd` out and removes it from epoll, forgetting it.
    pub fn forget(&mut self, fd: i32) -> [Option<Waiter>; 2] {
        let Some(st) = self.fds.get_mut(fd as usize) else { return [None, None] };
        let st = std::mem::take(st);
        if st.reg != 0 {
            let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
        }
        let writer = if st.writer == st.reader { None } else { st.writer };
        [st.reader, writer]
    }

    /// In a forked child: the epoll instance is shared with the parent, so
    /// take a new one and forget every registration. Returns the fds that
    /// have waiters, which the caller registers afresh.
    pub fn after_fork(&mut self) -> std::io::Result<Vec<i32>> {
        self.poll = Poll::new()?;
        // The timerfd too is shared with the parent: arming it would move the parent's.
        self.checker = new_checker(&self.poll)?;
        self.checker_at = 0;
        Ok(self.forget_registrations())
    }

    /// The epoll instance was closed (or its number reused) behind guv's
    /// back: take a new one, forgetting every registration; the old number
    /// is not closed, since it may name someone else's file by now. Returns
    /// the fds that have waiters, which the caller registers afresh.
    pub fn replace_poll(&mut self) -> std::io::Result<Vec<i32>> {
        crate::sys::keep_forever(std::mem::replace(&mut self.poll, Poll::new()?));
        crate::sys::keep_forever(std::mem::replace(&mut self.checker, new_checker(&self.poll)?));
        self.checker_at = 0;
        Ok(self.forget_registrations())
    }

    fn forget_registrations(&mut self) -> Vec<i32> {
        let mut waited = Vec::new();
        for (fd, st) in self.fds.iter_mut().enumerate() {
            st.reg = 0;
            if st.reader.is_some() || st.writer.is_some() {
                waited.push(fd as i32);
            }
        }
        waited
    }

    /// Waits for events up to `timeout` and appends (slot, wait_gen, ready mask)
    /// for each waiter they wake. Returns whether the waker fired, or the
    /// error of epoll_wait (never EINTR, which is no event at all: the caller
    /// loops and recomputes its timeout, so nothing is lost).
    pub fn poll(&mut self, timeout: Option<Duration>, wakes: &mut Vec<(u32, u32, i32)>) -> Result<bool> {
        // Rounded up, as a wait that returns before its timer is due would spin.
        let ms = timeout.map_or(-1, |d| {
            let ms =
                d.as_secs().saturating_mul(1000).saturating_add(d.subsec_nanos().div_ceil(1_000_000) as u64);
            ms.min(i32::MAX as u64) as i32
        });
        let check_at = self.next_check();
        if check_at != self.checker_at && check_at != u64::MAX {
            // Should this fail, the hub would sleep past the check; the next
            // wait on any fd, or its end, tries again.
            if crate::sys::call::timerfd_set_abs(self.checker.as_raw_fd(), check_at).is_ok() {
                self.checker_at = check_at;
            }
        }
        let n = match crate::sys::call::epoll_wait(self.poll.as_raw_fd(), &mut self.events, ms) {
            Err(Errno::EINTR) => return Ok(false),
            Err(e) => return Err(e),
            Ok(n) => n,
        };
        // Events may have been taken: a read found dry before no longer says the fd is.
        crate::hub::local().dry.set(-1);
        let mut waker = false;
        for ev in &self.events[..n] {
            let (bits, token) = (ev.events, ev.u64);
            if token == WAKER.0 as u64 {
                waker = true;
                continue;
            }
            if token == CHECKER.0 as u64 {
                // Drained so that the next expiry is a new edge; the wake-up
                // itself is the point: the next turn runs `verify`.
                let mut n = [0u8; 8];
                let _ = crate::sys::call::read(self.checker.as_raw_fd(), n.as_mut_ptr().cast(), 8);
                continue;
            }
            let (fd, reg) = (token as u32 as usize, (token >> 32) as u32);
            let Some(st) = self.fds.get_mut(fd) else { continue };
            if st.reg != reg {
                continue; // an event of an earlier registration of this fd number
            }
            // Hang-up and error count as ready: the next I/O call reports them, as poll(2) does.
            let readable = bits & READABLE != 0;
            let writable = bits & WRITABLE != 0;
            if bits & NOT_DRY != 0 {
                st.not_dry = true;
            }
            if let Some(w) = st.reader {
                if st.writer == Some(w) {
                    // One task waits for both: one wake, with what is ready.
                    st.reader = None;
                    st.writer = None;
                    wakes.push((w.0, w.1, readable as i32 | (writable as i32) << 1));
                    continue;
                }
                if readable {
                    st.reader = None;
                    wakes.push((w.0, w.1, Interest::READ.bits()));
                }
            }
            if writable {
                if let Some(w) = st.writer.take() {
                    wakes.push((w.0, w.1, Interest::WRITE.bits()));
                }
            }
        }
        Ok(waker)
    }
}

/// epoll's events that wake a reader: data, urgent data, the peer's
/// shutdown, a hang-up or an error (the read reports the last three).
const READABLE: u32 =
    (libc::EPOLLIN | libc::EPOLLPRI | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32;
/// ... and a writer: room to write, a hang-up or an error.
const WRITABLE: u32 = (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32;
/// After these a short read does not mean the fd was read dry (see
/// `FdFacts::drained`): the peer's shutdown, a hang-up or an error (states
/// that no later event announces again), urgent data (a read stops at its mark).
const NOT_DRY: u32 = (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR | libc::EPOLLPRI) as u32;

fn token(fd: i32, reg: u32) -> Token {
    Token(((reg as usize) << 32) | fd as u32 as usize)
}

fn arm_result(r: std::io::Result<()>) -> Result<Armed> {
    match r {
        Ok(()) => Ok(Armed::Watched),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => Ok(Armed::AlwaysReady),
        Err(e) => Err(Errno::from_io(&e)),
    }
}
