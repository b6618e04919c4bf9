"""psycopg 3 (its synchronous API) made cooperative, with or without its C
speedups: every wait of a connection goes through psycopg.waiting.wait and
wait_conn, which this replaces with waits on guv.trampoline (psycopg's own
wait_c would block the OS thread in poll()).

A Timeout or kill during a query cancels it on the server, as psycopg does
for Ctrl-C: the query is cancelled and its end drained (blocking, at most
a few seconds: the green thread is already told to stop), so the
connection stays usable; the exception is then raised."""
import select
import time

import psycopg
from psycopg import errors, pq, waiting

from .._runtime import READ, WRITE
from ..greenthread import trampoline

# psycopg's Wait (what the generator waits for) and Ready (what it got): R=1, W=2, RW=3.
_EVENTS = {1: READ, 2: WRITE, 3: READ | WRITE}
# How long the drain after a cancel may take before the connection is closed.
CANCEL_SECONDS = 5.0

_saved = None


def _ready(mask):
    return (1 if mask & READ else 0) | (2 if mask & WRITE else 0)


def wait(gen, fileno, interval=0.0, timeout=None):
    """psycopg.waiting.wait on guv: `gen` yields what it waits for on `fileno`."""
    try:
        s = next(gen)
        while True:
            s = gen.send(_ready(trampoline(fileno, _EVENTS[s], timeout, errors._WaitTimeout("wait timeout expired"))))
    except StopIteration as ex:
        return ex.value


def wait_conn(gen, interval=0.0, timeout=None):
    """psycopg.waiting.wait_conn on guv: `gen` yields (fd, what it waits for)."""
    try:
        fileno, s = next(gen)
        while True:
            ready = trampoline(fileno, _EVENTS[s], timeout, errors._WaitTimeout("wait timeout expired"))
            fileno, s = gen.send(_ready(ready))
    except StopIteration as ex:
        return ex.value


def _connection_wait(self, gen, *args, **kwargs):
    """Connection.wait, and on any exception psycopg itself does not handle
    (it handles KeyboardInterrupt and SystemExit): cancel the running query."""
    try:
        return _saved["Connection.wait"](self, gen, *args, **kwargs)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:
        if not self.closed and self.pgconn.transaction_status == pq.TransactionStatus.ACTIVE:
            _cancel_and_drain(self, gen)
        raise


def _cancel_and_drain(conn, gen):
    try:
        conn.cancel()
    except psycopg.Error:
        pass
    try:
        _blocking_wait(gen, conn.pgconn.socket, CANCEL_SECONDS)
    except errors.QueryCanceled:
        pass  # as asked
    except errors._WaitTimeout:
        conn.pgconn.finish()  # the server did not stop: the connection's state is unknown
    except psycopg.Error:
        pass


def _blocking_wait(gen, fileno, timeout):
    """Drives `gen` to its end with the real poll(2): inside the interrupted
    green thread every guv wait would raise again (an expired Timeout's
    block, a kill), and psycopg's saved wait may be a green one."""
    from ..patcher import original

    poll = original("select").poll()
    deadline = time.monotonic() + timeout
    try:
        s = next(gen)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise errors._WaitTimeout("wait timeout expired")
            poll.register(fileno, (select.POLLIN if s & 1 else 0) | (select.POLLOUT if s & 2 else 0))
            events = sum(ev for _, ev in poll.poll(left * 1000))
            s = gen.send((1 if events & (select.POLLIN | select.POLLERR | select.POLLHUP) else 0)
                         | (2 if events & select.POLLOUT else 0))
    except StopIteration as ex:
        return ex.value


def enable():
    global _saved
    if _saved is None:
        _saved = {"wait": waiting.wait, "wait_conn": waiting.wait_conn, "Connection.wait": psycopg.Connection.wait}
        waiting.wait, waiting.wait_conn = wait, wait_conn
        psycopg.Connection.wait = _connection_wait


def disable():
    global _saved
    if _saved is not None:
        waiting.wait, waiting.wait_conn = _saved["wait"], _saved["wait_conn"]
        psycopg.Connection.wait = _saved["Connection.wait"]
        _saved = None


def enabled():
    return _saved is not None
