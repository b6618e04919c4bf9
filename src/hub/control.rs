//! What is done to a task from outside it: kill, unpark and interrupt, from
//! this thread or through the inbox, by which other threads also send
//! spawns and finished offloads.

use super::{Hub, MAIN};
use crate::errno::{Errno, Result};
use crate::remote::Msg;
use crate::stack;
use crate::task::Wait;

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
        self.handle.drain(&mut self.inbox);
        let mut inbox = std::mem::take(&mut self.inbox);
        for m in inbox.drain(..) {
            match m {
                Msg::Spawn(call) => {
                    if let Err(e) = self.spawn(move || call.call(), stack::default_size()) {
                        eprintln!("guv: a green thread submitted from another thread could not start: {e}");
                    }
                }
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
}
