//! The C ABI. Each export converts and checks its arguments, calls one
//! function of the core, and maps `Err(errno)` to -1 with `errno` set.
//! `boundary` is the one place that catches panics: none may cross into C.
#![allow(non_camel_case_types)]
// C callers pass raw pointers by design; each export checks for NULL and
// says in its doc what it dereferences, as rustls-ffi does.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::errno::Result;

mod core;
mod introspect;
mod io;

pub use self::core::*;
pub use self::introspect::*;
pub use self::io::*;

/// A C return type with an error value.
pub(crate) trait CReturn: Copy {
    const ERROR: Self;
}
impl CReturn for i32 {
    const ERROR: i32 = -1;
}
impl CReturn for i64 {
    const ERROR: i64 = -1;
}
impl CReturn for isize {
    const ERROR: isize = -1;
}
impl<T> CReturn for *mut T {
    const ERROR: *mut T = std::ptr::null_mut();
}

/// Runs `f`; an error becomes `T::ERROR` with errno set. A panic is a bug
/// in guv that may have left the hub inconsistent: it is reported and the
/// process aborts rather than unwinding into C.
pub(crate) fn boundary<T: CReturn>(name: &str, f: impl FnOnce() -> Result<T>) -> T {
    let _inside = match crate::hub::enter() {
        Ok(inside) => inside,
        Err(e) => {
            e.set();
            return T::ERROR;
        }
    };
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            e.set();
            T::ERROR
        }
        Err(p) => {
            eprintln!("guv: internal error in {name}: {}", crate::panic_message(&*p));
            std::process::abort()
        }
    }
}
