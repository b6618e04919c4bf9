"""CPython's own regression tests under guv.monkey_patch(): patches, then
runs test.libregrtest in this process with the arguments given, as
`python -m test` would.

    python regrtest_patched.py [--test-timeout SECONDS] test_queue -v

--test-timeout: a test (one TestCase method, its setUp and tearDown) that
runs longer dumps every thread's traceback and ends the process, as
libregrtest's own --timeout does for a whole test file."""
import faulthandler
import signal
import sys
import unittest

import guv

# Started as a background job (make under a non-interactive shell), Python
# finds SIGINT ignored and leaves it so: _thread.interrupt_main() then does
# nothing and InterruptMainTests fail without guv too. Ctrl-C's usual handler.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def limit_each_test(seconds):
    run = unittest.TestCase.run

    def run_within(self, result=None):
        faulthandler.dump_traceback_later(seconds, exit=True)
        try:
            return run(self, result)
        finally:
            faulthandler.cancel_dump_traceback_later()

    unittest.TestCase.run = run_within


if sys.argv[1:2] == ["--test-timeout"]:
    limit_each_test(float(sys.argv[2]))
    del sys.argv[1:3]

guv.monkey_patch()

from test.libregrtest.main import main  # noqa: E402

main()
