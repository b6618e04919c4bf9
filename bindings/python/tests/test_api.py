"""The eventlet-style API: green threads, Timeout, trampoline, Event,
Queue, Semaphore, GreenPool, GreenPile."""
import socket
import time

import pytest

import guv
from guv import event, queue, semaphore


def test_spawn_wait_returns_result_with_args_and_kwargs():
    assert guv.spawn(lambda a, b=0: a + b, 2, b=3).wait() == 5


def test_wait_reraises_with_the_green_threads_traceback():
    def fail():
        guv.sleep(0)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom") as info:
        guv.spawn(fail).wait()
    assert info.traceback[-1].name == "fail"


def test_dead_and_bool():
    gt = guv.spawn(guv.sleep, 0.01)
    assert not gt.dead and gt
    gt.wait()
    assert gt.dead and not gt


def test_kill_raises_greenletexit_in_the_sleeper_and_wait_reports_it():
    cleaned = []

    def sleeper():
        try:
            guv.sleep(10)
        finally:
            cleaned.append(True)

    gt = guv.spawn(sleeper)
    guv.sleep(0.01)
    start = time.monotonic()
    guv.kill(gt)
    assert time.monotonic() - start < 1
    assert gt.dead and cleaned == [True]
    with pytest.raises(guv.GreenletExit):
        gt.wait()


def test_kill_before_start_never_runs_the_function():
    ran = []
    gt = guv.spawn(ran.append, 1)
    gt.kill()
    assert gt.dead and ran == []


def test_spawn_after_and_cancel():
    ran = []
    start = time.monotonic()
    late = guv.spawn_after(0.05, lambda: ran.append(time.monotonic() - start) or "late")
    never = guv.spawn_after(0.05, ran.append, "never")
    never.cancel()
    assert late.wait() == "late"
    assert len(ran) == 1 and ran[0] >= 0.05


def test_spawn_n_runs_and_reports_exceptions(capfd):
    box = []
    guv.spawn_n(box.append, 1)
    guv.spawn_n(lambda: 1 / 0)
    guv.sleep(0.01)
    assert box == [1]
    assert "ZeroDivisionError" in capfd.readouterr().err


def test_getcurrent():
    assert guv.getcurrent().id == 0
    gt = guv.spawn(guv.getcurrent)
    assert gt.wait() is gt


def test_link_called_at_end():
    seen = []
    gt = guv.spawn(lambda: 4)
    gt.link(lambda g, extra: seen.append((g.wait(), extra)), "x")
    gt.wait()
    assert seen == [(4, "x")]


def test_sleep_really_lets_others_run():
    order = []

    def a():
        order.append("a1")
        guv.sleep(0.02)
        order.append("a2")

    def b():
        order.append("b1")
        guv.sleep(0.01)
        order.append("b2")

    ga, gb = guv.spawn(a), guv.spawn(b)
    ga.wait(), gb.wait()
    assert order == ["a1", "b1", "b2", "a2"]


def test_sleep_from_main_takes_as_long_as_asked():
    start = time.monotonic()
    guv.sleep(0.05)
    assert 0.05 <= time.monotonic() - start < 1


# ---- Timeout ----

def test_timeout_raises_itself_in_a_blocking_call():
    start = time.monotonic()
    with pytest.raises(guv.Timeout) as info:
        with guv.Timeout(0.05) as t:
            guv.sleep(5)
    assert info.value is t
    assert time.monotonic() - start < 1


def test_timeout_exception_false_ends_block_quietly():
    with guv.Timeout(0.02, False):
        guv.sleep(5)
        pytest.fail("not reached")


def test_timeout_custom_exception():
    with pytest.raises(KeyError):
        with guv.Timeout(0.02, KeyError("late")):
            guv.sleep(5)


def test_timeout_not_reached_does_not_fire_later():
    with guv.Timeout(0.05):
        guv.sleep(0.001)
    guv.sleep(0.1)  # no Timeout once the block has ended


def test_nested_timeouts_inner_first_and_outer_first():
    outer = guv.Timeout(5)
    with pytest.raises(guv.Timeout) as info:
        with outer:
            with guv.Timeout(0.02) as inner:
                guv.sleep(1)
    assert info.value is inner

    with pytest.raises(guv.Timeout) as info:
        with guv.Timeout(0.02) as outer:
            with guv.Timeout(5):
                guv.sleep(1)
    assert info.value is outer


def test_cancel_out_of_order_keeps_the_other_deadline():
    a = guv.Timeout(0.05)
    b = guv.Timeout(5)
    a.cancel()  # not the innermost: b must still be open, a gone
    start = time.monotonic()
    guv.sleep(0.1)
    b.cancel()
    assert time.monotonic() - start >= 0.1


def test_timeout_bounds_wait_on_green_thread_and_event():
    gt = guv.spawn(guv.sleep, 5)
    with pytest.raises(guv.Timeout):
        with guv.Timeout(0.02):
            gt.wait()
    gt.kill()

    def waiter():
        with guv.Timeout(0.02, False):
            event.Event().wait()
            return "woken"
        return "timed out"

    assert guv.spawn(waiter).wait() == "timed out"


def test_with_timeout():
    assert guv.with_timeout(0.02, guv.sleep, 1, timeout_value="gave up") == "gave up"
    assert guv.with_timeout(1, lambda: 3) == 3


# ---- trampoline ----

def test_trampoline_read_write_and_fileno_objects():
    a, b = socket.socketpair()
    try:
        assert guv.trampoline(a, guv.WRITE) == guv.WRITE

        def reader():
            ready = guv.trampoline(b.fileno(), guv.READ)
            return ready, b.recv(10)

        gt = guv.spawn(reader)
        guv.sleep(0.01)
        assert not gt.dead  # still waiting: nothing written yet
        a.send(b"hi")
        assert gt.wait() == (guv.READ, b"hi")
        a.send(b"x")
        assert guv.trampoline(b, guv.READ | guv.WRITE) == guv.READ | guv.WRITE
    finally:
        a.close(), b.close()


def test_trampoline_timeout_raises_timeout_exc():
    a, b = socket.socketpair()
    try:
        start = time.monotonic()
        with pytest.raises(guv.Timeout):
            guv.trampoline(b, guv.READ, timeout=0.03)
        assert 0.03 <= time.monotonic() - start < 1
        with pytest.raises(ConnectionError):
            guv.trampoline(b, guv.READ, timeout=0.01, timeout_exc=ConnectionError)
    finally:
        a.close(), b.close()


def test_trampoline_bad_fd_is_oserror():
    with pytest.raises(OSError):
        guv.trampoline(-1, guv.READ)


# ---- Event, Queue, Semaphore ----

def test_event_wakes_every_waiter_with_value_or_exception():
    ev = event.Event()
    gts = [guv.spawn(ev.wait) for _ in range(5)]
    guv.sleep(0.01)
    assert not any(gt.dead for gt in gts)
    ev.send("v")
    assert [gt.wait() for gt in gts] == ["v"] * 5
    with pytest.raises(AssertionError):
        ev.send("again")
    ev2 = event.Event()
    gt = guv.spawn(ev2.wait)
    ev2.send_exception(KeyError("k"))
    with pytest.raises(KeyError):
        gt.wait()
    assert event.Event().wait(timeout=0.01) is None


def test_event_wait_0_lets_the_sender_run():
    ev = event.Event()
    guv.spawn(ev.send, "v")
    assert ev.wait(0) == "v"


def test_queue_hands_items_in_order_and_blocks_putters_when_full():
    q = queue.Queue(2)
    got = []

    def consumer():
        for _ in range(6):
            got.append(q.get())
            guv.sleep(0)

    c = guv.spawn(consumer)
    for i in range(6):
        q.put(i)
        assert q.qsize() <= 2
    c.wait()
    assert got == list(range(6))
    with pytest.raises(queue.Empty):
        q.get_nowait()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)
    q.put(1), q.put(2)
    with pytest.raises(queue.Full):
        q.put(3, timeout=0.01)


def test_queue_join_waits_for_task_done():
    q = queue.Queue()
    done = []

    def worker():
        while True:
            item = q.get()
            guv.sleep(0.001)
            done.append(item)
            q.task_done()

    w = guv.spawn(worker)
    for i in range(5):
        q.put(i)
    q.join()
    assert done == list(range(5))
    w.kill()


def test_semaphore_bounds_concurrency():
    sem = semaphore.Semaphore(3)
    running, peak = [0], [0]

    def job():
        with sem:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            guv.sleep(0.005)
            running[0] -= 1

    for gt in [guv.spawn(job) for _ in range(12)]:
        gt.wait()
    assert peak[0] == 3
    assert sem.counter == 3
    sem2 = semaphore.Semaphore(0)
    assert sem2.acquire(blocking=False) is False
    assert sem2.acquire(timeout=0.01) is False
    with pytest.raises(ValueError):
        semaphore.BoundedSemaphore(1).release()


# ---- GreenPool, GreenPile ----

def test_greenpool_limits_and_imap_keeps_order():
    pool = guv.GreenPool(4)
    active, peak = [0], [0]

    def work(x):
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        guv.sleep(0.001 * (x % 3))
        active[0] -= 1
        return x * x

    assert list(pool.imap(work, range(20))) == [x * x for x in range(20)]
    assert peak[0] == 4
    for i in range(10):
        pool.spawn(work, i)
    assert pool.running() <= 4
    pool.waitall()
    assert pool.running() == 0 and pool.free() == 4


def test_greenpile_results_in_spawn_order_and_errors_at_their_turn():
    pile = guv.GreenPile(10)
    for d in (0.03, 0.01, 0.02):
        pile.spawn(lambda d: guv.sleep(d) or d, d)
    pile.spawn(lambda: 1 / 0)
    it = iter(pile)
    assert [next(it), next(it), next(it)] == [0.03, 0.01, 0.02]
    with pytest.raises(ZeroDivisionError):
        next(it)


def test_run_returns_when_all_green_threads_ended():
    done = []
    for i in range(10):
        guv.spawn(lambda i: guv.sleep(0.001 * i) or done.append(i), i)
    guv.run()
    assert sorted(done) == list(range(10))


def test_kill_with_a_given_exception():
    def victim():
        try:
            guv.sleep(10)
        except KeyError as e:
            return f"caught {e.args[0]}"

    gt = guv.spawn(victim)
    guv.sleep(0.01)
    guv.kill(gt, KeyError("stop"))
    assert gt.wait() == "caught stop"

    gt = guv.spawn(guv.sleep, 10)
    guv.sleep(0)
    gt.kill(ValueError, "bad")
    with pytest.raises(ValueError, match="bad"):
        gt.wait()


def test_kill_does_not_raise_the_targets_own_error():
    def stubborn():
        try:
            guv.sleep(10)
        finally:
            raise RuntimeError("cleanup failed")

    gt = guv.spawn(stubborn)
    guv.sleep(0.01)
    guv.kill(gt)  # the target's RuntimeError stays with it
    with pytest.raises(RuntimeError):
        gt.wait()


def test_a_killed_waiter_passes_its_wake_up_on():
    sem = semaphore.Semaphore(0)
    first = guv.spawn(sem.acquire)
    second = guv.spawn(sem.acquire)
    guv.sleep(0.01)
    sem.release()        # wakes `first`...
    guv.kill(first)      # ...which is killed before it takes the unit
    assert second.wait() is True

    q = queue.Queue()
    first = guv.spawn(q.get)
    second = guv.spawn(q.get)
    guv.sleep(0.01)
    q.put("item")
    guv.kill(first)
    assert second.wait() == "item"
