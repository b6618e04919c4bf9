"""guv: green threads for Python on the guv runtime.

    import guv
    gt = guv.spawn(f, 1, 2)
    guv.sleep(0.1)          # main is a green thread: this runs the hub
    print(gt.wait())

Importing guv changes nothing process-wide. guv.monkey_patch() makes the
standard library cooperative and switches on the support of every C driver
guv.support knows that is installed (psycopg2); guv.support.psycopg2.enable()
switches on one alone.
"""
from ._runtime import READ, WRITE, GreenletExit
from .greenthread import (GreenThread, getcurrent, gyield, kill, run, sleep, spawn, spawn_after,
                          spawn_n, trampoline)
from .timeout import Timeout, with_timeout
from .greenpool import GreenPile, GreenPool
from . import event, queue, semaphore
from .event import Event
from .queue import Queue
from .semaphore import BoundedSemaphore, Semaphore
from . import support  # the registry only: no driver is touched

__version__ = "0.1.0"


# Imported on first use (guv.server imports ssl; GuvWorker needs gunicorn): name -> its module.
_LAZY = {"listen": "server", "connect": "server", "serve": "server", "StopServe": "server",
         "wrap_ssl": "server", "import_patched": "patcher", "hubs": None, "greenio": None, "wsgi": None}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"{__name__}.{_LAZY[name] or name}")
        return module if _LAZY[name] is None else getattr(module, name)
    if name == "monkey_patch":
        from .patcher import monkey_patch

        return monkey_patch
    if name == "GuvWorker":
        from .gunicorn_worker import GuvWorker

        return GuvWorker
    raise AttributeError(f"module 'guv' has no attribute {name!r}")


__all__ = ["READ", "WRITE", "GreenletExit", "GreenThread", "getcurrent", "gyield", "kill", "run", "sleep",
           "spawn", "spawn_after", "spawn_n", "trampoline", "Timeout", "with_timeout", "GreenPool",
           "GreenPile", "event", "queue", "semaphore", "Event", "Queue", "Semaphore", "BoundedSemaphore", "monkey_patch",
           "import_patched", "listen", "connect", "serve", "StopServe", "wrap_ssl"]
