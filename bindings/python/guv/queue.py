"""Queue for green threads (maxsize 0: unbounded). Empty and Full are the
standard library's, so `except queue.Empty` works either way."""
import collections
from queue import Empty, Full

from . import _core
from ._runtime import park, unpark_all, unpark_one


class Queue:
    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        self.queue = collections.deque()
        self._getters = []
        self._putters = []
        self._unfinished = 0
        self._joiners = []

    def qsize(self):
        return len(self.queue)

    __len__ = qsize

    def empty(self):
        return not self.queue

    def full(self):
        return 0 < self.maxsize <= len(self.queue)

    def _wait(self, waiters, blocked, block, timeout, exc):
        if not block:
            if blocked():
                raise exc
            return
        deadline = None if timeout is None else _core.now() + timeout
        while blocked():
            left = None if deadline is None else deadline - _core.now()
            if left is not None and left <= 0:
                raise exc
            try:
                park(waiters, left)
            except BaseException:
                # A put or get may have woken this waiter: pass the wake-up on.
                if not blocked():
                    unpark_one(waiters)
                raise

    def put(self, item, block=True, timeout=None):
        self._wait(self._putters, self.full, block, timeout, Full)
        self.queue.append(item)
        self._unfinished += 1
        unpark_one(self._getters)

    def get(self, block=True, timeout=None):
        self._wait(self._getters, self.empty, block, timeout, Empty)
        item = self.queue.popleft()
        unpark_one(self._putters)
        return item

    def put_nowait(self, item):
        self.put(item, False)

    def get_nowait(self):
        return self.get(False)

    def task_done(self):
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0:
            unpark_all(self._joiners)

    def join(self):
        """Wait until every item put has been marked task_done()."""
        while self._unfinished:
            park(self._joiners)


LightQueue = Queue

__all__ = ["Queue", "LightQueue", "Empty", "Full"]
