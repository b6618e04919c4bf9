"""A green queue module (`from guv.green import queue`): a private copy of
the stdlib's queue over guv.green.threading, so Queue.get and put park the
caller. guv.queue is eventlet's Queue API; this one is the stdlib's."""
from . import _namespace
from . import thread as _green_thread
from . import threading as _green_threading

_module = _namespace.private_copy("queue", _green_thread.patch_queue, threading=_green_threading._module)
globals().update({k: v for k, v in vars(_module).items() if not (k.startswith("__") and k.endswith("__"))})
