//! Per-task callbacks (`guv_hooks`, added with guv_add_hooks): how a binding
//! keeps per-thread state of a foreign runtime (CPython's PyThreadState and
//! GIL, C++'s exception record) per green thread, without the core knowing
//! any language. Several bindings live in one process (C++ embedding
//! Python), so up to `MAX` sets are in force at once, chained: each has its
//! own task data, and they run in registration order as a task enters
//! (start, switch_in) and in reverse as it leaves (switch_out, end), so a
//! later binding sees an earlier one's state in place, as with nested scopes.
//! (Not to be confused with hook/, libguv_hook's libc interposition.)

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Mutex;

use crate::errno::{Errno, Result};
use crate::ffi::guv_fn;
use crate::hub::outside;

/// Callbacks run around each green thread's life and each of its switches,
/// and for one that never starts or that the blocking detector reports.
/// Set `size` to sizeof(guv_hooks); every other member may be NULL.
/// `userdata` is passed to each callback as its first argument.
///
/// With several sets in force (guv_add_hooks), each has its own task data;
/// task_start and switch_in run in the order the sets were added, switch_out
/// and task_end in reverse, may_switch is asked in order until one refuses
/// (any refusal wins), and never_started and blocked are told in order.
#[repr(C)]
#[derive(Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct guv_hooks {
    /// sizeof(guv_hooks) as the caller was compiled: a later guv may add
    /// members at the end, and still reads a smaller struct from a binary
    /// built against this one.
    pub size: usize,
    /// On the new green thread's stack, before its function; returns the
    /// task's hook data, passed to the other callbacks for this task.
    pub task_start: Option<unsafe extern "C" fn(userdata: *mut c_void) -> *mut c_void>,
    /// On the green thread's stack, after its function returned.
    pub task_end: Option<unsafe extern "C" fn(userdata: *mut c_void, task_data: *mut c_void)>,
    /// Just before the green thread suspends (GIL release goes here).
    pub switch_out: Option<unsafe extern "C" fn(userdata: *mut c_void, task_data: *mut c_void)>,
    /// Just after it is resumed, before the blocking call returns.
    pub switch_in: Option<unsafe extern "C" fn(userdata: *mut c_void, task_data: *mut c_void)>,
    /// Asked before every switch: return 0 when the green thread must not
    /// switch now; its blocking call then fails with EACCES instead.
    pub may_switch: Option<unsafe extern "C" fn(userdata: *mut c_void, task_data: *mut c_void) -> i32>,
    /// Passed as is to every callback of the set.
    pub userdata: *mut c_void,
    /// For a green thread that never started, in place of the callbacks
    /// above: its hub's OS thread exited first (a guv_spawn not yet run, a
    /// guv_hub_spawn still queued). Gets the function and argument it was
    /// spawned with, so that the binding that made `arg` can free it: every
    /// set in force is told, in order, and each frees only what it knows by
    /// `func`. Runs on that OS thread as it exits, where guv calls fail
    /// (ESRCH). Added after the first version: a smaller `size` leaves it out.
    pub never_started: Option<unsafe extern "C" fn(userdata: *mut c_void, func: guv_fn, arg: *mut c_void)>,
    /// After each report of the blocking detector (guv_set_block_report) on
    /// a green thread that runs with this set: its id, this set's task data
    /// for it, the hub's OS thread id and the seconds it has blocked so far,
    /// for a binding to add its language's stack. Runs on the monitor
    /// thread while the hub is still blocked: it must not call guv functions
    /// that act on a hub, and the task data may belong to a task that has
    /// ended by the time it runs unless the binding keeps it alive. Added
    /// after the first version.
    pub blocked: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            task_data: *mut c_void,
            id: i64,
            thread: c_int,
            seconds: f64,
        ),
    >,
}

/// What task_end, switch_out and switch_in are.
type Callback = unsafe extern "C" fn(userdata: *mut c_void, task_data: *mut c_void);

/// The smallest guv_hooks a caller may pass: the first version's, which
/// ended at `userdata`.
const FIRST_SIZE: usize = std::mem::offset_of!(guv_hooks, never_started);

/// How many sets may be in force at once (GUV_HOOKS_MAX in C): one per
/// binding in a process, with room to spare.
pub(crate) const MAX: usize = 4;

/// The sets in force, in the order they were added, with the handles
/// guv_remove_hooks knows them by; fixed arrays, so that a switch walks them
/// without an indirection. A green thread keeps the chain it started with,
/// so a chain is never changed or freed: adding or removing a set publishes
/// a new one, and the old one stays in `EDIT` (tasks still running keep it;
/// another thread may be inside it).
#[derive(Clone, Copy)]
pub(crate) struct Chain {
    len: usize,
    handles: [c_int; MAX],
    /// What a switch reads of the first `len` (the rest all NULL), 64 bytes
    /// apart: a switch finds set i with one shift (with the whole guv_hooks,
    /// 72 bytes, a hooked yield cost 8 instructions more).
    sets: [Set; MAX],
    /// The first `len` in full (the rest all NULL), for never_started and blocked.
    hooks: [guv_hooks; MAX],
    /// Whether any set has a may_switch (guv.hpp's has none): asking no one
    /// cost a dozen instructions per switch.
    asks: bool,
}

// SAFETY: a chain is never changed once published; its pointers are the
// callbacks and userdata of process-wide hooks, which the binding that added
// them has every OS thread's green threads call (guv_add_hooks says so).
unsafe impl Send for Chain {}

const NO_HOOKS: guv_hooks = guv_hooks {
    size: 0,
    task_start: None,
    task_end: None,
    switch_out: None,
    switch_in: None,
    may_switch: None,
    userdata: std::ptr::null_mut(),
    never_started: None,
    blocked: None,
};

const NO_CHAIN: Chain =
    Chain { len: 0, handles: [0; MAX], sets: [Set::of(&NO_HOOKS); MAX], hooks: [NO_HOOKS; MAX], asks: false };

/// The members of a guv_hooks that a green thread's start, end and switches call.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Set {
    task_start: Option<unsafe extern "C" fn(userdata: *mut c_void) -> *mut c_void>,
    task_end: Option<Callback>,
    switch_out: Option<Callback>,
    switch_in: Option<Callback>,
    may_switch: Option<unsafe extern "C" fn(userdata: *mut c_void, task_data: *mut c_void) -> i32>,
    userdata: *mut c_void,
}

impl Set {
    const fn of(h: &guv_hooks) -> Set {
        Set {
            task_start: h.task_start,
            task_end: h.task_end,
            switch_out: h.switch_out,
            switch_in: h.switch_in,
            may_switch: h.may_switch,
            userdata: h.userdata,
        }
    }
}

/// Each set's task data for one task, in the chain's order; it lives in the
/// green thread's outermost frame (`lifecycle::body`) for the task's life.
/// Chain::task_start writes the first `len` slots (null for a set without
/// task_start); the others are never read.
#[derive(Clone, Copy)]
pub(crate) struct TaskData([*mut c_void; MAX]);

// SAFETY: the pointers are the bindings' own, which guv never dereferences:
// it only hands them to those bindings' callbacks (the blocking detector's on
// its monitor thread, as guv_hooks.blocked says).
unsafe impl Send for TaskData {}

impl TaskData {
    pub(crate) const NONE: TaskData = TaskData([std::ptr::null_mut(); MAX]);

    /// A copy of `*p` (NONE for null), for the capture signal's handler,
    /// which interrupts the running task on its own thread.
    ///
    /// # Safety
    /// `p` is null or points at a task's TaskData that task_start has filled.
    pub(crate) unsafe fn copy(p: *const TaskData) -> TaskData {
        // SAFETY: per the caller; volatile, as the interrupted code may be about to write it.
        if p.is_null() {
            TaskData::NONE
        } else {
            unsafe { p.read_volatile() }
        }
    }

    /// The first set's task data, as the block callback reports it.
    pub(crate) fn first(&self) -> *mut c_void {
        self.0[0]
    }
}

/// The chain in force; null when no set is, so that a green thread started
/// then carries None and its switches test one branch.
static CHAIN: AtomicPtr<Chain> = AtomicPtr::new(std::ptr::null_mut());

/// Every chain published so far (none is freed, see `Chain`; a binding adds
/// its set once, so there are few), and the last handle given. Its lock
/// orders the read-modify-write of CHAIN by add and remove.
struct Chains {
    all: Vec<Box<Chain>>,
    last_handle: c_int,
}

static EDIT: Mutex<Chains> = Mutex::new(Chains { all: Vec::new(), last_handle: 0 });

/// Adds a set after those in force; returns its handle (> 0, never reused).
/// ENOSPC when MAX sets are in force already.
pub fn add(hooks: guv_hooks) -> Result<c_int> {
    let mut chains = EDIT.lock().unwrap_or_else(|e| e.into_inner());
    let mut c = get().copied().unwrap_or(NO_CHAIN);
    if c.len == MAX {
        return Err(Errno::ENOSPC);
    }
    let handle = chains.last_handle.checked_add(1).ok_or(Errno::ENOSPC)?;
    chains.last_handle = handle;
    c.handles[c.len] = handle;
    c.sets[c.len] = Set::of(&hooks);
    c.hooks[c.len] = hooks;
    c.len += 1;
    chains.publish(c);
    Ok(handle)
}

/// Removes the set `handle` names; green threads already started keep it.
/// ENOENT when no set in force has that handle.
pub fn remove(handle: c_int) -> Result<()> {
    let mut chains = EDIT.lock().unwrap_or_else(|e| e.into_inner());
    let mut c = get().copied().unwrap_or(NO_CHAIN);
    let at = c.handles[..c.len].iter().position(|&h| h == handle).ok_or(Errno::ENOENT)?;
    c.handles.copy_within(at + 1..c.len, at);
    c.sets.copy_within(at + 1..c.len, at);
    c.hooks.copy_within(at + 1..c.len, at);
    c.len -= 1;
    c.sets[c.len] = Set::of(&NO_HOOKS);
    c.hooks[c.len] = NO_HOOKS;
    chains.publish(c);
    Ok(())
}

impl Chains {
    fn publish(&mut self, mut c: Chain) {
        c.asks = c.sets.iter().any(|h| h.may_switch.is_some());
        let new = if c.len == 0 {
            std::ptr::null_mut()
        } else {
            self.all.push(Box::new(c));
            let last: &Chain = self.all.last().expect("just pushed");
            std::ptr::from_ref(last).cast_mut()
        };
        CHAIN.store(new, Ordering::Release);
    }
}

/// The chain a green thread starting now takes (None: no set in force).
pub(crate) fn get() -> Option<&'static Chain> {
    // SAFETY: a non-null pointer is that of a boxed chain in EDIT, which is never freed or changed.
    unsafe { CHAIN.load(Ordering::Acquire).as_ref() }
}

impl guv_hooks {
    /// Copies a caller's guv_hooks of `(*p).size` bytes; members it is too
    /// small to have are NULL. EINVAL if the size is not one of a guv_hooks
    /// this library knows.
    ///
    /// # Safety
    /// `p` points at a readable guv_hooks whose `size` member is readable,
    /// and at least `size` bytes are readable from `p` when it is valid.
    pub unsafe fn read(p: *const guv_hooks) -> Result<guv_hooks> {
        // SAFETY: `size` is the first member, readable per the caller.
        let size = unsafe { p.cast::<usize>().read_unaligned() };
        // Only whole versions: a size in between would copy part of a pointer.
        if size != FIRST_SIZE && size != std::mem::size_of::<guv_hooks>() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: all zeroes is a valid guv_hooks (None callbacks, null userdata).
        let mut h: guv_hooks = unsafe { std::mem::zeroed() };
        // SAFETY: `size` bytes are readable from `p` (caller) and fit in `h` (checked above).
        unsafe { std::ptr::copy_nonoverlapping(p.cast::<u8>(), (&raw mut h).cast::<u8>(), size) };
        Ok(h)
    }
}

// Each runs the sets' callbacks with guv's "inside" flag clear (`outside`),
// once for the whole chain. The binding that added a set vouches for its
// callbacks; `data` is the running task's own `TaskData`, valid and used by
// nothing else while the task runs. Plain index loops: a zip of the two
// arrays cost a dozen instructions per switch more.
impl Chain {
    /// How many sets, told to the compiler: a published chain has 1 to MAX.
    #[inline(always)]
    fn len(&self) -> usize {
        // SAFETY: `publish` stores no empty chain, and `add` never goes past MAX.
        unsafe { std::hint::assert_unchecked((1..=MAX).contains(&self.len)) };
        self.len
    }

    /// Set `i` (below `len`) and its slot of `data`.
    #[inline(always)]
    fn at(&self, i: usize, data: *mut TaskData) -> (&Set, *mut *mut c_void) {
        // SAFETY: `i < len <= MAX` (`add` never goes past MAX); `data` is
        // valid (see above), and only its slot's address is taken here.
        unsafe { (self.sets.get_unchecked(i), (&raw mut (*data).0).cast::<*mut c_void>().add(i)) }
    }

    /// In order: each set's task_start fills its slot of `data`, which may
    /// be uninitialised before.
    pub(crate) fn task_start(&self, data: *mut TaskData) {
        outside(|| {
            for i in 0..self.len() {
                let (h, d) = self.at(i, data);
                // SAFETY: see above.
                let v = h.task_start.map_or(std::ptr::null_mut(), |f| unsafe { f(h.userdata) });
                // SAFETY: see above; a write, not a read, of a slot maybe uninitialised.
                unsafe { d.write(v) };
            }
        })
    }

    /// Calls the callback `pick` chooses of each set, in order or in reverse.
    #[inline(always)]
    fn each(&self, data: *mut TaskData, reverse: bool, pick: impl Fn(&Set) -> Option<Callback>) {
        outside(|| {
            let n = self.len();
            for k in 0..n {
                let (h, d) = self.at(if reverse { n - 1 - k } else { k }, data);
                if let Some(f) = pick(h) {
                    // SAFETY: see above.
                    unsafe { f(h.userdata, *d) };
                }
            }
        })
    }

    pub(crate) fn task_end(&self, data: *mut TaskData) {
        self.each(data, true, |h| h.task_end)
    }

    pub(crate) fn switch_out(&self, data: *mut TaskData) {
        self.each(data, true, |h| h.switch_out)
    }

    pub(crate) fn switch_in(&self, data: *mut TaskData) {
        self.each(data, false, |h| h.switch_in)
    }

    /// Tells each set, in order, that `func(arg)` will never run.
    fn never_started(&self, func: unsafe extern "C" fn(*mut c_void), arg: *mut c_void) {
        outside(|| {
            for h in &self.hooks[..self.len()] {
                if let Some(f) = h.never_started {
                    // SAFETY: see above.
                    unsafe { f(h.userdata, Some(func), arg) };
                }
            }
        })
    }

    /// Calls each set's `blocked` with its task data of the reported task
    /// (`data`), in order; on the monitor thread.
    pub(crate) fn blocked(&self, data: &TaskData, id: i64, thread: c_int, seconds: f64) {
        for (h, &d) in self.hooks[..self.len()].iter().zip(&data.0) {
            if let Some(f) = h.blocked {
                // SAFETY: the binding that added the set vouches for the callback.
                unsafe { f(h.userdata, d, id, thread, seconds) };
            }
        }
    }

    /// Whether every set agrees to a switch now; asks in order, and the first refusal ends the asking.
    pub(crate) fn may_switch(&self, data: *mut TaskData) -> bool {
        if !self.asks {
            return true;
        }
        outside(|| {
            (0..self.len()).all(|i| {
                let (h, d) = self.at(i, data);
                // SAFETY: see above.
                h.may_switch.is_none_or(|f| unsafe { f(h.userdata, *d) } != 0)
            })
        })
    }
}

/// The C function and argument of a green thread (guv_spawn, guv_hub_spawn)
/// until it starts. Dropped instead, its green thread never started, and
/// the hook sets in force are told (`never_started`), so that the binding
/// that made `arg` can free it as the function would have.
pub(crate) struct CStart {
    pub f: unsafe extern "C" fn(*mut c_void),
    pub arg: *mut c_void,
}

// SAFETY: the caller of guv_hub_spawn vouches that `f(arg)` may run on the
// hub's thread; guv never dereferences `arg` itself.
unsafe impl Send for CStart {}

impl CStart {
    /// ESRCH while this thread's hub is dropped (where any spawn on it fails):
    /// one made then and dropped by the failing spawn would be told as never
    /// started, and its `arg` freed twice.
    pub fn new(f: unsafe extern "C" fn(*mut c_void), arg: *mut c_void) -> Result<CStart> {
        if TEARDOWN.get() {
            return Err(Errno::ESRCH);
        }
        Ok(CStart { f, arg })
    }

    #[inline(always)]
    pub fn call(self) {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: the spawner vouched that `f(arg)` may be called once, here.
        unsafe { (this.f)(this.arg) }
    }
}

impl Drop for CStart {
    // Out of line and cold: inlined into the function that runs a green
    // thread's closure, it cost every C spawn 16 instructions.
    #[cold]
    #[inline(never)]
    fn drop(&mut self) {
        if !TEARDOWN.get() {
            return; // a spawn that failed: its caller keeps `arg`
        }
        if let Some(chain) = get() {
            chain.never_started(self.f, self.arg);
        }
    }
}

thread_local! {
    /// Set while this thread's hub is dropped, where a CStart dropped is a
    /// green thread that will never start.
    static TEARDOWN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `drop_hub`, the drop of this thread's hub: the green threads it
/// never started are told to the hook sets as they are dropped. Elsewhere a
/// CStart is dropped only by a spawn that failed, whose caller keeps `arg`
/// (and none is made meanwhile, see `CStart::new`).
pub(crate) fn dropping_hub(drop_hub: impl FnOnce()) {
    TEARDOWN.set(true);
    drop_hub();
    TEARDOWN.set(false);
}
