"""Run by test_preload under `python -m guv run`: C drivers with no support
module and no monkey_patch (psycopg2 without its wait callback, mysqlclient)
and redis-py with hiredis in 50 green threads, cooperative only because
libguv_hook is preloaded.
Usage: preload_drivers.py psycopg2|mysqlclient|redis-hiredis [patched]
(`patched`: check that python -m guv run --patch monkey-patched first)."""
import os
import sys

from helpers import N, WAIT, parallel

MODE = "preload + monkey_patch" if sys.argv[2:] == ["patched"] else "preload"


def sleep_query(connect, sql):
    """fn(i): one DB-API connection runs `sql` with (i, WAIT), returns the first column."""
    def query(i):
        conn = connect()
        try:
            cur = conn.cursor()
            cur.execute(sql, (i, WAIT))
            return cur.fetchone()[0]
        finally:
            conn.close()
    return query


def psycopg2_pg_sleep():
    import psycopg2
    import psycopg2.extensions

    assert psycopg2.extensions.get_wait_callback() is None, "import guv set a wait callback"
    dsn = os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test")
    if "user=" not in dsn:
        dsn += " user=postgres"
    query = sleep_query(lambda: psycopg2.connect(dsn + " sslmode=disable"), "SELECT %s FROM pg_sleep(%s)")
    assert parallel(f"psycopg2 {psycopg2.__version__.split()[0]} pg_sleep, {MODE}, no wait callback",
                    query) == list(range(N))


def mysqlclient_sleep():
    import MySQLdb

    opts = dict(kv.split("=", 1) for kv in
                os.environ.get("GUV_TEST_MYSQL", "host=127.0.0.1 port=3306 user=root db=test").split())
    opts["port"] = int(opts.get("port", 3306))
    query = sleep_query(lambda: MySQLdb.connect(**opts), "SELECT %s, SLEEP(%s)")
    version = ".".join(map(str, MySQLdb.version_info[:3]))
    assert parallel(f"mysqlclient {version} SELECT SLEEP, {MODE}", query) == list(range(N))


def redis_hiredis_blpop():
    """redis-py with hiredis' C parser, not monkey-patched: CPython's socket
    waits in poll(2) and recv(2), which the hook makes cooperative."""
    import redis
    from redis.utils import HIREDIS_AVAILABLE

    assert HIREDIS_AVAILABLE, "pip install hiredis"
    host, _, port = os.environ.get("GUV_TEST_REDIS", "127.0.0.1:6379").partition(":")
    r = redis.Redis(host=host, port=int(port), socket_timeout=10, max_connections=200)
    key = f"guv-eco-preload-{os.getpid()}"
    assert parallel(f"redis-py {redis.__version__} + hiredis BLPOP timeout, {MODE}",
                    lambda i: r.blpop([f"{key}-{i}"], timeout=WAIT)) == [None] * N


if __name__ == "__main__":
    assert "libguv_hook" in open("/proc/self/maps").read(), "not under python -m guv run"
    import guv.patcher
    assert guv.patcher.is_monkey_patched("socket") == (MODE != "preload")
    {"psycopg2": psycopg2_pg_sleep, "mysqlclient": mysqlclient_sleep,
     "redis-hiredis": redis_hiredis_blpop}[sys.argv[1]]()
    print("ok")
