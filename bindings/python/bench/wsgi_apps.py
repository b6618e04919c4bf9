"""The applications bench_wsgi.py serves: hello-world, and a 50 ms pg_sleep
through psycopg2 with connections from a pool of PG_POOL."""
import os


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, World!\n"]


_pool = None
# Seconds connections were held (checked out of the pool) and by how many requests.
_held = [0.0, 0]


def pg_sleep(environ, start_response):
    global _pool
    import time

    import psycopg2

    if environ["PATH_INFO"] == "/held":
        start_response("200 OK", [])
        return [f"{_held[0]} {_held[1]}".encode()]

    from guv.queue import Queue

    if _pool is None:
        _pool = Queue()
        for _ in range(int(os.environ.get("PG_POOL", "10"))):
            _pool.put(psycopg2.connect(os.environ.get("GUV_TEST_PG", "host=127.0.0.1 dbname=test user=postgres")))
    conn = _pool.get()
    start = time.monotonic()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(0.05)")
        conn.rollback()
    finally:
        _held[0] += time.monotonic() - start
        _held[1] += 1
        _pool.put(conn)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"slept\n"]
