"""Many green threads at once, and nothing left behind by repeated rounds."""
import gc
import os
import random
import traceback

import guv

N = 10_000


def _raise_at(depth, tag):
    if depth:
        return _raise_at(depth - 1, tag)
    raise LookupError(tag)


def _worker(i):
    guv.sleep(random.random() * 0.05)
    try:
        _raise_at(i % 7, i)
    except LookupError as e:
        caught = e
    guv.sleep(0)
    # The traceback still names this green thread's own frames after switches.
    names = [f.name for f in traceback.extract_tb(caught.__traceback__)]
    assert names == ["_worker"] + ["_raise_at"] * (i % 7 + 1), names
    assert caught.args == (i,)
    if i % 2:
        raise KeyError(i)
    return i


def test_ten_thousand_green_threads_sleep_raise_and_catch():
    gts = [guv.spawn(_worker, i) for i in range(N)]
    assert guv._core.count() >= N // 2  # they really are alive at once
    odd = 0
    for i, gt in enumerate(gts):
        if i % 2:
            try:
                gt.wait()
            except KeyError as e:
                assert e.args == (i,)
                assert traceback.extract_tb(e.__traceback__)[-1].name == "_worker"
                odd += 1
        else:
            assert gt.wait() == i
    assert odd == N // 2


def _rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _round():
    def job(i):
        guv.sleep(0)
        try:
            raise ValueError(i)
        except ValueError:
            guv.sleep(0)
        if i % 3 == 0:
            raise RuntimeError(i)
        return [i] * 10

    gts = [guv.spawn(job, i) for i in range(2000)]
    for gt in gts:
        try:
            gt.wait()
        except RuntimeError:
            pass
    ev = guv.event.Event()
    waiters = [guv.spawn(ev.wait) for _ in range(200)]
    guv.sleep(0)
    ev.send(1)
    for w in waiters:
        w.wait()
    with guv.Timeout(0.001, False):
        guv.sleep(1)


def test_repeated_rounds_leak_neither_memory_nor_objects():
    for _ in range(3):  # warm up pools, arenas and caches
        _round()
    gc.collect()
    rss0, objs0 = _rss_kib(), len(gc.get_objects())
    for _ in range(10):
        _round()
    gc.collect()
    rss1, objs1 = _rss_kib(), len(gc.get_objects())
    # 10 rounds x 2,200 green threads: a leak of one object or one
    # PyThreadState per green thread would show as 22,000 objects or MiBs.
    assert objs1 - objs0 < 500, (objs0, objs1)
    assert rss1 - rss0 < 4096, (rss0, rss1)
    assert guv._core.count() == 0
