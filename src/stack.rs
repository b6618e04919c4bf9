//! Green-thread stacks: slots carved from large reserved arenas, each with a
//! guard region below it, recycled through a LIFO free list.
//!
//! mmap per spawn costs 12–20 µs; taking a pooled slot costs a pointer pop.
//! An arena is one mapping however many slots it holds, and MADV_GUARD_INSTALL
//! guards add none, so a million stacks stay far below `vm.max_map_count`.
//!
//! A pool keeps about `WARM_BYTES` of free stacks resident. Free stacks
//! beyond that which no spawn needed for a whole `TRIM_EVERY` have their
//! pages given back, so a server that survives a burst of green threads does
//! not keep its memory, while spawning in batches (every stack reused within
//! the period) never reaches the kernel.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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
/// Once a pool has carved `BATCH_FROM` stacks, guards are installed, and
/// top pages committed, for a batch of slots at a time: a system call each
/// where the kernel allows it. Programs with fewer green threads (and
/// valgrind, which does not know process_madvise) see one madvise per stack.
const BATCH_FROM: usize = 1024;
/// A batch is a sixteenth of the stacks carved so far, from `BATCH_MIN` to
/// `BATCH_MAX` slots: the top pages committed ahead of need stay a small
/// share of those in use, and a million stacks take 3,000 system calls, not
/// 32,000 (2% less CPU to spawn them).
const BATCH_MIN: usize = 64;
const BATCH_MAX: usize = 1024;
/// Free stacks a pool keeps resident, in bytes of stack: enough that spawn
/// and exit at any steady rate never reach the kernel, small next to the
/// 64 MiB a burst may leave behind.
const WARM_BYTES: usize = 16 << 20;
/// At least this many free stacks stay resident whatever their size.
const MIN_WARM: usize = 16;
/// How often the hub looks for free stacks unused since its last look.
pub const TRIM_EVERY: u64 = 300_000_000;

static DEFAULT_SIZE: AtomicUsize = AtomicUsize::new(0);
/// Whether guv_set_stack_size has set DEFAULT_SIZE.
static SET_BY_CALL: AtomicBool = AtomicBool::new(false);

/// The process-wide default stack size: `guv_set_stack_size`, else
/// `GUV_STACK_SIZE` from the environment, else 256 KiB.
pub fn default_size() -> usize {
    match DEFAULT_SIZE.load(Ordering::Relaxed) {
        0 => {
            let from_env = from_env().unwrap_or(DEFAULT_STACK_SIZE);
            // A racing guv_set_stack_size wins over the environment.
            let _ = DEFAULT_SIZE.compare_exchange(0, from_env, Ordering::Relaxed, Ordering::Relaxed);
            DEFAULT_SIZE.load(Ordering::Relaxed)
        }
        n => n,
    }
}

/// Whether the default was chosen (by `guv_set_stack_size` or a usable
/// `GUV_STACK_SIZE`) rather than left at guv's own 256 KiB: a binding whose
/// green threads want another size by default keeps it only when not.
pub fn default_chosen() -> bool {
    SET_BY_CALL.load(Ordering::Relaxed) || from_env().is_some()
}

/// GUV_STACK_SIZE's size, normalized; None when unset or not usable.
fn from_env() -> Option<usize> {
    static FROM_ENV: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    // Once per process, so that a bad value is reported once.
    *FROM_ENV.get_or_init(|| match std::env::var("GUV_STACK_SIZE") {
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(v)) => ignored_env(&v.to_string_lossy()),
        Ok(v) => parse_size(&v).and_then(|n| normalize(n).ok()).or_else(|| ignored_env(&v)),
    })
}

/// Says on stderr why a GUV_STACK_SIZE value is not used.
fn ignored_env(value: &str) -> Option<usize> {
    eprintln!(
        "guv: ignoring GUV_STACK_SIZE={value:?}: not a size from 16K to 1T (bytes, or with a K, M or G \
         suffix); using the default, {} KiB",
        DEFAULT_STACK_SIZE / 1024
    );
    None
}

/// Parses a size as people write it: decimal or 0x-hexadecimal bytes, with
/// an optional binary suffix K, M, G or T (any case, "KiB" and "KB" too).
/// None for anything else, including overflow.
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let digits_end = if s.len() > 2 && (s.starts_with("0x") || s.starts_with("0X")) {
        2 + s[2..].find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(s.len() - 2)
    } else {
        s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len())
    };
    let (number, suffix) = s.split_at(digits_end);
    let n = match number.strip_prefix("0x").or(number.strip_prefix("0X")) {
        Some(hex) => usize::from_str_radix(hex, 16).ok()?,
        None => number.parse::<usize>().ok()?,
    };
    let shift = match suffix.trim_start().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return None,
    };
    n.checked_mul(1 << shift)
}

/// How many free stacks of `size` bytes a pool keeps resident (the warm
/// bound of `Warm`).
fn warm_count(size: usize) -> usize {
    (WARM_BYTES / size).max(MIN_WARM)
}

pub fn set_default_size(size: usize) -> Result<()> {
    DEFAULT_SIZE.store(normalize(size)?, Ordering::Relaxed);
    SET_BY_CALL.store(true, Ordering::Relaxed);
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

/// A LIFO of free stacks (or of free slots whose coroutine keeps its stack)
/// that keeps about `warm_max` of them resident: the most recently freed
/// (warmest) on top, the `cold` ones at the bottom having given their pages
/// back. A trim gives back those beyond the bound that no taker needed since
/// the last trim, so spawning in batches never reaches the kernel while a
/// burst's memory goes back.
pub(crate) struct Warm<T> {
    items: Vec<T>,
    cold: usize,
    /// The fewest items since the last trim: those below were not needed all along.
    low: usize,
    warm_max: usize,
}

impl<T> Warm<T> {
    /// Keeping as many as a pool keeps of stacks of `size` bytes.
    pub fn new(size: usize) -> Warm<T> {
        Warm { items: Vec::new(), cold: 0, low: 0, warm_max: warm_count(size) }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn push(&mut self, x: T) {
        self.items.push(x);
    }

    pub fn pop(&mut self) -> Option<T> {
        let x = self.items.pop()?;
        self.cold = self.cold.min(self.items.len());
        self.low = self.low.min(self.items.len());
        Some(x)
    }

    /// More are resident than the bound allows.
    pub fn over_warm(&self) -> bool {
        self.items.len() - self.cold > self.warm_max
    }

    /// The items whose pages the caller is to give back now, oldest first:
    /// those that stayed unused since the last trim, beyond the warm bound.
    /// They count as cold from here on.
    pub fn trim(&mut self) -> &[T] {
        let unused_warm = self.low.saturating_sub(self.cold);
        let keep = self.warm_max.min(self.items.len() - self.cold);
        let n = unused_warm.min(self.items.len() - self.cold - keep);
        let from = self.cold;
        self.cold += n;
        self.low = self.items.len();
        &self.items[from..from + n]
    }
}

/// Stacks of one size, owned by one hub (no locking).
struct Pool {
    size: usize,
    free: Warm<PooledStack>,
    /// Next uncarved slot in the newest arena, and the arena's end.
    carve: usize,
    carve_end: usize,
    /// Slots of the newest arena below this address have their guard.
    guarded_end: usize,
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
            self.guarded_end = base;
        }
        let guard = self.carve;
        if guard >= self.guarded_end {
            let batch =
                if self.carved < BATCH_FROM { 1 } else { (self.carved / 16).clamp(BATCH_MIN, BATCH_MAX) };
            let n = ((self.carve_end - guard) / self.slot_len()).min(batch);
            // SAFETY: the guard regions of the next `n` slots are page-aligned,
            // inside the newest arena, and not yet handed out, so they hold no data.
            unsafe { mem::install_guards(guard as *mut u8, GUARD_SIZE, self.slot_len(), n)? };
            if n > 1 {
                // Each new coroutine writes its first frame at the top of its
                // stack at once: commit those pages together too.
                let page = mem::page_size();
                let top_page = guard + self.slot_len() - page;
                // SAFETY: the top page of each of those slots, inside the arena.
                unsafe { mem::prefault(top_page as *mut u8, page, self.slot_len(), n) };
            }
            self.guarded_end = guard + n * self.slot_len();
        }
        self.carve += self.slot_len();
        self.carved += 1;
        self.valgrind.push(ValgrindStackRegistration::new(guard as *mut u8, self.slot_len()));
        Ok(PooledStack { guard, top: guard + self.slot_len() })
    }

    fn give(&mut self, s: PooledStack) {
        self.free.push(s);
    }

    /// Gives back the pages of the free stacks that stayed unused since the
    /// last trim, beyond the warm bound, oldest first: one madvise each.
    fn trim(&mut self) {
        for s in self.free.trim() {
            // SAFETY: a free stack's usable part is inside our arena and
            // page-aligned (`top` and the guard's end are), and its green
            // thread has finished: nothing lives in it. The guard region
            // below it is left alone.
            unsafe { mem::discard(s.bottom() as *mut u8, s.size()) };
        }
    }
}

/// A hub's stack pools, one per stack size in use (usually one).
#[derive(Default)]
pub(crate) struct Pools {
    pools: Vec<Pool>,
    /// When `trim` next looks (ns on the monotonic clock).
    next_trim: u64,
}

impl Pools {
    pub fn take(&mut self, size: usize) -> Result<PooledStack> {
        let i = match self.pools.iter().position(|p| p.size == size) {
            Some(i) => i,
            None => {
                self.pools.push(Pool {
                    size,
                    free: Warm::new(size),
                    carve: 0,
                    carve_end: 0,
                    guarded_end: 0,
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
    /// When the hub should call `trim` (u64::MAX: nothing to give back).
    pub fn trim_due(&self) -> u64 {
        if self.pools.iter().any(|p| p.free.over_warm()) {
            self.next_trim
        } else {
            u64::MAX
        }
    }

    /// Gives back the pages of free stacks that no spawn needed since the
    /// last trim (beyond each pool's warm bound), if one is due at `now`.
    pub fn trim(&mut self, now: u64) {
        if now < self.next_trim {
            return;
        }
        for p in &mut self.pools {
            p.trim();
        }
        self.next_trim = now + TRIM_EVERY;
    }

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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileExt;

    use super::{parse_size, Pools, BATCH_FROM, GUARD_SIZE, TRIM_EVERY};
    use crate::sys::mem;

    const MIB: usize = 1 << 20;

    /// (free stacks, of which given back) of the pool of 1 MiB stacks.
    fn counts(p: &Pools) -> (usize, usize) {
        (p.pools[0].free.len(), p.pools[0].free.cold)
    }

    #[test]
    fn trim_gives_back_only_what_stayed_unused() {
        let mut p = Pools::default();
        let stacks: Vec<_> = (0..100).map(|_| p.take(MIB).unwrap()).collect();
        assert_eq!(p.trim_due(), u64::MAX, "nothing free yet");
        for s in stacks {
            p.give(s);
        }
        // The first look only starts the period: the burst just ended.
        assert_eq!(p.trim_due(), 0);
        p.trim(1);
        assert_eq!(counts(&p), (100, 0));
        // A batch that reuses 90 of them within the period keeps them warm.
        let again: Vec<_> = (0..90).map(|_| p.take(MIB).unwrap()).collect();
        for s in again {
            p.give(s);
        }
        p.trim(1 + TRIM_EVERY / 2);
        assert_eq!(counts(&p), (100, 0), "not due yet");
        p.trim(1 + TRIM_EVERY);
        // 10 stayed unused; 16 MiB of 1 MiB stacks (16) stay warm whatever.
        assert_eq!(counts(&p), (100, 10));
        p.trim(1 + 2 * TRIM_EVERY);
        assert_eq!(counts(&p), (100, 84));
        assert_eq!(p.trim_due(), u64::MAX, "down to the warm bound");
        // Taking reaches into the cold ones once the warm are used up.
        let most: Vec<_> = (0..90).map(|_| p.take(MIB).unwrap()).collect();
        assert_eq!(counts(&p), (10, 10));
        for s in most {
            p.give(s);
        }
        // SAFETY: every stack is back in the pool and nothing ran on them.
        unsafe { p.release_all() };
    }

    /// /proc/self/pagemap's entries for the `n` pages from `p`.
    fn pagemap(p: usize, n: usize) -> Vec<u64> {
        let page = mem::page_size();
        let mut buf = vec![0u8; n * 8];
        let f = std::fs::File::open("/proc/self/pagemap").unwrap();
        f.read_exact_at(&mut buf, (p / page * 8) as u64).unwrap();
        buf.chunks(8).map(|b| u64::from_ne_bytes(b.try_into().unwrap())).collect()
    }

    #[test]
    fn every_stack_has_its_guard_batched_or_not() {
        const PRESENT: u64 = 1 << 63;
        const GUARD: u64 = 1 << 58; // PM_GUARD_REGION, Linux 6.14+
        let page = mem::page_size();
        let mut p = Pools::default();
        // Past 16384 stacks a batch is 1024 slots, the most one process_madvise takes.
        let stacks: Vec<_> = (0..20_000).map(|_| p.take(16 << 10).unwrap()).collect();
        if mem::guard_kind() != mem::GuardKind::Madvise || pagemap(stacks[0].guard(), 1)[0] & GUARD == 0 {
            eprintln!("skipped: no MADV_GUARD_INSTALL, or a pagemap that shows no guards (Linux < 6.14)");
        } else {
            for (i, s) in stacks.iter().enumerate() {
                let guard = pagemap(s.guard(), GUARD_SIZE / page);
                assert!(guard.iter().all(|e| e & GUARD != 0), "stack {i}: guard region {guard:x?}");
                // Without process_madvise (Linux < 6.15, valgrind) tops fault in when first run.
                let top = pagemap(s.top() - page, 1)[0];
                let committed = i < BATCH_FROM || !mem::can_batch() || top & PRESENT != 0;
                assert!(committed, "stack {i}: top page not committed ({top:x})");
            }
        }
        for s in stacks {
            p.give(s);
        }
        // SAFETY: every stack is back in the pool and nothing ran on them.
        unsafe { p.release_all() };
    }

    #[test]
    fn sizes_people_write() {
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size(" 64K "), Some(64 << 10));
        assert_eq!(parse_size("64k"), Some(64 << 10));
        assert_eq!(parse_size("64KiB"), Some(64 << 10));
        assert_eq!(parse_size("1M"), Some(1 << 20));
        assert_eq!(parse_size("1 MB"), Some(1 << 20));
        assert_eq!(parse_size("2g"), Some(2 << 30));
        assert_eq!(parse_size("1T"), Some(1 << 40));
        assert_eq!(parse_size("0x40000"), Some(0x40000));
        assert_eq!(parse_size("0X10k"), Some(16 << 10));
    }

    #[test]
    fn what_is_not_a_size() {
        for bad in
            ["", "lots", "-1", "1.5M", "M", "0x", "12Q", "9223372036854775808000", "99999999999T", "1MM"]
        {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }
}
