"""An ended green thread's PyThreadState is kept for the next one, and a green
thread's first Python frames live in a chunk on its own C stack: neither may
carry anything of one green thread into the next."""
import contextvars
import sys
import traceback

import guv
from guv import _core

_var = contextvars.ContextVar("_var", default="unset")


def _state_of(fn, *args):
    """Runs fn(*args) in a green thread: (its PyThreadState's address, its result)."""
    gt = guv.spawn(lambda: (_core.state_id(), fn(*args)))
    return gt.wait()


def _reused_after(dirty):
    """Runs `dirty` in a green thread, then a clean one that must get the
    same PyThreadState (the test is void otherwise): the clean one's view."""

    def look():
        return {
            "exc_info": sys.exc_info(),
            "var": _var.get(),
            "trace": sys.gettrace(),
            "profile": sys.getprofile(),
            "asyncgen": tuple(sys.get_asyncgen_hooks()),
        }

    first, _ = _state_of(dirty)
    second, seen = _state_of(look)
    assert first == second, "the second green thread did not reuse the first one's state"
    return seen


def test_an_exception_being_handled_is_not_seen_by_the_next():
    def dirty():
        try:
            raise KeyError("first")
        except KeyError:
            guv.sleep(0)
            assert sys.exc_info()[0] is KeyError

    assert _reused_after(dirty)["exc_info"] == (None, None, None)


def test_an_exception_that_ended_a_green_thread_is_not_seen_by_the_next():
    used = []

    def dirty():
        used.append(_core.state_id())
        raise ValueError("ends it")

    ended = guv.spawn(dirty)
    try:
        ended.wait()
    except ValueError:
        pass
    second, seen = _state_of(sys.exc_info)
    assert used == [second], "the second green thread did not reuse the first one's state"
    assert seen == (None, None, None)


def test_context_variables_are_not_seen_by_the_next():
    def dirty():
        _var.set("first")
        guv.sleep(0)
        assert _var.get() == "first"

    assert _reused_after(dirty)["var"] == "unset"


def test_tracing_and_profiling_are_not_inherited_by_the_next():
    calls = []

    def tracer(frame, event, arg):
        calls.append(event)
        return tracer

    def dirty():
        sys.settrace(tracer)
        sys.setprofile(tracer)
        guv.sleep(0)
        sum(range(3))

    seen = _reused_after(dirty)
    assert seen["trace"] is None and seen["profile"] is None
    assert calls, "the tracer never ran in the green thread that set it"
    n = len(calls)
    _state_of(lambda: sum(range(3)))
    assert len(calls) == n, "a later green thread was traced"


def test_async_generator_hooks_are_not_inherited_by_the_next():
    def hook(agen):
        pass

    def dirty():
        sys.set_asyncgen_hooks(firstiter=hook, finalizer=hook)

    assert _reused_after(dirty)["asyncgen"] == (None, None)


def _depth():
    f, n = sys._getframe(), 0
    while f is not None:
        f, n = f.f_back, n + 1
    return n


def _recurse(n):
    return _recurse(n - 1) if n else _depth()


def test_recursion_depth_starts_afresh_after_a_recursion_error():
    def dirty():
        def down():
            down()

        try:
            down()
        except RecursionError:
            return True

    def deep():
        # Close to the limit: a depth left over from the last user of this
        # state would make it fail.
        return _recurse(sys.getrecursionlimit() - _depth() - 20)

    first, hit = _state_of(dirty)
    assert hit
    second, depth = _state_of(deep)
    assert second == first
    assert depth > sys.getrecursionlimit() - 30


def test_c_recursion_budget_starts_afresh_after_a_recursion_error():
    # A recursion through C (a __repr__ calling repr) spends the C budget
    # that 3.12+ give each green thread for its stack (on 3.11, the one
    # recursion count); one that ended in RecursionError must not leave the
    # next user of its state with less.
    class R:
        def __init__(self, n):
            self.n = n

        def __repr__(self):
            return "R" if self.n == 0 else "R(%r)" % R(self.n - 1)

    def deepest():
        lo, hi = 0, 100_000
        while lo < hi:
            mid = (lo + hi + 1) // 2
            try:
                repr(R(mid))
                lo = mid
            except RecursionError:
                hi = mid - 1
        return lo

    first, before = _state_of(deepest)

    def dirty():
        try:
            repr(R(100_000))
        except RecursionError:
            return True

    second, hit = _state_of(dirty)
    third, after = _state_of(deepest)
    assert hit and first == second == third
    assert after == before > 50


def test_threading_local_values_are_not_seen_by_the_next():
    import threading

    local = threading.local()

    def dirty():
        local.value = "first"
        guv.sleep(0)
        return local.value

    first, value = _state_of(dirty)
    second, seen = _state_of(lambda: getattr(local, "value", "unset"))
    assert value == "first" and first == second
    assert seen == "unset"


def test_deep_python_calls_leave_the_first_chunk_and_come_back():
    # Each call's frame is pushed beyond the 1 KiB chunk on the C stack and
    # popped back into it, many times, while other green threads switch in.
    def worker(i):
        total = 0
        for k in range(200):
            total += _recurse(k % 60) - _depth()  # k % 60 + 1: the _recurse frames
            if k % 50 == 0:
                guv.sleep(0)
        return i, total

    gts = [guv.spawn(worker, i) for i in range(20)]
    expected = sum(k % 60 + 1 for k in range(200))
    assert [gt.wait() for gt in gts] == [(i, expected) for i in range(20)]


def test_frames_and_tracebacks_outlive_the_green_thread_and_its_stack():
    def make():
        secret = ["first", 42]

        def gen():
            mine = "gen-local"
            yield mine
            yield secret

        try:
            raise LookupError("kept")
        except LookupError as e:
            exc = e
        return sys._getframe(), exc, gen()

    frame, exc, g = guv.spawn(make).wait()
    # Other green threads now run on the stack, and with the state, `make` used.
    guv.spawn(lambda: [_recurse(50) for _ in range(10)]).wait()
    assert frame.f_locals["secret"] == ["first", 42]
    assert frame.f_code.co_name == "make"
    names = [f.name for f in traceback.extract_tb(exc.__traceback__)]
    assert names == ["make"]
    assert exc.__traceback__.tb_frame.f_locals["secret"] == ["first", 42]
    # A generator made there runs on in another green thread.
    assert guv.spawn(lambda: (next(g), next(g))).wait() == ("gen-local", ["first", 42])


def test_many_rounds_reuse_states_and_keep_them_clean():
    # Waves of green threads each leave something behind (an exception being
    # handled, a context variable, a tracer); none of it reaches the next wave.
    def leave_things(i):
        _var.set(i)
        try:
            raise RuntimeError(i)
        except RuntimeError:
            guv.sleep(0)
            if i % 3 == 0:
                return "in except"
        return "done"

    def check(i):
        assert sys.exc_info() == (None, None, None)
        assert _var.get() == "unset"
        assert sys.gettrace() is None
        return _core.state_id()

    states = set()
    for _ in range(5):
        for gt in [guv.spawn(leave_things, i) for i in range(100)]:
            gt.wait()
        states.update(gt.wait() for gt in [guv.spawn(check, i) for i in range(100)])
    assert len(states) <= 100, "states were not reused across waves"
