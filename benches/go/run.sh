#!/bin/sh
# `make bench-go`: a submission's round trip (BenchmarkRun) and the pgsleep
# comparison at full size, written to benches/results/go.md. make sets GO and
# the environment that finds the scratch install; $1 is a scratch directory.
set -eu
out=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
load=$(cut -d' ' -f1 /proc/loadavg)
mkdir -p "$out"
cd "$root/bindings/go"
"$GO" test -run '^$' -bench Run -benchtime 2s -cpu 1,2 . >"$out/bench.txt"
"$GO" build -o "$out/pgsleep-bench" ./examples/pgsleep
"$out/pgsleep-bench" -n 1000 -conns 40 -sleep 0.2 -naive 40 -naive-sleep 0.5 >"$out/pgsleep.txt"
cat >"$root/benches/results/go.md" <<END
# Go binding: submission round trip, and queries vs OS threads

Written by \`make bench-go\`; do not edit by hand.

Run: $(date -u '+%Y-%m-%d %H:%M UTC'), libguv release build, load average before the run $load.

\`BenchmarkRun\` (bindings/go/hub_test.go): goroutines (as many as GOMAXPROCS, the -N suffix)
each submit a C routine that yields once and wait for it, back to back: guv_hub_spawn,
a green thread, a cgo callback on the hub stack, a channel wake-up.

\`\`\`
$(grep '^Benchmark' "$out/bench.txt")
\`\`\`

\`pgsleep\` (bindings/go/examples/pgsleep): peak OS threads of the process, and of them blocked
in poll(2), where libpq waits (/proc/self/task/*/syscall).

\`\`\`
$(cat "$out/pgsleep.txt")
\`\`\`
END
cat "$root/benches/results/go.md"
