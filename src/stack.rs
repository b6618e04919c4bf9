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
            static FROM_ENV: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
            // Once per process, so that a bad value is reported once.
            let from_env = *FROM_ENV.get_or_init(|| match std::env::var("GUV_STACK_SIZE") {
                Err(std::env::VarError::NotPresent) => DEFAULT_STACK_SIZE,
                Err(std::env::VarError::NotUnicode(v)) => ignored_env(&v.to_string_lossy()),
                Ok(v) => parse_size(&v).and_then(|n| normalize(n).ok()).unwrap_or_else(|| ignored_env(&v)),
            });
            // A racing guv_set_stack_size wins over the environment.
            let _ = DEFAULT_SIZE.compare_exchange(0, from_env, Ordering::Relaxed, Ordering::Relaxed);
            DEFAULT_SIZE.load(Ordering::Relaxed)
        }
        n => n,
    }
}

/// Says on stderr why a GUV_STACK_SIZE value is not used, and returns the default used instead.
fn ignored_env(value: &str) -> usize {
    eprintln!(
        "guv: ignoring GUV_STACK_SIZE={value:?}: not a size from 16K to 1T (bytes, or with a K, M or G \
         suffix); using the default, {} KiB",
        DEFAULT_STACK_SIZE / 1024
    );
    DEFAULT_STACK_SIZE
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

#[cfg(test)]
mod tests {
    use super::parse_size;

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
