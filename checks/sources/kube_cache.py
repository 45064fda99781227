"""A short-lived, single-flight cache of Kubernetes read answers, shared by the panes of one refresh.

Every pane's fetch reads the same lists (pods, Secrets, Services, workloads…) at the same moment; with this
cache the first caller asks the API server and concurrent or later callers within `ttl` seconds get the
same answer body, and a list's parsed items (`derived`: parsed once per answer; the objects are frozen and
nobody changes them). Keyed by the call (verb, resource, group, namespace, arguments). Only successful
answers are kept.

Gets are cached the same way, except gets of pods and Secrets (the canary flow polls its pod, a reveal reads
a Secret's current value: KubeSource never caches those), and a get is answered from a fresh cached plain list (no selector) of the same resource in its
namespace or in all namespaces when there is one (`lookup`): a pane that lists the workloads then reads each
one, or reads the Secrets of a namespace it listed, asks the API server once. `clear()` forgets everything:
KubeSource calls it on every write it makes, and the TUI on an explicit reload (`r`, through
`Connections.forget_cached`), so a reload always reads the cluster again.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

DEFAULT_TTL = 2.0
"""Seconds a list answer is reused: long enough for one refresh of every pane, short enough to stay live."""


class ListCache:
    """Answer bodies by call key, each for `ttl` seconds; one request per key in flight at a time."""

    def __init__(self, ttl: float = DEFAULT_TTL) -> None:
        self.ttl = float(ttl)
        """Seconds an answer is reused (0 disables the cache)."""
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, bytes | None]] = {}
        self._inflight: dict[Hashable, threading.Event] = {}
        self._generation = 0
        self._lists: dict[tuple[str, str, str | None], Hashable] = {}
        """(resource, group, namespace or None for all) -> key of the last plain list answer cached."""
        self._indexes: dict[Hashable, tuple[float, dict[tuple[str, str], bytes]]] = {}
        self._derived: dict[Hashable, tuple[bytes, Any]] = {}
        """Key -> (the cached body, what `derived` made of it)."""
        self._deriving: dict[Hashable, threading.Event] = {}
        """List key -> (its entry's expiry, item JSON by (namespace, name)), built on the first lookup."""

    def get(self, key: Hashable, load: Callable[[], bytes | None], wait: float) -> bytes | None:
        """The cached body for `key`, else `load()`'s (concurrent callers of one key wait up to `wait` s for
        the first; if it fails, the next one tries)."""
        if self.ttl <= 0:
            return load()
        while True:
            with self._lock:
                hit = self._entries.get(key)
                if hit is not None and hit[0] > time.monotonic():
                    return hit[1]
                owner, event, generation = self._claim(self._inflight, key)
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

    def _claim(self, inflight: dict[Hashable, threading.Event], key: Hashable) -> tuple[bool, threading.Event, int]:
        """(whether this caller does the work for `key`, the event its waiters wait on, the cache generation);
        called with the lock held."""
        event = inflight.get(key)
        if event is None:
            event = inflight[key] = threading.Event()
            return True, event, self._generation
        return False, event, self._generation

    def derived(self, key: Hashable, body: bytes, make: Callable[[], Any]) -> Any:
        """`make()`, worked out once per cached answer `body` of `key`: concurrent and later callers given the
        same body get the same value (a list's items decoded and parsed once per refresh, not once per pane:
        the parsed objects are frozen and read-only). Kept as long as that body is the cached answer."""
        with self._lock:
            hit = self._derived.get(key)
            if hit is not None and hit[0] is body:
                return hit[1]
            owner, event, generation = self._claim(self._deriving, key)
        if not owner:
            event.wait(5.0)
            with self._lock:
                hit = self._derived.get(key)
            return hit[1] if hit is not None and hit[0] is body else make()  # the first one failed: our own
        try:
            value = make()
            with self._lock:
                entry = self._entries.get(key)
                if generation == self._generation and entry is not None and entry[1] is body:
                    self._derived[key] = (body, value)
            return value
        finally:
            with self._lock:
                self._deriving.pop(key, None)
            event.set()

    def remember_list(self, what: tuple[str, str, str | None], key: Hashable) -> None:
        """`key` is (about to be) a plain list (no selector) of (resource, group, namespace or None = all): gets
        may be answered from it while it is cached or in flight (`lookup`)."""
        if self.ttl > 0:
            with self._lock:
                self._lists[what] = key

    def lookup(self, resource: str, group: str, namespace: str, name: str, wait: float = 0.0) -> tuple[bool, Any]:
        """(True, the object as a get would answer it, or None when the list has no such object) from a fresh
        cached list of `resource` in `namespace` or in all namespaces, waiting up to `wait` s for one in flight
        (the panes of a refresh list and get at the same moment); (False, None) when there is none."""
        if self.ttl <= 0:
            return False, None
        for ns in (namespace, None):
            with self._lock:
                key = self._lists.get((resource, group, ns))
                entry = self._entries.get(key) if key is not None else None
                fresh = entry is not None and entry[0] > time.monotonic()
                event = self._inflight.get(key) if key is not None and not fresh else None
            if event is not None and wait > 0 and event.wait(wait):
                with self._lock:
                    entry = self._entries.get(key)
                    fresh = entry is not None and entry[0] > time.monotonic()
            if not fresh:
                continue
            with self._lock:
                entry = self._entries.get(key)
                if entry is None or entry[0] <= time.monotonic() or entry[1] is None:
                    continue
                expiry, body = entry
                built = self._indexes.get(key)
                generation = self._generation
            index = built[1] if built is not None and built[0] == expiry else None
            if index is None:
                index = _index(body)
                if index is None:
                    continue
                with self._lock:
                    if generation == self._generation:
                        self._indexes[key] = (expiry, index)
            item = index.get((namespace, name))
            return True, None if item is None else json.loads(item)  # a copy of its own for every caller
        return False, None

    @property
    def generation(self) -> int:
        """Bumped by every `clear()`: answers derived from this cache's since then are out of date."""
        return self._generation

    def clear(self) -> None:
        """Forget every answer (after a write, or on an explicit reload)."""
        with self._lock:
            self._entries.clear()
            self._lists.clear()
            self._indexes.clear()
            self._derived.clear()
            self._generation += 1


def _index(body: bytes) -> dict[tuple[str, str], bytes] | None:
    """The items of a list answer as get answers (with the kind and apiVersion a get carries), by (namespace,
    name); None when the body is not a Kubernetes list."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        return None
    kind = str(doc.get("kind") or "")
    kind = kind[:-4] if kind.endswith("List") else ""
    api_version = doc.get("apiVersion")
    out: dict[tuple[str, str], bytes] = {}
    for item in doc["items"]:
        meta = item.get("metadata") if isinstance(item, dict) else None
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
            continue
        obj = {"kind": item.get("kind") or kind, "apiVersion": item.get("apiVersion") or api_version, **item}
        if not obj["kind"]:
            del obj["kind"]
        if not obj["apiVersion"]:
            del obj["apiVersion"]
        out.setdefault((str(meta.get("namespace") or ""), meta["name"]), json.dumps(obj).encode())
    return out
