"""The binding's per-task hooks beside guv.hpp's in one process, as in a
Python extension written in C++ with guv.hpp: green threads that block
inside a C++ catch block, while handling a Python exception, keep both their
C++ exception record and their Python state across the switches."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

# guv's symbols come from the libguv that `import guv` loaded (RTLD_GLOBAL).
EXTENSION = r"""
#include <guv.hpp>
#include <string>

// Blocks three times inside a catch block; after each switch the exception
// being handled must still be this call's own.
extern "C" int catch_and_block(int id, double seconds) {
    try {
        throw std::runtime_error(std::to_string(id));
    } catch (const std::runtime_error& e) {
        for (int i = 0; i < 3; i++) {
            if (guv_sleep(seconds) != 0) return -1;
            if (e.what() != std::to_string(id)) return -2;
            try {
                throw;
            } catch (const std::runtime_error& again) {
                if (&again != &e) return -3;
            }
        }
    }
    return std::uncaught_exceptions() == 0 ? id : -4;
}

extern "C" int cpp_hooks_handle() { return guv::detail::hooks_handle; }
"""

# In a process of its own: guv.hpp's hooks, once added, stay for the process.
SCRIPT = """
import ctypes, sys
import guv
from guv import _core

lib = ctypes.CDLL(sys.argv[1])
assert lib.cpp_hooks_handle() > 0

def green(i):
    state = _core.state_id()
    try:
        raise KeyError(i)
    except KeyError:
        rc = lib.catch_and_block(i, ctypes.c_double(0.001 * (1 + i % 3)))
        assert sys.exc_info()[1].args == (i,), sys.exc_info()
        assert _core.state_id() == state
    return rc

gts = [guv.spawn(green, i) for i in range(8)]
print([gt.wait() for gt in gts])
"""


def test_python_and_cpp_state_both_kept(tmp_path, script):
    cxx = shutil.which(os.environ.get("CXX", "c++"))
    if cxx is None:
        pytest.skip("no C++ compiler")
    src = tmp_path / "ext.cpp"
    src.write_text(EXTENSION)
    so = tmp_path / "libext.so"
    subprocess.run([cxx, "-std=c++17", "-O1", "-shared", "-fPIC", "-I", os.path.join(ROOT, "include"),
                    "-I", os.path.join(ROOT, "bindings", "cpp"), str(src), "-o", str(so)], check=True)
    r = script(SCRIPT, args=(str(so),))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(list(range(8)))
