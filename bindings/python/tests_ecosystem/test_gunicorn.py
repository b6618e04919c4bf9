"""gunicorn -k guv.GuvWorker: one worker process serves 100
slow requests at once, keeps connections alive, honours worker_connections
and finishes the requests in progress on SIGTERM."""
import http.client
import json
import os
import signal
import subprocess
import sys
import time

import gunicorn
import guv
import pytest

from helpers import free_port, parallel, wait_for_port

HERE = os.path.dirname(os.path.abspath(__file__))


def start(*options):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-k", "guv.GuvWorker", "-w", "1",
                             "-b", f"127.0.0.1:{port}", "--backlog", "256", "--chdir", HERE,
                             "--graceful-timeout", "10", *options, "eco_app:app"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for_port(port, timeout=60, proc=proc)
    return proc, port


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.stderr.read()


def get(port, path, conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    c.request("GET", path)
    r = c.getresponse()
    body = json.loads(r.read())
    if conn is None:
        c.close()
    return r.status, body, r.getheader("Connection")


@pytest.fixture(scope="module")
def server():
    proc, port = start("--worker-connections", "1000", "--keep-alive", "5")
    yield proc, port
    stop(proc)


def test_100_concurrent_slow_requests_on_one_worker(server):
    _, port = server
    got = parallel(f"gunicorn {gunicorn.__version__} GuvWorker, 100 requests", lambda i: get(port, "/sleep?s=0.2"),
                   n=100)
    assert {status for status, _, _ in got} == {200}
    assert len({body["pid"] for _, body, _ in got}) == 1, "one worker process served them all"
    assert {body["sleep"] for _, body, _ in got} == {"guv.green.time"}
    assert get(port, "/stats")[1]["most"] >= 50


def test_keep_alive(server):
    _, port = server
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    first = get(port, "/sleep?s=0", conn)
    second = get(port, "/sleep?s=0", conn)
    conn.close()
    assert first[0] == second[0] == 200 and first[2] != "close"
    assert first[1]["port"] == second[1]["port"], "both requests came on one connection"


def test_worker_connections_bounds_concurrency():
    proc, port = start("--worker-connections", "10")
    try:
        got = parallel("gunicorn worker_connections=10, 30 requests",
                       lambda i: get(port, "/sleep?s=0.2")[0], n=30)
        assert got == [200] * 30
        most = get(port, "/stats")[1]["most"]
        assert 5 <= most <= 10, most
    finally:
        stop(proc)


def test_graceful_shutdown_finishes_requests_in_progress():
    proc, port = start("--worker-connections", "100")
    results = []

    def slow(i):
        results.append(get(port, "/sleep?s=2")[0])

    clients = [guv.spawn(slow, i) for i in range(20)]
    deadline = time.monotonic() + 1.5
    while get(port, "/stats")[1]["in_progress"] < 20:
        assert time.monotonic() < deadline, "the 20 requests did not all start"
        time.sleep(0.05)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    for c in clients:
        c.wait()
    log = stop(proc)
    assert results == [200] * 20, log
    assert proc.returncode == 0, log
    assert time.monotonic() - t0 < 8, "the worker did not leave once its requests were done"
    with pytest.raises(OSError):
        get(port, "/sleep?s=0")
