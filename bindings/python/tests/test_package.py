"""How guv finds libguv (GUV_LIBRARY, the packaged copy, the linker path, pkg-config)."""
import os

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


def _without_env_and_packaged_copy(monkeypatch, tmp_path):
    monkeypatch.delenv("GUV_LIBRARY", raising=False)
    monkeypatch.setattr(_lib, "__file__", str(tmp_path / "_lib.py"))  # no libguv.so beside it


def test_then_the_linker_path(monkeypatch, tmp_path):
    import ctypes.util

    _without_env_and_packaged_copy(monkeypatch, tmp_path)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: "libguv.so.0" if name == "guv" else None)
    assert _lib.find_libguv() == "libguv.so.0"


def test_then_pkg_config(monkeypatch, tmp_path):
    import ctypes.util

    _without_env_and_packaged_copy(monkeypatch, tmp_path)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "libguv.so").write_bytes(b"")
    (tmp_path / "guv.pc").write_text(f"libdir={tmp_path}/lib\nName: guv\nDescription: t\nVersion: 0.1.0\n"
                                     "Libs: -L${libdir} -lguv\n")
    monkeypatch.setenv("PKG_CONFIG_PATH", str(tmp_path))
    assert _lib.find_libguv() == str(tmp_path / "lib" / "libguv.so")
    monkeypatch.setenv("PKG_CONFIG_PATH", str(tmp_path / "nothing-here"))
    monkeypatch.setenv("PKG_CONFIG_LIBDIR", str(tmp_path / "nothing-here"))
    try:
        _lib.find_libguv()
    except ImportError as e:
        assert "libguv not found" in str(e)
    else:
        raise AssertionError("found a libguv where there is none")


def test_the_package_ships_guv_green_and_monkey_patch_loads_on_first_use(script):
    r = script("""
        import sys, guv
        assert "guv.patcher" not in sys.modules and "guv.gunicorn_worker" not in sys.modules
        from guv import patcher
        import guv.green.socket
        assert guv.monkey_patch is patcher.monkey_patch
        try:
            from guv.gunicorn_worker import GuvWorker
        except ImportError as e:
            assert e.name.startswith("gunicorn"), e  # where gunicorn is not installed
        else:
            assert guv.GuvWorker is GuvWorker
        print("ok", guv.green.socket.__file__)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok " + os.path.dirname(guv.__file__) + os.sep)
