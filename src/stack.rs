//! Green-thread stacks: slots carved from large reserved arenas, each with a
//! guard region below it, recycled through a LIFO free list.
//!
//! mmap per spawn costs 12–20 µs; taking a pooled slot costs a pointer pop.
//! An arena is one mapping however many slots it holds, and MADV_GUARD_INSTALL
//! guards add none, so a million stacks stay far below `vm.max_map_count`.

use std::sync::atomic::{AtomicUsize, Ordering};

use corosensei::stack::valgrind::ValgrindStackRegistration;
use corosensei::stack::{Stack, StackPointer};

use crate::errno::{Errno, Result};
use crate::sys::mem;

/// libdill's default: real drivers and getaddrinfo need tens of KiB.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;
pub const MIN_STACK_SIZE: usize = 16 * 1024;
/// Larger than the 36 KiB frames GCC emits without stack-clash protection,
/// whose first store would jump a smaller guard; with MADV_GUARD_INSTALL it
/// costs address space only.
pub const GUARD_SIZE: usize = 64 * 1024;
/// Arenas grow geometrically up to this many slots per mapping.
const MAX_ARENA_SLOTS: usize = 8192;

static DEFAULT_SIZE: AtomicUsize = AtomicUsize::new(0);

/// The process-wide default stack size: `guv_set_stack_size`, else
/// `GUV_STACK_SIZE` from the environment, else 256 KiB.
pub fn default_size() -> usize {
    match DEFAULT_SIZE.load(Ordering::Relaxed) {
        0 => {
            let from_env = std::env::var("GUV_STACK_SIZE")
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
                .and_then(|n| normalize(n).ok())
                .unwrap_or(DEFAULT_STACK_SIZE);
            DEFAULT_SIZE.store(from_env, Ordering::Relaxed);
            from_env
        }
        n => n,
    }
}

pub fn set_default_size(size: usize) -> Result<()> {
    DEFAULT_SIZE.store(normalize(size)?, Ordering::Relaxed);
    Ok(())
}

/// Rounds a requested size up to whole pages; refuses less than 16 KiB and absurd sizes.
pub fn normalize(size: usize) -> Result<usize> {
    if !(MIN_STACK_SIZE..=(1 << 40)).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let page = mem::page_size();
    Ok(size.div_ceil(page) * page)
}

/// One slot: `[guard | usable stack]`, growing down from `top`.
pub struct PooledStack {
    guard: usize,
    top: usize,
}

impl PooledStack {
    /// Lowest usable address (just above the guard region).
    pub fn bottom(&self) -> usize {
        self.guard + GUARD_SIZE
    }
    pub fn top(&self) -> usize {
        self.top
    }
    pub fn guard(&self) -> usize {
        self.guard
    }
    pub fn size(&self) -> usize {
        self.top - self.bottom()
    }
}

// SAFETY: `top` is page-aligned (hence STACK_ALIGNMENT-aligned) and `guard..top`
// is mapped read-write except the guard region at its low end, which faults;
// the usable part is at least MIN_STACK_SIZE (16 KiB) > corosensei's 4 KiB minimum.
unsafe impl Stack for PooledStack {
    fn base(&self) -> StackPointer {
        StackPointer::new(self.top).expect("stack top is never null")
    }
    fn limit(&self) -> StackPointer {
        StackPointer::new(self.guard).expect("stack limit is never null")
    }
}

/// Stacks of one size, owned by one hub (no locking).
struct Pool {
    size: usize,
    free: Vec<PooledStack>,
    /// Next uncarved slot in the newest arena, and the arena's end.
    carve: usize,
    carve_end: usize,
    carved: usize,
    arenas: Vec<(usize, usize)>,
    /// Under valgrind, each slot is announced as a stack so that switching
    /// to it is not taken for a wild stack-pointer move (a no-op elsewhere).
    valgrind: Vec<ValgrindStackRegistration>,
}

impl Pool {
    fn slot_len(&self) -> usize {
        self.size + GUARD_SIZE
    }

    fn take(&mut self) -> Result<PooledStack> {
        if let Some(s) = self.free.pop() {
            return Ok(s);
        }
        if self.carve == self.carve_end {
            let slots = self.carved.clamp(16, MAX_ARENA_SLOTS);
            let len = slots * self.slot_len();
            let base = mem::reserve(len)? as usize;
            self.arenas.push((base, len));
            self.carve = base;
            self.carve_end = base + len;
        }
        let guard = self.carve;
        // SAFETY: `guard..guard+GUARD_SIZE` is page-aligned, inside the arena we just
        // reserved, and not yet handed out, so it holds no data.
        unsafe { mem::install_guard(guard as *mut u8, GUARD_SIZE)? };
        self.carve += self.slot_len();
        self.carved += 1;
        self.valgrind.push(ValgrindStackRegistration::new(guard as *mut u8, self.slot_len()));
        Ok(PooledStack { guard, top: guard + self.slot_len() })
    }

    fn give(&mut self, s: PooledStack) {
        self.free.push(s);
    }
}

/// A hub's stack pools, one per stack size in use (usually one).
#[derive(Default)]
pub(crate) struct Pools {
    pools: Vec<Pool>,
}

impl Pools {
    pub fn take(&mut self, size: usize) -> Result<PooledStack> {
        let i = match self.pools.iter().position(|p| p.size == size) {
            Some(i) => i,
            None => {
                self.pools.push(Pool {
                    size,
                    free: Vec::new(),
                    carve: 0,
                    carve_end: 0,
                    carved: 0,
                    arenas: Vec::new(),
                    valgrind: Vec::new(),
                });
                self.pools.len() - 1
            }
        };
        self.pools[i].take()
    }

    pub fn give(&mut self, s: PooledStack) {
        let size = s.size();
        if let Some(p) = self.pools.iter_mut().find(|p| p.size == size) {
            p.give(s);
        }
    }
}

impl Pools {
    /// Unmaps every arena.
    ///
    /// # Safety
    /// No stack taken from these pools may still be in use: every coroutine
    /// on them has finished (or will never be resumed and holds nothing that
    /// outlives it).
    pub unsafe fn release_all(&mut self) {
        for p in self.pools.drain(..) {
            for (base, len) in p.arenas {
                // SAFETY: per the caller, nothing uses the arena any more.
                unsafe { mem::release(base as *mut u8, len) };
            }
        }
    }
}
