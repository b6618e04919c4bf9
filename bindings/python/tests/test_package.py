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


def test_import_guv_leaves_psycopg2_alone(script):
    # psycopg2 refuses COPY whenever a wait callback is set: importing guv must not set one.
    r = script("""
        import io, os, guv, psycopg2, psycopg2.extensions
        ext = psycopg2.extensions
        before = psycopg2.connect, psycopg2._connect, dict(ext.cursor.__dict__), dict(ext.connection.__dict__)
        import guv.support.psycopg2
        assert ext.get_wait_callback() is None
        assert before == (psycopg2.connect, psycopg2._connect, dict(ext.cursor.__dict__), dict(ext.connection.__dict__))
        c = psycopg2.connect(os.environ["GUV_TEST_PG"])
        out = io.StringIO()
        c.cursor().copy_expert("copy (select 1) to stdout", out)
        assert out.getvalue() == "1\\n", out.getvalue()
    """, env={"GUV_TEST_PG": os.environ.get("GUV_TEST_PG", "host=127.0.0.1 port=5432 dbname=test")})
    assert r.returncode == 0, r.stderr


def test_import_guv_changes_nothing_process_wide(script):
    # Not even the signal wakeup fd or an OS thread: both wait for main's first wait in the hub.
    r = script("""
        import os, select, signal, socket, sys, threading, time, _thread

        def snapshot():
            return {
                "signal handlers": {s: signal.getsignal(s) for s in signal.valid_signals()
                                    if s not in (signal.SIGKILL, signal.SIGSTOP)},
                "signal mask": signal.pthread_sigmask(signal.SIG_BLOCK, []),
                "wakeup fd": signal.set_wakeup_fd(-1),  # -1 before; after, any other fails the test
                "OS threads": len(os.listdir("/proc/self/task")),
                "open fds": sorted(os.listdir("/proc/self/fd")),
                "hooks": (sys.excepthook, sys.unraisablehook, sys.gettrace(), sys.getprofile(),
                          threading.excepthook, sys.getswitchinterval()),
                "functions": (socket.socket, socket.create_connection, time.sleep, select.select,
                              threading.Thread, threading.Lock, _thread.start_new_thread,
                              _thread.get_ident, os.fork, os.read),
            }

        before = snapshot()
        import guv
        after = snapshot()
        changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
        assert not changed, changed
        guv.sleep(0)
        assert signal.set_wakeup_fd(-1) != -1, "main waited in the hub without the wakeup fd: Ctrl-C would wait"
    """)
    assert r.returncode == 0, r.stderr


def test_monkey_patch_switches_psycopg2_support_on_unless_told_not_to(script):
    r = script("""
        import sys, guv, psycopg2.extensions
        from guv.support import psycopg2 as support
        guv.monkey_patch(psycopg2=False)
        assert not support.enabled() and not guv.patcher.is_monkey_patched("psycopg2")
        guv.monkey_patch()
        assert support.enabled() and guv.patcher.is_monkey_patched("psycopg2")
        assert psycopg2.extensions.get_wait_callback() is support.wait_callback
    """)
    assert r.returncode == 0, r.stderr


def test_monkey_patch_skips_an_absent_driver_unless_asked_for_it(script):
    # A driver that cannot be imported (here: hidden by a None in sys.modules) is skipped.
    r = script("""
        import sys
        sys.modules["psycopg2"] = None
        import guv
        guv.monkey_patch()
        assert not guv.patcher.is_monkey_patched("psycopg2")
        assert guv.patcher.is_monkey_patched("socket")
        try:
            guv.monkey_patch(psycopg2=True)
        except ImportError as e:
            print("asked for:", e)
        else:
            raise AssertionError("psycopg2=True without psycopg2 passed silently")
    """)
    assert r.returncode == 0, r.stderr
    assert "asked for:" in r.stdout


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


def test_a_directory_named_like_a_driver_is_not_that_driver(script, tmp_path):
    # psycopg2's source tree has a psycopg/ of C files: run from there, monkey_patch
    # took it for psycopg 3 and failed importing its support.
    (tmp_path / "psycopg").mkdir()
    r = script(f"""
        import sys, guv
        sys.path[:] = [{str(tmp_path)!r}] + [p for p in sys.path if "-packages" not in p and p]
        assert not guv.support.installed("psycopg")
        guv.monkey_patch()
        print("patched")
    """)
    assert r.stdout.strip() == "patched", r.stderr
