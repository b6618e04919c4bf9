"""The ecosystem suite: monkey_patch() is applied here, after pytest has
imported socket, ssl, threading and friends, so every test also proves that
patching after import works. Each compatibility test runs N slow operations
against a real server on loopback in N green threads and checks, through
parallel(), that they overlapped and that a ticker green thread kept ticking.

Servers this suite needs and does not start: PostgreSQL (GUV_TEST_PG),
MariaDB (GUV_TEST_MYSQL_*), Redis (GUV_TEST_REDIS); a test fails, never
skips, when one is down."""
import os

import guv

guv.monkey_patch()

import pytest  # noqa: E402


def pytest_sessionstart(session):
    # The report (GUV_ECO_REPORT, which `make test-python-eco` prints after the run) holds
    # this run's numbers only: appended to run after run, it showed a failed run's beside a pass.
    report = os.environ.get("GUV_ECO_REPORT")
    if report:
        open(report, "w").close()

@pytest.fixture
def spawn_server():
    """spawn_server(fn, *args): a green thread killed at the test's end."""
    started = []

    def start(fn, *args):
        gt = guv.spawn(fn, *args)
        started.append(gt)
        return gt

    yield start
    for gt in started:
        gt.kill()
