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
import weakref

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


# Cursor -> (rowcount, query) of its last statement when that was a COPY: psycopg2's
# own members cannot be set from Python, so CopyCursor's properties answer for them.
_copied = weakref.WeakKeyDictionary()


class CopyCursor(extensions.cursor):
    """Put between a cursor class's own methods and psycopg2's: COPY through guv.support.pq_copy."""

    __slots__ = ()

    def _copy(self, statement, file, size):
        from . import pq_copy

        if self.closed:
            raise psycopg2.InterfaceError("cursor already closed")
        if self.name is not None:
            raise psycopg2.ProgrammingError("copy cannot be used with a named cursor")
        if isinstance(statement, sql.Composable):
            statement = statement.as_string(self)
        query = statement.encode(pq_copy.codec(self.connection)) if isinstance(statement, str) else statement
        _copied[self] = (-1, query)
        _copied[self] = (pq_copy.copy(self, statement, file, size), query)

    def copy_expert(self, sql, file, size=8192):
        if not (hasattr(file, "read") or hasattr(file, "write")):
            raise TypeError("file must be a readable file-like object for COPY FROM; "
                            "a writable file-like object for COPY TO.")
        self._copy(sql, file, size)

    def copy_from(self, file, table, sep="\t", null="\\N", size=8192, columns=None):
        if not hasattr(file, "read"):
            raise TypeError("argument 1 must have a .read() method")
        self._copy(f"COPY {self._target(table, columns)} FROM stdin WITH DELIMITER AS {self._literal(sep)} "
                   f"NULL AS {self._literal(null)}", file, size)

    def copy_to(self, file, table, sep="\t", null="\\N", columns=None):
        if not hasattr(file, "write"):
            raise TypeError("argument 1 must have a .write() method")
        self._copy(f"COPY {self._target(table, columns)} TO stdout WITH DELIMITER AS {self._literal(sep)} "
                   f"NULL AS {self._literal(null)}", file, 8192)

    @property
    def rowcount(self):
        copied = _copied.get(self)
        return super().rowcount if copied is None else copied[0]

    @property
    def query(self):
        copied = _copied.get(self)
        return super().query if copied is None else copied[1]

    def execute(self, query, vars=None):
        _copied.pop(self, None)
        return super().execute(query, vars)

    def executemany(self, query, vars_list):
        _copied.pop(self, None)
        return super().executemany(query, vars_list)

    def callproc(self, procname, parameters=None):
        _copied.pop(self, None)
        return super().callproc(procname, parameters)

    def _target(self, table, columns):
        # psycopg2 2.9 quotes the table and column names the same way.
        target = extensions.quote_ident(table, self)
        if columns:
            target += " (" + ", ".join(extensions.quote_ident(c, self) for c in columns) + ")"
        return target

    def _literal(self, value):
        return sql.Literal(value).as_string(self)


class GreenConnection(extensions.connection):
    """Put between a connection class's own methods and psycopg2's (so that
    psycopg2.extras' DictConnection still picks its cursor class first):
    cursors get CopyCursor, lobject() is guv's."""

    __slots__ = ()

    def cursor(self, name=None, cursor_factory=None, withhold=False, scrollable=None):
        # The class is chosen before the cursor is made: making one and closing
        # it would close a server-side cursor of that name (a "stolen" one).
        factory = cursor_factory or self.cursor_factory or extensions.cursor
        green = not self.async_  # an asynchronous connection keeps psycopg2's rules (no COPY)
        if green and isinstance(factory, type) and issubclass(factory, extensions.cursor):
            factory = _green_class(factory, CopyCursor)
        cur = super().cursor(name, cursor_factory=factory, withhold=withhold, scrollable=scrollable)
        if green and not isinstance(cur, CopyCursor) and type(cur).__flags__ & _HEAPTYPE:
            # A factory function that made a Python cursor class (psycopg2.extras'): given the subclass.
            cur.__class__ = _green_class(type(cur), CopyCursor)
        return cur

    # psycopg2's "mark": a large object is valid only in the transaction that opened it.
    def commit(self):
        try:
            super().commit()
        finally:
            _transaction_ended(self)

    def rollback(self):
        try:
            super().rollback()
        finally:
            _transaction_ended(self)

    def reset(self):
        try:
            super().reset()
        finally:
            _transaction_ended(self)

    def tpc_prepare(self):
        try:
            super().tpc_prepare()
        finally:
            _transaction_ended(self)

    def tpc_commit(self, *xid):
        try:
            super().tpc_commit(*xid)
        finally:
            _transaction_ended(self)

    def tpc_rollback(self, *xid):
        try:
            super().tpc_rollback(*xid)
        finally:
            _transaction_ended(self)

    def lobject(self, oid=0, mode="", new_oid=0, new_file=None, lobject_factory=None):
        from .pg_largeobject import LargeObject

        if self.async_:
            return super().lobject(oid, mode, new_oid, new_file, lobject_factory or extensions.lobject)
        cls = LargeObject
        if lobject_factory not in (None, extensions.lobject, LargeObject):
            cls = _green_class(lobject_factory, LargeObject)
        return cls(self, oid, mode, new_oid, new_file)


_HEAPTYPE = 1 << 9
# Connection -> how many of its transactions have ended.
_marks = weakref.WeakKeyDictionary()


def transaction_mark(conn):
    return _marks.get(conn, 0)


def _transaction_ended(conn):
    _marks[conn] = _marks.get(conn, 0) + 1


@functools.cache
def _green_class(cls, mixin):
    """`cls` with `mixin` (a subclass of psycopg2's base class of `cls`) between
    cls's own methods and psycopg2's; no __dict__ added, so an object can change to it."""
    if issubclass(cls, mixin):
        return cls
    bases = (mixin,) if cls is mixin.__mro__[1] else (cls, mixin)
    return type(cls.__name__, bases, {"__slots__": (), "__module__": cls.__module__, "__qualname__": cls.__qualname__})


_connect = None


def _green_connect(dsn, connection_factory=None, **kwargs):
    """psycopg2._connect, which psycopg2.connect calls: the connection class
    asked for, given GreenConnection. A factory that is not a connection
    class (any callable may be one) is psycopg2's business alone."""
    factory = connection_factory or extensions.connection
    if isinstance(factory, type) and issubclass(factory, extensions.connection):
        factory = _green_class(factory, GreenConnection)
    return _connect(dsn, connection_factory=factory, **kwargs)


def enable():
    global _connect
    extensions.set_wait_callback(wait_callback)
    if _connect is None:
        # psycopg2.connect looks _connect up at each call: `from psycopg2 import
        # connect` done before enable() gets green connections too.
        _connect, psycopg2._connect = psycopg2._connect, _green_connect


def disable():
    global _connect
    extensions.set_wait_callback(None)
    if _connect is not None:
        psycopg2._connect, _connect = _connect, None


def enabled():
    return extensions.get_wait_callback() is wait_callback
