"""A stack size chosen for guv (GUV_STACK_SIZE, guv_set_stack_size) is the one
Python green threads get; otherwise they get the binding's own default. On
3.12+ a C recursion deeper than a small stack holds raises RecursionError
instead of crashing on its guard page."""
import signal
import sys

import pytest

STACK_SIZES = """
import ctypes, sys, guv
from guv import _core
if len(sys.argv) > 1:
    # libguv is loaded RTLD_GLOBAL: its exports are the process's.
    set_size = ctypes.CDLL(None).guv_set_stack_size
    set_size.argtypes = [ctypes.c_size_t]
    assert set_size(int(sys.argv[1])) == 0
print(_core.PY_STACK_SIZE, guv.spawn(_core.stack_size).wait())
"""


def _sizes(script, env=None, args=()):
    """(the binding's default, the stack a Python green thread got) in a fresh process."""
    r = script(STACK_SIZES, env=env, args=args)
    assert r.returncode == 0, r.stderr[-2000:]
    default, got = map(int, r.stdout.split())
    return default, got, r.stderr


def test_unless_a_size_is_chosen_python_green_threads_get_the_binding_default(script):
    default, got, _ = _sizes(script, env={"GUV_STACK_SIZE": None})
    assert got == default


@pytest.mark.parametrize("value, size", [("262144", 256 << 10), ("1M", 1 << 20), ("0x20000", 128 << 10)])
def test_guv_stack_size_is_used_by_python_green_threads(script, value, size):
    _, got, _ = _sizes(script, env={"GUV_STACK_SIZE": value})
    assert got == size


@pytest.mark.parametrize("value", ["lots", "1000", ""])
def test_an_ignored_guv_stack_size_leaves_the_binding_default(script, value):
    default, got, err = _sizes(script, env={"GUV_STACK_SIZE": value})
    assert got == default
    assert "ignoring GUV_STACK_SIZE" in err


def test_guv_set_stack_size_is_used_by_python_green_threads(script):
    _, got, _ = _sizes(script, env={"GUV_STACK_SIZE": None}, args=[str(192 << 10)])
    assert got == 192 << 10

RECURSIONS = """
import json, sys, guv
if len(sys.argv) > 1:
    sys.setrecursionlimit(int(sys.argv[1]))

class R:
    def __init__(self, n):
        self.n = n
    def __repr__(self):
        return "R" if self.n == 0 else "R(%r)" % R(self.n - 1)

def via_c(n):
    return 0 if n == 0 else list(map(via_c, [n - 1]))[0] + 1

def nested(depth):
    x = []
    for _ in range(depth):
        x = [x]
    return x

def run(what):
    try:
        what()
        return "no error"
    except RecursionError:
        return "RecursionError"

cases = {
    "__repr__ calling repr": lambda: repr(R(5000)),
    "Python through map": lambda: via_c(5000),
    "nested list repr": lambda: repr(nested(50000)),
    "json.dumps": lambda: json.dumps(nested(50000)),
}
for name, fn in cases.items():
    print(name, guv.spawn(run, fn).wait())
# And a green thread after those, on a reused state, still recurses a little.
print("after", guv.spawn(lambda: via_c(20)).wait())
"""


ALL_RECURSION_ERRORS = [
    "__repr__ calling repr RecursionError",
    "Python through map RecursionError",
    "nested list repr RecursionError",
    "json.dumps RecursionError",
    "after 20",
]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="3.11 counts C recursion with Python's (sys.getrecursionlimit)")
@pytest.mark.parametrize("size", ["262144", "1M", None])
def test_deep_c_recursion_on_a_small_stack_raises_recursion_error(script, size):
    r = script(RECURSIONS, env={"GUV_STACK_SIZE": size}, args=["100000"])
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert r.stdout.splitlines() == ALL_RECURSION_ERRORS, r.stdout


SORTED = """
import sys, guv
sys.setrecursionlimit(100000)

def through_sorted(n):
    return 0 if n == 0 else sorted([n], key=lambda v: through_sorted(v - 1))[0] + 1

def run():
    try:
        return through_sorted(5000)
    except RecursionError:
        return "RecursionError"

print(guv.spawn(run).wait())
"""


@pytest.mark.skipif(sys.version_info < (3, 12), reason="3.11 counts C recursion with Python's (sys.getrecursionlimit)")
@pytest.mark.parametrize("size", ["1M", "2M", "4M"])
def test_recursion_through_sorted_raises_recursion_error(script, size):
    # sorted() has the largest C frame seen: about 1.6 KiB of stack per level.
    r = script(SORTED, env={"GUV_STACK_SIZE": size})
    assert (r.returncode, r.stdout) == (0, "RecursionError\n"), (r.returncode, r.stdout, r.stderr[-2000:])


def test_the_default_stack_holds_recursion_to_the_default_limit(script):
    # On 3.11 too, where only sys.getrecursionlimit() bounds C recursion:
    # these need up to 720 KiB of stack there at its default limit of 1000.
    r = script(RECURSIONS, env={"GUV_STACK_SIZE": None})
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert r.stdout.splitlines() == ALL_RECURSION_ERRORS, r.stdout


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ raise RecursionError (above)")
def test_on_3_11_a_recursion_deeper_than_the_stack_is_reported_and_aborts(script):
    # Never a silent corruption: guv's guard page catches it, says which
    # green thread overflowed and how to give it more, and aborts.
    r = script(RECURSIONS, env={"GUV_STACK_SIZE": None}, args=["100000"])
    assert r.returncode == -signal.SIGABRT, (r.returncode, r.stdout, r.stderr[-2000:])
    assert "overflowed its stack (%d bytes; raise it with GUV_STACK_SIZE" % _core_default() in r.stderr, r.stderr
    assert r.stdout == "", r.stdout


def _core_default():
    from guv import _core

    return _core.PY_STACK_SIZE
