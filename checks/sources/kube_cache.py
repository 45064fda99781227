"""A short-lived, single-flight cache of Kubernetes list answers, shared by the panes of one refresh.

Every pane's fetch reads the same lists (pods, Secrets, Services, workloads…) at the same moment; with this
cache the first caller asks the API server and concurrent or later callers within `ttl` seconds get the
same answer body (each caller parses its own copy, so nothing is shared mutably). Keyed by the call (verb,
resource, group, namespace, arguments). Only successful list answers are kept; gets are never cached (the
canary flow polls its pod). `clear()` forgets everything: KubeSource calls it on every write it makes, and
the TUI on an explicit reload (`r`), so a reload always reads the cluster again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

DEFAULT_TTL = 2.0
"""Seconds a list answer is reused: long enough for one refresh of every pane, short enough to stay live."""


class ListCache:
    """Answer bodies by call key, each for `ttl` seconds; one request per key in flight at a time."""

    def __init__(self, ttl: float = DEFAULT_TTL) -> None:
        self.ttl = float(ttl)
        """Seconds an answer is reused (0 disables the cache)."""
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, bytes]] = {}
        self._inflight: dict[Hashable, threading.Event] = {}
        self._generation = 0

    def get(self, key: Hashable, load: Callable[[], bytes], wait: float) -> bytes:
        """The cached body for `key`, else `load()`'s (concurrent callers of one key wait up to `wait` s for
        the first; if it fails, the next one tries)."""
        if self.ttl <= 0:
            return load()
        while True:
            with self._lock:
                hit = self._entries.get(key)
                if hit is not None and hit[0] > time.monotonic():
                    return hit[1]
                event = self._inflight.get(key)
                owner = event is None
                if owner:
                    event = self._inflight[key] = threading.Event()
                    generation = self._generation
            if owner:
                break
            if not event.wait(wait):
                return load()  # the first caller hangs: do not queue behind it
            # then a hit, or (the first caller failed, or a write cleared the cache) this caller asks itself
        try:
            body = load()
        except BaseException:
            with self._lock:
                self._inflight.pop(key, None)
            event.set()
            raise
        with self._lock:
            if generation == self._generation:  # not cleared by a write meanwhile
                self._entries[key] = (time.monotonic() + self.ttl, body)
            self._inflight.pop(key, None)
        event.set()
        return body

    def clear(self) -> None:
        """Forget every answer (after a write, or on an explicit reload)."""
        with self._lock:
            self._entries.clear()
            self._generation += 1
