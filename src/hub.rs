//! The hub: one per OS thread. It owns the green threads, runs the ready
//! ones in turn, and between turns polls epoll, fires timers and takes work
//! handed over by other threads.
//!
//! A green thread never touches the hub's books itself: it suspends with a
//! `Request` (sleep until, wait for fd, join, …) and the loop does all the
//! bookkeeping in one place, on its own stack. Main is a green thread too
//! (slot 0, without a coroutine): when it blocks, the loop runs on main's
//! stack until main is woken.
//!
//! This file is the loop. `lifecycle` holds the births and deaths (the
//! hub's own and each green thread's), `control` what one task does to
//! another (kill, unpark, interrupt, and the inbox other threads send them
//! through). The operations callers use are in `ops`, `fd` and `remote`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use corosensei::CoroutineResult;

use crate::clock::{self, Deadline, NEVER};
use crate::errno::{Errno, Result};
use crate::monitor::{self, Watch};
use crate::reactor::{Armed, Interest, Reactor};
use crate::remote::{CCall, HubHandle, Msg};
use crate::stack::Pools;
use crate::sys::overflow::{self, Running};
use crate::sys::tsan;
use crate::task::{self, Co, Current, Request, Resume, Task, Wait};

mod control;
mod inspect;
mod lifecycle;

pub(crate) use inspect::{dump, name, set_name, stats};

/// Slot of main, which blocks by running the loop rather than by suspending.
pub(crate) const MAIN: u32 = 0;
/// Ready tasks run between two looks at epoll and the timers.
const BATCH: u32 = 128;
/// A wait on an fd has its registration checked (one epoll_ctl) once it has
/// lasted this long, and again each time as long, in case the fd was closed,
/// or closed and its number reused, behind guv's back.
const VERIFY_AFTER: u64 = 1_000_000_000;
/// How soon a submission the hub could not start is retried (nanoseconds).
const RETRY_UNSTARTED: u64 = 10_000_000;

thread_local! {
    static HUB: RefCell<Option<Box<Hub>>> = const { RefCell::new(None) };
    static CUR: Cell<Current> = const { Cell::new(Current::MAIN) };
    /// Set while this thread runs guv's own code (a C call, the loop); the
    /// user code guv calls back runs with it clear (see `outside`).
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Proof that the caller entered guv from user code; leaving clears it.
pub(crate) struct Inside(());

impl Drop for Inside {
    fn drop(&mut self) {
        INSIDE.with(|c| c.set(false));
    }
}

/// Marks the start of a C call into guv. A call that finds guv already
/// running on this thread was made from a signal handler that interrupted
/// guv (its books may be half-written): it is refused with EDEADLK before
/// anything is touched.
#[inline]
pub(crate) fn enter() -> Result<Inside> {
    if INSIDE.with(|c| c.replace(true)) {
        return Err(Errno::EDEADLK);
    }
    Ok(Inside(()))
}

/// A green thread leaving its function by a forced unwind is back in guv.
pub(crate) fn enter_from_unwind() {
    INSIDE.with(|c| c.set(true));
}

/// Runs user code that guv calls back (a green thread's function, a hook, a
/// hub-stack callback) as outside guv, so that the guv calls it makes are
/// accepted; then restores the caller's state.
#[inline]
pub(crate) fn outside<R>(f: impl FnOnce() -> R) -> R {
    let was = INSIDE.with(|c| c.replace(false));
    let r = f();
    INSIDE.with(|c| c.set(was));
    r
}

/// What the running green thread knows of itself (see `Current`).
#[inline]
pub(crate) fn cur() -> Current {
    CUR.with(|c| c.get())
}

#[inline]
pub(crate) fn set_cur(cur: Current) {
    CUR.with(|c| c.set(cur))
}

pub(crate) struct Hub {
    tasks: Vec<Task>,
    free: Vec<u32>,
    runq: VecDeque<u32>,
    timers: crate::timer::Timers,
    reactor: Reactor,
    pools: Pools,
    handle: Arc<HubHandle>,
    /// Green threads alive (main not counted).
    live: usize,
    /// Tasks with a timer armed, waiting on an fd, or waiting for an offloaded call.
    armed: usize,
    fd_waits: usize,
    offloads: usize,
    wakes: Vec<(u32, u32, i32)>,
    inbox: Vec<Msg>,
    /// Submissions from other threads that could not start yet (see start_submitted).
    unstarted: VecDeque<CCall>,
    epoch: u64,
    /// When Reactor::verify is next due (NEVER: no wait to check).
    next_verify: Deadline,
    /// The clock as last read by the loop (once per turn, and at each
    /// blocking request): when tasks changed state, for guv_dump.
    now: u64,
    /// What the blocking detector samples.
    watch: Arc<Watch>,
    /// Counters for guv_stats (switches are the watch's).
    counts: Counts,
    /// Dump signals this hub has answered (see monitor::dump_due).
    dumps: u64,
}

/// guv_stats' counters kept by the loop.
#[derive(Default)]
struct Counts {
    spawned: u64,
    sleeps: u64,
    fd_waits: u64,
    offloads: u64,
    remote: u64,
    turns: u64,
    idle_ns: u64,
}

/// Runs `f` on this thread's hub, creating it on first use. Never called
/// while the loop is resuming a task (the loop holds no borrow then).
/// A call that reaches the hub while it is busy in the same thread (from
/// a libc wrapper of libguv_hook that the hub's own epoll or close calls
/// ran into) fails with EDEADLK instead of aliasing it.
pub(crate) fn with<R>(f: impl FnOnce(&mut Hub) -> R) -> Result<R> {
    HUB.try_with(|cell| {
        let mut h = cell.try_borrow_mut().map_err(|_| Errno::EDEADLK)?;
        let hub = match &mut *h {
            Some(hub) => hub,
            None => h.insert(Box::new(Hub::new()?)),
        };
        if hub.epoch != lifecycle::fork_epoch() {
            hub.after_fork()?;
        }
        Ok(f(hub))
    })
    .map_err(|_| Errno::ESRCH)?
}

/// As `with`, but on a thread that has no hub yet does nothing (None):
/// for calls such as guv_forget, which libguv_hook makes from every close(2)
/// and which must not give a hub to threads that never use guv.
pub(crate) fn with_existing<R>(f: impl FnOnce(&mut Hub) -> R) -> Result<Option<R>> {
    let exists = HUB.try_with(|cell| cell.try_borrow().map(|h| h.is_some())).map_err(|_| Errno::ESRCH)?;
    match exists {
        Ok(false) => Ok(None),
        _ => with(f).map(Some),
    }
}

impl Hub {
    /// The slot of a live task of this hub; None if it has ended.
    fn lookup(&self, id: i64) -> Result<Option<u32>> {
        let (serial, gen, slot) = task::split_id(id).ok_or(Errno::ESRCH)?;
        let t = self.tasks.get(slot as usize).filter(|_| serial == self.handle.serial).ok_or(Errno::ESRCH)?;
        if gen > t.gen {
            return Err(Errno::ESRCH);
        }
        Ok((gen == t.gen && t.in_use).then_some(slot))
    }

    fn arm_timer(&mut self, slot: u32, when: Deadline) {
        if when == NEVER {
            return;
        }
        let t = &mut self.tasks[slot as usize];
        self.timers.push(when, slot, t.wait_gen);
        t.has_timer = true;
        self.armed += 1;
    }

    /// Takes a blocking request of `slot`. Some(result) when it is answered at
    /// once; None when the task now waits (it is woken by `wake`).
    fn block(&mut self, slot: u32, req: Request) -> Option<Resume> {
        let t = &mut self.tasks[slot as usize];
        match req {
            // A killed or timed-out task learns it at a yield too, so that a
            // loop that only computes and yields can be cancelled.
            Request::Yield => {
                if let Some(e) = t.cancelled() {
                    return Some(e.code());
                }
                t.result = 0;
                t.since = self.now;
                self.runq.push_back(slot);
                return None;
            }
            Request::RunAll => {
                t.wait = Wait::RunAll;
                t.since = self.now;
                return None;
            }
            // Before the caller's own cancellation is looked at: a reap is
            // how a killed task waits out a child that uses its stack.
            Request::Reap { id } => {
                let target = match self.lookup(id) {
                    Err(e) => return Some(e.code()),
                    Ok(None) => return Some(0),
                    Ok(Some(target)) if target == slot => return Some(Errno::EDEADLK.code()),
                    Ok(Some(target)) => target,
                };
                if let Err(e) = self.kill(id) {
                    return Some(e.code());
                }
                let t = &mut self.tasks[slot as usize];
                let wg = t.wait_gen;
                t.wait = Wait::Reap;
                (t.req, t.since) = (req, self.now);
                self.tasks[target as usize].joiners.push((slot, wg));
                return None;
            }
            Request::Offload { job } => {
                if crate::offload::submit(job, self.handle.clone(), slot, t.wait_gen).is_err() {
                    return Some(Errno::EAGAIN.code());
                }
                t.wait = Wait::Offload;
                t.since = self.now;
                self.offloads += 1;
                self.counts.offloads += 1;
                return None;
            }
            _ => {}
        }
        if let Some(e) = t.cancelled() {
            return Some(e.code());
        }
        if std::mem::take(&mut t.interrupted) {
            return Some(Errno::EINTR.code());
        }
        let now = clock::now_ns();
        self.now = now;
        (t.req, t.since) = (req, now);
        let deadline = t.deadline;
        let wg = t.wait_gen;
        let until = match req {
            Request::Sleep { until } if until <= now => {
                t.result = 0;
                self.runq.push_back(slot);
                return None;
            }
            Request::Sleep { until } => {
                t.wait = Wait::Sleep;
                self.counts.sleeps += 1;
                until
            }
            Request::Fd { fd, interest, until, rearm } => {
                match self.reactor.arm(fd, rearm) {
                    Err(e) => return Some(e.code()),
                    Ok(Armed::AlwaysReady) => return Some(interest.bits()),
                    Ok(Armed::Watched) => {}
                }
                // Every wait that lasts gets its registration checked each
                // second (see Reactor::verify): epoll silently drops an fd
                // closed behind guv's back, which would leave it waiting for ever.
                let verify_at = now + VERIFY_AFTER;
                if let Err(e) = self.reactor.add_waiter(fd, interest, (slot, wg), verify_at) {
                    return Some(e.code());
                }
                self.next_verify = self.next_verify.min(verify_at);
                self.tasks[slot as usize].wait = Wait::Fd { fd };
                self.fd_waits += 1;
                self.counts.fd_waits += 1;
                until
            }
            Request::Join { id, until } => {
                let target = match self.lookup(id) {
                    Err(e) => return Some(e.code()),
                    Ok(None) => return Some(0),
                    Ok(Some(target)) if target == slot => return Some(Errno::EDEADLK.code()),
                    Ok(Some(target)) => target,
                };
                self.tasks[target as usize].joiners.push((slot, wg));
                self.tasks[slot as usize].wait = Wait::Join;
                until
            }
            Request::Park { .. } if std::mem::take(&mut self.tasks[slot as usize].permit) => return Some(0),
            Request::Park { until } => {
                self.tasks[slot as usize].wait = Wait::Park;
                until
            }
            Request::Yield | Request::RunAll | Request::Reap { .. } | Request::Offload { .. } | Request::Exit => {
                unreachable!()
            }
        };
        self.arm_timer(slot, until.min(deadline));
        None
    }

    /// Ends the wait of `slot` with `result` and queues it to run.
    fn wake(&mut self, slot: u32, result: Resume) {
        let t = &mut self.tasks[slot as usize];
        match t.wait {
            Wait::Fd { fd } => {
                self.reactor.remove_waiter(fd, slot);
                self.fd_waits -= 1;
            }
            Wait::Offload => self.offloads -= 1,
            _ => {}
        }
        if t.has_timer {
            t.has_timer = false;
            self.armed -= 1;
        }
        t.wait = Wait::None;
        t.wait_gen = t.wait_gen.wrapping_add(1);
        t.result = result;
        t.since = self.now;
        self.runq.push_back(slot);
    }

    /// Wakes `slot` if it still waits in the wait identified by `wait_gen`.
    fn wake_if(&mut self, slot: u32, wait_gen: u32, result: Resume) {
        let t = &self.tasks[slot as usize];
        if t.wait_gen == wait_gen && t.wait != Wait::None {
            self.wake(slot, result);
        }
    }

    /// One look at the world between batches of ready tasks: the inbox,
    /// epoll and the timers. Blocks in epoll only when nothing is ready.
    fn turn(&mut self, may_block: bool) {
        self.now = clock::now_ns();
        self.counts.turns += 1;
        if monitor::dump_due(&mut self.dumps) {
            monitor::emit(&self.dump(None));
        }
        // Read the holds before draining: a submitter sends, then unholds, so
        // once the unhold is seen its submission is in the inbox.
        let held = self.handle.held();
        self.take_inbox();
        if self.tasks[MAIN as usize].wait == Wait::RunAll
            && self.live == 0
            && !held
            && self.unstarted.is_empty()
        {
            self.wake(MAIN, 0);
            return;
        }
        if self.armed == 0 && self.timers.len() > 0 {
            self.timers = Default::default(); // all stale
        }
        if self.fd_waits > 0 && self.next_verify != NEVER {
            self.verify();
        }
        let must_not_block = !may_block || !self.runq.is_empty();
        let wake_at = match self.timers.next() {
            Some(t) if self.fd_waits > 0 => Some(t.min(self.next_verify)),
            Some(t) => Some(t),
            None if self.fd_waits > 0 && self.next_verify != NEVER => Some(self.next_verify),
            None => None,
        };
        // A submission waiting for a slot or a stack is retried soon, however idle the hub.
        let wake_at = match wake_at {
            _ if self.unstarted.is_empty() => wake_at,
            Some(t) => Some(t.min(clock::now_ns() + RETRY_UNSTARTED)),
            None => Some(clock::now_ns() + RETRY_UNSTARTED),
        };
        // Free stacks over the warm bound: look again soon, so an idle
        // server gives a burst's stacks back within a second.
        let trim_at = self.pools.trim_due();
        let wake_at =
            if trim_at == NEVER { wake_at } else { Some(wake_at.map_or(trim_at, |t| t.min(trim_at))) };
        let timeout = if must_not_block {
            Some(Duration::ZERO)
        } else if let Some(at) = wake_at {
            Some(Duration::from_nanos(at.saturating_sub(self.now)))
        } else if self.fd_waits > 0 || self.offloads > 0 || held {
            // `held` as read before the inbox: an unhold since then has woken
            // the eventfd, so this wait returns at once and the next turn sees it.
            None
        } else {
            // Every task waits for something only another task could end, and
            // no timer, fd or other thread can: report it rather than hang.
            self.wake(MAIN, Errno::EDEADLK.code());
            return;
        };
        // Busy hubs with nothing to poll skip the system call entirely.
        if !must_not_block || self.fd_waits > 0 || self.offloads > 0 || held {
            let mut wakes = std::mem::take(&mut self.wakes);
            let sleeps = timeout != Some(Duration::ZERO);
            if sleeps {
                self.watch.set_idle(true);
            }
            let polled = self.reactor.poll(timeout, &mut wakes);
            if sleeps {
                self.watch.set_idle(false);
                let now = clock::now_ns();
                self.counts.idle_ns += now.saturating_sub(self.now);
                self.now = now;
            }
            match polled {
                Ok(true) => self.take_inbox(),
                Ok(false) => {}
                Err(e) => self.poll_failed(e),
            }
            for (slot, wg, ready) in wakes.drain(..) {
                self.wake_if(slot, wg, ready);
            }
            self.wakes = wakes;
        }
        if self.armed > 0 || trim_at != NEVER {
            let now = clock::now_ns();
            self.expire(now);
            if trim_at <= now {
                self.pools.trim(now);
            }
        }
    }

    /// The one place a failing epoll_wait is handled (EINTR never gets here).
    /// The loop cannot learn of fds any more, so main's blocking call fails
    /// with the error rather than the loop retrying it for ever. An offload
    /// main waits for still uses main's stack, so that wait is not ended:
    /// the loop backs off a millisecond and goes on taking the inbox, where
    /// the offload's end arrives.
    fn poll_failed(&mut self, e: Errno) {
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
    fn verify(&mut self) {
        let now = clock::now_ns();
        if now < self.next_verify {
            return;
        }
        let mut failed = Vec::new();
        self.next_verify = self.reactor.verify(now, now + VERIFY_AFTER, &mut failed);
        for (fd, e) in failed {
            for (slot, wg) in self.reactor.forget(fd).into_iter().flatten() {
                let r = if e.0 == 0 { Interest::BOTH.bits() } else { e.code() };
                self.wake_if(slot, wg, r);
            }
        }
    }

    fn expire(&mut self, now: Deadline) {
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

    /// The task running now (main when none).
    pub(crate) fn current_task(&mut self) -> &mut Task {
        &mut self.tasks[cur().slot as usize]
    }

    /// The stack bounds of the task in `slot`, for the overflow handler.
    pub(crate) fn running(&self, slot: u32) -> Running {
        self.tasks[slot as usize].running
    }

    /// Green threads alive (main not counted).
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    pub(crate) fn handle(&self) -> &Arc<HubHandle> {
        &self.handle
    }

    pub(crate) fn reactor(&mut self) -> &mut Reactor {
        &mut self.reactor
    }

    /// Wakes the waiters of `fd` with EBADF and forgets the fd.
    pub(crate) fn forget_fd(&mut self, fd: i32) {
        for (slot, wg) in self.reactor.forget(fd).into_iter().flatten() {
            self.wake_if(slot, wg, Errno::EBADF.code());
        }
    }
}

/// What the loop does next.
enum Next {
    /// Resume this task's coroutine with this value.
    Task(u32, std::ptr::NonNull<Co>, Resume, tsan::Fiber),
    /// Main was woken with this result.
    Main(Resume),
    /// Nothing is ready: look at the world.
    Idle,
}

impl Hub {
    /// Pops the next ready task and publishes it as the running one.
    fn next(&mut self) -> Next {
        match self.runq.pop_front() {
            None => Next::Idle,
            Some(MAIN) => {
                self.watch.switched();
                let t = &mut self.tasks[MAIN as usize];
                t.since = self.now;
                Next::Main(t.result)
            }
            Some(slot) => {
                self.watch.switched();
                let t = &mut self.tasks[slot as usize];
                t.since = self.now;
                CUR.with(|c| c.set(t.cur));
                overflow::set_running(t.running);
                Next::Task(slot, t.co.expect("a ready task has its coroutine"), t.result, t.fiber)
            }
        }
    }

    /// Books what the task in `slot` did when it last ran.
    fn ran(&mut self, slot: u32, r: CoroutineResult<Request, ()>) {
        match r {
            CoroutineResult::Yield(Request::Exit) => {
                let co = self.tasks[slot as usize].co.expect("an exiting task has its coroutine");
                // SAFETY: the coroutine lives in its slot's home (see `spawn`);
                // what is left on its stack holds nothing to drop (see
                // `lifecycle::Unwound`), so it may be marked done in place.
                unsafe { (*co.as_ptr()).force_reset() };
                self.finish(slot);
            }
            CoroutineResult::Yield(req) => {
                if let Some(v) = self.block(slot, req) {
                    self.tasks[slot as usize].result = v;
                    self.runq.push_front(slot);
                }
            }
            CoroutineResult::Return(()) => self.finish(slot),
        }
    }
}

/// Main blocks with `req`: the loop runs on main's stack until main is woken.
pub(crate) fn main_block(req: Request) -> Result<i32> {
    if let Request::Yield = req {
        with(|h| h.turn(false))?;
    }
    if let Some(r) = with(|h| h.block(MAIN, req))? {
        return Errno::decode(r);
    }
    // The loop runs on main's stack: under TSan, in the thread's own fiber.
    let loop_fiber = tsan::current_fiber();
    loop {
        let mut next = with(Hub::next)?;
        let mut budget = BATCH;
        while let Next::Task(slot, co, val, fiber) = next {
            tsan::switch_to(fiber);
            // SAFETY: the coroutine behind `co` lives in its slot's home until
            // `finish`, which only the loop calls, after this resume.
            let r = unsafe { &mut *co.as_ptr() }.resume(val);
            tsan::switch_to(loop_fiber);
            overflow::set_running(Running::NONE);
            budget -= 1;
            // Book this task and pick the next in one visit to the hub; CUR
            // keeps naming the last task until then, which the books don't read.
            next = with(|h| {
                h.ran(slot, r);
                if budget > 0 {
                    h.next()
                } else {
                    Next::Idle
                }
            })?;
        }
        CUR.with(|c| c.set(Current::MAIN));
        if let Next::Main(r) = next {
            return Errno::decode(r);
        }
        with(|h| h.turn(true))?;
    }
}

/// Suspends the caller with `req` until the hub wakes it.
pub(crate) fn suspend(req: Request) -> Result<i32> {
    let cur = CUR.with(|c| c.get());
    if cur.on_hub_stack {
        return Err(Errno::EPERM);
    }
    if cur.yielder.is_null() {
        return main_block(req);
    }
    if let Some(h) = cur.hooks {
        if !h.may_switch(cur.hook_data) {
            return Err(Errno::EACCES);
        }
        h.switch_out(cur.hook_data);
    }
    // SAFETY: `yielder` belongs to the coroutine running right now (the loop
    // set it at this resume), which is the caller's own.
    let r = unsafe { &*cur.yielder }.suspend(req);
    if let Some(h) = cur.hooks {
        h.switch_in(cur.hook_data);
    }
    Errno::decode(r)
}
