"""Python state stays per green thread when green threads interleave: each
has its own PyThreadState, and the GIL is released across every switch."""
import contextvars
import ctypes
import random
import sys
import threading

import pytest

import guv


def test_bare_raise_after_switch_reraises_own_exception():
    # Both handle an exception across a switch; each re-raises its own.
    def f(name):
        try:
            raise KeyError(name)
        except KeyError:
            guv.sleep(0.001)
            assert sys.exc_info()[1].args == (name,)
            raise

    gts = [guv.spawn(f, n) for n in ("a", "b", "c")]
    for n, gt in zip("abc", gts):
        with pytest.raises(KeyError) as info:
            gt.wait()
        assert info.value.args == (n,)


def test_getframe_after_switch_is_own_frame():
    def inner(tag):
        guv.sleep(0)
        f = sys._getframe()
        return f.f_code.co_name, f.f_locals["tag"], f.f_back.f_code.co_name

    def outer(tag):
        return inner(tag)

    gts = [guv.spawn(outer, i) for i in range(20)]
    assert [gt.wait() for gt in gts] == [("inner", i, "outer") for i in range(20)]


def test_out_of_order_finish_at_different_depths():
    rnd = random.Random(7)

    def dive(depth, delay):
        if depth == 0:
            guv.sleep(delay)
            return delay
        return dive(depth - 1, delay) + 0

    jobs = [(rnd.randrange(1, 200), rnd.random() * 0.02) for _ in range(60)]
    gts = [guv.spawn(dive, d, s) for d, s in jobs]
    finished = []
    for gt in gts:
        gt.link(lambda g: finished.append(g))
    assert [gt.wait() for gt in gts] == [s for _, s in jobs]
    assert finished != gts  # they did end out of spawn order


def test_generator_suspended_inside_its_body():
    def gen(tag):
        for i in range(5):
            guv.sleep(0.001)  # switch with the generator's frame live
            yield tag, i

    def consume(tag):
        return list(gen(tag))

    def interleave():
        # One green thread drives two generators that switch inside.
        g1, g2 = gen("x"), gen("y")
        return [pair for ab in zip(g1, g2) for pair in ab]

    gts = [guv.spawn(consume, t) for t in "pqr"] + [guv.spawn(interleave)]
    assert gts[0].wait() == [("p", i) for i in range(5)]
    assert gts[1].wait() == [("q", i) for i in range(5)]
    assert gts[2].wait() == [("r", i) for i in range(5)]
    assert gts[3].wait() == [p for i in range(5) for p in (("x", i), ("y", i))]


def test_contextvars_per_green_thread():
    var = contextvars.ContextVar("var", default="unset")
    var.set("main")

    def f(v):
        assert var.get() == "unset"  # a new thread state starts with an empty context
        var.set(v)
        guv.sleep(0.001)
        return var.get()

    gts = [guv.spawn(f, i) for i in range(50)]
    assert [gt.wait() for gt in gts] == list(range(50))
    assert var.get() == "main"


def test_threading_local_per_green_thread():
    local = threading.local()
    local.value = "main"

    def f(v):
        assert not hasattr(local, "value")
        local.value = v
        guv.sleep(0.001)
        return local.value

    gts = [guv.spawn(f, i) for i in range(50)]
    assert [gt.wait() for gt in gts] == list(range(50))
    assert local.value == "main"


def test_deep_python_recursion_raises_recursionerror():
    def down(n):
        return down(n + 1) + 1

    def f():
        guv.sleep(0)
        try:
            down(0)
        except RecursionError:
            guv.sleep(0)
            return "recursion"

    assert [gt.wait() for gt in [guv.spawn(f) for _ in range(4)]] == ["recursion"] * 4


def test_deep_c_recursion_raises_recursionerror():
    # repr() of a deeply nested list recurses in C, on the green thread's stack.
    def f():
        nested = []
        for _ in range(200_000):
            nested = [nested]
        guv.sleep(0)
        try:
            repr(nested)
        except RecursionError:
            return "recursion"

    assert guv.spawn(f).wait() == "recursion"


def test_ctypes_callback_that_switches_inside():
    # ctypes releases the GIL around qsort and takes it back with
    # PyGILState_Ensure for each comparison: the slot must name this green
    # thread's state, and a switch inside must release the GIL again.
    libc = ctypes.CDLL(None)
    CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
    switches = [0]

    def compare(a, b):
        guv.sleep(0)
        switches[0] += 1
        return a[0] - b[0]

    cmp = CMP(compare)

    def sort(values):
        arr = (ctypes.c_int * len(values))(*values)
        libc.qsort(arr, len(arr), ctypes.sizeof(ctypes.c_int), cmp)
        return list(arr)

    data = [[random.randrange(1000) for _ in range(40)] for _ in range(4)]
    gts = [guv.spawn(sort, d) for d in data]
    assert [gt.wait() for gt in gts] == [sorted(d) for d in data]
    assert switches[0] >= 4 * 39


def test_switch_under_a_foreign_thread_state_is_refused(script):
    # A green thread spawned from C (no Python state of its own) runs a ctypes
    # callback, which takes the GIL with a fresh state: switching there would
    # leave the GIL held, so guv refuses with EACCES instead of hanging.
    r = script("""
        import ctypes, errno, guv
        from guv import _lib
        lib = ctypes.CDLL(_lib.find_libguv())
        seen = []
        @ctypes.CFUNCTYPE(None, ctypes.c_void_p)
        def body(arg):
            try:
                guv.sleep(0.01)
                seen.append("switched")
            except OSError as e:
                seen.append(e.errno)
        lib.guv_spawn.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.guv_spawn.restype = ctypes.c_int64
        assert lib.guv_spawn(ctypes.cast(body, ctypes.c_void_p), None) > 0
        guv.run()
        assert seen == [errno.EACCES], seen
        print("refused")
    """, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "refused" in r.stdout


def test_system_exit_in_green_thread_ends_main(script):
    r = script("""
        import time, guv
        def bye():
            guv.sleep(0.05)
            raise SystemExit(7)
        guv.spawn(bye)
        start = time.monotonic()
        try:
            guv.sleep(10)
        finally:
            print("main left sleep after %.2f s" % (time.monotonic() - start))
    """, timeout=30)
    assert r.returncode == 7, r.stderr
    assert float(r.stdout.split()[-2]) < 2.0


def test_keyboard_interrupt_in_green_thread_reaches_main_wait(script):
    r = script("""
        import guv
        def stop():
            guv.sleep(0.01)
            raise KeyboardInterrupt
        def forever():
            guv.sleep(60)
        guv.spawn(stop)
        try:
            guv.spawn(forever).wait()
        except KeyboardInterrupt:
            print("main got KeyboardInterrupt")
    """, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "main got KeyboardInterrupt" in r.stdout


def test_ctrl_c_interrupts_main_waiting_in_the_hub():
    # No Python runs while the hub idles; SIGINT must still reach main promptly.
    import signal
    import subprocess
    import time as _time

    src = """
import time, guv
print("ready", flush=True)
start = time.monotonic()
try:
    guv.spawn(guv.sleep, 30).wait()
except KeyboardInterrupt:
    print("interrupted after %.2f" % (time.monotonic() - start), flush=True)
"""
    p = subprocess.Popen([sys.executable, "-c", src], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        _time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=20)
    finally:
        p.kill()
    assert p.returncode == 0
    assert float(out.split()[-1]) < 5


def test_green_threads_on_two_os_threads_share_the_gil():
    # Each OS thread has its own hub; their green threads take the GIL with
    # their own states, and a hub waiting in one thread holds no GIL.
    results = {}

    def os_thread(name):
        def green(i):
            guv.sleep(0.001 * (i % 5))
            return threading.get_ident(), i

        gts = [guv.spawn(green, i) for i in range(30)]
        results[name] = [gt.wait() for gt in gts]

    threads = [threading.Thread(target=os_thread, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    os_thread("main")
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == ["a", "b", "main"]
    for name, rows in results.items():
        assert [i for _, i in rows] == list(range(30))
        assert len({ident for ident, _ in rows}) == 1  # all on their own OS thread
    assert len({rows[0][0] for rows in results.values()}) == 3


def test_main_switching_with_the_gil_held_fails_loudly_not_hangs(script):
    # Calling guv from main through ctypes.PyDLL keeps the GIL held while the
    # hub runs: the green thread cannot take it. That must end the process
    # with a message, never hang.
    r = script("""
        import ctypes, guv
        from guv import _lib
        lib = ctypes.PyDLL(_lib.find_libguv())
        lib.guv_sleep.argtypes = [ctypes.c_double]
        guv.spawn(lambda: None)
        lib.guv_sleep(0.01)
    """, timeout=30)
    assert r.returncode != 0
    assert "cannot take the GIL" in r.stderr


def test_system_exit_ends_mains_fd_wait(script):
    r = script("""
        import socket, time, guv
        a, b = socket.socketpair()
        def bye():
            guv.sleep(0.05)
            raise SystemExit(5)
        guv.spawn(bye)
        start = time.monotonic()
        try:
            guv.trampoline(b, guv.READ)  # nothing will ever be written
        finally:
            print("main left trampoline after %.2f s" % (time.monotonic() - start))
    """, timeout=30)
    assert r.returncode == 5, r.stderr
    assert float(r.stdout.split()[-2]) < 2.0


def test_keyboard_interrupt_ends_guv_run(script):
    r = script("""
        import guv
        def serve_forever():
            while True:
                guv.sleep(0.01)
        def stop():
            guv.sleep(0.05)
            raise KeyboardInterrupt
        guv.spawn(serve_forever)
        guv.spawn(stop)
        try:
            guv.run()
        except KeyboardInterrupt:
            print("run interrupted")
    """, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "run interrupted" in r.stdout
