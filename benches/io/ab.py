#!/usr/bin/env python3
"""guv's echo server against the hand-written epoll server, paired round by
round, for a verdict on the issue's ratios that says how sure it is.

    ab.py BIN_DIR [--rounds N] [--seconds S] [--conns C[,C...]]
                  [--extra NAME=SERVER ...] [--together] [--md FILE]

Each round runs every server once under the same load client
(load_client: C connections, 64-byte echoes, 0.5 s warm-up, then S
seconds counted); guv and epoll back to back, which goes first
alternating, so that a round's two runs see about the same machine.
--together runs a round's servers at the same time instead, each under
its own load client: they then share whatever the machine does in those
seconds, and compete for its CPUs on equal terms. Per
round: each server's round trips/s and CPU per round trip (user + system
from wait4, over all the trips it served), and guv's ratio to epoll's.
Reported per ratio: the median over rounds, a 95 % confidence interval
for that median (distribution-free: order statistics of the binomial),
and in how many rounds guv was on the goal's side (CPU ratio <= 1.02,
throughput ratio >= 1.0). The 1-minute load average is noted each round.
--md appends the tables, in Markdown, to FILE.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import loadavg, median_ci, served, start_server, stop  # noqa: E402


def summary(xs, good):
    lo, hi = median_ci(xs)
    wins = sum(1 for x in xs if good(x))
    return f"{statistics.median(xs):.3f} [{lo:.3f}, {hi:.3f}], {wins}/{len(xs)}"


def served_together(servers, client):
    """Every server at once, each under its own load client: {name: (rate, CPU µs per trip)}."""
    started = [(name, *start_server(cmd)) for name, cmd in servers]
    try:
        clients = [(name, subprocess.Popen([client[0], str(port)] + client[1:], stdout=subprocess.PIPE, text=True))
                   for name, _, port in started]
        outs = {name: c.communicate(timeout=120)[0].split() for name, c in clients}
    finally:
        cpu = {name: stop(p) for name, p, _ in started}
    return {n: (float(o[1]), sum(cpu[n]) * 1e6 / int(o[3])) for n, o in outs.items()}


def run(bin_dir, conns, rounds, seconds, extra, together=False):
    b = lambda name: os.path.join(bin_dir, name)
    servers = [("guv", [b("echo_server")]), ("epoll", [b("epoll_echo")])] + extra
    client = [b("load_client"), str(conns), str(seconds), "0.5", "64"]
    rows = []
    for r in range(rounds):
        order = servers[:2][:: -1 if r % 2 else 1] + servers[2:]
        load = loadavg().split()[0]
        got = {}
        if together:
            got = served_together(order, client)
        for name, cmd in ([] if together else order):
            rate, trips, user, system = served(cmd, None, client)
            got[name] = (rate, (user + system) * 1e6 / trips)
        rows.append((load, got))
        print(f"{conns} conns round {r + 1} (load {load}): " + ", ".join(
            f"{n} {got[n][0]:.0f}/s {got[n][1]:.2f} µs" for n, _ in order)
            + f"; guv/epoll CPU {got['guv'][1] / got['epoll'][1]:.3f}, "
            f"rate {got['guv'][0] / got['epoll'][0]:.3f}", flush=True)
    return servers, rows


def table(conns, servers, rows):
    names = [n for n, _ in servers]
    lines = [
        f"{conns} connection{'s' if conns > 1 else ''}, {len(rows)} rounds, load average (1 min) "
        f"{min(float(l) for l, _ in rows):.1f}-{max(float(l) for l, _ in rows):.1f}:",
        "",
        "| server ÷ epoll | CPU per round trip: median [95 % CI], rounds <= 1.02 | "
        "round trips/s: median [95 % CI], rounds >= 1.0 | CPU µs/trip, median | round trips/s, median |",
        "|---|---|---|---:|---:|",
    ]
    for n in names:
        cpu = [g[n][1] / g["epoll"][1] for _, g in rows]
        rate = [g[n][0] / g["epoll"][0] for _, g in rows]
        lines.append(
            f"| {n} | {summary(cpu, lambda x: x <= 1.02)} | {summary(rate, lambda x: x >= 1.0)} | "
            f"{statistics.median(g[n][1] for _, g in rows):.2f} | "
            f"{statistics.median(g[n][0] for _, g in rows):.0f} |"
        )
    lines += ["", "Per round, guv ÷ epoll (load): " + ", ".join(
        f"CPU {g['guv'][1] / g['epoll'][1]:.3f} rate {g['guv'][0] / g['epoll'][0]:.2f} ({l})" for l, g in rows), ""]
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--conns", default="100,1")
    ap.add_argument("--extra", action="append", default=[])
    ap.add_argument("--together", action="store_true")
    ap.add_argument("--md")
    a = ap.parse_args()
    extra = [(name, [path]) for name, _, path in (e.partition("=") for e in a.extra)]
    out = [f"`benches/io/ab.py --rounds {a.rounds} --seconds {a.seconds:g}{' --together' if a.together else ''}`, "
           f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {loadavg()} before:", ""]
    for conns in (int(c) for c in a.conns.split(",")):
        out += table(conns, *run(a.bin, conns, a.rounds, a.seconds, extra, a.together))
    out += [f"Load average after: {loadavg()}.", ""]
    print("\n".join(out))
    if a.md:
        with open(a.md, "a") as f:
            f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
