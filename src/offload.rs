//! Offload: run a call that can never be cooperative (getaddrinfo, file I/O,
//! a C library without a non-blocking API) on a small pool of OS threads,
//! suspending only the green thread that asked.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Condvar};

use crate::lock::Mutex;

use crate::remote::{CCall, HubHandle, Msg};

/// A call to run off the hub.
pub(crate) type Job = CCall;

struct Queued {
    job: Job,
    hub: Arc<HubHandle>,
    slot: u32,
    wait_gen: u32,
}

struct State {
    queue: VecDeque<Queued>,
    idle: usize,
    threads: usize,
}

struct Pool {
    state: Mutex<State>,
    work: Condvar,
}

/// The process's pool, made on first use. After fork the child starts a new
/// one: the parent's workers do not exist there, and one of them may have
/// held the old pool's mutex at the moment of the fork.
static POOL: AtomicPtr<Pool> = AtomicPtr::new(std::ptr::null_mut());

fn pool() -> &'static Pool {
    let p = POOL.load(Ordering::Acquire);
    if !p.is_null() {
        // SAFETY: pools are leaked Boxes, never freed.
        return unsafe { &*p };
    }
    let new = Box::into_raw(Box::new(Pool {
        state: Mutex::new(State { queue: VecDeque::new(), idle: 0, threads: 0 }),
        work: Condvar::new(),
    }));
    match POOL.compare_exchange(std::ptr::null_mut(), new, Ordering::AcqRel, Ordering::Acquire) {
        // SAFETY: `new` was just leaked and is now the pool.
        Ok(_) => unsafe { &*new },
        Err(winner) => {
            // SAFETY: `new` never escaped; `winner` is a leaked pool.
            unsafe {
                drop(Box::from_raw(new));
                &*winner
            }
        }
    }
}

/// In a forked child: forget the parent's pool (leaked, never touched again).
pub(crate) fn after_fork_child() {
    POOL.store(std::ptr::null_mut(), Ordering::Release);
}

/// A worker with nothing to do for this long exits; the pool restarts threads on demand.
const IDLE_EXIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Pool size: GUV_OFFLOAD_THREADS, else 8. Threads start on demand.
fn max_threads() -> usize {
    std::env::var("GUV_OFFLOAD_THREADS").ok().and_then(|s| s.parse().ok()).filter(|&n| n > 0).unwrap_or(8)
}

/// Queues `job`; when it has run, the hub behind `hub` wakes (slot, wait_gen).
pub(crate) fn submit(job: Job, hub: Arc<HubHandle>, slot: u32, wait_gen: u32) -> std::io::Result<()> {
    let pool = pool();
    let mut st = pool.state.lock();
    st.queue.push_back(Queued { job, hub, slot, wait_gen });
    if st.idle > 0 {
        pool.work.notify_one();
    }
    match staff(pool, &mut st) {
        // No thread at all to run it: take the job back, the caller fails with EAGAIN.
        Err(e) if st.threads == 0 => {
            st.queue.pop_back();
            Err(e)
        }
        _ => Ok(()), // else the running threads will get to it
    }
}

/// A woken thread counts as idle until it takes a job: starts another
/// whenever queued jobs outnumber the idle threads, so a burst overlaps.
fn staff(pool: &'static Pool, st: &mut State) -> std::io::Result<()> {
    if st.queue.len() > st.idle && st.threads < max_threads() {
        let arg = (pool as *const Pool).cast_mut().cast();
        crate::sys::os::spawn_thread(worker_main, arg)?;
        st.threads += 1;
    }
    Ok(())
}

/// A worker thread's start: a plain pthread (see `sys::os::spawn_thread`),
/// so that a call it runs may end it with pthread_exit.
extern "C-unwind" fn worker_main(pool: *mut libc::c_void) -> *mut libc::c_void {
    crate::sys::os::name_this_thread(c"guv-offload");
    // SAFETY: `submit` passed a pool, and pools are leaked Boxes, never freed.
    worker(unsafe { &*pool.cast::<Pool>() });
    std::ptr::null_mut()
}

/// The call a worker runs now, and whom to tell when it is done.
struct InFlight {
    pool: &'static Pool,
    hub: Arc<HubHandle>,
    slot: u32,
    wait_gen: u32,
}

/// The call a worker runs, set while it runs. Kept in a thread-local rather
/// than in the worker's frames, so that those frames hold nothing to drop
/// while the call runs and a forced unwind out of it passes plain frames only.
struct Flight(RefCell<Option<InFlight>>);

impl Drop for Flight {
    /// At the worker's exit, with a call still in flight: the call ended the
    /// thread with pthread_exit (its cleanup handlers ran). The caller wakes
    /// as if it had returned, and the pool counts the thread gone.
    fn drop(&mut self) {
        if let Some(f) = self.0.get_mut().take() {
            let mut st = f.pool.state.lock();
            st.threads -= 1;
            // Calls queued meanwhile may have counted on this thread to run them.
            let _ = staff(f.pool, &mut st);
            drop(st);
            let _ = f.hub.send(Msg::OffloadDone(f.slot, f.wait_gen));
        }
    }
}

thread_local! {
    static IN_FLIGHT: Flight = const { Flight(RefCell::new(None)) };
}

fn worker(pool: &'static Pool) {
    while let Some(q) = next_job(pool) {
        let Queued { job, hub, slot, wait_gen } = q;
        IN_FLIGHT.with(|c| *c.0.borrow_mut() = Some(InFlight { pool, hub, slot, wait_gen }));
        // Called as "C-unwind": the call may end this thread with a forced unwind.
        // SAFETY: only the ABI's unwind permission differs from the submitter's
        // function type; the submitter vouched for the pair (see CCall).
        let call: unsafe extern "C-unwind" fn(*mut libc::c_void) = unsafe { std::mem::transmute(job.f) };
        // SAFETY: as above.
        unsafe { call(job.arg) };
        let Some(f) = IN_FLIGHT.with(|c| c.0.borrow_mut().take()) else {
            unreachable!("the call in flight was set")
        };
        // The hub may have exited meanwhile: then nobody waits for the answer.
        let _ = f.hub.send(Msg::OffloadDone(f.slot, f.wait_gen));
    }
}

/// The next queued call; None when the thread has been idle for long and
/// leaves the pool.
fn next_job(pool: &'static Pool) -> Option<Queued> {
    let mut st = pool.state.lock();
    loop {
        if let Some(q) = st.queue.pop_front() {
            return Some(q);
        }
        st.idle += 1;
        let (next, waited) = st.wait_timeout(&pool.work, IDLE_EXIT);
        st = next;
        st.idle -= 1;
        if waited.timed_out() && st.queue.is_empty() {
            // Idle for long: give the thread back (thread-conscious hosts such as Go count them).
            st.threads -= 1;
            return None;
        }
    }
}
