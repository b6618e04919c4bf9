"""selectors whose every selector waits through guv: DefaultSelector and
EpollSelector become PollSelector over the green select.poll (set on the
class, so subprocess, which captured PollSelector, is covered too)."""
from . import select as _green_select


def patch(module):
    module.PollSelector._selector_cls = _green_select.poll
    module.SelectSelector._select = staticmethod(_green_select.select)
    module.DefaultSelector = module.PollSelector
    module.EpollSelector = module.PollSelector
