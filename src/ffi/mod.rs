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

/// The body of an export that suspends the caller until another wakes it
/// (guv_sleep, guv_park), on x86_64, where the export is a naked function:
/// it calls `$body` (the export's real body, same arguments) and returns to its C
/// caller with a pop and a jump rather than `ret`. The green thread that
/// suspended last called from somewhere else, and its call is what the
/// CPU's return stack predicts, so a `ret` here mispredicted at every
/// switch between green threads whose calls come from different places
/// (a park/unpark ping-pong between two C functions: 58 -> 38 ns per round
/// trip). The jump is predicted like any indirect branch.
///
/// SAFETY (of each naked export built with it): `$body` is called with the
/// export's own argument registers untouched and a 16-byte aligned stack;
/// only rsp (restored) and rcx (caller-saved, free at a return) change, and
/// `$body`'s rax is the export's result. Nothing is written below rsp, so a
/// signal at any instruction finds the stack as the CFI describes it
/// (tests/c/test_backtrace.c walks through each export).
#[cfg(target_arch = "x86_64")]
macro_rules! return_by_jump {
    ($body:path) => {
        std::arch::naked_asm!(
            ".cfi_startproc",
            // 16-byte alignment at the callee's entry, as at ours.
            "sub rsp, 8",
            ".cfi_adjust_cfa_offset 8",
            "call {body}",
            "add rsp, 8",
            ".cfi_adjust_cfa_offset -8",
            "pop rcx",
            ".cfi_adjust_cfa_offset -8",
            ".cfi_register rip, rcx",
            "jmp rcx",
            ".cfi_endproc",
            body = sym $body,
        )
    };
}
#[cfg(target_arch = "x86_64")]
pub(crate) use return_by_jump;

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
        Err(p) => internal_error(name, p),
    }
}

/// A panic reached `boundary`: report it and abort. Out of line, so that
/// the exports do not keep their name in memory on the way (three stores
/// in every call).
#[cold]
#[inline(never)]
fn internal_error(name: &str, p: Box<dyn std::any::Any + Send>) -> ! {
    eprintln!("guv: internal error in {name}: {}", crate::panic_message(&*p));
    std::process::abort()
}
