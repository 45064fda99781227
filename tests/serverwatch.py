"""What the lab's servers saw during a stretch of a test: the Kubernetes API's and the S3 server's request
logs, PostgreSQL's statement log (`log_statement = 'all'`), and Redis (`MONITOR` on its own connection,
plus the `INFO commandstats` delta, since Redis keeps admin commands such as ACL and CONFIG out of MONITOR).

    watch = ServerWatch(lab); watch.start(); ...; seen = watch.stop()
"""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.access import plan_of

_STATEMENT = re.compile(r"\bLOG:\s+(?:statement|execute [^:]*):\s*(.*)$")
_PG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \[\d+\] (\S*)@(\S*) ")
_MONITOR = re.compile(r'^\+?\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$')


@dataclass
class Seen:
    """What the servers logged between start() and stop()."""

    kube: list[str] = field(default_factory=list)
    """`METHOD path status` per Kubernetes API request."""
    s3: list[str] = field(default_factory=list)
    """`METHOD path status access-key [Action=X]` per S3/IAM request."""
    postgres: list[tuple[str, str]] = field(default_factory=list)
    """(user@db, statement) per logged statement."""
    redis_monitor: list[str] = field(default_factory=list)
    """Commands as MONITOR prints them: `"ACL" "WHOAMI"`."""
    redis_calls: dict[str, int] = field(default_factory=dict)
    """commandstats name (`acl|list`, `info`) -> calls during the stretch."""


def _resp(*args: str) -> bytes:
    out = f"*{len(args)}\r\n".encode()
    for a in args:
        b = a.encode()
        out += f"${len(b)}\r\n".encode() + b + b"\r\n"
    return out


def _size(path: str) -> int:
    p = Path(path)
    return p.stat().st_size if p.exists() else 0


def _tail(path: str, offset: int) -> list[str]:
    p = Path(path)
    if not p.exists():
        return []
    with open(p, "rb") as fh:
        fh.seek(offset)
        return fh.read().decode("utf-8", "replace").splitlines()


class ServerWatch:
    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.password = plan_of(state)["redis"]["default"]["live"]
        self._offsets: dict[str, int] = {}
        self._stats: dict[str, int] = {}
        self._buf = b""
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def _redis(self) -> Any:
        import redis

        r = self.state["redis"]
        return redis.Redis(host=r["host"], port=r["port"], username="default", password=self.password,
                           socket_timeout=5)

    def _commandstats(self) -> dict[str, int]:
        client = self._redis()
        try:
            stats = client.info("commandstats")
        finally:
            client.close()
        return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}

    def start(self) -> ServerWatch:
        logs = self.state["logs"]
        self._offsets = {k: _size(logs[k]) for k in ("kube_requests", "s3_requests", "postgres")}
        self._stats = self._commandstats()
        r = self.state["redis"]
        self._sock = socket.create_connection((r["host"], r["port"]), timeout=5)
        self._sock.sendall(_resp("AUTH", "default", self.password) + _resp("MONITOR"))
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._read, name="redis-monitor", daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            if not data:
                return
            self._buf += data

    def stop(self) -> Seen:
        import time

        time.sleep(0.3)  # the last MONITOR lines and log writes
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._sock is not None:
            self._sock.close()
        after = self._commandstats()
        logs = self.state["logs"]
        seen = Seen()
        seen.kube = [line.split(" ", 1)[-1] for line in _tail(logs["kube_requests"], self._offsets["kube_requests"])]
        seen.s3 = [line.split(" ", 1)[-1] for line in _tail(logs["s3_requests"], self._offsets["s3_requests"])]
        who = ""
        for line in _tail(logs["postgres"], self._offsets["postgres"]):
            prefix = _PG_PREFIX.match(line)
            if prefix:
                who = f"{prefix.group(1)}@{prefix.group(2)}"
            m = _STATEMENT.search(line)
            if m:
                seen.postgres.append((who, m.group(1).strip()))
        lines = self._buf.decode("utf-8", "replace").splitlines()
        seen.redis_monitor = [m.group(2) for m in map(_MONITOR.match, lines) if m]
        seen.redis_calls = {k: v - self._stats.get(k, 0) for k, v in after.items() if v - self._stats.get(k, 0) > 0}
        return seen
