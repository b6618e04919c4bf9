"""subprocess with cooperative pipes: Popen's stdin/stdout/stderr are
opened on a non-blocking fd whose reads and writes wait in guv.trampoline,
so proc.stdout.read(), readline() and communicate() suspend only the
caller. Waiting for the child needs the os patch (waitpid).

`from guv.green import subprocess` gives a whole green subprocess module
without patching: a private copy of the stdlib's, made on first use of a
name this module does not define, over guv.green's os, time, select,
selectors and threading."""
import io as _io
import os as _os
import types

from .. import _core
from ..greenthread import trampoline
from .._runtime import READ, WRITE

_orig_write = _os.write


class GreenFileIO(_io.RawIOBase):
    """A raw pipe end (non-blocking underneath) for io's buffered classes."""

    def __init__(self, fd, mode):
        super().__init__()
        self._fd = fd
        self._mode = mode
        _os.set_blocking(fd, False)

    def fileno(self):
        return self._fd

    def readable(self):
        return "r" in self._mode

    def writable(self):
        return "w" in self._mode or "a" in self._mode

    def readinto(self, b):
        while True:
            try:
                return _os.readv(self._fd, [b])
            except BlockingIOError:
                trampoline(self._fd, READ)

    def write(self, b):
        while True:
            try:
                return _orig_write(self._fd, b)
            except BlockingIOError:
                trampoline(self._fd, WRITE)

    def close(self):
        if not self.closed:
            try:
                _core.close(self._fd)
            finally:
                super().close()


def open(file, mode="r", buffering=-1, *args, **kw):
    """io.open, green for the pipe fds Popen opens; anything else is io.open's."""
    if not isinstance(file, int) or "b" not in mode or args or kw:
        return _io.open(file, mode, buffering, *args, **kw)
    raw = GreenFileIO(file, mode)
    if buffering == 0:
        return raw
    size = buffering if buffering > 1 else _io.DEFAULT_BUFFER_SIZE
    return _io.BufferedReader(raw, size) if "r" in mode else _io.BufferedWriter(raw, size)


def patch(module):
    green_io = types.ModuleType("io", "io, with green pipe fds for subprocess")
    green_io.__dict__.update(_io.__dict__)
    green_io.open = open
    module.io = green_io


_module = None


def __getattr__(name):
    # Made on first use: monkey_patch imports this module for patch() alone.
    global _module
    if name.startswith("__"):
        raise AttributeError(name)
    if _module is None:
        from . import _namespace
        from . import os as green_os, select as green_select, selectors as green_selectors
        from . import threading as green_threading, time as green_time

        selectors = _namespace.private_copy("selectors", green_selectors.patch, select=green_select)
        _module = _namespace.private_copy("subprocess", patch, os=green_os, time=green_time,
                                          select=green_select, selectors=selectors,
                                          threading=green_threading._module)
    try:
        return getattr(_module, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
