//! ThreadSanitizer annotations, for programs built with -fsanitize=thread
//! over an uninstrumented libguv. TSan cannot see guv's hand-offs between OS
//! threads (std's locks are futexes, which it does not intercept) nor its
//! stack switches, so a correct program would get reports for every buffer
//! an offloaded call fills and every guv_hub_spawn argument. When TSan's
//! runtime is in the process (its `__tsan_*` functions resolve), guv says
//! where each hand-off happens and gives each green thread a TSan fiber;
//! otherwise every call here is a load and a branch.

use std::ffi::{c_void, CStr};
use std::sync::OnceLock;

/// A TSan fiber (null when TSan is absent).
pub(crate) type Fiber = *mut c_void;

struct Api {
    acquire: unsafe extern "C" fn(*mut c_void),
    release: unsafe extern "C" fn(*mut c_void),
    create_fiber: unsafe extern "C" fn(u32) -> Fiber,
    get_current_fiber: unsafe extern "C" fn() -> Fiber,
    switch_to_fiber: unsafe extern "C" fn(Fiber, u32),
}

static API: OnceLock<Option<Api>> = OnceLock::new();

#[inline]
fn api() -> Option<&'static Api> {
    API.get_or_init(lookup).as_ref()
}

fn symbol(name: &CStr) -> *mut c_void {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads.
    unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }
}

fn lookup() -> Option<Api> {
    let names = [
        c"__tsan_acquire",
        c"__tsan_release",
        c"__tsan_create_fiber",
        c"__tsan_get_current_fiber",
        c"__tsan_switch_to_fiber",
    ];
    let syms = names.map(symbol);
    if syms.iter().any(|p| p.is_null()) {
        return None;
    }
    // SAFETY: each symbol is TSan's public interface function of that name,
    // whose C signature (sanitizer/tsan_interface.h) the field's type spells.
    unsafe {
        Some(Api {
            acquire: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut c_void)>(syms[0]),
            release: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut c_void)>(syms[1]),
            create_fiber: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(u32) -> Fiber>(syms[2]),
            get_current_fiber: std::mem::transmute::<*mut c_void, unsafe extern "C" fn() -> Fiber>(syms[3]),
            switch_to_fiber: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(Fiber, u32)>(syms[4]),
        })
    }
}

/// Everything this thread did so far happens before what a later
/// `acquire(addr)` on any thread does after it.
#[inline]
pub(crate) fn release<T>(addr: *const T) {
    if let Some(a) = api() {
        // SAFETY: TSan only uses `addr` as a key.
        unsafe { (a.release)(addr as *mut c_void) }
    }
}

/// See `release`.
#[inline]
pub(crate) fn acquire<T>(addr: *const T) {
    if let Some(a) = api() {
        // SAFETY: TSan only uses `addr` as a key.
        unsafe { (a.acquire)(addr as *mut c_void) }
    }
}

/// A fiber for a green thread (null without TSan).
pub(crate) fn create_fiber() -> Fiber {
    // SAFETY: creating a fiber has no precondition.
    api().map_or(std::ptr::null_mut(), |a| unsafe { (a.create_fiber)(0) })
}

/// The fiber running now: the OS thread's own when called from the loop.
#[inline]
pub(crate) fn current_fiber() -> Fiber {
    // SAFETY: no precondition.
    api().map_or(std::ptr::null_mut(), |a| unsafe { (a.get_current_fiber)() })
}

/// Tells TSan that the thread now runs `fiber`, right before the stack
/// switch to it; what ran before happens before what runs after.
#[inline]
pub(crate) fn switch_to(fiber: Fiber) {
    if fiber.is_null() {
        return;
    }
    if let Some(a) = api() {
        // SAFETY: `fiber` came from create_fiber or current_fiber and is never destroyed.
        unsafe { (a.switch_to_fiber)(fiber, 0) }
    }
}

/// std's Mutex, poison-tolerant, with what it hands from one holder to the
/// next told to TSan (std's lock is a futex TSan cannot see).
pub(crate) struct Mutex<T>(std::sync::Mutex<T>);

/// The lock held; TSan learns of the hand-off when it is dropped.
pub(crate) struct Guard<'a, T> {
    guard: Option<std::sync::MutexGuard<'a, T>>,
    key: *const (),
}

impl<T> Mutex<T> {
    pub(crate) const fn new(v: T) -> Mutex<T> {
        Mutex(std::sync::Mutex::new(v))
    }

    /// Locks it; a holder that panicked left the data as it was, which is
    /// still consistent for every user here (queues and flags).
    pub(crate) fn lock(&self) -> Guard<'_, T> {
        let guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        acquire(self);
        Guard { guard: Some(guard), key: (self as *const Self).cast() }
    }

    /// Locks it if no one holds it.
    pub(crate) fn try_lock(&self) -> Option<Guard<'_, T>> {
        let guard = match self.0.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        acquire(self);
        Some(Guard { guard: Some(guard), key: (self as *const Self).cast() })
    }
}

impl<'a, T> Guard<'a, T> {
    /// Condvar::wait_timeout on this lock, telling TSan of the unlock and relock.
    pub(crate) fn wait_timeout(
        mut self,
        cv: &std::sync::Condvar,
        dur: std::time::Duration,
    ) -> (Guard<'a, T>, std::sync::WaitTimeoutResult) {
        release(self.key);
        let inner = self.guard.take().expect("a live guard holds its lock");
        let (inner, r) = cv.wait_timeout(inner, dur).unwrap_or_else(|e| e.into_inner());
        acquire(self.key);
        self.guard = Some(inner);
        (self, r)
    }
}

impl<T> std::ops::Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("a live guard holds its lock")
    }
}

impl<T> std::ops::DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("a live guard holds its lock")
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        if self.guard.is_some() {
            release(self.key); // before the field's drop unlocks
        }
    }
}
