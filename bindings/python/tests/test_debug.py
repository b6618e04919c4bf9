"""guv.debug: the blocking detector with Python stacks, and format_run_info."""
import os
import re
import subprocess
import sys
import textwrap


def test_blocking_time_sleep_is_reported_with_its_python_stack(tmp_path):
    # time.sleep without monkey_patch holds the hub: the report names the
    # green thread and shows the Python line that blocks. From a file, so
    # that the traceback can quote the line.
    path = tmp_path / "blocker.py"
    path.write_text(textwrap.dedent("""
        import time
        import guv, guv.debug

        def blocking_sleeper():
            time.sleep(0.5)

        ticks = []
        def ticker():
            for _ in range(5):
                guv.sleep(0.01)
                ticks.append(1)

        guv.debug.set_block_report(0.1)
        gt = guv.spawn(blocking_sleeper)
        guv.spawn(ticker)
        print(gt.id, flush=True)
        guv.sleep(0.8)
        time.sleep(0.3)  # no green thread left: not reported; the reporter finishes
        print(len(ticks), flush=True)
    """))
    # As `python -c` would, the script imports guv from the working directory.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")])))
    p = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    gid, ticks = p.stdout.split()
    assert ticks == "5"
    err = p.stderr
    assert f"guv: green thread {gid} has held hub " in err
    assert f"guv: Python stack of green thread {gid} (blocking_sleeper), blocking its hub" in err
    assert re.search(r'blocker\.py", line \d+, in blocking_sleeper\n\s+time\.sleep\(0\.5\)', err), err
    assert err.count("has held hub") == 1, err
    assert f"guv: green thread {gid} let hub " in err


def test_idle_hub_is_not_reported(script):
    p = script("""
        import guv, guv.debug
        guv.debug.set_block_report(0.2)
        guv.spawn(guv.sleep, 1.0)
        guv.sleep(1.1)
    """)
    assert p.returncode == 0, p.stderr
    assert "has held hub" not in p.stderr, p.stderr


def test_format_run_info_lists_states_and_stacks():
    import guv
    import guv.debug

    def napper():
        guv.sleep(5)

    gt = guv.spawn(napper)
    guv.sleep(0.01)
    lines = guv.debug.format_run_info()
    text = "\n".join(lines)
    assert lines[0].startswith("hub=")
    line = next(l for l in lines if l.startswith(f"  id={gt.id} "))
    assert " state=sleeping until=+" in line and line.endswith(".napper))"), line
    assert re.search(r'in napper\n\s+guv\.sleep\(5\)', text), text
    main = next(l for l in lines if l.startswith("  id=0 "))
    assert " state=running " in main
    assert "in test_format_run_info_lists_states_and_stacks" in text
    gt.kill()
