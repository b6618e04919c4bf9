//! A native backtrace of a hub's OS thread, taken by that thread itself in a
//! signal handler, and the symbol names for it.
//!
//! The monitor thread asks (`Capture::ask`) and signals the hub's thread; the
//! handler walks its own stack with libgcc's unwinder into a buffer that was
//! allocated beforehand and marks it taken; the monitor reads it and names
//! the frames with dladdr, outside the handler.
//!
//! Why the handler is async-signal-safe: it allocates nothing, takes no lock
//! and calls only `_Unwind_Backtrace`. libgcc 12 and later find unwind tables
//! with glibc's `_dl_find_object` (2.35+), which glibc documents as
//! async-signal-safe and lock-free; `warm_up` makes a first walk on an ordinary
//! thread so the lazy PLT entries are bound before any handler runs. glibc's
//! `backtrace()` is not used: its first call dlopens libgcc_s. What remains
//! unsafe: code registered at run time with `__register_frame` (JIT compilers)
//! is looked up under a libgcc mutex, and an older libgcc falls back to
//! `dl_iterate_phdr`, which takes the loader's lock.

use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::{AtomicI64, AtomicPtr, AtomicU32, AtomicUsize, Ordering};

use crate::callbacks::{Chain, TaskData};

/// Frames kept per capture, counted from the interrupted one (the handler's
/// own frames and the signal trampoline come first and are dropped).
pub(crate) const MAX_FRAMES: usize = 64;
const RAW_FRAMES: usize = MAX_FRAMES + 8;
/// A green thread's name, NUL-terminated (63 bytes at most).
pub(crate) const NAME_LEN: usize = 64;

#[repr(C)]
struct UnwindContext {
    _opaque: [u8; 0],
}
type Trace = extern "C" fn(*mut UnwindContext, *mut c_void) -> c_int;
const URC_NO_REASON: c_int = 0;
const URC_END_OF_STACK: c_int = 5;

extern "C" {
    // libgcc_s (guv.pc's -lgcc_s), which Rust's std links anyway.
    fn _Unwind_Backtrace(trace: Trace, arg: *mut c_void) -> c_int;
    fn _Unwind_GetIP(ctx: *mut UnwindContext) -> usize;
    fn _Unwind_GetCFA(ctx: *mut UnwindContext) -> usize;
}

const IDLE: u32 = 0;
const ASKED: u32 = 1;
const WRITING: u32 = 2;
const TAKEN: u32 = 3;

/// Who was running when the handler ran, as the hub thread sees it.
#[derive(Clone, Copy)]
pub(crate) struct Runner {
    pub id: i64,
    /// The green thread's name (NUL-terminated), or null when it has none.
    pub name: *const [u8; NAME_LEN],
    /// The hook sets it runs with, and their task data (a binding's per-task state).
    pub hooks: Option<&'static Chain>,
    pub task_data: TaskData,
    /// A stack address just above the green thread's own function: frames
    /// beyond it are guv's entry and the hub's loop, left out. 0: keep all.
    pub entry: usize,
}

/// One capture slot per hub, written by the handler on the hub's thread and
/// read by the monitor; `state` hands it from one to the other.
pub(crate) struct Capture {
    state: AtomicU32,
    id: AtomicI64,
    hooks: AtomicPtr<Chain>,
    task_data: UnsafeCell<TaskData>,
    pc: AtomicUsize,
    entry: AtomicUsize,
    depth: AtomicUsize,
    name: UnsafeCell<[u8; NAME_LEN]>,
    frames: UnsafeCell<[usize; RAW_FRAMES]>,
    /// Each frame's canonical frame address, to tell where the task's own frames end.
    cfas: UnsafeCell<[usize; RAW_FRAMES]>,
}

// SAFETY: the cells are written only by the handler between its ASKED->WRITING
// and ->TAKEN transitions, and read only by the monitor after it saw TAKEN
// (Acquire) and before it sets IDLE, so no access overlaps.
unsafe impl Sync for Capture {}

/// What a capture found.
pub(crate) struct Taken {
    pub id: i64,
    pub name: String,
    pub hooks: Option<&'static Chain>,
    pub task_data: TaskData,
    /// Return addresses from the interrupted frame outwards; the first is the
    /// exact program counter.
    pub frames: Vec<usize>,
}

impl Capture {
    pub fn new() -> Capture {
        Capture {
            state: AtomicU32::new(IDLE),
            id: AtomicI64::new(0),
            hooks: AtomicPtr::new(std::ptr::null_mut()),
            task_data: UnsafeCell::new(TaskData::NONE),
            pc: AtomicUsize::new(0),
            entry: AtomicUsize::new(0),
            depth: AtomicUsize::new(0),
            name: UnsafeCell::new([0; NAME_LEN]),
            frames: UnsafeCell::new([0; RAW_FRAMES]),
            cfas: UnsafeCell::new([0; RAW_FRAMES]),
        }
    }

    /// Arms the slot; the thread's next capture signal fills it.
    pub fn ask(&self) {
        self.state.store(ASKED, Ordering::Release);
    }

    /// The capture, once the handler has written it; None while it has not.
    pub fn take(&self) -> Option<Taken> {
        if self.state.load(Ordering::Acquire) != TAKEN {
            return None;
        }
        // SAFETY: TAKEN was stored (Release) after the handler's last write and
        // nothing writes again before `ask`; see `unsafe impl Sync`.
        let (name, raw, cfas, task_data) =
            unsafe { (&*self.name.get(), &*self.frames.get(), &*self.cfas.get(), *self.task_data.get()) };
        let depth = self.depth.load(Ordering::Relaxed).min(RAW_FRAMES);
        let pc = self.pc.load(Ordering::Relaxed);
        let entry = self.entry.load(Ordering::Relaxed);
        // Drop the handler's own frames: keep from the interrupted pc on.
        let start = raw[..depth].iter().position(|&ip| ip == pc).unwrap_or(0);
        // The unwinder's CFA for frame i is the stack pointer inside it, at its
        // call: frame i lies between cfas[i] and cfas[i + 1]. Stop at the frame
        // that holds `entry`.
        let frames = (start..depth)
            .take_while(|&i| raw[i] != 0 && (entry == 0 || i + 1 == depth || cfas[i + 1] < entry))
            .map(|i| raw[i])
            .take(MAX_FRAMES)
            .collect();
        let name =
            CStr::from_bytes_until_nul(name).map(|c| c.to_string_lossy().into_owned()).unwrap_or_default();
        let t = Taken {
            id: self.id.load(Ordering::Relaxed),
            name,
            // SAFETY: a non-null pointer is a published chain's, never freed.
            hooks: unsafe { self.hooks.load(Ordering::Relaxed).as_ref() },
            task_data,
            frames,
        };
        self.state.store(IDLE, Ordering::Release);
        Some(t)
    }

    /// Gives up on a capture whose signal never ran the handler (the thread
    /// blocks the signal). False when the handler is writing right now: then
    /// `take` will succeed shortly.
    pub fn cancel(&self) -> bool {
        self.state.compare_exchange(ASKED, IDLE, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// The signal handler's part, on the hub's own thread: records `who`, the
    /// interrupted `pc` and the stack, if a capture was asked for.
    pub fn fill(&self, who: Runner, pc: usize) {
        if self.state.compare_exchange(ASKED, WRITING, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return;
        }
        self.id.store(who.id, Ordering::Relaxed);
        self.hooks.store(
            who.hooks.map_or(std::ptr::null_mut(), |c| std::ptr::from_ref(c).cast_mut()),
            Ordering::Relaxed,
        );
        self.pc.store(pc, Ordering::Relaxed);
        self.entry.store(who.entry, Ordering::Relaxed);
        // SAFETY: WRITING is ours (see `unsafe impl Sync`); `who.name`, when not
        // null, points at the running task's name cell, which outlives the task.
        unsafe {
            *self.task_data.get() = who.task_data;
            let name = &mut *self.name.get();
            match who.name.as_ref() {
                Some(n) => *name = *n,
                None => name[0] = 0,
            }
            name[NAME_LEN - 1] = 0;
        }
        let mut walk = Walk { frames: self.frames.get().cast(), cfas: self.cfas.get().cast(), n: 0 };
        // SAFETY: `walk` outlives the call; `step` writes at most RAW_FRAMES
        // entries into the frames cell, which WRITING makes ours.
        unsafe { _Unwind_Backtrace(step, (&raw mut walk).cast()) };
        self.depth.store(walk.n, Ordering::Relaxed);
        self.state.store(TAKEN, Ordering::Release);
    }
}

struct Walk {
    frames: *mut usize,
    cfas: *mut usize,
    n: usize,
}

extern "C" fn step(ctx: *mut UnwindContext, arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Walk passed to _Unwind_Backtrace by `fill`, and
    // `ctx` the unwinder's own context for this frame.
    let walk = unsafe { &mut *arg.cast::<Walk>() };
    if walk.n == RAW_FRAMES {
        return URC_END_OF_STACK;
    }
    // SAFETY: as above; `n < RAW_FRAMES` keeps the write inside the cell.
    unsafe {
        walk.frames.add(walk.n).write(_Unwind_GetIP(ctx));
        walk.cfas.add(walk.n).write(_Unwind_GetCFA(ctx));
    }
    walk.n += 1;
    URC_NO_REASON
}

/// One walk on an ordinary thread, so the handler's first walk binds no
/// lazy symbol and initialises nothing.
pub(crate) fn warm_up() {
    let (mut frames, mut cfas) = ([0usize; RAW_FRAMES], [0usize; RAW_FRAMES]);
    let mut walk = Walk { frames: frames.as_mut_ptr(), cfas: cfas.as_mut_ptr(), n: 0 };
    // SAFETY: as in `fill`, with a buffer of our own.
    unsafe { _Unwind_Backtrace(step, (&raw mut walk).cast()) };
}

/// "symbol+0xoff (file)" for a code address, or "file+0xoff" when the
/// symbol is not exported (feed that to `addr2line -e file`). `exact` says
/// whether `ip` is the interrupted pc rather than a return address, which
/// points past its call and is looked up one byte earlier.
pub(crate) fn describe(ip: usize, exact: bool) -> String {
    let lookup = if exact { ip } else { ip.saturating_sub(1) };
    // SAFETY: dladdr only reads the loader's tables and fills `info`; the
    // strings it returns stay valid while the object stays loaded, and they
    // are copied before returning.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    if unsafe { libc::dladdr(lookup as *const c_void, &mut info) } == 0 {
        return "??".to_string();
    }
    let file = if info.dli_fname.is_null() {
        "??".into()
    } else {
        // SAFETY: see above.
        unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy()
    };
    if !info.dli_sname.is_null() && !info.dli_saddr.is_null() {
        // SAFETY: see above.
        let sym = unsafe { CStr::from_ptr(info.dli_sname) };
        let sym = demangle(sym).unwrap_or_else(|| sym.to_string_lossy().into_owned());
        format!("{sym}+{:#x} ({file})", ip - info.dli_saddr as usize)
    } else {
        format!("{file}+{:#x}", ip - info.dli_fbase as usize)
    }
}

type Demangle = unsafe extern "C" fn(*const c_char, *mut c_char, *mut usize, *mut c_int) -> *mut c_char;

/// A C++ (or legacy Rust) symbol demangled by the C++ runtime's
/// `__cxa_demangle`, when the process has one loaded; None otherwise.
fn demangle(sym: &CStr) -> Option<String> {
    static FN: std::sync::OnceLock<Option<Demangle>> = std::sync::OnceLock::new();
    // SAFETY: libstdc++'s (or libc++'s)
    // `char *__cxa_demangle(const char *, char *, size_t *, int *)`.
    let f = FN.get_or_init(|| unsafe { super::dl::function(c"__cxa_demangle") });
    if !sym.to_bytes().starts_with(b"_Z") {
        return None;
    }
    let Some(f) = *f else {
        return legacy_rust(sym.to_str().ok()?).map(|s| unescape_rust(&s));
    };
    let mut status: c_int = -1;
    // SAFETY: `sym` is NUL-terminated; a NULL buffer asks for a malloc'd result,
    // which is copied and then freed here.
    unsafe {
        let out = f(sym.as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), &mut status);
        if out.is_null() {
            return None;
        }
        let s = (status == 0).then(|| CStr::from_ptr(out).to_string_lossy().into_owned());
        libc::free(out.cast());
        s.map(|s| unescape_rust(&s))
    }
}

/// `_ZN3foo3barE` as `foo::bar`, for a process without a C++ runtime: the
/// nested names of a legacy Rust symbol (C++ ones need the real demangler).
fn legacy_rust(sym: &str) -> Option<String> {
    let mut rest = sym.strip_prefix("_ZN")?.strip_suffix('E')?;
    let mut parts = Vec::new();
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let len: usize = rest[..digits].parse().ok()?;
        parts.push(rest.get(digits..digits + len)?);
        rest = &rest[digits + len..];
    }
    Some(parts.join("::"))
}

/// What the C++ demangler leaves of a legacy Rust symbol, made readable:
/// `_$LT$impl$u20$X$GT$::f::h0123456789abcdef` becomes `<impl X>::f`.
fn unescape_rust(s: &str) -> String {
    let s = match s.rfind("::h") {
        Some(i) if s.len() - i == 19 && s[i + 3..].bytes().all(|b| b.is_ascii_hexdigit()) => &s[..i],
        _ => return s.to_string(),
    };
    let mut out = s.replace("..", "::");
    for (from, to) in [
        ("$LT$", "<"),
        ("$GT$", ">"),
        ("$LP$", "("),
        ("$RP$", ")"),
        ("$C$", ","),
        ("$RF$", "&"),
        ("$BP$", "*"),
        ("$SP$", "@"),
        ("$u20$", " "),
        ("$u27$", "'"),
        ("$u5b$", "["),
        ("$u5d$", "]"),
        ("$u7b$", "{"),
        ("$u7d$", "}"),
        ("$u7e$", "~"),
    ] {
        out = out.replace(from, to);
    }
    // A component that begins with an escape got a leading '_' from the mangler.
    out.replace("::_<", "::<").replace("::_{", "::{")
}

#[cfg(test)]
mod tests {
    use super::unescape_rust;

    #[test]
    fn legacy_rust_symbols_lose_their_hash_and_escapes() {
        assert_eq!(
            unescape_rust("guv::hub::lifecycle::_$LT$impl$u20$guv..hub..Hub$GT$::spawn::h24ed6c91d1036ec6"),
            "guv::hub::lifecycle::<impl guv::hub::Hub>::spawn"
        );
        assert_eq!(
            unescape_rust("guv::hub::lifecycle::body::_$u7b$$u7b$closure$u7d$$u7d$::h37e185b7f198bb2c"),
            "guv::hub::lifecycle::body::{{closure}}"
        );
        assert_eq!(unescape_rust("app::db::query()"), "app::db::query()");
        assert_eq!(
            super::legacy_rust("_ZN3guv3hub7outside17hcabc347971634dd1E")
                .map(|s| unescape_rust(&s))
                .as_deref(),
            Some("guv::hub::outside")
        );
        assert_eq!(super::legacy_rust("_Z3fooi"), None);
    }
}
