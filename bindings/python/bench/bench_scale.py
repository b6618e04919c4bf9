"""Many green threads alive at once: guv vs gevent, memory and spawn time.

    python bench_scale.py [results.md] [N ...]

For each case, each system runs in a process of its own (same run, one
after the other): it spawns N green threads that each sleep 60 s, in
batches of 100,000, each batch followed by a short sleep so that all have
started and parked. It reports per green thread the growth of VmRSS and of
VmPTE (page tables: kernel memory that RSS leaves out, and what a touched
page of a stack costs on top of the page), the CPU and wall time to
spawn and park them all and of each 100k batch (a cost per green thread
that grows with the number alive shows there), and the time from the end of
the work to the process's exit (a teardown that walks every green thread).
300,000 runs twice more with GUV_STACK_SIZE set, 8 MiB (a main thread's)
and 64 KiB, and 1,000,000 once more with 64 KiB (as the issue measured it),
to show what the stack size costs. The results replace the
file's "Many green threads alive" section; the rest of the file is kept.
"""
import json
import os
import platform
import subprocess
import sys
import time

from results import replace_section, where

BATCH = 100_000
# (N, GUV_STACK_SIZE or None): the four sizes, and 300k again with
# 8 MiB and 64 KiB stacks, to show what the stack size costs in page tables.
DEFAULT_RUNS = ((10_000, None), (100_000, None), (300_000, None), (1_000_000, None), (300_000, "8M"),
                (300_000, "64K"), (1_000_000, "64K"))


def _mem_kib():
    """(VmRSS, VmPTE) in KiB: resident pages, and the page tables mapping them."""
    found = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmPTE"):
                found[key] = int(value.split()[0])
    return found["VmRSS"], found["VmPTE"]


def child(system, n):
    """Runs in its own process: prints one JSON line of measurements."""
    if system == "guv":
        import guv

        spawn, sleep = guv.spawn, guv.sleep
    else:
        import gevent

        spawn, sleep = gevent.spawn, gevent.sleep
    sleep(0)  # the hub exists and runs before the baseline is taken
    rss0, pte0 = _mem_kib()
    batches, batches_cpu = [], []
    t0, c0 = time.perf_counter(), time.process_time()
    left = n
    while left:
        k = min(BATCH, left)
        b0, bc0 = time.perf_counter(), time.process_time()
        for _ in range(k):
            spawn(sleep, 60)
        sleep(0.001)  # this batch starts and parks before the next one
        batches.append(time.perf_counter() - b0)
        batches_cpu.append(time.process_time() - bc0)
        left -= k
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss1, pte1 = _mem_kib()
    print(json.dumps({"system": system, "n": n, "rss_kib_each": (rss1 - rss0) / n,
                      "pte_kib_each": (pte1 - pte0) / n,
                      "rss_mib": rss1 / 1024, "spawn_park_s": elapsed, "spawn_park_cpu_s": cpu,
                      "batches_s": batches, "batches_cpu_s": batches_cpu,
                      "cpu_at_line_s": time.process_time()}), flush=True)
    # Exit with all of them still asleep: what a process that ends while
    # holding them pays (the parent times until the process is gone).
    sys.stdout.flush()


def run_one(system, n, stack):
    env = dict(os.environ)
    env.pop("GUV_STACK_SIZE", None)
    if stack:
        env["GUV_STACK_SIZE"] = stack
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, __file__, "--child", system, str(n)], env=env,
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    t_line = time.perf_counter()
    rest = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    t_exit = time.perf_counter()
    rc = p.returncode = os.waitstatus_to_exitcode(status)
    if rc != 0 or not line:
        raise SystemExit(f"{system} N={n}: exit {rc}: {line}{rest}")
    r = json.loads(line)
    r["exit_s"] = t_exit - t_line
    r["exit_cpu_s"] = usage.ru_utime + usage.ru_stime - r["cpu_at_line_s"]
    r["process_s"] = t_exit - t0
    return r


def _load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def fmt_batches(bs):
    return ", ".join(f"{b:.2f}" for b in bs)


def main():
    args = sys.argv[1:]
    if args[:1] == ["--child"]:
        child(args[1], int(args[2]))
        return
    out = args[0] if args and not args[0].isdigit() else None
    runs = [(int(a), None) for a in args if a.isdigit()] or DEFAULT_RUNS
    try:
        import gevent

        gevent_version = gevent.__version__
    except ImportError:
        gevent_version = None
    import guv

    load_before = _load()
    rows = []
    for n, stack in runs:
        ours = run_one("guv", n, stack)
        theirs = run_one("gevent", n, stack) if gevent_version else None
        ours["stack"] = stack
        rows.append((n, ours, theirs))
        for r in (ours, theirs):
            if r:
                print(f"N={n:>9,}{' ' + stack if stack else ''} {r['system']:6s} {r['rss_kib_each']:6.2f} KiB each "
                      f"(+{r['pte_kib_each']:.2f} page tables), "
                      f"spawn+park {r['spawn_park_cpu_s']:6.2f} s cpu {r['spawn_park_s']:6.2f} s wall, "
                      f"exit {r['exit_cpu_s']:5.2f} s cpu {r['exit_s']:5.2f} s wall, batches cpu [{fmt_batches(r['batches_cpu_s'])}]", flush=True)
    load_after = _load()
    if not out:
        return
    section = render(rows, gevent_version, guv, load_before, load_after)
    replace_section(out, section)
    print(f"written to {out}")


def render(rows, gevent_version, guv, load_before, load_after):
    lines = [
        "## Many green threads alive",
        "",
        f"`make bench-python` (bench/bench_scale.py, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}), "
        f"CPython {platform.python_version()}, libguv {where(guv._lib.find_libguv())}, "
        f"gevent {gevent_version or 'not installed'}. Each system in a process of its own, one after the "
        f"other in the same run: `spawn(sleep, 60)` N times in batches of {BATCH:,}, each batch followed by a "
        "1 ms sleep so that its green threads start and park. RSS: VmRSS growth (/proc/self/status) per "
        "green thread; page tables: VmPTE growth, kernel memory RSS leaves out. Spawn+park: CPU time of the "
        "process (wall time in brackets). guv's Python green threads have 1 MiB stacks; rows marked with a size "
        "ran with GUV_STACK_SIZE set to it for both (gevent ignores it). \"exit\": from the last measurement to the "
        "process being gone, every green thread still asleep: CPU time (wall in brackets). Machine: 2 cores shared with other "
        f"engineers' builds and tests, load average {load_before} before, {load_after} after: wall "
        "times move with that load, CPU times less, memory not at all.",
        "",
        "| N sleeping | guv RSS each | gevent RSS each | guv page tables each | gevent page tables each "
        "| guv spawn+park | gevent spawn+park | gevent / guv (CPU) | guv exit | gevent exit |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, o, t in rows:
        t = t or {}
        g = lambda k, f="{:.2f}": f.format(t[k]) if k in t else "–"  # noqa: E731
        lines.append(
            f"| {n:,}{', ' + o['stack'] if o['stack'] else ''} | {o['rss_kib_each']:.2f} KiB | {g('rss_kib_each')} KiB | {o['pte_kib_each']:.2f} KiB | "
            f"{g('pte_kib_each')} KiB | {o['spawn_park_cpu_s']:.2f} s ({o['spawn_park_s']:.2f}) | "
            f"{g('spawn_park_cpu_s')} s ({g('spawn_park_s')}) | "
            f"{t['spawn_park_cpu_s'] / o['spawn_park_cpu_s'] if t else float('nan'):.2f} | "
            f"{o['exit_cpu_s']:.2f} s ({o['exit_s']:.2f}) | {g('exit_cpu_s')} s ({g('exit_s')}) |")
    lines += ["", "CPU seconds per batch of 100,000 (a cost per green thread that grows with the number alive "
              "shows as a rising row):", "", "| N | system | batches (CPU s) |", "|---|---|---|"]
    for n, o, t in rows:
        if n <= BATCH:
            continue
        for r in (o, t):
            if r:
                lines.append(f"| {n:,}{', ' + o['stack'] if o['stack'] else ''} | {r['system']} | {fmt_batches(r['batches_cpu_s'])} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
