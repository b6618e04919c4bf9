//! guv: green threads for blocking C code.
//!
//! One hub per OS thread runs thousands of green threads on pooled stacks;
//! a green thread that would block (a driver's wait callback, a greenified
//! read, a sleep) suspends with a request and the hub runs the others. The
//! C ABI in `ffi` is the product; the Rust API below is what it calls.
//!
//! Map of the crate: `hub` (the loop; `hub/lifecycle`, `hub/control`),
//! `ops` (the green-thread operations), `task` (green threads, ids),
//! `stack` (arenas, guards), `timer`, `reactor` (fd state, epoll), `fd`
//! (fd waits and the hub's fd books), `io` (greenified POSIX calls),
//! `callbacks` (per-task callbacks for bindings), `remote` (other threads),
//! `offload` (thread pool), `lock` (the Mutex, TSan-aware), `registry`
//! (every hub, for a forked child), `sys` (kernel seams), `ffi` (C surface).

pub mod callbacks;
mod clock;
pub mod errno;
mod fd;
mod hub;
mod introspect;
mod io;
mod lock;
mod monitor;
mod offload;
mod ops;
mod reactor;
mod registry;
mod remote;
pub mod stack;
mod sys;
mod task;
mod timer;

pub mod ffi;

#[cfg(test)]
mod tests;

pub use errno::{Errno, Result};
pub use fd::{close, forget_fd, trampoline, trampoline_after_eagain};
pub use ops::{
    call_on_hub, can_switch, check_cancel, count, current, interrupt, join, kill, offload, park, run, sleep,
    spawn, spawn_with_stack, stack_bounds, timeout_begin, timeout_end, unpark, yield_now,
};
pub use reactor::Interest;
pub use remote::{handle, remote_interrupt, remote_kill, remote_spawn, remote_unpark, HubHandle};
pub use sys::mem::{guard_kind, GuardKind};

/// The message a panic was raised with, for the one line guv prints before
/// it aborts (a panic never unwinds into C or into the hub).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    match payload.downcast_ref::<&str>() {
        Some(s) => s,
        None => payload.downcast_ref::<String>().map_or("(non-string payload)", String::as_str),
    }
}

/// Seconds on the monotonic clock.
pub fn now() -> f64 {
    clock::now_ns() as f64 / 1e9
}
