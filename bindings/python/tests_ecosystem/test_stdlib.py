"""The standard library, monkey-patched: sockets, TLS, time.sleep, smtplib,
subprocess, threads, select/selectors, os pipes and waitpid."""
import os
import queue
import select
import selectors
import smtplib
import socket
import ssl
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

import guv
import guv.patcher
from guv.green.socket import GreenSocket
from guv.green.ssl import GreenSSLSocket

from helpers import WAIT, parallel, run_python, self_signed, serve_forever, slow_echo


def test_modules_imported_before_the_patch_are_green():
    assert socket.socket is GreenSocket and isinstance(socket.socket(), socket.SocketType)
    assert ssl.SSLContext.sslsocket_class is GreenSSLSocket
    assert time.sleep.__module__ == "guv.green.time"
    assert not hasattr(select, "epoll") and selectors.DefaultSelector is selectors.PollSelector
    for name in ("socket", "ssl", "select", "selectors", "time", "threading", "_thread", "queue", "os",
                 "subprocess", "psycopg2"):
        assert guv.patcher.is_monkey_patched(name), name
    # original(): the unpatched names, as eventlet.patcher.original gives them.
    assert guv.patcher.original("time").sleep.__module__ == "time"
    assert guv.patcher.original("socket").socket is GreenSocket.__bases__[0]
    assert hasattr(guv.patcher.original("select"), "epoll")


def test_socket_create_connection_by_name(spawn_server):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    spawn_server(serve_forever, listener, slow_echo(WAIT))

    def client(i):
        # "localhost" goes through getaddrinfo on guv's offload threads.
        with socket.create_connection(("localhost", port), timeout=5) as s:
            s.sendall(b"ping %d" % i)
            return s.recv(64)

    assert parallel("socket create_connection+recv", client) == [b"PING %d" % i for i in range(50)]


def test_socket_timeouts():
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(0.1)
        t0 = time.monotonic()
        try:
            a.recv(1)
            raise AssertionError("recv returned without data")
        except socket.timeout:
            pass
        assert 0.09 <= time.monotonic() - t0 < 1.0
        a.settimeout(None)
        with guv.Timeout(0.1, False):
            a.recv(1)
            raise AssertionError("recv returned without data")
        a.setblocking(False)
        try:
            a.recv(1)
            raise AssertionError("non-blocking recv returned without data")
        except BlockingIOError:
            pass
        b.sendall(b"x" * 100000)  # more than the socket buffer: waits for the reader
        a.setblocking(True)


def test_time_sleep():
    assert parallel("time.sleep", lambda i: (time.sleep(WAIT), i)[1]) == list(range(50))


def test_ssl_patched_after_import_with_a_context_made_before(tmp_path):
    """gevent#1016: ssl imported, and a context made, before monkey_patch."""
    cert, key = self_signed(tmp_path)
    out = run_python(f"""
import ssl, socket, time
client_ctx = ssl.create_default_context(cafile={cert!r})
server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server_ctx.load_cert_chain({cert!r}, {key!r})
import guv, guv.patcher
guv.patcher.monkey_patch()
import sys; sys.path.insert(0, {os.path.dirname(__file__)!r})

from helpers import parallel, serve_forever

def handle(conn):
    with server_ctx.wrap_socket(conn, server_side=True) as s:
        data = s.recv(64); time.sleep(0.2); s.sendall(data[::-1])

listener = socket.create_server(("127.0.0.1", 0))
guv.spawn(serve_forever, listener, handle)

def client(i):
    with socket.create_connection(("127.0.0.1", listener.getsockname()[1])) as raw:
        with client_ctx.wrap_socket(raw, server_hostname="localhost") as s:
            assert type(s).__name__ == "GreenSSLSocket" and s.version().startswith("TLS")
            s.sendall(b"abc%d" % i)
            return s.recv(64)

assert parallel("ssl (imported and context made before the patch)", client) == [(b"abc%d" % i)[::-1] for i in range(50)]
print("ok")
""")
    assert out.strip().endswith("ok"), out


def test_smtplib_against_a_local_smtp_server(spawn_server):
    inbox = []

    def session(conn):
        with conn, conn.makefile("rwb") as f:
            def say(line):
                f.write(line.encode() + b"\r\n")
                f.flush()
            say("220 localhost guv test SMTP")
            while True:
                line = f.readline()
                verb = line[:4].upper()
                if not line or verb == b"QUIT":
                    say("221 bye")
                    return
                if verb == b"EHLO":
                    say("250-localhost")
                    say("250 8BITMIME")
                elif verb == b"DATA":
                    say("354 end with <CRLF>.<CRLF>")
                    body = b"".join(iter(lambda: f.readline(), b".\r\n"))
                    time.sleep(WAIT)  # a slow server: spam checks
                    inbox.append(body)
                    say("250 queued")
                elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    say("250 ok")
                else:
                    say("502 not implemented")

    listener = socket.create_server(("127.0.0.1", 0))
    spawn_server(serve_forever, listener, session)

    def send(i):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "a@localhost", "b@localhost", f"message {i}"
        msg.set_content(f"body {i}")
        with smtplib.SMTP("127.0.0.1", listener.getsockname()[1], timeout=10) as smtp:
            return smtp.send_message(msg)

    assert parallel("smtplib send_message", send) == [{}] * 50
    assert sorted(int(b.split(b"Subject: message ")[1].split(b"\r\n")[0]) for b in inbox) == list(range(50))


def test_subprocess_output_reading():
    def popen(i):
        p = subprocess.Popen(["sh", "-c", f"sleep {WAIT}; echo line {i}; echo err >&2"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        _, err = p.communicate(timeout=10)
        return line, err, p.returncode

    assert parallel("subprocess Popen readline+communicate", popen) == [(f"line {i}\n", "err\n", 0)
                                                                      for i in range(50)]
    outs = parallel("subprocess.run capture_output",
                    lambda i: subprocess.run(["sh", "-c", f"sleep {WAIT}; echo {i}"], capture_output=True,
                                             check=True).stdout)
    assert outs == [b"%d\n" % i for i in range(50)]


def test_os_pipes_and_waitpid():
    def pipe(i):
        r, w = os.pipe()
        guv.spawn(lambda: (time.sleep(WAIT), os.write(w, b"%d" % i), os.close(w)))
        try:
            return os.read(r, 16)
        finally:
            os.close(r)

    assert parallel("os.read on a pipe", pipe) == [b"%d" % i for i in range(50)]

    def child(i):
        p = subprocess.Popen(["sh", "-c", f"sleep {WAIT}; exit {i % 7}"])
        pid, status = os.waitpid(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        return pid == p.pid, p.returncode

    assert parallel("os.waitpid", child) == [(True, i % 7) for i in range(50)]


def test_select_and_selectors():
    def sel(i):
        r, w = os.pipe()
        guv.spawn(lambda: (time.sleep(WAIT), os.write(w, b"x")))
        try:
            ready = select.select([r], [], [], 5)[0]
            with selectors.DefaultSelector() as s:
                s.register(r, selectors.EVENT_READ, "data")
                events = s.select(5)
            return ready == [r] and [key.data for key, _ in events] == ["data"]
        finally:
            os.close(r), os.close(w)

    assert parallel("select.select + selectors", sel) == [True] * 50
    r, w = os.pipe()
    t0 = time.monotonic()
    assert select.select([r], [], [], 0.1) == ([], [], [])
    assert 0.09 <= time.monotonic() - t0 < 1.0
    os.close(r), os.close(w)


def test_threads_are_green_threads():
    main_ident = threading.get_ident()
    seen = []

    def work(i):
        time.sleep(WAIT)
        seen.append((threading.current_thread().name, threading.get_ident()))

    def start_and_join(i):
        t = threading.Thread(target=work, args=(i,), name=f"worker-{i}")
        t.start()
        t.join()
        return t.is_alive()

    assert parallel("threading.Thread start+join", start_and_join) == [False] * 50
    assert sorted(name for name, _ in seen) == sorted(f"worker-{i}" for i in range(50))
    assert len({ident for _, ident in seen}) == 50 and main_ident not in {ident for _, ident in seen}
    assert threading.current_thread() is threading.main_thread()

    with ThreadPoolExecutor(50) as pool:
        assert parallel("ThreadPoolExecutor.submit", lambda i: pool.submit(lambda: (time.sleep(WAIT), i)[1])
                        .result()) == list(range(50))

    # A lock held across a switch excludes the others; a Queue hands work over.
    lock, inside, most = threading.Lock(), [0], [0]
    q = queue.Queue()

    def guarded(i):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            time.sleep(0.001)
            inside[0] -= 1
        q.put(i)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    assert sorted(q.get(timeout=5) for _ in range(50)) == list(range(50))
    assert most[0] == 1
    for t in threads:
        t.join()
    t0 = time.monotonic()
    try:
        queue.Queue().get(timeout=0.1)
        raise AssertionError("get returned from an empty queue")
    except queue.Empty:
        assert 0.09 <= time.monotonic() - t0 < 1.0


def test_import_patched_leaves_sys_modules_alone():
    out = run_python(f"""
import socket, sys
import guv, guv.patcher
sys.path.insert(0, {os.path.dirname(__file__)!r})

from guv.green.socket import GreenSocket
from helpers import parallel, serve_forever
client = guv.patcher.import_patched("http.client")
assert client.socket.socket is GreenSocket and socket.socket is not GreenSocket
assert sys.modules.get("http.client") is not client and not guv.patcher.is_monkey_patched("socket")
listener = GreenSocket()
listener.bind(("127.0.0.1", 0)); listener.listen(128)
port = listener.getsockname()[1]
def handle(conn):
    with conn:
        conn.recv(4096)
        guv.sleep(0.2)
        conn.sendall(b"HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok")
guv.spawn(serve_forever, listener, handle)
def get(i):
    c = client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/")
    return c.getresponse().read()
assert parallel("import_patched http.client", get) == [b"ok"] * 50
print("ok")
""")
    assert out.strip().endswith("ok"), out


def test_keyword_selection_follows_eventlet():
    """Some True: only those (ssl follows socket); only False ones: all but those."""
    out = run_python("""
import socket, ssl, threading, time, guv.patcher
guv.patcher.monkey_patch(socket=True)
print(type(socket.socket()).__name__, ssl.SSLContext.sslsocket_class.__name__,
      time.sleep.__module__, guv.patcher.is_monkey_patched("threading"))
""")
    assert out.split() == ["GreenSocket", "GreenSSLSocket", "time", "False"], out
    out = run_python("""
import socket, threading, time, guv.patcher
guv.patcher.monkey_patch(thread=False, psycopg2=False)
print(type(socket.socket()).__name__, time.sleep.__module__, guv.patcher.is_monkey_patched("threading"),
      type(threading.Lock()).__module__)
""")
    assert out.split() == ["GreenSocket", "guv.green.time", "False", "_thread"], out
