"""A PostgreSQL driver written with cffi (ABI mode, no compiler) that waits
with guv_trampoline, called through cffi, so each query suspends only its
own green thread: the design card's "Python-cffi driver" path.

    python cffi_libpq.py ["host=127.0.0.1 dbname=test"]

runs 50 x pg_sleep(0.2) on 50 connections among guv's green threads and
prints how long that took (about 0.2 s plus connecting, not 10 s).
The driver: Connection(dsn).query(sql) -> rows of str (or None for NULL).
A guv.Timeout or a kill ends the wait, cancels the query on the server
and raises Timeout / GreenletExit; the connection is then still usable."""
import ctypes.util
import sys
import time

from cffi import FFI

import guv
import guv.native

ffi = FFI()
# The few guv calls the driver makes, as guv.h declares them
# (guv.native.include_dir() has the header this package was built with).
ffi.cdef("""
int guv_trampoline(int fd, int events);
int guv_forget(int fd);
""")
ffi.cdef("""
typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;
typedef struct pg_cancel PGcancel;
PGconn *PQconnectStart(const char *conninfo);
int PQconnectPoll(PGconn *conn);
int PQstatus(const PGconn *conn);
char *PQerrorMessage(const PGconn *conn);
int PQsocket(const PGconn *conn);
int PQsetnonblocking(PGconn *conn, int arg);
int PQsendQuery(PGconn *conn, const char *query);
int PQflush(PGconn *conn);
int PQconsumeInput(PGconn *conn);
int PQisBusy(PGconn *conn);
PGresult *PQgetResult(PGconn *conn);
int PQresultStatus(const PGresult *res);
char *PQresultErrorMessage(const PGresult *res);
int PQntuples(const PGresult *res);
int PQnfields(const PGresult *res);
char *PQgetvalue(const PGresult *res, int row, int col);
int PQgetisnull(const PGresult *res, int row, int col);
void PQclear(PGresult *res);
void PQfinish(PGconn *conn);
PGcancel *PQgetCancel(PGconn *conn);
int PQcancel(PGcancel *cancel, char *errbuf, int errbufsize);
void PQfreeCancel(PGcancel *cancel);
""")
# The libguv the guv package runs on: a second copy would be a second runtime.
libguv = ffi.dlopen(guv.native.library())
libpq = ffi.dlopen(ctypes.util.find_library("pq") or "libpq.so.5")

GUV_READ, GUV_WRITE = 1, 2
CONNECTION_OK = 0
PGRES_POLLING_FAILED, PGRES_POLLING_READING, PGRES_POLLING_WRITING, PGRES_POLLING_OK = 0, 1, 2, 3
PGRES_COMMAND_OK, PGRES_TUPLES_OK = 1, 2


class Error(Exception):
    pass


class Connection:
    def __init__(self, dsn):
        self._conn = libpq.PQconnectStart(dsn.encode())
        if self._conn == ffi.NULL:
            raise MemoryError("PQconnectStart")
        try:
            # libpq's own state machine; only the waits are guv's.
            state = PGRES_POLLING_WRITING
            while state not in (PGRES_POLLING_OK, PGRES_POLLING_FAILED):
                self._wait(GUV_READ if state == PGRES_POLLING_READING else GUV_WRITE)
                state = libpq.PQconnectPoll(self._conn)
            if libpq.PQstatus(self._conn) != CONNECTION_OK or libpq.PQsetnonblocking(self._conn, 1) != 0:
                raise Error(self._message())
        except BaseException:
            self.close()
            raise

    def _message(self):
        return ffi.string(libpq.PQerrorMessage(self._conn)).decode(errors="replace").strip()

    def _wait(self, events):
        # cffi releases the GIL around the call; guv suspends this green
        # thread only, and -1/errno says why a wait ended early.
        if libguv.guv_trampoline(libpq.PQsocket(self._conn), events) < 0:
            guv.native.raise_for(ffi.errno)

    def query(self, sql):
        """Runs `sql`; returns the rows of its last result (lists of str or None)."""
        if not libpq.PQsendQuery(self._conn, sql.encode()):
            raise Error(self._message())
        try:
            while (r := libpq.PQflush(self._conn)) == 1:
                self._wait(GUV_READ | GUV_WRITE)
                libpq.PQconsumeInput(self._conn)
            if r < 0:
                raise Error(self._message())
            rows, error = None, None
            while True:
                while libpq.PQisBusy(self._conn):
                    self._wait(GUV_READ)
                    if not libpq.PQconsumeInput(self._conn):
                        raise Error(self._message())
                res = libpq.PQgetResult(self._conn)
                if res == ffi.NULL:
                    break
                status = libpq.PQresultStatus(res)
                if status == PGRES_TUPLES_OK:
                    rows = [[None if libpq.PQgetisnull(res, i, j) else ffi.string(libpq.PQgetvalue(res, i, j)).decode()
                             for j in range(libpq.PQnfields(res))] for i in range(libpq.PQntuples(res))]
                elif status != PGRES_COMMAND_OK:
                    error = ffi.string(libpq.PQresultErrorMessage(res)).decode(errors="replace").strip()
                libpq.PQclear(res)
            if error:
                raise Error(error)
            return rows
        except (guv.Timeout, guv.GreenletExit):
            self._cancel()
            raise

    def _cancel(self):
        """A Timeout or kill ended the wait: stop the query on the server
        (PQcancel blocks, so on guv's offload threads) and read the
        connection back to idle."""
        cancel = libpq.PQgetCancel(self._conn)
        if cancel == ffi.NULL:
            return
        buf = ffi.new("char[256]")
        try:
            guv.native.offload(libpq.PQcancel, cancel, buf, 256)
        finally:
            libpq.PQfreeCancel(cancel)
        # Drain what the cancelled query sends; its error is expected. The
        # caller is killed or timed out, so its waits fail: drain with
        # blocking libpq calls, also on the offload threads.
        guv.native.offload(self._drain_blocking)

    def _drain_blocking(self):
        libpq.PQsetnonblocking(self._conn, 0)
        while (res := libpq.PQgetResult(self._conn)) != ffi.NULL:
            libpq.PQclear(res)
        libpq.PQsetnonblocking(self._conn, 1)

    def close(self):
        if self._conn is not None:
            # PQfinish closes the socket: tell guv first (see guv_close in guv.h).
            fd = libpq.PQsocket(self._conn)
            if fd >= 0:
                libguv.guv_forget(fd)
            libpq.PQfinish(self._conn)
            self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def main(dsn):
    def one(i):
        with Connection(dsn) as c:
            return c.query(f"SELECT pg_sleep(0.2), {i}")[0][1]

    start = time.monotonic()
    results = [gt.wait() for gt in [guv.spawn(one, i) for i in range(50)]]
    took = time.monotonic() - start
    assert results == [str(i) for i in range(50)], results
    print(f"50 x pg_sleep(0.2) on 50 connections took {took:.2f} s (one after another: 10 s)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "host=127.0.0.1 port=5432 dbname=test user=postgres")
