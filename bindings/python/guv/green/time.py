"""time.sleep as guv.sleep: the caller sleeps, the other green threads run.
The module is a whole green time module too (`from guv.green import time`)."""
import math
import time as _time_mod

from . import _namespace

from ..greenthread import sleep as _guv_sleep


def sleep(seconds):
    if not isinstance(seconds, (int, float)):
        seconds = float(seconds)
    if math.isnan(seconds) or seconds < 0:
        raise ValueError("sleep length must be non-negative")
    _guv_sleep(seconds)


def patch(module):
    module.sleep = sleep


_namespace.inherit(globals(), _time_mod)
