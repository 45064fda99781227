"""Parallel reads on reused threads: `Tasks` is a ThreadPoolExecutor for one fan-out, minus its threads.

Every fetch fans its independent reads out (the Overview probes six systems, each pane reads its sources at
once, the IAM snapshot reads each user's keys…). Made with one ThreadPoolExecutor per fan-out, a full refresh
started and stopped ~40 threads, and their start-up and hand-offs under the GIL were about a sixth of its CPU
(py-spy on the lab). A `Tasks` group keeps the executor's interface and its `max_workers` bound, and runs on
one process-wide pool of threads that stay: a finished task's thread takes the group's next queued task.

Groups nest (a fan-out inside a task of another one) without running out of threads: only the tasks that
wait for others hold a thread while waiting, and there are a few of those, far fewer than `POOL_THREADS`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as _wait
from typing import Any

POOL_THREADS = 64
"""Threads of the shared pool (made as needed, then kept)."""

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()

_Item = tuple[Future, Callable[..., Any], tuple[Any, ...], dict[str, Any]]


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="clusterdeck")
        return _POOL


class Tasks:
    """`with Tasks(max_workers=8) as pool: pool.submit(fn, …) / pool.map(fn, items)`, as with a
    ThreadPoolExecutor: at most `max_workers` of this group's tasks run at once, the others wait in order;
    leaving the block waits for all of them. `shutdown(wait=False, cancel_futures=True)` drops those not
    started and leaves the running ones to finish on their own."""

    def __init__(self, max_workers: int | None = None, thread_name_prefix: str = "") -> None:
        self._limit = max(1, max_workers or POOL_THREADS)
        self._lock = threading.Lock()
        self._running = 0
        self._queue: deque[_Item] = deque()
        self._futures: list[Future] = []
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        item = (future, fn, args, kwargs)
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new tasks after shutdown")
            self._futures.append(future)
            start = self._running < self._limit
            if start:
                self._running += 1
            else:
                self._queue.append(item)
        if start:
            self._start(item)
        return future

    def _start(self, item: _Item) -> None:
        try:
            _pool().submit(self._drain, item)
        except RuntimeError:  # the interpreter is shutting down: the pool takes nothing new
            threading.Thread(target=self._drain, args=(item,), daemon=True).start()

    def _drain(self, item: _Item | None) -> None:
        """Run `item`, then this group's queued tasks one after another, on this thread."""
        while item is not None:
            future, fn, args, kwargs = item
            item = None
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
                    future.set_exception(exc)
            del future, fn, args, kwargs  # an idle pool thread keeps no answer alive
            with self._lock:
                item = self._queue.popleft() if self._queue else None
                if item is None:
                    self._running -= 1

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
        """Results in the order of the arguments; leaving the iteration early cancels those not started."""
        futures = [self.submit(fn, *args) for args in zip(*iterables)]

        def results() -> Iterator[Any]:
            try:
                for future in futures:
                    yield future.result()
            finally:
                for future in futures:
                    future.cancel()

        return results()

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            dropped = list(self._queue) if cancel_futures else []
            if cancel_futures:
                self._queue.clear()
        for future, *_ in dropped:
            future.cancel()
        if wait:
            _wait(self._futures)

    def __enter__(self) -> Tasks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=True)
