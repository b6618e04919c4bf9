#!/bin/sh
# `make bench-cpp`: instructions per yield with and without guv.hpp's hooks,
# counted by callgrind (they do not drift with the machine's load), as the
# markdown of benches/results/cpp.md. $1 is a guv install, $2 a scratch
# directory; benches/cpp_hooks.cpp is built there, -O2, against its libguv.a.
set -eu
mkdir -p "$2"
prog=$2/cpp_hooks
"${CXX:-c++}" -std=c++17 -O2 -I"$1/include" "$(dirname "$0")/cpp_hooks.cpp" -o "$prog" "$1/lib/libguv.a" -lpthread -ldl -lm
for m in hooks nohooks; do
    valgrind --tool=callgrind --callgrind-out-file="$prog.cg.$m" "$prog" $m 2>&1 |
        sed -n 's/.*I *refs: *//p' | tr -d , >"$prog.ir.$m"
done
h=$(cat "$prog.ir.hooks")
n=$(cat "$prog.ir.nohooks")
cat <<END
# C++ binding: what the per-task hooks cost per switch

Written by \`make bench-cpp\`; do not edit by hand.

Run: $(date -u '+%Y-%m-%d %H:%M UTC'), callgrind instruction counts (independent of load).

\`benches/cpp_hooks.cpp\`: two tasks yield to each other 100000 times each (200000 yields),
with guv.hpp's hooks and with them removed before the tasks start (-O2, libguv.a release).

| | instructions | per yield |
|---|---|---|
| hooks | $h | $((h / 200000)) |
| no hooks | $n | $((n / 200000)) |
| hooks' cost | $((h - n)) | $(((h - n) / 200000)) |
END
