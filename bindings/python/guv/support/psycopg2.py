"""psycopg2 made cooperative: its wait callback polls the connection and
waits for the socket with guv.trampoline, so each query suspends only its
own green thread. A Timeout or a kill ends the wait and cancels the query
on the server."""
import psycopg2
from psycopg2 import extensions

from ..greenthread import trampoline
from .._runtime import READ, WRITE


def wait_callback(conn, timeout=None):
    while True:
        state = conn.poll()
        if state == extensions.POLL_OK:
            return
        try:
            if state == extensions.POLL_READ:
                trampoline(conn.fileno(), READ)
            elif state == extensions.POLL_WRITE:
                trampoline(conn.fileno(), WRITE)
            else:
                raise psycopg2.OperationalError(f"guv: bad state from conn.poll(): {state}")
        except BaseException:
            _cancel(conn)
            raise


def _cancel(conn):
    """Ask the server to stop the running statement, so a Timeout or kill
    does not leave it running; best effort, the original error is raised."""
    try:
        conn.cancel()
    except psycopg2.Error:
        pass  # not connected yet, or already closed: nothing runs there


def enable():
    extensions.set_wait_callback(wait_callback)


def disable():
    extensions.set_wait_callback(None)
