"""CPython under LD_PRELOAD=libguv_hook.so with the guv binding: green
threads whose code calls only the standard library and psycopg2 (its wait
callback left unset: import guv sets none) cooperate. Run by `make test-hook-python`."""
import os
import socket
import sys
import time

import guv
import psycopg2
import psycopg2.extensions

N, WAIT, GATE = 50, 0.2, 2.5
PG = os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test user=postgres") + " sslmode=disable"


def parallel(what, fn):
    """Runs fn(i) in N green threads; asserts they overlapped and returns their results."""
    t0 = time.monotonic()
    threads = [guv.spawn(fn, i) for i in range(N)]
    results = [t.wait() for t in threads]
    elapsed = time.monotonic() - t0
    print(f"  {what}: {N} x {WAIT} s took {elapsed:.2f} s (serial {N * WAIT:.0f} s)")
    assert WAIT * 0.95 <= elapsed < GATE, elapsed
    return results


def nap(i):
    time.sleep(WAIT)
    return i


def recv_later(i):
    a, b = socket.socketpair()
    guv.spawn(lambda: (time.sleep(WAIT), b.sendall(b"%d" % i)))
    with a, b:
        return int(a.recv(16))


def pg_sleep(i):
    conn = psycopg2.connect(PG)
    try:
        cur = conn.cursor()
        cur.execute("SELECT %s FROM pg_sleep(%s)", (i, WAIT))
        return cur.fetchone()[0]
    finally:
        conn.close()


def main():
    assert "libguv_hook" in open("/proc/self/maps").read(), "run with LD_PRELOAD=libguv_hook.so"
    assert psycopg2.extensions.get_wait_callback() is None, "import guv set a wait callback"
    assert parallel("time.sleep", nap) == list(range(N))
    assert parallel("socket.recv on a blocking socket", recv_later) == list(range(N))
    assert parallel("psycopg2 pg_sleep without a wait callback", pg_sleep) == list(range(N))
    print("test_python: passed")


if __name__ == "__main__":
    sys.exit(main())
