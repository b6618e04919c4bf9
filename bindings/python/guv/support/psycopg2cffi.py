"""psycopg2cffi made cooperative as psycopg2 is (guv.support.psycopg2): its
wait callback polls the connection and waits for the socket with
guv.trampoline, so each query suspends only its own green thread; a Timeout
or a kill ends the wait and cancels the query on the server. Switched on by
guv.monkey_patch() when psycopg2cffi is installed (psycopg2cffi=False
leaves it off), or by enable(); importing guv touches nothing.

With a wait callback set, psycopg2cffi's COPY spins for ever (psycopg2's
refuses it); while enabled, copy_expert, copy_from and copy_to raise
NotSupportedError instead. guv's cooperative COPY is psycopg2's alone.
"""
import psycopg2cffi
from psycopg2cffi import extensions
from psycopg2cffi._impl.cursor import Cursor

from .._runtime import READ, WRITE
from ..greenthread import trampoline

_WAITS = {extensions.POLL_READ: READ, extensions.POLL_WRITE: WRITE}


def wait_callback(conn):
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


def enable():
    extensions.set_wait_callback(wait_callback)
    for name in _COPY:
        _saved.setdefault(name, getattr(Cursor, name))
        setattr(Cursor, name, _refuse_copy)


def disable():
    extensions.set_wait_callback(None)
    for name, method in _saved.items():
        setattr(Cursor, name, method)
    _saved.clear()


def enabled():
    return extensions.get_wait_callback() is wait_callback
