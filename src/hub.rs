//! The hub: one per OS thread. It owns the green threads, runs the ready
//! ones in turn, and between turns polls epoll, fires timers and takes work
//! handed over by other threads.
//!
//! A green thread that blocks books its own wait (`Hub::block`, called on
//! its own stack just before it suspends), so the loop only has to resume
//! the next ready task; a request answered at once (a park with a permit, a
//! join of an ended task) costs no switch at all. Main is a green thread
//! too (slot 0, without a coroutine): when it blocks, the loop runs on
//! main's stack until main is woken.
//!
//! This file is the loop. `block` holds how a green thread books its wait
//! and suspends, `lifecycle` the births and deaths (the hub's own and each
//! green thread's), `control` what ends or changes a task's wait from
//! outside it (kill, unpark, interrupt, the inbox other threads send them
//! through, timers, fd checks, a failing epoll_wait), `local` the thread's
//! one thread-local. The operations callers use are in `ops`, `fd` and
//! `remote`.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use corosensei::CoroutineResult;

use crate::clock::{self, Deadline, NEVER};
use crate::errno::{Errno, Result};
use crate::monitor::{self, Watch};
use crate::reactor::Reactor;
use crate::remote::{HubHandle, Msg, Submission};
use crate::sys::overflow::Running;
use crate::sys::tsan;
use crate::task::{self, Request, Resume, Switch, Task, Wait, MAIN_CURRENT, NIL};

mod block;
mod control;
mod inspect;
mod lifecycle;
mod local;

pub(crate) use block::{park_until, sleep_until, suspend, wait_fd, yield_now};
pub(crate) use control::unpark;
pub(crate) use inspect::{dump, name, set_name, stats};
pub(crate) use local::{cur, enter, enter_from_unwind, local, outside, Local};

/// Slot of main, which blocks by running the loop rather than by suspending.
pub(crate) const MAIN: u32 = 0;
/// Ready tasks run between two looks at epoll and the timers.
const BATCH: u32 = 128;

pub(crate) struct Hub {
    tasks: Vec<Task>,
    /// Where the slots' homes (`Task::home`) live.
    homes: crate::task::Homes,
    /// Free slots whose coroutine is primed for the next spawn, per stack size.
    primed: Vec<lifecycle::Primed>,
    /// When the primed slots' stacks are next looked at for pages to give back.
    primed_next_trim: Deadline,
    /// Free slots without a coroutine.
    bare: Vec<u32>,
    /// The slots' ThreadSanitizer fibers, made once per slot; empty without TSan.
    fibers: Vec<tsan::Fiber>,
    /// The run queue, linked through `Task::next` (NIL: empty).
    head: u32,
    tail: u32,
    /// The home of `head` (null for main or an empty queue), read when it
    /// became the head: the loop's next resume starts from it rather than
    /// from a load of the task's `home` that waits for `head`.
    head_home: *mut task::Home,
    timers: crate::timer::Timers,
    reactor: Reactor,
    /// When the stack pools (in the handle: other threads take from them)
    /// are next due for a trim, as of the hub's last use of them.
    pools_trim_due: Deadline,
    handle: Arc<HubHandle>,
    /// The overflow handler's view of the running stack (sys::overflow's
    /// thread-local, reached once here so that a switch costs no lookup).
    running: *const Cell<*const Running>,
    /// The clock as last read by `turn` (once per turn, and after blocking):
    /// close enough for the one-second fd verification and for when tasks
    /// changed state (guv_dump). The hot paths never read the clock.
    now: Deadline,
    /// Green threads alive (main not counted).
    live: usize,
    /// Tasks with a timer armed, waiting on an fd, or waiting for an offloaded call.
    armed: usize,
    fd_waits: usize,
    offloads: usize,
    wakes: Vec<(u32, u32, i32)>,
    inbox: Vec<Msg>,
    /// Submissions from other threads waiting for a free slot (see start_submitted).
    unstarted: VecDeque<Submission>,
    epoch: u64,
    /// What the blocking detector samples.
    watch: Arc<Watch>,
    /// Counters for guv_stats (switches are the watch's).
    counts: Counts,
    /// Dump signals this hub has answered (see monitor::dump_due).
    dumps: u64,
    /// Main's polls that found only a trim pending (see `trim_not_due`).
    trim_polls: u32,
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

/// The task in `slot`, for the hot paths, which only see slots that are in
/// the table: ones taken from the run queue or a running task's `cur`, never
/// an id from outside (`Hub::lookup` checks those). Without the bounds
/// checks a yield round trip ran ~10% more instructions.
#[inline(always)]
fn at(tasks: &mut [Task], slot: u32) -> &mut Task {
    debug_assert!((slot as usize) < tasks.len());
    // SAFETY: per the above, `slot` indexes the table, which never shrinks.
    unsafe { tasks.get_unchecked_mut(slot as usize) }
}

/// The home of `t` as a raw pointer, null for main.
#[inline(always)]
fn home_ptr(t: &Task) -> *mut task::Home {
    t.home.map_or(std::ptr::null_mut(), |h| h.as_ptr())
}

/// The `Local::hub` of a thread whose hub was freed at its exit.
fn dead() -> *mut Hub {
    std::ptr::NonNull::dangling().as_ptr()
}

/// This thread's hub, made on first use; ESRCH once it was freed at thread exit.
#[inline(always)]
fn hub_in(l: &Local) -> Result<*mut Hub> {
    let hub = l.hub.get();
    if hub.is_null() {
        return lifecycle::make_hub(l);
    }
    if hub == dead() {
        return Err(Errno::ESRCH);
    }
    Ok(hub)
}

/// Runs `f` on this thread's hub, creating it on first use. Never called
/// while the loop is resuming a task (the loop holds no reference then).
/// A call that reaches the hub while it is busy in the same thread (from
/// a libc wrapper of libguv_hook that the hub's own epoll or close calls
/// ran into) fails with EDEADLK instead of aliasing it. Always inlined: the
/// I/O calls visit the hub once each, and a call plus a result returned
/// through memory was a fifth of a guv_write that finds room.
#[inline(always)]
pub(crate) fn with<R>(f: impl FnOnce(&mut Hub) -> R) -> Result<R> {
    with_in(local(), f)
}

/// As `with`, for a caller that holds the thread-local already.
#[inline(always)]
fn with_in<R>(l: &Local, f: impl FnOnce(&mut Hub) -> R) -> Result<R> {
    let hub = hub_in(l)?;
    if l.busy.replace(true) {
        return Err(Errno::EDEADLK);
    }
    // SAFETY: `hub` is this thread's hub, alive until thread exit; `busy` was
    // clear, so no other reference to it is live (the loop holds none while a
    // task runs, and sets `busy` whenever it holds one).
    let h = unsafe { &mut *hub };
    let r = if h.epoch != lifecycle::fork_epoch() { h.after_fork().map(|()| f(h)) } else { Ok(f(h)) };
    l.busy.set(false);
    r
}

/// As `with`, but on a thread that has no hub yet does nothing (None):
/// for calls such as guv_forget, which libguv_hook makes from every close(2)
/// and which must not give a hub to threads that never use guv.
pub(crate) fn with_existing<R>(f: impl FnOnce(&mut Hub) -> R) -> Result<Option<R>> {
    let l = local();
    if l.hub.get().is_null() {
        Ok(None)
    } else {
        with_in(l, f).map(Some)
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

    /// Inlined, so that a wait without a deadline costs one comparison.
    #[inline(always)]
    fn arm_timer(&mut self, slot: u32, when: Deadline) {
        if when != NEVER {
            self.push_timer(slot, when);
        }
    }

    fn push_timer(&mut self, slot: u32, when: Deadline) {
        let t = &mut self.tasks[slot as usize];
        self.timers.push(when, slot, t.wait_gen);
        t.has_timer = true;
        self.armed += 1;
    }

    fn push_back(&mut self, slot: u32) {
        let t = at(&mut self.tasks, slot);
        t.next = NIL;
        let home = home_ptr(t);
        match self.tail {
            NIL => (self.head, self.head_home) = (slot, home),
            tail => at(&mut self.tasks, tail).next = slot,
        }
        self.tail = slot;
    }

    /// The next ready task and its home (null for main), NIL when none.
    #[inline(always)]
    fn pop_front(&mut self) -> (u32, *mut task::Home) {
        let (slot, home) = (self.head, self.head_home);
        if slot != NIL {
            let next = at(&mut self.tasks, slot).next;
            self.head = next;
            if next == NIL {
                (self.tail, self.head_home) = (NIL, std::ptr::null_mut());
            } else {
                self.head_home = home_ptr(at(&mut self.tasks, next));
            }
        }
        (slot, home)
    }

    fn runq_is_empty(&self) -> bool {
        self.head == NIL
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
        self.end_wait(slot, result);
    }

    /// What every wake does once the wait's fd, offload and timer are let
    /// go of: the wait ends with `result` and `slot` is queued to run.
    #[inline(always)]
    fn end_wait(&mut self, slot: u32, result: Resume) {
        let t = at(&mut self.tasks, slot);
        t.wait = Wait::None;
        t.wait_gen = t.wait_gen.wrapping_add(1);
        t.result = result;
        t.since = self.now;
        self.push_back(slot);
    }

    /// Wakes `slot` if it still waits in the wait identified by `wait_gen`.
    fn wake_if(&mut self, slot: u32, wait_gen: u32, result: Resume) {
        let t = &self.tasks[slot as usize];
        if t.wait_gen == wait_gen && t.wait != Wait::None {
            self.wake(slot, result);
        }
    }

    /// Ends the fd wait of `slot` that the reactor took its waiter out of
    /// (an event), unless that wait has ended since: `wake` without looking
    /// the fd up again, once per event on every echo round trip.
    #[inline(always)]
    fn wake_ready(&mut self, slot: u32, wait_gen: u32, ready: i32) {
        let t = at(&mut self.tasks, slot);
        if t.wait_gen != wait_gen {
            return;
        }
        debug_assert!(matches!(t.wait, Wait::Fd { .. }));
        self.fd_waits -= 1;
        if t.has_timer {
            t.has_timer = false;
            self.armed -= 1;
        }
        self.end_wait(slot, ready);
    }

    /// Main's yield looks at the world once: a turn that does not block,
    /// skipped when nothing could be due (so main yields as cheaply as a
    /// green thread on a hub without timers, fds, offloads or submissions).
    fn poll_once(&mut self) {
        let quiet = self.armed == 0
            && self.fd_waits == 0
            && self.offloads == 0
            && self.unstarted.is_empty()
            && !self.handle.stirring()
            && self.trim_not_due();
        if !quiet {
            self.turn(false);
        }
    }

    /// No stacks to give back yet. After a burst free stacks wait a trim
    /// period or two (0.3 s each), during which a whole turn at every yield
    /// of main's doubled its cost: a clock read at every 64th tells soon enough.
    fn trim_not_due(&mut self) -> bool {
        let at = self.trim_due();
        if at == NEVER {
            return true;
        }
        self.trim_polls = self.trim_polls.wrapping_add(1);
        if self.trim_polls % 64 != 0 {
            return true;
        }
        self.now = clock::now_ns();
        at > self.now
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
        // Without fd waits the checks left queued are all stale: skipped, and
        // dropped by the turns of the next fd wait.
        if self.fd_waits > 0 {
            self.verify();
        }
        let must_not_block = !may_block || !self.runq_is_empty();
        // Not the fd checks: the reactor's timerfd wakes the hub for those.
        let wake_at = self.timers.next();
        // Free stacks over the warm bound: look again soon, so an idle
        // server gives a burst's stacks back within a second.
        let trim_at = self.trim_due();
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
                // Time passed while blocked.
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
                self.wake_ready(slot, wg, ready);
            }
            self.wakes = wakes;
        }
        if self.armed > 0 || trim_at != NEVER {
            let now = self.now;
            self.expire(now);
            if trim_at <= now {
                self.trim(now);
            }
        }
    }

    /// The task running now (main when none).
    pub(crate) fn current_task(&mut self) -> &mut Task {
        &mut self.tasks[cur().slot as usize]
    }

    /// The stack bounds of the green thread in `slot`, for the overflow
    /// handler; they stay put in its home while it runs.
    pub(crate) fn running(&self, slot: u32) -> *const Running {
        let home = self.tasks[slot as usize].home.expect("a green thread has its home");
        // SAFETY: the home outlives its task; no reference into it is live now.
        unsafe { &raw const (*home.as_ptr()).running }
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

}

/// Resumes up to BATCH ready tasks, one after another; Some(main's result)
/// when main's turn came, None when the run queue ran dry or the batch ended.
/// `loop_fiber` is the TSan fiber of the stack the loop runs on.
fn run_ready(l: &Local, hub: *mut Hub, loop_fiber: tsan::Fiber) -> Option<Resume> {
    for _ in 0..BATCH {
        // SAFETY: this thread's hub; `busy` is clear and the task resumed last
        // has suspended, so no other reference to the hub is live. This one
        // ends before the next task is resumed.
        let h = unsafe { &mut *hub };
        let (slot, home) = h.pop_front();
        if slot == NIL {
            return None;
        }
        h.watch.switched();
        let now = h.now;
        let t = at(&mut h.tasks, slot);
        t.since = now;
        if slot == MAIN {
            return Some(t.result);
        }
        let val = t.result;
        let fiber = h.fibers.get(slot as usize).copied().unwrap_or(std::ptr::null_mut());
        // A queued green thread has its home: `slot_on` gives a slot one
        // before its first task can be queued, and it is never taken away.
        if home.is_null() {
            unreachable!("a ready task has its home");
        }
        // SAFETY: `running` is this thread's overflow cell (see Hub::running).
        let running = unsafe { &*h.running };
        // SAFETY: the home outlives the slot's coroutine, which is live: a
        // queued task's always is (`unprime` runs only on free slots).
        let co = unsafe {
            l.set_cur(&(*home).cur);
            running.set(&(*home).running);
            (*home).co.assume_init_mut()
        };
        tsan::switch_to(fiber);
        let r = co.resume(val);
        tsan::switch_to(loop_fiber);
        running.set(std::ptr::null());
        match r {
            CoroutineResult::Yield(Switch::Booked) => {}
            CoroutineResult::Yield(end @ (Switch::Exit | Switch::Unwound)) => {
                l.busy.set(true);
                // SAFETY: as above; `busy` marks the reference live. The
                // ended task's slot is read from its `cur`, not kept across
                // the switch, which spilled it at every resume.
                unsafe { &mut *hub }.finish(l.cur().slot, matches!(end, Switch::Unwound));
                l.busy.set(false);
            }
            CoroutineResult::Return(()) => unreachable!("a green thread's body never returns"),
        }
    }
    None
}

/// Main blocks with `req`: the loop runs on main's stack until main is woken.
pub(crate) fn main_block(l: &Local, req: Request) -> Result<i32> {
    let booked = with_in(l, |h| {
        if let Request::Yield = req {
            h.poll_once();
        }
        h.block(MAIN, req)
    })?;
    if let Some(r) = booked {
        return Errno::decode(r);
    }
    let hub = hub_in(l)?;
    // The loop runs on main's stack: under TSan, in the thread's own fiber.
    let loop_fiber = tsan::current_fiber();
    loop {
        let ready = run_ready(l, hub, loop_fiber);
        l.set_cur(&MAIN_CURRENT.0);
        if let Some(r) = ready {
            if lifecycle::main_gone(l, r)? {
                continue;
            }
            return Errno::decode(r);
        }
        with_in(l, |h| h.turn(true))?;
    }
}
