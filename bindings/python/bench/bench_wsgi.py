"""guv.wsgi against gevent.pywsgi, eventlet.wsgi and gunicorn -k guv.GuvWorker:

    python bench_wsgi.py [results.md]    # appends its section to results.md

Each server runs in a process of its own, serving a hello-world WSGI app;
wrk (-t1 -c100, keep-alive) loads each in turn (gevent.pywsgi twice: as it
comes, and with TCP_NODELAY), ROUNDS times interleaved so
that a change in the machine's load hits every server alike; the median
round is kept. CPU per request is the server processes' user+system time
over the run (from /proc), divided by the requests wrk counted: it drifts
with the load far less than requests/s. Then a 50 ms pg_sleep app through
psycopg2 with a pool of PG_POOL connections, 100 clients: the pool allows at
most PG_POOL / 0.05 s requests/s."""
import io
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

from results import replace_section

HERE = os.path.dirname(os.path.abspath(__file__))
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CLIENTS = 100

# gevent.pywsgi sends a response's head and body in two writes; on a listener
# without TCP_NODELAY (its default) the body waits for the client's delayed ACK,
# which caps it near 100 connections / 40 ms. The second variant sets it.
GEVENT = """
from gevent import monkey; monkey.patch_all()
import socket, sys
from gevent.pywsgi import WSGIServer
from wsgi_apps import hello
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if sys.argv[2] == "nodelay":
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(511)
WSGIServer(listener, hello, log=None).serve_forever()
"""
EVENTLET = """
import eventlet; eventlet.monkey_patch()
import sys, eventlet.wsgi
from wsgi_apps import hello
eventlet.wsgi.server(eventlet.listen(("127.0.0.1", int(sys.argv[1]))), hello, log_output=False)
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


def cpu_seconds(pid):
    """User+system CPU of pid and its live children (gunicorn's worker)."""
    total = 0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def wrk(port, pid, seconds=SECONDS, path="/"):
    """(requests/s, requests, errors, CPU µs per request) of one wrk run."""
    before = cpu_seconds(pid)
    out = subprocess.run(["wrk", "-t1", f"-c{CLIENTS}", f"-d{seconds:g}s", "--timeout", "10s",
                          f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - before
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non2xx.group(1)) if non2xx else 0
    return rps, total, errors, cpu / max(total, 1) * 1e6


def start(name, env):
    port = free_port()
    py = sys.executable
    if name == "guv.wsgi":
        cmd = [py, "-m", "guv.wsgi", "wsgi_apps:hello", "--bind", f"127.0.0.1:{port}", "--concurrency", "1000"]
    elif name == "gevent.pywsgi":
        cmd = [py, "-c", GEVENT, str(port), "default"]
    elif name == "gevent.pywsgi, TCP_NODELAY":
        cmd = [py, "-c", GEVENT, str(port), "nodelay"]
    elif name == "eventlet.wsgi":
        cmd = [py, "-W", "ignore", "-c", EVENTLET, str(port)]
    elif name == "gunicorn -k guv.GuvWorker -w 1":
        cmd = [py, "-m", "gunicorn", "-k", "guv.GuvWorker", "-w", "1", "--worker-connections", "1000",
               "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi_apps:hello"]
    proc = subprocess.Popen(cmd, cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_listening(port, proc)
    return proc, port


def available(name):
    module = {"gevent.pywsgi": "gevent", "gevent.pywsgi, TCP_NODELAY": "gevent", "eventlet.wsgi": "eventlet",
              "gunicorn -k guv.GuvWorker -w 1": "gunicorn"}
    mod = module.get(name)
    if mod is None:
        return True
    return subprocess.run([sys.executable, "-c", f"import {mod}"], capture_output=True).returncode == 0


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def hello_world(env):
    names = [n for n in ("guv.wsgi", "gevent.pywsgi", "gevent.pywsgi, TCP_NODELAY", "eventlet.wsgi",
                         "gunicorn -k guv.GuvWorker -w 1")
             if available(n)]
    servers = {name: start(name, env) for name in names}
    runs = {name: [] for name in names}
    try:
        for name, (proc, port) in servers.items():
            wrk(port, proc.pid, seconds=1)  # warm up
        for _ in range(ROUNDS):
            for name, (proc, port) in servers.items():
                runs[name].append(wrk(port, proc.pid))
                print(f"{name:32s} {runs[name][-1][0]:9.0f} req/s {runs[name][-1][3]:7.1f} µs CPU/req "
                      f"errors {runs[name][-1][2]}  (load {loadavg()})", flush=True)
    finally:
        for proc, _ in servers.values():
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {name: sorted(r)[len(r) // 2] for name, r in runs.items()}, runs


def pg(env, pool):
    env = dict(env, PG_POOL=str(pool))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "guv.wsgi", "wsgi_apps:pg_sleep", "--bind", f"127.0.0.1:{port}"],
                            cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(port, proc)
        wrk(port, proc.pid, seconds=1)
        before = settled(port)
        result = wrk(port, proc.pid)
        after = held(port)
        hold = (after[0] - before[0]) / max(after[1] - before[1], 1)
        gap = (after[2] - before[2]) / max(after[3] - before[3], 1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    print(f"pg_sleep(0.05), pool {pool}: {result[0]:.0f} req/s; a connection held {hold * 1e3:.1f} ms a request, "
          f"{gap * 1e3:.2f} ms from its return to its next use, so the pool allows {pool / (hold + gap):.0f}; "
          f"errors {result[2]}", flush=True)
    return result + (hold, gap)


def settled(port):
    """held() once the requests wrk left behind are served: each still takes a
    pooled connection for 50 ms, and counted in the next run they would steal
    its pool time."""
    last = held(port)
    while True:
        time.sleep(0.3)
        now = held(port)
        if now[1] == last[1]:
            return now
        last = now


def held(port):
    """(seconds held, requests, seconds between return and next use, hand-offs) of the pg app so far."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /held HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    held_s, requests, gap_s, handoffs = data.split(b"\r\n\r\n", 1)[1].split()
    return float(held_s), int(requests), float(gap_s), int(handoffs)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else None
    if shutil.which("wrk") is None:
        sys.exit("bench_wsgi: wrk not found (Debian package wrk; make bench-python installs it)")
    env = dict(os.environ)
    # The servers run in HERE: a relative entry (make's PYTHONPATH=.) is made absolute first.
    env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in [HERE, *env.get("PYTHONPATH", "").split(os.pathsep)] if p)
    load_before = loadavg()
    medians, runs = hello_world(env)
    pools = [(n, pg(env, n)) for n in (10, 20)]
    load_after = loadavg()
    if not out:
        return
    guv = medians["guv.wsgi"]
    f = io.StringIO()
    f.write("## WSGI servers: hello world, keep-alive, 100 connections\n\n")
    f.write(f"`make bench-python` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}), CPython "
            f"{sys.version.split()[0]}, wrk -t1 -c{CLIENTS} -d{SECONDS:g}s (keep-alive) on the same 2-core "
            f"machine as the servers, each server one process (gunicorn: master + 1 worker). "
            f"{ROUNDS} rounds interleaved, median round shown. The machine is shared with other "
            f"engineers' builds and tests: load average {load_before} before, {load_after} after; "
            "requests/s move with that load, CPU per request much less.\n\n")
    f.write("| server | requests/s | CPU µs per request | errors | guv.wsgi req/s ÷ this | "
            "this CPU/req ÷ guv.wsgi's | all rounds (req/s) |\n|---|---|---|---|---|---|---|\n")
    for name, (rps, total, errors, cpu) in medians.items():
        f.write(f"| {name} | {rps:.0f} | {cpu:.1f} | {errors} | {guv[0] / rps:.2f} | {cpu / guv[3]:.2f} | "
                f"{', '.join(f'{r[0]:.0f}' for r in runs[name])} |\n")
    f.write("\ngevent.pywsgi writes a response's head and body with two sends (strace shows them); on its "
            "default listener, without TCP_NODELAY, the body waits for the client's delayed ACK, which caps "
            "it near 100 connections / 40 ms whatever its CPU. The TCP_NODELAY row removes that; CPU per "
            "request compares the servers' own work either way. guv.wsgi sets TCP_NODELAY itself and sends "
            "a list body with its head in one send.\n")
    replace_section(out, f.getvalue())
    f = io.StringIO()
    f.write("## guv.wsgi with psycopg2: SELECT pg_sleep(0.05) per request, 100 connections\n\n"
            "Connections come from a green queue of PG_POOL psycopg2 connections (guv.support.psycopg2 "
            "makes their waits cooperative). The app measures how long each request holds its connection "
            "(pg_sleep's 50 ms plus the round trips and PostgreSQL's own time on this loaded machine) and "
            "how long a returned connection waits before the next request has it (the server's share). "
            "The pool allows at most PG_POOL / (hold + hand-off) requests/s; PG_POOL / 0.05 s with a free "
            "database and a zero hand-off.\n\n"
            "| pool | requests/s | held per request | hand-off | pool limit at those times | achieved "
            "| limit at 50 ms | errors | server CPU µs/req |\n|---|---|---|---|---|---|---|---|---|\n")
    for n, (rps, total, errors, cpu, hold, gap) in pools:
        f.write(f"| {n} | {rps:.0f} | {hold * 1e3:.1f} ms | {gap * 1e3:.2f} ms | {n / (hold + gap):.0f} | "
                f"{rps / (n / (hold + gap)):.0%} | {n / 0.05:.0f} | {errors} | {cpu:.0f} |\n")
    replace_section(out, f.getvalue())
    print(f"written to {out}")


if __name__ == "__main__":
    main()
