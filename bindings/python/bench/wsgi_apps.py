"""The applications bench_wsgi.py serves: hello-world, and a 50 ms pg_sleep
through psycopg2 with connections from a pool of PG_POOL."""
import os


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, World!\n"]


_pool = None
# Seconds connections were held (checked out of the pool) and by how many
# requests; seconds between a connection's return and its next checkout, and
# how many such hand-offs.
_held = [0.0, 0, 0.0, 0]
_returned = {}


def pg_sleep(environ, start_response):
    global _pool
    import time

    import psycopg2

    if environ["PATH_INFO"] == "/held":
        start_response("200 OK", [])
        return [" ".join(map(str, _held)).encode()]

    from guv.queue import Queue

    if _pool is None:
        _pool = Queue()
        for _ in range(int(os.environ.get("PG_POOL", "10"))):
            _pool.put(psycopg2.connect(os.environ.get("GUV_TEST_PG", "host=127.0.0.1 dbname=test user=postgres")))
    conn = _pool.get()
    start = time.monotonic()
    if id(conn) in _returned:
        _held[2] += start - _returned[id(conn)]
        _held[3] += 1
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(0.05)")
        conn.rollback()
    finally:
        end = time.monotonic()
        _held[0] += end - start
        _held[1] += 1
        if _pool._getters:  # a request waits for it: how soon does it get it?
            _returned[id(conn)] = end
        else:
            _returned.pop(id(conn), None)
        _pool.put(conn)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"slept\n"]
