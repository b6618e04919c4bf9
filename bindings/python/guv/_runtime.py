"""The loaded core, and what every other module builds on: parking a green
thread until another wakes it, and handing SystemExit/KeyboardInterrupt
raised in a green thread to the main program."""
import os
import signal
import threading

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

# Exceptions that end the program, raised in green threads, for main to raise.
_pending = []
# Latches main is parked on, so a handed-over exception wakes it at once.
_main_latches = []


def hand_to_main(exc):
    """Make `exc` raise in main at its current or next blocking call."""
    _pending.append(exc)
    for token in _main_latches:
        _core.kill(token)


_core.load(find_libguv(), _killed, _Expired, hand_to_main)


def raise_pending():
    """In main, raise an exception a green thread handed over, if any."""
    if _pending and _core.current() == 0:
        raise _pending.pop(0)


# Ctrl-C while main is parked: CPython's C handler only notes the signal
# and writes to its wakeup fd, and no Python runs while the hub idles. A
# watcher green thread (guv._core, in C) waits on that fd while main is
# parked; it runs the handler, and hands what it raises to main.
_wakeup_fd = None


def _signal_wakeup_fd():
    """Read end of the signal wakeup fd we own; -1 when another owns it."""
    global _wakeup_fd
    if _wakeup_fd is None:
        _wakeup_fd = -1
        if threading.current_thread() is threading.main_thread():
            r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            previous = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
            if previous == -1:
                _wakeup_fd = r
            else:
                signal.set_wakeup_fd(previous)
                os.close(r), os.close(w)
    return _wakeup_fd


def _start_signal_watch():
    fd = _signal_wakeup_fd()
    return _core.watch_signals(fd) if fd >= 0 else None


def park(waiters, timeout=None):
    """Suspend the caller until unpark_one/unpark_all(waiters) wakes it.

    Returns True when woken, False when `timeout` seconds passed first.
    """
    token = _core.latch()
    waiters.append(token)
    in_main = _core.current() == 0
    if in_main:
        _main_latches.append(token)
        watcher = _start_signal_watch()
    try:
        woken = _core.park(token, -1.0 if timeout is None else float(timeout))
    except _Expired:
        from .timeout import raise_expired

        raise_expired()
    finally:
        if in_main:
            _main_latches.remove(token)
            if watcher is not None:
                _core.kill(watcher)
        if token in waiters:
            waiters.remove(token)
    if in_main:
        raise_pending()
    return woken


def unpark_one(waiters):
    """Wake the longest-parked waiter; False if there was none."""
    if not waiters:
        return False
    _core.kill(waiters.pop(0))
    return True


def unpark_all(waiters):
    while waiters:
        _core.kill(waiters.pop())
