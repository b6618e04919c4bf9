"""guv.green.X as importable green modules (eventlet.green-style): green
where used, while the process's own modules stay unpatched."""
import os as std_os
import queue as std_queue
import select as std_select
import socket as std_socket
import ssl as std_ssl
import subprocess as std_subprocess
import threading as std_threading
import time as std_time

import guv
from guv.green import os, queue, select, socket, ssl, subprocess, threading, time


def _ticker(n, every=0.005):
    """A green thread that counts while the caller waits: proof it waited cooperatively.

    Only "it ticked at all" is asserted: it can run only while the caller is
    suspended, and a loaded machine may stall it past the wait's end."""
    ticks = []

    def run():
        for _ in range(n):
            ticks.append(1)
            guv.sleep(every)

    return guv.spawn(run), ticks


def test_the_process_modules_stay_unpatched():
    assert std_socket.socket.__module__ == "socket"
    assert std_time.sleep.__module__ == "time" or std_time.sleep is not time.sleep
    assert std_threading.Lock is not threading.Lock and std_threading.Thread is not threading.Thread
    assert hasattr(std_select, "epoll") and not hasattr(select, "epoll")
    assert std_ssl.SSLContext is not ssl.SSLContext and std_queue.Queue is not queue.Queue
    assert std_subprocess.Popen is not subprocess.Popen and std_os.read is not os.read


def test_socket_module_is_whole_and_green():
    assert socket.socket is guv.greenio.socket
    assert socket.AF_INET == std_socket.AF_INET and socket.timeout is std_socket.timeout
    assert socket._GLOBAL_DEFAULT_TIMEOUT is std_socket._GLOBAL_DEFAULT_TIMEOUT
    srv = socket.create_server(("127.0.0.1", 0))
    assert isinstance(srv, socket.socket)
    c = socket.create_connection(srv.getsockname())
    assert isinstance(c, socket.socket)
    conn, _ = srv.accept()
    ticker, ticks = _ticker(3)
    guv.spawn_after(0.03, conn.sendall, b"late")
    assert c.recv(10) == b"late" and ticks
    for s in (srv, c, conn):
        s.close()


def test_time_sleep_is_green():
    ticker, ticks = _ticker(4)
    time.sleep(0.05)
    assert ticks and time.monotonic is std_time.monotonic


def test_threading_thread_is_a_green_thread_and_locks_park():
    lock = threading.Lock()
    lock.acquire()
    seen = []

    def work():
        seen.append(threading.get_ident())
        with lock:  # parks until main releases it
            seen.append("locked")

    t = threading.Thread(target=work)
    t.start()
    guv.sleep(0.01)
    assert seen == [t.ident] and t.ident != std_threading.get_ident()
    lock.release()
    t.join()
    assert seen[1] == "locked" and not t.is_alive()
    ev = threading.Event()
    guv.spawn_after(0.01, ev.set)
    assert ev.wait(1)


def test_threading_thread_repr_says_green():
    # The original guv's tests (test_threads.py) tell a green Thread by its repr.
    t = threading.Thread(target=int, name="w")
    assert repr(t) == "<green Thread(w, initial)>"
    assert "green" not in repr(std_threading.Thread(target=int))


def test_queue_get_parks():
    q = queue.Queue()
    guv.spawn_after(0.02, q.put, "item")
    ticker, ticks = _ticker(2)
    assert q.get(timeout=1) == "item" and ticks
    try:
        q.get(timeout=0.01)
        assert False, "expected queue.Empty"
    except queue.Empty:
        pass


def test_select_waits_cooperatively():
    a, b = socket.socketpair()
    guv.spawn_after(0.03, b.sendall, b"x")
    ticker, ticks = _ticker(3)
    r, w, x = select.select([a], [], [], 1)
    assert r == [a] and ticks
    assert select.POLLIN == std_select.POLLIN and select.error is std_select.error
    a.close(), b.close()


def test_os_read_of_a_pipe_is_green():
    r, w = os.pipe()
    guv.spawn_after(0.03, os.write, w, b"data")
    ticker, ticks = _ticker(3)
    assert os.read(r, 10) == b"data" and ticks
    assert os.path is std_os.path
    os.close(r), os.close(w)


def test_subprocess_communicate_is_green():
    ticker, ticks = _ticker(5, 0.01)
    p = subprocess.Popen(["sh", "-c", "sleep 0.1; echo out"], stdout=subprocess.PIPE)
    out, _ = p.communicate()
    assert out == b"out\n" and p.returncode == 0 and ticks
    assert subprocess.run(["true"]).returncode == 0 and subprocess.PIPE == std_subprocess.PIPE


def test_ssl_contexts_make_green_ssl_sockets():
    ctx = ssl.create_default_context()
    assert isinstance(ctx, ssl.SSLContext) and ctx.sslsocket_class is ssl.SSLSocket
    assert ssl.SSLSocket.__name__ == "GreenSSLSocket" and ssl.CERT_NONE == std_ssl.CERT_NONE
    assert std_ssl.create_default_context().sslsocket_class is std_ssl.SSLSocket


def test_threading_current_thread_timer_local_and_barrier():
    seen = []
    t = threading.Thread(target=lambda: seen.append(threading.current_thread() is t))
    t.start()
    t.join()
    assert seen == [True] and threading.current_thread() is threading.main_thread()
    fired = []
    threading.Timer(0.02, fired.append, (1,)).start()
    time.sleep(0.05)
    assert fired == [1]
    local = threading.local()
    local.x = "main"
    other = threading.Thread(target=lambda: setattr(local, "x", "thread"))
    other.start()
    other.join()
    assert local.x == "main"
    barrier = threading.Barrier(2)
    waiter = threading.Thread(target=barrier.wait)
    waiter.start()
    barrier.wait(timeout=1)
    waiter.join()
