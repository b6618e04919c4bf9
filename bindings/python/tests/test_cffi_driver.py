"""A driver written with cffi (ABI mode) that calls guv_trampoline through
cffi, among guv's Python green threads: examples/cffi_libpq.py, against
the real PostgreSQL (GUV_TEST_PG). cffi releases the GIL around the call;
guv suspends the green thread there; a Timeout and a kill end the wait."""
import errno
import os
import re
import sys
import time

import pytest

import guv
import guv.native

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))
import cffi_libpq  # noqa: E402

DSN = os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test")
# Markers of this process's queries: another run on the shared server has its own.
TIMEOUT_MARK, KILL_MARK = f"guv-cffi-driver-timeout-{os.getpid()}", f"guv-cffi-driver-kill-{os.getpid()}"


@pytest.fixture(scope="module")
def dsn():
    try:
        cffi_libpq.Connection(DSN).close()
    except cffi_libpq.Error as e:
        pytest.fail(f"PostgreSQL at GUV_TEST_PG={DSN!r} is unreachable: {e}")
    return DSN


def _active(dsn, marker):
    with cffi_libpq.Connection(dsn) as c:
        return int(c.query("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                           f"AND query LIKE '%{marker}%' AND pid <> pg_backend_pid()")[0][0])


def test_fifty_queries_overlap(dsn):
    start = time.monotonic()
    cffi_libpq.main(dsn)
    # Half the serial 10 s, which sleeps that did not overlap on the server
    # cannot beat (a quarter failed on a loaded machine).
    assert time.monotonic() - start < 5.0


def test_timeout_ends_the_wait_and_cancels(dsn):
    with cffi_libpq.Connection(dsn) as c:
        start = time.monotonic()
        with pytest.raises(guv.Timeout):
            with guv.Timeout(0.3):
                c.query(f"SELECT pg_sleep(30) /* {TIMEOUT_MARK} */")
        assert time.monotonic() - start < 2.0
        assert _active(dsn, TIMEOUT_MARK) == 0
        assert c.query("SELECT 5") == [["5"]]  # the connection goes on


def test_kill_ends_the_wait_and_cancels(dsn):
    def long_query():
        with cffi_libpq.Connection(dsn) as c:
            c.query(f"SELECT pg_sleep(30) /* {KILL_MARK} */")

    gt = guv.spawn(long_query)
    guv.sleep(0.3)
    start = time.monotonic()
    gt.kill()
    with pytest.raises(guv.GreenletExit):
        gt.wait()
    assert time.monotonic() - start < 2.0
    assert _active(dsn, KILL_MARK) == 0


def test_other_failures_are_oserror():
    with pytest.raises(OSError) as e:
        guv.native.raise_for(errno.EBADF)
    assert e.value.errno == errno.EBADF


def test_package_ships_the_header_its_library_matches():
    header = open(os.path.join(guv.native.include_dir(), "guv.h")).read()
    # The prototypes the example declares are guv.h's own.
    for proto in ("int guv_trampoline(int fd, int events);", "int guv_forget(int fd);"):
        assert proto in header
    assert re.search(r"#define GUV_READ 1\b", header) and re.search(r"#define GUV_WRITE 2\b", header)
    assert os.path.isfile(guv.native.library())
