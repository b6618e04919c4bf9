"""psycopg2 against the real PostgreSQL (GUV_TEST_PG): cooperative once
guv.support.psycopg2 is enabled. These tests fail, never skip, when it is down."""
import os
import time

import psycopg2
import psycopg2.errors
import pytest

import guv
import pg_cases

DSN = os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test")
pytestmark = pytest.mark.usefixtures("psycopg2_support")


@pytest.fixture(scope="module")
def dsn():
    try:
        psycopg2.connect(DSN, connect_timeout=5).close()
    except psycopg2.OperationalError as e:
        pytest.fail(f"PostgreSQL at GUV_TEST_PG={DSN!r} is unreachable: {e}")
    return DSN


def _query(dsn, sql, *params):
    return pg_cases.query(psycopg2.connect, dsn, sql, *params)


def test_fifty_sleeping_queries_overlap(dsn):
    pg_cases.fifty_sleeping_queries_overlap(psycopg2.connect, dsn)


def test_main_keeps_running_green_threads_during_a_query(dsn):
    ticks = []

    def ticker():
        for _ in range(10):
            guv.sleep(0.02)
            ticks.append(time.monotonic())

    t = guv.spawn(ticker)
    assert _query(dsn, "SELECT pg_sleep(0.3), 1") == [("", 1)]
    # The ticker ran while main waited for PostgreSQL: its first 20 ms sleep
    # ends long before the server's 0.3 s one (a count of 5 failed under load).
    assert len(ticks) >= 1
    t.wait()


def test_timeout_cancels_a_long_query(dsn):
    pg_cases.timeout_cancels_a_long_query(psycopg2.connect, dsn, "guv-timeout-test")


def test_kill_cancels_a_long_query(dsn):
    pg_cases.kill_cancels_a_long_query(psycopg2.connect, dsn, "guv-kill-test")


def test_failing_statement_raises_the_psycopg2_error(dsn):
    conn = psycopg2.connect(dsn)
    try:
        cur = conn.cursor()
        with pytest.raises(psycopg2.errors.DivisionByZero):
            cur.execute("SELECT 1 / 0")
        conn.rollback()
        with pytest.raises(psycopg2.errors.UndefinedTable):
            cur.execute("SELECT * FROM guv_no_such_table")
        conn.rollback()
        cur.execute("SELECT 41 + 1")
        assert cur.fetchone() == (42,)
    finally:
        conn.close()


def test_errors_in_green_threads_reach_wait(dsn):
    gt = guv.spawn(_query, dsn, "SELECT 1 / 0")
    with pytest.raises(psycopg2.errors.DivisionByZero):
        gt.wait()


def test_support_module_is_an_attribute_after_import_guv(script):
    # The README's `guv.support.psycopg2.enable()` after a bare `import guv`;
    # the driver is imported only then.
    r = script("""
        import sys, guv
        assert "psycopg2" not in sys.modules
        guv.support.psycopg2.enable()
        print(guv.support.psycopg2.enabled(), "psycopg2" in sys.modules)
    """)
    assert r.stdout.split() == ["True", "True"], r.stderr


def test_named_cursors_of_every_class_fetch_in_turn(script):
    # Beside pg_cases.a_named_cursor_fetches_in_turn: next() on the cursor itself, and cursor
    # classes of psycopg2.extras (whose iteration calls next()), given to cursor() or to the connection.
    r = script("""
        import os, guv, psycopg2, psycopg2.extras as extras
        guv.support.psycopg2.enable()
        c = psycopg2.connect(os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test"))
        def during_a_query(call):
            gt = guv.spawn(lambda: c.cursor().execute("SELECT pg_sleep(0.1)"))
            guv.sleep(0.02)
            result = call()
            assert gt.dead
            return result
        plain = c.cursor("guv_plain")
        plain.execute("SELECT 1")
        dicts = c.cursor("guv_dicts", cursor_factory=extras.RealDictCursor)
        dicts.execute("SELECT generate_series(1, 2) AS n")
        c.cursor_factory = extras.NamedTupleCursor
        tuples = c.cursor("guv_tuples")
        tuples.execute("SELECT 3 AS n")
        print(during_a_query(lambda: next(plain)), during_a_query(lambda: [dict(r) for r in dicts]),
              during_a_query(tuples.fetchone), isinstance(dicts, extras.RealDictCursor),
              type(c.cursor()) is extras.NamedTupleCursor)
    """, env={"GUV_TEST_PG": os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test")})
    assert r.stdout.strip() == "(1,) [{'n': 1}, {'n': 2}] Record(n=3) True True", r.stderr


@pytest.mark.parametrize("case", pg_cases.SHARED_CONNECTION, ids=lambda case: case.__name__)
def test_green_threads_sharing_a_connection(script, case):
    case(script, "psycopg2")
