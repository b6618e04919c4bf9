"""What CPython's own tests (make compat-cpython) found the green modules
doing differently from the stdlib: each test the smallest reproducer."""
import fcntl
import os as std_os
import sys

import pytest

from guv.green import socket, subprocess


def test_sock_nonblock_in_the_type_gives_a_zero_timeout():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK) as s:
        assert s.gettimeout() == 0.0
        assert not s.getblocking()
        assert s.type == socket.SOCK_STREAM
    with socket.socket() as s:
        assert s.gettimeout() is None and s.getblocking()


def test_setblocking_and_settimeout_on_a_closed_fd_raise():
    a = socket.socket()
    b = socket.socket(fileno=a.fileno())
    a.close()
    try:
        with pytest.raises(OSError):
            b.setblocking(False)
        with pytest.raises(OSError):
            b.settimeout(1)
    finally:
        b.detach()


def test_the_fd_stays_non_blocking_under_every_mode():
    with socket.socket() as s:
        for set_mode in (lambda: s.setblocking(True), lambda: s.settimeout(None), lambda: s.settimeout(2)):
            set_mode()
            assert fcntl.fcntl(s, fcntl.F_GETFL) & std_os.O_NONBLOCK


def test_getnameinfo_of_a_non_tuple_raises_typeerror_and_keeps_no_reference():
    name = "a string only this test holds"
    before = sys.getrefcount(name)
    try:
        socket.getnameinfo(name, 0)
    except TypeError:
        assert sys.getrefcount(name) == before
    else:
        pytest.fail("no TypeError")


def test_a_pipe_handed_to_another_child_stays_blocking():
    """p1 | p2: p2's stdin is p1's stdout pipe, whose flags p2 shares; a
    non-blocking stdin would make p2 read nothing (test_pipe_cloexec_real_tools)."""
    p1 = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3); print('through')"],
                          stdout=subprocess.PIPE)
    p2 = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdout.write(sys.stdin.read())"],
                          stdin=p1.stdout, stdout=subprocess.PIPE)
    assert std_os.get_blocking(p1.stdout.fileno())
    p1.stdout.close()
    out, _ = p2.communicate(timeout=30)
    assert (out, p2.returncode, p1.wait(30)) == (b"through\n", 0, 0)


def test_binary_line_buffering_warns_as_io_open_does():
    with pytest.warns(RuntimeWarning, match="line buffering"):
        p = subprocess.Popen(["true"], stdin=subprocess.PIPE, bufsize=1)
    p.stdin.close()
    assert p.wait(30) == 0


def test_an_async_exception_reaches_the_green_thread_its_ident_names(script):
    """PyThreadState_SetAsyncExc and sys._current_frames find a green thread
    by threading.get_ident(); an ended one's ident names no state."""
    r = script("""
        import guv; guv.monkey_patch()
        import ctypes, sys, threading, time
        set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
        set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)

        class AsyncExc(Exception):
            pass

        seen = []
        def worker():
            seen.append(threading.get_ident())
            try:
                while True:
                    time.sleep(0.01)
            except AsyncExc:
                seen.append("caught")
        t = threading.Thread(target=worker)
        t.start()
        time.sleep(0.05)
        assert seen[0] in sys._current_frames(), (seen, list(sys._current_frames()))
        assert set_async_exc(seen[0], ctypes.py_object(AsyncExc)) == 1
        t.join(5)
        assert seen[1:] == ["caught"], seen
        assert set_async_exc(seen[0], ctypes.py_object(AsyncExc)) == 0
        try:
            assert set_async_exc(threading.get_ident(), ctypes.py_object(AsyncExc)) == 1
            while True:
                pass
        except AsyncExc:
            print("main caught")
    """, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "main caught\n"


@pytest.mark.skipif(sys.version_info < (3, 13), reason="_thread's thread handles are 3.13's")
def test_a_thread_handle_is_started_once_and_joined_only_when_started():
    from guv.green import thread

    with pytest.raises(RuntimeError, match="thread not started"):
        thread.ThreadHandle().join()
    with pytest.raises(RuntimeError, match="thread not started"):
        thread.ThreadHandle()._set_done()
    ran = []
    handle = thread.start_joinable_thread(lambda: ran.append(1))
    with pytest.raises(RuntimeError, match="thread already started"):
        thread.start_joinable_thread(lambda: ran.append(2), handle=handle)
    handle.join()
    assert ran == [1] and handle.is_done()


def test_the_green_lock_type_is_made_only_as_the_stdlib_makes_it():
    from guv.green import thread

    lock = thread.allocate_lock()
    assert lock.acquire(False) and not lock.acquire(False)

    class Tests:
        locktype = thread.allocate_lock  # a C function there: not bound to the instance

    assert not Tests().locktype().locked()
    with pytest.raises(TypeError, match="not an acceptable base type"):
        class MyLock(type(lock)):
            pass
    if sys.version_info < (3, 13):
        with pytest.raises(TypeError, match="cannot create 'guv.green.thread.Lock' instances"):
            type(lock)()
    else:
        assert not type(lock)().locked()  # 3.13: threading.Lock is the type itself


def test_a_fresh_queue_module_s_simplequeue_raises_its_own_empty(script):
    """test_queue's CSimpleQueueTest imports queue and _queue afresh and
    catches that copy's Empty."""
    r = script("""
        import guv; guv.monkey_patch()
        from test.support.import_helper import import_fresh_module
        c_queue = import_fresh_module("queue", fresh=["_queue"])
        q = c_queue.SimpleQueue()
        try:
            q.get(block=False)
        except c_queue.Empty:
            q.put(1)
            print("own Empty", q.get_nowait(), q.empty())
    """, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "own Empty 1 True\n"


def test_a_green_thread_started_in_a_forked_child_has_a_live_thread_state(script):
    """CPython frees every other thread state at fork, the idle ones kept for
    reuse too: a green thread of the child must get a state the interpreter
    still lists (sys._current_frames() finds it), not a freed one."""
    r = script("""
        import os, sys, warnings
        import guv
        from guv import _core
        warnings.simplefilter("ignore", DeprecationWarning)
        for _ in range(5):
            guv.spawn(lambda: None).wait()
        pid = os.fork()
        if pid == 0:
            seen = []
            guv.spawn(lambda: seen.append(_core.current() in sys._current_frames())).wait()
            os._exit(0 if seen == [True] else 3)
        print(os.waitpid(pid, 0)[1] >> 8)
    """, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "0\n"
