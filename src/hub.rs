//! The hub: one per OS thread. It owns the green threads, runs the ready
//! ones in turn, and between turns polls epoll, fires timers and takes work
//! handed over by other threads.
//!
//! A green thread never touches the hub's books itself: it suspends with a
//! `Request` (sleep until, wait for fd, join, …) and the loop does all the
//! bookkeeping in one place, on its own stack. Main is a green thread too
//! (slot 0, without a coroutine): when it blocks, the loop runs on main's
//! stack until main is woken.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use corosensei::CoroutineResult;

use crate::clock::{self, Deadline, NEVER};
use crate::errno::{Errno, Result};
use crate::hooks;
use crate::reactor::{Armed, FdKind, FdMode, Interest, Reactor, WAKER};
use crate::remote::{CCall, Msg, Shared};
use crate::stack::{self, Pools};
use crate::sys::overflow::{self, Running};
use crate::task::{self, Co, Current, Request, Resume, Task, Wait, Yielder};

/// Slot of main, which blocks by running the loop rather than by suspending.
const MAIN: u32 = 0;
/// Ready tasks run between two looks at epoll and the timers.
const BATCH: u32 = 128;
/// A wait on an fd registration trusted without a system call is checked
/// after this long (one epoll_ctl), in case the fd was closed and its number
/// reused behind guv's back.
const VERIFY_AFTER: u64 = 1_000_000_000;

static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);
/// Moves on in a forked child; a hub made before it repairs itself on next use.
static FORK_EPOCH: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static HUB: RefCell<Option<Box<Hub>>> = const { RefCell::new(None) };
    static CUR: Cell<Current> = const { Cell::new(Current::MAIN) };
}

pub(crate) struct Hub {
    tasks: Vec<Task>,
    free: Vec<u32>,
    runq: VecDeque<u32>,
    timers: crate::timer::Timers,
    reactor: Reactor,
    pools: Pools,
    shared: Arc<Shared>,
    /// Green threads alive (main not counted).
    live: usize,
    /// Tasks with a timer armed, waiting on an fd, or waiting for an offloaded call.
    armed: usize,
    fd_waits: usize,
    offloads: usize,
    wakes: Vec<(u32, u32, i32)>,
    inbox: Vec<Msg>,
    epoch: u64,
    /// When Reactor::verify is next due (NEVER: no wait to check).
    next_verify: Deadline,
}

/// Runs `f` on this thread's hub, creating it on first use. Never called
/// while the loop is resuming a task (the loop holds no borrow then).
/// A call that reaches the hub while it is busy in the same thread (from
/// a libc wrapper of libguv_hook that the hub's own epoll or close calls
/// ran into) fails with EDEADLK instead of aliasing it.
fn with<R>(f: impl FnOnce(&mut Hub) -> R) -> Result<R> {
    HUB.try_with(|cell| {
        let mut h = cell.try_borrow_mut().map_err(|_| Errno::EDEADLK)?;
        let hub = match &mut *h {
            Some(hub) => hub,
            None => h.insert(Box::new(Hub::new()?)),
        };
        if hub.epoch != FORK_EPOCH.load(Ordering::Relaxed) {
            hub.after_fork()?;
        }
        Ok(f(hub))
    })
    .map_err(|_| Errno::ESRCH)?
}

/// As `with`, but on a thread that has no hub yet does nothing (None):
/// for calls such as guv_forget, which libguv_hook makes from every close(2)
/// and which must not give a hub to threads that never use guv.
fn with_existing<R>(f: impl FnOnce(&mut Hub) -> R) -> Result<Option<R>> {
    let exists = HUB.try_with(|cell| cell.try_borrow().map(|h| h.is_some())).map_err(|_| Errno::ESRCH)?;
    match exists {
        Ok(false) => Ok(None),
        _ => with(f).map(Some),
    }
}

impl Hub {
    fn new() -> Result<Hub> {
        overflow::prepare_thread();
        static ATFORK: std::sync::Once = std::sync::Once::new();
        // SAFETY: registering a handler that only touches atomics.
        ATFORK.call_once(|| unsafe {
            libc::pthread_atfork(None, None, Some(forked_child));
        });
        let reactor = Reactor::new().map_err(|e| Errno::from_io(&e))?;
        let waker = mio::Waker::new(reactor.registry(), WAKER).map_err(|e| Errno::from_io(&e))?;
        let serial = NEXT_SERIAL.fetch_add(1, Ordering::Relaxed) & task::MAX_SERIAL;
        let mut main = Task::empty();
        main.in_use = true;
        Ok(Hub {
            tasks: vec![main],
            free: Vec::new(),
            runq: VecDeque::new(),
            timers: Default::default(),
            reactor,
            pools: Pools::default(),
            shared: Arc::new(Shared::new(serial.max(1), waker)),
            live: 0,
            armed: 0,
            fd_waits: 0,
            offloads: 0,
            wakes: Vec::new(),
            inbox: Vec::new(),
            epoch: FORK_EPOCH.load(Ordering::Relaxed),
            next_verify: NEVER,
        })
    }

    /// First use in a forked child: the epoll instance, the eventfd and the
    /// offload threads were the parent's. Take new ones; green threads carry
    /// on, their fd waits registered afresh; offloaded calls in flight will
    /// never complete here and fail with ECANCELED.
    fn after_fork(&mut self) -> Result<()> {
        self.epoch = FORK_EPOCH.load(Ordering::Relaxed);
        let waited = self.reactor.after_fork().map_err(|e| Errno::from_io(&e))?;
        let waker = mio::Waker::new(self.reactor.registry(), WAKER).map_err(|e| Errno::from_io(&e))?;
        self.shared = Arc::new(Shared::new(self.shared.serial, waker));
        for fd in waited {
            if let Err(e) = self.reactor.arm(fd, true) {
                for (slot, wg) in self.reactor.forget(fd).into_iter().flatten() {
                    self.wake_if(slot, wg, e.code());
                }
            }
        }
        for slot in 0..self.tasks.len() as u32 {
            if self.tasks[slot as usize].wait == Wait::Offload {
                self.wake(slot, Errno::ECANCELED.code());
            }
        }
        Ok(())
    }

    fn spawn<F: FnOnce() + 'static>(&mut self, f: F, stack_size: usize) -> Result<i64> {
        if self.free.is_empty() && self.tasks.len() >= task::MAX_SLOTS {
            return Err(Errno::EAGAIN);
        }
        let stack = self.pools.take(stack_size)?;
        let (guard, top) = (stack.guard(), stack.top());
        let co = Co::with_stack(stack, move |y: &Yielder, _: Resume| body(y, f));
        let slot = self.free.pop().unwrap_or_else(|| {
            self.tasks.push(Task::empty());
            (self.tasks.len() - 1) as u32
        });
        let serial = self.shared.serial;
        let t = &mut self.tasks[slot as usize];
        t.gen += 1;
        t.in_use = true;
        let home = *t
            .home
            .get_or_insert_with(|| std::ptr::NonNull::from(Box::leak(Box::new(MaybeUninit::uninit()))));
        // SAFETY: `home` is this slot's own cell and holds no live coroutine (the
        // slot was free), so writing over it drops nothing.
        unsafe { home.as_ptr().write(MaybeUninit::new(co)) };
        t.co = Some(home.cast());
        t.result = 0;
        let id = task::make_id(serial, t.gen, slot);
        t.cur = Current { slot, id, ..Current::MAIN };
        t.running = Running { guard, top, id };
        self.runq.push_back(slot);
        self.live += 1;
        Ok(id)
    }

    /// The slot of a live task of this hub; None if it has ended.
    fn lookup(&self, id: i64) -> Result<Option<u32>> {
        let (serial, gen, slot) = task::split_id(id).ok_or(Errno::ESRCH)?;
        let t = self.tasks.get(slot as usize).filter(|_| serial == self.shared.serial).ok_or(Errno::ESRCH)?;
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
                self.runq.push_back(slot);
                return None;
            }
            Request::RunAll => {
                t.wait = Wait::RunAll;
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
                let wg = self.tasks[slot as usize].wait_gen;
                self.tasks[target as usize].joiners.push((slot, wg));
                self.tasks[slot as usize].wait = Wait::Reap;
                return None;
            }
            Request::Offload { job } => {
                if crate::offload::submit(job, self.shared.clone(), slot, t.wait_gen).is_err() {
                    return Some(Errno::EAGAIN.code());
                }
                t.wait = Wait::Offload;
                self.offloads += 1;
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
                until
            }
            Request::Fd { fd, interest, until, rearm } => {
                match self.reactor.arm(fd, rearm) {
                    Err(e) => return Some(e.code()),
                    Ok(Armed::AlwaysReady) => return Some(interest.bits()),
                    Ok(Armed::Watched) => {}
                }
                // A registration trusted without a system call gets checked
                // if the wait lasts (see Reactor::verify).
                let verify_at = if rearm { 0 } else { now + VERIFY_AFTER };
                if let Err(e) = self.reactor.add_waiter(fd, interest, (slot, wg), verify_at) {
                    return Some(e.code());
                }
                if !rearm {
                    self.next_verify = self.next_verify.min(verify_at);
                }
                self.tasks[slot as usize].wait = Wait::Fd { fd };
                self.fd_waits += 1;
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
            Request::Yield | Request::RunAll | Request::Reap { .. } | Request::Offload { .. } => unreachable!(),
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
        self.runq.push_back(slot);
    }

    /// Wakes `slot` if it still waits in the wait identified by `wait_gen`.
    fn wake_if(&mut self, slot: u32, wait_gen: u32, result: Resume) {
        let t = &self.tasks[slot as usize];
        if t.wait_gen == wait_gen && t.wait != Wait::None {
            self.wake(slot, result);
        }
    }

    fn kill(&mut self, id: i64) -> Result<()> {
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

    fn unpark(&mut self, id: i64) -> Result<()> {
        if let Some(slot) = self.lookup_or_main(id)? {
            if self.tasks[slot as usize].wait == Wait::Park {
                self.wake(slot, 0);
            } else {
                self.tasks[slot as usize].permit = true;
            }
        }
        Ok(())
    }

    fn interrupt(&mut self, id: i64) -> Result<()> {
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

    /// A task's function returned: recycle its stack and slot, wake its joiners.
    fn finish(&mut self, slot: u32) {
        let t = &mut self.tasks[slot as usize];
        let co = t.co.take().expect("a finished task had its coroutine");
        // SAFETY: `co` points at the coroutine written into this slot's home by
        // `spawn`; it is moved out once, here, and the home is then free again.
        let co = unsafe { co.as_ptr().read() };
        self.pools.give(co.into_stack());
        let t = &mut self.tasks[slot as usize];
        let mut joiners = std::mem::take(&mut t.joiners);
        t.in_use = false;
        t.killed = false;
        t.permit = false;
        t.interrupted = false;
        t.deadline = NEVER;
        t.deadlines.clear();
        t.cur = Current::MAIN;
        t.wait_gen = t.wait_gen.wrapping_add(1);
        if t.gen < task::MAX_GEN {
            self.free.push(slot);
        }
        self.live -= 1;
        for (j, g) in joiners.drain(..) {
            self.wake_if(j, g, 0);
        }
        self.tasks[slot as usize].joiners = joiners;
    }

    fn take_inbox(&mut self) {
        self.shared.drain(&mut self.inbox);
        let mut inbox = std::mem::take(&mut self.inbox);
        for m in inbox.drain(..) {
            match m {
                Msg::Spawn(call) => {
                    if let Err(e) = self.spawn(move || call.call(), stack::default_size()) {
                        eprintln!("guv: a green thread submitted from another thread could not start: {e}");
                    }
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

    /// One look at the world between batches of ready tasks: the inbox,
    /// epoll and the timers. Blocks in epoll only when nothing is ready.
    fn turn(&mut self, may_block: bool) {
        // Read the holds before draining: a submitter sends, then unholds, so
        // once the unhold is seen its submission is in the inbox.
        let held = self.shared.held();
        self.take_inbox();
        if self.tasks[MAIN as usize].wait == Wait::RunAll && self.live == 0 && !held {
            self.wake(MAIN, 0);
            return;
        }
        if self.armed == 0 && self.timers.len() > 0 {
            self.timers = Default::default(); // all stale
        }
        if self.fd_waits > 0 && self.next_verify != NEVER {
            self.verify();
        }
        let idle = !may_block || !self.runq.is_empty();
        let wake_at = match self.timers.next() {
            Some(t) if self.fd_waits > 0 => Some(t.min(self.next_verify)),
            Some(t) => Some(t),
            None if self.fd_waits > 0 && self.next_verify != NEVER => Some(self.next_verify),
            None => None,
        };
        let timeout = if idle {
            Some(Duration::ZERO)
        } else if let Some(at) = wake_at {
            Some(Duration::from_nanos(at.saturating_sub(clock::now_ns())))
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
        if !idle || self.fd_waits > 0 || self.offloads > 0 || held {
            let mut wakes = std::mem::take(&mut self.wakes);
            if self.reactor.poll(timeout, &mut wakes) {
                self.take_inbox();
            }
            for (slot, wg, ready) in wakes.drain(..) {
                self.wake_if(slot, wg, ready);
            }
            self.wakes = wakes;
        }
        if self.armed > 0 {
            self.expire(clock::now_ns());
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
        self.next_verify = self.reactor.verify(now, &mut failed);
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

    fn current_task(&mut self) -> &mut Task {
        &mut self.tasks[CUR.with(|c| c.get().slot) as usize]
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.shared.close();
        // Suspended green threads may sit inside C, C++ or Python frames that
        // cannot be unwound: leak them (and the arenas under them), never drop them.
        let mut leaked = false;
        for t in &mut self.tasks {
            match (t.co, t.home) {
                // A live coroutine is never dropped: that would unwind its stack.
                (Some(_), _) => leaked = true,
                // SAFETY: an empty home from Box::leak in `spawn`; MaybeUninit drops nothing.
                (None, Some(home)) => drop(unsafe { Box::from_raw(home.as_ptr()) }),
                (None, None) => {}
            }
        }
        if !leaked {
            // SAFETY: every coroutine finished, so no stack of these pools is in use.
            unsafe { self.pools.release_all() };
        }
    }
}

extern "C" fn forked_child() {
    FORK_EPOCH.fetch_add(1, Ordering::Relaxed);
    crate::offload::after_fork_child();
}

/// The body of every green thread, on its own stack.
fn body<F: FnOnce()>(y: &Yielder, f: F) {
    let hooks = hooks::get();
    CUR.with(|c| {
        let mut cur = c.get();
        cur.yielder = y;
        cur.hooks = hooks;
        c.set(cur)
    });
    let data = hooks.map_or(std::ptr::null_mut(), |h| h.start());
    let cur = CUR.with(|c| {
        let mut cur = c.get();
        cur.hook_data = data;
        c.set(cur);
        cur
    });
    // Record once what later resumes hand back, so the loop never copies it back.
    let _ = with(|h| h.tasks[cur.slot as usize].cur = cur);
    // A panic must not unwind into the hub (or through C frames): report and abort.
    if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        let msg = p.downcast_ref::<&str>().copied().or(p.downcast_ref::<String>().map(|s| s.as_str()));
        eprintln!("guv: green thread panicked: {}", msg.unwrap_or("(non-string payload)"));
        std::process::abort();
    }
    if let Some(h) = hooks {
        h.end(data);
    }
}

/// What the loop does next.
enum Next {
    /// Resume this task's coroutine with this value.
    Task(u32, std::ptr::NonNull<Co>, Resume),
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
            Some(MAIN) => Next::Main(self.tasks[MAIN as usize].result),
            Some(slot) => {
                let t = &self.tasks[slot as usize];
                CUR.with(|c| c.set(t.cur));
                overflow::set_running(t.running);
                Next::Task(slot, t.co.expect("a ready task has its coroutine"), t.result)
            }
        }
    }

    /// Books what the task in `slot` did when it last ran.
    fn ran(&mut self, slot: u32, r: CoroutineResult<Request, ()>) {
        match r {
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
fn main_block(req: Request) -> Result<i32> {
    if let Request::Yield = req {
        with(|h| h.turn(false))?;
    }
    if let Some(r) = with(|h| h.block(MAIN, req))? {
        return Errno::decode(r);
    }
    loop {
        let mut next = with(Hub::next)?;
        let mut budget = BATCH;
        while let Next::Task(slot, co, val) = next {
            // SAFETY: the coroutine behind `co` lives in its slot's home until
            // `finish`, which only the loop calls, after this resume.
            let r = unsafe { &mut *co.as_ptr() }.resume(val);
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
fn suspend(req: Request) -> Result<i32> {
    let cur = CUR.with(|c| c.get());
    if cur.on_hub_stack {
        return Err(Errno::EPERM);
    }
    if cur.yielder.is_null() {
        return main_block(req);
    }
    if let Some(h) = cur.hooks {
        if !h.may_switch(cur.hook_data) {
            return Err(Errno::EDEADLK);
        }
        h.out(cur.hook_data);
    }
    // SAFETY: `yielder` belongs to the coroutine running right now (the loop
    // set it at this resume), which is the caller's own.
    let r = unsafe { &*cur.yielder }.suspend(req);
    if let Some(h) = cur.hooks {
        h.into(cur.hook_data);
    }
    Errno::decode(r)
}

// ---- The core's Rust API; src/ffi exposes each of these to C. ----

/// Starts `f` as a green thread at the hub's next turn; returns its id.
pub fn spawn<F: FnOnce() + 'static>(f: F) -> Result<i64> {
    spawn_with_stack(f, 0)
}

/// As `spawn`, with a stack of `stack_size` bytes (0: the default).
pub fn spawn_with_stack<F: FnOnce() + 'static>(f: F, stack_size: usize) -> Result<i64> {
    let size = if stack_size == 0 { stack::default_size() } else { stack::normalize(stack_size)? };
    with(|h| h.spawn(f, size))?
}

/// Runs this thread's hub until no green thread is left.
pub fn run() -> Result<()> {
    let cur = CUR.with(|c| c.get());
    if !cur.yielder.is_null() || cur.on_hub_stack {
        return Err(Errno::EPERM);
    }
    main_block(Request::RunAll).map(drop)
}

/// Lets every other ready green thread run once.
pub fn yield_now() -> Result<()> {
    suspend(Request::Yield).map(drop)
}

/// Suspends the caller for at least `seconds` (`<= 0` yields).
pub fn sleep(seconds: f64) -> Result<()> {
    suspend(Request::Sleep { until: clock::after(seconds)? }).map(drop)
}

/// Id of the running green thread; 0 in main.
pub fn current() -> i64 {
    CUR.with(|c| c.get().id)
}

/// Waits until green thread `id` has ended.
pub fn join(id: i64) -> Result<()> {
    if id == current() && id != 0 {
        return Err(Errno::EDEADLK);
    }
    suspend(Request::Join { id, until: NEVER }).map(drop)
}

/// Kills green thread `id` and waits until it has ended, even when the caller
/// itself is killed, past its deadline or interrupted.
pub fn reap(id: i64) -> Result<()> {
    if id == current() && id != 0 {
        return Err(Errno::EDEADLK);
    }
    suspend(Request::Reap { id }).map(drop)
}

/// Cancels green thread `id`: its current or next blocking call, and every later one, fails with ECANCELED.
pub fn kill(id: i64) -> Result<()> {
    with(|h| h.kill(id))?
}

/// Suspends the caller until guv_unpark names it (at once if an unpark
/// came since its last park), `seconds` pass (ETIMEDOUT; negative: never),
/// or it is killed.
pub fn park(seconds: f64) -> Result<()> {
    if seconds.is_nan() {
        return Err(Errno::EINVAL);
    }
    let until = if seconds < 0.0 { NEVER } else { clock::after(seconds)? };
    suspend(Request::Park { until }).map(drop)
}

/// Wakes green thread `id` (0: main) from guv_park, or lets its next park return at once.
pub fn unpark(id: i64) -> Result<()> {
    with(|h| h.unpark(id))?
}

/// Ends the current blocking call of `id` (0: main) with EINTR, or its next one.
pub fn interrupt(id: i64) -> Result<()> {
    with(|h| h.interrupt(id))?
}

/// Checks that `id` (0: main) can name a task of the hub behind `shared`.
fn remote_id(shared: &Shared, id: i64) -> Result<i64> {
    if id != 0 {
        let (serial, _, _) = task::split_id(id).ok_or(Errno::ESRCH)?;
        if serial != shared.serial {
            return Err(Errno::ESRCH);
        }
    }
    Ok(id)
}

/// Thread-safe unpark of green thread `id` of the hub behind `shared`.
pub fn remote_unpark(shared: &Shared, id: i64) -> Result<()> {
    shared.send(Msg::Unpark(remote_id(shared, id)?))
}

/// Thread-safe interrupt of green thread `id` of the hub behind `shared`.
pub fn remote_interrupt(shared: &Shared, id: i64) -> Result<()> {
    shared.send(Msg::Interrupt(remote_id(shared, id)?))
}

/// The usable stack of the running green thread: (lowest address, size).
pub fn stack_bounds() -> Result<(usize, usize)> {
    let cur = CUR.with(|c| c.get());
    if cur.yielder.is_null() || cur.on_hub_stack {
        return Err(Errno::ESRCH);
    }
    with(|h| {
        let r = h.tasks[cur.slot as usize].running;
        let lo = r.guard + stack::GUARD_SIZE;
        (lo, r.top - lo)
    })
}

/// Waits until `fd` is ready for any of `interest`; returns the ready mask.
/// `timeout` in seconds: negative waits forever, 0 polls once.
pub fn trampoline(fd: i32, interest: Interest, timeout: f64) -> Result<Interest> {
    if fd < 0 {
        return Err(Errno::EBADF);
    }
    if timeout.is_nan() {
        return Err(Errno::EINVAL);
    }
    if timeout == 0.0 {
        return poll_now(fd, interest);
    }
    let until = if timeout < 0.0 { NEVER } else { clock::after(timeout)? };
    let ready = suspend(Request::Fd { fd, interest, until, rearm: true })?;
    Ok(Interest::from_bits(ready).unwrap_or(interest))
}

/// As `trampoline`, for a caller that has just seen EAGAIN on `fd`: a
/// registered fd is then known not ready, so no re-arm system call is needed.
pub fn trampoline_after_eagain(fd: i32, interest: Interest, timeout: f64) -> Result<Interest> {
    if fd < 0 {
        return Err(Errno::EBADF);
    }
    if timeout.is_nan() {
        return Err(Errno::EINVAL);
    }
    let until = if timeout < 0.0 { NEVER } else { clock::after(timeout)? };
    wait_after_eagain(fd, interest, until)
}

/// Waits for `interest` on `fd` right after an I/O call on it failed with
/// EAGAIN: a registered fd is then known not ready, so no re-arm is needed.
pub(crate) fn wait_after_eagain(fd: i32, interest: Interest, until: Deadline) -> Result<Interest> {
    let ready = suspend(Request::Fd { fd, interest, until, rearm: false })?;
    Ok(Interest::from_bits(ready).unwrap_or(interest))
}

fn poll_now(fd: i32, interest: Interest) -> Result<Interest> {
    let mut pfd = libc::pollfd { fd, events: 0, revents: 0 };
    if interest.bits() & 1 != 0 {
        pfd.events |= libc::POLLIN;
    }
    if interest.bits() & 2 != 0 {
        pfd.events |= libc::POLLOUT;
    }
    if crate::sys::call::poll(&mut pfd, 1, 0) < 0 {
        return Err(Errno::last());
    }
    if pfd.revents & libc::POLLNVAL != 0 {
        return Err(Errno::EBADF);
    }
    let err = pfd.revents & (libc::POLLERR | libc::POLLHUP) != 0;
    let mut ready = 0;
    if pfd.revents & libc::POLLIN != 0 || (err && interest.bits() & 1 != 0) {
        ready |= 1;
    }
    if pfd.revents & libc::POLLOUT != 0 || (err && interest.bits() & 2 != 0) {
        ready |= 2;
    }
    Interest::from_bits(ready).ok_or(Errno::ETIMEDOUT)
}

/// Wakes every green thread waiting on `fd` with EBADF, forgets it, and closes it.
pub fn close(fd: i32) -> Result<()> {
    if fd < 0 {
        return Err(Errno::EBADF);
    }
    forget_fd(fd)?;
    if crate::sys::call::close(fd) != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Wakes the waiters of `fd` with EBADF and drops the hub's state for it
/// (for callers that close or replace the fd themselves, e.g. dup2).
pub fn forget_fd(fd: i32) -> Result<()> {
    with_existing(|h| {
        for (slot, wg) in h.reactor.forget(fd).into_iter().flatten() {
            h.wake_if(slot, wg, Errno::EBADF.code());
        }
    })
    .map(drop)
}

/// Fails with ECANCELED if the caller was killed, or ETIMEDOUT if its
/// deadline passed: the I/O layer asks before each call, so that a killed
/// green thread reading a busy socket notices without ever waiting.
pub fn check_cancel() -> Result<()> {
    with(|h| h.current_task().cancelled().map_or(Ok(()), Err))?
}

/// The start of every greenified call, in one visit to the hub: fails with
/// ECANCELED or ETIMEDOUT as `check_cancel`, else says what is known of `fd`.
pub(crate) fn io_begin(fd: i32) -> Result<FdKind> {
    with(|h| {
        if let Some(e) = h.current_task().cancelled() {
            Err(e)
        } else if let Some(e) = h.reactor.take_pending(fd) {
            Err(e)
        } else {
            Ok(h.reactor.kind(fd))
        }
    })?
}

/// Keeps `e` for the next call on `fd`: a call that made progress before an
/// error returns its count, and the error must not be lost.
pub(crate) fn set_pending_error(fd: i32, e: Errno) {
    let _ = with(|h| h.reactor.set_pending(fd, e));
}

pub(crate) fn set_fd_kind(fd: i32, kind: FdKind) {
    let _ = with(|h| h.reactor.set_kind(fd, kind));
}

/// The cached mode of `fd` (see FdMode).
pub(crate) fn fd_mode(fd: i32) -> Option<FdMode> {
    with(|h| h.reactor.mode(fd)).ok().flatten()
}

pub(crate) fn set_fd_mode(fd: i32, mode: Option<FdMode>) {
    let _ = with(|h| h.reactor.set_mode(fd, mode));
}

/// Opens a nested deadline `seconds` from now on the calling green thread.
pub fn timeout_begin(seconds: f64) -> Result<()> {
    let until = clock::after(seconds)?;
    with(|h| {
        let t = h.current_task();
        t.deadlines.push(t.deadline);
        t.deadline = t.deadline.min(until);
    })
}

/// Closes the innermost deadline; EPERM when none is open.
pub fn timeout_end() -> Result<()> {
    with(|h| {
        let t = h.current_task();
        t.deadline = t.deadlines.pop().ok_or(Errno::EPERM)?;
        Ok(())
    })?
}

/// Runs `f(arg)` on an offload thread; suspends only the caller until it returns.
pub fn offload(f: unsafe extern "C" fn(*mut c_void), arg: *mut c_void) -> Result<()> {
    if CUR.with(|c| c.get().on_hub_stack) {
        return Err(Errno::EPERM);
    }
    suspend(Request::Offload { job: CCall { f, arg } }).map(drop)
}

/// Runs `f(arg)` on the hub's own stack (corosensei's on_parent_stack).
/// Blocking guv calls made from there fail with EPERM.
pub fn call_on_hub(f: unsafe extern "C" fn(*mut c_void), arg: *mut c_void) -> Result<()> {
    let call = CCall { f, arg };
    let cur = CUR.with(|c| c.get());
    /// The callback stays on this OS thread: on_parent_stack's Send bound
    /// guards against handing a Yielder to another thread, which we don't.
    struct SameThread(Current);
    // SAFETY: see above; the value never leaves this thread.
    unsafe impl Send for SameThread {}
    impl SameThread {
        fn get(self) -> Current {
            self.0
        }
    }
    let saved = SameThread(cur);
    let run = move || {
        let cur = saved.get();
        CUR.with(|c| c.set(Current { on_hub_stack: true, ..cur }));
        overflow::set_running(Running::NONE);
        call.call();
        CUR.with(|c| c.set(cur));
    };
    if cur.yielder.is_null() || cur.on_hub_stack {
        run();
    } else {
        // SAFETY: as in `suspend`, the yielder is the running coroutine's.
        unsafe { &*cur.yielder }.on_parent_stack(run);
        with(|h| overflow::set_running(h.tasks[cur.slot as usize].running))?;
    }
    Ok(())
}

/// Whether the caller may switch now: inside a green thread or main, not on
/// the hub's stack, and the hooks' may_switch agrees.
pub fn can_switch() -> bool {
    let cur = CUR.with(|c| c.get());
    !cur.on_hub_stack && cur.hooks.is_none_or(|h| h.may_switch(cur.hook_data))
}

/// Number of green threads alive on this thread's hub.
pub fn count() -> Result<usize> {
    with(|h| h.live)
}

/// The thread-safe handle of this thread's hub.
pub fn shared() -> Result<Arc<Shared>> {
    with(|h| h.shared.clone())
}

/// Spawns on the hub behind `shared` from any thread.
pub fn remote_spawn(shared: &Shared, f: unsafe extern "C" fn(*mut c_void), arg: *mut c_void) -> Result<()> {
    shared.send(Msg::Spawn(CCall { f, arg }))
}

/// Kills green thread `id` of the hub behind `shared`, from any thread.
pub fn remote_kill(shared: &Shared, id: i64) -> Result<()> {
    if id == 0 {
        return Err(Errno::ESRCH); // main cannot be killed
    }
    shared.send(Msg::Kill(remote_id(shared, id)?))
}
