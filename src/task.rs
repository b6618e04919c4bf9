//! A green thread: its coroutine, what it waits for, and its id.
//!
//! Ids encode where the task lives so that join and kill need no map:
//! `hub serial (24 bits) | slot generation (18 bits) | slot index (21 bits)`.
//! A slot's generation moves on when its task ends, and a slot whose
//! generation is used up is retired, so an id is never issued twice.

use crate::callbacks::{Chain, TaskData};
use crate::clock::{Deadline, NEVER};
use crate::reactor::Interest;
use crate::stack::PooledStack;
use crate::sys::overflow::Running;

/// What the hub passes a green thread when it resumes it: a non-negative
/// result or `-errno`.
pub(crate) type Resume = i32;
pub(crate) type Yielder = corosensei::Yielder<Resume, Switch>;
pub(crate) type Co = corosensei::Coroutine<Resume, Switch, (), PooledStack>;

/// What a green thread tells the loop when it suspends. Its wait it has
/// booked on the hub itself, just before (see `hub::suspend`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Switch {
    /// It waits as booked (or is queued again).
    Booked,
    /// Its function returned; its coroutine stays primed for the next spawn.
    Exit,
    /// Its function was ended by a forced unwind (pthread_exit): never resume
    /// it; end it as if it had returned, and discard its coroutine.
    Unwound,
}

/// What a blocking call waits for, booked by `Hub::block`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Request {
    Yield,
    Sleep {
        until: Deadline,
    },
    Fd {
        fd: i32,
        interest: Interest,
        until: Deadline,
        rearm: bool,
    },
    Join {
        id: i64,
        until: Deadline,
    },
    /// Kill `id` and wait for its end, whatever happens to the caller.
    Reap {
        id: i64,
    },
    Park {
        until: Deadline,
    },
    Offload {
        job: crate::offload::Job,
    },
    /// Main only: run until no green thread is left.
    RunAll,
}

/// What a suspended task waits for (the hub's view).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Wait {
    None,
    Sleep,
    Fd {
        fd: i32,
    },
    Join,
    /// guv_reap: ended by nothing but the target's end.
    Reap,
    Park,
    Offload,
    RunAll,
}

impl Wait {
    /// Waits that kill and guv_interrupt end at once (an offloaded call may
    /// still be using its argument, so it is waited out).
    pub fn interruptible(self) -> bool {
        matches!(self, Wait::Sleep | Wait::Fd { .. } | Wait::Join | Wait::Park)
    }
}

pub(crate) const SLOT_BITS: u32 = 21;
pub(crate) const GEN_BITS: u32 = 18;
pub(crate) const SERIAL_BITS: u32 = 24;
pub(crate) const MAX_SLOTS: usize = 1 << SLOT_BITS;
pub(crate) const MAX_GEN: u32 = (1 << GEN_BITS) - 1;
pub(crate) const MAX_SERIAL: u64 = (1 << SERIAL_BITS) - 1;

pub(crate) fn make_id(serial: u64, gen: u32, slot: u32) -> i64 {
    ((serial << (GEN_BITS + SLOT_BITS)) | ((gen as u64) << SLOT_BITS) | slot as u64) as i64
}

/// (hub serial, generation, slot) of an id, or None for ids that cannot be valid.
pub(crate) fn split_id(id: i64) -> Option<(u64, u32, u32)> {
    if id <= 0 {
        return None;
    }
    let id = id as u64;
    let serial = id >> (GEN_BITS + SLOT_BITS);
    let gen = ((id >> SLOT_BITS) & MAX_GEN as u64) as u32;
    let slot = (id & (MAX_SLOTS as u64 - 1)) as u32;
    (serial != 0 && gen != 0 && serial <= MAX_SERIAL).then_some((serial, gen, slot))
}

/// What the running green thread needs without asking the hub: set by the
/// loop at every resume, read by every blocking call.
#[derive(Clone, Copy)]
pub(crate) struct Current {
    pub slot: u32,
    /// Inside guv_call_on_hub: blocking is refused.
    pub on_hub_stack: bool,
    pub id: i64,
    /// The yielder (null in main), its low bit set when a blocking call
    /// must take the slow path (main, the hub's stack, hooks): one test on
    /// every blocking call instead of three, in a field that keeps a slot's
    /// home within a 128-byte malloc chunk. Kept by `settle`.
    yielder: usize,
    /// The hook sets this task started with, and their task data.
    pub hooks: Option<&'static Chain>,
    pub hook_data: *mut TaskData,
}

impl Current {
    pub const MAIN: Current =
        Current { slot: 0, on_hub_stack: false, id: 0, yielder: 1, hooks: None, hook_data: std::ptr::null_mut() };

    /// The running coroutine's yielder; null in main.
    #[inline(always)]
    pub fn yielder(&self) -> *const Yielder {
        (self.yielder & !1) as *const Yielder
    }

    /// Whether a blocking call must take the slow path.
    #[inline(always)]
    pub fn slow(&self) -> bool {
        self.yielder & 1 != 0
    }

    /// A green thread's at the start of a task: task `id` in `slot`, on the
    /// coroutine of `yielder`, without hooks (yet).
    #[inline(always)]
    pub fn started(self, slot: u32, id: i64, yielder: *const Yielder) -> Current {
        Current { slot, id, ..self }.with_yielder(yielder)
    }

    /// This at the start of a task that runs under `hooks` (with their task
    /// data at `hook_data`): it takes the slow path if any are set. A task
    /// starts on its coroutine (the yielder is set) and off the hub's stack.
    #[inline(always)]
    pub fn with_hooks(self, hooks: Option<&'static Chain>, hook_data: *mut TaskData) -> Current {
        debug_assert!(!self.yielder().is_null() && !self.on_hub_stack);
        Current { hooks, hook_data, yielder: self.yielder & !1 | hooks.is_some() as usize, ..self }
    }

    /// This one inside guv_call_on_hub.
    #[inline(always)]
    pub fn on_hub(self) -> Current {
        Current { on_hub_stack: true, ..self }.settle()
    }

    /// This with `yielder` as the yielder.
    #[inline(always)]
    pub fn with_yielder(self, yielder: *const Yielder) -> Current {
        Current { yielder: yielder as usize, ..self }.settle()
    }

    /// Recomputes the slow-path bit after `hooks` or `on_hub_stack` changed.
    #[inline(always)]
    pub fn settle(self) -> Current {
        let y = self.yielder();
        let slow = y.is_null() || self.on_hub_stack || self.hooks.is_some();
        Current { yielder: y as usize | slow as usize, ..self }
    }
}

/// Main's view of itself, where the hub's thread-local points outside green threads.
pub(crate) struct MainCurrent(pub Current);
// SAFETY: it holds no pointer to anything (null ones, and the slow-path bit
// for a yielder) and is never written.
unsafe impl Sync for MainCurrent {}
pub(crate) static MAIN_CURRENT: MainCurrent = MainCurrent(Current::MAIN);

/// What stays put for a slot's whole life, in a cell of `Homes` made once:
/// its coroutine, which must not move while it runs even if the task table
/// grows, and what the running green thread and the overflow handler read
/// of it through a pointer set at each resume.
///
/// Laid out for the switch: aligned to a cache line, with `cur` and the
/// coroutine's first fields (its stack and the stack pointer a resume
/// reads) in the first line, so that a yield touches one line of its home;
/// `running` (read only by the overflow handler) fills the second.
#[repr(C, align(64))]
pub(crate) struct Home {
    pub cur: Current,
    /// Live while `Task::has_co`.
    pub co: std::mem::MaybeUninit<Co>,
    /// Its stack bounds, for the overflow handler.
    pub running: Running,
}

/// Homes per chunk of `Homes` (~32 KiB).
const HOMES_PER_CHUNK: usize = 256;

/// Where a hub's homes live: chunks of them, never moved or freed while the
/// hub lives, so that a home costs no malloc chunk of its own (a million
/// sleepers paid 16 bytes each in malloc's header and rounding).
#[derive(Default)]
pub(crate) struct Homes {
    chunks: Vec<Box<[std::mem::MaybeUninit<Home>]>>,
    /// Homes made in the last chunk.
    used: usize,
}

impl Homes {
    /// A new home holding `home`, valid until the Homes is dropped.
    pub fn make(&mut self, home: Home) -> std::ptr::NonNull<Home> {
        if self.chunks.is_empty() || self.used == HOMES_PER_CHUNK {
            self.chunks.push(Box::new_uninit_slice(HOMES_PER_CHUNK));
            self.used = 0;
        }
        let cell = &mut self.chunks.last_mut().expect("a chunk was just made")[self.used];
        self.used += 1;
        std::ptr::NonNull::from(cell.write(home))
    }
}

/// End of the run queue's links.
pub(crate) const NIL: u32 = u32::MAX;

/// The function a green thread runs, kept in its slot until the slot's
/// coroutine takes it. A closure of up to two words (C's fn and arg) is
/// stored inline; a larger one is boxed. One never run (its hub was dropped
/// first) is dropped with what it captured.
pub(crate) struct Func {
    /// Calls (`true`) or drops (`false`) the closure stored in `data`.
    take: unsafe fn(*mut [usize; 2], bool),
    data: std::mem::MaybeUninit<[usize; 2]>,
}

impl Func {
    pub fn new<F: FnOnce() + 'static>(f: F) -> Func {
        /// Calls or drops the closure stored in `p` itself.
        unsafe fn inline<F: FnOnce()>(p: *mut [usize; 2], call: bool) {
            // SAFETY: `new` wrote an F at `p` (it fits, aligned) and it is taken once.
            let f = unsafe { p.cast::<F>().read() };
            if call {
                f()
            }
        }
        /// Calls or drops the closure whose Box pointer is stored in `p`.
        unsafe fn boxed<F: FnOnce()>(p: *mut [usize; 2], call: bool) {
            // SAFETY: `new` wrote Box::into_raw of an F at `p` and it is taken once.
            let f = unsafe { Box::from_raw(p.cast::<*mut F>().read()) };
            if call {
                f()
            }
        }
        let mut data = std::mem::MaybeUninit::<[usize; 2]>::uninit();
        let fits = size_of::<F>() <= size_of::<[usize; 2]>() && align_of::<F>() <= align_of::<usize>();
        let take: unsafe fn(*mut [usize; 2], bool) = if fits {
            // SAFETY: F fits in `data` and needs no more alignment than it has.
            unsafe { data.as_mut_ptr().cast::<F>().write(f) };
            inline::<F>
        } else {
            // SAFETY: a pointer fits in `data`.
            unsafe { data.as_mut_ptr().cast::<*mut F>().write(Box::into_raw(Box::new(f))) };
            boxed::<F>
        };
        Func { take, data }
    }

    /// Calls the function, consuming it.
    pub fn run(self) {
        let mut this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `data` holds what `new` stored for `take`, taken once: `this`
        // is never dropped, so `Drop` does not take it again.
        unsafe { (this.take)(this.data.as_mut_ptr(), true) }
    }
}

impl Drop for Func {
    fn drop(&mut self) {
        // SAFETY: `data` holds what `new` stored (`run` consumes without dropping), taken once.
        unsafe { (self.take)(self.data.as_mut_ptr(), false) }
    }
}

/// A list most tasks never use (nested deadlines, joiners): one pointer
/// while it has never held anything, where a Vec is three (a million
/// sleepers' two Vecs were 48 of the 328 bytes each cost besides its stack).
/// Once used it keeps its allocation for the slot's next tasks.
#[allow(clippy::box_collection)] // the Box is the point: one pointer while empty
pub(crate) struct Rare<T>(Option<Box<Vec<T>>>);

impl<T> Default for Rare<T> {
    fn default() -> Self {
        Rare(None)
    }
}

impl<T> Rare<T> {
    pub fn push(&mut self, v: T) {
        self.0.get_or_insert_with(Default::default).push(v)
    }

    pub fn pop(&mut self) -> Option<T> {
        self.0.as_mut()?.pop()
    }

    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|v| v.is_empty())
    }

    pub fn clear(&mut self) {
        if let Some(v) = &mut self.0 {
            v.clear()
        }
    }

    /// Removes and yields every element, keeping the allocation.
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.0.iter_mut().flat_map(|v| v.drain(..))
    }
}

/// What guv_dump tells of a wait besides its kind: when it ends at the
/// latest, and the fd's interest bits or the joined task's id.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WaitDetail {
    pub until: Deadline,
    pub arg: i64,
}

impl Request {
    /// What guv_dump shows of this request once it waits.
    pub fn detail(self) -> WaitDetail {
        let (until, arg) = match self {
            Request::Sleep { until } | Request::Park { until } => (until, 0),
            Request::Fd { interest, until, .. } => (until, interest.bits() as i64),
            Request::Join { id, until } => (until, id),
            Request::Reap { id } => (NEVER, id),
            Request::Yield | Request::Offload { .. } | Request::RunAll => (NEVER, 0),
        };
        WaitDetail { until, arg }
    }
}

/// The slot of one task. Slot 0 is main, which has no coroutine.
///
/// Laid out for the switch: 128 bytes aligned to a cache line, with what
/// a yield, a wake and the loop's resume read and write in the first line
/// and what a spawn, a join, a name or guv_dump use in the second.
#[repr(C, align(64))]
pub(crate) struct Task {
    /// The next task in the run queue (NIL: the last, or not queued).
    pub next: u32,
    /// Passed to the task when it is next resumed.
    pub result: Resume,
    /// Moves on at every wake-up; timer and waiter entries carry it, so
    /// entries of an earlier wait are recognised as stale.
    pub wait_gen: u32,
    /// Generation of the id now (or last) issued for this slot; 0 = never used.
    pub gen: u32,
    pub wait: Wait,
    /// The earliest of the nested deadlines opened by guv_timeout_begin.
    pub deadline: Deadline,
    /// When the task entered its present state (running, ready or its wait),
    /// on the hub's clock (see `Hub::now`); for guv_dump.
    pub since: u64,
    /// This slot's heap cell (None for main and slots never used), reached
    /// through a raw pointer so the loop can resume the coroutine while the
    /// task borrows the hub (malloc+free per spawn cost ~180 instructions).
    pub home: Option<std::ptr::NonNull<Home>>,
    // The four flags a task's end clears are declared together, so that
    // they lie together and one store clears them.
    pub in_use: bool,
    pub killed: bool,
    /// guv_unpark came while the task was not parked: its next park returns at once.
    pub permit: bool,
    /// guv_interrupt came while the task was not blocked: its next blocking call fails with EINTR.
    pub interrupted: bool,
    pub has_timer: bool,
    /// Whether `home` holds a coroutine. It outlives the task: a free slot
    /// keeps it primed for the next spawn.
    pub has_co: bool,
    /// What the slot's coroutine runs when it next starts a task.
    pub func: Option<Func>,
    /// Stack size of the slot's coroutine (0: none).
    pub stack_size: usize,
    pub deadlines: Rare<Deadline>,
    /// Tasks joining this one: (slot, wait_gen).
    pub joiners: Rare<(u32, u32)>,
    /// Its present wait's details, for guv_dump.
    pub detail: WaitDetail,
    /// Its name (guv_set_name), in a cell the slot keeps for good so that the
    /// signal handlers can read it through `running.name`.
    pub name: Option<Box<crate::introspect::Name>>,
}

impl Task {
    /// ECANCELED if the task was killed, ETIMEDOUT if its deadline has
    /// passed (the clock is read only when a deadline is open).
    pub fn cancelled(&self) -> Option<crate::errno::Errno> {
        use crate::errno::Errno;
        if self.killed {
            Some(Errno::ECANCELED)
        } else if self.deadline != NEVER && self.deadline <= crate::clock::now_ns() {
            Some(Errno::ETIMEDOUT)
        } else {
            None
        }
    }

    pub fn empty() -> Task {
        Task {
            next: NIL,
            func: None,
            stack_size: 0,
            gen: 0,
            in_use: false,
            wait_gen: 0,
            has_co: false,
            home: None,
            wait: Wait::None,
            result: 0,
            killed: false,
            permit: false,
            interrupted: false,
            has_timer: false,
            deadline: NEVER,
            deadlines: Rare::default(),
            joiners: Rare::default(),
            since: 0,
            detail: WaitDetail { until: NEVER, arg: 0 },
            name: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Current, Home, Task};

    /// Besides its stack, every green thread costs a Task and a Home (a
    /// million sleepers: 4.28 KiB each in all, benches/results/core.md), and
    /// a blocking call reads its Current in one go: a field that grows one
    /// of them shows here before it shows in the benchmarks.
    #[test]
    fn per_thread_sizes() {
        assert!(size_of::<Task>() <= 128, "Task is {} bytes: two cache lines no longer", size_of::<Task>());
        assert!(size_of::<Home>() <= 128, "Home is {} bytes: two cache lines no longer", size_of::<Home>());
        assert!(size_of::<Current>() <= 40, "Current is {} bytes", size_of::<Current>());
    }
}
