"""Threads as green threads: _thread.start_new_thread spawns a guv green
thread on the calling OS thread, locks park the caller instead of blocking
the OS thread, and get_ident names the running green thread (main keeps its
OS thread's ident, so threading.main_thread() stays main). threading,
queue and concurrent.futures build on these, so Thread, Condition, Event,
Semaphore, Queue and ThreadPoolExecutor become green with them.

CPython 3.11 and 3.12 (join waits on the thread's sentinel lock) and 3.13
(join waits on its _ThreadHandle): both are given green stand-ins."""
import os as _os
import sys
import threading as _threading_mod

from .. import _core
from .._runtime import GreenletExit, park, unpark_all, unpark_one

_orig_get_ident = _threading_mod.get_ident
TIMEOUT_MAX = _threading_mod.TIMEOUT_MAX
# Green thread id -> the lock threading's join() waits on, released at its end.
_sentinels = {}


def get_ident():
    return _core.current() or _orig_get_ident()


class Lock:
    """_thread.LockType for green threads of one OS thread: a blocked
    acquire parks the caller; release wakes the longest waiter."""

    __slots__ = ("_locked", "_waiters", "__weakref__")

    if sys.version_info < (3, 13):
        # Before 3.13 only allocate_lock makes one (threading.Lock is that function).
        def __new__(cls, *args, **kwargs):
            raise TypeError(f"cannot create '{cls.__module__}.{cls.__qualname__}' instances")

    def __init_subclass__(cls, **kwargs):
        raise TypeError(f"type '{__name__}.Lock' is not an acceptable base type")

    def __init__(self):
        self._locked = False
        self._waiters = []

    def acquire(self, blocking=True, timeout=-1):
        # The arguments are checked before the lock is looked at, as CPython's are.
        if timeout != -1:
            if not blocking:
                raise ValueError("can't specify a timeout for a non-blocking call")
            if timeout is not None and timeout < 0:
                raise ValueError("timeout value must be a non-negative number")
            if timeout is not None and timeout > TIMEOUT_MAX:
                raise OverflowError("timeout value is too large")
        if not self._locked:
            self._locked = True
            return True
        if not blocking:
            return False
        deadline = None if timeout is None or timeout == -1 else _core.now() + timeout
        try:
            while self._locked:
                remaining = None if deadline is None else deadline - _core.now()
                if remaining is not None and remaining <= 0:
                    return False
                park(self._waiters, remaining)
        except BaseException:
            # Woken and then killed: pass the wake-up on rather than lose it.
            if not self._locked:
                unpark_one(self._waiters)
            raise
        self._locked = True
        return True

    acquire_lock = acquire

    def release(self):
        if not self._locked:
            raise RuntimeError("release unlocked lock")
        self._locked = False
        unpark_one(self._waiters)

    release_lock = release

    def locked(self):
        return self._locked

    locked_lock = locked

    def _at_fork_reinit(self):
        self._locked = False
        self._waiters = []

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

    def __repr__(self):
        return f"<{'locked' if self._locked else 'unlocked'} guv.green.thread.Lock object at {id(self):#x}>"


if sys.version_info < (3, 13):
    def _allocate_lock():
        lock = object.__new__(Lock)
        lock.__init__()
        return lock

    # A staticmethod, like the C function it stands for, does not bind when
    # kept as a class attribute (lock_tests' `locktype = thread.allocate_lock`).
    allocate_lock = staticmethod(_allocate_lock)
else:
    allocate_lock = Lock


def _set_sentinel():
    """The lock threading acquires and join() waits on: released when the
    green thread ends (its thread state is kept for reuse, never deleted)."""
    lock = allocate_lock()
    _sentinels[_core.current()] = lock
    return lock


# Ids of the threads started through _thread and running, for _thread._count().
_running = set()


def _count():
    return len(_running)


def _spawn(function, args, kwargs, finish):
    def run():
        me = _core.current()
        _running.add(me)
        try:
            function(*args, **kwargs)
        except (SystemExit, GreenletExit):
            pass
        except BaseException as e:
            if sys.version_info >= (3, 13):
                _unraisable(e, f"Exception ignored in thread started by {function!r}", None)
            else:
                _unraisable(e, "Exception ignored in thread started by", function)
        finally:
            _running.discard(me)
            finish()

    return _core.spawn(run)


_UnraisableHookArgs = None


def _unraisable(exc, err_msg, obj):
    """sys.unraisablehook(exc...), as CPython reports an exception that ends a
    _thread thread. Its argument type is not exposed: it is taken, once, from
    an unraisable exception made for the purpose."""
    global _UnraisableHookArgs
    if _UnraisableHookArgs is None:
        class _Raises:
            def __del__(self):
                raise RuntimeError

        seen, hook = [], sys.unraisablehook
        sys.unraisablehook = seen.append
        try:
            _Raises()
        finally:
            sys.unraisablehook = hook
        _UnraisableHookArgs = type(seen[0])
    sys.unraisablehook(_UnraisableHookArgs((type(exc), exc, exc.__traceback__, err_msg, obj)))


def _release_sentinel():
    lock = _sentinels.pop(_core.current(), None)
    if lock is not None and lock.locked():
        lock.release()


def start_new_thread(function, args, kwargs=None):
    """Run function(*args, **kwargs) as a green thread; returns its ident."""
    if not isinstance(args, tuple):
        raise TypeError("2nd arg must be a tuple")
    return _spawn(function, args, kwargs or {}, _release_sentinel)


class ThreadHandle:
    """threading's _ThreadHandle (3.13) for a green thread: join() parks."""

    def __init__(self, ident=None):
        self.ident = ident
        # Made for a running thread (_make_thread_handle), or started once by start_joinable_thread.
        self._started = ident is not None
        self._done = False
        self._waiters = []

    def is_done(self):
        return self._done

    def _set_done(self):
        if not self._started:
            raise RuntimeError("thread not started")
        self._done = True
        unpark_all(self._waiters)

    def join(self, timeout=None):
        if not self._started:
            raise RuntimeError("thread not started")
        if self.ident is not None and self.ident == get_ident() and not self._done:
            raise RuntimeError("Cannot join current thread")
        deadline = None if timeout is None or timeout < 0 else _core.now() + timeout
        while not self._done:
            remaining = None if deadline is None else deadline - _core.now()
            if remaining is not None and remaining <= 0:
                return
            park(self._waiters, remaining)


# Handles of running non-daemon threads, which the interpreter's exit waits for.
_non_daemon = set()


def start_joinable_thread(function, handle=None, daemon=True):
    handle = handle if handle is not None else ThreadHandle()
    if handle._started:
        raise RuntimeError("thread already started")
    handle._started = True

    def finish():
        _non_daemon.discard(handle)
        handle._set_done()

    handle.ident = _spawn(function, (), {}, finish)
    if not daemon:
        _non_daemon.add(handle)
    return handle


def _thread_shutdown():
    while _non_daemon:
        next(iter(_non_daemon)).join()


def _after_fork_in_child():
    """Of the green threads of before, only the one that forked goes on in
    the child (as only the calling OS thread does after fork(2)): the others'
    handles are done, as CPython's _PyThread_AfterFork marks its own, and
    the interpreter's exit does not wait for them."""
    me = _core.current()
    for handle in [h for h in _non_daemon if h.ident != me]:
        _non_daemon.discard(handle)
        handle._done = True
    _running.intersection_update((me,))
    for ident in [i for i in _sentinels if i != me]:
        del _sentinels[ident]


_os.register_at_fork(after_in_child=_after_fork_in_child)


def _make_thread_handle(ident, _original=getattr(_threading_mod, "_make_thread_handle", None)):
    return ThreadHandle(ident) if _core.current() else _original(ident)


def _green_dummy_class(threading):
    class _GreenDummyThread(threading._DummyThread):
        """The Thread object of a green thread started by guv.spawn: dropped
        from threading._active when its thread state is cleared at its end."""

        def __init__(self):
            super().__init__()
            _dummy_tokens.token = _Forget(threading, self._ident)

    return _GreenDummyThread


class _Forget:
    __slots__ = ("threading", "ident")

    def __init__(self, threading, ident):
        self.threading, self.ident = threading, ident

    def __del__(self):
        self.threading._active.pop(self.ident, None)


_dummy_tokens = _threading_mod.local()


def patch_thread(module):
    module.start_new_thread = module.start_new = start_new_thread
    if hasattr(module, "start_joinable_thread"):
        module.start_joinable_thread = start_joinable_thread
        module._ThreadHandle = ThreadHandle
    module.allocate_lock = module.allocate = allocate_lock
    module.LockType = Lock
    module.get_ident = get_ident
    module._set_sentinel = _set_sentinel
    module.RLock = _threading_mod._PyRLock
    module._count = _count


def patch_threading(module):
    module._allocate_lock = module.Lock = allocate_lock
    module.get_ident = get_ident
    module._CRLock = None
    if hasattr(module, "_start_joinable_thread"):  # 3.13
        module._start_joinable_thread = start_joinable_thread
        module._ThreadHandle = ThreadHandle
        module._thread_shutdown = _thread_shutdown
        module._make_thread_handle = _make_thread_handle
    else:
        module._start_new_thread = start_new_thread
        module._set_sentinel = _set_sentinel
        module._DummyThread = _green_dummy_class(module)


# The patched queue module's pure-Python SimpleQueue, for _queue's.
_py_simple_queue = None


def patch_queue(module):
    global _py_simple_queue
    module.SimpleQueue = _py_simple_queue = module._PySimpleQueue


def patch_c_queue(module):
    """_queue.SimpleQueue, which code may take from _queue itself: the
    patched queue's pure-Python one, over green locks. Not imported here:
    a fresh _queue is imported while queue may be half-made. A fresh _queue
    (import_fresh_module) has an Empty class of its own, which its
    SimpleQueue must raise."""
    py_empty = _py_simple_queue.get.__globals__["Empty"]
    if module.Empty is py_empty:
        module.SimpleQueue = _py_simple_queue
        return

    class SimpleQueue(_py_simple_queue):
        __doc__ = _py_simple_queue.__doc__

        def get(self, block=True, timeout=None):
            try:
                return super().get(block, timeout)
            except py_empty:
                raise module.Empty from None

        def get_nowait(self):
            return self.get(False)

    SimpleQueue.__module__ = module.__name__
    module.SimpleQueue = SimpleQueue
