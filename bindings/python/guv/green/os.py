"""os calls that block on pipes, sockets and children, made cooperative:
read and write through guv_read/guv_write (regular files read inline),
waitpid on a pidfd the caller waits for in guv.trampoline. close goes
through guv_close: guv keeps watching an fd it has waited on, and a number
closed behind its back and reused would be waited on with the old state.
The module is a whole green os module too (`from guv.green import os`)."""
import errno as _errno
import os as _os

from .. import _core

from ..greenthread import sleep, trampoline
from .._runtime import READ
from . import _libguv, _namespace

_orig_waitpid = _os.waitpid


def read(fd, n):
    if n < 0:
        raise ValueError("negative length")
    return _libguv.read(fd, n)


def write(fd, data):
    return _libguv.write(fd, data)


def close(fd):
    _core.close(fd)


def closerange(low, high):
    for fd in range(low, high):
        try:
            _core.close(fd)
        except OSError:
            pass


def waitpid(pid, options):
    """os.waitpid; without WNOHANG the caller waits, the others run."""
    if options & _os.WNOHANG:
        return _orig_waitpid(pid, options)
    if pid > 0:
        try:
            pidfd = _os.pidfd_open(pid)
        except OSError as e:
            if e.errno not in (_errno.ENOSYS, _errno.EPERM):
                raise  # ESRCH: no such child, as waitpid would say
        else:
            try:
                trampoline(pidfd, READ)
            finally:
                _os.close(pidfd)
            return _orig_waitpid(pid, options)
    # Any child (or no pidfd): poll, as eventlet does.
    delay = 0.001
    while True:
        result = _orig_waitpid(pid, options | _os.WNOHANG)
        if result[0] != 0:
            return result
        sleep(delay)
        delay = min(delay * 2, 0.05)


def wait():
    return waitpid(-1, 0)


def patch(module):
    module.read = read
    module.write = write
    module.waitpid = waitpid
    module.wait = wait
    module.close = close
    module.closerange = closerange


_namespace.inherit(globals(), _os)
