//! How a green thread blocks: it books its wait on the hub itself, on its
//! own stack (`Hub::block` and the `book_*` for each request), then
//! suspends; a request answered at once returns without a switch. The hot
//! calls (yield, sleep, park) spell out their own booking so that each
//! inlines only its case; hooks, main and the hub's stack take the slow path.

use super::{at, lifecycle, local, main_block, Hub, Local};
use crate::clock::Deadline;
use crate::errno::{Errno, Result};
use crate::reactor::{Armed, Interest};
use crate::task::{Request, Resume, Switch, Task, Wait};

/// Books with the hub from the running green thread: the hub exists, and
/// `busy` guards against a call that reaches it while it is borrowed. No
/// fork check: the bookings that touch the kernel (fd, offload) make it.
#[inline(always)]
fn book<R>(l: &Local, f: impl FnOnce(&mut Hub) -> R) -> Result<R> {
    if l.busy.replace(true) {
        return Err(Errno::EDEADLK);
    }
    // SAFETY: a green thread runs, so this thread's hub exists (it is freed
    // only at thread exit); `busy` was clear, so no other reference to it is live.
    let r = f(unsafe { &mut *l.hub.get() });
    l.busy.set(false);
    Ok(r)
}

impl Hub {
    /// Books a blocking request of `slot`, on the caller's own stack just
    /// before it suspends. Some(result) when it is answered at once; None
    /// when the task now waits (it is queued again by `wake`, or here for a
    /// yield). Inlined, so that each blocking call keeps only its own case.
    #[inline(always)]
    pub(super) fn block(&mut self, slot: u32, req: Request) -> Option<Resume> {
        match req {
            Request::Yield => self.book_yield(slot),
            Request::Sleep { until } => self.book_sleep(slot, until),
            Request::Park { until } => self.book_park(slot, until),
            Request::Fd { fd, interest, until, rearm } => self.book_fd(slot, fd, interest, until, rearm),
            Request::Join { id, until } => self.book_join(slot, id, until),
            Request::Reap { id } => self.book_reap(slot, id),
            Request::Offload { job } => self.book_offload(slot, job),
            Request::RunAll => {
                let t = at(&mut self.tasks, slot);
                (t.wait, t.since) = (Wait::RunAll, self.now);
                None
            }
        }
    }

    /// Queues `slot` again. A killed or timed-out task learns it at a yield
    /// too, so that a loop that only computes and yields can be cancelled.
    #[inline(always)]
    fn book_yield(&mut self, slot: u32) -> Option<Resume> {
        let t = at(&mut self.tasks, slot);
        if let Some(e) = t.cancelled() {
            return Some(e.code());
        }
        t.result = 0;
        t.since = self.now;
        self.push_back(slot);
        None
    }

    /// What every wait but a yield and a reap checks first: a kill, a
    /// deadline passed, an interrupt.
    #[inline(always)]
    fn may_wait(t: &mut Task) -> Option<Resume> {
        if let Some(e) = t.cancelled() {
            return Some(e.code());
        }
        if t.interrupted {
            t.interrupted = false;
            return Some(Errno::EINTR.code());
        }
        None
    }

    /// `slot` now waits in `wait` for `req`, ended by a wake-up, or at `until`
    /// or the task's deadline, whichever comes first.
    #[inline(always)]
    fn wait_until(&mut self, slot: u32, wait: Wait, req: Request, until: Deadline) -> Option<Resume> {
        let t = at(&mut self.tasks, slot);
        (t.wait, t.detail, t.since) = (wait, req.detail(), self.now);
        let when = until.min(t.deadline);
        self.arm_timer(slot, when);
        None
    }

    /// A sleep until `until`; 0 is sleep(0): another round of the ready
    /// tasks, no timer (and no clock read, here or in the caller).
    #[inline(always)]
    fn book_sleep(&mut self, slot: u32, until: Deadline) -> Option<Resume> {
        let t = at(&mut self.tasks, slot);
        if let Some(r) = Self::may_wait(t) {
            return Some(r);
        }
        if until == 0 {
            t.result = 0;
            t.since = self.now;
            self.push_back(slot);
            return None;
        }
        self.counts.sleeps += 1;
        self.wait_until(slot, Wait::Sleep, Request::Sleep { until }, until)
    }

    #[inline(always)]
    fn book_park(&mut self, slot: u32, until: Deadline) -> Option<Resume> {
        let t = at(&mut self.tasks, slot);
        if let Some(r) = Self::may_wait(t) {
            return Some(r);
        }
        if t.permit {
            t.permit = false;
            return Some(0);
        }
        self.wait_until(slot, Wait::Park, Request::Park { until }, until)
    }

    /// The hub's kernel objects (epoll, eventfd, offload threads) were the
    /// parent's if the process forked since: take new ones first.
    fn repair_after_fork(&mut self) -> Option<Resume> {
        if self.epoch != lifecycle::fork_epoch() {
            if let Err(e) = self.after_fork() {
                return Some(e.code());
            }
        }
        None
    }

    #[inline(never)]
    fn book_fd(
        &mut self,
        slot: u32,
        fd: i32,
        interest: Interest,
        until: Deadline,
        rearm: bool,
    ) -> Option<Resume> {
        if let Some(r) = self.repair_after_fork() {
            return Some(r);
        }
        if let Some(r) = Self::may_wait(&mut self.tasks[slot as usize]) {
            return Some(r);
        }
        // A wait that lasts gets its registration checked (see Reactor::verify):
        // epoll silently drops an fd closed behind guv's back, which would
        // leave it waiting for ever. `now` as of the last turn is close enough.
        let wg = self.tasks[slot as usize].wait_gen;
        match self.reactor.watch(fd, interest, (slot, wg), self.now, rearm) {
            Err(e) => return Some(e.code()),
            Ok(Armed::AlwaysReady) => return Some(interest.bits()),
            Ok(Armed::Watched) => {}
        }
        self.fd_waits += 1;
        self.counts.fd_waits += 1;
        self.wait_until(slot, Wait::Fd { fd }, Request::Fd { fd, interest, until, rearm }, until)
    }

    #[inline(never)]
    fn book_join(&mut self, slot: u32, id: i64, until: Deadline) -> Option<Resume> {
        if let Some(r) = Self::may_wait(&mut self.tasks[slot as usize]) {
            return Some(r);
        }
        let target = match self.lookup(id) {
            Err(e) => return Some(e.code()),
            Ok(None) => return Some(0),
            Ok(Some(target)) if target == slot => return Some(Errno::EDEADLK.code()),
            Ok(Some(target)) => target,
        };
        let wg = self.tasks[slot as usize].wait_gen;
        self.tasks[target as usize].joiners.push((slot, wg));
        self.wait_until(slot, Wait::Join, Request::Join { id, until }, until)
    }

    /// Before the caller's own cancellation is looked at: a reap is how a
    /// killed task waits out a child that uses its stack.
    #[inline(never)]
    fn book_reap(&mut self, slot: u32, id: i64) -> Option<Resume> {
        let target = match self.lookup(id) {
            Err(e) => return Some(e.code()),
            Ok(None) => return Some(0),
            Ok(Some(target)) if target == slot => return Some(Errno::EDEADLK.code()),
            Ok(Some(target)) => target,
        };
        if let Err(e) = self.kill(id) {
            return Some(e.code());
        }
        let t = at(&mut self.tasks, slot);
        let wg = t.wait_gen;
        (t.wait, t.detail, t.since) = (Wait::Reap, Request::Reap { id }.detail(), self.now);
        self.tasks[target as usize].joiners.push((slot, wg));
        None
    }

    #[inline(never)]
    fn book_offload(&mut self, slot: u32, job: crate::offload::Job) -> Option<Resume> {
        if let Some(r) = self.repair_after_fork() {
            return Some(r);
        }
        let wg = self.tasks[slot as usize].wait_gen;
        if crate::offload::submit(job, self.handle.clone(), slot, wg).is_err() {
            return Some(Errno::EAGAIN.code());
        }
        let t = at(&mut self.tasks, slot);
        (t.wait, t.since) = (Wait::Offload, self.now);
        self.offloads += 1;
        self.counts.offloads += 1;
        None
    }
}

/// Suspends the caller with `req` until the hub wakes it. The caller books
/// its own wait before it suspends, so the loop only has to run the next task.
pub(crate) fn suspend(req: Request) -> Result<i32> {
    suspend_as(req, move |h, slot| h.block(slot, req))
}

/// As `suspend`, with `req`'s booking spelled out by the caller (one of
/// Hub::book_*), so that a hot blocking call inlines only its own case.
#[inline(always)]
fn suspend_as(req: Request, book_it: impl FnOnce(&mut Hub, u32) -> Option<Resume>) -> Result<i32> {
    let l = local();
    let cur = l.cur();
    // Main, the hub's stack and hooks take the slow path, in one branch.
    if cur.slow() {
        return suspend_slow(l, req);
    }
    if let Some(r) = book(l, |h| book_it(h, cur.slot))? {
        return Errno::decode(r);
    }
    // SAFETY: `yielder` belongs to the coroutine running right now (the loop
    // set `cur` at this resume), which is the caller's own.
    let r = unsafe { &*cur.yielder() }.suspend(Switch::Booked);
    Errno::decode(r)
}

/// `suspend` from main, on the hub's stack, or with hooks set.
#[inline(never)]
fn suspend_slow(l: &Local, req: Request) -> Result<i32> {
    let cur = l.cur();
    if cur.on_hub_stack {
        return Err(Errno::EPERM);
    }
    if cur.yielder().is_null() {
        return main_block(l, req);
    }
    let h = cur.hooks.expect("suspend_slow is for main, the hub's stack and hooks");
    if !h.may_switch(cur.hook_data) {
        return Err(Errno::EACCES);
    }
    if let Some(r) = book(l, |hub| hub.block(cur.slot, req))? {
        return Errno::decode(r);
    }
    h.switch_out(cur.hook_data);
    // SAFETY: as in `suspend_as`.
    let r = unsafe { &*cur.yielder() }.suspend(Switch::Booked);
    h.switch_in(cur.hook_data);
    Errno::decode(r)
}

/// Lets every other ready green thread run once.
#[inline(always)]
pub(crate) fn yield_now() -> Result<i32> {
    suspend_as(Request::Yield, |h, slot| h.book_yield(slot))
}

/// Sleeps until `until` (0: one round of the ready tasks).
#[inline(always)]
pub(crate) fn sleep_until(until: Deadline) -> Result<i32> {
    suspend_as(Request::Sleep { until }, move |h, slot| h.book_sleep(slot, until))
}

/// Waits for `interest` on `fd`, as `suspend` with `Request::Fd` (see
/// `Hub::book_fd`), inlining only that booking: the wait of an I/O call
/// that met EAGAIN, on every round trip of a server.
#[inline(always)]
pub(crate) fn wait_fd(fd: i32, interest: Interest, until: Deadline, rearm: bool) -> Result<i32> {
    suspend_as(Request::Fd { fd, interest, until, rearm }, move |h, slot| h.book_fd(slot, fd, interest, until, rearm))
}

/// Parks until unparked, `until`, or the deadline.
#[inline(always)]
pub(crate) fn park_until(until: Deadline) -> Result<i32> {
    suspend_as(Request::Park { until }, move |h, slot| h.book_park(slot, until))
}
