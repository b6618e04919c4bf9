import os
import subprocess
import sys
import textwrap

import pytest


def run_script(source, timeout=60, env=None, args=()):
    """Run `source` in a fresh interpreter (for what ends or kills a process);
    a variable None in `env` is removed from the environment."""
    full_env = dict(os.environ, **(env or {}))
    full_env = {k: v for k, v in full_env.items() if v is not None}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(source), *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env)


@pytest.fixture
def script():
    return run_script



@pytest.fixture(scope="module")
def psycopg2_support():
    """guv.support.psycopg2 switched on for a test module (`import guv` leaves it off)."""
    from guv.support import psycopg2 as support

    support.enable()
    yield
    support.disable()
