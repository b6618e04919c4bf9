"""psycopg2 made cooperative: its wait callback polls the connection and
waits for the socket with guv.trampoline, so each query suspends only its
own green thread. A Timeout or a kill ends the wait and cancels the query
on the server.

psycopg2 refuses COPY and large objects while a wait callback is set, so
enable() also gives psycopg2's own connection and cursor classes guv's
copy_expert, copy_from, copy_to and lobject(), cooperative too
(guv.support.pq_copy, guv.support.pg_largeobject): every connection, of
whatever class, made before enable() or after, is the class asked for.

psycopg2 holds a connection's lock (a pthread mutex) across each wait in
the callback; a second green thread taking it on the same OS thread would
block that thread, and every green thread with it. So the methods that
take it wait first, green and in turn, for the connection
(guv.support.green_lock), as OS threads wait for the mutex; commit() and
rollback() that did not wait let the others run, as psycopg2 lets other
threads run there (it releases the GIL) even with nothing to commit.
A named (server-side) cursor's fetches, scroll and iteration run
statements too: connection.cursor() makes a named cursor of a subclass
of its class whose methods wait the same way, and leaves the cursors
that fetch only from memory, row by row, as fast as psycopg2 makes them."""
import ctypes
import functools
import weakref

import psycopg2
from psycopg2 import extensions, sql

from .._runtime import READ, WRITE
from ..greenthread import trampoline
from .green_lock import GreenLocks, yielding_unless_waited

# Connection -> the green lock that its methods (and the wait callback) take.
_locks = GreenLocks()


# How many waits the callback has begun (guv.support.green_lock.yielding_unless_waited).
_waits = 0


def wait_callback(conn, timeout=None):
    global _waits
    _waits += 1
    with _locks.held(conn):
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


def _green(conn):
    """Whether guv runs `conn`'s COPY and large objects: an asynchronous
    connection, or another wait callback, keeps psycopg2's rules."""
    return conn is not None and not conn.async_ and extensions.get_wait_callback() is wait_callback


# psycopg2's classes' own attributes that enable() replaced: (class, name) -> attribute.
_saved = {}


def _own(cls, name):
    return _saved.get((cls, name), cls.__dict__[name])


def _locked(cls, name, conn_of, after=None):
    """psycopg2's method `name` of `cls`, called holding the connection's green lock."""
    method = _own(cls, name)

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        conn = conn_of(self)
        if conn is None or conn.async_:  # None: a cursor not initialised, which psycopg2 refuses
            return method(self, *args, **kwargs)
        try:
            with _locks.held(conn):
                return method(self, *args, **kwargs)
        finally:
            if after is not None:
                after(conn)

    return call


def _setter_locked(cls, name):
    """psycopg2's property `name` of `cls`, set holding the connection's green lock."""
    prop = _own(cls, name)

    def set_(conn, value):
        if conn.async_:
            return prop.__set__(conn, value)
        with _locks.held(conn):
            prop.__set__(conn, value)

    return property(prop.__get__, set_, doc=prop.__doc__)


# Cursor -> (rowcount, query) of its last statement when that was a COPY: psycopg2's
# own members cannot be set from Python, so the properties below answer for them.
_copied = weakref.WeakKeyDictionary()


def _copy(cur, statement, file, size):
    from . import pq_copy

    if cur.closed:
        raise psycopg2.InterfaceError("cursor already closed")
    if cur.name is not None:
        raise psycopg2.ProgrammingError("copy cannot be used with a named cursor")
    conn = cur.connection
    if isinstance(statement, sql.Composable):
        statement = statement.as_string(cur)
    query = statement.encode(pq_copy.codec(conn)) if isinstance(statement, str) else statement
    with _locks.held(conn):
        _copied[cur] = (-1, query)
        _copied[cur] = (pq_copy.copy(cur, statement, file, size), query)


def copy_expert(self, sql, file, size=8192):
    if not _green(self.connection):
        return _own(extensions.cursor, "copy_expert")(self, sql, file, size)
    if not (hasattr(file, "read") or hasattr(file, "write")):
        raise TypeError("file must be a readable file-like object for COPY FROM; "
                        "a writable file-like object for COPY TO.")
    _copy(self, sql, file, size)


def copy_from(self, file, table, sep="\t", null="\\N", size=8192, columns=None):
    if not _green(self.connection):
        return _own(extensions.cursor, "copy_from")(self, file, table, sep, null, size, columns)
    if not hasattr(file, "read"):
        raise TypeError("argument 1 must have a .read() method")
    _copy(self, f"COPY {_target(self, table, columns)} FROM stdin WITH DELIMITER AS {_literal(self, sep)} "
          f"NULL AS {_literal(self, null)}", file, size)


def copy_to(self, file, table, sep="\t", null="\\N", columns=None):
    if not _green(self.connection):
        return _own(extensions.cursor, "copy_to")(self, file, table, sep, null, columns)
    if not hasattr(file, "write"):
        raise TypeError("argument 1 must have a .write() method")
    _copy(self, f"COPY {_target(self, table, columns)} TO stdout WITH DELIMITER AS {_literal(self, sep)} "
          f"NULL AS {_literal(self, null)}", file, 8192)


def _target(cur, table, columns):
    # psycopg2 2.9 quotes the table and column names the same way.
    target = extensions.quote_ident(table, cur)
    if columns:
        target += " (" + ", ".join(extensions.quote_ident(c, cur) for c in columns) + ")"
    return target


def _literal(cur, value):
    return sql.Literal(value).as_string(cur)


def _after_copy(name):
    """psycopg2's member `name` (rowcount, query), or the COPY's until the next statement."""
    member = _own(extensions.cursor, name)
    index = ("rowcount", "query").index(name)

    def get(cur):
        copied = _copied.get(cur) if _copied else None
        return member.__get__(cur) if copied is None else copied[index]

    return property(get, doc=member.__doc__)


def _statement(name):
    """psycopg2's cursor method `name`, which runs a statement: the green lock, and no COPY's results after it."""
    method = _locked(extensions.cursor, name, _cursor_conn)

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        if _copied:
            _copied.pop(self, None)
        return method(self, *args, **kwargs)

    return call


def connection_cursor(self, *args, **kwargs):
    """psycopg2's connection.cursor(name=None, cursor_factory=None, ...); a
    named cursor is of _named_class(its class)."""
    name = args[0] if args else kwargs.get("name")
    if name is not None and not self.async_:
        in_args = len(args) > 1
        factory = (args[1] if in_args else kwargs.get("cursor_factory")) or self.cursor_factory or extensions.cursor
        # Another callable is psycopg2's to accept or refuse, and its cursors' fetches do not wait.
        if isinstance(factory, type) and issubclass(factory, extensions.cursor):
            if in_args:
                args = (args[0], _named_class(factory)) + args[2:]
            else:
                kwargs["cursor_factory"] = _named_class(factory)
    return _own(extensions.connection, "cursor")(self, *args, **kwargs)


# A named cursor checks that the connection is free at each row it hands
# out, fetched or not (psycopg2's curs_next_named): so do these.
_NAMED_STATEMENTS = ("fetchone", "fetchmany", "fetchall", "scroll", "__next__")


@functools.cache
def _named_class(cls):
    """`cls` with fetch*, scroll and iteration waiting their turn for the
    connection, as execute does: for named cursors, whose run FETCH and MOVE."""
    if issubclass(cls, _NamedCursor):
        return cls
    attrs = {name: _waiting_turn(getattr(cls, name)) for name in _NAMED_STATEMENTS}
    base = extensions.cursor
    if cls.__iter__ is base.__iter__ and cls.__next__ is base.__next__:  # else a class's own iterates
        attrs["__iter__"] = _rows_in_turn
    attrs.update(__module__=cls.__module__, __qualname__=cls.__qualname__, __slots__=())
    return type(cls.__name__, (cls, _NamedCursor), attrs)


class _NamedCursor:
    """Marks the classes _named_class made."""
    __slots__ = ()


def _waiting_turn(method):
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        conn = self.connection
        if not _locks.taken(conn):
            return method(self, *args, **kwargs)
        with _locks.held(conn):
            return method(self, *args, **kwargs)

    return call


def _rows_in_turn(self):
    """Iteration as a generator around psycopg2's own __next__: resuming one
    costs a row about 130 ns more than psycopg2 alone, a __next__ written in
    Python 270."""
    conn, next_row, taken = self.connection, extensions.cursor.__next__, _locks.taken
    while True:
        try:
            if taken(conn):
                with _locks.held(conn):
                    row = next_row(self)
            else:
                row = next_row(self)
        except StopIteration:
            return
        yield row


def _cursor_conn(cur):
    return cur.connection


def _conn(conn):
    return conn


def lobject(self, oid=0, mode="", new_oid=0, new_file=None, lobject_factory=None):
    from .pg_largeobject import LargeObject

    if not _green(self):
        return _own(extensions.connection, "lobject")(self, oid, mode, new_oid, new_file,
                                                      lobject_factory or extensions.lobject)
    cls = LargeObject
    if lobject_factory not in (None, extensions.lobject, LargeObject):
        cls = _large_object_class(lobject_factory)
    return cls(self, oid, mode, new_oid, new_file)


@functools.cache
def _large_object_class(cls):
    """`cls` (an lobject subclass) with guv's LargeObject between its own methods and psycopg2's."""
    from .pg_largeobject import LargeObject

    if issubclass(cls, LargeObject):
        return cls
    return type(cls.__name__, (cls, LargeObject), {"__module__": cls.__module__, "__qualname__": cls.__qualname__})


# Connection -> how many of its transactions have ended: psycopg2's "mark", by
# which a large object is valid only in the transaction that opened it.
_marks = weakref.WeakKeyDictionary()


def transaction_mark(conn):
    return _marks.get(conn, 0)


def _transaction_ended(conn):
    _marks[conn] = _marks.get(conn, 0) + 1


def _replacements():
    """(class, name) -> what enable() puts there."""
    cursor, connection = extensions.cursor, extensions.connection
    new = {(cursor, "copy_expert"): copy_expert, (cursor, "copy_from"): copy_from, (cursor, "copy_to"): copy_to,
           (cursor, "rowcount"): _after_copy("rowcount"), (cursor, "query"): _after_copy("query"),
           (cursor, "close"): _locked(cursor, "close", _cursor_conn), (connection, "lobject"): lobject,
           (connection, "cursor"): connection_cursor}
    for name in ("execute", "executemany", "callproc"):
        new[cursor, name] = _statement(name)
    for name in ("commit", "rollback"):
        new[connection, name] = yielding_unless_waited(_locked(connection, name, _conn, _transaction_ended),
                                                       lambda: _waits)
    for name in ("reset", "tpc_prepare", "tpc_commit", "tpc_rollback"):
        new[connection, name] = _locked(connection, name, _conn, _transaction_ended)
    for name in ("close", "set_session", "set_client_encoding", "tpc_begin", "tpc_recover"):
        new[connection, name] = _locked(connection, name, _conn)
    for name in ("autocommit", "isolation_level", "readonly", "deferrable"):
        new[connection, name] = _setter_locked(connection, name)
    return new


# Py_TPFLAGS_IMMUTABLETYPE: psycopg2's classes are static types, which Python refuses to change.
_IMMUTABLE = 1 << 8


def _set_class_attribute(cls, name, value):
    """setattr on one of psycopg2's static classes, which Python's setattr
    refuses while the class is flagged immutable: the flag is lifted for
    that one call (which also tells the method caches of the change)."""
    # tp_flags follows 19 pointer-sized fields of PyTypeObject (ob_refcnt ... tp_as_buffer).
    flags = ctypes.c_ulong.from_address(id(cls) + 21 * ctypes.sizeof(ctypes.c_void_p))
    if flags.value != cls.__flags__:
        raise RuntimeError(f"guv: {cls.__name__}'s type object is not laid out as this CPython's headers say")
    flags.value &= ~_IMMUTABLE
    try:
        setattr(cls, name, value)
    finally:
        flags.value |= _IMMUTABLE


def enable():
    extensions.set_wait_callback(wait_callback)
    if not _saved:
        for (cls, name), value in _replacements().items():
            _saved[cls, name] = cls.__dict__[name]
            _set_class_attribute(cls, name, value)


def disable():
    extensions.set_wait_callback(None)
    for (cls, name), value in _saved.items():
        _set_class_attribute(cls, name, value)
    _saved.clear()


def enabled():
    return extensions.get_wait_callback() is wait_callback
