"""psycopg2 made cooperative: its wait callback polls the connection and
waits for the socket with guv.trampoline, so each query suspends only its
own green thread. A Timeout or a kill ends the wait and cancels the query
on the server.

psycopg2 refuses COPY and large objects while a wait callback is set, so
enable() also makes psycopg2.connect return connections whose cursors'
copy_expert/copy_from/copy_to and whose lobject() are guv's own,
cooperative too (guv.support.pq_copy, guv.support.pg_largeobject). The
connection and cursor classes are the ones asked for (connection_factory,
cursor_factory), subclassed. Connections made before enable() keep
psycopg2's methods."""
import functools

import psycopg2
from psycopg2 import extensions, sql

from .._runtime import READ, WRITE
from ..greenthread import trampoline


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


class CopyCursor:
    """Mixed into the cursor class: COPY through guv.support.pq_copy."""

    __slots__ = ()

    def _copy(self, statement, file, size):
        from . import pq_copy

        if self.closed:
            raise psycopg2.InterfaceError("cursor already closed")
        if self.name is not None:
            raise psycopg2.ProgrammingError("copy cannot be used with a named cursor")
        if isinstance(statement, sql.Composable):
            statement = statement.as_string(self)
        return pq_copy.copy(self, statement, file, size)

    def copy_expert(self, sql, file, size=8192):
        self._copy(sql, file, size)

    def copy_from(self, file, table, sep="\t", null="\\N", size=8192, columns=None):
        self._copy(f"COPY {self._target(table, columns)} FROM stdin WITH DELIMITER AS {self._literal(sep)} "
                   f"NULL AS {self._literal(null)}", file, size)

    def copy_to(self, file, table, sep="\t", null="\\N", columns=None):
        self._copy(f"COPY {self._target(table, columns)} TO stdout WITH DELIMITER AS {self._literal(sep)} "
                   f"NULL AS {self._literal(null)}", file, 8192)

    def _target(self, table, columns):
        # psycopg2 2.9 quotes the table and column names the same way.
        target = extensions.quote_ident(table, self)
        if columns:
            target += " (" + ", ".join(extensions.quote_ident(c, self) for c in columns) + ")"
        return target

    def _literal(self, value):
        return sql.Literal(value).as_string(self)


class GreenConnection:
    """Mixed into the connection class: cursors get CopyCursor, lobject() is guv's."""

    __slots__ = ()

    def cursor(self, *args, **kwargs):
        cur = super().cursor(*args, **kwargs)
        cls = type(cur)
        if isinstance(cur, CopyCursor):
            return cur
        green = _green_class(cls, CopyCursor)
        if cls.__flags__ & _HEAPTYPE:
            # A Python cursor class (psycopg2.extras'): the same object, given the subclass.
            cur.__class__ = green
            return cur
        # psycopg2's own cursor type cannot change class: make the cursor again as the subclass.
        cur.close()
        if len(args) >= 2:
            args = (args[0], green) + args[2:]
        else:
            kwargs["cursor_factory"] = green
        return super().cursor(*args, **kwargs)

    def lobject(self, oid=0, mode="", new_oid=0, new_file=None, lobject_factory=None):
        from .pg_largeobject import LargeObject

        if lobject_factory not in (None, extensions.lobject):
            raise psycopg2.NotSupportedError("guv: lobject_factory is not supported with guv's support on")
        return LargeObject(self, oid, mode, new_oid, new_file)


_HEAPTYPE = 1 << 9


@functools.cache
def _green_class(cls, mixin):
    """`cls` with `mixin` in front; no __dict__ added, so an object can change to it."""
    if issubclass(cls, mixin):
        return cls
    return type(cls.__name__, (mixin, cls), {"__slots__": (), "__module__": cls.__module__,
                                              "__qualname__": cls.__qualname__})


_connect = None


def _green_connect(dsn=None, connection_factory=None, cursor_factory=None, **kwargs):
    factory = _green_class(connection_factory or extensions.connection, GreenConnection)
    return _connect(dsn, connection_factory=factory, cursor_factory=cursor_factory, **kwargs)


def enable():
    global _connect
    extensions.set_wait_callback(wait_callback)
    if _connect is None:
        _connect, psycopg2.connect = psycopg2.connect, _green_connect


def disable():
    global _connect
    extensions.set_wait_callback(None)
    if _connect is not None:
        psycopg2.connect, _connect = _connect, None


def enabled():
    return extensions.get_wait_callback() is wait_callback
