//! ThreadSanitizer annotations, for programs built with -fsanitize=thread
//! over an uninstrumented libguv. TSan cannot see guv's hand-offs between OS
//! threads (std's locks are futexes, which it does not intercept) nor its
//! stack switches, so a correct program would get reports for every buffer
//! an offloaded call fills and every guv_hub_spawn argument. When TSan's
//! runtime is in the process (its `__tsan_*` functions resolve), guv says
//! where each hand-off happens and gives each green thread a TSan fiber;
//! otherwise every call here is a load and a branch.

use std::ffi::c_void;
use std::sync::OnceLock;

use super::dl::function;

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

fn lookup() -> Option<Api> {
    // SAFETY: each name is TSan's public interface function whose C
    // signature (sanitizer/tsan_interface.h) the field's type spells.
    unsafe {
        Some(Api {
            acquire: function(c"__tsan_acquire")?,
            release: function(c"__tsan_release")?,
            create_fiber: function(c"__tsan_create_fiber")?,
            get_current_fiber: function(c"__tsan_get_current_fiber")?,
            switch_to_fiber: function(c"__tsan_switch_to_fiber")?,
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
