//! What is done to a task from outside it: kill, unpark and interrupt, from
//! this thread or through the inbox, by which other threads also send
//! spawns and finished offloads; and the waits the world ends: timers that
//! expire, fds found closed (verify, forget), a failing epoll_wait.

use super::{at, hub_in, local, Hub, MAIN};
use crate::clock::Deadline;
use crate::errno::{Errno, Result};
use crate::reactor::Interest;
use crate::remote::Msg;
use crate::task::Wait;

/// guv_unpark: half of every wake round trip, so it skips `with`'s fork
/// check (an unpark touches no kernel object; the next call that does
/// repairs the hub).
#[inline(always)]
pub(crate) fn unpark(id: i64) -> Result<()> {
    let l = local();
    let hub = hub_in(l)?;
    if l.busy.replace(true) {
        return Err(Errno::EDEADLK);
    }
    // SAFETY: this thread's hub, alive until thread exit; `busy` was clear,
    // so no other reference to it is live (as in `with_in`).
    let r = unsafe { &mut *hub }.unpark(id);
    l.busy.set(false);
    r
}

impl Hub {
    pub(crate) fn kill(&mut self, id: i64) -> Result<()> {
        if let Some(slot) = self.lookup(id)? {
            let t = &mut self.tasks[slot as usize];
            t.killed = true;
            if t.wait.interruptible() {
                self.wake(slot, Errno::ECANCELED.code());
            }
        }
        Ok(())
    }

    /// As `lookup`, where id 0 names main.
    fn lookup_or_main(&self, id: i64) -> Result<Option<u32>> {
        if id == 0 {
            Ok(Some(MAIN))
        } else {
            self.lookup(id)
        }
    }

    /// Inlined into guv_unpark, with the common case (a park without a
    /// timer) spelled out: a wake of a parked task is half a wake round trip.
    #[inline(always)]
    pub(crate) fn unpark(&mut self, id: i64) -> Result<()> {
        if let Some(slot) = self.lookup_or_main(id)? {
            let t = at(&mut self.tasks, slot);
            match t.wait {
                Wait::Park if !t.has_timer => self.end_wait(slot, 0),
                Wait::Park => self.wake(slot, 0),
                _ => t.permit = true,
            }
        }
        Ok(())
    }

    pub(crate) fn interrupt(&mut self, id: i64) -> Result<()> {
        if let Some(slot) = self.lookup_or_main(id)? {
            let t = &mut self.tasks[slot as usize];
            if t.wait.interruptible() || t.wait == Wait::RunAll {
                self.wake(slot, Errno::EINTR.code());
            } else {
                t.interrupted = true;
            }
        }
        Ok(())
    }

    /// Handles what other threads sent. Inlined, so that the common turn,
    /// when none sent anything, costs two loads.
    #[inline]
    pub(super) fn take_inbox(&mut self) {
        if !self.unstarted.is_empty() || self.handle.has_mail() {
            self.take_mail();
        }
    }

    fn take_mail(&mut self) {
        if !self.unstarted.is_empty() {
            self.start_submitted();
        }
        self.handle.drain(&mut self.inbox);
        let mut inbox = std::mem::take(&mut self.inbox);
        for m in inbox.drain(..) {
            if !matches!(m, Msg::OffloadDone(..)) {
                self.counts.remote += 1;
            }
            match m {
                Msg::Spawn(sub) => {
                    self.unstarted.push_back(sub);
                    self.start_submitted();
                }
                Msg::Kill(id) => {
                    let _ = self.kill(id);
                }
                Msg::Unpark(id) => {
                    let _ = self.unpark(id);
                }
                Msg::Interrupt(id) => {
                    let _ = self.interrupt(id);
                }
                Msg::OffloadDone(slot, wg) => self.wake_if(slot, wg, 0),
            }
        }
        self.inbox = inbox;
    }

    /// Starts the green threads submitted from other threads, in order.
    /// Each brought its stack, so only a full task table (2^21 green threads
    /// alive) can hold one back: it then waits in `unstarted` until a task
    /// ends, and the turn after that starts it.
    fn start_submitted(&mut self) {
        while let Some(sub) = self.unstarted.pop_front() {
            if let Err(sub) = self.spawn_submitted(sub) {
                self.unstarted.push_front(sub);
                return;
            }
        }
    }

    /// Wakes the waiters of `fd` with EBADF and forgets the fd.
    pub(crate) fn forget_fd(&mut self, fd: i32) {
        for (slot, wg) in self.reactor.forget(fd).into_iter().flatten() {
            self.wake_if(slot, wg, Errno::EBADF.code());
        }
    }

    /// The one place a failing epoll_wait is handled (EINTR never gets here).
    /// The loop cannot learn of fds any more, so main's blocking call fails
    /// with the error rather than the loop retrying it for ever. An offload
    /// main waits for still uses main's stack, so that wait is not ended:
    /// the loop backs off a millisecond and goes on taking the inbox, where
    /// the offload's end arrives.
    pub(super) fn poll_failed(&mut self, e: Errno) {
        // EBADF: guv's epoll fd was closed behind its back; EINVAL: its number
        // names another file now. Both are repaired once; if a new epoll
        // instance cannot be had, the generic path below reports it.
        if (e == Errno::EBADF || e == Errno::EINVAL) && self.renew_epoll(e).is_ok() {
            return;
        }
        match self.tasks[MAIN as usize].wait {
            Wait::None => {} // already woken; its next blocking call meets the error
            Wait::Offload => crate::sys::call::pause_ms(1),
            _ => {
                eprintln!("guv: epoll_wait failed: {e}");
                self.wake(MAIN, e.code());
            }
        }
    }

    /// Checks the fd registrations due for it (see Reactor::verify); waiters
    /// of an fd that turned out closed get its error, those of one that
    /// became a regular file are ready.
    pub(super) fn verify(&mut self) {
        let now = self.now;
        if now < self.reactor.next_check() {
            return;
        }
        let mut failed = Vec::new();
        self.reactor.verify(now, &mut failed);
        for (fd, e) in failed {
            for (slot, wg) in self.reactor.forget(fd).into_iter().flatten() {
                let r = if e.0 == 0 { Interest::BOTH.bits() } else { e.code() };
                self.wake_if(slot, wg, r);
            }
        }
    }

    pub(super) fn expire(&mut self, now: Deadline) {
        while let Some((when, slot, wg)) = self.timers.pop_due(now) {
            let t = &self.tasks[slot as usize];
            if t.wait_gen != wg || !t.has_timer {
                continue;
            }
            // A sleep that ends before the task's deadline succeeds; anything else timed out.
            let r = if t.wait == Wait::Sleep && when < t.deadline { 0 } else { Errno::ETIMEDOUT.code() };
            self.wake(slot, r);
        }
        if self.timers.len() > 4 * self.armed + 4096 {
            let tasks = &self.tasks;
            self.timers
                .retain(|slot, g| tasks[slot as usize].wait_gen == g && tasks[slot as usize].has_timer);
        }
    }
}
