"""Main as a green thread: it blocks in guv's own calls, a deadlock raises
instead of hanging, and what green threads (or Ctrl-C) hand it over ends
whatever it waits in."""
import errno
import signal
import subprocess
import sys
import time

import pytest

import guv
from guv import event


def test_main_waiting_for_what_nothing_will_do_raises_edeadlk():
    start = time.monotonic()
    with pytest.raises(OSError) as info:
        event.Event().wait()
    assert info.value.errno == errno.EDEADLK
    assert time.monotonic() - start < 1


def test_run_raises_edeadlk_when_the_green_threads_wait_for_each_other():
    a_done, b_done = event.Event(), event.Event()
    a = guv.spawn(lambda: b_done.wait() or a_done.send())
    b = guv.spawn(lambda: a_done.wait() or b_done.send())
    with pytest.raises(OSError) as info:
        guv.run()
    assert info.value.errno == errno.EDEADLK
    assert not a.dead and not b.dead  # left suspended, as guv_run leaves them
    a.kill(), b.kill()
    assert a.dead and b.dead


def test_exit_handed_over_ends_mains_park():
    def bye():
        guv.sleep(0.01)
        raise SystemExit(3)

    guv.spawn(bye)
    with pytest.raises(SystemExit):
        event.Event().wait(timeout=10)


def test_exit_handed_over_while_main_yields_spares_its_next_sleep():
    # The interrupt meant for main finds it yielding, not blocked: main raises
    # the exception after the yield, and its next call must not end early.
    guv.spawn(lambda: (_ for _ in ()).throw(SystemExit(4)))
    with pytest.raises(SystemExit):
        guv.gyield()
    start = time.monotonic()
    guv.sleep(0.05)
    assert time.monotonic() - start >= 0.05


def test_ctrl_c_ends_guv_run_and_a_sleep_with_nothing_else_on_the_hub():
    src = """
import time, guv
for what in ("run", "sleep"):
    if what == "run":
        guv.spawn(guv.sleep, 30)
    print("ready", flush=True)
    start = time.monotonic()
    try:
        guv.run() if what == "run" else guv.sleep(30)
    except KeyboardInterrupt:
        print(what, "interrupted after %.2f" % (time.monotonic() - start), flush=True)
"""
    p = subprocess.Popen([sys.executable, "-c", src], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for _ in range(2):
            assert p.stdout.readline() == "ready\n"
            time.sleep(0.2)
            p.send_signal(signal.SIGINT)
            lines.append(p.stdout.readline().split())
        _, err = p.communicate(timeout=20)
    finally:
        p.kill()
    assert p.returncode == 0 and err == "", err
    assert [line[0] for line in lines] == ["run", "sleep"]
    assert all(float(line[-1]) < 5 for line in lines), lines
