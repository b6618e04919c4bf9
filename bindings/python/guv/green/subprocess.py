"""subprocess with cooperative pipes: Popen's stdin/stdout/stderr read and
write through guv_read/guv_write, so proc.stdout.read(), readline() and
communicate() suspend only the caller. The pipes stay in blocking mode (guv
sets O_NONBLOCK for the length of one attempt): a pipe end handed to another
child (`Popen(..., stdin=p1.stdout)`) shares its flags with that child,
which must not find it non-blocking. Waiting for the child needs the os
patch (waitpid).

`from guv.green import subprocess` gives a whole green subprocess module
without patching: a private copy of the stdlib's, made on first use of a
name this module does not define, over guv.green's os, time, select,
selectors and threading."""
import io as _io
import types
import warnings

from .. import _core
from . import _libguv


class GreenFileIO(_io.RawIOBase):
    """A raw pipe end for io's buffered classes."""

    def __init__(self, fd, mode):
        super().__init__()
        self._fd = fd
        self._mode = mode

    def fileno(self):
        return self._fd

    def readable(self):
        return "r" in self._mode

    def writable(self):
        return "w" in self._mode or "a" in self._mode

    def readinto(self, b):
        data = _libguv.read(self._fd, len(b))
        b[:len(data)] = data
        return len(data)

    def write(self, b):
        return _libguv.write(self._fd, b)

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
    if buffering == 1:
        warnings.warn("line buffering (buffering=1) isn't supported in binary mode, the default buffer size "
                      "will be used", RuntimeWarning, 2)
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
