//! Reserving address space and installing guard regions.

use std::sync::atomic::{AtomicU8, Ordering};

use crate::errno::{Errno, Result};

/// `madvise(MADV_GUARD_INSTALL)`: Linux 6.13+. The libc crate may not name it yet.
const MADV_GUARD_INSTALL: libc::c_int = 102;

/// How guard regions are made on this machine, decided at the first install.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum GuardKind {
    /// Not decided yet (no stack carved).
    Unknown = 0,
    /// `MADV_GUARD_INSTALL`: no extra mapping per stack.
    Madvise = 1,
    /// `mprotect(PROT_NONE)`: two mappings per stack, capped by `vm.max_map_count`.
    Mprotect = 2,
}

static GUARD_KIND: AtomicU8 = AtomicU8::new(GuardKind::Unknown as u8);

pub fn guard_kind() -> GuardKind {
    match GUARD_KIND.load(Ordering::Relaxed) {
        1 => GuardKind::Madvise,
        2 => GuardKind::Mprotect,
        _ => GuardKind::Unknown,
    }
}

pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// Reserves `len` bytes of read-write address space that commit no memory
/// until touched (MAP_NORESERVE, so even 80 GiB of stacks pass overcommit).
pub(crate) fn reserve(len: usize) -> Result<*mut u8> {
    // SAFETY: an anonymous private mapping at an address of the kernel's choosing
    // aliases nothing; the result is checked for MAP_FAILED.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(Errno::ENOMEM);
    }
    Ok(p.cast())
}

/// Returns a reservation made by `reserve`.
///
/// # Safety
/// `p..p+len` must be a whole reservation that nothing uses any more.
pub(crate) unsafe fn release(p: *mut u8, len: usize) {
    // SAFETY: the caller hands back a whole mapping it owns.
    unsafe { libc::munmap(p.cast(), len) };
}

/// Gives the pages of `p..p+len` back to the kernel, keeping the mapping:
/// they read as zeros when touched again (MADV_DONTNEED, not MADV_FREE,
/// whose pages stay counted in RSS until memory runs short).
///
/// # Safety
/// `p..p+len` must be page-aligned memory inside a reservation owned by the
/// caller that holds no live data.
pub(crate) unsafe fn discard(p: *mut u8, len: usize) {
    // SAFETY: per the caller, the range is ours and nothing lives in it.
    unsafe { libc::madvise(p.cast(), len, libc::MADV_DONTNEED) };
}

/// Makes `p..p+len` fault on any access. Tries MADV_GUARD_INSTALL first and
/// falls back to mprotect for good (saying so once) when the kernel lacks it.
///
/// # Safety
/// `p..p+len` must be page-aligned memory inside a reservation owned by the caller
/// that holds no live data.
pub(crate) unsafe fn install_guard(p: *mut u8, len: usize) -> Result<()> {
    if guard_kind() != GuardKind::Mprotect {
        // SAFETY: per the caller, the range is ours and holds nothing.
        if unsafe { libc::madvise(p.cast(), len, MADV_GUARD_INSTALL) } == 0 {
            GUARD_KIND.store(GuardKind::Madvise as u8, Ordering::Relaxed);
            return Ok(());
        }
        let e = Errno::last();
        if e != Errno::EINVAL {
            return Err(e);
        }
        if GUARD_KIND.swap(GuardKind::Mprotect as u8, Ordering::Relaxed) != GuardKind::Mprotect as u8 {
            eprintln!(
                "guv: MADV_GUARD_INSTALL is not supported by this kernel (needs Linux 6.13); \
                 using mprotect guard pages, which cap stacks at about vm.max_map_count / 2"
            );
        }
    }
    // SAFETY: as above.
    if unsafe { libc::mprotect(p.cast(), len, libc::PROT_NONE) } != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// ASan's `__asan_unpoison_memory_region`, when the program runs under
/// AddressSanitizer. Frames abandoned without returning (a green thread
/// ended by pthread_exit) leave their redzones poisoned, which the code
/// running next on that stack would trip over; guv clears them with it.
pub(crate) type Unpoison = unsafe extern "C" fn(*const libc::c_void, usize);

pub(crate) fn asan_unpoison() -> Option<Unpoison> {
    static UNPOISON: std::sync::OnceLock<Option<Unpoison>> = std::sync::OnceLock::new();
    *UNPOISON.get_or_init(|| {
        // SAFETY: dlsym with a NUL-terminated name; when present the symbol is
        // ASan's `void __asan_unpoison_memory_region(void const volatile *, size_t)`.
        let f = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__asan_unpoison_memory_region".as_ptr()) };
        // SAFETY: see above; a non-null result is that function.
        (!f.is_null()).then(|| unsafe { std::mem::transmute::<*mut libc::c_void, Unpoison>(f) })
    })
}
