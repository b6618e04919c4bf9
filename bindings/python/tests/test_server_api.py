"""The original guv's convenience API: listen, connect, serve, StopServe,
wrap_ssl; guv.greenio (socket without monkey_patch, shutdown_safe);
guv.support.get_errno, gyield(switch_back), import_patched, guv.hubs."""
import errno
import socket as std_socket
import subprocess
import time

import pytest

import guv
import guv.greenio
import guv.hubs
import guv.support


def _echo_once(conn, addr):
    conn.sendall(conn.recv(100).upper())


def test_listen_gives_a_green_listening_socket_with_reuseaddr_and_no_reuseport_on_port_0():
    srv = guv.listen(("127.0.0.1", 0))
    try:
        assert isinstance(srv, guv.greenio.socket) and srv.getsockname()[1] != 0
        assert srv.getsockopt(std_socket.SOL_SOCKET, std_socket.SO_REUSEADDR)
        assert not srv.getsockopt(std_socket.SOL_SOCKET, std_socket.SO_REUSEPORT)
        assert srv.getsockopt(std_socket.SOL_SOCKET, std_socket.SO_ACCEPTCONN)
    finally:
        srv.close()


def test_listen_reuse_addr_false_and_reuse_port_true():
    with pytest.warns(RuntimeWarning):
        srv = guv.listen(("127.0.0.1", 0), reuse_addr=False, reuse_port=True)
    try:
        assert not srv.getsockopt(std_socket.SOL_SOCKET, std_socket.SO_REUSEADDR)
    finally:
        srv.close()


def test_connect_binds_first_and_talks_to_a_serve_echo():
    srv = guv.listen(("127.0.0.1", 0))
    server = guv.spawn(guv.serve, srv, _echo_once)
    c = guv.connect(srv.getsockname(), bind=("127.0.0.1", 0))
    assert c.getsockname()[0] == "127.0.0.1" and isinstance(c, guv.greenio.socket)
    c.sendall(b"hi")
    assert c.recv(10) == b"HI"
    server.kill(guv.StopServe)
    assert server.dead and server.wait() is None
    srv.close()


def test_serve_returns_when_a_handler_raises_stopserve_and_closes_each_connection():
    srv = guv.listen(("127.0.0.1", 0))

    def handle(conn, addr):
        data = conn.recv(100)
        if data == b"stop":
            raise guv.StopServe()
        conn.sendall(data)

    server = guv.spawn(guv.serve, srv, handle)
    a = guv.connect(srv.getsockname())
    a.sendall(b"x")
    assert a.recv(10) == b"x"
    assert a.recv(10) == b""  # closed by serve when the handler returned
    b = guv.connect(srv.getsockname())
    b.sendall(b"stop")
    assert server.wait() is None
    srv.close()


def test_serve_raises_what_a_handler_raises():
    srv = guv.listen(("127.0.0.1", 0))

    def handle(conn, addr):
        raise ValueError("handler failed")

    server = guv.spawn(guv.serve, srv, handle)
    guv.connect(srv.getsockname())
    with pytest.raises(ValueError, match="handler failed"):
        server.wait()
    srv.close()


def test_serve_runs_at_most_concurrency_handlers_at_once():
    srv = guv.listen(("127.0.0.1", 0))
    running, peak = [0], [0]

    def handle(conn, addr):
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        guv.sleep(0.02)
        running[0] -= 1
        conn.sendall(b"done")

    server = guv.spawn(guv.serve, srv, handle, concurrency=2)
    clients = [guv.connect(srv.getsockname()) for _ in range(5)]
    assert [c.recv(10) for c in clients] == [b"done"] * 5
    assert peak[0] == 2
    server.kill(guv.StopServe)
    srv.close()


def test_wrap_ssl_client_and_server(tmp_path):
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-subj", "/CN=localhost", "-days", "1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    srv = guv.wrap_ssl(guv.listen(("127.0.0.1", 0)), certfile=cert, keyfile=key, server_side=True)
    server = guv.spawn(guv.serve, srv, _echo_once)
    ticks = []
    ticker = guv.spawn(lambda: [ticks.append(guv.sleep(0.001)) for _ in range(3)])
    c = guv.wrap_ssl(guv.connect(srv.getsockname()))
    c.sendall(b"secret")
    assert c.recv(10) == b"SECRET"
    assert c.version().startswith("TLS") and type(c).__name__ == "GreenSSLSocket"
    ticker.wait()
    assert len(ticks) == 3
    server.kill(guv.StopServe)
    srv.close()


# guv.greenio, without monkey_patch

def test_greenio_socket_is_green_and_the_process_socket_is_not():
    assert std_socket.socket is not guv.greenio.socket
    assert issubclass(guv.greenio.socket, std_socket.socket)
    a, b = guv.green.socket.socketpair()
    got = []
    reader = guv.spawn(lambda: got.append(a.recv(10)))
    guv.sleep(0.01)
    assert not reader.dead  # main ran while it waited
    b.sendall(b"ping")
    reader.wait()
    assert got == [b"ping"]


def test_settimeout_raises_socket_timeout_on_accept_recv_and_send():
    srv = guv.greenio.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    srv.settimeout(0.05)
    start = time.monotonic()
    with pytest.raises(std_socket.timeout):
        srv.accept()
    assert 0.04 < time.monotonic() - start < 1
    c = guv.greenio.socket()
    c.connect(srv.getsockname())
    c.settimeout(0.05)
    with pytest.raises(TimeoutError):
        c.recv(10)
    with pytest.raises(std_socket.timeout):
        while True:
            c.send(b"x" * 65536)  # nobody reads: the buffers fill
    srv.close(), c.close()


def test_settimeout_raises_socket_timeout_on_connect():
    # A listener with a full accept queue drops further SYNs: connect waits.
    srv = std_socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    fillers = []
    try:
        with pytest.raises(std_socket.timeout):
            for _ in range(8):
                c = guv.greenio.socket()
                fillers.append(c)
                c.settimeout(0.1)
                c.connect(srv.getsockname())
    finally:
        for c in fillers:
            c.close()
        srv.close()


def test_connect_ex_returns_the_errno_the_stdlib_returns():
    probe = std_socket.socket()
    probe.bind(("127.0.0.1", 0))
    addr = probe.getsockname()
    probe.close()  # nothing listens there now
    std = std_socket.socket()
    green = guv.greenio.socket()
    try:
        assert green.connect_ex(addr) == std.connect_ex(addr) == errno.ECONNREFUSED
        srv = guv.listen(("127.0.0.1", 0))
        ok = guv.greenio.socket()
        assert ok.connect_ex(srv.getsockname()) == 0
        ok.close(), srv.close()
    finally:
        std.close(), green.close()


def test_makefile_reads_lines_and_writes():
    a, b = guv.green.socket.socketpair()
    rfile, wfile = a.makefile("rb"), b.makefile("wb")

    def writer():
        guv.sleep(0.01)
        wfile.write(b"line one\nline two\n")
        wfile.flush()

    guv.spawn(writer)
    assert rfile.readline() == b"line one\n"
    assert rfile.readline() == b"line two\n"
    a.close(), b.close()


def test_shutdown_safe():
    a, b = guv.green.socket.socketpair()
    guv.greenio.shutdown_safe(a)
    assert b.recv(10) == b""
    guv.greenio.shutdown_safe(a)  # already shut down: ignored
    unconnected = guv.greenio.socket()
    guv.greenio.shutdown_safe(unconnected)  # ENOTCONN: ignored
    a.close(), b.close(), unconnected.close()

    class NoArgument:
        def shutdown(self):
            return "shut"

    assert guv.greenio.shutdown_safe(NoArgument()) == "shut"


# The rest of the original API

def test_get_errno():
    assert guv.support.get_errno(OSError(errno.EPIPE, "broken")) == errno.EPIPE
    assert guv.support.get_errno(Exception(errno.EBADF, "old style")) == errno.EBADF
    assert guv.support.get_errno(Exception("no errno")) is None
    assert guv.support.get_errno(Exception()) is None


def test_gyield_switch_back_true_runs_the_others_and_returns():
    order = []
    guv.spawn(order.append, "other")
    guv.gyield(switch_back=True)
    order.append("main")
    assert order == ["other", "main"]


def test_gyield_switch_back_false_suspends_until_killed():
    after = []
    gt = guv.spawn(lambda: (guv.gyield(False), after.append(1)))
    guv.sleep(0.02)
    assert not gt.dead
    gt.kill()
    assert gt.dead and after == []


def test_gyield_switch_back_false_in_main_runs_the_hub_dry():
    # The original's hub returned to main when its loop had nothing left (its
    # tests' TestCondition ends with gyield(False) in main).
    done = []
    guv.spawn(lambda: (guv.sleep(0.02), done.append("sleeper")))
    guv.spawn(lambda: (guv.gyield(), done.append("yielder")))
    guv.gyield(False)
    assert done == ["yielder", "sleeper"]


def test_import_patched_at_top_level():
    import http.client

    green_client = guv.import_patched("http.client")
    assert green_client is not http.client
    assert green_client.socket.socket is guv.greenio.socket
    assert http.client.socket.socket is std_socket.socket


def test_hubs_get_hub_run_and_stop():
    hub = guv.hubs.get_hub()
    assert hub is guv.hubs.get_hub()

    def stopper():
        guv.sleep(0.02)
        hub.stop()
        guv.sleep(5)

    gt = guv.spawn(stopper)
    start = time.monotonic()
    hub.run()
    assert time.monotonic() - start < 1 and not gt.dead
    gt.kill()
    done = guv.spawn(guv.sleep, 0.01)
    hub.run()  # nothing calls stop: returns when no green thread is left
    assert done.dead


def test_hubs_unsupported_calls_name_the_replacement():
    with pytest.raises(AttributeError, match="spawn_after"):
        guv.hubs.get_hub().schedule_call_global(0, print)
    with pytest.raises(RuntimeError):
        guv.hubs.get_hub().stop()  # from main
