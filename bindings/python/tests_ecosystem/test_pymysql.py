"""PyMySQL (pure Python: monkey_patch's sockets make it cooperative) against
the MariaDB at GUV_TEST_MYSQL; guv.support.pymysql kills a query a Timeout
interrupted on the server."""
import os
import time

import pymysql

import guv
from helpers import WAIT, parallel, record, timed_out

OPTS = dict(kv.split("=", 1) for kv in os.environ.get("GUV_TEST_MYSQL", "host=127.0.0.1 port=3306 user=root db=test").split())
OPTS["port"] = int(OPTS.get("port", 3306))
OPTS["database"] = OPTS.pop("db", "test")
# PyMySQL otherwise builds a TLS context per connection (loading the system
# CAs: 80 ms of CPU each), which would measure the CPU, not the waits.
OPTS["ssl_disabled"] = True


def test_select_sleep():
    def query(i):
        conn = pymysql.connect(**OPTS)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT %s, SLEEP(%s)", (i, WAIT))
                return cur.fetchone()[0]
        finally:
            conn.close()

    assert guv.patcher.is_monkey_patched("pymysql")
    assert parallel(f"PyMySQL {pymysql.__version__} SELECT SLEEP", query) == list(range(50))


def _running(watcher, marker):
    with watcher.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.processlist WHERE info LIKE %s AND id <> CONNECTION_ID()",
                    (f"%{marker}%",))
        return cur.fetchone()[0]


def test_a_timeout_kills_the_query_on_the_server():
    marker = f"guv_pymysql_timeout_{os.getpid()}"
    conn, watcher = pymysql.connect(**OPTS), pymysql.connect(**OPTS)
    try:
        took = timed_out(lambda: conn.cursor().execute(f"SELECT SLEEP(10) AS {marker}"))
        deadline = time.monotonic() + 3
        while _running(watcher, marker) and time.monotonic() < deadline:
            guv.sleep(0.05)
        assert _running(watcher, marker) == 0, "the interrupted query still runs on the server"
        assert not conn.open  # closed: its reply stream stopped mid-way
        record(f"PyMySQL {pymysql.__version__}: Timeout(0.3) ended SLEEP(10) in {took:.2f} s, killed on the server")
    finally:
        watcher.close()
