"""How a Connections shares and reuses answers between the panes, flows and refreshes that ask for them:
`recent` (single-flight, a few seconds), `kept` (a TTL across refreshes) and `ahead` (run on the last
answer while it is read again). Forgotten after any write through a WriteGate."""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any, Callable, TypeVar

from checks.sources.kube_cache import ListCache
from checks.tasks import Tasks

T = TypeVar("T")
R = TypeVar("R")


class SharedAnswers:
    """The answer stores of a Connections (a base class: `recent_ttl` says how long `recent` keeps one)."""

    def __init__(self) -> None:
        self._recent = ListCache()
        self._recent_epoch = -1
        self._kept: dict[Hashable, tuple[float, Any]] = {}
        """`kept` answers: key -> (when made, value)."""
        self._last: dict[Hashable, Any] = {}
        """`ahead` reads: key -> the last answer."""

    def recent_ttl(self) -> float:
        """Seconds a `recent` answer is shared."""
        return 5.0

    def recent(self, key: Hashable, load: Callable[[], T]) -> T:
        """`load()`'s answer, shared with every caller asking for `key` within a few seconds (single-flight:
        concurrent callers wait for the first one's answer). For read snapshots several panes make at once (the
        RustFS identity); forgotten after any write through a WriteGate and by `forget_answers()`."""
        self._forget_if_written()
        return self._recent.get(key, load, self.recent_ttl())  # type: ignore[arg-type,return-value]

    def _forget_if_written(self) -> None:
        """Drop the `recent` and `kept` answers when a WriteGate wrote since they were read."""
        from checks.writes import write_epoch

        epoch = write_epoch()
        if epoch != self._recent_epoch:
            self.forget_answers()
            self._recent_epoch = epoch

    def kept(self, key: Hashable, ttl: float, load: Callable[[], T]) -> T:
        """`load()`'s answer, reused for `ttl` seconds across refreshes (a slow scan whose answer changes rarely,
        e.g. which workloads use which Dragonfly user); forgotten like `recent` after a write and by
        `forget_answers()`."""
        self._forget_if_written()
        hit = self._kept.get(key)
        if hit is not None and time.monotonic() - hit[0] < ttl:
            return hit[1]  # type: ignore[no-any-return]
        value = load()
        self._kept[key] = (time.monotonic(), value)
        return value

    def ahead(self, key: Hashable, read: Callable[[], T], run: Callable[[T], R]) -> R:
        """`run(read())`, without waiting for `read` once it has answered before: `run` starts at once with the
        last answer while `read` is made again, and when the new answer differs (or `read` fails) the run on
        the old one is dropped and `run` is made with the new one (or the error raised). What is returned is
        always `run` of what `read` answers now; only the wait for it is hidden. For a chain of requests that
        waits on a Kubernetes read whose answer rarely changes (a Service's port and an admin Secret's keys):
        on a busy API server that read is the chain's slowest step. An answer that is an exception is not run
        ahead of its read. Not forgotten by `forget_answers()`: every answer is checked by the read made now."""
        last = self._last.get(key)
        if last is None or isinstance(last, BaseException):
            fresh = read()
            self._last[key] = fresh
            return run(fresh)
        with Tasks(max_workers=1) as pool:
            reread = pool.submit(read)
            try:
                result, failure = run(last), None
            except Exception as exc:  # the run on the last answer failed: only an error if that answer holds
                result, failure = None, exc
            fresh = reread.result()
        self._last[key] = fresh
        if fresh != last:
            return run(fresh)
        if failure is not None:
            raise failure
        return result  # type: ignore[return-value]

    def forget_answers(self) -> None:
        """Drop the `recent` and `kept` answers."""
        self._recent.clear()
        self._kept.clear()
