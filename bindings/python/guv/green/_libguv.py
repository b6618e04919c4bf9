"""libguv's cooperative calls the green modules use (guv_offload, guv_poll,
guv_read, guv_write), as guv._core exposes them: the GIL is released while
the caller waits, main's wait is ended by what a green thread hands it, and
a passed deadline raises the right Timeout."""
from .. import _core
from .._runtime import _Expired
from ..timeout import raise_expired


def offload(fn, *args):
    """fn(*args) on guv's offload threads; only the caller waits."""
    try:
        return _core.offload(fn, *args)
    except _Expired:
        raise_expired()


def poll(fds, timeout_ms):
    """guv_poll over [(fd, events)]: [(fd, revents)] of the ready ones."""
    try:
        return _core.poll(fds, int(timeout_ms))
    except _Expired:
        raise_expired()


def read(fd, n):
    try:
        return _core.read(fd, n)
    except _Expired:
        raise_expired()


def write(fd, data):
    try:
        return _core.write(fd, data)
    except _Expired:
        raise_expired()
