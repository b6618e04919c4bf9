"""Cooperative select.select and select.poll over guv_poll: the caller
waits, the other green threads run. select.epoll is removed when patched, so
libraries fall back to poll (epoll's own fd would block the OS thread).
The module is a whole green select module too (`from guv.green import select`)."""
import select as _select

from . import _libguv, _namespace

POLLIN, POLLPRI, POLLOUT = _select.POLLIN, _select.POLLPRI, _select.POLLOUT
POLLERR, POLLHUP, POLLNVAL = _select.POLLERR, _select.POLLHUP, _select.POLLNVAL


def _fileno(obj):
    if isinstance(obj, int):
        fd = obj
    else:
        fileno = getattr(obj, "fileno", None)
        if fileno is None:
            raise TypeError("argument must be an int, or have a fileno() method.")
        fd = fileno()
        if not isinstance(fd, int):
            raise TypeError("fileno() returned a non-integer")
    if fd < 0:
        raise ValueError(f"file descriptor cannot be a negative integer ({fd})")
    return fd


def select(rlist, wlist, xlist, timeout=None):
    """select.select, waiting cooperatively (hang-up counts as readable, as select(2) says)."""
    if timeout is not None:
        if isinstance(timeout, (str, bytes, bytearray)) or not hasattr(timeout, "__float__"):
            raise TypeError("timeout must be a float or None")
        timeout = float(timeout)
        if timeout < 0:
            raise ValueError("timeout must be non-negative")
    # fileno() once per object, as select(2)'s wrapper does.
    rfds, wfds, xfds = ([(o, _fileno(o)) for o in objs] for objs in (rlist, wlist, xlist))
    want = {}
    for pairs, ev in ((rfds, POLLIN), (wfds, POLLOUT), (xfds, POLLPRI)):
        for _, fd in pairs:
            want[fd] = want.get(fd, 0) | ev
    ms = -1 if timeout is None else int(timeout * 1000 + 0.999)
    ready = dict(_libguv.poll(list(want.items()), ms))
    if any(rev & POLLNVAL for rev in ready.values()):
        raise OSError(9, "Bad file descriptor")
    r = [o for o, fd in rfds if ready.get(fd, 0) & (POLLIN | POLLHUP | POLLERR)]
    w = [o for o, fd in wfds if ready.get(fd, 0) & (POLLOUT | POLLHUP | POLLERR)]
    x = [o for o, fd in xfds if ready.get(fd, 0) & POLLPRI]
    return r, w, x


def poll():
    """select.poll(): register fds, then poll(timeout_ms) waits cooperatively."""
    obj = object.__new__(_Poll)
    obj._fds = {}
    return obj


class _Poll:
    """What select.poll() returns; like CPython's, not made by calling its type."""

    __slots__ = ("_fds",)

    def __new__(cls, *args, **kwargs):
        raise TypeError(f"cannot create '{cls.__module__}.{cls.__qualname__}' instances")

    def register(self, fd, eventmask=POLLIN | POLLPRI | POLLOUT):
        self._fds[_fileno(fd)] = eventmask

    def modify(self, fd, eventmask):
        fd = _fileno(fd)
        if fd not in self._fds:
            raise FileNotFoundError(2, "No such file or directory")
        self._fds[fd] = eventmask

    def unregister(self, fd):
        del self._fds[_fileno(fd)]

    def poll(self, timeout=None):
        ms = -1 if timeout is None or timeout < 0 else int(timeout)
        return _libguv.poll(list(self._fds.items()), ms)


_WAITS_ELSEWHERE = ("epoll", "devpoll", "kqueue", "kevent")


def patch(module):
    module.select = select
    module.poll = poll
    for name in _WAITS_ELSEWHERE:
        module.__dict__.pop(name, None)


_namespace.inherit(globals(), _select, exclude=_WAITS_ELSEWHERE)
