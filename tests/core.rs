//! What only the Rust API has: closures (with the state they capture) as
//! green threads, std's sockets handed to the trampoline, Rust callbacks
//! through the unsafe call_on_hub and offload, and `Errno` results. The
//! behaviour behind them (sleep, join, kill, deadlines, fds) is tested once,
//! through the C ABI, in tests/c. Cargo runs these tests on parallel OS
//! threads; each has a hub of its own.

use std::cell::Cell;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use guv::{Errno, Interest};

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// A green thread starts at the hub's next turn, not inside spawn.
#[test]
fn spawn_runs_closure_later() {
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let id = guv::spawn(move || r.set(true)).unwrap();
    assert!(id >= 1);
    assert!(!ran.get());
    assert_eq!(guv::count().unwrap(), 1);
    guv::run().unwrap();
    assert!(ran.get());
    assert_eq!(guv::count().unwrap(), 0);
}

/// A green thread that never started (its OS thread exited before running
/// the hub) drops its closure, and so what the closure captured, with the
/// hub: small closures (kept inline) and large ones (boxed) alike. A
/// spawn refused for its stack size drops it at once.
#[test]
fn unstarted_closures_are_dropped() {
    let captured = std::sync::Arc::new(());
    let (small, large) = (captured.clone(), captured.clone());
    let refused = captured.clone();
    std::thread::spawn(move || {
        guv::spawn(move || drop(small)).unwrap();
        let padding = [0u64; 8];
        guv::spawn(move || drop((large, padding))).unwrap();
        assert_eq!(guv::spawn_with_stack(move || drop(refused), 1).unwrap_err(), Errno::EINVAL);
    })
    .join()
    .unwrap();
    assert_eq!(std::sync::Arc::strong_count(&captured), 1);
}

/// A reader on a socket pair suspends until the peer writes.
#[test]
fn trampoline_waits_for_data() {
    let (a, mut b) = pair();
    let fd = a.as_raw_fd();
    let got = Rc::new(Cell::new(None));
    let g = got.clone();
    let t0 = guv::now();
    guv::spawn(move || {
        g.set(Some(guv::trampoline(fd, Interest::READ, -1.0)));
        let mut buf = [0u8; 8];
        assert_eq!((&a).read(&mut buf).unwrap(), 5);
    })
    .unwrap();
    guv::spawn(move || {
        guv::sleep(0.03).unwrap();
        b.write_all(b"hello").unwrap();
    })
    .unwrap();
    guv::run().unwrap();
    assert_eq!(got.get(), Some(Ok(Interest::READ)));
    assert!(guv::now() - t0 >= 0.03);
}

/// Blocking calls from a call_on_hub callback are EPERM; run() inside a
/// green thread is EPERM.
#[test]
fn eperm_contexts() {
    unsafe extern "C" fn try_block(arg: *mut std::ffi::c_void) {
        // SAFETY: `arg` is the &Cell<u32> passed below, alive for the call.
        let hits = unsafe { &*(arg as *const Cell<u32>) };
        assert_eq!(guv::sleep(0.001), Err(Errno::EPERM));
        assert_eq!(guv::yield_now(), Err(Errno::EPERM));
        assert!(!guv::can_switch());
        hits.set(hits.get() + 1);
    }
    let hits = Rc::new(Cell::new(0u32));
    let h = hits.clone();
    guv::spawn(move || {
        assert_eq!(guv::run(), Err(Errno::EPERM));
        // SAFETY: try_block reads the Cell behind `h`, alive for this call.
        unsafe { guv::call_on_hub(try_block, Rc::as_ptr(&h) as *mut _) }.unwrap();
        assert!(guv::can_switch());
    })
    .unwrap();
    guv::run().unwrap();
    assert_eq!(hits.get(), 1);
}

/// An offloaded call runs on another OS thread while the hub keeps ticking.
#[test]
fn offload_keeps_hub_running() {
    unsafe extern "C" fn slow(arg: *mut std::ffi::c_void) {
        std::thread::sleep(std::time::Duration::from_millis(50));
        // SAFETY: `arg` points at the caller's u64, which outlives the offload.
        unsafe { *(arg as *mut u64) = 42 };
    }
    let ticks = Rc::new(Cell::new(0));
    let t = ticks.clone();
    let worker = guv::spawn(move || {
        let mut out = 0u64;
        // SAFETY: `out` outlives the offload, and nothing else touches it meanwhile.
        unsafe { guv::offload(slow, &mut out as *mut u64 as *mut _) }.unwrap();
        assert_eq!(out, 42);
    })
    .unwrap();
    guv::spawn(move || {
        for _ in 0..5 {
            guv::sleep(0.005).unwrap();
            t.set(t.get() + 1);
        }
    })
    .unwrap();
    guv::join(worker).unwrap();
    // Its first 5 ms sleep ends long before the 50 ms offload: one tick proves the hub ran it
    // meanwhile (three failed under load).
    assert!(ticks.get() >= 1, "the ticker never ticked during a 50 ms offload");
    guv::run().unwrap();
}
