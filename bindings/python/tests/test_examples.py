"""The ported examples in bindings/python/examples run and do what they say."""
import os
import subprocess
import sys
import time

import pytest

import guv

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
# The examples import the guv under test (an installed copy under make test-python).
ENV = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(guv.__file__)))


def start(name, *args):
    proc = subprocess.Popen([sys.executable, os.path.join(EXAMPLES, name), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        pytest.fail(f"{name} printed nothing: {proc.stderr.read()}")
    return proc, int(line.rsplit(":", 1)[1].strip().rstrip("/"))


def test_crawler_fetches_twenty_slow_pages_concurrently():
    start_time = time.monotonic()
    r = subprocess.run([sys.executable, os.path.join(EXAMPLES, "crawler.py")], capture_output=True, text=True,
                       timeout=60, env=ENV)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 21
    for i, line in enumerate(lines[:20]):  # in order, each page whole ("page /i\n" 100 times)
        assert line.endswith(f"/{i}: {len(f'page /{i}') * 100 + 100} bytes"), line
    took = float(lines[-1].split(" in ")[1].split()[0])
    assert took < 2.0, lines[-1]  # 20 x 0.2 s one after the other would be 4 s
    assert time.monotonic() - start_time < 30


def test_echo_server_echoes_and_stops_on_shutdown():
    proc, port = start("echo_server.py", "0")
    try:
        a, b = guv.connect(("127.0.0.1", port)), guv.connect(("127.0.0.1", port))
        a.sendall(b"hello\n")
        b.sendall(b"world\n")
        assert a.recv(100) == b"hello\n" and b.recv(100) == b"world\n"
        a.sendall(b"quit\n")
        assert a.recv(100) == b""
        b.sendall(b"shutdown\n")
        assert proc.wait(10) == 0
        assert proc.stdout.read().splitlines()[-1] == "stopped"
    finally:
        proc.kill()


def test_wsgi_app_serves_hello_and_echo():
    proc, port = start("wsgi_app.py", "0")
    try:
        c = guv.connect(("127.0.0.1", port))
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nContent-Length: 4\r\n"
                  b"Connection: close\r\n\r\nping")
        data = b""
        while chunk := c.recv(4096):
            data += chunk
        assert data.count(b"HTTP/1.1 200 OK") == 2
        assert b"\r\n\r\nHello, World!\n" in data and data.endswith(b"\r\n\r\nping")
    finally:
        proc.kill()
        proc.wait()
