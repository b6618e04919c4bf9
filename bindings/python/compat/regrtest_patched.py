"""CPython's own regression tests under guv.monkey_patch(): patches, then
runs test.libregrtest in this process with the arguments given, as
`python -m test` would.

    python regrtest_patched.py test_queue -v --timeout 60"""
import sys

import guv

guv.monkey_patch()

from test.libregrtest.main import main  # noqa: E402

main()
