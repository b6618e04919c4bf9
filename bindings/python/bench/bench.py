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


def guv_spawn_join(n):
    for _ in range(n):
        guv.spawn(noop).wait()


def guv_spawn_join_in_green_thread(n):
    guv.spawn(guv_spawn_join, n).wait()


def guv_sleep0_alone(n):
    def loop():
        for _ in range(n):
            guv.sleep(0)

    guv.spawn(loop).wait()


def guv_sleep0_pair(n):
    # Two green threads alternate: each sleep(0) switches to the other.
    def loop():
        for _ in range(n // 2):
            guv.sleep(0)

    a, b = guv.spawn(loop), guv.spawn(loop)
    a.wait(), b.wait()


def gevent_cases():
    import gevent

    def spawn_join(n):
        for _ in range(n):
            gevent.spawn(noop).join()

    def spawn_join_in_greenlet(n):
        gevent.spawn(spawn_join, n).join()

    def sleep0_alone(n):
        def loop():
            for _ in range(n):
                gevent.sleep(0)

        gevent.spawn(loop).join()

    def sleep0_pair(n):
        def loop():
            for _ in range(n // 2):
                gevent.sleep(0)

        gevent.joinall([gevent.spawn(loop), gevent.spawn(loop)])

    return gevent.__version__, [spawn_join, spawn_join_in_greenlet, sleep0_alone, sleep0_pair]


CASES = [
    ("spawn+join, from main", guv_spawn_join, 20_000),
    ("spawn+join, from a green thread", guv_spawn_join_in_green_thread, 20_000),
    ("sleep(0) round trip, one green thread", guv_sleep0_alone, 100_000),
    ("sleep(0) round trip, two alternating", guv_sleep0_pair, 100_000),
]


def _loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else None
    try:
        gevent_version, gevent_fns = gevent_cases()
    except ImportError:
        gevent_version, gevent_fns = None, [None] * len(CASES)
    rows = []
    for (name, fn, n), gfn in zip(CASES, gevent_fns):
        g_cpu, g_wall = measure(fn, n)
        e_cpu, e_wall = measure(gfn, n) if gfn else (float("nan"), float("nan"))
        rows.append((name, g_cpu, g_wall, e_cpu, e_wall))
        print(f"{name:40s} guv {g_cpu:7.2f} µs cpu {g_wall:7.2f} µs wall | "
              f"gevent {e_cpu:7.2f} µs cpu {e_wall:7.2f} µs wall | x{e_cpu / g_cpu:.2f}")
    if out:
        with open(out, "w") as f:
            f.write("# Python binding: guv vs gevent\n\n")
            f.write(f"`make bench-python` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}), "
                    f"CPython {platform.python_version()}, libguv {guv._lib.find_libguv()}, "
                    f"gevent {gevent_version or 'not installed'}, load average {_loadavg()}. Per operation, "
                    f"median of {ROUNDS} runs; CPU time of the process (wall time in brackets: the machine "
                    "is shared).\n\n")
            f.write("| case | guv µs | gevent µs | gevent / guv |\n|---|---|---|---|\n")
            for name, g_cpu, g_wall, e_cpu, e_wall in rows:
                f.write(f"| {name} | {g_cpu:.2f} ({g_wall:.2f}) | {e_cpu:.2f} ({e_wall:.2f}) | {e_cpu / g_cpu:.2f} |\n")
        print(f"written to {out}")


if __name__ == "__main__":
    main()
