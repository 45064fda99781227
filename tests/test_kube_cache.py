"""The short-lived list cache of KubeSource: reuse within the TTL, single flight, errors and writes."""

from __future__ import annotations

import threading

import pytest

from checks.sources.kube_cache import ListCache


def test_reused_then_cleared() -> None:
    cache, calls = ListCache(ttl=60), []

    def load() -> bytes:
        calls.append(1)
        return b"body%d" % len(calls)

    assert cache.get("k", load, 1) == b"body1"
    assert cache.get("k", load, 1) == b"body1"
    assert cache.get("other", load, 1) == b"body2"
    cache.clear()
    assert cache.get("k", load, 1) == b"body3"


def test_errors_are_not_kept() -> None:
    cache = ListCache(ttl=60)

    def fail() -> bytes:
        raise RuntimeError("down")

    with pytest.raises(RuntimeError):
        cache.get("k", fail, 1)
    assert cache.get("k", lambda: b"up", 1) == b"up"


def test_disabled_with_zero_ttl() -> None:
    cache, n = ListCache(ttl=0), iter(range(10))
    assert cache.get("k", lambda: b"%d" % next(n), 1) != cache.get("k", lambda: b"%d" % next(n), 1)


def test_single_flight() -> None:
    cache, calls = ListCache(ttl=60), []
    release = threading.Event()

    def load() -> bytes:
        calls.append(1)
        release.wait(5)
        return b"shared"

    out: list[bytes] = []
    threads = [threading.Thread(target=lambda: out.append(cache.get("k", load, 10))) for _ in range(4)]
    for t in threads:
        t.start()
    release.set()
    for t in threads:
        t.join()
    assert out == [b"shared"] * 4
    assert len(calls) == 1


def test_a_write_during_a_read_discards_its_answer() -> None:
    cache = ListCache(ttl=60)

    def load() -> bytes:
        cache.clear()  # a write lands while the list is in flight
        return b"old"

    assert cache.get("k", load, 1) == b"old"
    assert cache.get("k", lambda: b"new", 1) == b"new"
