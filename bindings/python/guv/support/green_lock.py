"""Green locks by key, for drivers whose C code holds a lock of its own
across a wait: a green thread waits here, cooperatively, before calling
into code that would take that lock, instead of blocking its OS thread
(and every green thread on it) on a lock that a green thread of the same
OS thread holds.

A lock is reentrant (the wait callback takes it again inside a method that
took it) and fair: a release hands it to the longest waiter, so a green
thread that runs statement after statement on a connection cannot keep
the others out. A lock exists only while it is held."""
import functools

from .. import _core
from .._runtime import _os_thread, park, unpark_one
from ..greenthread import gyield


def _me():
    # Green thread ids are per OS thread (main is 0 on each).
    return _os_thread(), _core.current()


class _Lock:
    __slots__ = ("owner", "depth", "queue")

    def __init__(self, owner):
        self.owner, self.depth, self.queue = owner, 0, []


class _Waiter:
    __slots__ = ("me", "tokens")

    def __init__(self, me):
        self.me, self.tokens = me, []


class GreenLocks:
    def __init__(self):
        self._locks = {}
        # taken(key): whether some green thread holds the lock for `key`; a
        # bound dict method, as cheap a check as a call can be.
        self.taken = self._locks.__contains__

    def acquire(self, key):
        me = _me()
        lock = self._locks.get(key)
        if lock is None:
            self._locks[key] = lock = _Lock(me)
        elif lock.owner != me:
            waiter = _Waiter(me)
            lock.queue.append(waiter)
            try:
                while lock.owner != me:
                    park(waiter.tokens)
            except BaseException:
                if lock.owner == me:  # handed over just as the wait was interrupted: pass it on
                    lock.depth += 1
                    self.release(key)
                else:
                    lock.queue.remove(waiter)
                raise
        lock.depth += 1

    def release(self, key):
        lock = self._locks[key]
        lock.depth -= 1
        if lock.depth:
            return
        if lock.queue:
            waiter = lock.queue.pop(0)
            lock.owner = waiter.me
            unpark_one(waiter.tokens)
        else:
            del self._locks[key]

    def held(self, key):
        """`with locks.held(key):` holds the lock for `key` in the block."""
        return _Held(self, key)



class _Held:
    __slots__ = ("locks", "key")

    def __init__(self, locks, key):
        self.locks, self.key = locks, key

    def __enter__(self):
        self.locks.acquire(self.key)

    def __exit__(self, *exc):
        self.locks.release(self.key)


def yielding_unless_waited(method, waits):
    """`method`, letting the other green threads run after it returns when
    it did not wait (`waits()`, the count of the driver's waits, stayed
    put): a commit with nothing to commit, made in a loop, would keep them
    out for ever. One that waited let them run already, and a Timeout
    raised after it would tell of a failure where the commit was done."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        before = waits()
        result = method(self, *args, **kwargs)
        if waits() == before:
            gyield()
        return result

    return call
