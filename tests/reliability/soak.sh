#!/bin/sh
# The long reliability runs behind `make soak-reliability`, which builds the
# programs and sets OUT (the build directory), SOAK (the release test_soak)
# and TEST_ENV. Each step's output goes to a log in $OUT/soak;
# report.py turns the logs into benches/results/reliability.md.
set -u
: "${OUT:?}" "${SOAK:?}" "${TEST_ENV:?}"
root=$(cd "$(dirname "$0")/../.." && pwd)
submake() { make --no-print-directory -C "$root" BUILD="$OUT" "$@"; }
logs=$OUT/soak
rm -rf "$logs" && mkdir -p "$logs"

# step LOG COMMAND...: runs COMMAND with its output appended to LOG; stops on failure.
step() {
    log=$logs/$1
    shift
    echo "== $*"
    "$@" >>"$log" 2>&1 || { tail -40 "$log"; echo "FAILED: $*"; exit 1; }
    tail -3 "$log"
}
step faults.log submake rel-programs
step soak.log $TEST_ENV REL_SPAWNS=10000000 timeout 1800 "$SOAK" spawn
step soak.log $TEST_ENV REL_WAITS=1000000 timeout 1800 "$SOAK" waits
step soak.log $TEST_ENV GUV_STACK_SIZE=65536 REL_THREADS=1000000 timeout 1800 "$SOAK" sleepers
step soak.log $TEST_ENV GUV_BURST=100000 timeout 600 "$OUT/c/test_stack_release"
step valgrind.log submake rel-valgrind test-c-valgrind rel-thread-exit-valgrind REL_VG_TESTS=
submake fuzz-reliability FUZZ_SECONDS=600 FUZZ_SEED=0 || exit 1
"$OUT/fuzz/fuzz_api" -merge=1 -max_len=512 -timeout=20 -print_funcs=0 "$root/fuzz/corpus" "$OUT/fuzz/new" 2>&1 | tail -1
python3 "$root/tests/reliability/report.py" "$root/benches/results/reliability.md" "$logs/soak.log" \
    "$logs/valgrind.log" "$OUT/fuzz/fuzz.log" "$root/fuzz/corpus" "$logs/faults.log"
