#!/usr/bin/env python3
"""What the blocking detector costs on the TCP echo server.

    detector.py BIN_DIR RESULTS_MD [--base BASE_ECHO_SERVER] [--rounds N] [--seconds S]

BIN_DIR is bench-io's (release echo_server and load_client). Each round runs
the guv echo server (examples/echo_server.c) once per configuration, in an
order rotated round by round, under the same external load client as
bench-io: the detector off, and on at 100 ms (GUV_BLOCK_REPORT=100). With
--base, also an echo_server linked against a libguv built before the
observability work, so that "off" can be compared with no counters at all.
Reported per configuration: the median rate and server CPU per round trip,
and the median over rounds of each one's ratio to "off" in the same round.
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import cpu_ns, loadavg, run_rate, start_server, stop  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("out")
    ap.add_argument("--base")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--conns", type=int, default=100)
    a = ap.parse_args()
    server = os.path.join(a.bin, "echo_server")
    env_off = {k: v for k, v in os.environ.items() if k != "GUV_BLOCK_REPORT"}
    configs = [("off", server, env_off), ("on, 100 ms", server, dict(env_off, GUV_BLOCK_REPORT="100"))]
    if a.base:
        configs.append(("before issue 16", a.base, env_off))
    rate = {n: [] for n, _, _ in configs}
    cpu = {n: [] for n, _, _ in configs}
    rate_ratio = {n: [] for n, _, _ in configs}
    cpu_ratio = {n: [] for n, _, _ in configs}
    load_before = loadavg()
    client = [str(a.conns), str(a.seconds), "0.5", "64"]
    for r in range(a.rounds):
        order = configs[r % len(configs):] + configs[:r % len(configs)]
        got, used = {}, {}
        for name, cmd, env in order:
            p, port = start_server([cmd], env)
            try:
                c0 = cpu_ns(p.pid)
                out = run_rate([os.path.join(a.bin, "load_client"), str(port)] + client).split()
                used[name] = (cpu_ns(p.pid) - c0) / 1e3 / int(out[3])
            finally:
                stop(p)
            got[name] = float(out[1])
            rate[name].append(got[name])
            cpu[name].append(used[name])
        for name in got:
            rate_ratio[name].append(got[name] / got["off"])
            cpu_ratio[name].append(used[name] / used["off"])
        print(f"round {r + 1}: " + ", ".join(f"{n} {got[n]:.0f}/s {used[n]:.2f} µs/trip" for n, _, _ in order),
              flush=True)
    med = statistics.median
    lines = [
        "# Blocking detector cost on the TCP echo server (issue 16)",
        "",
        f"Latest run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, `make bench-detector` "
        f"(rounds={a.rounds}, {a.seconds:g} s per run, {a.conns} connections), release build.",
        f"Load average {load_before} before, {loadavg()} after (a shared 2-CPU machine: absolute "
        "numbers drift, compare the ratios, taken within each round).",
        "",
        "| configuration | round trips/s (median) | ratio to off | server CPU µs/trip | CPU ratio to off | runs |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for n, _, _ in configs:
        lines.append(f"| {n} | {med(rate[n]):.0f} | {med(rate_ratio[n]):.3f} | {med(cpu[n]):.2f} | "
                     f"{med(cpu_ratio[n]):.3f} | {', '.join(f'{x:.0f}' for x in rate[n])} |")
    lines += [
        "",
        "Method: each round runs every configuration once, order rotated; ratios are per round, then the",
        "median over rounds. Server CPU per trip is all the server's threads (the monitor thread included",
        "when the detector is on) from /proc/PID/task/*/schedstat, divided by the round trips served.",
        "",
    ]
    with open(a.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
