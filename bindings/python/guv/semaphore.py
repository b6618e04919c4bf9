"""Semaphore and BoundedSemaphore for green threads."""
from . import _core
from ._runtime import park, unpark_one


class Semaphore:
    def __init__(self, value=1):
        if value < 0:
            raise ValueError("Semaphore must be initialized with a non-negative value")
        self.counter = value
        self._waiters = []

    def locked(self):
        return self.counter <= 0

    @property
    def balance(self):
        """Counter minus the number of green threads waiting."""
        return self.counter - len(self._waiters)

    def acquire(self, blocking=True, timeout=None):
        """Take one unit; False if not blocking or `timeout` passed first."""
        if not blocking and self.locked():
            return False
        deadline = None if timeout is None else _core.now() + timeout
        while self.counter <= 0:
            left = None if deadline is None else deadline - _core.now()
            if left is not None and left <= 0:
                return False
            try:
                park(self._waiters, left)
            except BaseException:
                # A release may have woken this waiter: pass the wake-up on.
                if self.counter > 0:
                    unpark_one(self._waiters)
                raise
        self.counter -= 1
        return True

    def release(self, blocking=True):
        self.counter += 1
        unpark_one(self._waiters)
        return True

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, typ, val, tb):
        self.release()


class BoundedSemaphore(Semaphore):
    """A Semaphore that refuses to be released above its initial value."""

    def __init__(self, value=1):
        super().__init__(value)
        self.original_counter = value

    def release(self, blocking=True):
        if self.counter >= self.original_counter:
            raise ValueError("Semaphore released too many times")
        return super().release(blocking)


__all__ = ["Semaphore", "BoundedSemaphore"]
