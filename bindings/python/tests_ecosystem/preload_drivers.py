"""Run by test_preload under `python -m guv run`: C drivers with no support
module and no monkey_patch (psycopg2 without its wait callback, mysqlclient)
in 50 green threads, cooperative only because libguv_hook is preloaded.
Usage: preload_drivers.py psycopg2|mysqlclient"""
import os
import sys

import guv

from helpers import N, WAIT, parallel


def psycopg2_pg_sleep():
    import psycopg2
    import psycopg2.extensions

    assert psycopg2.extensions.get_wait_callback() is None, "run with GUV_SUPPORT=0"
    dsn = os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test")
    if "user=" not in dsn:
        dsn += " user=postgres"

    def query(i):
        conn = psycopg2.connect(dsn + " sslmode=disable")
        try:
            cur = conn.cursor()
            cur.execute("SELECT %s FROM pg_sleep(%s)", (i, WAIT))
            return cur.fetchone()[0]
        finally:
            conn.close()

    assert parallel(f"psycopg2 {psycopg2.__version__.split()[0]} pg_sleep, preload, no wait callback",
                    query) == list(range(N))


def mysqlclient_sleep():
    import MySQLdb

    opts = dict(kv.split("=", 1) for kv in
                os.environ.get("GUV_TEST_MYSQL", "host=127.0.0.1 port=3306 user=root db=test").split())
    opts["port"] = int(opts.get("port", 3306))

    def query(i):
        conn = MySQLdb.connect(**opts)
        try:
            cur = conn.cursor()
            cur.execute("SELECT %s, SLEEP(%s)", (i, WAIT))
            return cur.fetchone()[0]
        finally:
            conn.close()

    version = ".".join(map(str, MySQLdb.version_info[:3]))
    assert parallel(f"mysqlclient {version} SELECT SLEEP, preload", query) == list(range(N))


if __name__ == "__main__":
    assert "libguv_hook" in open("/proc/self/maps").read(), "not under python -m guv run"
    {"psycopg2": psycopg2_pg_sleep, "mysqlclient": mysqlclient_sleep}[sys.argv[1]]()
    print("ok")
