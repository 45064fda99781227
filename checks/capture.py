"""Recording: a Connections whose sources remember every answer, for a bundle (`clusterdeck capture`).

`RecordingConnections` wraps each source its factories make (and the KubeSource) in a `RecordingProxy`:
every method call and attribute read is keyed by (source kind, constructor arguments, name, arguments)
and its outcome (value, or the SourceError raised) is kept. The first answer to a key is the one every
later identical call gets, so one capture is one consistent snapshot of the world: the findings computed
during the capture are exactly those a replay computes. Secrets are removed when the bundle is written
(checks.bundle_secrets); nothing is written before that.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from checks.bundle_calls import NOT_RECORDED, bind, is_method, raw_key
from checks.config import Config
from checks.connect import Connections
from checks.errors import SourceError


@dataclass
class Entry:
    """One recorded call or attribute read."""

    kind: str
    identity: dict[str, Any]
    name: str
    args: dict[str, Any] | None
    """None for an attribute read."""
    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: SourceError | None = None
    crash: BaseException | None = None
    """A non-SourceError failure: passed on, never written to the bundle."""

    def outcome(self) -> Any:
        if self.crash is not None:
            raise self.crash
        if self.error is not None:
            e = self.error
            raise SourceError(e.system, e.title, e.message, kind=e.kind)
        v = self.value
        return list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v


class Recorder:
    """Every entry of one capture, in first-call order; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: dict[str, Entry] = {}

    def run(self, kind: str, identity: dict[str, Any], name: str, args: dict[str, Any] | None, fn: Any) -> Any:
        """Answer a call: the recorded outcome when there is one, else run `fn` once and record it."""
        key = raw_key(kind, identity, name, args)
        with self._lock:
            entry = self.entries.get(key)
            owner = entry is None
            if owner:
                entry = self.entries[key] = Entry(kind, identity, name, args)
        assert entry is not None
        if owner:
            try:
                entry.value = fn()
            except SourceError as exc:
                entry.error = exc
            except BaseException as exc:  # noqa: BLE001 - recorded as a crash, re-raised to every caller
                entry.crash = exc
            finally:
                entry.done.set()
        else:
            entry.done.wait()
        return entry.outcome()


class RecordingProxy:
    """Stands in for one source: records what it is asked and answers with the first answer."""

    def __init__(self, recorder: Recorder, kind: str, identity: dict[str, Any], target: Any) -> None:
        object.__setattr__(self, "_rec", (recorder, kind, identity, target))

    def __repr__(self) -> str:
        return f"Recording({self._rec[3]!r})"

    def __getattr__(self, name: str) -> Any:
        recorder, kind, identity, target = self._rec
        if name.startswith("__") or "__" in name.lstrip("_"):
            raise AttributeError(name)
        if name in NOT_RECORDED:
            return getattr(target, name)
        if is_method(kind, name):
            method = getattr(target, name)

            def call(*args: Any, **kwargs: Any) -> Any:
                bound = bind(kind, name, args, kwargs)
                return recorder.run(kind, identity, name, bound, lambda: method(*args, **kwargs))

            call.__name__ = name
            return call
        return recorder.run(kind, identity, name, None, lambda: getattr(target, name))


class RecordingConnections(Connections):
    """A Connections that records every source answer (and every endpoint resolution) for a bundle."""

    recording = True

    def __init__(self, config: Config, context: str | None = None) -> None:
        super().__init__(config, context)
        self.recorder = Recorder()

    def make_source(self, kind: str, *args: Any, **kwargs: Any) -> Any:
        identity = bind(kind, "__init__", args, kwargs)
        try:
            target = super().make_source(kind, *args, **kwargs)
        except SourceError as exc:  # e.g. no kubeconfig: the replay fails the same way
            error = exc
            self.recorder.run(kind, identity, "__init__", None, lambda: (_ for _ in ()).throw(error))
            raise
        return RecordingProxy(self.recorder, kind, identity, target)

    def resolve(self, host: str, port: int) -> tuple[str, int]:
        return self.recorder.run("conns", {}, "resolve", {"host": host, "port": int(port)},
                                 lambda: Connections.resolve(self, host, port))
