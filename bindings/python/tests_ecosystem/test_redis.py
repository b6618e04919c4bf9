"""redis-py (pure Python protocol over the patched socket) against the
Redis at GUV_TEST_REDIS (127.0.0.1:6379): BLPOP with a timeout."""
import os
import time

import guv
import redis

from helpers import WAIT, parallel

HOST, _, PORT = os.environ.get("GUV_TEST_REDIS", "127.0.0.1:6379").partition(":")


def client():
    return redis.Redis(host=HOST, port=int(PORT), socket_timeout=10, max_connections=200)


def test_redis_is_up():
    assert client().ping(), f"no Redis at {HOST}:{PORT}"


def test_blpop_timeout_and_wakeup():
    r = client()
    prefix = f"guv-eco-{os.getpid()}"
    r.delete(*[f"{prefix}-{i}" for i in range(50)])

    # Nothing to pop: each BLPOP ends after its 0.2 s timeout, all together.
    assert parallel(f"redis-py {redis.__version__} BLPOP timeout",
                    lambda i: r.blpop([f"{prefix}-{i}"], timeout=WAIT)) == [None] * 50

    # A pusher fills the lists after 0.2 s; each BLPOP wakes with its value.
    def push_later():
        time.sleep(WAIT)
        for i in range(50):
            r.rpush(f"{prefix}-{i}", f"v{i}")

    guv.spawn(push_later)
    got = parallel("redis-py BLPOP woken by RPUSH",
                   lambda i: r.blpop([f"{prefix}-{i}"], timeout=5))
    assert got == [(f"{prefix}-{i}".encode(), f"v{i}".encode()) for i in range(50)]
