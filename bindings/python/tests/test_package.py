"""How guv finds libguv (GUV_LIBRARY, the packaged copy, the linker path, pkg-config)."""
import os
import subprocess
import sys

import guv
from guv import _lib


def test_imports_the_installed_package():
    # Under `make test-python` guv comes from the pip install, with its own libguv.
    installed = os.environ.get("GUV_TEST_INSTALLED")
    if installed:
        assert guv.__file__.startswith(installed + os.sep)
        assert _lib.find_libguv() == os.path.join(os.path.dirname(guv.__file__), "libguv.so")
    else:
        assert _lib.find_libguv() == os.environ["GUV_LIBRARY"]


def test_guv_library_comes_first_and_must_exist(script):
    r = script("import guv", env={"GUV_LIBRARY": "/nonexistent/libguv.so"})
    assert r.returncode != 0
    assert "GUV_LIBRARY=/nonexistent/libguv.so is not a file" in r.stderr


def test_psycopg2_support_is_on_after_import_guv():
    import psycopg2.extensions

    from guv.support import psycopg2 as support

    assert psycopg2.extensions.get_wait_callback() is support.wait_callback


def test_guv_support_0_leaves_psycopg2_alone(script):
    r = script("""
        import guv, psycopg2.extensions
        print(psycopg2.extensions.get_wait_callback())
    """, env={"GUV_SUPPORT": "0"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "None"
