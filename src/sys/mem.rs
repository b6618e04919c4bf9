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

/// `process_madvise`'s pidfd for the calling process (Linux 6.15+).
const PIDFD_SELF: libc::c_int = -10000;
/// `madvise(MADV_POPULATE_WRITE)`: Linux 5.14+.
const MADV_POPULATE_WRITE: libc::c_int = 23;
/// Whether `advise_batch` may use process_madvise: cleared for good when
/// the kernel refuses (older than 6.15, or a seccomp filter).
static CAN_BATCH: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);
/// Whether regions are still advised in batches (process_madvise works here).
pub(crate) fn can_batch() -> bool {
    CAN_BATCH.load(Ordering::Relaxed)
}

/// The most regions one process_madvise takes (UIO_MAXIOV): more is EINVAL,
/// which would read as a kernel that cannot batch.
const IOV_MAX: usize = 1024;

/// Gives `advice` for `n` regions of `len` bytes, `stride` bytes apart from
/// `p`, one process_madvise call for up to `IOV_MAX` of them (one madvise
/// each was about a third of the time to spawn a million green threads).
/// Returns how many regions, from the first, it covered: 0 where the kernel
/// cannot batch.
///
/// # Safety
/// As madvise with `advice`, for each region.
unsafe fn advise_batch(p: *mut u8, len: usize, stride: usize, n: usize, advice: libc::c_int) -> usize {
    let mut done = 0;
    if !can_batch() {
        return done;
    }
    let iov: Vec<libc::iovec> =
        (0..n).map(|i| libc::iovec { iov_base: p.wrapping_add(i * stride).cast(), iov_len: len }).collect();
    while done < n {
        // SAFETY: each iovec names one region the caller vouches for; the
        // kernel reads the array only during the call.
        let r = unsafe {
            let k = (n - done).min(IOV_MAX);
            libc::syscall(libc::SYS_process_madvise, PIDFD_SELF, iov[done..].as_ptr(), k, advice, 0)
        };
        if r <= 0 {
            if !matches!(Errno::last(), Errno::ENOMEM | Errno::EAGAIN | Errno::EINTR) {
                CAN_BATCH.store(false, Ordering::Relaxed);
            }
            break;
        }
        done += r as usize / len;
    }
    done
}

/// As `install_guard` for `n` regions of `len` bytes, `stride` bytes apart
/// from `p`, batched where the kernel allows it.
///
/// # Safety
/// As `install_guard`, for each region.
pub(crate) unsafe fn install_guards(p: *mut u8, len: usize, stride: usize, n: usize) -> Result<()> {
    let mut done = 0;
    if n > 1 && guard_kind() != GuardKind::Mprotect {
        // SAFETY: per the caller.
        done = unsafe { advise_batch(p, len, stride, n, MADV_GUARD_INSTALL) };
        if done > 0 {
            GUARD_KIND.store(GuardKind::Madvise as u8, Ordering::Relaxed);
        }
    }
    for i in done..n {
        // SAFETY: per the caller.
        unsafe { install_guard(p.wrapping_add(i * stride), len)? };
    }
    Ok(())
}

/// Commits the pages of `n` regions of `len` bytes, `stride` bytes apart
/// from `p`, in one system call rather than a page fault each; where the
/// kernel cannot batch, they fault in when first touched as usual.
///
/// # Safety
/// Each region must be page-aligned memory inside a reservation owned by the caller.
pub(crate) unsafe fn prefault(p: *mut u8, len: usize, stride: usize, n: usize) {
    // SAFETY: per the caller; populating changes no contents.
    unsafe { advise_batch(p, len, stride, n, MADV_POPULATE_WRITE) };
}

/// ASan's `__asan_unpoison_memory_region`, when the program runs under
/// AddressSanitizer. Frames abandoned without returning (a green thread
/// ended by pthread_exit) leave their redzones poisoned, which the code
/// running next on that stack would trip over; guv clears them with it.
pub(crate) type Unpoison = unsafe extern "C" fn(*const libc::c_void, usize);

pub(crate) fn asan_unpoison() -> Option<Unpoison> {
    static UNPOISON: std::sync::OnceLock<Option<Unpoison>> = std::sync::OnceLock::new();
    // SAFETY: ASan's `void __asan_unpoison_memory_region(void const volatile *, size_t)`.
    *UNPOISON.get_or_init(|| unsafe { super::dl::function(c"__asan_unpoison_memory_region") })
}
