"""COPY for psycopg2 connections that wait with guv: psycopg2 refuses COPY
whenever a wait callback is set, so the COPY runs here, on the connection's
own PGconn (`conn.pgconn_ptr`), with libpq's asynchronous COPY calls and
guv.trampoline for every wait — as include/guv/pq.h does in C.

The libpq is the one psycopg2 is linked with (psycopg2-binary bundles its
own): dlsym on psycopg2's extension module searches its dependencies. Calls
hold the GIL (PyDLL): on a non-blocking connection none of them blocks."""
import codecs
import ctypes
import io
import time

import psycopg2
from psycopg2 import errors, extensions

from .._runtime import READ, WRITE
from ..greenthread import gyield, trampoline

PGRES_COMMAND_OK, PGRES_COPY_OUT, PGRES_COPY_IN = 1, 3, 4
PGRES_ERRORS = (5, 7)  # PGRES_BAD_RESPONSE, PGRES_FATAL_ERROR
PG_DIAG_SQLSTATE = ord("C")
# A COPY lets the other green threads run after this many bytes even when
# no wait came: loopback takes megabytes without blocking a write.
YIELD_BYTES = 64 * 1024
# How long a rescue waits for the server to end a COPY before leaving the connection as it is.
RESCUE_SECONDS = 10

_pq = ctypes.PyDLL(psycopg2._psycopg.__file__)
_P, _I, _S = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
for _name, _res, _args in [
    ("PQsendQuery", _I, [_P, _S]), ("PQflush", _I, [_P]), ("PQconsumeInput", _I, [_P]),
    ("PQisBusy", _I, [_P]), ("PQgetResult", _P, [_P]), ("PQresultStatus", _I, [_P]),
    ("PQresultErrorMessage", _S, [_P]), ("PQresultErrorField", _S, [_P, _I]), ("PQcmdTuples", _S, [_P]),
    ("PQclear", None, [_P]), ("PQgetCopyData", _I, [_P, ctypes.POINTER(_P), _I]),
    ("PQputCopyData", _I, [_P, _S, _I]), ("PQputCopyEnd", _I, [_P, _S]), ("PQfreemem", None, [_P]),
    ("PQerrorMessage", _S, [_P]), ("PQsetnonblocking", _I, [_P, _I]), ("PQisnonblocking", _I, [_P]),
    ("PQsocket", _I, [_P]),
]:
    _fn = getattr(_pq, _name)
    _fn.restype, _fn.argtypes = _res, _args


def copy(cursor, sql, file, size):
    """Runs COPY statement `sql` on `cursor`'s connection, reading the data
    from `file` (COPY FROM STDIN) or writing it there (COPY TO STDOUT).
    Returns the number of rows copied."""
    conn = cursor.connection
    if isinstance(sql, str):
        sql = sql.encode(codec(conn))
    if not conn.autocommit and conn.info.transaction_status == extensions.TRANSACTION_STATUS_IDLE:
        # psycopg2 must send the BEGIN itself: it commits only what it knows it began.
        cursor.execute("SELECT 1")
    pg = conn.pgconn_ptr
    was_nonblocking = _pq.PQisnonblocking(pg)
    _pq.PQsetnonblocking(pg, 1)
    try:
        return _Copy(cursor, pg).run(sql, file, size)
    finally:
        _pq.PQsetnonblocking(pg, was_nonblocking)


def codec(conn):
    return extensions.encodings.get(conn.encoding, "utf-8")


class _Copy:
    def __init__(self, cursor, pg):
        self.cursor, self.conn, self.pg, self.fd = cursor, cursor.connection, pg, _pq.PQsocket(pg)
        self.read_error = None

    def run(self, sql, file, size):
        if not _pq.PQsendQuery(self.pg, sql):
            raise psycopg2.OperationalError(self.conn_error())
        try:
            self.flush()
            res = self.next_result()
            status = _pq.PQresultStatus(res)
            if status in PGRES_ERRORS:
                error = self.error_of(res)
            else:
                error = None
                _pq.PQclear(res)
            if status == PGRES_COPY_IN:
                self.copy_in(file, size)
            elif status == PGRES_COPY_OUT:
                self.copy_out(file, size)
            else:
                self.drain()
                raise error or psycopg2.ProgrammingError("copy: the statement is not a COPY FROM STDIN or TO STDOUT")
        except BaseException:
            self.rescue()
            raise
        return self.finish()

    def conn_error(self):
        return (_pq.PQerrorMessage(self.pg) or b"").decode(codec(self.conn), "replace")

    def wait(self, events):
        trampoline(self.fd, events)

    def flush(self):
        while (r := _pq.PQflush(self.pg)) == 1:
            self.wait(WRITE)
        if r < 0:
            raise psycopg2.OperationalError(self.conn_error())

    def next_result(self):
        """The next PGresult (None after the last), waiting while libpq is busy."""
        while _pq.PQisBusy(self.pg):
            self.wait(READ)
            if not _pq.PQconsumeInput(self.pg):
                raise psycopg2.OperationalError(self.conn_error())
        return _pq.PQgetResult(self.pg)

    def copy_in(self, file, size):
        enc = codec(self.conn)
        unyielded = 0
        try:
            while data := file.read(size):
                if isinstance(data, str):
                    data = data.encode(enc)
                while (r := _pq.PQputCopyData(self.pg, data, len(data))) == 0:
                    self.wait(WRITE)
                    unyielded = 0
                if r < 0:
                    raise psycopg2.OperationalError(self.conn_error())
                self.flush()
                unyielded += len(data)
                if unyielded >= YIELD_BYTES:
                    gyield()
                    unyielded = 0
        except Exception as e:
            # End the COPY with the error: as psycopg2 does, the server's error
            # (QueryCanceled, naming it) is raised, from this one.
            self.read_error = e
            self.end(f"error in .read() call: {type(e).__name__} {e}".encode(enc, "replace"))
            return
        self.end(None)

    def end(self, errormsg):
        while (r := _pq.PQputCopyEnd(self.pg, errormsg)) == 0:
            self.wait(WRITE)
        if r < 0:
            raise psycopg2.OperationalError(self.conn_error())
        self.flush()

    def copy_out(self, file, size):
        text = isinstance(file, io.TextIOBase)
        enc = codec(self.conn)
        buf = _P()
        rows, held = [], 0
        while True:
            n = _pq.PQgetCopyData(self.pg, ctypes.byref(buf), 1)
            if n > 0:
                rows.append(ctypes.string_at(buf, n))
                _pq.PQfreemem(buf)
                held += n
                if held < size:
                    continue
            elif n == 0:
                self.wait(READ)
                if not _pq.PQconsumeInput(self.pg):
                    raise psycopg2.OperationalError(self.conn_error())
            elif n == -2:
                raise psycopg2.OperationalError(self.conn_error())
            if rows:
                # Whole rows only, so a multibyte character is never split.
                data = b"".join(rows)
                file.write(data.decode(enc) if text else data)
                rows, held = [], 0
            if n == -1:
                return

    def finish(self):
        """Collects the COPY's results: its row count, or its error raised."""
        rowcount, error = -1, None
        while res := self.next_result():
            status = _pq.PQresultStatus(res)
            if status == PGRES_COMMAND_OK:
                tuples = _pq.PQcmdTuples(res)
                rowcount = int(tuples) if tuples else -1
            elif status in PGRES_ERRORS and error is None:
                error = self.error_of(res)
                continue
            _pq.PQclear(res)
        if error is not None:
            raise error from self.read_error
        if self.read_error is not None:
            raise self.read_error
        return rowcount

    def drain(self):
        while res := self.next_result():
            _pq.PQclear(res)

    def error_of(self, res):
        """psycopg2's exception for error result `res`, which it takes (for its diag)."""
        sqlstate = _pq.PQresultErrorField(res, PG_DIAG_SQLSTATE)
        pgerror = (_pq.PQresultErrorMessage(res) or b"").decode(codec(self.conn), "replace")
        message = pgerror.split(":  ", 1)[-1]  # without "ERROR:  ", as psycopg2 words it
        try:
            cls = errors.lookup(sqlstate.decode()) if sqlstate else psycopg2.DatabaseError
        except KeyError:
            cls = psycopg2.DatabaseError
        error = cls(message)
        # psycopg2's own unpickling is the one way in to these two from Python.
        error.__setstate__({"pgerror": pgerror, "pgcode": sqlstate.decode() if sqlstate else None})
        if not _Error.attach(error, res, self.cursor, codecs.getdecoder(codec(self.conn))):
            _pq.PQclear(res)
        return error

    def rescue(self):
        """After an interruption (Timeout, kill, a failing read or write of
        `file`): end the COPY and drain what is left, so the connection stays
        usable. Blocking, for as long as the server takes to stop: the green
        thread has already been told to stop waiting."""
        select = _unpatched_select()
        canceled = False
        deadline = time.monotonic() + RESCUE_SECONDS
        buf = _P()
        while time.monotonic() < deadline:
            if _pq.PQflush(self.pg) == 1:
                select.select([], [self.fd], [], 1.0)
                continue
            while _pq.PQgetCopyData(self.pg, ctypes.byref(buf), 1) > 0:
                _pq.PQfreemem(buf)
            if not _pq.PQisBusy(self.pg):
                res = _pq.PQgetResult(self.pg)
                if not res:
                    return
                status = _pq.PQresultStatus(res)
                _pq.PQclear(res)
                if status == PGRES_COPY_IN:
                    _pq.PQputCopyEnd(self.pg, b"canceled by guv")
                if status != PGRES_COPY_OUT:
                    continue
            if not canceled:
                # Still running or sending rows: ask the server to stop. Only
                # then, as a cancel arriving late would hit the next statement.
                try:
                    self.conn.cancel()
                except psycopg2.Error:
                    pass
                canceled = True
            select.select([self.fd], [], [], 1.0)
            if not _pq.PQconsumeInput(self.pg):
                return


class _Error:
    """psycopg2's errorObject (psycopg/error.h) after the BaseException in
    it: pgerror, pgcode, cursor, pydecoder, pgres. Only psycopg2's C code
    fills the last three, which `diag` (pgres) and its text (pydecoder)
    read, and `cursor`; attach() writes them as pq_raise does, once the
    layout checks out on this error."""

    PTR = ctypes.sizeof(ctypes.c_void_p)
    BASE = BaseException.__basicsize__
    FIELDS = 5

    @classmethod
    def attach(cls, error, res, cursor, decoder):
        """Gives `error` the PGresult `res` (which it then owns and frees),
        `cursor` and `decoder`; False, leaving them out, if psycopg2's
        errors are not laid out as expected."""
        if psycopg2.Error.__basicsize__ != cls.BASE + cls.FIELDS * cls.PTR:
            return False
        field = [ctypes.c_void_p.from_address(id(error) + cls.BASE + i * cls.PTR) for i in range(cls.FIELDS)]
        pgerror, _, cur, pydecoder, pgres = field
        if pgerror.value != id(error.pgerror) or cur.value or pydecoder.value or pgres.value:
            return False
        # The error's dealloc drops a reference to each object and clears pgres: they are stored owned.
        for target, obj in ((cur, cursor), (pydecoder, decoder)):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))
            target.value = id(obj)
        pgres.value = res
        return True


def _unpatched_select():
    from ..patcher import original

    return original("select")
