"""What the psycopg2 and psycopg2cffi tests check alike, given the driver's
connect: queries that overlap, and a guv.Timeout or a kill that ends a long
query on the server too. The server's own view is asked through psycopg2."""
import os
import time

import psycopg2
import pytest

import guv


def query(connect, dsn, sql, *params):
    """The rows of `sql` on a connection of its own."""
    conn = connect(dsn)
    try:
        cur = conn.cursor()
        cur.execute(sql, params)
        return cur.fetchall()
    finally:
        conn.close()


def running(dsn, marker):
    """Statements containing `marker` that the server is still running."""
    return query(psycopg2.connect, dsn, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                 "AND query LIKE %s AND pid <> pg_backend_pid()", f"%{marker}%")[0][0]


def gone_within(dsn, marker, seconds):
    deadline = time.monotonic() + seconds
    while running(dsn, marker):
        if time.monotonic() > deadline:
            return False
        guv.sleep(0.05)
    return True


def fifty_sleeping_queries_overlap(connect, dsn):
    # 50 x pg_sleep(0.2) takes 10 s one after another; overlapped, about 0.2 s
    # plus connection setup. Required: under a quarter of the serial time.
    start = time.monotonic()
    gts = [guv.spawn(query, connect, dsn, "SELECT pg_sleep(0.2), %s", i) for i in range(50)]
    results = [gt.wait() for gt in gts]
    elapsed = time.monotonic() - start
    # pg_sleep's void is "" through psycopg2, None or "" through psycopg2cffi.
    assert [(len(r), r[0][0] in ("", None), r[0][1]) for r in results] == [(1, True, i) for i in range(50)]
    assert 0.2 <= elapsed < 2.5, elapsed


def timeout_cancels_a_long_query(connect, dsn, marker):
    marker = f"{marker}-{os.getpid()}"  # another run on the shared server has its own
    conn = connect(dsn)
    try:
        cur = conn.cursor()
        start = time.monotonic()
        with pytest.raises(guv.Timeout):
            with guv.Timeout(0.3):
                cur.execute(f"SELECT pg_sleep(30) /* {marker} */")
        assert time.monotonic() - start < 2.0
        assert gone_within(dsn, marker, 3.0), "the query still runs on the server"
    finally:
        conn.close()


def kill_cancels_a_long_query(connect, dsn, marker):
    marker = f"{marker}-{os.getpid()}"  # another run on the shared server has its own
    gt = guv.spawn(query, connect, dsn, f"SELECT pg_sleep(30) /* {marker} */")
    guv.sleep(0.3)
    assert running(dsn, marker) == 1
    start = time.monotonic()
    gt.kill()
    assert time.monotonic() - start < 2.0
    with pytest.raises(guv.GreenletExit):
        gt.wait()
    assert gone_within(dsn, marker, 3.0), "the query still runs on the server"
