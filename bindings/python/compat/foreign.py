"""Test suites nobody here wrote, run against this binding and counted:
psycopg2's own tests (from the psycopg2 sdist on PyPI) and the original
guv's tests and README examples (github.com/veegee/guv at a pinned commit).

    python foreign.py --work DIR --out results.md [--guv-src CHECKOUT]
                      [--python PYTHON[=PYTHONPATH] ...]

Each CPython given (default: this one) runs everything, with its own
PYTHONPATH (where this binding is installed for it).

psycopg2's suite runs five ways, each in a process of its own: plain;
with a wait callback of psycopg2's own (as psycogreen and eventlet set one;
its tests skip what that refuses only when told to, and are not told);
after `import guv`; with guv.support.psycopg2.enable() (main is a green
thread, so the suite runs in one); under guv.monkey_patch() with the whole
suite in a spawned green thread, as a monkey-patched program's code runs.
The original guv's tests run with pytest, this binding first on sys.path and
the original's own package out of reach (only its tests/ is copied out), as
written and with local stand-ins for the two network addresses they use;
its README's three examples run with the changes a machine without internet
needs (named in the results)."""
import argparse
import faulthandler
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
# The sdist whose tests/ matches the psycopg2 (psycopg2-binary) the binding is tested with.
PSYCOPG2 = "2.9.13"
PSYCOPG2_SHA256 = "d36784fc2dae69523ba4b79c7d1d1b4d6e83e87836874f111262f4db940b16a6"
# The original guv: its last commit (2017-01-22, branch develop), from the
# repository: PyPI's guv 0.35.2 is an sdist that pip cannot even download
# without libuv's headers (its metadata step compiles pyuv_cffi).
GUV_REPO = "https://github.com/veegee/guv"
GUV_COMMIT = "d7bac2ca6a73cc2059969af08223b82f3e187922"
MODES = {
    "plain": "psycopg2 alone",
    "callback": "psycopg2.extras.wait_select as wait callback (what psycogreen and eventlet set), no guv",
    "import": "`import guv` first",
    "enable": "`guv.support.psycopg2.enable()`, suite in main (a green thread)",
    "patch": "`guv.monkey_patch()`, suite in a spawned green thread",
}
MAX_RUNS = 20
PG_ENV = {"PSYCOPG2_TESTDB": "test", "PSYCOPG2_TESTDB_HOST": "127.0.0.1", "PSYCOPG2_TESTDB_USER": "postgres"}


class _Recorder(unittest.TextTestResult):
    """Writes each test's start and verdict (with the last line of a failure's
    traceback) to a JSON-lines file as it goes, and ends the process when a
    test runs longer than the watchdog allows: the parent counts that test as
    a hang and runs the rest again without it."""

    out, watchdog = None, None

    def startTest(self, test):
        super().startTest(test)
        self._write(test, "started")
        faulthandler.dump_traceback_later(self.watchdog, exit=True)

    def stopTest(self, test):
        faulthandler.cancel_dump_traceback_later()
        super().stopTest(test)

    def _write(self, test, verdict, detail=""):
        self.out.write(json.dumps([test.id(), verdict, detail]) + "\n")
        self.out.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self._write(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._write(test, "failed", self._last_line(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._write(test, "errors", self._last_line(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._write(test, "skipped", reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._write(test, "passed")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._write(test, "failed", "unexpected success")

    def _last_line(self, err, test):
        return self._exc_info_to_string(err, test).strip().splitlines()[-1]


def _flat(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _flat(test)
        else:
            yield test


def child_psycopg2(mode, src, out, watchdog, skip):
    """Runs psycopg2's suite (from `src`, the unpacked sdist) in this process,
    configured by `mode`, without the tests named in file `skip`."""
    sys.path.insert(0, src)
    os.chdir(src)
    if mode == "callback":
        import psycopg2.extras

        psycopg2.extensions.set_wait_callback(psycopg2.extras.wait_select)
    elif mode != "plain":
        import guv
    if mode == "enable":
        guv.support.psycopg2.enable()
    elif mode == "patch":
        guv.monkey_patch()
    import tests

    with open(skip) as f:
        done = set(f.read().split())
    suite = unittest.TestSuite(t for t in _flat(tests.test_suite()) if t.id() not in done)
    _Recorder.watchdog = float(watchdog)

    def run():
        with open(out, "a") as _Recorder.out:
            unittest.TextTestRunner(resultclass=_Recorder, verbosity=1, stream=sys.stderr).run(suite)

    guv.spawn(run).wait() if mode == "patch" else run()


def fetch_psycopg2(python, work):
    """The pinned sdist from PyPI, checked and unpacked under `work`; returns its directory."""
    src = os.path.join(work, f"psycopg2-{PSYCOPG2}")
    if os.path.isdir(os.path.join(src, "tests")):
        return src
    tarball = os.path.join(work, f"psycopg2-{PSYCOPG2}.tar.gz")
    if not os.path.exists(tarball):
        subprocess.run([python, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
                        f"psycopg2=={PSYCOPG2}", "-d", work], check=True, timeout=300)
    with open(tarball, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != PSYCOPG2_SHA256:
        sys.exit(f"{tarball}: sha256 {digest}, not the pinned {PSYCOPG2_SHA256}")
    with tarfile.open(tarball) as tar:
        tar.extractall(work, filter="data")
    return src


def run_psycopg2(python, env, src, work, watchdog):
    """{mode: {test id: (verdict, detail)}}, each mode in a process of its
    own (environment `env`); a test that outlives `watchdog` seconds is a
    hang, and the process runs again without it and the tests already counted."""
    results = {}
    for mode in MODES:
        out, skip = (os.path.join(work, f"psycopg2-{mode}.{ext}") for ext in ("jsonl", "skip"))
        verdicts = {}
        for _ in range(MAX_RUNS):
            with open(skip, "w") as f:
                f.writelines(t + "\n" for t in verdicts)
            if os.path.exists(out):
                os.unlink(out)
            with open(os.path.join(work, f"psycopg2-{mode}.log"), "a") as log:
                proc = subprocess.run([python, os.path.abspath(__file__), "--child-psycopg2", mode, src, out,
                                       str(watchdog), skip], stdout=log, stderr=subprocess.STDOUT,
                                      timeout=watchdog * 100, env=dict(PG_ENV, **env))
            started = None
            with open(out) as f:
                for line in f:
                    test, verdict, detail = json.loads(line)
                    if verdict == "started":
                        started = test
                    else:
                        verdicts[test], started = (verdict, detail), None
            if started is None:
                break
            verdicts[started] = ("hangs", f"still running after {watchdog:g} s (exit {proc.returncode})")
        results[mode] = verdicts
    return results


def original_guv(work, guv_src):
    """A clone of GUV_REPO that has GUV_COMMIT: `guv_src`, else one cloned into `work`."""
    if guv_src is None:
        guv_src = os.path.join(work, "guv-src")
        if not os.path.isdir(guv_src):
            subprocess.run(["git", "clone", "-q", GUV_REPO, guv_src], check=True, timeout=300)
    subprocess.run(["git", "-C", guv_src, "cat-file", "-e", GUV_COMMIT], check=True)
    return guv_src


def fetch_guv_tests(work, guv_src):
    """The original guv's tests/ at the pinned commit, copied out of `guv_src` without its package."""
    dest = os.path.join(work, "guv-tests")
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    archive = subprocess.run(["git", "-C", guv_src, "archive", GUV_COMMIT, "tests"], check=True,
                             stdout=subprocess.PIPE, timeout=60).stdout
    subprocess.run(["tar", "x", "-C", dest], input=archive, check=True)
    return dest


# Pytest plugin (-p foreign): the original's tests reach gnu.org:80 (pub_addr) and
# expect 192.0.0.0:1000 (fail_addr) to time out. Offline, or behind a proxy that
# answers every connect, they test the network instead of guv: GUV_FOREIGN_LOCAL=1
# gives them local stand-ins, a listener that never accepts and one whose backlog is full.
_stand_ins = {}


def _local_addrs():
    import socket

    if not _stand_ins:
        quiet = socket.socket()
        quiet.bind(("127.0.0.1", 0))
        quiet.listen(16)
        full = socket.socket()
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        held = []
        while True:  # Linux keeps backlog + 1 pending connections, then drops SYNs
            s = socket.socket()
            s.settimeout(0.2)
            try:
                s.connect(full.getsockname())
            except OSError:
                s.close()
                break
            held.append(s)
        _stand_ins.update(pub_addr=quiet.getsockname(), fail_addr=full.getsockname(),
                          _keep=(quiet, full, held))
    return _stand_ins


def pytest_runtest_call(item):
    if os.environ.get("GUV_FOREIGN_LOCAL") == "1":
        for name in ("pub_addr", "fail_addr"):
            if name in getattr(item, "funcargs", {}):
                item.funcargs[name] = _local_addrs()[name]


def run_guv_tests(python, env, tests, work, local):
    """{test id: (verdict, detail)} from pytest's junit XML."""
    import xml.etree.ElementTree as ET

    xml = os.path.join(work, f"guv-tests-{'local' if local else 'as-is'}.xml")
    paths = env.get("PYTHONPATH", "").split(os.pathsep) + [HERE]
    env = dict(env, GUV_FOREIGN_LOCAL="1" if local else "0",
               PYTHONPATH=os.pathsep.join(os.path.abspath(p) for p in paths if p))
    # The original's own package must not shadow ours: only its tests/ was
    # copied out, and guv._core (which the original has not) must import.
    where = subprocess.run([python, "-c", "import guv, guv._core; print(guv.__file__)"], cwd=tests, env=env,
                           stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    with open(os.path.join(work, f"guv-tests-{'local' if local else 'as-is'}.log"), "w") as f:
        subprocess.run([python, "-m", "pytest", "-p", "no:cacheprovider", "-p", "foreign", "-v",
                        "--junitxml", xml, "tests"], cwd=tests, env=env, stdout=f, stderr=subprocess.STDOUT,
                       timeout=300)
    results = {}
    for case in ET.parse(xml).iter("testcase"):
        test = f"{case.get('classname')}.{case.get('name')}"
        verdict, detail = "passed", ""
        for tag, name in (("failure", "failed"), ("error", "errors"), ("skipped", "skipped")):
            node = case.find(tag)
            if node is not None:
                verdict, detail = name, (node.get("message") or "").splitlines()[0][:160]
        results[test] = (verdict, detail)
    return results, where


HELLO_APP = """def app(environ, start_response):
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'Hello from the README']"""


def _code_blocks(rst):
    """The indented blocks after each `.. code-block:: python` and `::` of an RST text."""
    blocks, lines, i = [], rst.splitlines(), 0
    while i < len(lines):
        if lines[i].rstrip().endswith("::") or lines[i].startswith(".. code-block::"):
            i += 1
            block = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
                block.append(lines[i][4:])
                i += 1
            if any(b.strip() for b in block):
                blocks.append("\n".join(block).strip("\n") + "\n")
        else:
            i += 1
    return blocks


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, seconds=20):
    import urllib.request

    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def run_guv_readme(python, env, guv_src, work):
    """The original README's examples, each run against this binding with the
    changes (named in the verdict) that a machine without internet needs."""
    import http.server
    import threading

    readme = subprocess.run(["git", "-C", guv_src, "show", f"{GUV_COMMIT}:README.rst"], check=True,
                            stdout=subprocess.PIPE, text=True).stdout
    blocks = _code_blocks(readme)
    serve = next(b for b in blocks if "guv.wsgi.serve" in b)
    gunicorn = next(b for b in blocks if b.startswith("gunicorn"))
    crawler = next(b for b in blocks if "requests.get" in b)
    results = {}
    log = open(os.path.join(work, "guv-readme.log"), "w")

    def case(name, change, fn):
        try:
            fn()
            results[name] = ("passed", change)
        except Exception as e:
            results[name] = ("failed", f"{change}: {type(e).__name__}: {e}"[:300])

    def wsgi_serve():
        port = _free_port()
        src = serve.replace("app = <your WSGI app>", HELLO_APP.replace("\n    ", "\n")).replace(
            "('0.0.0.0', 8001)", f"('127.0.0.1', {port})")
        proc = subprocess.Popen([python, "-c", src], env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT)
        try:
            assert _get(f"http://127.0.0.1:{port}/") == b"Hello from the README"
        finally:
            proc.kill()
            proc.wait()

    def gunicorn_worker():
        port = _free_port()
        with open(os.path.join(work, "wsgi_app.py"), "w") as f:
            f.write(HELLO_APP.replace("\n    ", "\n") + "\n")
        args = gunicorn.split()
        args[args.index("-w") + 1] = "1"
        args[args.index("-b") + 1] = f"127.0.0.1:{port}"
        proc = subprocess.Popen([python, "-m"] + args, env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT)
        try:
            assert _get(f"http://127.0.0.1:{port}/") == b"Hello from the README"
        finally:
            proc.terminate()
            proc.wait(30)

    def crawl():
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"x" * 1000
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        local = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            src = crawler.replace("'http://gnu.org'", f"'{local}/gnu'").replace("'https://eff.org'", f"'{local}/eff'")
            out = subprocess.run([python, "-c", src], env=env, cwd=work, stdout=subprocess.PIPE, text=True,
                                 timeout=120, check=True).stdout
            done = [line for line in out.splitlines() if line.endswith("done, length: 1000")]
            assert len(done) == 20, out
        finally:
            server.shutdown()

    case("README: guv.wsgi.serve", "app and address filled in (127.0.0.1, a free port)", wsgi_serve)
    case("README: gunicorn -k guv.GuvWorker", "1 worker, a free port, a hello app as wsgi_app", gunicorn_worker)
    case("README: GreenPool crawler with requests", "URLs on a local HTTP server (no internet here)", crawl)
    log.close()
    return results


VERDICTS = ("passed", "failed", "errors", "skipped", "hangs")


def counts(results):
    c = dict.fromkeys(VERDICTS, 0)
    for verdict, _ in results.values():
        c[verdict] += 1
    return c


def _where(versions, all_versions):
    return "" if versions == all_versions else " (on " + ", ".join(versions) + " only)"


def _not_passing(by_version, all_versions, plain=None):
    """Lines naming each test that does not pass, once, with the CPythons
    where it does not if not all; `plain`: {version: results} without guv."""
    bad = {}
    for version, results in by_version.items():
        for test, (verdict, detail) in results.items():
            if verdict in ("failed", "errors", "hangs"):
                also = plain is not None and plain[version].get(test, ("",))[0] == verdict
                bad.setdefault((test, verdict, also), ([], detail))[0].append(version)
    return [f"- {test}: {verdict}{' (also alone)' if also else ''}{_where(versions, all_versions)}: `{detail}`"
            for (test, verdict, also), (versions, detail) in sorted(bad.items())]


def _table(what, rows):
    lines = [f"| {what} | CPython | tests | passed | failed | errors | skipped | hangs |", "|---|---|---|---|---|---|---|---|"]
    for label, version, results in rows:
        c = counts(results)
        lines.append(f"| {label} | {version} | {len(results)} | " + " | ".join(str(c[v]) for v in VERDICTS) + " |")
    return lines


def report(runs, missing, seconds):
    """The results file: `runs`, one per CPython, as main() makes them."""
    versions = [r["version"] for r in runs]
    psycopg2_versions = sorted({r["psycopg2"] for r in runs})
    lines = ["# Foreign test suites against the Python binding", "",
             "`make compat-foreign` (bindings/python/compat/foreign.py), CPython "
             f"{', '.join(versions)}, psycopg2 {', '.join(psycopg2_versions)}; {seconds:.0f} s in all, load "
             f"{' '.join(open('/proc/loadavg').read().split()[:3])} (2 cores).", ""]
    if psycopg2_versions != [PSYCOPG2]:
        lines += [f"**The installed psycopg2 is {', '.join(psycopg2_versions)}, the tests are {PSYCOPG2}'s.**", ""]
    lines += [f"## psycopg2 {PSYCOPG2}'s own tests (sdist from PyPI, sha256 {PSYCOPG2_SHA256[:16]}…)", ""]
    lines += _table("configuration", [(MODES[mode], r["version"], r["pg"][mode]) for mode in MODES for r in runs])
    plain = {r["version"]: r["pg"]["plain"] for r in runs}
    for mode in MODES:
        bad = _not_passing({r["version"]: r["pg"][mode] for r in runs}, versions,
                           None if mode == "plain" else plain)
        if bad:
            lines += ["", f"Not passing with {MODES[mode]}:", ""] + bad
    lines += ["", f"## The original guv's tests and README ({GUV_REPO} at {GUV_COMMIT[:12]})", ""]
    if missing:
        lines += [missing, ""]
    else:
        lines += ["Its tests/ alone, copied out and run with pytest; `guv` imported from "
                  + ", ".join(r["guv_from"] for r in runs) + ". The README's examples run with the changes named below.",
                  ""]
        labels = list(runs[0]["guv"])
        lines += _table("what", [(label, r["version"], r["guv"][label]) for label in labels for r in runs])
        for label in labels:
            bad = _not_passing({r["version"]: r["guv"][label] for r in runs}, versions)
            if bad:
                lines += ["", f"Not passing ({label}):", ""] + bad
        readme = runs[0]["guv"].get("README.rst's examples", {})
        if readme:
            lines += ["", "README.rst's examples, as changed to run here:", ""]
            lines += [f"- {t}: {v} ({d})" for t, (v, d) in readme.items() if v == "passed"]
    lines += ["", "Reasons for what does not pass: bindings/python/README.md, \"Foreign test suites\".", ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", action="append", metavar="PYTHON[=PYTHONPATH]",
                    help="a CPython to run the suites with (repeatable; default: this one, this PYTHONPATH)")
    ap.add_argument("--work", required=True, help="where the sources are fetched and the logs go")
    ap.add_argument("--guv-src", help=f"a clone of {GUV_REPO} (else cloned into --work)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=float, default=60, help="seconds a test of psycopg2's may take")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    start = time.monotonic()
    pythons = [p.partition("=") for p in args.python or [sys.executable + "=" + os.environ.get("PYTHONPATH", "")]]
    src = fetch_psycopg2(pythons[0][0], args.work)
    missing, guv_src, tests = None, None, None
    try:
        guv_src = original_guv(args.work, args.guv_src)
    except (OSError, subprocess.SubprocessError) as e:
        missing = f"not run: no clone of {GUV_REPO} at {GUV_COMMIT[:12]} ({e}); give one with --guv-src"
    else:
        tests = fetch_guv_tests(args.work, guv_src)
    runs = []
    for python, _, path in pythons:
        env = dict(os.environ, PYTHONPATH=path)
        version, psycopg2_version = subprocess.run(
            [python, "-c", "import sys, psycopg2; print(sys.version.split()[0], psycopg2.__version__.split()[0])"],
            env=env, stdout=subprocess.PIPE, text=True, check=True).stdout.split()
        work = os.path.join(args.work, version)
        os.makedirs(work, exist_ok=True)
        run = {"version": version, "psycopg2": psycopg2_version, "guv": {},
               "pg": run_psycopg2(python, env, src, work, args.timeout)}
        if tests is not None:
            run["guv"]["tests as written (gnu.org:80, 192.0.0.0:1000)"], run["guv_from"] = run_guv_tests(
                python, env, tests, work, local=False)
            run["guv"]["tests, local stand-ins for both addresses"], _ = run_guv_tests(python, env, tests, work, True)
            run["guv"]["README.rst's examples"] = run_guv_readme(python, env, guv_src, work)
        runs.append(run)
    text = report(runs, missing, time.monotonic() - start)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    if missing:
        sys.exit(missing)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child-psycopg2"]:
        child_psycopg2(*sys.argv[2:7])
    else:
        main()
