"""Run by a venv's python where guv was installed from a wheel, with no
GUV_LIBRARY and no cargo on PATH: the package must work on its own."""
import os
import shutil
import subprocess
import sys
import textwrap
import time

assert shutil.which("cargo") is None, "cargo is on PATH: this would not prove the wheel stands alone"
assert "GUV_LIBRARY" not in os.environ

import guv  # noqa: E402
from guv import _lib  # noqa: E402

pkg = os.path.dirname(guv.__file__)
assert pkg.startswith(sys.prefix + os.sep), (pkg, sys.prefix)
assert _lib.find_libguv() == os.path.join(pkg, "libguv.so")

# Green threads run on the packaged libguv: ten 0.2 s sleeps end together.
start = time.monotonic()
pool = guv.GreenPool(10)
assert list(pool.imap(lambda i: guv.sleep(0.2) or i, range(10))) == list(range(10))
elapsed = time.monotonic() - start
assert elapsed < 1.0, elapsed

# `python -m guv run` preloads the packaged hook, which links the packaged
# libguv: time.sleep (libc's nanosleep) then suspends only its green thread.
program = textwrap.dedent(f"""
    import time, guv
    maps = open("/proc/self/maps").read()
    assert {os.path.join(pkg, "libguv_hook.so")!r} in maps, maps
    libguvs = {{line.split()[-1] for line in maps.splitlines() if line.endswith("/libguv.so")}}
    assert libguvs == {{{os.path.join(pkg, "libguv.so")!r}}}, libguvs
    start = time.monotonic()
    pool = guv.GreenPool(10)
    list(pool.imap(lambda i: time.sleep(0.2), range(10)))
    print("hooked sleeps: %.2f s" % (time.monotonic() - start))
    assert time.monotonic() - start < 1.0
""")
with open("prog.py", "w") as f:
    f.write(program)
r = subprocess.run([sys.executable, "-m", "guv", "run", "prog.py"], capture_output=True, text=True, timeout=60)
assert r.returncode == 0, r.stderr
print(r.stdout.strip())

# GUV_LIBRARY still comes first.
r = subprocess.run([sys.executable, "-c", "import guv"], capture_output=True, text=True, timeout=60,
                   env=dict(os.environ, GUV_LIBRARY="/nonexistent/libguv.so"))
assert r.returncode != 0 and "GUV_LIBRARY=/nonexistent/libguv.so is not a file" in r.stderr, r.stderr
other = os.path.abspath("other-libguv.so")
shutil.copyfile(os.path.join(pkg, "libguv.so"), other)
r = subprocess.run([sys.executable, "-c", "import guv; from guv import _lib; guv.sleep(0); print(_lib.find_libguv())"],
                   capture_output=True, text=True, timeout=60, env=dict(os.environ, GUV_LIBRARY=other))
assert r.returncode == 0 and r.stdout.strip() == other, (r.stdout, r.stderr)
print("installed guv works:", sys.version.split()[0], pkg)
