//! What is done to a task from outside it: kill, unpark and interrupt, from
//! this thread or through the inbox, by which other threads also send
//! spawns and finished offloads.

use super::{Hub, MAIN};
use crate::errno::{Errno, Result};
use crate::remote::{CCall, Msg};
use crate::stack;
use crate::task::{Func, Wait};

impl Hub {
    pub(crate) fn kill(&mut self, id: i64) -> Result<()> {
        if let Some(slot) = self.lookup(id)? {
            let t = &mut self.tasks[slot as usize];
            t.killed = true;
            if t.wait.interruptible() {
                self.wake(slot, Errno::ECANCELED.code());
            }
        }
        Ok(())
    }

    /// As `lookup`, where id 0 names main.
    fn lookup_or_main(&self, id: i64) -> Result<Option<u32>> {
        if id == 0 {
            Ok(Some(MAIN))
        } else {
            self.lookup(id)
        }
    }

    pub(crate) fn unpark(&mut self, id: i64) -> Result<()> {
        if let Some(slot) = self.lookup_or_main(id)? {
            if self.tasks[slot as usize].wait == Wait::Park {
                self.wake(slot, 0);
            } else {
                self.tasks[slot as usize].permit = true;
            }
        }
        Ok(())
    }

    pub(crate) fn interrupt(&mut self, id: i64) -> Result<()> {
        if let Some(slot) = self.lookup_or_main(id)? {
            let t = &mut self.tasks[slot as usize];
            if t.wait.interruptible() || t.wait == Wait::RunAll {
                self.wake(slot, Errno::EINTR.code());
            } else {
                t.interrupted = true;
            }
        }
        Ok(())
    }

    pub(super) fn take_inbox(&mut self) {
        if !self.unstarted.is_empty() {
            self.retry_unstarted();
        }
        self.handle.drain(&mut self.inbox);
        let mut inbox = std::mem::take(&mut self.inbox);
        for m in inbox.drain(..) {
            if !matches!(m, Msg::OffloadDone(..)) {
                self.counts.remote += 1;
            }
            match m {
                Msg::Spawn(call) => self.start_submitted(call),
                Msg::Kill(id) => {
                    let _ = self.kill(id);
                }
                Msg::Unpark(id) => {
                    let _ = self.unpark(id);
                }
                Msg::Interrupt(id) => {
                    let _ = self.interrupt(id);
                }
                Msg::OffloadDone(slot, wg) => self.wake_if(slot, wg, 0),
            }
        }
        self.inbox = inbox;
    }

    /// Starts a green thread submitted from another thread. The submitter
    /// was told it was accepted, so one the hub cannot start now (no slot,
    /// no memory for a stack) is never dropped: it waits in `unstarted`, in
    /// order, and the loop retries it at each turn.
    fn start_submitted(&mut self, call: CCall) {
        if self.unstarted.is_empty() {
            match self.spawn(Func::new(move || call.call()), stack::default_size()) {
                Ok(_) => return,
                Err(e) => eprintln!(
                    "guv: a green thread submitted from another thread cannot start yet ({e}); the hub retries"
                ),
            }
        }
        self.unstarted.push_back(call);
    }

    fn retry_unstarted(&mut self) {
        while let Some(&call) = self.unstarted.front() {
            if self.spawn(Func::new(move || call.call()), stack::default_size()).is_err() {
                return;
            }
            self.unstarted.pop_front();
        }
    }
}
