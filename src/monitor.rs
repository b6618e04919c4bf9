//! The monitor thread: the blocking detector and the dump signal.
//!
//! Each hub publishes a `Watch`: a counter it moves on at every switch, a
//! flag it raises while asleep in epoll, and how many green threads it has.
//! The monitor samples them; a hub whose counter stood still past the
//! threshold while it was neither idle nor empty is blocked by whatever runs
//! on it. The monitor then signals the hub's thread, whose handler records
//! its own native stack (`sys::backtrace`), and writes the report to stderr
//! once per episode, and one line more when the episode ends.
//!
//! The hub's side costs a plain store per switch and two per blocking epoll
//! wait, whether the detector is on or off; the monitor thread exists only
//! once the detector or the dump signal has been turned on.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Once, Weak};

use crate::callbacks::TaskData;
use crate::clock;
use crate::errno::{Errno, Result};
use crate::lock::Mutex;
use crate::remote::HubHandle;
use crate::sys::backtrace::{self, Capture, Runner, Taken};
use crate::sys::overflow;
use crate::sys::{call, signal};

/// A hub's face towards the monitor.
pub(crate) struct Watch {
    /// Moves on every time the hub hands its thread to a green thread or to
    /// main; only the hub's thread writes it.
    switches: AtomicU64,
    /// The hub is asleep in epoll: idle, not blocked.
    idle: AtomicBool,
    /// Green threads alive: a hub with none blocks nobody.
    alive: AtomicUsize,
    pub serial: u64,
    tid: AtomicI32,
    /// Cleared by the hub's teardown under this lock, which the monitor holds
    /// while it signals the thread, so no signal targets an exited thread.
    present: Mutex<bool>,
    /// Woken so an idle hub writes its dump at once.
    hub: Mutex<Weak<HubHandle>>,
    /// Main's name cell, for the capture handler (tasks' are in `Running`).
    main_name: AtomicPtr<[u8; backtrace::NAME_LEN]>,
    capture: Capture,
    /// The monitor's own notes on this hub.
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    switches: u64,
    /// When the monitor first saw `switches` at its current value.
    since: u64,
    /// The episode being reported: who blocked the hub.
    episode: Option<String>,
}

impl Watch {
    pub fn new(serial: u64, hub: Weak<HubHandle>) -> Arc<Watch> {
        init_from_env();
        let w = Arc::new(Watch {
            switches: AtomicU64::new(0),
            idle: AtomicBool::new(false),
            alive: AtomicUsize::new(0),
            serial,
            tid: AtomicI32::new(signal::gettid()),
            present: Mutex::new(true),
            hub: Mutex::new(hub),
            main_name: AtomicPtr::new(std::ptr::null_mut()),
            capture: Capture::new(),
            seen: Mutex::new(Seen { since: clock::now_ns(), ..Seen::default() }),
        });
        WATCH.with(|c| c.set(Arc::as_ptr(&w)));
        let mut ws = monitor().watches.lock();
        // Without a monitor thread nobody else prunes: hubs of threads that exited go here.
        ws.retain(|w| w.strong_count() > 0);
        ws.push(Arc::downgrade(&w));
        drop(ws);
        w
    }

    /// The hub handed its thread to a green thread or main.
    #[inline]
    pub fn switched(&self) {
        // One writer: a load and a store, no locked instruction.
        self.switches.store(self.switches.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }

    pub fn switches(&self) -> u64 {
        self.switches.load(Ordering::Relaxed)
    }

    /// The hub goes to sleep in epoll (true) or comes back (false).
    #[inline]
    pub fn set_idle(&self, idle: bool) {
        self.idle.store(idle, Ordering::Relaxed);
    }

    pub fn set_alive(&self, n: usize) {
        self.alive.store(n, Ordering::Relaxed);
    }

    pub fn set_main_name(&self, name: *const [u8; backtrace::NAME_LEN]) {
        self.main_name.store(name.cast_mut(), Ordering::Relaxed);
    }

    /// The hub's OS thread id.
    pub fn tid(&self) -> i32 {
        self.tid.load(Ordering::Relaxed)
    }

    /// In a forked child, on the hub's first use: the thread has a new id, a
    /// new thread-safe side, and the parent's monitor is gone.
    pub fn after_fork(self: &Arc<Watch>, hub: Weak<HubHandle>) {
        self.tid.store(signal::gettid(), Ordering::Relaxed);
        *self.hub.lock() = hub;
        *self.seen.lock() = Seen { since: clock::now_ns(), ..Seen::default() };
        monitor().watches.lock().push(Arc::downgrade(self));
        if THRESHOLD.load(Ordering::Relaxed) != 0 || DUMP_ON.load(Ordering::Relaxed) {
            start();
        }
    }

    /// The hub's thread is exiting: never signal it again.
    pub fn leave(&self) {
        *self.present.lock() = false;
        WATCH.with(|c| c.set(std::ptr::null()));
    }
}

thread_local! {
    // Const-initialised and Copy: the capture handler reads it without lazy state.
    static WATCH: std::cell::Cell<*const Watch> = const { std::cell::Cell::new(std::ptr::null()) };
}

// ---- Configuration ----

/// The detector's threshold in nanoseconds; 0 is off.
static THRESHOLD: AtomicU64 = AtomicU64::new(0);
/// GUV_DUMP_SIGNAL's handler is installed.
static DUMP_ON: AtomicBool = AtomicBool::new(false);
/// Dump signals received so far; each hub writes its dump when it sees this move.
static DUMPS: AtomicU64 = AtomicU64::new(0);

/// GUV_BLOCK_REPORT (milliseconds) and GUV_DUMP_SIGNAL, read once, when the
/// process's first hub is made.
fn init_from_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Ok(v) = std::env::var("GUV_BLOCK_REPORT") {
            match v.trim().parse::<f64>() {
                Ok(ms) if ms >= 0.0 => {
                    if let Err(e) = set_block_report(ms / 1e3) {
                        eprintln!("guv: GUV_BLOCK_REPORT={v}: the detector could not start: {e}");
                    }
                }
                _ => eprintln!("guv: GUV_BLOCK_REPORT={v} is not a number of milliseconds; ignored"),
            }
        }
        if let Ok(v) = std::env::var("GUV_DUMP_SIGNAL") {
            match signal::parse(&v) {
                Some(sig) => {
                    if let Err(e) = signal::install(sig, on_dump_signal) {
                        eprintln!("guv: GUV_DUMP_SIGNAL={v}: the handler could not be installed: {e}");
                    } else {
                        DUMP_ON.store(true, Ordering::Relaxed);
                        start();
                    }
                }
                None => eprintln!("guv: GUV_DUMP_SIGNAL={v} names no signal guv can use; ignored"),
            }
        }
    });
}

/// Turns the detector on with a threshold of `seconds`, or off with 0.
pub fn set_block_report(seconds: f64) -> Result<()> {
    if !(0.0..=3600.0).contains(&seconds) {
        return Err(Errno::EINVAL);
    }
    let ns = (seconds * 1e9) as u64;
    if ns > 0 {
        backtrace::warm_up();
        signal::install(signal::capture_signal(), on_capture_signal)?;
        // Below a millisecond every sample would find a hub "blocked".
        THRESHOLD.store(ns.max(1_000_000), Ordering::Relaxed);
        start();
    } else {
        THRESHOLD.store(0, Ordering::Relaxed);
    }
    poke();
    Ok(())
}

/// A binding's callback, run on the monitor thread after each report.
#[derive(Clone, Copy)]
pub struct BlockHook {
    pub f:
        unsafe extern "C" fn(userdata: *mut c_void, id: i64, task_data: *mut c_void, tid: i32, seconds: f64),
    pub userdata: *mut c_void,
}

static HOOK: AtomicPtr<BlockHook> = AtomicPtr::new(std::ptr::null_mut());

/// Sets (or with None removes) the callback; a replaced one is leaked, as
/// the monitor may be running it.
pub fn set_block_hook(h: Option<BlockHook>) {
    let new = h.map_or(std::ptr::null_mut(), |h| Box::into_raw(Box::new(h)));
    HOOK.store(new, Ordering::Release);
}

// ---- The dump signal ----

extern "C" fn on_dump_signal(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: __errno_location is async-signal-safe; saving errno keeps the
    // interrupted code's value.
    let saved = unsafe { *libc::__errno_location() };
    DUMPS.fetch_add(1, Ordering::Relaxed);
    poke();
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved };
}

/// Whether a dump was asked for since this hub last wrote one (`seen` is
/// the hub's own count of dump signals).
#[inline]
pub(crate) fn dump_due(seen: &mut u64) -> bool {
    let n = DUMPS.load(Ordering::Relaxed);
    if n == *seen {
        return false;
    }
    *seen = n;
    true
}

// ---- The capture signal ----

extern "C" fn on_capture_signal(_: libc::c_int, _: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: as in on_dump_signal.
    let saved = unsafe { *libc::__errno_location() };
    let w = WATCH.with(|c| c.get());
    // SAFETY: a non-null WATCH is this thread's hub's Watch, which lives until
    // `leave` nulls the pointer on this same thread.
    if let Some(w) = unsafe { w.as_ref() } {
        w.capture.fill(runner(w), signal::interrupted_pc(ctx));
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved };
}

/// Who runs on this thread now, from what a signal handler may read: the
/// const thread-locals of the loop and of the overflow handler.
fn runner(w: &Watch) -> Runner {
    let cur = crate::hub::cur();
    let r = overflow::running();
    let name = if r.top != 0 {
        r.name
    } else if cur.id == 0 {
        w.main_name.load(Ordering::Relaxed)
    } else {
        std::ptr::null()
    };
    // Until the task's hooks have given it their data, no set is told of it.
    let hooks = if r.task_data.is_null() { None } else { cur.hooks };
    // SAFETY: a non-null task_data is the running task's, filled by task_start.
    let task_data = unsafe { TaskData::copy(r.task_data) };
    Runner { id: cur.id, name, hooks, task_data, entry: r.entry }
}

// ---- The monitor thread ----

struct Monitor {
    watches: Mutex<Vec<Weak<Watch>>>,
    started: AtomicBool,
    /// A self-pipe: signal handlers and configuration changes wake the monitor with a byte.
    pipe: [i32; 2],
}

/// The process's monitor; a forked child makes its own, as the parent's
/// thread does not exist there and its lock may have been held at the fork.
static MONITOR: AtomicPtr<Monitor> = AtomicPtr::new(std::ptr::null_mut());

fn monitor() -> &'static Monitor {
    let p = MONITOR.load(Ordering::Acquire);
    // SAFETY: monitors are leaked Boxes, never freed.
    if let Some(m) = unsafe { p.as_ref() } {
        return m;
    }
    let mut pipe = [-1; 2];
    if call::pipe2(&mut pipe, libc::O_CLOEXEC | libc::O_NONBLOCK).is_err() {
        pipe = [-1, -1];
    }
    let new = Box::into_raw(Box::new(Monitor {
        watches: Mutex::new(Vec::new()),
        started: AtomicBool::new(false),
        pipe,
    }));
    match MONITOR.compare_exchange(std::ptr::null_mut(), new, Ordering::AcqRel, Ordering::Acquire) {
        // SAFETY: `new` was just leaked and is now the monitor.
        Ok(_) => unsafe { &*new },
        Err(winner) => {
            // SAFETY: `new` never escaped; `winner` is a leaked monitor.
            unsafe {
                let lost = Box::from_raw(new);
                let _ = call::close(lost.pipe[0]);
                let _ = call::close(lost.pipe[1]);
                &*winner
            }
        }
    }
}

/// A report or dump is being written (see `emit`).
static EMITTING: AtomicBool = AtomicBool::new(false);

/// In a forked child: forget the parent's monitor (leaked, never touched
/// again), and a write by a thread that does not exist here.
pub(crate) fn after_fork_child() {
    MONITOR.store(std::ptr::null_mut(), Ordering::Release);
    EMITTING.store(false, Ordering::Release);
}

/// Wakes the monitor (async-signal-safe: one write(2)).
fn poke() {
    let p = MONITOR.load(Ordering::Acquire);
    // SAFETY: as in `monitor`.
    if let Some(m) = unsafe { p.as_ref() } {
        let _ = call::write(m.pipe[1], b"x".as_ptr().cast(), 1);
    }
}

fn start() {
    let m = monitor();
    if m.started.swap(true, Ordering::AcqRel) {
        return;
    }
    if let Err(e) = std::thread::Builder::new().name("guv-monitor".into()).spawn(move || run(m)) {
        m.started.store(false, Ordering::Release);
        eprintln!("guv: the monitor thread could not start: {e}");
    }
}

/// Samples a few times per threshold: a report comes between 1 and 1.25
/// thresholds into an episode.
fn period_ms(threshold: u64) -> i32 {
    (threshold / 4 / 1_000_000).clamp(1, 250) as i32
}

fn run(m: &'static Monitor) {
    let mut dumps = DUMPS.load(Ordering::Relaxed);
    loop {
        let threshold = THRESHOLD.load(Ordering::Relaxed);
        let timeout = if threshold == 0 { -1 } else { period_ms(threshold) };
        let mut pfd = libc::pollfd { fd: m.pipe[0], events: libc::POLLIN, revents: 0 };
        let _ = call::poll(&mut pfd, 1, timeout);
        let mut sink = [0u8; 64];
        while call::read(m.pipe[0], sink.as_mut_ptr().cast(), sink.len()).is_ok_and(|n| n > 0) {}
        let watches: Vec<Arc<Watch>> = {
            let mut ws = m.watches.lock();
            ws.retain(|w| w.strong_count() > 0);
            ws.iter().filter_map(Weak::upgrade).collect()
        };
        let n = DUMPS.load(Ordering::Relaxed);
        if n != dumps {
            dumps = n;
            for w in &watches {
                if let Some(s) = w.hub.lock().upgrade() {
                    s.wake();
                }
            }
        }
        let threshold = THRESHOLD.load(Ordering::Relaxed);
        let now = clock::now_ns();
        for w in &watches {
            check(w, now, threshold);
        }
    }
}

fn check(w: &Watch, now: u64, threshold: u64) {
    let mut seen = w.seen.lock();
    let switches = w.switches.load(Ordering::Relaxed);
    let busy = !w.idle.load(Ordering::Relaxed) && w.alive.load(Ordering::Relaxed) > 0;
    if switches != seen.switches || !busy || threshold == 0 {
        if let Some(who) = seen.episode.take() {
            let ms = now.saturating_sub(seen.since) / 1_000_000;
            let tid = w.tid.load(Ordering::Relaxed);
            emit(&format!("guv: {who} let hub {} (OS thread {tid}) run again after {ms} ms\n", w.serial));
        }
        seen.switches = switches;
        seen.since = now;
        return;
    }
    if seen.episode.is_some() || now.saturating_sub(seen.since) < threshold {
        return;
    }
    let ms = now.saturating_sub(seen.since) / 1_000_000;
    let tid = w.tid.load(Ordering::Relaxed);
    let Some(t) = capture(w) else {
        seen.episode = Some("whatever runs on it".into());
        emit(&format!(
            "guv: hub {} (OS thread {tid}) has not switched for {ms} ms (its stack could not be taken)\n",
            w.serial
        ));
        return;
    };
    let who = describe_task(t.id, &t.name);
    emit(&report(&who, w.serial, tid, ms, &t.frames));
    seen.episode = Some(who);
    let hook = HOOK.load(Ordering::Acquire);
    // SAFETY: a non-null hook came from Box::into_raw in set_block_hook and is never freed.
    if let Some(h) = unsafe { hook.as_ref() } {
        // SAFETY: the binding that set the hook vouches for it.
        unsafe { (h.f)(h.userdata, t.id, t.task_data.first(), tid, ms as f64 / 1e3) };
    }
    if let Some(chain) = t.hooks {
        chain.blocked(&t.task_data, t.id, tid, ms as f64 / 1e3);
    }
}

/// "green thread 42 "name"" or "main "name"".
pub(crate) fn describe_task(id: i64, name: &str) -> String {
    let mut s = if id == 0 { "main".to_string() } else { format!("green thread {id}") };
    if !name.is_empty() {
        s.push_str(&format!(" \"{}\"", name.escape_debug()));
    }
    s
}

fn report(who: &str, serial: u64, tid: i32, ms: u64, frames: &[usize]) -> String {
    let mut s = format!(
        "guv: {who} has held hub {serial} (OS thread {tid}) for {ms} ms without switching; its stack:\n"
    );
    for (i, &ip) in frames.iter().enumerate() {
        s.push_str(&format!("    #{i:<2} {ip:#014x} {}\n", backtrace::describe(ip, i == 0)));
    }
    s
}

/// Signals the hub's thread and waits for its handler to record its stack.
fn capture(w: &Watch) -> Option<Taken> {
    let present = w.present.lock();
    if !*present {
        return None;
    }
    w.capture.ask();
    if signal::tgkill(w.tid.load(Ordering::Relaxed), signal::capture_signal()).is_err() {
        w.capture.cancel();
        return None;
    }
    for _ in 0..200 {
        if let Some(t) = w.capture.take() {
            return Some(t);
        }
        call::pause_ms(1);
    }
    if w.capture.cancel() {
        return None;
    }
    // The handler is writing right now: it ends without waiting on anything.
    loop {
        if let Some(t) = w.capture.take() {
            return Some(t);
        }
        std::hint::spin_loop();
    }
}

/// Writes a report or a dump to stderr, one at a time: hubs and the monitor
/// write at once after a dump signal, and a file opened without O_APPEND
/// (`2>file`) would let their writes land over each other.
pub(crate) fn emit(s: &str) {
    while EMITTING.swap(true, Ordering::Acquire) {
        std::thread::yield_now();
    }
    let mut b = s.as_bytes();
    while !b.is_empty() {
        match call::write(2, b.as_ptr().cast(), b.len()) {
            Ok(n) if n > 0 => b = &b[n..],
            _ => break,
        }
    }
    EMITTING.store(false, Ordering::Release);
}
