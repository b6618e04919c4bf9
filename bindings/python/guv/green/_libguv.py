"""libguv's own cooperative calls the binding does not wrap (guv_offload,
guv_poll, guv_read, guv_write), through ctypes on the same libguv the binding
loaded, so they act on the same hub. ctypes releases the GIL around each
call, so the caller's switch-out hook has nothing to release."""
import ctypes
import errno
import os

from .._lib import find_libguv
from .._runtime import _killed
from ..timeout import raise_expired

_lib = ctypes.CDLL(find_libguv(), use_errno=True)


class pollfd(ctypes.Structure):
    _fields_ = [("fd", ctypes.c_int), ("events", ctypes.c_short), ("revents", ctypes.c_short)]


_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_lib.guv_offload.argtypes = [_FN, ctypes.c_void_p]
_lib.guv_offload.restype = ctypes.c_int
_lib.guv_poll.argtypes = [ctypes.POINTER(pollfd), ctypes.c_ulong, ctypes.c_int]
_lib.guv_poll.restype = ctypes.c_int
_lib.guv_read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
_lib.guv_read.restype = ctypes.c_ssize_t
_lib.guv_write.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
_lib.guv_write.restype = ctypes.c_ssize_t


def _fail(timeout_exc=None):
    """Raise what a failed guv call means in Python: the kill's exception,
    the expired Timeout (or timeout_exc), or OSError."""
    err = ctypes.get_errno()
    if err == errno.ECANCELED:
        raise _killed()
    if err == errno.ETIMEDOUT:
        raise_expired(timeout_exc)
    raise OSError(err, os.strerror(err))


def offload(fn, *args):
    """fn(*args) on guv's offload threads; only the caller waits."""
    box = []

    def body(_arg):
        try:
            box.append((True, fn(*args)))
        except BaseException as e:  # handed back to the caller below
            box.append((False, e))

    callback = _FN(body)
    if _lib.guv_offload(callback, None) != 0:
        _fail()
    ok, value = box[0]
    if not ok:
        raise value
    return value


def poll(fds, timeout_ms):
    """guv_poll over [(fd, events)]: [(fd, revents)] of the ready ones."""
    arr = (pollfd * len(fds))(*[pollfd(fd, ev, 0) for fd, ev in fds])
    if _lib.guv_poll(arr, len(fds), int(timeout_ms)) < 0:
        _fail()
    return [(p.fd, p.revents) for p in arr if p.revents]


def read(fd, n):
    buf = ctypes.create_string_buffer(n)
    got = _lib.guv_read(fd, buf, n)
    if got < 0:
        _fail()
    return buf.raw[:got]


def write(fd, data):
    data = bytes(data)
    done = _lib.guv_write(fd, data, len(data))
    if done < 0:
        _fail()
    return done
