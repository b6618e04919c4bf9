"""The loaded core, and what every other module builds on: parking a green
thread (or main) until another wakes it, and handing SystemExit and
KeyboardInterrupt raised in a green thread to the main program."""
import os
import signal
import sys
import threading
from _thread import get_ident as _os_thread


from . import _core
from ._lib import find_libguv


class GreenletExit(BaseException):
    """Raised inside a green thread by its blocking calls once it is killed."""


class _Expired(BaseException):
    """A guv deadline passed; guv.timeout turns it into the right Timeout."""


# Green thread id -> the exception kill() asked to raise in it (else GreenletExit).
throws = {}


def _killed():
    """What the killed caller's blocking calls raise."""
    return throws.get(_core.current(), GreenletExit)


READ = _core.READ
WRITE = _core.WRITE
current = _core.current

# Exceptions that end the program, raised in green threads, for main to
# raise, and signal handlers for main to run: by OS thread, since each has its own hub and main. The OS thread's
# ident is _thread's own, taken before monkey_patch makes get_ident name
# green threads.
_pending = {}


def hand_to_main(exc):
    """Make `exc` raise in main at its current blocking call (interrupted
    at once), or at its next one."""
    _pending.setdefault(_os_thread(), []).append(exc)
    _core.interrupt(0)


def defer_to_main(call):
    """Make main run call() at its current blocking call (interrupted at
    once), or at its next one; what call() raises, raises in main."""
    _pending.setdefault(_os_thread(), []).append(_Call(call))
    _core.interrupt(0)


class _Call:
    __slots__ = ("call",)

    def __init__(self, call):
        self.call = call


def raise_pending():
    """In main, run the calls and raise the first exception green threads
    handed over, if any."""
    if _pending and _core.current() == 0:
        mine = _pending.get(_os_thread())
        while mine:
            item = mine.pop(0)
            if not mine:
                del _pending[_os_thread()]
            if isinstance(item, _Call):
                item.call()
            else:
                raise item


# The signal wakeup fd pair we installed: (read end, write end, our pid).
_wakeup = None


def _watch_signals():
    """Ctrl-C while main waits in the hub: CPython's C handler only notes
    the signal and writes to its wakeup fd, and no Python runs while the hub
    idles. guv._core watches a wakeup fd we own from an OS thread of its own
    and interrupts main's blocking call, which then runs the handlers.

    guv._core calls this at main's first blocking call, not at import: a
    program that imports guv and never waits in its hub keeps its process as
    it was. Left alone when the program has its own wakeup fd. A forked child
    of a process that took it gets a pipe of its own at once: sharing the
    parent's, either could drain the other's signals."""
    global _wakeup
    if _os_thread() != threading.main_thread().ident:  # current_thread() would make a _DummyThread
        return
    if _wakeup is not None and _wakeup[2] == os.getpid():
        return
    try:
        r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        print(f"guv: no signal watcher ({e.strerror}): Ctrl-C waits for the hub to wake", file=sys.stderr)
        return
    previous = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    if previous != -1 and (_wakeup is None or previous != _wakeup[1]):
        signal.set_wakeup_fd(previous)
        os.close(r), os.close(w)
        return
    if _wakeup is None:
        os.register_at_fork(after_in_child=_watch_signals)
    else:
        os.close(_wakeup[0]), os.close(_wakeup[1])
    _wakeup = (r, w, os.getpid())
    _core.watch_signals(r)


_core.load(find_libguv(), _killed, _Expired, raise_pending, _watch_signals)


def park(waiters, timeout=None):
    """Suspend the caller until unpark_one/unpark_all(waiters) wakes it.

    Returns True when woken, False when `timeout` seconds passed first. It
    can also return True without a wake-up of its own: callers loop on
    their condition.
    """
    me = _core.waiter()
    waiters.append(me)
    try:
        woken = _core.park(-1.0 if timeout is None else float(timeout))
    except _Expired:
        from .timeout import raise_expired

        raise_expired()
    finally:
        if me in waiters:
            waiters.remove(me)
    # Main woken before a green thread handed it something (the interrupt
    # then waits for main's next blocking call, which may never come).
    if _pending:
        raise_pending()
    return woken


def unpark_one(waiters):
    """Wake the longest-parked waiter; False if there was none. Waiters are
    tokens naming their OS thread's hub too: a green lock or Event released
    from another OS thread wakes them (guv_hub_unpark)."""
    if not waiters:
        return False
    _core.wake(waiters.pop(0))
    return True


def unpark_all(waiters):
    while waiters:
        _core.wake(waiters.pop())
