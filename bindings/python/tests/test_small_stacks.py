"""GUV_STACK_SIZE makes Python green threads' stacks smaller (8 MiB otherwise):
on 3.12+ a C recursion deeper than such a stack holds raises RecursionError
instead of crashing on its guard page."""
import sys

import pytest

RECURSIONS = """
import json, sys, guv
sys.setrecursionlimit(100000)

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


@pytest.mark.skipif(sys.version_info < (3, 12), reason="3.11 counts C recursion with Python's (sys.getrecursionlimit)")
@pytest.mark.parametrize("size", ["262144", "1M"])
def test_deep_c_recursion_on_a_small_stack_raises_recursion_error(script, size):
    r = script(RECURSIONS, env={"GUV_STACK_SIZE": size})
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    lines = r.stdout.splitlines()
    assert lines == [
        "__repr__ calling repr RecursionError",
        "Python through map RecursionError",
        "nested list repr RecursionError",
        "json.dumps RecursionError",
        "after 20",
    ], r.stdout
