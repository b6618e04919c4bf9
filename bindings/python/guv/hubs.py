"""A small facade for code written against the original guv's hubs module:

    hub = guv.hubs.get_hub()
    hub.run()       # guv.run(): runs the green threads until none is left ...
    hub.stop()      # ... or until a green thread calls stop()

guv has one hub per OS thread, inside libguv; there is no hub object to
switch to, no timers or listeners to add. Those calls (switch, add_timer,
schedule_call_global, ...) raise AttributeError naming what to use instead
(guv.sleep, guv.spawn_after, guv.trampoline)."""
from . import _core
from ._runtime import hand_to_main
from .greenthread import gyield, run, trampoline

_REPLACEMENTS = {
    "switch": "guv.sleep(0) / guv.gyield()",
    "add_timer": "guv.spawn_after(seconds, fn)",
    "schedule_call_global": "guv.spawn_after(seconds, fn)",
    "schedule_call_local": "guv.spawn_after(seconds, fn)",
    "add": "guv.trampoline(fd, guv.READ or guv.WRITE)",
    "remove": "guv.trampoline(fd, guv.READ or guv.WRITE)",
    "abort": "hub.stop()",
}


class _Stop(BaseException):
    """Handed to main by stop(): ends its hub.run()."""


class Hub:
    """The calling OS thread's guv hub, as far as run() and stop() go."""

    def run(self):
        """guv.run() in main: returns when no green thread is left or when
        a green thread calls stop()."""
        try:
            run()
        except _Stop:
            pass

    def stop(self):
        """Make main's run() return (the green threads stay as they are)."""
        if _core.current() == 0:
            raise RuntimeError("hub.stop() is for a green thread while main is in hub.run()")
        hand_to_main(_Stop())

    def __getattr__(self, name):
        if name in _REPLACEMENTS:
            raise AttributeError(f"guv has no hub.{name}(): use {_REPLACEMENTS[name]}")
        raise AttributeError(name)


_hub = Hub()


def get_hub():
    return _hub


__all__ = ["get_hub", "Hub", "trampoline", "gyield"]
