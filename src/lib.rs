//! guv: green threads for blocking C code.
//!
//! One hub per OS thread runs thousands of green threads on pooled stacks;
//! a green thread that would block (a driver's wait callback, a greenified
//! read, a sleep) suspends with a request and the hub runs the others. The
//! C ABI in `ffi` is the product; the Rust API below is what it calls.
//!
//! Map of the crate: `hub` (the loop), `task` (green threads, ids),
//! `stack` (arenas, guards), `timer`, `reactor` (fd state, epoll),
//! `hooks` (per-task hooks for bindings), `remote` (other threads),
//! `offload` (thread pool), `sys` (kernel seams), `ffi` (C surface).

mod clock;
pub mod errno;
pub mod hooks;
mod hub;
mod io;
mod offload;
mod reactor;
mod remote;
pub mod stack;
mod sys;
mod task;
mod timer;

pub mod ffi;

pub use errno::{Errno, Result};
pub use hub::{
    call_on_hub, can_switch, check_cancel, close, count, current, forget_fd, interrupt, join, kill, offload,
    park, remote_interrupt, remote_kill, remote_spawn, remote_unpark, run, shared, sleep, spawn,
    spawn_with_stack, stack_bounds, timeout_begin, timeout_end, trampoline, trampoline_after_eagain, unpark,
    yield_now,
};
pub use reactor::Interest;
pub use remote::Shared;
pub use sys::mem::{guard_kind, GuardKind};

/// Seconds on the monotonic clock.
pub fn now() -> f64 {
    clock::now_ns() as f64 / 1e9
}
