"""COPY and large objects with guv.support.psycopg2 on (psycopg2 alone
refuses both while a wait callback is set), against the real PostgreSQL
(GUV_TEST_PG): the results psycopg2 gives, cooperatively."""
import io
import os
import time

import psycopg2
import psycopg2.errors
import psycopg2.extras
import pytest
from psycopg2 import sql

import guv

DSN = os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test")
pytestmark = pytest.mark.usefixtures("psycopg2_support")


@pytest.fixture
def conn():
    c = psycopg2.connect(DSN)
    yield c
    c.close()


@pytest.fixture
def table(conn):
    """A table of this test's own (other engineers share the database)."""
    name = f"guv_copy_{os.getpid()}_{time.monotonic_ns()}"
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE TABLE {} (n int, s text)").format(sql.Identifier(name)))
    conn.commit()
    yield name
    conn.rollback()
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
    conn.commit()


def test_copy_expert_out_to_text_and_binary_files(conn):
    cur = conn.cursor()
    text, raw = io.StringIO(), io.BytesIO()
    cur.copy_expert("COPY (SELECT n, 'é' || n FROM generate_series(1, 3) n) TO STDOUT", text)
    cur.copy_expert(sql.SQL("COPY (SELECT {}) TO STDOUT").format(sql.Literal("x")), raw)
    assert text.getvalue() == "1\té1\n2\té2\n3\té3\n"
    assert raw.getvalue() == b"x\n"


def test_copy_from_and_copy_to_round_trip_in_a_transaction(conn, table):
    cur = conn.cursor()
    cur.copy_from(io.StringIO("1\tone\n2\t\\N\n"), table)
    cur.copy_from(io.BytesIO(b"3|three\n"), table, sep="|", columns=("n", "s"))
    conn.rollback()  # psycopg2 began a transaction for the COPY: it is undone
    cur.copy_from(io.StringIO("1\tone\n2\t\\N\n"), table)
    conn.commit()
    out = io.StringIO()
    cur.copy_to(out, table, sep=",", null="-", columns=["s", "n"])
    assert out.getvalue() == "one,1\n-,2\n"


def test_copy_on_an_extras_cursor_keeps_its_class(table):
    c = psycopg2.connect(DSN, cursor_factory=psycopg2.extras.DictCursor)
    try:
        cur = c.cursor()
        assert isinstance(cur, psycopg2.extras.DictCursor)
        cur.copy_from(io.StringIO("7\tseven\n"), table)
        cur.execute(sql.SQL("SELECT s FROM {}").format(sql.Identifier(table)))
        assert cur.fetchone()["s"] == "seven"
    finally:
        c.close()


def test_a_failing_copy_raises_the_server_error_and_the_connection_goes_on(conn, table):
    cur = conn.cursor()
    with pytest.raises(psycopg2.errors.UndefinedTable, match='relation "guv_no_such_table" does not exist'):
        cur.copy_expert("COPY guv_no_such_table TO STDOUT", io.StringIO())
    conn.rollback()
    with pytest.raises(psycopg2.errors.InvalidTextRepresentation):
        cur.copy_from(io.StringIO("not-a-number\tx\n"), table)
    conn.rollback()
    with pytest.raises(psycopg2.ProgrammingError, match="not a COPY"):
        cur.copy_expert("SELECT 1", io.StringIO())
    cur.execute("SELECT 2")
    assert cur.fetchone() == (2,)


def test_an_error_reading_the_file_ends_the_copy_and_the_server_reports_it(conn, table):
    class Broken(io.StringIO):
        def read(self, size=-1):
            raise OSError("disk gone")

    cur = conn.cursor()
    # psycopg2's rule (its test_copy_from_propagate_error): the server's error, naming the file's.
    with pytest.raises(psycopg2.errors.QueryCanceled, match="error in .read.. call: OSError disk gone") as e:
        cur.copy_from(Broken(), table)
    assert isinstance(e.value.__cause__, OSError) and e.value.pgcode == "57014"
    conn.rollback()
    cur.execute("SELECT 3")
    assert cur.fetchone() == (3,)


def test_a_timeout_during_copy_out_leaves_the_connection_usable(conn):
    cur = conn.cursor()

    class Slow(io.StringIO):
        def write(self, s):
            guv.sleep(0.05)  # a slow consumer: the Timeout comes mid-COPY
            return super().write(s)

    start = time.monotonic()
    with pytest.raises(guv.Timeout):
        with guv.Timeout(0.3):
            cur.copy_expert("COPY (SELECT repeat('x', 100) FROM generate_series(1, 10000000)) TO STDOUT", Slow())
    assert time.monotonic() - start < 5
    conn.rollback()
    cur.execute("SELECT 4")
    assert cur.fetchone() == (4,)


def test_large_objects_write_read_seek_and_unlink(conn, tmp_path):
    lo = conn.lobject(0, "wb")
    assert lo.mode == "wb" and lo.write(b"hello large world") == 17
    oid = lo.oid
    lo.close()
    assert lo.closed
    lo = conn.lobject(oid, "rt")
    assert lo.read() == "hello large world"
    assert lo.seek(6) == 6 and lo.read(5) == "large" and lo.tell() == 11
    lo.close()
    lo = conn.lobject(oid, "rwb")
    lo.truncate(5)
    assert lo.read() == b"hello"
    lo.export(str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == b"hello"
    src = tmp_path / "in"
    src.write_bytes(b"from a file")
    imported = conn.lobject(new_file=str(src), mode="rb")
    assert imported.read() == b"from a file"
    lo.unlink()
    imported.unlink()
    conn.commit()
    with pytest.raises(psycopg2.OperationalError, match="does not exist"):  # as psycopg2's own
        conn.lobject(oid, "rb")
    conn.rollback()


def test_copy_sets_rowcount_and_query_until_the_next_statement(conn, table):
    # psycopg2's test_copy_rowcount, test_copy_rowcount_error and test_copy_query.
    cur = conn.cursor()
    cur.copy_from(io.StringIO("1\ta\n2\tb\n3\tc\n"), table)
    assert cur.rowcount == 3 and cur.query.startswith(b"COPY ") and b"FROM stdin" in cur.query
    cur.copy_to(io.StringIO(), table)
    assert cur.rowcount == 3 and b"TO stdout" in cur.query
    cur.execute("SELECT 1 UNION ALL SELECT 2")
    assert cur.rowcount == 2 and cur.query == b"SELECT 1 UNION ALL SELECT 2"
    with pytest.raises(psycopg2.errors.InvalidTextRepresentation):
        cur.copy_from(io.StringIO("x\ty\n"), table)
    assert cur.rowcount == -1


def test_copy_refuses_a_file_without_read_or_write(conn, table):
    cur = conn.cursor()
    with pytest.raises(TypeError, match="must have a .read"):
        cur.copy_from(object(), table)
    with pytest.raises(TypeError, match="must have a .write"):
        cur.copy_to(object(), table)
    with pytest.raises(TypeError, match="readable file-like"):
        cur.copy_expert("COPY (SELECT 1) TO STDOUT", object())
    cur.execute("SELECT 5")  # nothing was sent
    assert cur.fetchone() == (5,)


def test_a_copy_error_carries_pgcode_pgerror_cursor_and_diag(conn, table):
    # psycopg2's test_diagnostics_copy: diag reads the server's PGresult, which the error owns.
    cur = conn.cursor()
    with pytest.raises(psycopg2.errors.UndefinedTable) as e:
        cur.copy_to(io.StringIO(), "guv_foreign_no_such_table")
    assert e.value.pgcode == "42P01" and e.value.pgerror.startswith("ERROR:") and e.value.cursor is cur
    assert e.value.diag.sqlstate == "42P01" and e.value.diag.severity == "ERROR"
    assert e.value.diag.message_primary == 'relation "guv_foreign_no_such_table" does not exist'
    conn.rollback()
    with pytest.raises(psycopg2.errors.InvalidTextRepresentation) as e:  # ending the COPY, not starting it
        cur.copy_from(io.StringIO("x\ty\n"), table)
    assert e.value.diag.sqlstate == "22P02" and e.value.diag.context.startswith(f"COPY {table}, line 1")
    conn.rollback()


def test_support_on_keeps_psycopg2s_own_classes(table):
    # psycopg2's test_cursor_factory_none: the class asked for, not a subclass of it.
    c = psycopg2.connect(DSN, cursor_factory=psycopg2.extras.DictCursor)
    try:
        assert type(c) is psycopg2.extensions.connection
        assert type(c.cursor(cursor_factory=None)) is psycopg2.extras.DictCursor
        plain = c.cursor(cursor_factory=psycopg2.extensions.cursor)
        assert type(plain) is psycopg2.extensions.cursor
        plain.copy_from(io.StringIO("9\tnine\n"), table)
        assert plain.rowcount == 1
    finally:
        c.close()


def test_enable_and_disable_change_psycopg2s_classes_and_connections_made_before(script):
    r = script("""
        import io, os, psycopg2, psycopg2.extensions as ext
        import guv
        before = dict(ext.cursor.__dict__), dict(ext.connection.__dict__)
        c = psycopg2.connect(os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test"))
        guv.support.psycopg2.enable()
        assert ext.cursor.__dict__["copy_expert"] is not before[0]["copy_expert"]
        out = io.StringIO()
        c.cursor().copy_expert("COPY (SELECT 10) TO STDOUT", out)
        lo = c.lobject()
        assert lo.write(b"x") == 1
        c.rollback()
        guv.support.psycopg2.disable()
        assert dict(ext.cursor.__dict__) == before[0] and dict(ext.connection.__dict__) == before[1]
        c.cursor().copy_expert("COPY (SELECT 11) TO STDOUT", out)  # psycopg2's own, no callback
        print(out.getvalue().split())
    """)
    assert r.stdout.strip() == "['10', '11']", r.stderr


def test_an_async_connection_keeps_psycopg2s_refusal_of_copy():
    # psycopg2's test_copy_while_async: no wait callback runs on such a connection.
    c = psycopg2.connect(DSN, async_=True)
    try:
        psycopg2.extras.wait_select(c)
        with pytest.raises(psycopg2.ProgrammingError, match="cannot be used in asynchronous mode"):
            c.cursor().copy_expert("COPY (SELECT 1) TO STDOUT", io.StringIO())
    finally:
        c.close()


def test_a_new_large_object_is_opened_for_writing_whatever_the_mode(conn):
    # psycopg2's lobject_open; its test_lobject writes to conn.lobject() as made.
    lo = conn.lobject()
    assert isinstance(lo, psycopg2.extensions.lobject)
    assert lo.mode == "wt" and conn.lobject(mode=None).mode == "wt" and conn.lobject(mode="n").mode == "wt"
    assert lo.write("x") == 1
    lo.seek(0)
    assert lo.read() == "x"
    assert conn.lobject(lo.oid, "n").mode == "n" and conn.lobject(lo.oid, "n").closed
    conn.rollback()


def test_a_large_object_is_invalid_after_its_transaction(conn):
    lo = conn.lobject()
    conn.commit()
    with pytest.raises(psycopg2.ProgrammingError, match="isn't valid anymore"):
        lo.write(b"late")
    lo.close()  # allowed: the commit closed it on the server
    conn.lobject(lo.oid).unlink()
    conn.commit()


def test_lobject_factory_gets_an_instance_of_its_class(conn):
    class Mine(psycopg2.extensions.lobject):
        pass

    lo = conn.lobject(lobject_factory=Mine)
    assert isinstance(lo, Mine) and lo.write(b"ok") == 2
    conn.rollback()


def test_a_connection_factory_that_is_not_a_class_is_called_as_given(table):
    made = []

    def factory(dsn, async_=False):
        made.append(dsn)
        return psycopg2.extensions.connection(dsn, async_=async_)

    c = psycopg2.connect(DSN, connection_factory=factory)
    try:
        assert made and type(c) is psycopg2.extensions.connection
        c.cursor().execute("SELECT 1")
    finally:
        c.close()


def test_connect_imported_before_enable_makes_green_connections(script):
    r = script("""
        import io, os
        from psycopg2 import connect
        import guv
        guv.support.psycopg2.enable()
        c = connect(os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test"))
        out = io.StringIO()
        c.cursor().copy_expert("COPY (SELECT 6) TO STDOUT", out)
        print(out.getvalue().strip())
    """)
    assert r.stdout.strip() == "6", r.stderr


def test_large_objects_need_a_transaction(conn):
    conn.autocommit = True
    with pytest.raises(psycopg2.ProgrammingError, match="outside of transactions"):
        conn.lobject()


ROWS = 100_000


def test_twenty_green_threads_copy_in_and_out_while_a_ticker_ticks():
    """20 green threads each COPY 100k rows in, then out again, while a
    ticker sleeps 10 ms in a loop. A COPY that blocked the hub would see no
    tick while it runs; each of these 40 sees ticks (how many, and the
    longest gap, depend on the machine's load: printed, not asserted)."""
    conns = [psycopg2.connect(DSN) for _ in range(20)]
    names = [f"guv_copy20_{os.getpid()}_{i}" for i in range(20)]
    # Made before the ticker starts: building them is the test's CPU, not the COPY's.
    datas = ["".join(f"{n}\trow {i} {n}\n" for n in range(ROWS)) for i in range(20)]
    ticks, running, copies = [], [True], []

    def ticker():
        while running[0]:
            ticks.append(time.monotonic())
            guv.sleep(0.01)

    def one(i):
        c, name = conns[i], names[i]
        cur = c.cursor()
        cur.execute(sql.SQL("CREATE TEMP TABLE {} (n int, s text)").format(sql.Identifier(name)))
        data = datas[i]
        start = time.monotonic()
        cur.copy_from(io.StringIO(data), name)
        copies.append((start, time.monotonic()))
        out = io.StringIO()
        start = time.monotonic()
        cur.copy_expert(sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(name)), out)
        copies.append((start, time.monotonic()))
        c.commit()
        return out.getvalue() == data

    t = guv.spawn(ticker)
    start = time.monotonic()
    try:
        results = list(guv.GreenPool(20).imap(one, range(20)))
    finally:
        running[0] = False
        t.wait()
        for c in conns:
            c.close()
    elapsed = time.monotonic() - start
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    print(f"20 x COPY {ROWS} rows in and out: {elapsed:.2f} s, {len(ticks)} ticks, "
          f"longest gap {max(gaps) * 1000:.0f} ms (load {os.getloadavg()[0]:.2f})")
    assert results == [True] * 20
    ticks_in = [sum(a < t < b for t in ticks) for a, b in copies]
    print("ticks during each COPY:", ticks_in)
    assert len(copies) == 40 and min(ticks_in) >= 1, ticks_in


def test_a_named_cursor_can_take_over_a_declared_one(conn):
    # psycopg2's test_named_cursor_stealing: making the cursor must not CLOSE one of its name.
    conn.cursor().execute("DECLARE guv_foreign_stolen CURSOR WITHOUT HOLD FOR SELECT generate_series(1, 3)")
    assert conn.cursor("guv_foreign_stolen").fetchall() == [(1,), (2,), (3,)]
    conn.rollback()


def test_cursors_of_a_factory_function_get_copy_too(conn):
    cur = conn.cursor(cursor_factory=lambda c, name=None: psycopg2.extras.DictCursor(c, name))
    out = io.StringIO()
    cur.copy_expert("COPY (SELECT 7) TO STDOUT", out)
    assert isinstance(cur, psycopg2.extras.DictCursor) and out.getvalue() == "7\n"


def test_extras_connections_pick_their_cursor_class_and_keep_copy(table):
    # psycopg2's DictConnection/NamedTupleConnection choose the cursor class in
    # their own cursor(): guv's comes after theirs.
    for factory, cursor in [(psycopg2.extras.DictConnection, psycopg2.extras.DictCursor),
                            (psycopg2.extras.NamedTupleConnection, psycopg2.extras.NamedTupleCursor)]:
        c = psycopg2.connect(DSN, connection_factory=factory)
        try:
            cur = c.cursor()
            assert isinstance(cur, cursor)
            cur.copy_from(io.StringIO("8\teight\n"), table)
            cur.execute(sql.SQL("SELECT n FROM {}").format(sql.Identifier(table)))
            row = cur.fetchone()
            assert (row["n"] if cursor is psycopg2.extras.DictCursor else row.n) == 8
        finally:
            c.close()
