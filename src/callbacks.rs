//! Per-task callbacks (`guv_hooks`, set with guv_set_hooks): how a binding
//! keeps per-thread state of a foreign runtime (CPython's PyThreadState and
//! GIL, for one) per green thread, without the core knowing any language.
//! (Not to be confused with hook/, libguv_hook's libc interposition.)

use std::ffi::c_void;
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::errno::{Errno, Result};
use crate::hub::outside;

/// Callbacks run around each green thread's life and each of its switches.
/// Set `size` to sizeof(guv_hooks); every other member may be NULL.
/// `userdata` is passed to each callback as its first argument.
#[repr(C)]
#[derive(Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct guv_hooks {
    /// sizeof(guv_hooks) as the caller was compiled: a later guv may add
    /// members at the end, and still reads a smaller struct from a binary
    /// built against this one.
    pub size: usize,
    /// On the new green thread's stack, before its function; returns the
    /// task's hook data, passed to the other callbacks for this task.
    pub task_start: Option<unsafe extern "C" fn(userdata: *mut c_void) -> *mut c_void>,
    /// On the green thread's stack, after its function returned.
    pub task_end: Option<unsafe extern "C" fn(userdata: *mut c_void, task_data: *mut c_void)>,
    /// Just before the green thread suspends (GIL release goes here).
    pub switch_out: Option<unsafe extern "C" fn(userdata: *mut c_void, task_data: *mut c_void)>,
    /// Just after it is resumed, before the blocking call returns.
    pub switch_in: Option<unsafe extern "C" fn(userdata: *mut c_void, task_data: *mut c_void)>,
    /// Asked before every switch: return 0 when the green thread must not
    /// switch now; its blocking call then fails with EACCES instead.
    pub may_switch: Option<unsafe extern "C" fn(userdata: *mut c_void, task_data: *mut c_void) -> i32>,
    pub userdata: *mut c_void,
}

/// The smallest guv_hooks a caller may pass: the first version's.
const FIRST_SIZE: usize = std::mem::size_of::<guv_hooks>();

static HOOKS: AtomicPtr<guv_hooks> = AtomicPtr::new(std::ptr::null_mut());

/// Sets the process-wide hooks (None removes them). Green threads started
/// earlier keep running without hooks. A replaced set is leaked on purpose:
/// another thread may be inside one of its callbacks.
pub fn set(h: Option<guv_hooks>) {
    let new = h.map_or(std::ptr::null_mut(), |h| Box::into_raw(Box::new(h)));
    HOOKS.store(new, Ordering::Release);
}

pub(crate) fn get() -> Option<&'static guv_hooks> {
    // SAFETY: a non-null pointer came from Box::into_raw in `set` and is never freed.
    unsafe { HOOKS.load(Ordering::Acquire).as_ref() }
}

impl guv_hooks {
    /// Copies a caller's guv_hooks of `(*p).size` bytes; members it is too
    /// small to have are NULL. EINVAL if the size is not one of a guv_hooks
    /// this library knows.
    ///
    /// # Safety
    /// `p` points at a readable guv_hooks whose `size` member is readable,
    /// and at least `size` bytes are readable from `p` when it is valid.
    pub unsafe fn read(p: *const guv_hooks) -> Result<guv_hooks> {
        // SAFETY: `size` is the first member, readable per the caller.
        let size = unsafe { p.cast::<usize>().read_unaligned() };
        if !(FIRST_SIZE..=std::mem::size_of::<guv_hooks>()).contains(&size) {
            return Err(Errno::EINVAL);
        }
        // SAFETY: all zeroes is a valid guv_hooks (None callbacks, null userdata).
        let mut h: guv_hooks = unsafe { std::mem::zeroed() };
        // SAFETY: `size` bytes are readable from `p` (caller) and fit in `h` (checked above).
        unsafe { std::ptr::copy_nonoverlapping(p.cast::<u8>(), (&raw mut h).cast::<u8>(), size) };
        Ok(h)
    }

    pub(crate) fn task_start(&self) -> *mut c_void {
        // SAFETY: the binding that installed the hooks vouches for its callbacks.
        self.task_start.map_or(std::ptr::null_mut(), |f| outside(|| unsafe { f(self.userdata) }))
    }
    pub(crate) fn task_end(&self, data: *mut c_void) {
        // SAFETY: as above.
        if let Some(f) = self.task_end {
            outside(|| unsafe { f(self.userdata, data) })
        }
    }
    pub(crate) fn switch_out(&self, data: *mut c_void) {
        // SAFETY: as above.
        if let Some(f) = self.switch_out {
            outside(|| unsafe { f(self.userdata, data) })
        }
    }
    pub(crate) fn switch_in(&self, data: *mut c_void) {
        // SAFETY: as above.
        if let Some(f) = self.switch_in {
            outside(|| unsafe { f(self.userdata, data) })
        }
    }
    pub(crate) fn may_switch(&self, data: *mut c_void) -> bool {
        // SAFETY: as above.
        self.may_switch.is_none_or(|f| outside(|| unsafe { f(self.userdata, data) }) != 0)
    }
}
