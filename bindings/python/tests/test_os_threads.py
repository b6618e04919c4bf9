"""Green locks and events released from a real OS thread wake a green
waiter on another hub (guv_hub_unpark), and the waiter's hub is held
meanwhile instead of reporting a deadlock."""
import threading
import time
import weakref

import pytest

import guv
from guv import event
from guv.green import thread as green_thread


def test_os_thread_releasing_a_green_lock_wakes_its_green_waiter():
    lock = green_thread.allocate_lock()
    lock.acquire()
    got = []

    def waiter():
        got.append(lock.acquire(timeout=5))

    gt = guv.spawn(waiter)
    guv.sleep(0.01)  # the waiter is parked on the lock
    releaser = threading.Thread(target=lambda: (time.sleep(0.05), lock.release()))
    start = time.monotonic()
    releaser.start()
    gt.wait()
    releaser.join()
    assert got == [True]
    assert time.monotonic() - start < 1


def test_main_waiting_for_an_event_an_os_thread_sets_is_woken_not_deadlocked():
    done = event.Event()
    setter = threading.Thread(target=lambda: (time.sleep(0.05), done.send("from os thread")))
    start = time.monotonic()
    setter.start()
    assert done.wait() == "from os thread"  # no timeout: only the OS thread can end it
    assert time.monotonic() - start < 1
    setter.join()


def test_os_thread_waiting_on_a_green_lock_is_woken_by_a_green_release():
    lock = green_thread.allocate_lock()
    lock.acquire()
    got = []
    taker = threading.Thread(target=lambda: got.append(lock.acquire(timeout=5)))
    taker.start()
    guv.spawn(lambda: (guv.sleep(0.05), lock.release())).wait()
    taker.join(5)
    assert got == [True]


@pytest.mark.parametrize("spawn", [guv.spawn, guv.spawn_n])
def test_green_thread_never_started_is_released_when_its_os_thread_exits(spawn):
    # A green thread spawned on an OS thread that exits without running its
    # hub never runs: what it would have run with is released there, not leaked.
    class Marker:
        pass

    arg = Marker()
    gone = threading.Event()
    weakref.finalize(arg, gone.set)
    spawner = threading.Thread(target=lambda f, a: (spawn(f, a), None), args=(lambda _: None, arg))
    del arg
    spawner.start()
    # join() returns once Python is done with the thread, before the OS
    # thread exits and its hub goes: wait for that.
    assert gone.wait(5)
