"""Signal handlers run in main, as CPython runs them: CPython runs a
handler in whatever thread state of the main OS thread checks for signals
first, which under guv is any green thread. After monkey_patch each Python
handler (those set before it too) is wrapped: called in a green thread, it
is handed to main (its current blocking call is interrupted) and runs
there, so what it raises, raises in main. getsignal and signal give back
the handlers as they were set."""
import signal as _signal_mod

from .. import _core
from .._runtime import defer_to_main

_orig_signal = _signal_mod.signal
_orig_getsignal = _signal_mod.getsignal


class _InMain:
    __slots__ = ("handler",)

    def __init__(self, handler):
        self.handler = handler

    def __call__(self, signum, frame):
        if _core.current() == 0:
            return self.handler(signum, frame)
        handler = self.handler
        defer_to_main(lambda: handler(signum, None))


def _wrap(handler):
    return _InMain(handler) if callable(handler) and not isinstance(handler, _InMain) else handler


def _unwrap(handler):
    return handler.handler if isinstance(handler, _InMain) else handler


def signal(signalnum, handler):
    return _unwrap(_orig_signal(signalnum, _wrap(handler)))


def getsignal(signalnum):
    return _unwrap(_orig_getsignal(signalnum))


def patch(module):
    module.signal = signal
    module.getsignal = getsignal
    for signum in module.valid_signals():
        try:
            handler = _orig_getsignal(signum)
            if callable(handler) and not isinstance(handler, _InMain):
                _orig_signal(signum, _InMain(handler))
        except (OSError, ValueError):
            pass  # not settable (SIGKILL), or not from the main OS thread
