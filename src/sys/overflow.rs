//! Stack overflow reporting: a SIGSEGV/SIGBUS handler on an alternate signal
//! stack that names the green thread whose guard region was hit, then aborts.
//! Faults that are not ours go to whatever handler was installed before.

use std::cell::Cell;
use std::mem::MaybeUninit;
use std::sync::Once;

use crate::stack::GUARD_SIZE;
use crate::sys::backtrace::NAME_LEN;

/// The stack bounds of a green thread, its id and name, for the handlers.
#[derive(Clone, Copy)]
pub(crate) struct Running {
    pub guard: usize,
    pub top: usize,
    pub id: i64,
    /// Its name cell (NUL-terminated), or null when it has none.
    pub name: *const [u8; NAME_LEN],
    /// A stack address just above its function's frames (see backtrace::Runner).
    pub entry: usize,
    /// The hook sets' task data once their task_start has run, else null.
    pub task_data: *const crate::callbacks::TaskData,
}

impl Running {
    pub const NONE: Running =
        Running { guard: 0, top: 0, id: 0, name: std::ptr::null(), entry: 0, task_data: std::ptr::null() };
}

thread_local! {
    // Const-initialised: reading it from a signal handler touches no lazy state.
    // Points at the running green thread's bounds, which stay put in its
    // slot's home while it runs (null: none runs).
    static RUNNING: Cell<*const Running> = const { Cell::new(std::ptr::null()) };
    static ALTSTACK_SET: Cell<bool> = const { Cell::new(false) };
}

/// Names the running green thread's stack (null: none). `r` must stay valid
/// until the next call; what the handlers read is `*r` at that moment.
pub(crate) fn set_running(r: *const Running) {
    RUNNING.with(|c| c.set(r));
}

/// This thread's running-stack cell, for a hub that sets it at every switch
/// without a thread-local lookup each time. Valid for the thread's life.
pub(crate) fn running_cell() -> *const Cell<*const Running> {
    RUNNING.with(|c| c as *const Cell<*const Running>)
}

/// The green thread running on this thread, as the handlers see it (`top == 0`: none).
pub(crate) fn running() -> Running {
    let r = RUNNING.with(|c| c.get());
    // SAFETY: a non-null pointer names the running green thread's bounds,
    // valid while it runs (set_running's contract).
    unsafe { r.as_ref() }.copied().unwrap_or(Running::NONE)
}

static INSTALL: Once = Once::new();
static mut OLD_SEGV: MaybeUninit<libc::sigaction> = MaybeUninit::zeroed();
static mut OLD_BUS: MaybeUninit<libc::sigaction> = MaybeUninit::zeroed();
const ALTSTACK_SIZE: usize = 64 * 1024;

/// Installs the handler once per process and an alternate signal stack once
/// per thread (a fault on an exhausted stack cannot run a handler on that stack).
pub(crate) fn prepare_thread() {
    INSTALL.call_once(|| {
        // SAFETY: Once runs this exactly once, before any handler can read OLD_*;
        // the sigaction structs are fully initialised before use.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGSEGV, &sa, (&raw mut OLD_SEGV).cast());
            libc::sigaction(libc::SIGBUS, &sa, (&raw mut OLD_BUS).cast());
        }
    });
    if ALTSTACK_SET.with(|c| c.replace(true)) {
        return;
    }
    // SAFETY: sigaltstack with a null new stack only reads the current one.
    unsafe {
        let mut cur: libc::stack_t = std::mem::zeroed();
        libc::sigaltstack(std::ptr::null(), &mut cur);
        if cur.ss_flags & libc::SS_DISABLE == 0 {
            return; // the thread already has one (Rust's runtime installs one, for example)
        }
        let Ok(p) = crate::sys::mem::reserve(ALTSTACK_SIZE) else { return };
        // The altstack is leaked on purpose: the thread may fault until its last instruction.
        let ss = libc::stack_t { ss_sp: p.cast(), ss_flags: 0, ss_size: ALTSTACK_SIZE };
        libc::sigaltstack(&ss, std::ptr::null_mut());
    }
}

#[cfg(target_arch = "x86_64")]
fn fault_sp(ctx: *mut libc::c_void) -> usize {
    // SAFETY: the kernel passes a valid ucontext_t to an SA_SIGINFO handler.
    unsafe { (*(ctx as *const libc::ucontext_t)).uc_mcontext.gregs[libc::REG_RSP as usize] as usize }
}

#[cfg(target_arch = "aarch64")]
fn fault_sp(ctx: *mut libc::c_void) -> usize {
    // SAFETY: as above.
    unsafe { (*(ctx as *const libc::ucontext_t)).uc_mcontext.sp as usize }
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let r = running();
    if r.top != 0 {
        // SAFETY: the kernel passes a valid siginfo_t for SIGSEGV/SIGBUS.
        let addr = unsafe { (*info).si_addr() } as usize;
        let sp = fault_sp(ctx);
        let in_guard = addr >= r.guard && addr < r.guard + GUARD_SIZE;
        let sp_outside = sp < r.guard + GUARD_SIZE || sp > r.top;
        if in_guard || sp_outside {
            report(r);
        }
    }
    // Not ours: hand it to the previous handler.
    let old = if sig == libc::SIGSEGV { &raw const OLD_SEGV } else { &raw const OLD_BUS };
    // SAFETY: OLD_* were written by sigaction before this handler was installed.
    let old = unsafe { (*old).assume_init_ref() };
    match old.sa_sigaction {
        libc::SIG_DFL | libc::SIG_IGN => {
            // Restore the default action; returning re-executes the fault, which now kills us.
            // SAFETY: sigaction with a zeroed (SIG_DFL) action is always valid.
            unsafe {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
        }
        f if old.sa_flags & libc::SA_SIGINFO != 0 => {
            // SAFETY: the previous owner installed `f` as an SA_SIGINFO handler.
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(f) };
            f(sig, info, ctx)
        }
        f => {
            // SAFETY: the previous owner installed `f` as a plain handler.
            let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(f) };
            f(sig)
        }
    }
}

/// Writes "guv: green thread N overflowed its stack (S bytes)" with write(2)
/// (no allocation, no locks: we are in a signal handler) and aborts.
fn report(r: Running) -> ! {
    let mut buf = [0u8; 256];
    let mut n = 0;
    let mut put = |s: &[u8]| {
        let k = s.len().min(buf.len() - n);
        buf[n..n + k].copy_from_slice(&s[..k]);
        n += k;
    };
    put(b"guv: green thread ");
    put(fmt_u64(r.id as u64, &mut [0u8; 20]));
    // SAFETY: a non-null name points at the task's name cell, which its slot
    // keeps for good; a NUL within NAME_LEN bytes ends it.
    if let Some(name) = unsafe { r.name.as_ref() } {
        let n = name.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        put(b" \"");
        put(&name[..n]);
        put(b"\"");
    }
    put(b" overflowed its stack (");
    put(fmt_u64((r.top - r.guard - GUARD_SIZE) as u64, &mut [0u8; 20]));
    put(b" bytes; raise it with GUV_STACK_SIZE or guv_spawn_ex)\n");
    // SAFETY: write(2) and abort(3) are async-signal-safe.
    unsafe {
        libc::write(2, buf.as_ptr().cast(), n);
        libc::abort();
    }
}

fn fmt_u64(mut v: u64, out: &mut [u8; 20]) -> &[u8] {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return &out[i..];
        }
    }
}
