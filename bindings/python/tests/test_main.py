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
    # The sleep is main's first blocking call, right after import with nothing spawned: import
    # takes no signal wakeup fd, so the sleep must take it before it waits.
    src = """
import time, guv
for what in ("sleep", "run"):
    if what == "run":
        guv.spawn(guv.sleep, 2)
    start = time.monotonic()
    try:
        print("ready", flush=True)
        guv.run() if what == "run" else guv.sleep(2)
        print(what, "ended after %.2f" % (time.monotonic() - start), flush=True)
    except KeyboardInterrupt:
        print(what, "interrupted after %.2f" % (time.monotonic() - start), flush=True)
"""
    p = subprocess.Popen([sys.executable, "-c", src], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for _ in range(2):
            assert p.stdout.readline() == "ready\n"
            time.sleep(0.3)
            p.send_signal(signal.SIGINT)
            lines.append(p.stdout.readline().split())
        _, err = p.communicate(timeout=20)
    finally:
        p.kill()
    assert p.returncode == 0 and err == "", err
    assert [line[:2] for line in lines] == [["sleep", "interrupted"], ["run", "interrupted"]], lines
    # Sent 0.3 s after "ready"; uninterrupted, each would end at 2 s.
    assert all(0.3 <= float(line[-1]) < 1.5 for line in lines), lines


def test_a_programs_own_wakeup_fd_is_left_alone(script):
    # Set before or after import guv, but before main first waits in the hub.
    for first in ("import guv", "pass"):
        r = script(f"""
            import signal, socket
            {first}
            a, b = socket.socketpair()
            a.setblocking(False)
            assert signal.set_wakeup_fd(a.fileno()) == -1
            import guv
            guv.sleep(0)
            assert signal.set_wakeup_fd(-1) == a.fileno()
        """)
        assert r.returncode == 0, (first, r.stderr)


def test_a_forked_child_gets_a_wakeup_pipe_of_its_own(script):
    # The parent's watcher thread would drain the child's signals from a shared pipe, and the
    # child, which has no watcher yet, would sleep through Ctrl-C. A child of a parent that
    # never waited in the hub takes its own at its first wait, as any program does.
    r = script("""
        import os, signal, time, guv

        def wakeup_fd():
            fd = signal.set_wakeup_fd(-1)
            if fd != -1:
                signal.set_wakeup_fd(fd, warn_on_full_buffer=False)
            return fd

        pid = os.fork()
        if pid == 0:
            none = wakeup_fd()
            guv.sleep(0)
            os._exit(0 if none == -1 and wakeup_fd() != -1 else 4)
        print("child of a parent that never waited:", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))

        guv.sleep(0)
        parents = os.fstat(wakeup_fd()).st_ino
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            mine = os.fstat(wakeup_fd()).st_ino
            os.write(w, b"x")
            start = time.monotonic()
            try:
                guv.sleep(5)
                os._exit(2)
            except KeyboardInterrupt:
                os._exit(0 if mine != parents and time.monotonic() - start < 2 else 3)
        os.read(r, 1)
        time.sleep(0.3)
        os.kill(pid, signal.SIGINT)
        print("child interrupted:", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
    """, timeout=30)
    assert r.stdout == "child of a parent that never waited: 0\nchild interrupted: 0\n", (r.stdout, r.stderr)
