"""Event: one green thread sends a value (or an exception), any number wait for it."""
from . import _core
from ._runtime import park, unpark_all

_NOT_SENT = object()


class Event:
    def __init__(self):
        self._waiters = []
        self.reset()

    def reset(self):
        """Make the event waitable again (eventlet asserts it was sent; so do we)."""
        self._result = _NOT_SENT
        self._exc = None

    def ready(self):
        return self._result is not _NOT_SENT

    is_set = ready

    def has_exception(self):
        return self._exc is not None

    def has_result(self):
        return self.ready() and self._exc is None

    def send(self, result=None, exc=None):
        """Wake every waiter; wait() returns `result`, or raises `exc` if given."""
        if self.ready():
            raise AssertionError("Trying to re-send() an already-triggered event.")
        self._result = result
        self._exc = exc
        unpark_all(self._waiters)

    def send_exception(self, *args):
        self.send(None, args[0] if len(args) == 1 else args[0](*args[1:]))

    def set(self):
        """threading.Event-style: send(True) unless already sent."""
        if not self.ready():
            self.send(True)

    def clear(self):
        if self.ready():
            self.reset()

    def wait(self, timeout=None):
        """The sent value (or the sent exception raised); None if `timeout`
        seconds pass first."""
        deadline = None if timeout is None else _core.now() + timeout
        while not self.ready():
            # wait(0) parks too: a loop polling an event lets the others run.
            left = None if deadline is None else max(deadline - _core.now(), 0.0)
            if not park(self._waiters, left) and not self.ready():
                return None
        if self._exc is not None:
            raise self._exc
        return self._result

    def poll(self, notready=None):
        return self.wait(0) if self.ready() else notready


__all__ = ["Event"]
