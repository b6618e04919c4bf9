"""time.sleep as guv.sleep: the caller sleeps, the other green threads run."""
import math

from ..greenthread import sleep as _guv_sleep


def sleep(seconds):
    if not isinstance(seconds, (int, float)):
        seconds = float(seconds)
    if math.isnan(seconds) or seconds < 0:
        raise ValueError("sleep length must be non-negative")
    _guv_sleep(seconds)


def patch(module):
    module.sleep = sleep
