//! The core runtime through its Rust API: closures as green threads, sleep,
//! join, kill, trampoline on Unix socket pairs, deadlines. Cargo runs these
//! tests on parallel OS threads; each has a hub of its own.

use std::cell::{Cell, RefCell};
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

/// Each ready green thread runs once per round of yields, in spawn order.
#[test]
fn yield_is_round_robin() {
    let log = Rc::new(RefCell::new(Vec::new()));
    for me in 0..3 {
        let log = log.clone();
        guv::spawn(move || {
            for _ in 0..3 {
                log.borrow_mut().push(me);
                guv::yield_now().unwrap();
            }
        })
        .unwrap();
    }
    guv::run().unwrap();
    assert_eq!(*log.borrow(), [0, 1, 2, 0, 1, 2, 0, 1, 2]);
}

/// 50 sleeps of 0.2 s overlap: together they take far less than 10 s.
#[test]
fn sleepers_cooperate() {
    let t0 = guv::now();
    let woke = Rc::new(Cell::new(0));
    for _ in 0..50 {
        let woke = woke.clone();
        guv::spawn(move || {
            guv::sleep(0.2).unwrap();
            woke.set(woke.get() + 1);
        })
        .unwrap();
    }
    guv::run().unwrap();
    let took = guv::now() - t0;
    assert_eq!(woke.get(), 50);
    assert!((0.2..2.5).contains(&took), "took {took:.2} s");
}

/// NaN is refused; zero and negative durations yield.
#[test]
fn sleep_odd_durations() {
    assert_eq!(guv::sleep(f64::NAN), Err(Errno::EINVAL));
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    guv::spawn(move || r.set(true)).unwrap();
    guv::sleep(-1.0).unwrap();
    assert!(ran.get(), "a negative sleep from main ran the hub once");
    guv::sleep(f64::NEG_INFINITY).unwrap();
}

/// Main joining runs the hub; joining an ended thread is Ok at once; ids
/// never issued are ESRCH.
#[test]
fn join_from_main() {
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    let id = guv::spawn(move || {
        guv::sleep(0.02).unwrap();
        d.set(true);
    })
    .unwrap();
    guv::join(id).unwrap();
    assert!(done.get());
    guv::join(id).unwrap();
    assert_eq!(guv::join(0), Err(Errno::ESRCH));
    assert_eq!(guv::join(-3), Err(Errno::ESRCH));
    assert_eq!(guv::join(i64::MAX), Err(Errno::ESRCH));
    assert_eq!(guv::current(), 0);
}

/// A green thread joining itself gets EDEADLK; joins in a cycle make run()
/// fail with EDEADLK, and kills end them.
#[test]
fn join_deadlocks_are_reported() {
    let ids = Rc::new(Cell::new((0i64, 0i64)));
    let i = ids.clone();
    let a = guv::spawn(move || {
        assert_eq!(guv::join(guv::current()), Err(Errno::EDEADLK));
        assert_eq!(guv::join(i.get().1), Err(Errno::ECANCELED));
    })
    .unwrap();
    let i = ids.clone();
    let b = guv::spawn(move || assert_eq!(guv::join(i.get().0), Err(Errno::ECANCELED))).unwrap();
    ids.set((a, b));
    assert_eq!(guv::run(), Err(Errno::EDEADLK));
    assert_eq!(guv::count().unwrap(), 2);
    guv::kill(a).unwrap();
    guv::kill(b).unwrap();
    guv::run().unwrap();
}

/// Kill wakes a sleeper with ECANCELED and fails its later calls too;
/// killing an ended thread is Ok.
#[test]
fn kill_cancels_current_and_later_calls() {
    let steps = Rc::new(Cell::new(0));
    let s = steps.clone();
    let id = guv::spawn(move || {
        assert_eq!(guv::sleep(100.0), Err(Errno::ECANCELED));
        assert_eq!(guv::sleep(0.001), Err(Errno::ECANCELED));
        s.set(1);
    })
    .unwrap();
    guv::sleep(0.01).unwrap();
    let t0 = guv::now();
    guv::kill(id).unwrap();
    guv::join(id).unwrap();
    assert!(guv::now() - t0 < 1.0);
    assert_eq!(steps.get(), 1);
    guv::kill(id).unwrap();
    assert_eq!(guv::kill(0), Err(Errno::ESRCH));
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

/// Both bits when both are ready; hang-up counts as readable.
#[test]
fn trampoline_both_and_hangup() {
    let (a, mut b) = pair();
    let fd = a.as_raw_fd();
    assert_eq!(guv::trampoline(fd, Interest::BOTH, -1.0), Ok(Interest::WRITE));
    b.write_all(b"x").unwrap();
    assert_eq!(guv::trampoline(fd, Interest::BOTH, -1.0), Ok(Interest::BOTH));
    drop(b);
    assert_eq!(guv::trampoline(fd, Interest::READ, 1.0), Ok(Interest::READ));
}

/// Timeouts: ETIMEDOUT after the time, 0 polls once, NaN is refused, fd < 0 is EBADF.
#[test]
fn trampoline_timeouts_and_errors() {
    let (a, _b) = pair();
    let fd = a.as_raw_fd();
    let t0 = guv::now();
    assert_eq!(guv::trampoline(fd, Interest::READ, 0.05), Err(Errno::ETIMEDOUT));
    assert!(guv::now() - t0 >= 0.05);
    assert_eq!(guv::trampoline(fd, Interest::READ, 0.0), Err(Errno::ETIMEDOUT));
    assert_eq!(guv::trampoline(fd, Interest::WRITE, 0.0), Ok(Interest::WRITE));
    assert_eq!(guv::trampoline(fd, Interest::READ, f64::NAN), Err(Errno::EINVAL));
    assert_eq!(guv::trampoline(-1, Interest::READ, -1.0), Err(Errno::EBADF));
    assert_eq!(Interest::from_bits(0), None);
    assert_eq!(Interest::from_bits(4), None);
}

/// A second reader is EBUSY; the first is still woken.
#[test]
fn trampoline_second_reader_is_busy() {
    let (a, mut b) = pair();
    let fd = a.as_raw_fd();
    let first = Rc::new(Cell::new(None));
    let f = first.clone();
    guv::spawn(move || f.set(Some(guv::trampoline(fd, Interest::READ, -1.0)))).unwrap();
    guv::yield_now().unwrap();
    assert_eq!(guv::trampoline(fd, Interest::READ, 0.01), Err(Errno::EBUSY));
    b.write_all(b"x").unwrap();
    guv::run().unwrap();
    assert_eq!(first.get(), Some(Ok(Interest::READ)));
}

/// close() wakes a waiter with EBADF and closes the fd.
#[test]
fn close_wakes_waiter() {
    let (a, _b) = pair();
    let fd = std::os::fd::IntoRawFd::into_raw_fd(a);
    let got = Rc::new(Cell::new(None));
    let g = got.clone();
    guv::spawn(move || g.set(Some(guv::trampoline(fd, Interest::READ, -1.0)))).unwrap();
    guv::yield_now().unwrap();
    guv::close(fd).unwrap();
    guv::run().unwrap();
    assert_eq!(got.get(), Some(Err(Errno::EBADF)));
    // (Not re-closed here: a parallel test may already own the number.)
    assert_eq!(guv::close(-1), Err(Errno::EBADF));
}

/// Nested deadlines: the earliest wins; closing the inner restores the outer;
/// ending more than begun is EPERM.
#[test]
fn nested_deadlines() {
    let id = guv::spawn(|| {
        guv::timeout_begin(5.0).unwrap();
        guv::timeout_begin(0.02).unwrap();
        let t0 = guv::now();
        assert_eq!(guv::sleep(10.0), Err(Errno::ETIMEDOUT));
        assert!(guv::now() - t0 < 1.0);
        guv::timeout_end().unwrap();
        guv::sleep(0.01).unwrap();
        guv::timeout_end().unwrap();
        assert_eq!(guv::timeout_end(), Err(Errno::EPERM));
        assert_eq!(guv::timeout_begin(f64::NAN), Err(Errno::EINVAL));
    })
    .unwrap();
    guv::join(id).unwrap();
}

/// A deadline also bounds joins and fd waits.
#[test]
fn deadline_bounds_join_and_trampoline() {
    let (a, _b) = pair();
    let sleeper = guv::spawn(|| while guv::sleep(1e9).is_ok() {}).unwrap();
    guv::timeout_begin(0.02).unwrap();
    assert_eq!(guv::join(sleeper), Err(Errno::ETIMEDOUT));
    assert_eq!(guv::trampoline(a.as_raw_fd(), Interest::READ, -1.0), Err(Errno::ETIMEDOUT));
    guv::timeout_end().unwrap();
    guv::kill(sleeper).unwrap();
    guv::run().unwrap();
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
    assert!(ticks.get() >= 3, "the ticker ticked {} times during a 50 ms offload", ticks.get());
    guv::run().unwrap();
}
