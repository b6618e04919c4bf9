"""Run by test_psycopg in a process of its own per psycopg implementation
(PSYCOPG_IMPL=python or binary is read when psycopg is imported): after
guv.monkey_patch(), 50 pg_sleep(0.2) finish together and a Timeout cancels
a query on the server, leaving the connection usable."""
import os
import sys

import guv

guv.monkey_patch()

import psycopg  # noqa: E402

from helpers import WAIT, parallel, record, timed_out  # noqa: E402

DSN = os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test")
if "user=" not in DSN:
    DSN += " user=postgres"
IMPL = sys.argv[1]
assert psycopg.pq.__impl__ == IMPL, (psycopg.pq.__impl__, IMPL)
assert guv.patcher.is_monkey_patched("psycopg")


def query(i):
    with psycopg.connect(DSN) as conn:
        return conn.execute("SELECT %s::int, pg_sleep(%s)", (i, WAIT)).fetchone()[0]


assert parallel(f"psycopg {psycopg.__version__} ({IMPL}) pg_sleep", query) == list(range(50))

marker = f"guv_psycopg_timeout_{os.getpid()}"
with psycopg.connect(DSN) as conn, psycopg.connect(DSN, autocommit=True) as watcher:
    took = timed_out(lambda: conn.execute(f"SELECT pg_sleep(10) AS {marker}"))
    running = watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND state = 'active' "
                              "AND pid <> pg_backend_pid()", (f"%{marker}%",)).fetchone()[0]
    assert running == 0, f"{running} cancelled queries still run on the server"
    conn.rollback()
    assert conn.execute("SELECT 7").fetchone() == (7,)
record(f"psycopg {psycopg.__version__} ({IMPL}): Timeout(0.3) ended pg_sleep(10) in {took:.2f} s, "
       "cancelled on the server, connection usable")
print("ok")
