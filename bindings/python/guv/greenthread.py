"""Green threads: spawn, wait, kill, sleep, trampoline.

Each green thread runs on its own guv stack with its own PyThreadState, so
exceptions, frames, generators, contextvars and threading.local are its
own. Main is a green thread too: its blocking calls run the hub.
"""
import os
import sys
import traceback
from _thread import _local as _thread_local

from . import _core
from ._runtime import READ, WRITE, GreenletExit, _Expired, hand_to_main, park, raise_pending, throws
from .timeout import Timeout, raise_expired

_PROGRAM_EXIT = (SystemExit, KeyboardInterrupt)

# Live green threads by id, for getcurrent().
_by_id = {}


def _never_started(fn, arg):
    """A green thread's OS thread exited before its hub ran it: it never
    will. A GreenThread of it is dead, and leaves the registry."""
    if fn is GreenThread._run:
        arg._fn = arg._args = arg._kw = None
        arg._dead = True
        _by_id.pop(arg.id, None)
        throws.pop(arg.id, None)


def _after_fork_in_child():
    """Only the green thread that forked goes on in the child: the others
    are dead there (without their links, which would run in the child)."""
    me = _core.current()
    for gt in [gt for i, gt in _by_id.items() if i != me]:
        del _by_id[gt.id]
        gt._dead = True
        gt._links = None


os.register_at_fork(after_in_child=_after_fork_in_child)
_core.set_never_started(_never_started)


class GreenThread:
    """A spawned function: wait() for its result, kill() it, link() to its end."""

    __slots__ = ("id", "_fn", "_args", "_kw", "_delay", "_dead", "_killed", "_result", "_exc",
                 "_links", "__weakref__")

    def __init__(self, fn, args, kw, delay=None):
        # No empty dict kept, nor one passed on (**{} makes another), and no
        # bound method for _core.spawn: 192 bytes of a parked green thread's
        # ~1.1 KiB of heap.
        self._fn, self._args, self._kw, self._delay = fn, args, kw or None, delay
        self._dead = self._killed = False
        self._result = self._exc = None
        self._links = None
        self.id = _core.spawn(GreenThread._run, self)
        _by_id[self.id] = self

    def _run(self):
        try:
            if self._killed:
                raise throws.get(self.id, GreenletExit)
            if self._delay is not None:
                sleep(self._delay)
                self._delay = None  # started: cancel() no longer applies
            self._result = self._fn(*self._args, **self._kw) if self._kw else self._fn(*self._args)
        except BaseException as e:
            self._exc = e
            if isinstance(e, _PROGRAM_EXIT):
                hand_to_main(e)
        finally:
            self._fn = self._args = self._kw = None
            self._dead = True
            del _by_id[self.id]
            throws.pop(self.id, None)
            if self._links:
                self._fire_links()

    def _fire_links(self):
        links, self._links = self._links, None
        for fn, args, kw in links:
            try:
                fn(self, *args, **kw)
            except Exception:
                traceback.print_exc()

    @property
    def dead(self):
        return self._dead

    def __bool__(self):
        return not self._dead

    def wait(self):
        """The function's return value, or its exception raised again."""
        if not self._dead:
            try:
                _core.join(self.id)
            except _Expired:
                raise_expired()
        if self._exc is not None:
            raise self._exc
        return self._result

    def kill(self, *throw_args, block=True):
        """Raise GreenletExit (or the exception given) in it at its current
        and every later blocking call (it never starts if it has not yet), and
        by default wait until it ends."""
        kill(self, *throw_args, block=block)

    def cancel(self):
        """Kill it only if it has not started its function yet (spawn_after)."""
        if self._delay is not None:
            kill(self, block=False)

    def link(self, fn, *args, **kw):
        """Call fn(gt, *args, **kw) when it ends (at once if it has)."""
        if self._dead:
            fn(self, *args, **kw)
            return
        if self._links is None:
            self._links = []
        self._links.append((fn, args, kw))

    def unlink(self, fn, *args, **kw):
        if self._links:
            try:
                self._links.remove((fn, args, kw))
            except ValueError:
                pass

    def __repr__(self):
        return f"<GreenThread {self.id}{' dead' if self._dead else ''}>"


class _Main:
    """What getcurrent() returns in main (green thread 0)."""

    id = 0
    dead = False

    def __repr__(self):
        return "<GreenThread main>"


_main = _Main()


def spawn(fn, *args, **kw):
    """Start fn(*args, **kw) as a green thread at the hub's next turn."""
    return GreenThread(fn, args, kw)


def spawn_after(seconds, fn, *args, **kw):
    """As spawn(), starting fn after `seconds`; gt.cancel() before then prevents it."""
    return GreenThread(fn, args, kw, delay=seconds)


def _run_n(fn, args, kw):
    try:
        fn(*args, **kw)
    except GreenletExit:
        pass
    except _PROGRAM_EXIT as e:
        hand_to_main(e)
    except BaseException:
        # Nobody can wait for it: report it, as an unhandled thread error would be.
        print(f"guv: exception in green thread {fn!r}:", file=sys.stderr)
        traceback.print_exc()


def spawn_n(fn, *args, **kw):
    """Start fn(*args, **kw) with no GreenThread to wait on (cheaper); its
    exceptions are printed."""
    _core.spawn(lambda: _run_n(fn, args, kw))


def kill(gt, *throw_args, block=True):
    """As gt.kill(*throw_args): throw_args is an exception class or
    instance, or a class and its argument, as in eventlet."""
    if gt.dead:
        return
    if throw_args:
        exc = throw_args[0](*throw_args[1:2]) if len(throw_args) > 1 else throw_args[0]
        throws[gt.id] = exc
    gt._killed = True
    _core.kill(gt.id)
    if block and gt.id != _core.current():
        try:
            gt.wait()
        except BaseException as e:
            if e is not gt._exc:
                raise  # the killer's own kill or Timeout, not the target's end


def getcurrent():
    """The running GreenThread: main's stand-in in main, a _Running for a
    green thread with no GreenThread (spawn_n, a patched threading's
    threads, one started from C)."""
    id = _core.current()
    if id == 0:
        return _main
    gt = _by_id.get(id)
    if gt is None:
        gt = getattr(_this_thread, "running", None)
        if gt is None or gt.id != id:
            gt = _this_thread.running = _Running(id)
    return gt


class _Running:
    """A green thread started without a GreenThread: it can be killed and
    waited for, and has no result."""

    __slots__ = ("id", "_killed", "__weakref__")
    _exc = None

    def __init__(self, id):
        self.id, self._killed = id, False

    @property
    def dead(self):
        return False  # only the green thread itself holds one, while it runs

    def wait(self):
        try:
            _core.join(self.id)
        except _Expired:
            raise_expired()

    def kill(self, *throw_args, block=True):
        kill(self, *throw_args, block=block)

    def __repr__(self):
        return f"<GreenThread {self.id}>"


# Per green thread (each has its own thread state, cleared at its end): its _Running.
_this_thread = _thread_local()


def sleep(seconds=0):
    """Suspend the caller for `seconds` while other green threads run; 0 yields."""
    try:
        _core.sleep(seconds)
    except _Expired:
        raise_expired()
    raise_pending()


def gyield(switch_back=True):
    """Let every other ready green thread run once. gyield(False), as in the
    original guv, suspends the caller for good: only a kill (or a Timeout)
    ends it. In main it runs the hub until no green thread is left, as the
    original's did: its hub returned to main when its loop ran dry."""
    try:
        if switch_back:
            _core.gyield()
        elif _core.current() == 0:
            _core.run()
        else:
            park([])
    except _Expired:
        raise_expired()
    raise_pending()


def trampoline(fd, evtype, timeout=None, timeout_exc=Timeout):
    """Suspend the caller until `fd` (an int or an object with fileno()) is
    ready for `evtype` (READ, WRITE or READ|WRITE); returns the ready mask.
    Raises timeout_exc after `timeout` seconds."""
    if not isinstance(fd, int):
        fd = fd.fileno()
    try:
        return _core.trampoline(fd, evtype, -1.0 if timeout is None else float(timeout))
    except _Expired:
        raise_expired(timeout_exc)


def run():
    """Run the hub until every green thread has ended. Raises OSError
    (EDEADLK) when those left all wait for what none of them will do."""
    if _core.current() != 0:
        raise RuntimeError("guv.run() is for main, not a green thread")
    _core.run()
    raise_pending()


__all__ = ["GreenThread", "spawn", "spawn_n", "spawn_after", "kill", "getcurrent", "sleep", "gyield",
           "trampoline", "run", "READ", "WRITE"]
