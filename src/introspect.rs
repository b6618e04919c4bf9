//! What a hub tells about itself: green threads' names, the text of
//! guv_dump, and the counters of guv_stats. The hub gathers the facts; this
//! file only holds them and spells them out.

use std::fmt::Write;

use crate::clock::{Deadline, NEVER};
pub(crate) use crate::sys::backtrace::NAME_LEN;

/// A green thread's name, NUL-terminated, in a cell of its own so that the
/// stack-overflow and capture handlers can read it through a pointer.
pub(crate) type Name = [u8; NAME_LEN];

/// Copies `name` into `cell`, truncated to 63 bytes.
pub(crate) fn set_name(cell: &mut Name, name: &[u8]) {
    let n = name.len().min(NAME_LEN - 1);
    cell[..n].copy_from_slice(&name[..n]);
    cell[n..].fill(0);
}

/// The bytes of a name, without its NUL.
pub(crate) fn name_bytes(cell: &Name) -> &[u8] {
    let n = cell.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
    &cell[..n]
}

/// What a green thread is doing, as guv_dump spells it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum State {
    /// The caller of guv_dump.
    Running,
    Ready,
    Sleeping {
        until: Deadline,
    },
    Fd {
        fd: i32,
        read: bool,
        write: bool,
        until: Deadline,
    },
    Joining {
        target: i64,
        until: Deadline,
    },
    Parked {
        until: Deadline,
    },
    Offload,
    /// Main inside guv_run, running the others.
    Run,
}

impl State {
    fn word(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Ready => "ready",
            State::Sleeping { .. } => "sleeping",
            State::Fd { .. } => "fd",
            State::Joining { .. } => "joining",
            State::Parked { .. } => "parked",
            State::Offload => "offload",
            State::Run => "run",
        }
    }
}

/// One green thread (or main) of a dump.
pub(crate) struct Line<'a> {
    pub id: i64,
    pub name: &'a [u8],
    pub state: State,
    /// When it entered that state (the hub's clock of that moment).
    pub since: u64,
    /// Usable stack in bytes; 0 for main, which runs on its thread's own stack.
    pub stack: usize,
}

/// Writes a dump: a header line naming the hub and counting states, then one
/// line per green thread. The format is documented at guv_dump.
pub(crate) fn dump(out: &mut String, serial: u64, tid: i32, alive: usize, lines: &[Line], now: u64) {
    let count = |w: &str| lines.iter().filter(|l| l.state.word() == w).count();
    let _ = write!(out, "hub={serial} thread={tid} green_threads={alive}");
    for w in ["running", "ready", "sleeping", "fd", "joining", "parked", "offload", "run"] {
        let _ = write!(out, " {w}={}", count(w));
    }
    out.push('\n');
    for l in lines {
        let _ = write!(out, "  id={} name=\"", l.id);
        escape(out, l.name);
        let _ = write!(out, "\" state={}", l.state.word());
        match l.state {
            State::Sleeping { until } | State::Parked { until } => until_field(out, until, now),
            State::Fd { fd, read, write, until } => {
                let ev = match (read, write) {
                    (true, true) => "read+write",
                    (false, true) => "write",
                    _ => "read",
                };
                let _ = write!(out, " fd={fd} events={ev}");
                until_field(out, until, now);
            }
            State::Joining { target, until } => {
                let _ = write!(out, " target={target}");
                until_field(out, until, now);
            }
            State::Running | State::Ready | State::Offload | State::Run => {}
        }
        let _ = writeln!(out, " for={:.3} stack={}", now.saturating_sub(l.since) as f64 / 1e9, l.stack);
    }
}

/// " until=+S" (seconds from now; negative once due) or " until=never".
fn until_field(out: &mut String, until: Deadline, now: u64) {
    if until == NEVER {
        out.push_str(" until=never");
    } else {
        let _ = write!(out, " until={:+.3}", (until as i128 - now as i128) as f64 / 1e9);
    }
}

/// Quotes and backslashes escaped, other bytes outside printable ASCII as \xNN,
/// so that a name can never break a dump's line or field structure.
fn escape(out: &mut String, name: &[u8]) {
    for &b in name {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
}

/// A hub's counters, filled by guv_stats(). Fields are only ever added at
/// the end, so a program compiled against an older header keeps working.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
#[allow(non_camel_case_types)]
pub struct guv_stats {
    /// Green threads alive now (main not counted).
    pub green_threads: u64,
    /// Green threads started since the hub was made.
    pub spawned: u64,
    /// Times the hub handed its thread to a green thread or to main.
    pub switches: u64,
    /// Waits for fd readiness begun (guv_trampoline*, the I/O calls' waits).
    pub fd_waits: u64,
    /// Sleeps begun (guv_sleep with a positive time).
    pub sleeps: u64,
    /// Timers pending now (sleeps, deadlines and timeouts armed).
    pub timers: u64,
    /// Calls handed to offload threads since the hub was made.
    pub offloads: u64,
    /// Requests received from other threads (guv_hub_spawn, _kill, _unpark, _interrupt).
    pub remote: u64,
    /// Turns of the hub's loop (looks at its inbox, epoll and timers).
    pub turns: u64,
    /// Nanoseconds the hub spent asleep in epoll_wait.
    pub idle_ns: u64,
    /// Registrations of fds waited on re-checked for a close behind guv's
    /// back (one epoll_ctl each: at 1, 2, 4 … 64 s of a wait, then each minute).
    pub fd_checks: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_truncated_to_63_bytes_and_cleared_behind() {
        let mut cell = [0u8; NAME_LEN];
        set_name(&mut cell, &[b'a'; 100]);
        assert_eq!(name_bytes(&cell), &[b'a'; 63][..]);
        set_name(&mut cell, b"short");
        assert_eq!(name_bytes(&cell), b"short");
        assert!(cell[5..].iter().all(|&b| b == 0));
    }

    #[test]
    fn dump_lines_spell_each_state() {
        let now = 10_000_000_000;
        let lines = [
            Line { id: 0, name: b"", state: State::Run, since: now - 1_500_000_000, stack: 0 },
            Line {
                id: 7,
                name: b"a \"q\"\n",
                state: State::Sleeping { until: now + 250_000_000 },
                since: now,
                stack: 4096,
            },
            Line {
                id: 8,
                name: b"r",
                state: State::Fd { fd: 5, read: false, write: true, until: NEVER },
                since: now,
                stack: 4096,
            },
            Line {
                id: 9,
                name: b"",
                state: State::Joining { target: 7, until: now - 1_000_000 },
                since: now,
                stack: 1,
            },
        ];
        let mut out = String::new();
        dump(&mut out, 3, 42, 3, &lines, now);
        let expect = "hub=3 thread=42 green_threads=3 running=0 ready=0 sleeping=1 fd=1 joining=1 parked=0 offload=0 run=1\n\
            \x20 id=0 name=\"\" state=run for=1.500 stack=0\n\
            \x20 id=7 name=\"a \\\"q\\\"\\x0a\" state=sleeping until=+0.250 for=0.000 stack=4096\n\
            \x20 id=8 name=\"r\" state=fd fd=5 events=write until=never for=0.000 stack=4096\n\
            \x20 id=9 name=\"\" state=joining target=7 until=-0.001 for=0.000 stack=1\n";
        assert_eq!(out, expect);
    }
}
