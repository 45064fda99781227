"""`INFO` from Dragonfly or Redis, as raw text or redis-py's parsed dict."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ServerInfo:
    """The INFO fields clusterdeck uses; None where the server does not report one."""

    flavor: str
    """`dragonfly` (a `dragonfly_version`/`dfly_version` field is present) or `redis`."""
    version: str
    """Product version without prefixes: `1.25.4` for Dragonfly, `7.0.15` for Redis."""
    redis_version: str
    """`redis_version` as reported (Dragonfly claims a Redis version too)."""
    role: str | None
    """`master` or `replica` (`slave` is normalised)."""
    used_memory: int | None
    """Bytes in use."""
    used_memory_peak: int | None
    """Peak bytes in use."""
    used_memory_rss: int | None
    """Resident set size in bytes."""
    maxmemory: int | None
    """Memory limit in bytes; 0 on Redis means unlimited (Dragonfly is never 0)."""
    cache_mode: str | None
    """Dragonfly `cache` or `store`; None on Redis."""
    maxmemory_policy: str | None
    """Dragonfly `eviction`/`noeviction`, Redis `noeviction`, `allkeys-lru`, …"""
    evicted_keys: int | None
    """Keys evicted since start."""
    connected_clients: int | None
    """Client connections now."""
    max_clients: int | None
    """Connection limit (`max_clients` on Dragonfly, `maxclients` on Redis)."""
    thread_count: int | None
    """Dragonfly proactor threads; None on Redis."""
    uptime_s: int | None
    """Seconds since start."""
    keyspace: dict[str, dict[str, int]] = field(default_factory=dict)
    """`db0` → `{keys, expires, avg_ttl}`."""
    fields: dict[str, str] = field(default_factory=dict, repr=False)
    """Every INFO field as a string, for anything not surfaced above."""

    @property
    def memory_used_ratio(self) -> float | None:
        """used_memory / maxmemory, None when there is no limit."""
        if not self.used_memory or not self.maxmemory:
            return None
        return self.used_memory / self.maxmemory


def _flatten(data: Mapping[Any, Any]) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    flat: dict[str, str] = {}
    keyspace: dict[str, dict[str, int]] = {}
    for k, v in data.items():
        key = k.decode("utf-8", "replace") if isinstance(k, bytes) else str(k)
        if isinstance(v, Mapping):
            if key.startswith("db") and key[2:].isdigit():
                keyspace[key] = {str(a): _int(b) or 0 for a, b in v.items()}
            else:
                flat[key] = ",".join(f"{a}={b}" for a, b in v.items())
        elif isinstance(v, bytes):
            flat[key] = v.decode("utf-8", "replace")
        else:
            flat[key] = str(v)
    return flat, keyspace


def _parse_text(text: str) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    flat: dict[str, str] = {}
    keyspace: dict[str, dict[str, int]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            section = line[1:].strip().lower()
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        if (section == "keyspace" or key.startswith("db")) and key[2:].isdigit() and "=" in value:
            keyspace[key] = {a: _int(b) or 0 for a, _, b in (p.partition("=") for p in value.split(","))}
            continue
        flat[key] = value
    return flat, keyspace


def _int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            f = float(str(value).strip())
        except (TypeError, ValueError):
            return None
        return int(f) if f == f and abs(f) != float("inf") else None


def parse_info(data: Any) -> ServerInfo:
    """Parse INFO text (`\\r\\n` or `\\n`, sections optional) or a redis-py INFO dict."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    if isinstance(data, Mapping):
        flat, keyspace = _flatten(data)
    else:
        flat, keyspace = _parse_text("" if data is None else str(data))
    df = flat.get("dragonfly_version") or flat.get("dfly_version")
    redis_version = flat.get("redis_version", "")
    if df is not None:
        version = df.strip()
        for prefix in ("df-", "v"):
            if version.startswith(prefix):
                version = version[len(prefix):]
    else:
        version = redis_version
    role = flat.get("role")
    if role is not None:
        role = "replica" if role.strip().lower() in ("slave", "replica") else role.strip().lower()
    policy = flat.get("maxmemory_policy")
    return ServerInfo(
        flavor="dragonfly" if df is not None else "redis",
        version=version,
        redis_version=redis_version,
        role=role,
        used_memory=_int(flat.get("used_memory")),
        used_memory_peak=_int(flat.get("used_memory_peak")),
        used_memory_rss=_int(flat.get("used_memory_rss")),
        maxmemory=_int(flat.get("maxmemory")),
        cache_mode=flat.get("cache_mode"),
        maxmemory_policy=policy,
        evicted_keys=_int(flat.get("evicted_keys")),
        connected_clients=_int(flat.get("connected_clients")),
        max_clients=_int(flat.get("max_clients", flat.get("maxclients"))),
        thread_count=_int(flat.get("thread_count")),
        uptime_s=_int(flat.get("uptime_in_seconds")),
        keyspace=keyspace,
        fields=flat,
    )
