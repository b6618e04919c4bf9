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


# psycopg2 holds a connection's pthread lock across each wait in the callback:
# a second green thread's call on that connection must wait green, not block
# the OS thread (which would hang the process), so these run in a process of their own.
def test_commit_waits_green_for_another_green_threads_query(script):
    r = script("""
        import os, time, psycopg2, guv
        guv.support.psycopg2.enable()
        c = psycopg2.connect(os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test"))
        def query():
            cur = c.cursor()
            cur.execute("SELECT pg_sleep(0.2), 1")
            return cur.fetchone()[1]
        gt = guv.spawn(query)
        guv.sleep(0.05)
        start = time.monotonic()
        c.commit()  # takes the lock the query holds: after it, and it committed the query's transaction
        print(gt.wait(), 0.1 < time.monotonic() - start < 2, c.info.transaction_status)
    """, timeout=30)
    assert r.stdout.split() == ["1", "True", "0"], r.stderr


def test_green_threads_share_a_connection_in_turn(script):
    # psycopg2's connections are thread-safe: threads share one, their statements in turn.
    r = script("""
        import os, time, psycopg2, guv
        guv.support.psycopg2.enable()
        c = psycopg2.connect(os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test"))
        ticks = []
        def ticker():
            for _ in range(10):
                guv.sleep(0.02)
                ticks.append(1)
        def query(i):
            with c.cursor() as cur:
                cur.execute("SELECT pg_sleep(0.1), %s", (i,))
                return cur.fetchone()[1]
        t = guv.spawn(ticker)
        start = time.monotonic()
        # One tick proves the hub ran the ticker meanwhile (its first 20 ms sleep ends long before the
        # statements' 0.4 s); a count of 5 failed on a loaded machine.
        print(list(guv.GreenPool(4).imap(query, range(4))), 0.4 <= time.monotonic() - start < 3, len(ticks) >= 1)
    """, timeout=30)
    assert r.stdout.strip() == "[0, 1, 2, 3] True True", r.stderr


def test_a_commit_loop_lets_other_green_threads_run(script):
    # psycopg2's test_commit_concurrency under monkey_patch: a thread commits in a
    # loop (nothing to commit: no network, no wait) while main queries and commits
    # on the same connection. psycopg2 releases the GIL in every commit; guv's
    # commit lets the other green threads run, else main never would again.
    r = script("""
        import os, guv
        guv.monkey_patch()
        import threading, psycopg2
        c = psycopg2.connect(os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test"))
        notices, stop = [], []
        def committer():
            while not stop:
                c.commit()
                notices.extend(c.notices)
        t = threading.Thread(target=committer)
        t.start()
        cur = c.cursor()
        for i in range(200):
            cur.execute("SELECT %s", (i,))
            c.commit()
            notices.extend(c.notices)
        stop.append(True)
        t.join()
        print(cur.fetchone() if cur.description else None, notices)
    """, timeout=60)
    assert r.stdout.strip() == "(199,) []", r.stderr
