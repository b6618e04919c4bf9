"""Writes benches/results/reliability.md from the logs of `make soak-reliability`.

usage: report.py OUT.md SOAK_LOG VALGRIND_LOG FUZZ_LOG CORPUS_DIR FAULTS_LOG
"""
import os
import re
import subprocess
import sys


def results(log):
    """The RESULT lines of tests/reliability/test_soak.c, as {name: {key: value}}."""
    out = {}
    for line in open(log):
        if line.startswith("RESULT "):
            name, *pairs = line.split()[1:]
            out[name] = dict(p.split("=", 1) for p in pairs)
    return out


def fuzz_stats(log):
    text = open(log).read()
    done = re.findall(r"^Done (\d+) runs in (\d+) second", text, re.M)
    status = re.findall(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/", text, re.M)
    return done[-1] if done else None, status[-1] if status else None


def main():
    out, soak_log, vg_log, fuzz_log, corpus, faults_log = sys.argv[1:7]
    # the programs' own summaries: "== test_x" then indented lines
    faults, prog = [], None
    for line in open(faults_log):
        if line.startswith("== "):
            prog = line.split()[1]
        elif line.startswith("   ") and prog:
            faults.append(f"- {prog}: {line.strip()}")
    faults = "\n".join(faults)
    r = results(soak_log)
    sp, fw, sl = r["spawn_exit"], r["fd_waits"], r["sleepers"]
    vg = [l.split()[1] for l in open(vg_log) if l.startswith("== ")]
    (runs, secs), (_, cov, ft, corp) = fuzz_stats(fuzz_log)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    kib = lambda k: f"{int(k) / 1024:.1f} MiB"
    md = f"""# Reliability: soak, fuzzing, valgrind (issue 10)

Last `make soak-reliability` on commit {commit}, a 2-core Debian 12 VM shared
with other work (timings are indicative; the checks are what matter).
`make test-reliability` (part of `make test`) runs the same programs at
short sizes. Every number below is printed by the programs themselves.

## Soak (tests/reliability/test_soak.c, release libguv.a, -O2)

| run | size | time | per op | RSS after warm-up → peak | fds before = after |
| --- | --- | --- | --- | --- | --- |
| spawn/exit cycles (batches of 100 then guv_run; some yield, some spawn a child) | {int(sp['cycles']):,} | {sp['seconds']} s | {sp['ns_per_cycle']} ns | {kib(sp['rss_warm_kib'])} → {kib(sp['rss_peak_kib'])} | {sp['fds']} |
| fd waits (4 socketpairs at a time × 1000 round trips, then closed and replaced; half through guv_read/guv_write, half guv_trampoline on non-blocking sockets) | {int(fw['waits']):,} waits, {int(fw['socketpairs']):,} socketpairs | {fw['seconds']} s | {fw['ns_per_wait']} ns | {kib(fw['rss_warm_kib'])} → {kib(fw['rss_peak_kib'])} | {fw['fds']} |

RSS is read from /proc/self/status (VmRSS) every 1% of a run; the run fails
if it rises more than 1 MiB above its level after the first tenth.

**Sleepers on guarded stacks** (GUV_STACK_SIZE=65536): {int(sl['threads']):,} green
threads sleeping at once, spawned in {sl['spawn_seconds']} s, all woken (none
early) {sl['total_seconds']} s after the start; the latest woke {sl['latest_wake_ms']} ms
after its time (the hub wakes them one after the other). guv_guard_kind() is
GUV_GUARD_MADVISE; /proc/self/maps grew from {sl['maps_before']} to {sl['maps_peak']} lines
(vm.max_map_count {sl['max_map_count']}): one mapping per arena of up to
8192 stacks, none per guard. {sl['rss_kib_per_thread']} KiB of RSS per sleeping green thread.

## Fuzzing (fuzz/fuzz_api.c)

libFuzzer (clang 14, `-fsanitize=fuzzer`) over a libguv.a built by stable
rustc with SanitizerCoverage (`-Cpasses=sancov-module`, inline 8-bit
counters, PC table, comparison tracing; debug assertions on), so coverage
guides into the Rust core. Each input is a sequence of calls by main and up
to eight green threads (spawn, sleep, yield, kill, join, trampoline and
trampoline_timeout on three socketpairs, plain writes to wake them,
guv_close, timeout_begin/end, guv_read/guv_write, park/unpark, interrupt),
checked against the documented errnos, for stale wake-ups, for every green
thread ending (EDEADLK from guv_run only for join cycles or endless parks),
and for leaked fds.

Last run: {int(runs):,} inputs in {secs} s, clean; coverage {cov} edges,
{ft} features; corpus {corp} inputs, merged into fuzz/corpus/ ({len(os.listdir(corpus))} files).

## Valgrind (memcheck, leak checking)

The core C tests (tests/c, built without sanitizers), the peer-reset and
thread-exit programs, and the fuzz corpus replayed by the harness's plain
build, under `valgrind --leak-check=full --errors-for-leak-kinds=definite
--error-exitcode=9 --max-stackframe=16777216`: {len(vg)} programs clean
({', '.join(vg)}). Suppressed, with reasons in the .supp files, only for the
programs that end a thread with green threads suspended: their coroutines.
test_overflow is left out (valgrind takes over the stack-overflow SIGSEGV).
--max-stackframe: test_stack's 7 MiB frame is otherwise taken for a stack
switch and its reads reported as invalid.

## Faults and threads (tests/reliability, debug build, same sizes as `make test`)

{faults}

test_eintr fires SIGUSR1 (handler without SA_RESTART) at the hub's thread
every 100 µs while 40 green threads sleep 1-40 ms and 20 read socketpairs fed
every millisecond; the count of interrupted epoll_waits comes from wrapping
epoll_wait at link time. test_reset and test_emfile print
nothing beyond their checks (see their headers).

## ThreadSanitizer

`make test-reliability-tsan` builds tests/reliability/test_threads.c with
clang -fsanitize=thread. Its checks pass, but TSan reports races that are
false positives of its setup: the Rust library is not instrumented (that
needs nightly), so TSan does not see guv's own synchronization (futexes,
eventfd), and guv does not announce its stack switches to TSan. The reports
are the offloaded call's argument (written on the pool thread, read by the
green thread after guv_offload returns) and allocator reallocations across
threads. They are not suppressed; TSan is not part of `make test`.
"""
    open(out, "w").write(md)


if __name__ == "__main__":
    main()
