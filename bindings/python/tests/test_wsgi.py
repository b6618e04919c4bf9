"""guv.wsgi: PEP 3333, HTTP/1.0 and 1.1, keep-alive, pipelining, chunked
bodies, 100-continue, HEAD, disconnects, graceful stop, and bad input."""
import io
import os
import sys
import time

import pytest

import guv
import guv.wsgi
from wsgi_helpers import Running, hello

GET = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


@pytest.fixture
def serve():
    servers = []

    def start(app, **kw):
        s = Running(app, **kw)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()
        assert s.idle(), "a connection's green thread was left behind"


def echo_body(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


def test_readme_quickstart_runs_verbatim(script):
    # The README's lines as they are (port 0), and a client on a real OS thread.
    r = script("""
        import guv; guv.monkey_patch()
        import guv.wsgi

        def app(environ, start_response):
            start_response('200 OK', [('Content-Type', 'text/plain')])
            return [b'Hello, World!\\n']

        def client(port):
            import http.client, os
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
            conn.request('GET', '/')
            print(conn.getresponse().read().decode(), end='', flush=True)
            os._exit(0)

        real_threading = guv.patcher.original('threading')
        real_socket = guv.patcher.original('socket')
        import http.client
        http.client.socket = real_socket  # the client thread's sockets block that thread only

        server_sock = guv.listen(('127.0.0.1', 0))
        real_threading.Thread(target=client, args=(server_sock.getsockname()[1],)).start()
        guv.wsgi.serve(server_sock, app)
    """, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Hello, World!\n"


def test_environ_follows_pep_3333(serve):
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        return echo_body(environ, start_response)

    s = serve(app)
    c = s.connect()
    c.send(b"POST /a%20b/c?x=1&y=%20 HTTP/1.1\r\nHost: example\r\nContent-Type: text/plain\r\n"
           b"Content-Length: 4\r\nX-Multi: one\r\nX-Multi: two\r\nCookie: a=1\r\nCookie: b=2\r\n"
           b"X_Underscore: dropped\r\n\r\nbody")
    status, headers, body = c.response()
    assert (status, body, headers["content-length"]) == (200, b"body", "4")
    assert "date" in headers and "connection" not in headers
    assert seen["REQUEST_METHOD"] == "POST" and seen["SCRIPT_NAME"] == ""
    assert seen["PATH_INFO"] == "/a b/c" and seen["QUERY_STRING"] == "x=1&y=%20"
    assert seen["REQUEST_URI"] == "/a%20b/c?x=1&y=%20"
    assert seen["CONTENT_TYPE"] == "text/plain" and seen["CONTENT_LENGTH"] == "4"
    assert seen["HTTP_HOST"] == "example" and seen["HTTP_X_MULTI"] == "one,two"
    assert seen["HTTP_COOKIE"] == "a=1; b=2" and "HTTP_X_UNDERSCORE" not in seen
    assert seen["SERVER_PROTOCOL"] == "HTTP/1.1" and seen["SERVER_PORT"] == str(s.port)
    assert seen["REMOTE_ADDR"] == "127.0.0.1" and seen["wsgi.version"] == (1, 0)
    assert seen["wsgi.url_scheme"] == "http" and seen["wsgi.errors"] is sys.stderr
    assert seen["wsgi.multiprocess"] is False and seen["wsgi.run_once"] is False
    c.close()


def test_wsgi_input_read_readline_readlines_and_iteration(serve):
    got = {}

    def app(environ, start_response):
        inp = environ["wsgi.input"]
        got["read3"] = inp.read(3)
        got["readline"] = inp.readline()
        got["readline_limited"] = inp.readline(2)
        got["iter"] = next(iter(inp))
        got["readlines"] = inp.readlines()
        got["rest"] = inp.read()
        start_response("200 OK", [])
        return []

    s = serve(app)
    body = b"abcdef\nghij\nkl\nmn\nop"
    c = s.connect()
    c.send(b"PUT / HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    assert c.response()[0] == 200
    assert got == {"read3": b"abc", "readline": b"def\n", "readline_limited": b"gh", "iter": b"ij\n",
                   "readlines": [b"kl\n", b"mn\n", b"op"], "rest": b""}
    c.close()


def test_write_callable_iterable_close_and_file_wrapper(serve, tmp_path):
    closed = []

    class Body:
        def __iter__(self):
            yield b"two "
            yield b""
            yield b"three"

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/file":
            path = tmp_path / "f.txt"
            path.write_bytes(b"x" * 20000)
            start_response("200 OK", [])
            return environ["wsgi.file_wrapper"](open(path, "rb"), 4096)
        write = start_response("200 OK", [("X-Test", "1")])
        write(b"one ")
        return Body()

    s = serve(app)
    c = s.connect()
    c.send(GET)
    status, headers, body = c.response()
    assert (status, body, headers["transfer-encoding"], headers["x-test"]) == (200, b"one two three", "chunked", "1")
    assert closed == [True]
    c.send(b"GET /file HTTP/1.1\r\n\r\n")
    assert c.response()[2] == b"x" * 20000
    c.close()


def test_http10_closes_unless_keep_alive_is_asked(serve):
    s = serve(hello)
    assert s.request(b"GET / HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 200 OK\r\n")
    c = s.connect()
    c.send(b"GET / HTTP/1.0\r\n\r\n")
    status, headers, body = c.response()
    assert headers["connection"] == "close" and body == b"Hello, World!\n" and c.closed_by_server()
    c = s.connect()
    for _ in range(3):  # ab -k's way: HTTP/1.0 with Connection: Keep-Alive
        c.send(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
        status, headers, body = c.response()
        assert (status, headers["connection"], headers["content-length"]) == (200, "keep-alive", "14")
    c.close()


def test_http10_body_of_unknown_length_ends_with_the_connection(serve):
    def app(environ, start_response):
        start_response("200 OK", [])
        yield b"part1 "
        yield b"part2"

    s = serve(app)
    c = s.connect()
    c.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    status, headers, body = c.response()
    assert body == b"part1 part2" and "transfer-encoding" not in headers and headers["connection"] == "close"


def test_http11_keep_alive_and_connection_close(serve):
    s = serve(hello)
    c = s.connect()
    for _ in range(3):
        c.send(GET)
        assert c.response()[2] == b"Hello, World!\n"
    c.send(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert c.response()[1]["connection"] == "close"
    assert c.closed_by_server()


def test_keepalive_false_closes_after_each_response(serve):
    s = serve(hello, keepalive=False)
    c = s.connect()
    c.send(GET)
    assert c.response()[1]["connection"] == "close" and c.closed_by_server()


def test_numeric_keepalive_is_the_idle_timeout_between_requests(serve):
    s = serve(hello, keepalive=0.1, socket_timeout=5)
    c = s.connect()
    guv.sleep(0.2)  # the first request may take socket_timeout to come
    c.send(GET)
    assert c.response()[0] == 200
    start = time.monotonic()
    assert c.closed_by_server()  # idle after a response: keepalive's 0.1 s
    assert time.monotonic() - start < 2


def test_blank_lines_before_a_request_are_skipped(serve):
    s = serve(echo_body)
    c = s.connect()
    c.send(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nok\r\n" + GET)  # an old client's extra CRLF
    assert c.response()[2] == b"ok" and c.response()[0] == 200
    c.close()


def test_pipelined_requests_are_answered_in_order(serve):
    def app(environ, start_response):
        start_response("200 OK", [])
        return [environ["PATH_INFO"].encode(), environ["wsgi.input"].read()]

    s = serve(app)
    c = s.connect()
    c.send(b"GET /1 HTTP/1.1\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\n\r\n"
           b"POST /4 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n")
    assert [c.response()[2] for _ in range(4)] == [b"/1", b"/2abc", b"/3", b"/4xy"]
    c.close()


def test_unread_body_is_skipped_before_the_next_request(serve):
    s = serve(hello)
    c = s.connect()
    c.send(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello" + GET)
    assert c.response()[0] == 200 and c.response()[0] == 200
    c.close()


def test_chunked_request_body_with_extensions_and_trailers(serve):
    s = serve(echo_body)
    c = s.connect()
    c.send(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n")
    assert c.response()[2] == b"hello 0123456789"
    c.send(GET)
    assert c.response()[0] == 200  # the connection goes on after the trailers
    c.close()


def test_expect_100_continue_is_sent_when_the_app_reads(serve):
    s = serve(echo_body)
    c = s.connect()
    c.send(b"POST / HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    assert c.response()[0] == 100
    c.send(b"data")
    assert c.response()[2] == b"data"
    c.close()


def test_expect_100_continue_not_sent_when_the_app_does_not_read(serve):
    s = serve(hello)
    c = s.connect()
    c.send(b"POST / HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    status, headers, body = c.response()
    assert status == 200 and headers["connection"] == "close"  # the body never came: the connection ends
    assert c.closed_by_server()


def test_head_sends_the_headers_only_and_keeps_the_connection(serve):
    def gen(environ, start_response):
        start_response("200 OK", [])
        yield b"generated"

    s = serve(hello)
    c = s.connect()
    c.send(b"HEAD / HTTP/1.1\r\n\r\n")
    status, headers, body = c.response(head_only=True)
    assert status == 200 and headers["content-length"] == "14"
    c.send(GET)  # had a body been sent after the HEAD, this would read it as the status line
    assert c.response()[2] == b"Hello, World!\n"
    c.close()
    g = serve(gen)
    c = g.connect()
    c.send(b"HEAD / HTTP/1.1\r\n\r\n")
    assert "transfer-encoding" not in c.response(head_only=True)[1]
    c.send(GET)
    assert c.response()[2] == b"generated"
    c.close()


def test_client_disconnect_mid_response_ends_only_that_connection(serve):
    closed = []
    sent = []

    class Stream:
        def __iter__(self):
            for i in range(1000):
                sent.append(i)
                yield b"x" * 65536
                guv.sleep(0.001)

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        if environ["PATH_INFO"] != "/stream":
            return hello(environ, start_response)
        start_response("200 OK", [])
        return Stream()

    s = serve(app)
    c = s.connect()
    c.send(b"GET /stream HTTP/1.1\r\n\r\n")
    c.rfile.readline()
    c.close()
    assert s.idle() and closed == [True] and len(sent) < 1000
    assert s.request(b"GET / HTTP/1.0\r\n\r\n")[:12] == b"HTTP/1.1 200"  # still serving


def test_graceful_stop_finishes_requests_in_progress(serve):
    def slow(environ, start_response):
        guv.sleep(0.1)
        start_response("200 OK", [])
        return [b"finished"]

    s = serve(slow)
    idle = s.connect()
    idle.send(b"GET / HTTP/1.1\r\n\r\n")
    assert idle.response()[2] == b"finished"  # now idle, kept alive
    busy = s.connect()
    busy.send(GET)
    guv.sleep(0.02)
    start = time.monotonic()
    s.server.stop(timeout=5)
    assert idle.closed_by_server()
    status, headers, body = busy.response()
    assert body == b"finished" and headers["connection"] == "close" and busy.closed_by_server()
    s.gt.wait()
    assert time.monotonic() - start < 1 and s.idle()
    with pytest.raises(OSError):
        guv.connect(("127.0.0.1", s.port))


def test_stop_kills_what_outlives_the_timeout(serve):
    s = serve(lambda environ, start_response: guv.sleep(10))
    c = s.connect()
    c.send(GET)
    guv.sleep(0.02)
    start = time.monotonic()
    s.server.stop(timeout=0.1)
    s.gt.wait()
    assert time.monotonic() - start < 1 and s.idle() and c.closed_by_server()


def test_stopserve_thrown_into_server_returns(serve):
    # guv.wsgi.server: the original guv's and eventlet's name for serve.
    listener = guv.listen(("127.0.0.1", 0))
    gt = guv.spawn(guv.wsgi.server, listener, hello)
    c = guv.connect(listener.getsockname())
    c.sendall(GET)
    assert c.recv(100).startswith(b"HTTP/1.1 200")
    gt.kill(guv.StopServe)
    assert gt.dead and gt.wait() is None
    c.close()


@pytest.mark.parametrize("raw, status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /\r\n\r\n", 400),
    (b"GET / HTTP/1.1 extra\r\n\r\n", 400),
    (b"G(T / HTTP/1.1\r\n\r\n", 400),
    (b"GET noslash HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.x\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\n\r\n", 505),
    (b"GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nName : x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nA: b\x01c\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nA: b\nc: d\r\n\r\n", 400),
    (b"GET /a\x00b HTTP/1.1\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
    (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nab\r\n0\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", 400),
    (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\n" + b"X-Big: " + b"a" * 70000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\n" + b"X-Many: a\r\n" * 7000 + b"\r\n", 431),
])
def test_bad_input_is_answered_and_closed(serve, raw, status):
    s = serve(echo_body)
    c = s.connect()
    try:
        c.send(raw)
    except OSError:
        pass  # the server may answer and close before taking all of a huge request
    answers = []
    while (r := c.response()) is not None:
        answers.append(r)
    assert answers[-1][0] == status and answers[-1][1]["connection"] == "close"
    assert s.idle()


def test_body_longer_than_declared_is_a_bad_next_request(serve):
    s = serve(echo_body)
    raw = s.request(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcdefgh\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200 OK") and b"\r\n\r\nabcHTTP/1.1 400 Bad Request" in raw


def test_client_closing_in_the_body_ends_the_connection(serve):
    s = serve(echo_body)
    raw = s.connect()
    raw.send(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nshort")
    raw.sock.shutdown(guv.green.socket.SHUT_WR)
    assert raw.response()[0] == 400 and raw.closed_by_server()


def test_a_body_slower_than_socket_timeout_gets_408_and_no_traceback(serve):
    s = serve(echo_body, socket_timeout=0.2)
    c = s.connect()
    c.send(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\npart of it")
    assert c.response()[0] == 408 and c.closed_by_server()
    assert "Traceback" not in s.log.getvalue() and "408" in s.log.getvalue()


def test_a_client_that_sends_nothing_is_dropped_after_socket_timeout(serve):
    s = serve(hello, socket_timeout=0.2)
    c = s.connect()
    start = time.monotonic()
    assert c.closed_by_server()
    assert 0.15 < time.monotonic() - start < 2


def test_slowloris_trickling_a_head_gets_408_after_socket_timeout(serve):
    s = serve(hello, socket_timeout=0.3)
    c = s.connect()
    start = time.monotonic()
    with pytest.raises(OSError):
        for byte in b"GET / HTTP/1.1\r\nX-Slow: " + b"a" * 100:
            c.send(bytes([byte]))  # each byte well within the timeout, the whole head not
            guv.sleep(0.05)
    assert c.response()[0] == 408
    assert time.monotonic() - start < 2
    c.close()


def test_application_exception_gives_500_and_a_logged_traceback(serve):
    def broken(environ, start_response):
        raise RuntimeError("the app broke")

    log = io.StringIO()
    s = serve(broken, log=log)
    c = s.connect()
    c.send(GET)
    status, headers, body = c.response()
    assert status == 500 and headers["connection"] == "close" and c.closed_by_server()
    assert "Traceback" in log.getvalue() and "RuntimeError: the app broke" in log.getvalue()


def test_exception_after_the_headers_went_out_cuts_the_connection(serve):
    def broken_late(environ, start_response):
        start_response("200 OK", [])
        yield b"start"
        raise RuntimeError("late")

    s = serve(broken_late)
    raw = s.request(GET)
    assert raw.startswith(b"HTTP/1.1 200 OK") and b"5\r\nstart\r\n" in raw and not raw.endswith(b"0\r\n\r\n")
    assert "RuntimeError: late" in s.log.getvalue()


def test_bad_response_headers_and_no_start_response_are_500(serve):
    def splitting(environ, start_response):
        start_response("200 OK", [("X-Evil", "a\r\nSet-Cookie: b")])
        return [b""]

    assert serve(splitting).request(GET).startswith(b"HTTP/1.1 500")
    assert serve(lambda e, sr: [b"no start_response"]).request(GET).startswith(b"HTTP/1.1 500")


def test_access_log_lines_when_log_output(serve):
    s = serve(hello, log_output=True)
    c = s.connect()
    c.send(b"GET /logged?q=1 HTTP/1.1\r\n\r\n")
    c.response()
    c.close()
    assert '"GET /logged?q=1 HTTP/1.1" 200 14' in s.log.getvalue()


def test_command_line_serves_module_app(tmp_path):
    import subprocess

    (tmp_path / "myapp.py").write_text(
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [])\n"
        "    return [b'from the command line']\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.path.dirname(os.path.dirname(guv.__file__))]))
    proc = subprocess.Popen([sys.executable, "-m", "guv.wsgi", "myapp:app", "--bind", "127.0.0.1:0",
                             "--concurrency", "10"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert "listening on http://127.0.0.1:" in line, line
        port = int(line.rsplit(":", 1)[1])
        c = guv.connect(("127.0.0.1", port))
        c.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := c.recv(4096):
            data += chunk
        assert data.endswith(b"\r\n\r\nfrom the command line")
    finally:
        proc.terminate()
        assert proc.wait(10) == 0  # SIGTERM: a graceful stop


def test_accepted_connections_have_tcp_nodelay(serve):
    # A streamed response is several sends; with Nagle each small one would wait
    # for the client's delayed ACK.
    s = serve(hello)
    c = s.connect()
    c.send(GET)
    c.response()
    (connection,) = s.server.connections
    assert connection.sock.getsockopt(guv.green.socket.IPPROTO_TCP, guv.green.socket.TCP_NODELAY)
    c.close()


def test_a_blocking_listening_socket_is_refused():
    import socket

    plain = socket.socket()
    with pytest.raises(TypeError, match="green listening socket"):
        guv.wsgi.Server(plain, hello)
    plain.close()
