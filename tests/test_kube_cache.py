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


def _list_body(*items: tuple[str, str]) -> bytes:
    import json

    return json.dumps({"kind": "SecretList", "apiVersion": "v1", "items": [
        {"metadata": {"name": n, "namespace": ns}, "data": {"k": "dg=="}} for ns, n in items]}).encode()


def test_a_get_is_answered_from_a_remembered_list() -> None:
    cache = ListCache(ttl=60)
    cache.get("in-ns", lambda: _list_body(("ns", "a")), 1)
    cache.remember_list(("secrets", "", "ns"), "in-ns")
    hit, obj = cache.lookup("secrets", "", "ns", "a")
    assert hit and obj == {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "a", "namespace": "ns"},
                           "data": {"k": "dg=="}}
    obj["data"]["k"] = "changed"  # every caller gets a copy of its own
    assert cache.lookup("secrets", "", "ns", "a")[1]["data"]["k"] == "dg=="
    assert cache.lookup("secrets", "", "ns", "b") == (True, None)  # the list says it does not exist
    assert cache.lookup("secrets", "", "other", "a") == (False, None)  # no list of that namespace
    assert cache.lookup("configmaps", "", "ns", "a") == (False, None)
    cache.clear()
    assert cache.lookup("secrets", "", "ns", "a") == (False, None)


def test_a_list_of_all_namespaces_answers_any_and_expires() -> None:
    import time

    cache = ListCache(ttl=0.2)
    cache.get("all", lambda: _list_body(("x", "a"), ("y", "b")), 1)
    cache.remember_list(("secrets", "", None), "all")
    assert cache.lookup("secrets", "", "y", "b")[1]["metadata"]["namespace"] == "y"
    assert cache.lookup("secrets", "", "x", "b") == (True, None)
    time.sleep(0.3)
    assert cache.lookup("secrets", "", "y", "b") == (False, None)


def test_a_list_not_cached_is_not_remembered() -> None:
    cache = ListCache(ttl=0)
    cache.get("all", lambda: _list_body(("x", "a")), 1)
    cache.remember_list(("secrets", "", None), "all")
    assert cache.lookup("secrets", "", "x", "a") == (False, None)


def test_a_get_waits_for_a_list_in_flight() -> None:
    cache = ListCache(ttl=60)
    started, release = threading.Event(), threading.Event()

    def load() -> bytes:
        started.set()
        release.wait(5)
        return _list_body(("ns", "a"))

    cache.remember_list(("secrets", "", "ns"), "in-ns")
    lister = threading.Thread(target=lambda: cache.get("in-ns", load, 10))
    lister.start()
    started.wait(5)
    threading.Timer(0.1, release.set).start()
    hit, obj = cache.lookup("secrets", "", "ns", "a", wait=5)
    lister.join()
    assert hit and obj["metadata"]["name"] == "a"
    assert cache.lookup("secrets", "", "ns", "a", wait=0)[0]


def test_a_failed_list_in_flight_leaves_the_get_to_ask() -> None:
    cache = ListCache(ttl=60)
    cache.remember_list(("secrets", "", "ns"), "in-ns")

    def fail() -> bytes:
        raise RuntimeError("down")

    with pytest.raises(RuntimeError):
        cache.get("in-ns", fail, 1)
    assert cache.lookup("secrets", "", "ns", "a", wait=1) == (False, None)


def test_derived_once_per_cached_answer_even_when_asked_at_once() -> None:
    """A list's parsed items are made once per cached answer: concurrent callers wait for the first one and
    get the same value; a new answer (after a clear) is parsed again, and a failed parse is not kept."""
    cache, made = ListCache(ttl=60), []
    body = cache.get("k", lambda: b"answer-1", 1)
    started = threading.Event()
    release = threading.Event()

    def make() -> tuple[str, ...]:
        made.append(1)
        started.set()
        release.wait(5)
        return ("parsed", body.decode())

    results: list[object] = []
    first = threading.Thread(target=lambda: results.append(cache.derived("k", body, make)))
    first.start()
    assert started.wait(5)
    others = [threading.Thread(target=lambda: results.append(cache.derived("k", body, make))) for _ in range(3)]
    for t in others:
        t.start()
    release.set()
    for t in [first, *others]:
        t.join(5)
    assert len(made) == 1 and len(results) == 4 and all(r is results[0] for r in results)
    cache.clear()
    fresh = cache.get("k", lambda: b"answer-2", 1)
    assert cache.derived("k", fresh, lambda: ("parsed", fresh.decode())) == ("parsed", "answer-2")
    assert cache.derived("k", body, lambda: "stale body: made, not kept") == "stale body: made, not kept"
    assert cache.derived("k", fresh, lambda: "not asked again") == ("parsed", "answer-2")

    def broken() -> str:
        raise ValueError("bad answer")

    other = cache.get("other", lambda: b"x", 1)
    with pytest.raises(ValueError):
        cache.derived("other", other, broken)
    assert cache.derived("other", other, lambda: "ok") == "ok"
