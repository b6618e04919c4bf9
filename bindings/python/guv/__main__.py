"""python -m guv run [--patch] script.py [args...]
python -m guv run [--patch] -m module [args...]

Runs the program with libguv_hook.so preloaded, so C extensions that block
in libc (psycopg2 without a wait callback, mysqlclient, hiredis) wait
cooperatively inside green threads with no support module. The process is
re-executed once with LD_PRELOAD set and GUV_LIBRARY pointing at the libguv
the hook itself links, so the binding and the hook share one libguv (two
copies would mean two hubs). --patch also calls guv.patcher.monkey_patch()
before the program starts.

The hook is found through GUV_HOOK_LIBRARY, next to the binding's libguv,
on the linker path, then through pkg-config (guv-hook)."""
import ctypes.util
import os
import re
import runpy
import subprocess
import sys

from ._lib import find_libguv

USAGE = "usage: python -m guv run [--patch] (script.py | -m module) [args...]"


def find_hook():
    env = os.environ.get("GUV_HOOK_LIBRARY")
    if env:
        if not os.path.isfile(env):
            sys.exit(f"guv: GUV_HOOK_LIBRARY={env} is not a file")
        return os.path.abspath(env)
    beside = os.path.join(os.path.dirname(os.path.realpath(find_libguv())), "libguv_hook.so")
    if os.path.isfile(beside):
        return beside
    found = ctypes.util.find_library("guv_hook")
    if found:
        return found
    try:
        libdir = subprocess.run(["pkg-config", "--variable=libdir", "guv-hook"],
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        libdir = ""
    if libdir and os.path.isfile(os.path.join(libdir, "libguv_hook.so")):
        return os.path.join(libdir, "libguv_hook.so")
    sys.exit("guv: libguv_hook.so not found (set GUV_HOOK_LIBRARY, or install it with `make install`)")


def libguv_of(hook):
    """The libguv the dynamic linker gives the hook (its DT_NEEDED, as ldd resolves it)."""
    out = subprocess.run(["ldd", hook], capture_output=True, text=True).stdout
    match = re.search(r"^\s*libguv\.so\S*\s+=>\s+(\S+)", out, re.M)
    if not match or not os.path.isfile(match.group(1)):
        sys.exit(f"guv: cannot tell which libguv {hook} links (ldd says:\n{out})")
    return os.path.realpath(match.group(1))


def hook_loaded():
    with open("/proc/self/maps") as maps:
        return "libguv_hook" in maps.read()


def run(argv):
    patch = False
    if argv[:1] == ["--patch"]:
        patch, argv = True, argv[1:]
    if not argv or argv[0] in ("-h", "--help") or (argv[0] == "-m" and len(argv) < 2):
        sys.exit(USAGE)
    if not hook_loaded():
        if os.environ.get("GUV_RUN_REEXEC"):
            sys.exit("guv: LD_PRELOAD of libguv_hook.so did not take effect")
        hook = find_hook()
        env = dict(os.environ, GUV_RUN_REEXEC="1", GUV_LIBRARY=libguv_of(hook))
        env["LD_PRELOAD"] = " ".join(filter(None, [hook, os.environ.get("LD_PRELOAD")]))
        os.execve(sys.executable, [sys.executable, "-m", "guv", "run"] + (["--patch"] if patch else []) + argv, env)
    os.environ.pop("GUV_RUN_REEXEC", None)  # the program's own children start afresh
    if patch:
        from . import patcher

        patcher.monkey_patch()
    if argv[0] == "-m":
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = argv
        sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
        runpy.run_path(argv[0], run_name="__main__")


def main():
    if len(sys.argv) < 2 or sys.argv[1] != "run":
        sys.exit(USAGE)
    run(sys.argv[2:])


if __name__ == "__main__":
    main()
