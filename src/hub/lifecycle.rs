//! Births and deaths: the hub's own (first use on a thread, repair in a
//! forked child, teardown when the thread exits) and each green thread's
//! (spawn, the body that runs its function, finish).

use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{set_cur, with, Hub};
use crate::callbacks;
use crate::clock::NEVER;
use crate::errno::{Errno, Result};
use crate::monitor::Watch;
use crate::reactor::{Reactor, WAKER};
use crate::remote::{HubHandle, Msg};
use crate::stack::Pools;
use crate::sys::overflow::{self, Running};
use crate::task::{self, Co, Current, Request, Resume, Task, Wait, Yielder};

static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);
/// Moves on in a forked child; a hub made before it repairs itself on next use.
static FORK_EPOCH: AtomicU64 = AtomicU64::new(0);

pub(super) fn fork_epoch() -> u64 {
    FORK_EPOCH.load(Ordering::Relaxed)
}

impl Hub {
    pub(super) fn new() -> Result<Hub> {
        overflow::prepare_thread();
        static ATFORK: std::sync::Once = std::sync::Once::new();
        ATFORK.call_once(|| crate::sys::os::at_fork_child(forked_child));
        let reactor = Reactor::new().map_err(|e| Errno::from_io(&e))?;
        let waker = mio::Waker::new(reactor.registry(), WAKER).map_err(|e| Errno::from_io(&e))?;
        let serial = NEXT_SERIAL.fetch_add(1, Ordering::Relaxed) & task::MAX_SERIAL;
        let handle = Arc::new(HubHandle::new(serial.max(1), waker));
        let watch = Watch::new(handle.serial, Arc::downgrade(&handle));
        let now = crate::clock::now_ns();
        let mut main = Task::empty();
        main.in_use = true;
        main.since = now;
        Ok(Hub {
            tasks: vec![main],
            free: Vec::new(),
            runq: VecDeque::new(),
            timers: Default::default(),
            reactor,
            pools: Pools::default(),
            handle,
            live: 0,
            armed: 0,
            fd_waits: 0,
            offloads: 0,
            wakes: Vec::new(),
            inbox: Vec::new(),
            unstarted: VecDeque::new(),
            epoch: FORK_EPOCH.load(Ordering::Relaxed),
            next_verify: NEVER,
            now,
            watch,
            counts: Default::default(),
            dumps: 0,
        })
    }

    /// First use in a forked child: the epoll instance, the eventfd and the
    /// offload threads were the parent's. Take new ones; green threads carry
    /// on, their fd waits registered afresh; offloaded calls in flight will
    /// never complete here and fail with ECANCELED.
    pub(super) fn after_fork(&mut self) -> Result<()> {
        self.epoch = FORK_EPOCH.load(Ordering::Relaxed);
        let waited = self.reactor.after_fork().map_err(|e| Errno::from_io(&e))?;
        let waker = mio::Waker::new(self.reactor.registry(), WAKER).map_err(|e| Errno::from_io(&e))?;
        self.handle = Arc::new(HubHandle::new(self.handle.serial, waker));
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

    pub(crate) fn spawn<F: FnOnce() + 'static>(&mut self, f: F, stack_size: usize) -> Result<i64> {
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
        let serial = self.handle.serial;
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
        let name = t.name.as_deref().map_or(std::ptr::null(), |n| n as *const _);
        t.running = Running { guard, top, id, name, entry: 0 };
        t.since = self.now;
        if t.fiber.is_null() {
            t.fiber = crate::sys::tsan::create_fiber();
        }
        self.runq.push_back(slot);
        self.live += 1;
        self.counts.spawned += 1;
        self.watch.set_alive(self.live);
        Ok(id)
    }

    /// A task's function returned: recycle its stack and slot, wake its joiners.
    pub(super) fn finish(&mut self, slot: u32) {
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
        if let Some(name) = &mut t.name {
            name[0] = 0;
        }
        t.wait_gen = t.wait_gen.wrapping_add(1);
        if t.gen < task::MAX_GEN {
            self.free.push(slot);
        }
        self.live -= 1;
        self.watch.set_alive(self.live);
        for (j, g) in joiners.drain(..) {
            self.wake_if(j, g, 0);
        }
        self.tasks[slot as usize].joiners = joiners;
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
    crate::monitor::after_fork_child();
}

/// The body of every green thread, on its own stack.
fn body<F: FnOnce()>(y: &Yielder, f: F) {
    let hooks = callbacks::get();
    set_cur(Current { yielder: y, hooks, ..super::cur() });
    let data = hooks.map_or(std::ptr::null_mut(), |h| h.task_start());
    let cur = Current { hook_data: data, ..super::cur() };
    set_cur(cur);
    // A panic must not unwind into the hub (or through C frames): report and abort.
    let stack = with(|h| h.running(cur.slot)).map_or((0, 0), |r| (r.guard, r.top - r.guard));
    let run = || {
        let unwound = Unwound { hooks, data, stack, unpoison: crate::sys::mem::asan_unpoison() };
        // Record once what later resumes hand back, so the loop never copies it
        // back; and where on the stack the task's own frames begin (this frame,
        // just below them), so backtraces leave out guv's entry.
        let entry = 0u8;
        let entry = std::hint::black_box(&entry) as *const u8 as usize;
        let _ = with(|h| {
            let t = &mut h.tasks[cur.slot as usize];
            t.cur = cur;
            t.running.entry = entry;
            overflow::set_running(t.running);
        });
        super::outside(f);
        std::mem::forget(unwound);
    };
    if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        eprintln!("guv: green thread panicked: {}", crate::panic_message(&*p));
        std::process::abort();
    }
    if let Some(h) = hooks {
        h.task_end(data);
    }
}

/// Sits in a green thread's outermost frame while its function runs; it is
/// dropped only when something other than a return unwinds through it.
/// Besides a Rust panic (caught by `body`), that is glibc's forced unwind
/// of pthread_exit() (or of a cancellation acted on), which cannot go past
/// the green thread's stack, or a C++ exception escaping the function.
struct Unwound {
    hooks: Option<&'static callbacks::guv_hooks>,
    data: *mut std::ffi::c_void,
    /// The green thread's stack (lowest address, length).
    stack: (usize, usize),
    unpoison: Option<crate::sys::mem::Unpoison>,
}

impl Drop for Unwound {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        if let Some(f) = self.unpoison {
            // SAFETY: the range is this green thread's own stack; clearing ASan's
            // marks on it loses checks, never memory.
            unsafe { f(self.stack.0 as *const libc::c_void, self.stack.1) };
        }
        if cxx_exception_in_flight() {
            eprintln!(
                "guv: a C++ exception escaped the function of green thread {}; it cannot be \
                 unwound past the green thread's stack: aborting",
                super::cur().id
            );
            std::process::abort();
        }
        // pthread_exit: the frames above have run their cleanup handlers and
        // destructors. End here, as if the function had returned; the hub
        // never resumes this stack (nothing on it holds anything to drop).
        if let Some(h) = self.hooks {
            h.task_end(self.data);
        }
        let cur = super::cur();
        super::enter_from_unwind();
        // SAFETY: `yielder` belongs to this running coroutine (see `suspend`).
        let _ = unsafe { &*cur.yielder }.suspend(Request::Exit);
        eprintln!("guv: an exited green thread was resumed");
        std::process::abort();
    }
}

/// Whether a C++ exception is being thrown right now (libstdc++ loaded and
/// counting one not yet caught); glibc's forced unwind is not one.
fn cxx_exception_in_flight() -> bool {
    static UNCAUGHT: std::sync::OnceLock<Option<unsafe extern "C" fn() -> i32>> = std::sync::OnceLock::new();
    let f = UNCAUGHT.get_or_init(|| {
        // SAFETY: dlsym with a NUL-terminated name; the symbol, when present,
        // is libstdc++'s `int __cxa_uncaught_exceptions() noexcept`.
        let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__cxa_uncaught_exceptions".as_ptr()) };
        // SAFETY: see above; a non-null result is that function.
        (!p.is_null()).then(|| unsafe { std::mem::transmute::<*mut libc::c_void, unsafe extern "C" fn() -> i32>(p) })
    });
    // SAFETY: the function takes nothing and cannot fail.
    f.is_some_and(|f| unsafe { f() } > 0)
}
