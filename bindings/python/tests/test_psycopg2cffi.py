"""psycopg2cffi against the real PostgreSQL (GUV_TEST_PG): cooperative once
guv.support.psycopg2cffi is enabled, as psycopg2 is with its support (the
same switch-on rules: monkey_patch(), or enable() by hand; importing guv
touches nothing). These tests fail, never skip, when PostgreSQL is down."""
import io
import os

import psycopg2cffi
import psycopg2cffi.extensions
import pytest

import guv
import pg_cases

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
    return pg_cases.query(psycopg2cffi.connect, dsn, sql, *params)


def test_fifty_sleeping_queries_overlap(dsn):
    pg_cases.fifty_sleeping_queries_overlap(psycopg2cffi.connect, dsn)


def test_timeout_cancels_a_long_query(dsn):
    pg_cases.timeout_cancels_a_long_query(psycopg2cffi.connect, dsn, "guv-cffi-timeout-test")


def test_kill_cancels_a_long_query(dsn):
    pg_cases.kill_cancels_a_long_query(psycopg2cffi.connect, dsn, "guv-cffi-kill-test")


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
        from psycopg2cffi._impl.connection import Connection
        assert e.get_wait_callback() is None and "_lock" not in Connection.__dict__  # its RLock again
        print("ok")
    """)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


@pytest.mark.parametrize("case", pg_cases.SHARED_CONNECTION, ids=lambda case: case.__name__)
def test_green_threads_sharing_a_connection(script, case):
    case(script, "psycopg2cffi")
