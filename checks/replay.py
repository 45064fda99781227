"""Replaying a bundle: a Connections that answers every source call from the bundle, with no network.

`open_bundle(path)` reads and checks the file (checks.bundle) and returns `ReplayConnections`: its
factories and KubeSource are `ReplayProxy` objects that look each call up by the same key the recorder
used (checks.bundle_calls). A call the capture never made raises SourceError(kind="notfound",
"not in the bundle: …"); a write raises "replaying a bundle: writes are impossible". The clock is frozen
at the capture time and the digests of redacted secrets are loaded (checks.redact), so flows and panes
compute the same findings as the capture did.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from checks import clock
from checks.bundle import BundleError, decode, encode, read_document
from checks.bundle_calls import NOT_RECORDED, WRITE_METHOD, bind, call_key, is_method, system_of
from checks.config import Config
from checks.connect import Connections
from checks.errors import SourceError
from checks.redact import load_recorded_digests

WRITES_IMPOSSIBLE = "replaying a bundle: writes are impossible"


class NotInBundle(SourceError, AttributeError):
    """The capture never made this call (also an AttributeError, so `getattr(src, name, default)` works)."""


class Bundle:
    """A loaded bundle: its header, config, recorded answers (by call key) and reference results."""

    def __init__(self, doc: dict[str, Any], path: str = "") -> None:
        self.path = path
        self.name = Path(path).name if path else "bundle"
        self.version: int = doc["version"]
        try:
            self.captured_at = datetime.fromisoformat(str(doc.get("captured_at")))
        except ValueError:
            raise BundleError(f"{self.name}: captured_at is not a time: {doc.get('captured_at')!r}") from None
        self.context = str(doc.get("context") or "")
        self.clusterdeck_version = str(doc.get("clusterdeck_version") or "")
        config = decode(doc.get("config"))
        if not isinstance(config, Config):
            raise BundleError(f"{self.name}: the bundle holds no clusterdeck config")
        self.config = config
        self.results: dict[str, Any] = decode(doc.get("results")) or {}
        self.notes = tuple(str(n) for n in doc.get("notes") or ())
        self.calls: dict[str, dict[str, Any]] = {}
        for c in doc.get("calls") or ():
            if not isinstance(c, dict) or "source" not in c or "name" not in c:
                raise BundleError(f"{self.name}: a call without source/name: {str(c)[:120]}")
            self.calls[call_key(c["source"], c.get("identity"), c["name"], c.get("args"))] = c
        self.digests = {(algo, k): v for algo, table in (doc.get("digests") or {}).items() for k, v in table.items()}
        self._decoded: dict[str, Any] = {}
        self.names = {(c["source"], c["name"]) for c in self.calls.values()}

    def answer(self, key: str) -> Any:
        """The recorded outcome of a call: its value, or the SourceError it raised (raised here)."""
        if key not in self._decoded:
            c = self.calls[key]
            self._decoded[key] = decode(c["error"]) if "error" in c else decode(c.get("result"))
        out = self._decoded[key]
        if isinstance(out, SourceError):
            raise SourceError(out.system, out.title, out.message, kind=out.kind)
        return list(out) if isinstance(out, list) else dict(out) if isinstance(out, dict) else out

    @property
    def badge(self) -> str:
        """`REPLAY <bundle name> captured <time>` (the TUI header)."""
        name = "".join(c if c.isprintable() else "?" for c in self.name)[:60]
        return f"REPLAY {name} captured {self.captured_at.strftime('%Y-%m-%d %H:%M:%S %Z').strip()}"


def _describe(name: str, args: dict[str, Any] | None) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in (args or {}).items() if v not in (None, "", (), {}))
    return f"{name}({shown[:160]})"


class ReplayProxy:
    """Stands in for one source: answers from the bundle."""

    def __init__(self, bundle: Bundle, kind: str, identity: Any) -> None:
        object.__setattr__(self, "_rep", (bundle, kind, identity))

    def __repr__(self) -> str:
        return f"Replay({self._rep[1]})"

    def _missing(self, name: str, args: dict[str, Any] | None) -> SourceError:
        _, kind, _ = self._rep
        system = system_of(kind)
        if args is not None and WRITE_METHOD.match(name):
            return SourceError(system, "Writes impossible", WRITES_IMPOSSIBLE, kind="forbidden")
        return NotInBundle(system, "Not in the bundle", f"not in the bundle: {kind} {_describe(name, args)} (the "
                           "capture never made this call)", kind="notfound")

    def __getattr__(self, name: str) -> Any:
        bundle, kind, identity = self._rep
        if name.startswith("__") or "__" in name.lstrip("_"):
            raise AttributeError(name)
        if name in NOT_RECORDED:
            return lambda *a, **k: None
        if is_method(kind, name):
            def call(*args: Any, **kwargs: Any) -> Any:
                bound = bind(kind, name, args, kwargs)
                key = call_key(kind, identity, name, encode(bound))
                if key not in bundle.calls:
                    raise self._missing(name, bound)
                return bundle.answer(key)

            call.__name__ = name
            return call
        key = call_key(kind, identity, name, None)
        if key not in bundle.calls:
            raise self._missing(name, None)
        return bundle.answer(key)


class ReplayConnections(Connections):
    """A Connections over a bundle: same answers as the capture, no network, no writes."""

    replaying = True
    read_only_reason = WRITES_IMPOSSIBLE

    def __init__(self, bundle: Bundle) -> None:
        config = replace(bundle.config, refresh_interval=0.0, audit_log="")
        super().__init__(config, bundle.config.context or None)
        self.bundle = bundle
        self.replay_badge = bundle.badge
        load_recorded_digests(bundle.digests)
        clock.freeze(bundle.captured_at)

    def make_source(self, kind: str, *args: Any, **kwargs: Any) -> Any:
        identity = encode(bind(kind, "__init__", args, kwargs))
        failed = call_key(kind, identity, "__init__", None)
        if failed in self.bundle.calls:  # the source could not even be made at capture time
            self.bundle.answer(failed)
        return ReplayProxy(self.bundle, kind, identity)

    def resolve(self, host: str, port: int) -> tuple[str, int]:
        key = call_key("conns", {}, "resolve", encode({"host": host, "port": int(port)}))
        if key not in self.bundle.calls:
            raise NotInBundle("config", "Not in the bundle", f"not in the bundle: the address of {host}:{port}",
                              kind="notfound")
        return self.bundle.answer(key)

    def _forward(self, namespace: str, service: str, port: int) -> int:
        raise SourceError("kubernetes", "No port-forward", "replaying a bundle: no port-forward", kind="notfound")

    def close(self) -> None:
        """No connection was opened: only the clock is let go again."""
        if clock.frozen() == self.bundle.captured_at:
            clock.freeze(None)


def open_bundle(path: str | Path) -> ReplayConnections:
    """Read, check and load a bundle; BundleError says why it cannot be replayed."""
    return ReplayConnections(Bundle(read_document(path), str(path)))
