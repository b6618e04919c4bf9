"""psycopg2cffi made cooperative as psycopg2 is (guv.support.psycopg2): its
wait callback polls the connection and waits for the socket with
guv.trampoline, so each query suspends only its own green thread; a Timeout
or a kill ends the wait and cancels the query on the server. Switched on by
guv.monkey_patch() when psycopg2cffi is installed (psycopg2cffi=False
leaves it off), or by enable(); importing guv touches nothing.

With a wait callback set, psycopg2cffi's COPY spins for ever (psycopg2's
refuses it); while enabled, copy_expert, copy_from and copy_to raise
NotSupportedError instead. guv's cooperative COPY is psycopg2's alone.

A connection's lock is threading's RLock, which every green thread of the
OS thread holding it re-enters: a second green thread's statement on a
connection waiting in the callback raised "a single async query can be
executed on the same connection". While enabled, connections (made before
or after) lock with a green lock instead, so green threads share one in
turn, as OS threads do; commit() and rollback() that did not wait let the
other green threads run, so that one committing in a loop does not keep
them out (as for psycopg2: guv.support.psycopg2). A named cursor's scroll,
which checks the connection is free before it takes the lock, takes it first.
"""
import functools

import psycopg2cffi
from psycopg2cffi import extensions
from psycopg2cffi._impl.connection import Connection
from psycopg2cffi._impl.cursor import Cursor

from .._runtime import READ, WRITE
from ..greenthread import trampoline
from .green_lock import GreenLocks, yielding_unless_waited

_locks = GreenLocks()

_WAITS = {extensions.POLL_READ: READ, extensions.POLL_WRITE: WRITE}


# How many waits the callback has begun (guv.support.green_lock.yielding_unless_waited).
_waits = 0


def wait_callback(conn):
    global _waits
    _waits += 1
    while (state := conn.poll()) != extensions.POLL_OK:
        if state not in _WAITS:
            raise psycopg2cffi.OperationalError(f"guv: bad state from conn.poll(): {state}")
        try:
            trampoline(conn.fileno(), _WAITS[state])
        except BaseException:
            try:
                conn.cancel()  # so a Timeout or kill does not leave the statement running
            except psycopg2cffi.Error:
                pass  # not connected yet, or already closed: nothing runs there
            raise


_COPY = ("copy_expert", "copy_from", "copy_to")
_saved = {}


def _refuse_copy(self, *args, **kwargs):
    raise psycopg2cffi.NotSupportedError(
        "guv: psycopg2cffi cannot COPY with a wait callback (it would spin); "
        "use psycopg2 with guv.support.psycopg2, or disable() around the COPY")


def _green_lock(conn):
    return _locks.held(conn)


def _keep_lock(conn, lock):
    # psycopg2cffi's own, made in __init__: it is the lock again after disable().
    conn.__dict__["_lock"] = lock


def _scroll_in_turn(scroll):
    @functools.wraps(scroll)
    def call(self, *args, **kwargs):
        if self._name is None:  # moves in memory
            return scroll(self, *args, **kwargs)
        with _locks.held(self._conn):
            return scroll(self, *args, **kwargs)

    return call


def _replacements():
    """(class, name) -> what enable() puts there."""
    new = {(Cursor, name): _refuse_copy for name in _COPY}
    new[Connection, "_lock"] = property(_green_lock, _keep_lock)
    new[Cursor, "scroll"] = _scroll_in_turn(Cursor.__dict__["scroll"])
    for name in ("commit", "rollback"):
        new[Connection, name] = yielding_unless_waited(Connection.__dict__[name], lambda: _waits)
    return new


def enable():
    extensions.set_wait_callback(wait_callback)
    if not _saved:
        for (cls, name), value in _replacements().items():
            _saved[cls, name] = cls.__dict__.get(name)
            setattr(cls, name, value)


def disable():
    extensions.set_wait_callback(None)
    for (cls, name), value in _saved.items():
        if value is None:
            delattr(cls, name)
        else:
            setattr(cls, name, value)
    _saved.clear()


def enabled():
    return extensions.get_wait_callback() is wait_callback
