"""Fail fast after a timeout: one hung endpoint costs a screen or a flow one timeout, not one per call.

When a call to an endpoint (a URL, `host:port`) did not answer within the timeout, the next calls to the
same endpoint during a short window (the timeout itself) raise the same `SourceError` at once instead of
each waiting out the timeout again. Any answer to a call sent after that timeout — success or a server
error — closes the window. Only `timeout` errors open it: a refused connection fails instantly anyway,
and a server that answers is alive. Callers note `time.monotonic()` before each call and pass it on.
"""

from __future__ import annotations

import threading
import time

from checks.errors import SourceError

_lock = threading.Lock()
_open: dict[str, tuple[float, SourceError, float]] = {}
"""endpoint -> (monotonic time until which calls fail fast, the timeout error, when it happened)."""


def recent_timeout(endpoint: str) -> tuple[SourceError, float] | None:
    """(the recorded timeout, seconds since) while the window of `endpoint` is open, else None."""
    with _lock:
        entry = _open.get(endpoint)
        if entry is None:
            return None
        until, error, at = entry
        now = time.monotonic()
        if now >= until:
            del _open[endpoint]
            return None
    return error, now - at


def check(endpoint: str) -> None:
    """Raise (a copy of) the recorded timeout of `endpoint` while its window is open."""
    recent = recent_timeout(endpoint)
    if recent is not None:
        error = recent[0]
        raise SourceError(error.system, error.title, error.message, kind=error.kind)


def failed(endpoint: str, error: SourceError, window: float, started: float) -> SourceError:
    """Record a failure of a call to `endpoint` sent at `started` (monotonic): a timeout opens the window,
    anything else closes it (the endpoint answered, or refused at once). Returns `error`, to raise."""
    with _lock:
        if error.kind == "timeout" and window > 0:
            now = time.monotonic()
            _open[endpoint] = (now + window, error, now)
        else:
            _close(endpoint, started)
    return error


def answered(endpoint: str, started: float) -> None:
    """A call sent at `started` got an answer: close the window, unless the call is older than the timeout
    that opened it (an answer to a request sent before the server hung proves nothing)."""
    if _open:
        with _lock:
            _close(endpoint, started)


def _close(endpoint: str, started: float) -> None:
    entry = _open.get(endpoint)
    if entry is not None and started >= entry[2]:
        del _open[endpoint]
