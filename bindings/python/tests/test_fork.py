"""fork() with green threads alive. As fork(2) copies only the calling OS
thread, the child keeps only the calling green thread: CPython frees every
other thread state in the child, so another green thread run there crashed
it (test_socketserver's ForkingTCPServer, on 3.13). The others must not run
in the child, the child must work (wait, sleep, spawn), and the parent must
be unaffected. Each program runs in a fresh interpreter; a crash in its
child shows as the status the program prints."""
import textwrap

import pytest

# Green threads of the parent, one of each kind of wait: a sleep, an Event,
# a socket read. Each writes to `ran` when it runs past its wait, which the
# child checks stays empty. `release()` ends the Event's and the socket's waits.
OTHERS = """
    import os, socket, sys, time, warnings
    import guv
    from guv.event import Event
    from guv.green import socket as gsocket
    warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads
    ran = []
    ev = Event()
    ga, gb = gsocket.socketpair()
    def sleeper():
        guv.sleep(0.2)
        ran.append("sleeper")
    def waiter():
        ev.wait()
        ran.append("waiter")
    def reader():
        ran.append("reader " + ga.recv(1).decode())
    others = [guv.spawn(f) for f in (sleeper, waiter, reader)]
    guv.sleep(0.01)
    def release():
        ev.send()
        gb.sendall(b"x")
    def parent_ends(pid):
        st = os.waitpid(pid, 0)[1]
        release()
        for gt in others:
            gt.wait()
        print(os.WEXITSTATUS(st) if os.WIFEXITED(st) else -os.WTERMSIG(st), sorted(ran))
"""
# What parent_ends prints: the child's exit status, and that the parent's
# green threads all ran.
PARENT_OK = "0 ['reader x', 'sleeper', 'waiter']\n"


def run(script, source, timeout=60):
    return script(textwrap.dedent(OTHERS) + textwrap.dedent(source), timeout=timeout)


def test_fork_from_main_leaves_the_other_green_threads_behind(script):
    r = run(script, """
        pid = os.fork()
        if pid == 0:
            try:
                release()                 # would wake the waiter and the reader
                guv.sleep(0.3)            # past the sleeper's time
                got = guv.spawn(lambda x: x * 2, 21).wait()
                c, d = gsocket.socketpair()
                guv.spawn(d.sendall, b"y")
                seen = c.recv(1)
                for gt in others:
                    gt.wait()             # gone: returns at once
                os._exit(0 if (ran, got, seen) == ([], 42, b"y") else 3)
            except BaseException as e:
                print("child:", repr(e), file=sys.stderr)
                os._exit(4)
        parent_ends(pid)
    """)
    assert (r.returncode, r.stdout) == (0, PARENT_OK), r.stderr


def test_fork_from_a_green_thread_keeps_only_it(script):
    """Main too stays behind in the child: it would print 'main in child'.
    The child ends with status 0 when its green threads have ended."""
    r = run(script, """
        result = []
        def forker():
            pid = os.fork()
            if pid:
                result.append(pid)
                return
            guv.sleep(0.3)
            helper = guv.spawn(lambda: (guv.sleep(0.05), ran.append("helper")))
            helper.wait()
            if ran != ["helper"]:
                os._exit(3)
            guv.spawn(lambda: (guv.sleep(0.1), sys.stdout.write("last\\n"), sys.stdout.flush()))
        guv.spawn(forker).wait()
        if not result:
            print("main in child")
            sys.stdout.flush()
            os._exit(5)
        parent_ends(result[0])
    """)
    assert (r.returncode, r.stdout) == (0, "last\n" + PARENT_OK), r.stderr


PATCHED = "import guv; guv.monkey_patch()\n"


def test_os_fork_under_monkey_patch_from_a_thread(script):
    """A forking server's way: a patched threading.Thread forks while others
    wait on sockets and on each other; the child uses sockets and threads."""
    r = script(PATCHED + textwrap.dedent("""
        import os, socket, sys, threading, time, warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        ran = []
        a, b = socket.socketpair()
        t1 = threading.Thread(target=lambda: ran.append(a.recv(1)))
        t2 = threading.Thread(target=lambda: (time.sleep(0.2), ran.append("slept")))
        t1.start(); t2.start()
        out = []
        def forker():
            pid = os.fork()
            if pid == 0:
                b.sendall(b"c")
                time.sleep(0.3)
                box = []
                t = threading.Thread(target=lambda: box.append(threading.current_thread().name))
                t.start(); t.join()
                t1.join(); t2.join()      # stopped in the child, as CPython's
                os._exit(0 if ran == [] and box else 3)
            out.append(os.waitpid(pid, 0)[1])
        t3 = threading.Thread(target=forker)
        t3.start(); t3.join()
        t1.join(); t2.join()
        print(out, ran)
    """), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "[0] [b'c', 'slept']\n", r.stderr


def test_subprocess_with_preexec_fn_while_green_threads_wait(script):
    """The child runs preexec_fn (a green sleep: the child's hub) before exec."""
    r = script(PATCHED + textwrap.dedent("""
        import subprocess, sys, threading, time
        ticks = []
        def ticker():
            for _ in range(20):
                time.sleep(0.01)
                ticks.append(1)
        t = threading.Thread(target=ticker)
        t.start()
        outs = [subprocess.run([sys.executable, "-c", "print('hi')"], capture_output=True, text=True,
                               preexec_fn=lambda: time.sleep(0.05)).stdout for _ in range(3)]
        t.join()
        print(outs, len(ticks))
    """), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "['hi\\n', 'hi\\n', 'hi\\n'] 20\n", r.stderr


def test_multiprocessing_fork_start_method(script):
    r = script(PATCHED + textwrap.dedent("""
        import multiprocessing, threading, time, warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        def work(q):
            time.sleep(0.05)
            q.put(threading.current_thread().name)
        busy = threading.Thread(target=time.sleep, args=(0.5,))
        busy.start()
        ctx = multiprocessing.get_context("fork")
        q = ctx.Queue()
        ps = [ctx.Process(target=work, args=(q,)) for _ in range(3)]
        for p in ps: p.start()
        got = sorted(q.get(timeout=20) for _ in ps)
        for p in ps: p.join()
        busy.join()
        print(len(got), [p.exitcode for p in ps])
    """), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "3 [0, 0, 0]\n", r.stderr


@pytest.mark.parametrize("run_", range(5))
def test_forking_server_child_handles_its_request_only(script, run_):
    """test_socketserver's ForkingTCPServer, which crashed on 3.13."""
    r = script(PATCHED + textwrap.dedent("""
        import socket, socketserver, threading, warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        class Echo(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(self.rfile.readline())
        with socketserver.ForkingTCPServer(("127.0.0.1", 0), Echo) as srv:
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01})
            t.start()
            def client(i):
                with socket.create_connection(srv.server_address) as s:
                    s.sendall(b"%d\\n" % i)
                    return s.makefile().readline()
            got = []
            cs = [threading.Thread(target=lambda i=i: got.append(client(i))) for i in range(5)]
            for c in cs: c.start()
            for c in cs: c.join()
            srv.shutdown()
            t.join()
        print(sorted(got))
    """), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "['0\\n', '1\\n', '2\\n', '3\\n', '4\\n']\n", r.stderr


def test_signal_handler_runs_in_a_child_forked_from_a_green_thread(script):
    """CPython runs handlers on its main thread, which in such a child is the
    forking green thread's state."""
    r = script("""
        import os, signal, warnings
        import guv
        warnings.simplefilter("ignore", DeprecationWarning)
        got = []
        signal.signal(signal.SIGUSR1, lambda *a: got.append(1))
        def forker():
            pid = os.fork()
            if pid == 0:
                os.kill(os.getpid(), signal.SIGUSR1)
                guv.sleep(0.05)
                os._exit(0 if got == [1] else 3)
            print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
        guv.spawn(guv.sleep, 1)
        guv.spawn(forker).wait()
    """, timeout=30)
    assert (r.returncode, r.stdout) == (0, "0\n"), r.stderr
