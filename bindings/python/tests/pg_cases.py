"""What the psycopg2 and psycopg2cffi tests check alike, given the driver's
connect (or its name): queries that overlap, a guv.Timeout or a kill that
ends a long query on the server too, and green threads that share a
connection. The server's own view is asked through psycopg2."""
import os
import textwrap
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
    # All 50 are spawned before any runs, and each waits on its server before
    # it ends: cooperating, all have started before the first ends (an order,
    # not a time). 50 x pg_sleep(0.2) one after another take 10 s, overlapped
    # about 0.2 s plus connection setup; the gate is three quarters of the
    # serial time, which sleeps that did not overlap on the server cannot beat
    # (under 12 busy loops psycopg2cffi's 50 connections took up to 5.1 s).
    under_way = [0, 0]  # now, most at once

    def one(i):
        under_way[0] += 1
        under_way[1] = max(under_way[1], under_way[0])
        try:
            return query(connect, dsn, "SELECT pg_sleep(0.2), %s", i)
        finally:
            under_way[0] -= 1

    start = time.monotonic()
    gts = [guv.spawn(one, i) for i in range(50)]
    results = [gt.wait() for gt in gts]
    elapsed = time.monotonic() - start
    # pg_sleep's void is "" through psycopg2, None or "" through psycopg2cffi.
    assert [(len(r), r[0][0] in ("", None), r[0][1]) for r in results] == [(1, True, i) for i in range(50)]
    assert under_way[1] == 50
    assert 0.2 <= elapsed < 7.5, elapsed


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


# psycopg2 holds a connection's lock (a pthread mutex) across each wait in the
# callback, psycopg2cffi its RLock, which any green thread of the OS thread
# re-enters: a second green thread's call on that connection must wait green,
# not block the OS thread (which hangs the process) nor raise, so these run
# in a process of their own.
def _with_connection(script, driver, body, patch=False, timeout=30):
    """Runs `body` in a process of its own (`script`) with `c`, a connection
    of `driver`, and guv's support for it on: by enable(), or monkey_patch()."""
    head = (f"import os, time, guv\n{'guv.monkey_patch()' if patch else f'guv.support.{driver}.enable()'}\n"
            f"import threading, {driver} as driver\n"
            'c = driver.connect(os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test"))\n')
    return script(head + textwrap.dedent(body), timeout=timeout)


def commit_waits_green_for_another_green_threads_query(script, driver):
    r = _with_connection(script, driver, """
        def query():
            cur = c.cursor()
            cur.execute("SELECT pg_sleep(0.2), 1")
            return cur.fetchone()[1]
        gt = guv.spawn(query)
        guv.sleep(0.05)
        start = time.monotonic()
        c.commit()  # takes the lock the query holds: after it, and it committed the query's transaction
        print(gt.wait(), 0.1 < time.monotonic() - start < 2, c.get_transaction_status())
    """)
    assert r.stdout.split() == ["1", "True", "0"], r.stderr


def green_threads_share_a_connection_in_turn(script, driver):
    # psycopg2's connections are thread-safe: threads share one, their statements in turn.
    r = _with_connection(script, driver, """
        ticks = []
        def ticker():
            for _ in range(10):
                guv.sleep(0.02)
                ticks.append(1)
        def query(i):
            cur = c.cursor()
            cur.execute("SELECT pg_sleep(0.1), %s", (i,))
            return cur.fetchone()[1]
        t = guv.spawn(ticker)
        start = time.monotonic()
        # One tick proves the hub ran the ticker meanwhile (its first 20 ms sleep ends long before the
        # statements' 0.4 s); a count of 5 failed on a loaded machine.
        print(list(guv.GreenPool(4).imap(query, range(4))), 0.4 <= time.monotonic() - start < 3, len(ticks) >= 1)
    """)
    assert r.stdout.strip() == "[0, 1, 2, 3] True True", r.stderr


def a_commit_loop_lets_other_green_threads_run(script, driver):
    # psycopg2's test_commit_concurrency under monkey_patch: a thread commits in a
    # loop (nothing to commit: no network, no wait) while main queries and commits
    # on the same connection. psycopg2 releases the GIL in every commit; guv's
    # commit lets the other green threads run, else main never would again.
    r = _with_connection(script, driver, """
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
    """, patch=True, timeout=60)
    assert r.stdout.strip() == "(199,) []", r.stderr


def an_os_thread_shares_a_connection_with_a_green_thread(script, driver):
    # An OS thread of threading's (not patched) waits its turn for the green lock in its own hub.
    r = _with_connection(script, driver, """
        out = []
        def os_thread():
            time.sleep(0.05)
            cur = c.cursor()
            cur.execute("SELECT 2")
            out.append(cur.fetchone()[0])
            c.commit()
        t = threading.Thread(target=os_thread)
        t.start()
        cur = c.cursor()
        cur.execute("SELECT pg_sleep(0.3), 1")
        out.append(cur.fetchone()[1])
        t.join()
        print(out)
    """)
    assert r.stdout.strip() == "[1, 2]", r.stderr


def a_named_cursor_fetches_in_turn(script, driver):
    # A server-side cursor's fetch, scroll and iteration each run a statement (FETCH, MOVE):
    # begun while another green thread's query runs on the connection, each waits for it
    # (that query's thread finishes first), as an OS thread would; psycopg2 raised
    # "fetchone cannot be used while an asynchronous query is underway".
    r = _with_connection(script, driver, """
        order = []
        def busy():
            c.cursor().execute("SELECT pg_sleep(0.1)")
            order.append("query")
        def during_a_query(call):
            gt = guv.spawn(busy)
            guv.sleep(0.02)
            result = call()
            order.append("fetch")
            gt.wait()
            return result
        named = c.cursor("guv_named")
        named.execute("SELECT generate_series(1, 10)")
        iterated = c.cursor("guv_iterated")
        iterated.itersize = 2
        iterated.execute("SELECT generate_series(1, 3)")
        rows = iter(iterated)
        # The first next() fetches rows 1 and 2; row 2 is in memory then, and waits all the same.
        print(during_a_query(named.fetchone), during_a_query(lambda: named.fetchmany(2)),
              during_a_query(lambda: named.scroll(1)), during_a_query(named.fetchall),
              during_a_query(lambda: next(rows)), during_a_query(lambda: list(rows)),
              order == ["query", "fetch"] * 6)
    """)
    assert r.stdout.strip() == ("(1,) [(2,), (3,)] None [(5,), (6,), (7,), (8,), (9,), (10,)] "
                                "(1,) [(2,), (3,)] True"), r.stderr


SHARED_CONNECTION = [commit_waits_green_for_another_green_threads_query, green_threads_share_a_connection_in_turn,
                     a_commit_loop_lets_other_green_threads_run, an_os_thread_shares_a_connection_with_a_green_thread,
                     a_named_cursor_fetches_in_turn]
