//! Signals guv installs on request (the dump signal, the blocking detector's
//! capture signal) and the thread ids it sends them to.

use crate::errno::{Errno, Result};

/// The signal the blocking detector sends a hub's OS thread to have it walk
/// its own stack. A real-time signal, so it never collides with one a program
/// already handles by convention; SIGRTMAX itself is left alone (valgrind
/// keeps it).
pub(crate) fn capture_signal() -> libc::c_int {
    libc::SIGRTMIN() + 6
}

/// A signal by name ("USR2", "SIGUSR2", "RTMIN+3") or number, as
/// GUV_DUMP_SIGNAL spells it. Signals the kernel or guv itself owns are refused.
pub(crate) fn parse(name: &str) -> Option<libc::c_int> {
    let s = name.trim();
    let s = s.strip_prefix("SIG").unwrap_or(s);
    let sig = match s {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "PWR" => libc::SIGPWR,
        "WINCH" => libc::SIGWINCH,
        "URG" => libc::SIGURG,
        _ => {
            if let Some(n) = s.strip_prefix("RTMIN+") {
                libc::SIGRTMIN() + n.parse::<libc::c_int>().ok()?
            } else {
                s.parse().ok()?
            }
        }
    };
    let forbidden = [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, libc::SIGBUS, capture_signal()];
    (sig > 0 && sig <= libc::SIGRTMAX() && !forbidden.contains(&sig)).then_some(sig)
}

/// Installs `handler` for `sig` (SA_RESTART, so that a read or write the
/// signal lands in is resumed rather than failed). Fails with EBUSY when the
/// program already handles `sig` with a handler of its own.
pub(crate) fn install(
    sig: libc::c_int,
    handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void),
) -> Result<()> {
    // SAFETY: sigaction with a null new action only reads the current one; the
    // new action is fully initialised before it is installed.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(sig, std::ptr::null(), &mut old) != 0 {
            return Err(Errno::last());
        }
        let mine = handler as *const () as usize;
        if old.sa_sigaction == mine {
            return Ok(());
        }
        if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN {
            return Err(Errno::EBUSY);
        }
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = mine;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
            return Err(Errno::last());
        }
    }
    Ok(())
}

/// The calling thread's kernel id (what `ps -L` and /proc/self/task show).
pub(crate) fn gettid() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// Sends `sig` to thread `tid` of this process.
pub(crate) fn tgkill(tid: i32, sig: libc::c_int) -> Result<()> {
    // SAFETY: tgkill only reads its integer arguments; a tid of another
    // process is refused by the kernel since the tgid is ours.
    let r = unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, sig) };
    if r != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// The program counter the signal interrupted.
#[cfg(target_arch = "x86_64")]
pub(crate) fn interrupted_pc(ctx: *mut libc::c_void) -> usize {
    // SAFETY: the kernel passes a valid ucontext_t to an SA_SIGINFO handler.
    unsafe { (*(ctx as *const libc::ucontext_t)).uc_mcontext.gregs[libc::REG_RIP as usize] as usize }
}

#[cfg(target_arch = "aarch64")]
pub(crate) fn interrupted_pc(ctx: *mut libc::c_void) -> usize {
    // SAFETY: as above.
    unsafe { (*(ctx as *const libc::ucontext_t)).uc_mcontext.pc as usize }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_as_guv_dump_signal_spells_them() {
        assert_eq!(parse("USR2"), Some(libc::SIGUSR2));
        assert_eq!(parse("SIGUSR2"), Some(libc::SIGUSR2));
        assert_eq!(parse(" QUIT "), Some(libc::SIGQUIT));
        assert_eq!(parse("RTMIN+3"), Some(libc::SIGRTMIN() + 3));
        assert_eq!(parse("10"), Some(10));
    }

    #[test]
    fn signals_guv_or_the_kernel_owns_are_refused() {
        for s in ["KILL", "9", "SIGSTOP", "11", "0", "-1", "99", "USR3", "", "RTMIN+6"] {
            assert_eq!(parse(s), None, "{s}");
        }
    }
}
