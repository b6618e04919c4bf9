"""Timeout: a nested deadline on the calling green thread. Every blocking
call inside it — guv's own, and a C driver's guv_trampoline in its wait
callback — fails once it has passed, since it is guv's own deadline
(guv_timeout_begin/end), not a timer that interrupts Python."""
import threading

from . import _core

# Open timeouts of each green thread (threading.local is per green thread:
# each has its own PyThreadState).
_open = threading.local()


def _stack():
    try:
        return _open.stack
    except AttributeError:
        _open.stack = []
        return _open.stack


class Timeout(BaseException):
    """Raises itself (or `exception`) in the green thread that started it,
    at its first blocking call after `seconds`. exception=False makes the
    with-block end quietly instead. Starts on construction, as eventlet's."""

    def __init__(self, seconds=None, exception=None):
        super().__init__(seconds)
        self.seconds = seconds
        self.exception = exception
        self._deadline = None
        self.start()

    @property
    def pending(self):
        return self._deadline is not None

    def start(self):
        if self.pending:
            self.cancel()
        if self.seconds is None:
            return self
        # The deadline is read before guv's is set, so it is never later than
        # guv's: once guv says ETIMEDOUT, expired() finds this one passed.
        deadline = _core.now() + float(self.seconds)
        _core.timeout_begin(float(self.seconds))
        self._deadline = deadline
        _stack().append(self)
        return self

    def cancel(self):
        """Stop the timer; a no-op if it is not running."""
        if not self.pending:
            return
        stack = _stack()
        if self not in stack:
            raise RuntimeError("guv: a Timeout must be cancelled by the green thread that started it")
        # guv's deadlines nest: close those above this one, then reopen them.
        above = stack[stack.index(self) + 1:]
        for _ in range(len(above) + 1):
            _core.timeout_end()
            stack.pop()
        self._deadline = None
        now = _core.now()
        for t in above:
            _core.timeout_begin(max(t._deadline - now, 0.0))
            stack.append(t)

    def __enter__(self):
        if not self.pending:
            self.start()
        return self

    def __exit__(self, typ, value, tb):
        self.cancel()
        return value is self and self.exception is False

    def __str__(self):
        return "timed out" if self.seconds is None else f"{self.seconds} second{'s' * (self.seconds != 1)}"

    def __repr__(self):
        return f"Timeout({self.seconds!r}, exception={self.exception!r})"

    def _raise(self):
        if self.exception is None or self.exception is False:
            raise self
        raise self.exception


def expired():
    """The open Timeout whose deadline passed first, or None."""
    stack = _stack()
    if not stack:
        return None
    first = min(stack, key=lambda t: t._deadline)
    return first if first._deadline <= _core.now() else None


def raise_expired(fallback=None):
    """Raise what a guv ETIMEDOUT means for the caller: the expired Timeout,
    else `fallback` (a call's own timeout)."""
    t = expired()
    if t is not None:
        t._raise()
    raise fallback if fallback is not None else Timeout()


_NONE = object()


def with_timeout(seconds, function, *args, **kwargs):
    """Call function(*args, **kwargs), giving up after `seconds`: raise
    Timeout, or return the keyword argument timeout_value when given."""
    timeout_value = kwargs.pop("timeout_value", _NONE)
    t = Timeout(seconds)
    try:
        return function(*args, **kwargs)
    except Timeout as e:
        if e is t and timeout_value is not _NONE:
            return timeout_value
        raise
    finally:
        t.cancel()


__all__ = ["Timeout", "with_timeout"]
