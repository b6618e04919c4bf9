"""GreenPool (at most `size` green threads at once) and GreenPile (results
in spawn order), as in eventlet."""
from ._runtime import park, unpark_all, unpark_one
from .greenthread import getcurrent, spawn
from .semaphore import Semaphore


class GreenPool:
    def __init__(self, size=1000):
        if size < 0:
            raise ValueError("GreenPool size must be non-negative")
        self.size = size
        self.coroutines_running = set()
        self.sem = Semaphore(size)
        self._idle_waiters = []

    def resize(self, new_size):
        grow = new_size - self.size
        self.sem.counter += grow
        for _ in range(max(grow, 0)):
            unpark_one(self.sem._waiters)
        self.size = new_size

    def running(self):
        return len(self.coroutines_running)

    def free(self):
        return self.sem.counter

    def spawn(self, function, *args, **kw):
        """Start function in the pool, waiting for a free place; returns its GreenThread.
        From a green thread of this pool with the pool full, runs it inline (no deadlock)."""
        current = getcurrent()
        if self.sem.locked() and current in self.coroutines_running:
            from .event import Event

            done = Event()
            try:
                done.send(function(*args, **kw))
            except BaseException as e:
                done.send(exc=e)
            return _Done(done)
        self.sem.acquire()
        gt = spawn(function, *args, **kw)
        self.coroutines_running.add(gt)
        gt.link(self._spawn_done)
        return gt

    def spawn_n(self, function, *args, **kw):
        """As spawn(), returning nothing."""
        self.spawn(function, *args, **kw)

    def _spawn_done(self, gt):
        self.sem.release()
        self.coroutines_running.discard(gt)
        if not self.coroutines_running:
            unpark_all(self._idle_waiters)

    def waitall(self):
        """Wait until every green thread of the pool has ended."""
        if getcurrent() in self.coroutines_running:
            raise AssertionError("Calling waitall() from within one of the GreenPool's greenthreads will never terminate.")
        while self.coroutines_running:
            park(self._idle_waiters)

    def waiting(self):
        return max(0, len(self.sem._waiters))

    def imap(self, function, *iterables):
        """Results of function(*args) for args zipped from `iterables`, in order."""
        pile = GreenPile(self)
        for args in zip(*iterables):
            pile.spawn(function, *args)
        return iter(pile)

    def starmap(self, function, iterable):
        pile = GreenPile(self)
        for args in iterable:
            pile.spawn(function, *args)
        return iter(pile)


class _Done:
    """The GreenThread-like result of a spawn run inline."""

    dead = True

    def __init__(self, event):
        self._event = event

    def wait(self):
        return self._event.wait()


class GreenPile:
    """Spawn into a pool; iterate to get the results in spawn order (an
    exception is raised when its turn comes)."""

    def __init__(self, size_or_pool=1000):
        self.pool = size_or_pool if isinstance(size_or_pool, GreenPool) else GreenPool(size_or_pool)
        self.waiters = []
        self.counter = 0

    def spawn(self, func, *args, **kw):
        self.counter += 1
        try:
            self.waiters.append(self.pool.spawn(func, *args, **kw))
        except BaseException:
            self.counter -= 1
            raise

    def __iter__(self):
        return self

    def __next__(self):
        if not self.waiters:
            raise StopIteration
        gt = self.waiters.pop(0)
        self.counter -= 1
        return gt.wait()

    next = __next__

    def __len__(self):
        return self.counter


__all__ = ["GreenPool", "GreenPile"]
