"""Where libguv is: GUV_LIBRARY, the copy installed with the package, the
system linker path, then pkg-config, in that order."""
import ctypes.util
import os
import subprocess


def find_libguv():
    env = os.environ.get("GUV_LIBRARY")
    if env:
        if not os.path.isfile(env):
            raise ImportError(f"guv: GUV_LIBRARY={env} is not a file")
        return env
    packaged = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libguv.so")
    if os.path.isfile(packaged):
        return packaged
    on_linker_path = ctypes.util.find_library("guv")
    if on_linker_path:
        return on_linker_path
    try:
        libdir = subprocess.run(
            ["pkg-config", "--variable=libdir", "guv"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        libdir = ""
    if libdir and os.path.isfile(os.path.join(libdir, "libguv.so")):
        return os.path.join(libdir, "libguv.so")
    raise ImportError(
        "guv: libguv not found (set GUV_LIBRARY, install guv with a built libguv, "
        "put libguv.so on the linker path, or install guv.pc for pkg-config)"
    )
