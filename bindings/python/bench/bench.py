"""guv vs gevent: green thread spawn+join, and a sleep(0) round trip.

    python bench.py [results.md]

Times are CPU time of this process per operation (the median of several
runs), which a loaded machine distorts far less than wall time; wall time
is shown too. gevent is measured in the same run when it is importable.
"""
import platform
import statistics
import sys
import time

import guv
from results import replace_section, where

ROUNDS = 7


def measure(fn, n):
    """(cpu µs, wall µs) per operation, medians over ROUNDS runs of fn(n)."""
    fn(n // 10)  # warm up stacks, pools and caches
    cpu, wall = [], []
    for _ in range(ROUNDS):
        c0, w0 = time.process_time(), time.perf_counter()
        fn(n)
        cpu.append((time.process_time() - c0) / n * 1e6)
        wall.append((time.perf_counter() - w0) / n * 1e6)
    return statistics.median(cpu), statistics.median(wall)


def noop():
    pass


def cases(spawn, join, sleep):
    """The benchmarked loops, written once for any spawn/join/sleep trio."""

    def spawn_join(n):
        for _ in range(n):
            join(spawn(noop))

    def spawn_join_in_green_thread(n):
        join(spawn(spawn_join, n))

    def sleep0_alone(n):
        def loop():
            for _ in range(n):
                sleep(0)

        join(spawn(loop))

    def sleep0_pair(n):
        # Two green threads alternate: each sleep(0) switches to the other.
        def loop():
            for _ in range(n // 2):
                sleep(0)

        a, b = spawn(loop), spawn(loop)
        join(a), join(b)

    return [
        ("spawn+join, from main", spawn_join, 20_000),
        ("spawn+join, from a green thread", spawn_join_in_green_thread, 20_000),
        ("sleep(0) round trip, one green thread", sleep0_alone, 100_000),
        ("sleep(0) round trip, two alternating", sleep0_pair, 100_000),
    ]


def _loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else None
    ours = cases(guv.spawn, lambda gt: gt.wait(), guv.sleep)
    try:
        import gevent

        gevent_version = gevent.__version__
        theirs = [fn for _, fn, _ in cases(gevent.spawn, lambda g: g.join(), gevent.sleep)]
    except ImportError:
        gevent_version, theirs = None, [None] * len(ours)
    rows = []
    for (name, fn, n), gfn in zip(ours, theirs):
        g_cpu, g_wall = measure(fn, n)
        e_cpu, e_wall = measure(gfn, n) if gfn else (float("nan"), float("nan"))
        rows.append((name, g_cpu, g_wall, e_cpu, e_wall))
        print(f"{name:40s} guv {g_cpu:7.2f} µs cpu {g_wall:7.2f} µs wall | "
              f"gevent {e_cpu:7.2f} µs cpu {e_wall:7.2f} µs wall | x{e_cpu / g_cpu:.2f}")
    if out:
        lines = ["# Python binding: guv vs gevent", "",
                 f"`make bench-python` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}), "
                 f"CPython {platform.python_version()}, libguv {where(guv._lib.find_libguv())}, "
                 f"gevent {gevent_version or 'not installed'}, load average {_loadavg()}. Per operation, "
                 f"median of {ROUNDS} runs; CPU time of the process (wall time in brackets: the machine "
                 "is shared).", "",
                 "| case | guv µs | gevent µs | gevent / guv |", "|---|---|---|---|"]
        for name, g_cpu, g_wall, e_cpu, e_wall in rows:
            lines.append(f"| {name} | {g_cpu:.2f} ({g_wall:.2f}) | {e_cpu:.2f} ({e_wall:.2f}) | {e_cpu / g_cpu:.2f} |")
        replace_section(out, "\n".join(lines))
        print(f"written to {out}")


if __name__ == "__main__":
    main()
