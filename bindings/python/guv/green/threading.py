"""A green threading module that leaves the process's own alone:

    from guv.green import threading
    t = threading.Thread(target=work); t.start(); t.join()   # a green thread

It is a private copy of the stdlib's threading, run over a green _thread
(guv.green.thread): Thread starts a green thread, and Lock, RLock,
Condition, Event, Semaphore and Barrier park the caller. Its non-daemon
Threads are not waited for at interpreter exit (only sys.modules'
threading's are): join them."""
import threading as _threading_mod

from . import _namespace
from . import thread as _green_thread

_thread = _namespace.dict_copy("_thread", _green_thread.patch_thread)
_module = _namespace.private_copy("threading", _green_thread.patch_threading, _thread=_thread)
globals().update({k: v for k, v in vars(_module).items() if not (k.startswith("__") and k.endswith("__"))})
del _threading_mod


def _green_repr(self, _repr=_module.Thread.__repr__):
    # "<green Thread(...)>": the original guv's Thread said it was green, and
    # in a log it tells a green thread from an OS thread.
    return "<green " + _repr(self)[1:]


_module.Thread.__repr__ = _green_repr
