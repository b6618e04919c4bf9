#!/bin/sh
# Builds what users install, as `make test-python-package` runs it: from a copy
# of the tree as a fresh clone has it (tracked and new files; no target/ or
# build/), a wheel per CPython and an sdist (and a wheel from it), into $1.
# setup.py builds libguv with cargo itself (CARGO_TARGET_DIR, kept between
# runs); the CPythons are the rest of the arguments, the first makes the sdist.
set -eu
out=$1
shift
root=$(cd "$(dirname "$0")/../../.." && pwd)
rm -rf "$out" && mkdir -p "$out/tree"
git -C "$root" ls-files -co --exclude-standard | tar -C "$root" -T - -cf - | tar -xf - -C "$out/tree"
for py in "$@"; do
    echo "== wheel for $py"
    v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    (cd "$out/tree" && "$py" -m pip wheel -q --no-build-isolation --no-deps -w "$out/$v" ./bindings/python)
done
echo "== sdist, and a wheel from it"
(cd "$out/tree/bindings/python" && "$1" setup.py -q sdist -d "$out/sdist" >/dev/null 2>&1)
"$1" -m pip wheel -q --no-build-isolation --no-deps -w "$out/from-sdist" "$out"/sdist/guv-*.tar.gz
