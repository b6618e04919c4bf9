#!/bin/sh
# benches/results/python-compat.md from the rows run.py wrote to $1 during `make compat`.
set -eu
cat <<END
# CPython's own tests under guv.monkey_patch()

\`make compat\` (bindings/python/compat/run.py: each module in a process of its own, each test
given 30 s; a test that hangs, or ends the process, is counted and the module runs again
without it and the tests already counted; the tests compat/excluded.py names are not run,
and counted as excluded). Each failing test's name is in a comment below its row.
Machine load when it ended: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores).

| CPython | module | tests | passed | failed | errors | skipped | excluded | hangs | process ended | time |
|---|---|---|---|---|---|---|---|---|---|---|
END
cat "$1"
cat <<END

Excluded, and why:
END
python3 "$(dirname "$0")/excluded.py"
