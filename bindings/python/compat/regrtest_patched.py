"""CPython's own regression tests under guv.monkey_patch(): patches, then
runs test.libregrtest in this process with the arguments given, as
`python -m test` would.

    python regrtest_patched.py test_queue -v --timeout 60"""
import signal
import sys

import guv

# Started as a background job (make under a non-interactive shell), Python
# finds SIGINT ignored and leaves it so: _thread.interrupt_main() then does
# nothing and InterruptMainTests fail without guv too. Ctrl-C's usual handler.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

guv.monkey_patch()

from test.libregrtest.main import main  # noqa: E402

main()
