"""selectors whose every selector waits through guv: DefaultSelector
becomes PollSelector over the green select.poll (set on the class, so
subprocess, which captured PollSelector, is covered too), and EpollSelector
a PollSelector that refuses regular files as epoll does."""
import errno
import os
import stat

from . import select as _green_select


def _epoll_selector(module):
    class EpollSelector(module.PollSelector):
        """A PollSelector that refuses what epoll refuses: regular files and
        directories (EPERM), which poll would call always ready."""

        def register(self, fileobj, events, data=None):
            key = super().register(fileobj, events, data)
            try:
                mode = os.fstat(key.fd).st_mode
            except OSError:
                super().unregister(fileobj)
                raise
            if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
                super().unregister(fileobj)
                raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))
            return key

    EpollSelector.__module__ = module.__name__
    return EpollSelector


def patch(module):
    module.PollSelector._selector_cls = staticmethod(_green_select.poll)
    module.SelectSelector._select = staticmethod(_green_select.select)
    module.DefaultSelector = module.PollSelector
    module.EpollSelector = _epoll_selector(module)
