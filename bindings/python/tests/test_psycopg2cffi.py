"""psycopg2cffi against the real PostgreSQL (GUV_TEST_PG): cooperative once
guv.support.psycopg2cffi is enabled, as psycopg2 is with its support (the
same switch-on rules: monkey_patch(), or enable() by hand; importing guv
touches nothing). These tests fail, never skip, when PostgreSQL is down."""
import io
import os
import time

import psycopg2cffi
import psycopg2cffi.extensions
import pytest

import guv
# What the server still runs, asked through psycopg2 (any driver would do).
from test_psycopg2 import _gone_within, _running

DSN = os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test")


@pytest.fixture(scope="module")
def dsn():
    from guv.support import psycopg2cffi as support

    try:
        psycopg2cffi.connect(DSN + " connect_timeout=5").close()
    except psycopg2cffi.OperationalError as e:
        pytest.fail(f"PostgreSQL at GUV_TEST_PG={DSN!r} is unreachable: {e}")
    support.enable()
    yield DSN
    support.disable()


def _query(dsn, sql, *params):
    conn = psycopg2cffi.connect(dsn)
    try:
        cur = conn.cursor()
        cur.execute(sql, params)
        return cur.fetchall()
    finally:
        conn.close()


def test_fifty_sleeping_queries_overlap(dsn):
    start = time.monotonic()
    gts = [guv.spawn(_query, dsn, "SELECT pg_sleep(0.2), %s", i) for i in range(50)]
    results = [gt.wait() for gt in gts]
    elapsed = time.monotonic() - start
    assert results == [[(None, i)] for i in range(50)] or results == [[("", i)] for i in range(50)]
    assert 0.2 <= elapsed < 2.5, elapsed


def test_timeout_cancels_a_long_query(dsn):
    conn = psycopg2cffi.connect(dsn)
    try:
        cur = conn.cursor()
        start = time.monotonic()
        with pytest.raises(guv.Timeout):
            with guv.Timeout(0.3):
                cur.execute("SELECT pg_sleep(30) /* guv-cffi-timeout-test */")
        assert time.monotonic() - start < 2.0
        assert _gone_within(dsn, "guv-cffi-timeout-test", 3.0), "the query still runs on the server"
    finally:
        conn.close()


def test_kill_cancels_a_long_query(dsn):
    gt = guv.spawn(_query, dsn, "SELECT pg_sleep(30) /* guv-cffi-kill-test */")
    guv.sleep(0.3)
    assert _running(dsn, "guv-cffi-kill-test") == 1
    start = time.monotonic()
    gt.kill()
    assert time.monotonic() - start < 2.0
    with pytest.raises(guv.GreenletExit):
        gt.wait()
    assert _gone_within(dsn, "guv-cffi-kill-test", 3.0), "the query still runs on the server"


def test_errors_are_psycopg2cffi_errors(dsn):
    with pytest.raises(psycopg2cffi.ProgrammingError):
        _query(dsn, "SELECT * FROM guv_no_such_table")
    assert _query(dsn, "SELECT 41 + 1") == [(42,)]


def test_copy_is_refused_not_spinning(dsn):
    conn = psycopg2cffi.connect(dsn)
    try:
        with pytest.raises(psycopg2cffi.NotSupportedError):
            conn.cursor().copy_expert("COPY (SELECT 1) TO STDOUT", io.StringIO())
    finally:
        conn.close()


def test_switch_on_rules(script):
    r = script("""
        import guv, psycopg2cffi.extensions as e
        import guv.support.psycopg2cffi as s
        assert e.get_wait_callback() is None and not s.enabled()   # importing guv: nothing
        guv.monkey_patch(psycopg2cffi=False)
        assert e.get_wait_callback() is None
        guv.monkey_patch()
        assert s.enabled()
        s.disable()
        assert e.get_wait_callback() is None
        print("ok")
    """)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
