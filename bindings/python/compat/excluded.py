"""CPython's tests that cannot end under monkey_patch(), and why: run.py does
not run them (a hang would cost the per-test timeout and a new process) and
counts them as excluded. Each is a pattern (fnmatch, on the test's id) and
its reason; README.md says the same. `python excluded.py` prints the list
as markdown."""

# Green threads share one OS thread and are switched only when one blocks:
# a thread that waits for another by spinning never lets it run.
SPINS = ("spins until another thread has run (`{loop}`); green threads share one OS thread and "
         "switch only when one blocks, so the other never runs (no preemption)")

EXCLUDED = {
    "test.test_threading.InterruptMainTests.test_can_interrupt_tight_loops":
        SPINS.format(loop="while not started[0]: pass"),
    "test.test_queue.*.test_shutdown_all_methods_in_many_threads":
        SPINS.format(loop="while True: q.get(False) ... except Empty: pass"),
    "test.test_queue.*.test_shutdown_immediate_all_methods_in_many_threads":
        SPINS.format(loop="while True: q.get(False) ... except Empty: pass"),
    "test.test_socket.ThreadedVSOCKSocketStreamTest.testStream":
        "hangs without guv too on these machines (a VM guest whose VSOCK connect to its own CID never "
        "completes)",
}


def main():
    for pattern, reason in EXCLUDED.items():
        print(f"- `{pattern}`: {reason}.")


if __name__ == "__main__":
    main()
