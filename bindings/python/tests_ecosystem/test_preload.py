"""Preload mode: `python -m guv run script.py` re-executes the program with
libguv_hook.so preloaded (GUV_HOOK_LIBRARY, from make), so C drivers that
block in libc cooperate with no support module and no monkey_patch."""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def guv_run(*args, env=None):
    full_env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "guv", "run", *args], capture_output=True, text=True,
                          timeout=90, env=full_env, cwd=HERE)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


@pytest.mark.parametrize("driver", ["psycopg2", "mysqlclient", "redis-hiredis"])
def test_c_driver_under_preload(driver):
    assert guv_run("preload_drivers.py", driver).strip().endswith("ok")


def test_preload_and_monkey_patch_together():
    """--patch: green sockets (non-blocking fds, which the hook leaves alone)
    beside a C driver the hook makes cooperative."""
    assert guv_run("--patch", "preload_drivers.py", "mysqlclient", "patched").strip().endswith("ok")


def test_run_module_with_patch_and_arguments():
    out = guv_run("--patch", "-m", "json.tool", "--compact", "preload_input.json")
    assert out.strip() == '{"a":[1,2]}'


def test_without_a_hook_it_fails_loudly():
    proc = subprocess.run([sys.executable, "-m", "guv", "run", "preload_drivers.py", "psycopg2"],
                          capture_output=True, text=True, timeout=30, cwd=HERE,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
                                   GUV_HOOK_LIBRARY="/nonexistent/libguv_hook.so"))
    assert proc.returncode != 0 and "GUV_HOOK_LIBRARY" in proc.stderr
