"""For drivers that call libguv themselves, through cffi or ctypes, from
their wait callbacks (docs/support-modules.md, "A driver written with
cffi"): where the package's libguv and guv.h are, and what a failed guv
call means in Python."""
import errno
import os

from . import _core
from ._lib import find_libguv
from ._runtime import _Expired
from .timeout import raise_expired


def library():
    """The path of the libguv this package runs on. Load exactly this one
    (ffi.dlopen(guv.native.library())): another copy, such as a system
    libguv, would be a second runtime with hubs of its own."""
    return find_libguv()


def include_dir():
    """The directory holding the guv.h this package was built with (its
    prototypes are what an ffi.cdef may copy), or None when the package was
    not installed with one."""
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")
    return d if os.path.isfile(os.path.join(d, "guv.h")) else None


def offload(fn, *args):
    """fn(*args) on guv's offload threads; only the caller waits. It runs
    for a killed or timed-out caller too (guv_offload's rule), so a driver's
    clean-up that must block (cancelling a query) goes here."""
    return _core.offload(fn, *args)


def raise_for(err):
    """Raise what guv raises when one of its own blocking calls fails with
    errno `err`: GreenletExit for a kill (ECANCELED), the expired Timeout
    for a deadline (ETIMEDOUT), OSError otherwise. For a driver whose
    guv_trampoline returned -1: raise_for(ffi.errno)."""
    if err in (errno.ECANCELED, errno.ETIMEDOUT):
        try:
            _core.check()
        except _Expired:
            raise_expired()
    raise OSError(err, os.strerror(err))


__all__ = ["library", "include_dir", "offload", "raise_for"]
