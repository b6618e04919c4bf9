//! Births and deaths: the hub's own (first use on a thread, repair in a
//! forked child, teardown when the thread exits) and each green thread's
//! (spawn, the body that runs its function, finish, and the end without
//! an unwind of all but one in a forked child).
//!
//! A green thread's coroutine outlives it: its body runs the function of
//! each task its slot holds, one after another, so a spawn into a free slot
//! whose coroutine is primed builds nothing (up to PRIMED free slots per
//! stack size; beyond that a finished slot's stack goes back to the pool).
//! Like the stack pool, the primed slots beyond the warm bound that no spawn
//! needed for a while give back the pages their tasks touched, all but the
//! top of the stack where the coroutine waits.

use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use super::{at, dead, local, Hub, Local};
use crate::callbacks;
use crate::clock::{self, NEVER};
use crate::errno::{Errno, Result};
use crate::monitor::Watch;
use crate::reactor::{Reactor, WAKER};
use crate::registry::Registry;
use crate::remote::{HubHandle, Msg, Submission};
use crate::stack::{Pools, PooledStack, Warm};
use crate::sys::overflow::{self, Running};
use crate::task::{self, Co, Current, Func, Home, Resume, Switch, Task, Wait, Yielder, NIL};

/// Free slots per stack size that keep their coroutine and stack primed
/// (bench-core spawns in batches of 1000).
const PRIMED: usize = 1024;
/// The top of a primed stack that is never given back: the suspended body's
/// few frames live there (well under a page), the rest is a margin.
const PRIMED_KEEP: usize = 8 * 1024;

/// Free slots of one stack size whose coroutine is primed, kept warm as the
/// stack pool keeps its free stacks (a cold one has given back its stack's
/// pages below the top, where the suspended body lives).
pub(super) struct Primed {
    size: usize,
    slots: Warm<u32>,
}

/// The primed slots of stacks of `size` bytes. The size spawned first is
/// looked at first: nearly every program spawns only the default size.
#[inline(always)]
fn primed_of(primed: &mut [Primed], size: usize) -> Option<&mut Primed> {
    if primed.first().is_some_and(|p| p.size == size) {
        return primed.first_mut();
    }
    primed.iter_mut().find(|p| p.size == size)
}

static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);
/// Moves on in a forked child; a hub made before it repairs itself on next use.
static FORK_EPOCH: AtomicU64 = AtomicU64::new(0);
/// In a child forked from a green thread: the serial of the hub whose main
/// is gone (0: none). Main's stack is where that hub's loop runs, so main
/// stays blocked in the loop (see `main_gone`) and never returns to its code.
static MAIN_GONE: AtomicU64 = AtomicU64::new(0);
/// The coroutines of the green threads a fork left behind: never resumed,
/// reset or dropped (their frames may be C, C++ or Python ones that cannot
/// be unwound), kept reachable so that leak checkers stay quiet. Locked
/// only in a child's fork handler, when no other thread exists.
static LEFT_AT_FORK: std::sync::Mutex<Vec<Kept>> = std::sync::Mutex::new(Vec::new());
/// Whether LEFT_AT_FORK holds any, for a hub dropped on another thread:
/// locking it there could leave it locked in a child forked meanwhile.
static ANY_LEFT_AT_FORK: AtomicBool = AtomicBool::new(false);

/// Every hub of the process: in a forked child, it keeps those of the
/// threads that did not follow it, which the child never drops.
static HUBS: Registry<Hub> = Registry::new();

/// A suspended coroutine's home, kept (never read again).
struct Kept(#[allow(dead_code)] std::ptr::NonNull<Home>);
// SAFETY: the pointer is only kept, never used, on any thread.
unsafe impl Send for Kept {}

pub(super) fn fork_epoch() -> u64 {
    FORK_EPOCH.load(Ordering::Relaxed)
}

thread_local! {
    /// Frees the hub at thread exit; touched once, when the hub is made.
    static OWNER: Owner = const { Owner };
}

struct Owner;

impl Drop for Owner {
    fn drop(&mut self) {
        let hub = local().hub.replace(dead());
        if !hub.is_null() && hub != dead() {
            // SAFETY: `hub` came from Box::into_raw in `make_hub` and is freed
            // only here, once; nothing runs on this thread's hub any more.
            callbacks::dropping_hub(|| drop(unsafe { Box::from_raw(hub) }));
            // Only now: a child forked during the drop keeps what is left of it.
            HUBS.remove(hub);
        }
    }
}

/// Makes this thread's hub at its first guv call.
#[cold]
pub(super) fn make_hub(l: &Local) -> Result<*mut Hub> {
    let hub = Box::into_raw(Box::new(Hub::new()?));
    HUBS.enter(hub);
    l.hub.set(hub);
    // On a thread already past its thread-local destructors the hub is never freed.
    let _ = OWNER.try_with(|_| ());
    Ok(hub)
}

impl Hub {
    pub(super) fn new() -> Result<Hub> {
        overflow::prepare_thread();
        static ATFORK: std::sync::Once = std::sync::Once::new();
        ATFORK.call_once(|| crate::sys::os::at_fork_child(forked_child));
        let reactor = Reactor::new().map_err(|e| Errno::from_io(&e))?;
        let waker = mio::Waker::new(reactor.registry(), WAKER).map_err(|e| Errno::from_io(&e))?;
        let serial = NEXT_SERIAL.fetch_add(1, Ordering::Relaxed) & task::MAX_SERIAL;
        let handle = Arc::new(HubHandle::new(serial.max(1), waker, Pools::default()));
        let watch = Watch::new(handle.serial, Arc::downgrade(&handle));
        let now = clock::now_ns();
        let mut main = Task::empty();
        main.in_use = true;
        main.since = now;
        Ok(Hub {
            tasks: vec![main],
            homes: Default::default(),
            primed: Vec::new(),
            primed_next_trim: 0,
            bare: Vec::new(),
            fibers: Vec::new(),
            head: NIL,
            tail: NIL,
            head_home: std::ptr::null_mut(),
            timers: Default::default(),
            reactor,
            pools_trim_due: NEVER,
            handle,
            running: overflow::running_cell(),
            live: 0,
            armed: 0,
            fd_waits: 0,
            offloads: 0,
            wakes: Vec::new(),
            inbox: Vec::new(),
            unstarted: VecDeque::new(),
            epoch: FORK_EPOCH.load(Ordering::Relaxed),
            now,
            watch,
            counts: Default::default(),
            dumps: 0,
            trim_polls: 0,
        })
    }

    /// First use in a forked child: the epoll instance, the eventfd and the
    /// offload threads were the parent's. Take new ones. The fork handler
    /// left only the forking green thread (see `keep_only`), which waits on
    /// nothing; should a wait be left (the handler found the hub busy), its
    /// fd is registered afresh, and an offloaded call, which will never
    /// complete here, fails with ECANCELED.
    pub(super) fn after_fork(&mut self) -> Result<()> {
        self.epoch = FORK_EPOCH.load(Ordering::Relaxed);
        let waited = self.reactor.after_fork().map_err(|e| Errno::from_io(&e))?;
        let waker = mio::Waker::new(self.reactor.registry(), WAKER).map_err(|e| Errno::from_io(&e))?;
        let stacks = self.handle.take_stacks_after_fork();
        self.handle = Arc::new(HubHandle::new(self.handle.serial, waker, stacks));
        self.watch.after_fork(Arc::downgrade(&self.handle));
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

    /// epoll_wait failed with `e` because guv's epoll fd was closed or
    /// replaced: take a new epoll instance and eventfd (keeping the handle
    /// other threads hold) and re-arm the fds green threads wait on. Waiters
    /// of an fd that cannot be armed any more get its error.
    pub(crate) fn renew_epoll(&mut self, e: Errno) -> Result<()> {
        let waited = self.reactor.replace_poll().map_err(|e| Errno::from_io(&e))?;
        let waker = mio::Waker::new(self.reactor.registry(), WAKER).map_err(|e| Errno::from_io(&e))?;
        self.handle.replace_waker(waker);
        eprintln!(
            "guv: the hub's epoll fd was closed or replaced behind its back (epoll_wait: {e}); \
             took a new epoll instance and re-armed {} waited fds",
            waited.len()
        );
        for fd in waited {
            if let Err(e) = self.reactor.arm(fd, true) {
                for (slot, wg) in self.reactor.forget(fd).into_iter().flatten() {
                    self.wake_if(slot, wg, e.code());
                }
            }
        }
        // Submissions sent while the old eventfd was deaf are in the inbox.
        self.handle.wake();
        Ok(())
    }

    /// Starts `func` as a green thread at the next turn, in a free slot
    /// whose coroutine is primed if there is one. Inlined with `start`: as
    /// a call, a spawn ran ~20 more instructions (saving registers, and the
    /// function and result passed through memory).
    #[inline(always)]
    pub(crate) fn spawn(&mut self, func: Func, stack_size: usize) -> Result<i64> {
        let slot = match self.take_primed(stack_size) {
            Some(slot) => slot,
            None => self.new_slot(stack_size)?,
        };
        Ok(self.start(slot, func))
    }

    /// As `spawn`, for a green thread submitted from another thread with its
    /// stack (which goes back to the pool if a primed slot takes the task).
    /// Only a full task table stops it: then the submission is handed back.
    pub(crate) fn spawn_submitted(&mut self, sub: Submission) -> std::result::Result<i64, Submission> {
        let slot = match self.take_primed(sub.stack.size()) {
            Some(slot) => {
                self.with_pools(|p| p.give(sub.stack));
                slot
            }
            None if self.table_full() => return Err(sub),
            None => self.slot_on(sub.stack),
        };
        let call = sub.call;
        Ok(self.start(slot, Func::new(move || call.call())))
    }

    #[inline(always)]
    fn take_primed(&mut self, stack_size: usize) -> Option<u32> {
        primed_of(&mut self.primed, stack_size).and_then(|p| p.slots.pop())
    }

    /// Gives `slot`'s coroutine `func` to run and queues it; returns the new task's id.
    #[inline(always)]
    fn start(&mut self, slot: u32, func: Func) -> i64 {
        let (serial, now) = (self.handle.serial, self.now);
        let t = at(&mut self.tasks, slot);
        t.gen += 1;
        t.in_use = true;
        t.func = Some(func);
        t.result = 0;
        t.since = now;
        let id = task::make_id(serial, t.gen, slot);
        // SAFETY: a slot with a coroutine has its home (`slot_on`), not
        // referenced elsewhere while the hub is borrowed. The rest of its
        // `cur` stays: the slot and yielder are the coroutine's, the hooks
        // are set by `body` as the task starts.
        unsafe {
            let home = t.home.unwrap_unchecked().as_ptr();
            (*home).cur.id = id;
            (*home).running.id = id;
        }
        self.push_back(slot);
        self.live += 1;
        self.counts.spawned += 1;
        self.watch.set_alive(self.live);
        id
    }

    /// No slot is free and the task table cannot grow.
    fn table_full(&self) -> bool {
        self.bare.is_empty() && self.tasks.len() >= task::MAX_SLOTS
    }

    /// A free slot with a new coroutine on a stack of `stack_size` bytes.
    #[cold]
    fn new_slot(&mut self, stack_size: usize) -> Result<u32> {
        if self.table_full() {
            return Err(Errno::EAGAIN);
        }
        let stack = self.with_pools(|p| p.take(stack_size))?;
        Ok(self.slot_on(stack))
    }

    /// Runs `f` on the stack pools (under the inbox's lock: submitters take
    /// from them too) and notes when they are next due for a trim.
    fn with_pools<R>(&mut self, f: impl FnOnce(&mut Pools) -> R) -> R {
        let mut inbox = self.handle.lock();
        let r = f(&mut inbox.stacks);
        self.pools_trim_due = inbox.stacks.trim_due();
        r
    }

    /// A free slot (the table is not full) with a new coroutine on `stack`.
    #[cold]
    fn slot_on(&mut self, stack: PooledStack) -> u32 {
        let stack_size = stack.size();
        let (guard, top) = (stack.guard(), stack.top());
        let slot = self.bare.pop().unwrap_or_else(|| {
            self.tasks.push(Task::empty());
            (self.tasks.len() - 1) as u32
        });
        let t = &mut self.tasks[slot as usize];
        let homes = &mut self.homes;
        let home = t
            .home
            .get_or_insert_with(|| {
                homes.make(Home { co: MaybeUninit::uninit(), cur: Current::MAIN, running: Running::NONE })
            })
            .as_ptr();
        let co = Co::with_stack(stack, move |y: &Yielder, _: Resume| body(y, home));
        let name = t.name.as_deref().map_or(std::ptr::null(), |n| n as *const _);
        // SAFETY: `home` is this slot's own cell and holds no live coroutine
        // (the slot was bare), so writing over it drops nothing.
        unsafe {
            (*home).co.write(co);
            (*home).cur = Current::MAIN.started(slot, 0, std::ptr::null());
            (*home).running = Running { guard, top, name, ..Running::NONE };
        }
        t.has_co = true;
        t.stack_size = stack_size;
        if self.fibers.get(slot as usize).is_none_or(|f| f.is_null()) {
            let fiber = crate::sys::tsan::create_fiber();
            if !fiber.is_null() {
                self.fibers.resize(self.fibers.len().max(slot as usize + 1), std::ptr::null_mut());
                self.fibers[slot as usize] = fiber;
            }
        }
        slot
    }

    /// Ends the primed coroutine of a free slot and gives its stack back.
    fn unprime(&mut self, slot: u32) {
        let t = &mut self.tasks[slot as usize];
        if !std::mem::take(&mut t.has_co) {
            return;
        }
        t.stack_size = 0;
        let home = t.home.expect("a slot with a coroutine has its home").as_ptr();
        // SAFETY: `home` holds the coroutine `new_slot` wrote (has_co was set);
        // it is moved out once, here, and the home is then empty again.
        let mut co = unsafe { (*home).co.assume_init_read() };
        // SAFETY: the coroutine is suspended in `body` between two tasks (or
        // never started), where nothing on its stack needs dropping.
        unsafe { co.force_reset() };
        self.with_pools(|p| p.give(co.into_stack()));
    }

    /// A task's function returned: free its slot, keeping its coroutine
    /// primed for the next spawn unless `unwound` (a forced unwind left it
    /// unusable), and wake its joiners. Inlined into the loop: called, it
    /// cost a spawn + exit ~30 instructions more (spills around the call).
    #[inline(always)]
    pub(super) fn finish(&mut self, slot: u32, unwound: bool) {
        let t = at(&mut self.tasks, slot);
        if let Some(name) = &mut t.name {
            name[0] = 0;
        }
        t.in_use = false;
        t.killed = false;
        t.permit = false;
        t.interrupted = false;
        t.deadline = NEVER;
        t.deadlines.clear();
        t.wait_gen = t.wait_gen.wrapping_add(1);
        let (gen, size, joined) = (t.gen, t.stack_size, !t.joiners.is_empty());
        self.live -= 1;
        self.watch.set_alive(self.live);
        if gen >= task::MAX_GEN {
            self.unprime(slot); // retired: its ids are used up
        } else if unwound {
            self.unprime(slot);
            self.bare.push(slot);
        } else {
            match primed_of(&mut self.primed, size) {
                Some(p) if p.slots.len() < PRIMED => p.slots.push(slot),
                Some(_) => {
                    self.unprime(slot);
                    self.bare.push(slot);
                }
                None => {
                    let mut slots = Warm::new(size);
                    slots.push(slot);
                    self.primed.push(Primed { size, slots });
                }
            }
        }
        if joined {
            self.wake_joiners(slot);
        }
    }

    /// Wakes the tasks that joined the one of `slot`, which has ended.
    #[cold]
    fn wake_joiners(&mut self, slot: u32) {
        let mut joiners = std::mem::take(&mut self.tasks[slot as usize].joiners);
        for (j, g) in joiners.drain() {
            self.wake_if(j, g, 0);
        }
        self.tasks[slot as usize].joiners = joiners;
    }
}

impl Hub {
    /// When `trim` has stack pages to give back (NEVER: none).
    pub(super) fn trim_due(&self) -> u64 {
        let primed = if self.primed.iter().any(|p| p.slots.over_warm()) { self.primed_next_trim } else { NEVER };
        self.pools_trim_due.min(primed)
    }

    /// Gives back the pages of free stacks, and of primed slots' stacks below
    /// their top, that no spawn needed since the last look (beyond the warm
    /// bounds), if a look is due at `now`.
    pub(super) fn trim(&mut self, now: u64) {
        self.with_pools(|p| p.trim(now));
        if now < self.primed_next_trim {
            return;
        }
        for p in &mut self.primed {
            for &slot in p.slots.trim() {
                let home = self.tasks[slot as usize].home.expect("a primed slot has its home");
                // SAFETY: the home's copy of its stack's bounds (see Hub::running);
                // nothing else references the home of a free slot.
                let r = unsafe { (*home.as_ptr()).running };
                let (bottom, end) = (r.guard + crate::stack::GUARD_SIZE, r.top - PRIMED_KEEP);
                if end > bottom {
                    // SAFETY: page-aligned (guard, top and PRIMED_KEEP are), inside
                    // the slot's stack, below where its suspended body lives: its
                    // tasks have ended, nothing lives there.
                    unsafe { crate::sys::mem::discard(bottom as *mut u8, end - bottom) };
                }
            }
        }
        self.primed_next_trim = now + crate::stack::TRIM_EVERY;
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.handle.close();
        self.watch.leave();
        let mut left = std::mem::take(&mut self.inbox);
        self.handle.drain(&mut left);
        let never = self.unstarted.len() + left.iter().filter(|m| matches!(m, Msg::Spawn(_))).count();
        if never > 0 {
            eprintln!("guv: {never} green thread(s) submitted with guv_hub_spawn never started: their hub's thread exited");
        }
        // Suspended green threads may sit inside C, C++ or Python frames that
        // cannot be unwound: leak them (and the arenas under them), never drop
        // them. Primed coroutines of ended tasks hold nothing and are reset.
        let mut leaked = false;
        for slot in 1..self.tasks.len() as u32 {
            let t = &self.tasks[slot as usize];
            if t.in_use {
                if let Some(home) = t.home.filter(|_| t.has_co) {
                    leaked = true;
                    crate::sys::keep_forever(Kept(home));
                }
                continue;
            }
            self.unprime(slot);
        }
        // The homes go with the hub, unless a suspended coroutine's is kept
        // (here or by a fork): its chunk stays, and so do the others.
        let homes = std::mem::take(&mut self.homes);
        if leaked || ANY_LEFT_AT_FORK.load(Ordering::Relaxed) {
            /// Homes kept (never read again).
            struct KeptHomes(#[allow(dead_code)] crate::task::Homes);
            // SAFETY: the homes are only kept, never used, on any thread.
            unsafe impl Send for KeptHomes {}
            crate::sys::keep_forever(KeptHomes(homes));
        }
        if !leaked {
            // SAFETY: every coroutine finished or was reset, so no stack of these pools is in use.
            unsafe { self.handle.lock().stacks.release_all() };
        }
    }
}

extern "C" fn forked_child() {
    FORK_EPOCH.fetch_add(1, Ordering::Relaxed);
    crate::offload::after_fork_child();
    crate::monitor::after_fork_child();
    HUBS.keep_all_but(local().hub.get());
    keep_only_the_forker();
}

/// As fork(2) copies only the calling OS thread, the child's hub keeps only
/// the calling green thread: the others end here, without running again
/// (at once, before any switch could resume one). A hub of another OS
/// thread needs nothing: no thread is left in the child to run it. It is
/// not dropped either, as that thread may have been using it or held its
/// locks at the fork: HUBS keeps it (`forked_child`), with its memory and fds.
fn keep_only_the_forker() {
    let l = local();
    let hub = l.hub.get();
    // Busy: fork was called from guv's own code, which never does so.
    if hub.is_null() || hub == dead() || l.busy.get() {
        return;
    }
    // SAFETY: this thread's hub, alive until thread exit; `busy` is clear, so
    // no reference to it is live (fork was called from the running task's code).
    let h = unsafe { &mut *hub };
    let forker = l.cur().slot;
    h.keep_only(forker);
    if forker != super::MAIN {
        MAIN_GONE.store(h.handle.serial, Ordering::Relaxed);
    }
}

impl Hub {
    /// Ends every green thread but `forker` (main too, unless it is the
    /// forker) as if it had vanished: its waits are let go of, its id names
    /// an ended task (joins return at once), its coroutine is kept where it
    /// stopped, never resumed nor unwound, and its hooks' task_end is not
    /// called. Submissions from other threads not yet started are dropped.
    fn keep_only(&mut self, forker: u32) {
        for slot in 0..self.tasks.len() as u32 {
            let t = &self.tasks[slot as usize];
            if slot != forker && t.in_use && t.wait != Wait::None {
                self.wake(slot, Errno::ECANCELED.code());
            }
        }
        // Only the forker runs now; the queue holds the others.
        (self.head, self.tail, self.head_home) = (NIL, NIL, std::ptr::null_mut());
        let mut left = LEFT_AT_FORK.lock().unwrap_or_else(|e| e.into_inner());
        for slot in 1..self.tasks.len() as u32 {
            let t = &mut self.tasks[slot as usize];
            if slot == forker || !t.in_use {
                continue;
            }
            drop(t.func.take()); // never started: its function is dropped, not run
            if let Some(home) = t.home.take().filter(|_| t.has_co) {
                left.push(Kept(home));
                ANY_LEFT_AT_FORK.store(true, Ordering::Relaxed);
            }
            t.has_co = false;
            t.stack_size = 0;
            // With its coroutine gone from the slot, an unwound finish resets nothing.
            self.finish(slot, true);
        }
        if forker != super::MAIN {
            self.park_gone_main();
        }
        self.unstarted.clear();
    }

    /// Main of a child forked from a green thread waits for good: parked,
    /// with no timer; a wake-up is turned back by `main_gone`.
    fn park_gone_main(&mut self) {
        let m = &mut self.tasks[super::MAIN as usize];
        (m.wait, m.permit, m.interrupted, m.killed) = (Wait::Park, false, false, false);
        m.detail = crate::task::Request::Park { until: NEVER }.detail(); // parked for good, as guv_dump says
    }
}

/// What main does when woken: Ok(true) if it is gone from this hub (see
/// MAIN_GONE), in which case the loop goes on. When no green thread is left
/// the process exits with status 0, as when the last thread of a process
/// returns; a deadlock report meant for main goes to the green threads that
/// wait, which are the ones nothing else can wake.
#[inline]
pub(super) fn main_gone(l: &Local, r: Resume) -> Result<bool> {
    let serial = MAIN_GONE.load(Ordering::Relaxed);
    if serial == 0 {
        return Ok(false);
    }
    main_gone_from(l, serial, r)
}

#[cold]
fn main_gone_from(l: &Local, serial: u64, r: Resume) -> Result<bool> {
    let last = super::with_in(l, |h| {
        if h.handle.serial != serial {
            return None;
        }
        h.park_gone_main();
        if h.live == 0 {
            return Some(true);
        }
        if r == Errno::EDEADLK.code() {
            for slot in 1..h.tasks.len() as u32 {
                let t = &h.tasks[slot as usize];
                if t.in_use && t.wait != Wait::None {
                    h.wake(slot, r);
                }
            }
        }
        Some(false)
    })?;
    match last {
        None => Ok(false),
        Some(true) => std::process::exit(0),
        Some(false) => Ok(true),
    }
}

/// The body of every green thread's coroutine, on its own stack: it runs
/// the function of each task its slot holds, one after another, and never
/// returns, so that a spawn into a free slot builds no coroutine.
fn body(y: &Yielder, home: *mut Home) {
    // SAFETY (each access to `home` below): the slot's home outlives its
    // coroutine, and nothing else references it while this green thread runs.
    unsafe { (*home).cur = (*home).cur.with_yielder(y) };
    // Looked up now, so that a forced unwind finds it resolved.
    let _ = crate::sys::mem::asan_unpoison();
    let l = local();
    loop {
        let hooks = callbacks::get();
        // The hook sets' task data lives in this frame for the task's life,
        // written by task_start before anything reads it.
        let mut slots = MaybeUninit::<callbacks::TaskData>::uninit();
        let data = if hooks.is_some() { slots.as_mut_ptr() } else { std::ptr::null_mut() };
        // SAFETY: as above. The loop holds no reference to the hub while a
        // green thread runs (`busy` is clear), and `slot` is this task's own.
        let func = unsafe {
            let cur = &mut (*home).cur;
            *cur = cur.with_hooks(hooks, data);
            (*home).running.task_data = std::ptr::null();
            debug_assert!(!l.busy.get());
            at(&mut (*l.hub.get()).tasks, cur.slot).func.take()
        };
        let Some(func) = func else {
            eprintln!("guv: a green thread started without its function");
            std::process::abort();
        };
        if let Some(h) = hooks {
            h.task_start(data);
            // SAFETY: as above. The blocking detector's signal handler reads it.
            unsafe { (*home).running.task_data = data };
        }
        let run = || {
            let unwound = Unwound { home };
            // Where on the stack the task's own frames begin (this frame, just
            // below them), so backtraces leave out guv's entry.
            let entry = 0u8;
            let entry = std::hint::black_box(&entry) as *const u8 as usize;
            // SAFETY: as above.
            unsafe { (*home).running.entry = entry };
            super::outside(|| func.run());
            std::mem::forget(unwound);
        };
        // A panic must not unwind into the hub (or through C frames): report and abort.
        if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
            eprintln!("guv: green thread panicked: {}", crate::panic_message(&*p));
            std::process::abort();
        }
        if let Some(h) = hooks {
            h.task_end(data);
        }
        y.suspend(Switch::Exit);
    }
}

/// Sits in a green thread's outermost frame while its function runs; it is
/// dropped only when something other than a return unwinds through it.
/// Besides a Rust panic (caught by `body`), that is glibc's forced unwind
/// of pthread_exit() (or of a cancellation acted on), which cannot go past
/// the green thread's stack, or a C++ exception escaping the function.
/// What it needs then (the task's hooks, its stack) it reads from the
/// slot's home, so that the common case, a return, costs one store.
struct Unwound {
    home: *mut Home,
}

impl Drop for Unwound {
    #[cold]
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        // SAFETY: the running green thread's home (see `body`).
        let (cur, r) = unsafe { ((*self.home).cur, (*self.home).running) };
        if let Some(f) = crate::sys::mem::asan_unpoison() {
            // SAFETY: the range is this green thread's own stack; clearing ASan's
            // marks on it loses checks, never memory.
            unsafe { f(r.guard as *const libc::c_void, r.top - r.guard) };
        }
        if crate::sys::dl::cxx_exception_in_flight() {
            eprintln!(
                "guv: a C++ exception escaped the function of green thread {}; it cannot be \
                 unwound past the green thread's stack: aborting",
                cur.id
            );
            std::process::abort();
        }
        // pthread_exit: the frames above have run their cleanup handlers and
        // destructors. End here, as if the function had returned; the hub
        // never resumes this stack (nothing on it holds anything to drop).
        if let Some(h) = cur.hooks {
            h.task_end(cur.hook_data);
        }
        super::enter_from_unwind();
        // SAFETY: `yielder` belongs to this running coroutine (see `suspend`).
        let _ = unsafe { &*cur.yielder() }.suspend(Switch::Unwound);
        eprintln!("guv: an exited green thread was resumed");
        std::process::abort();
    }
}
