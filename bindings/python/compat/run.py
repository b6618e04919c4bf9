"""CPython's own tests under guv.monkey_patch(), counted.

    python run.py --python /path/to/python3.11 --timeout 60 --out results.md test_queue test_thread ...

Each module runs in a process of its own (regrtest_patched.py: patch, then
test.libregrtest, verbose, each test limited to --timeout seconds). The tests
excluded.py names (each with its reason) are not run and are counted as
excluded. A test that hangs ends that process: it is counted as a hang, and
the module runs again with it and every test already counted ignored, so the
rest still count. The counts, per module, are appended to --out as a
markdown table row."""
import argparse
import fnmatch
import os
import re
import subprocess
import time

from excluded import EXCLUDED

HERE = os.path.dirname(os.path.abspath(__file__))
# "test_x (test.test_mod.Class.test_x) ... ok" (3.11+); the verdict may come on a later line
# when the test prints.
TEST_LINE = re.compile(r"^(\w+) \(([\w.]+)\)(?: \.\.\. (.*))?$")
VERDICTS = {"ok": "passed", "FAIL": "failed", "ERROR": "errors", "expected failure": "passed",
            "unexpected success": "failed"}
MAX_RERUNS = 20


def verdict_of(text):
    text = text.strip()
    if text.startswith("skipped"):
        return "skipped"
    return VERDICTS.get(text)


def excluded_cases(python, module, env):
    """{test id: reason} for this CPython's tests of `module` that EXCLUDED names."""
    cases = subprocess.run([python, os.path.join(HERE, "regrtest_patched.py"), module, "--list-cases"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=300, env=env,
                           cwd=env.get("TMPDIR", "/tmp")).stdout.split()
    return {case: reason for case in cases for pattern, reason in EXCLUDED.items()
            if fnmatch.fnmatchcase(case, pattern)}


def run_module(python, module, timeout, env, logs=None):
    """Runs `module` without its excluded tests; after a hang, runs it again
    with every test already seen (and the hung one) ignored, adding up the
    counts."""
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "hangs": 0, "ended": 0}
    failing, hung, ended = [], [], []
    excluded = excluded_cases(python, module, env)
    seen = list(excluded)
    start = time.monotonic()
    ignorefile = os.path.join(env.get("TMPDIR", "/tmp"), f"compat-ignore-{os.getpid()}-{module}")
    for run in range(MAX_RERUNS):
        # network: loopback servers (test_socketserver runs only with it).
        # libregrtest's own --timeout is for the whole file: a module that
        # takes longer than that on a loaded machine looked like a hang.
        cmd = [python, os.path.join(HERE, "regrtest_patched.py"), "--test-timeout", str(timeout), module, "-v",
               "-u", "network"]
        if seen:
            with open(ignorefile, "w") as f:
                f.writelines(t + "\n" for t in seen)
            cmd += ["--ignorefile", ignorefile]
        try:
            out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 timeout=timeout * 40, env=env, cwd=env.get("TMPDIR", "/tmp")).stdout
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace") + "\nTimeout (whole module)!\n"
        if logs:
            with open(os.path.join(logs, f"{module}-{run}.log"), "w") as f:
                f.write(out)
        pending = None
        for line in out.splitlines():
            m = TEST_LINE.match(line)
            if m:
                pending = m.group(2)
                line = m.group(3) or ""
            if pending is None:
                continue
            if "Timeout (" in line:
                break
            v = verdict_of(line)
            if v:
                counts[v] += 1
                seen.append(pending)
                if v in ("failed", "errors"):
                    failing.append(f"{pending} ({line.strip()})")
                pending = None
        if "Timeout (" in out and pending is not None:
            hung.append(pending)
            seen.append(pending)
            continue
        if "Tests result:" not in out:
            # The process ended with no result (a crash, or a fork's child that returned
            # into the runner): counted against the test it was in, then on without it.
            ended.append(pending or f"after {seen[-1] if seen else 'start'}")
            if pending:
                seen.append(pending)
            if out.count("\n") > 0 and (pending or seen):
                continue
        break
    if os.path.exists(ignorefile):
        os.unlink(ignorefile)
    counts["hangs"], counts["ended"] = len(hung), len(ended)
    hung = hung + [f"{t} (process ended)" for t in ended]
    counts["seconds"] = time.monotonic() - start
    counts["excluded"] = len(excluded)
    return counts, failing, hung, excluded


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", required=True)
    ap.add_argument("--timeout", type=int, default=60, help="seconds a test may take before it counts as a hang")
    ap.add_argument("--out", required=True)
    ap.add_argument("--logs", help="directory for each run's whole output (a hang's traceback is there)")
    ap.add_argument("--expect-clean", action="store_true",
                    help="exit 1 unless every test passed or was skipped (no failure, error or hang)")
    ap.add_argument("modules", nargs="+")
    args = ap.parse_args()
    clean = True
    env = dict(os.environ)
    version = subprocess.run([args.python, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    for module in args.modules:
        counts, failing, hung, excluded = run_module(args.python, module, args.timeout, env, args.logs)
        clean = clean and not failing and not hung and counts["passed"] > 0
        total = sum(counts[k] for k in ("passed", "failed", "errors", "skipped", "excluded", "hangs", "ended"))
        row = (f"| {version} | {module} | {total} | {counts['passed']} | {counts['failed']} | {counts['errors']} | "
               f"{counts['skipped']} | {counts['excluded']} | {counts['hangs']} | {counts['ended']} | "
               f"{counts['seconds']:.0f} s |")
        print(row, flush=True)
        for name in hung:
            print(f"    hang: {name}")
        for name in failing:
            print(f"    not passed: {name}")
        for name in excluded:
            print(f"    excluded: {name}")
        with open(args.out, "a") as f:
            f.write(row + "\n")
            f.writelines(f"<!-- hang: {n} -->\n" for n in hung)
            f.writelines(f"<!-- not passed: {n} -->\n" for n in failing)
            f.writelines(f"<!-- excluded: {n} -->\n" for n in excluded)
    if args.expect_clean and not clean:
        raise SystemExit("compat: a module expected clean was not (see above)")


if __name__ == "__main__":
    main()
