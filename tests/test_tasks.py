"""checks.tasks: fan-outs on reused threads, with ThreadPoolExecutor's behaviour (bounds, order, errors,
cancellation, nesting)."""

from __future__ import annotations

import threading
import time

import pytest

from checks.tasks import POOL_THREADS, Tasks


def test_max_workers_bounds_a_group_and_map_keeps_the_order() -> None:
    running, peak, lock = [0], [0], threading.Lock()

    def work(i: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return i * i

    with Tasks(max_workers=3) as pool:
        assert list(pool.map(work, range(20))) == [i * i for i in range(20)]
    assert peak[0] == 3


def test_errors_reach_the_caller_and_the_block_waits_for_every_task() -> None:
    done: list[int] = []

    def slow(i: int) -> None:
        time.sleep(0.05)
        done.append(i)

    def broken() -> None:
        raise ValueError("no such bucket")

    with Tasks(max_workers=2) as pool:
        failed = pool.submit(broken)
        for i in range(4):
            pool.submit(slow, i)
    assert sorted(done) == [0, 1, 2, 3]  # leaving the block waited
    with pytest.raises(ValueError, match="no such bucket"):
        failed.result()
    with pytest.raises(RuntimeError):
        pool.submit(slow, 9)


def test_cancel_drops_the_queued_tasks_and_leaves_the_running_ones() -> None:
    release = threading.Event()
    ran: list[int] = []

    def task(i: int) -> int:
        release.wait(5)
        ran.append(i)
        return i

    pool = Tasks(max_workers=1)
    futures = [pool.submit(task, i) for i in range(5)]
    pool.shutdown(wait=False, cancel_futures=True)
    release.set()
    assert futures[0].result(5) == 0
    assert all(f.cancelled() for f in futures[1:])
    time.sleep(0.05)
    assert ran == [0]


def test_groups_nest_and_reuse_the_same_threads() -> None:
    """Fan-outs inside fan-outs finish (no thread starvation), and a second refresh starts no new thread."""
    def inner(i: int) -> str:
        return threading.current_thread().name

    def outer(i: int) -> list[str]:
        with Tasks(max_workers=8) as pool:
            return list(pool.map(inner, range(8)))

    def refresh() -> set[str]:
        with Tasks(max_workers=6) as pool:
            return {name for names in pool.map(outer, range(6)) for name in names}

    names = set()
    for _ in range(10):  # 10 × 54 tasks: one executor per fan-out would have started 540 threads
        names |= refresh()
    assert all(name.startswith("clusterdeck_") for name in names)
    assert max(int(name.rpartition("_")[2]) for name in names) < POOL_THREADS  # never more threads than that
