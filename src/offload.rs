//! Offload: run a call that can never be cooperative (getaddrinfo, file I/O,
//! a C library without a non-blocking API) on a small pool of OS threads,
//! suspending only the green thread that asked.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};

use crate::remote::{CCall, Msg, Shared};

/// A call to run off the hub.
pub(crate) type Job = CCall;

struct Queued {
    job: Job,
    hub: Arc<Shared>,
    slot: u32,
    wait_gen: u32,
}

struct State {
    queue: VecDeque<Queued>,
    idle: usize,
    threads: usize,
}

static POOL: Mutex<State> = Mutex::new(State { queue: VecDeque::new(), idle: 0, threads: 0 });
static WORK: Condvar = Condvar::new();

/// Pool size: GUV_OFFLOAD_THREADS, else 8. Threads start on demand.
fn max_threads() -> usize {
    std::env::var("GUV_OFFLOAD_THREADS").ok().and_then(|s| s.parse().ok()).filter(|&n| n > 0).unwrap_or(8)
}

/// Queues `job`; when it has run, the hub behind `hub` wakes (slot, wait_gen).
pub(crate) fn submit(job: Job, hub: Arc<Shared>, slot: u32, wait_gen: u32) -> std::io::Result<()> {
    let mut st = POOL.lock().unwrap_or_else(|e| e.into_inner());
    st.queue.push_back(Queued { job, hub, slot, wait_gen });
    if st.idle > 0 {
        WORK.notify_one();
    } else if st.threads < max_threads() {
        std::thread::Builder::new().name("guv-offload".into()).spawn(worker)?;
        st.threads += 1;
    }
    Ok(())
}

fn worker() {
    let mut st = POOL.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let Some(q) = st.queue.pop_front() else {
            st.idle += 1;
            st = WORK.wait(st).unwrap_or_else(|e| e.into_inner());
            st.idle -= 1;
            continue;
        };
        drop(st);
        q.job.call();
        // The hub may have exited meanwhile: then nobody waits for the answer.
        let _ = q.hub.send(Msg::OffloadDone(q.slot, q.wait_gen));
        st = POOL.lock().unwrap_or_else(|e| e.into_inner());
    }
}
