//! The optional runtimes guv talks to when the process has them loaded
//! (ThreadSanitizer, AddressSanitizer, the C++ runtime): their functions are
//! looked up by name among the symbols already loaded, never linked, so a
//! process without them pays one failed lookup.

use std::ffi::{c_void, CStr};

/// The function named `name` among the loaded symbols (RTLD_DEFAULT), as `F`.
///
/// # Safety
/// `F` must be a function-pointer type matching the C signature of every
/// function of that name the process may have loaded.
pub(crate) unsafe fn function<F: Copy>(name: &CStr) -> Option<F> {
    const { assert!(size_of::<F>() == size_of::<*mut c_void>()) };
    // SAFETY: dlsym with a NUL-terminated name only looks it up.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    // SAFETY: a non-null result is that function; the caller vouches for `F`.
    (!p.is_null()).then(|| unsafe { std::mem::transmute_copy::<*mut c_void, F>(&p) })
}

/// Whether a C++ exception is being thrown right now (libstdc++ loaded and
/// counting one not yet caught); glibc's forced unwind is not one.
pub(crate) fn cxx_exception_in_flight() -> bool {
    static UNCAUGHT: std::sync::OnceLock<Option<unsafe extern "C" fn() -> i32>> = std::sync::OnceLock::new();
    // SAFETY: libstdc++'s `int __cxa_uncaught_exceptions() noexcept`.
    let f = UNCAUGHT.get_or_init(|| unsafe { function(c"__cxa_uncaught_exceptions") });
    // SAFETY: the function takes nothing and cannot fail.
    f.is_some_and(|f| unsafe { f() } > 0)
}
