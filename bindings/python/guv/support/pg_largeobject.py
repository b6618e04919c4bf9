"""Large objects for psycopg2 connections that wait with guv: psycopg2's
lobject refuses to run with a wait callback (libpq's lo_* calls block), so
this one speaks to the server's own large-object functions (lo_open,
loread, lowrite, lo_lseek64, …) through ordinary, cooperative queries.
The API is psycopg2's lobject's."""
import os

import psycopg2
from psycopg2 import extensions

INV_WRITE, INV_READ = 0x20000, 0x40000
READ, WRITE, TEXT = 1, 2, 4
# Bytes per query when reading or writing a whole file (import, export).
CHUNK = 1 << 20


def _parse_mode(mode):
    """psycopg2's rule: [r|w|rw|n][t|b], read and text when left out."""
    flags, rest = 0, mode
    if rest.startswith("rw"):
        flags, rest = READ | WRITE, rest[2:]
    elif rest[:1] in ("r", "w", "n"):
        flags, rest = {"r": READ, "w": WRITE, "n": 0}[rest[0]], rest[1:]
    else:
        flags = READ
    if rest[:1] in ("t", "b"):
        flags, rest = flags | (TEXT if rest[0] == "t" else 0), rest[1:]
    else:
        flags |= TEXT
    if rest:
        raise ValueError(f"bad mode for lobject: '{mode}'")
    return flags


class LargeObject(extensions.lobject):
    """psycopg2's lobject (a subclass, so isinstance holds) whose every
    operation is a query. Opening follows psycopg2's lobject_open: a new
    object is opened for writing whatever the mode; mode "n" opens nothing."""

    def __init__(self, conn, oid=0, mode="", new_oid=0, new_file=None):
        from .psycopg2 import transaction_mark

        if conn.autocommit:
            raise psycopg2.ProgrammingError("can't use a lobject outside of transactions")
        self.conn, self._flags, self._fd = conn, _parse_mode(mode or ""), -1
        self._mark = transaction_mark(conn)
        self._oid = oid
        if not oid:
            self._oid = self._lo("SELECT lo_create(%s)", (new_oid if new_file is None else 0,))
            if new_file is not None:
                fd = self._lo("SELECT lo_open(%s, %s)", (self._oid, INV_WRITE))
                with open(new_file, "rb") as f:
                    while chunk := f.read(CHUNK):
                        self._lo("SELECT lowrite(%s, %s)", (fd, psycopg2.Binary(chunk)))
                self._lo("SELECT lo_close(%s)", (fd,))
            self._flags = (self._flags & ~READ) | WRITE
        pg_mode = (INV_READ if self._flags & READ else 0) | (INV_WRITE if self._flags & WRITE else 0)
        if pg_mode:
            self._fd = self._lo("SELECT lo_open(%s, %s)", (self._oid, pg_mode))

    @property
    def oid(self):
        return self._oid

    def _one(self, sql, args):
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchone()[0]

    def _lo(self, sql, args):
        """A large-object function: its failure is an OperationalError, as
        libpq's lo_* calls report it through psycopg2."""
        try:
            return self._one(sql, args)
        except psycopg2.OperationalError:
            raise
        except psycopg2.DatabaseError as e:
            raise psycopg2.OperationalError(str(e)) from e

    def _valid(self):
        from .psycopg2 import transaction_mark

        return not self.conn.autocommit and transaction_mark(self.conn) == self._mark

    def _check(self):
        if self.closed:
            raise psycopg2.InterfaceError("lobject already closed")
        if self.conn.autocommit:
            raise psycopg2.ProgrammingError("can't use a lobject outside of transactions")
        if not self._valid():
            raise psycopg2.ProgrammingError("lobject isn't valid anymore")

    @property
    def mode(self):
        rw = {READ: "r", WRITE: "w", READ | WRITE: "rw", 0: "n"}[self._flags & (READ | WRITE)]
        return rw if rw == "n" else rw + ("t" if self._flags & TEXT else "b")

    @property
    def closed(self):
        return self._fd < 0 or self.conn.closed

    def _codec(self):
        return extensions.encodings.get(self.conn.encoding, "utf-8")

    def read(self, size=-1):
        self._check()
        if size < 0:
            here = self.tell()
            size = self.seek(0, os.SEEK_END) - here
            self.seek(here)
        data = bytes(self._lo("SELECT loread(%s, %s)", (self._fd, size)))
        return data.decode(self._codec()) if self._flags & TEXT else data

    def write(self, data):
        self._check()
        if isinstance(data, str):
            data = data.encode(self._codec())
        return self._write_bytes(data)

    def _write_bytes(self, data):
        return self._lo("SELECT lowrite(%s, %s)", (self._fd, psycopg2.Binary(data)))

    def seek(self, offset, whence=0):
        self._check()
        return self._lo("SELECT lo_lseek64(%s, %s, %s)", (self._fd, offset, whence))

    def tell(self):
        self._check()
        return self._lo("SELECT lo_tell64(%s)", (self._fd,))

    def truncate(self, len=0):
        self._check()
        self._lo("SELECT lo_truncate64(%s, %s)", (self._fd, len))

    def close(self):
        # Closing is always allowed: ending the transaction closed it already.
        if not self.closed and self._valid():
            self._lo("SELECT lo_close(%s)", (self._fd,))
            self._fd = -1

    def unlink(self):
        if self.conn.autocommit:
            raise psycopg2.ProgrammingError("can't use a lobject outside of transactions")
        if not self.closed and self._valid():
            self._lo("SELECT lo_close(%s)", (self._fd,))
            self._fd = -1
        self._lo("SELECT lo_unlink(%s)", (self.oid,))

    def export(self, filename):
        """Writes the object's content to a file on the client, as psycopg2's export does."""
        if self.conn.autocommit:
            raise psycopg2.ProgrammingError("can't use a lobject outside of transactions")
        fd = self._lo("SELECT lo_open(%s, %s)", (self.oid, INV_READ))
        with open(filename, "wb") as f:
            while chunk := bytes(self._lo("SELECT loread(%s, %s)", (fd, CHUNK))):
                f.write(chunk)
        self._lo("SELECT lo_close(%s)", (fd,))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<guv lobject oid={self.oid} mode={self.mode!r} closed={self.closed}>"
