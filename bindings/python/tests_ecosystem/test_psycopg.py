"""psycopg 3, its synchronous API, with its C speedups (psycopg-binary) and
without (pure Python over the system libpq), against the PostgreSQL at
GUV_TEST_PG: each in a process of its own (psycopg picks its
implementation once, at import), running psycopg_check.py."""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize("impl", ["binary", "python"])
def test_psycopg_is_cooperative_and_a_timeout_cancels(impl):
    env = dict(os.environ, PSYCOPG_IMPL=impl, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run([sys.executable, os.path.join(HERE, "psycopg_check.py"), impl], capture_output=True,
                          text=True, timeout=90, env=env, cwd=HERE)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.stdout.strip().endswith("ok")
