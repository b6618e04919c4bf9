"""libguv's offload, poll, read and write as guv._core exposes them to
guv.green: results and exceptions come back, only the caller waits, and
main's wait ends with what a green thread hands it, not InterruptedError."""
import ctypes
import os
import socket
import threading
import time

import pytest

import guv
from guv import _core
from guv.green import os as green_os
from guv.green import select as green_select
from guv.green import socket as green_socket


def test_offload_returns_the_result_from_another_os_thread():
    assert _core.offload(threading.get_native_id) != threading.get_native_id()
    assert _core.offload(lambda a, b: a + b, 2, 3) == 5


def test_offload_raises_what_the_call_raised():
    with pytest.raises(ZeroDivisionError):
        _core.offload(lambda: 1 / 0)


def _thread_states():
    """Addresses of the interpreter's thread states, walked as the C API does."""
    api = ctypes.pythonapi
    api.PyInterpreterState_Get.restype = ctypes.c_void_p
    api.PyInterpreterState_ThreadHead.restype = ctypes.c_void_p
    api.PyInterpreterState_ThreadHead.argtypes = [ctypes.c_void_p]
    api.PyThreadState_Next.restype = ctypes.c_void_p
    api.PyThreadState_Next.argtypes = [ctypes.c_void_p]
    states, ts = set(), api.PyInterpreterState_ThreadHead(api.PyInterpreterState_Get())
    while ts:
        states.add(ts)
        ts = api.PyThreadState_Next(ts)
    return states


def test_offload_deletes_the_thread_state_it_ran_python_with():
    # Offload threads end when idle and new ones start on demand: a state
    # kept per thread would outlive it, one more in the interpreter's list each time.
    state_here = ctypes.pythonapi.PyThreadState_Get
    state_here.restype = ctypes.c_void_p
    used = {_core.offload(state_here) for _ in range(3)}
    assert not used & _thread_states()


@pytest.mark.parametrize("run", range(3))
def test_offloaded_call_at_interpreter_exit_does_not_abort(script, run):
    """CPython ends a thread that wants the GIL while the interpreter
    finalizes (pthread_exit); on guv's offload thread that aborted the
    process ("FATAL: exception not rethrown"). Here the second call waits
    for the pool's one thread, and the first wakes during a slow __del__."""
    r = script("""
        import threading, time
        from guv import _core
        class Slow:
            def __del__(self): time.sleep(1.0)
        slow = Slow()
        for d in (0.3, 0.0):
            threading.Thread(target=_core.offload, args=(time.sleep, d), daemon=True).start()
        time.sleep(0.1)
    """, env={"GUV_OFFLOAD_THREADS": "1"}, timeout=30)
    assert (r.returncode, r.stderr) == (0, "")


def test_offloads_of_green_threads_overlap():
    start = time.monotonic()
    gts = [guv.spawn(_core.offload, time.sleep, 0.2) for _ in range(4)]
    for gt in gts:
        gt.wait()
    assert time.monotonic() - start < 0.6


def test_green_getaddrinfo_resolves_through_offload():
    assert any(info[4][0] in ("127.0.0.1", "::1") for info in green_socket.getaddrinfo("localhost", 80))


def test_poll_read_and_write_let_other_green_threads_run():
    r, w = os.pipe()
    ticks = []
    ticker = guv.spawn(lambda: [ticks.append(guv.sleep(0.01)) for _ in range(5)])
    guv.spawn(lambda: (guv.sleep(0.03), green_os.write(w, b"ping")))
    assert green_select.select([r], [], [], 5) == ([r], [], [])
    assert green_os.read(r, 64) == b"ping"
    # The ticker's first 10 ms sleep ends before the writer's 30 ms one, which
    # began after it (timers fire in deadline order): a count, not a time.
    assert len(ticks) >= 1
    assert green_select.select([r], [], [], 0.01) == ([], [], [])
    ticker.wait()
    os.close(r), os.close(w)


@pytest.mark.parametrize("wait", ["select", "read"])
def test_interrupt_of_mains_wait_raises_what_was_handed_over(wait):
    a, b = socket.socketpair()

    def boom():
        guv.sleep(0.02)
        raise KeyboardInterrupt

    guv.spawn(boom)
    with pytest.raises(KeyboardInterrupt):
        if wait == "select":
            green_select.select([a], [], [], 5)
        else:
            green_os.read(a.fileno(), 64)
    a.close(), b.close()
