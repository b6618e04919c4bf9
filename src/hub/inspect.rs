//! What the hub tells about itself: names, the dump, the counters. The
//! words and the format are `introspect`'s; this file reads the books.

use super::{cur, with, Hub, MAIN};
use crate::errno::{Errno, Result};
use crate::introspect::{self, guv_stats, Line, Name, State};
use crate::stack::GUARD_SIZE;
use crate::sys::overflow::Running;
use crate::task::Wait;

impl Hub {
    /// The slot `id` names for naming: 0 is the caller, green thread or main.
    fn named_slot(&self, id: i64) -> Result<u32> {
        if id == 0 {
            return Ok(cur().slot);
        }
        self.lookup(id)?.ok_or(Errno::ESRCH)
    }

    fn set_name(&mut self, id: i64, name: &[u8]) -> Result<()> {
        let slot = self.named_slot(id)?;
        let t = &mut self.tasks[slot as usize];
        let cell = t.name.get_or_insert_with(|| Box::new([0; introspect::NAME_LEN]));
        introspect::set_name(cell, name);
        let ptr: *const Name = &**cell;
        if slot == MAIN {
            self.watch.set_main_name(ptr);
        } else if let Some(home) = t.home {
            // SAFETY: the task's home, not referenced elsewhere now; the
            // handlers read it in place while the task runs.
            unsafe { (*home.as_ptr()).running.name = ptr };
        }
        Ok(())
    }

    fn name(&self, id: i64) -> Result<Vec<u8>> {
        let slot = self.named_slot(id)?;
        Ok(self.tasks[slot as usize].name.as_deref().map_or(&[][..], introspect::name_bytes).to_vec())
    }

    /// guv_dump's text; `running` is the slot of the caller, if a task asked.
    pub(super) fn dump(&self, running: Option<u32>) -> String {
        let now = crate::clock::now_ns();
        let mut lines = Vec::new();
        for (slot, t) in self.tasks.iter().enumerate() {
            if !t.in_use {
                continue;
            }
            let d = t.detail;
            let until = d.until.min(t.deadline);
            let state = match t.wait {
                _ if running == Some(slot as u32) => State::Running,
                Wait::None => State::Ready,
                Wait::Sleep => State::Sleeping { until },
                Wait::Fd { fd } => State::Fd { fd, read: d.arg & 1 != 0, write: d.arg & 2 != 0, until },
                Wait::Join => State::Joining { target: d.arg, until },
                Wait::Reap => State::Joining { target: d.arg, until: crate::clock::NEVER },
                Wait::Park => State::Parked { until },
                Wait::Offload => State::Offload,
                Wait::RunAll => State::Run,
            };
            let (id, r) = match t.home {
                // SAFETY: a live task's home, only read here.
                Some(home) if slot as u32 != MAIN => unsafe {
                    ((*home.as_ptr()).cur.id, (*home.as_ptr()).running)
                },
                _ => (0, Running::NONE),
            };
            lines.push(Line {
                id,
                name: t.name.as_deref().map_or(&[][..], introspect::name_bytes),
                state,
                since: t.since,
                stack: if r.top == 0 { 0 } else { r.top - r.guard - GUARD_SIZE },
            });
        }
        let mut out = String::new();
        introspect::dump(&mut out, self.handle.serial, self.watch.tid(), self.live, &lines, now);
        out
    }

    fn stats(&self) -> guv_stats {
        let c = &self.counts;
        guv_stats {
            green_threads: self.live as u64,
            spawned: c.spawned,
            switches: self.watch.switches(),
            fd_waits: c.fd_waits,
            sleeps: c.sleeps,
            timers: self.armed as u64,
            offloads: c.offloads,
            remote: c.remote,
            turns: c.turns,
            idle_ns: c.idle_ns,
            fd_checks: self.reactor.checked,
        }
    }
}

/// Names green thread `id` (0: the caller); see guv_set_name.
pub(crate) fn set_name(id: i64, name: &[u8]) -> Result<()> {
    with(|h| h.set_name(id, name))?
}

/// The name of green thread `id` (0: the caller), empty when it has none.
pub(crate) fn name(id: i64) -> Result<Vec<u8>> {
    with(|h| h.name(id))?
}

/// The dump of this thread's hub, as guv_dump writes it.
pub(crate) fn dump() -> Result<String> {
    let slot = cur().slot;
    with(|h| h.dump(Some(slot)))
}

/// This thread's hub's counters.
pub(crate) fn stats() -> Result<guv_stats> {
    with(|h| h.stats())
}
