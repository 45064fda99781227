"""`ACL LOG` entries from Redis 7.0/7.2+ and Dragonfly, raw or as parsed by redis-py.

Differences handled (service-facts §3.4): Dragonfly reasons are upper-case and
`PUB_SUB` means channel; Dragonfly has no `count`; `timestamp-created` is ns on
Dragonfly, ms on Redis 7.2+, absent on 7.0; `client-info` may be a dict or a string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_REASONS = {"command": "command", "key": "key", "channel": "channel", "auth": "auth",
            "pub_sub": "channel", "pubsub": "channel"}


@dataclass(frozen=True)
class AclLogEntry:
    """One ACL denial (or failed AUTH) recorded by the server."""

    count: int
    """How many times it happened (Dragonfly does not count: 1)."""
    reason: str
    """command | key | channel | auth (lower-case; anything else kept lower-cased)."""
    object: str
    """The denied command, key or channel; on Dragonfly key denials this is the command name."""
    username: str
    """The user that was denied (or tried to authenticate)."""
    age_seconds: float | None
    """Seconds since the (last) occurrence."""
    client_addr: str
    """`ip:port` of the client, for mapping back to a pod."""
    client_name: str
    """CLIENT SETNAME of the connection, often empty."""
    timestamp_created: float | None
    """Unix time in seconds of the first occurrence (normalised from ns/ms), None on Redis 7.0."""
    context: str = ""
    """toplevel | multi | lua | module (Redis only)."""
    client_info: dict[str, str] = field(default_factory=dict, repr=False)
    """All `client-info` fields as strings."""


def _s(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _num(value: Any) -> float | None:
    try:
        f = float(_s(value).strip())
    except (TypeError, ValueError):
        return None
    return f if f == f and abs(f) != float("inf") else None


def normalise_epoch(value: Any) -> float | None:
    """Seconds since the epoch from s, ms, µs or ns (decided by magnitude)."""
    f = _num(value)
    if f is None:
        return None
    for limit, div in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):
        if abs(f) >= limit:
            return f / div
    return f


def parse_client_info(info: Any) -> dict[str, str]:
    """`id=6 addr=1.2.3.4:5 name= …` (or redis-py's dict) → dict of strings."""
    if isinstance(info, Mapping):
        return {_s(k): _s(v) for k, v in info.items()}
    out: dict[str, str] = {}
    for part in _s(info).split():
        key, sep, val = part.partition("=")
        if sep:
            out[key] = val
    return out


def _as_mapping(entry: Any) -> dict[str, Any] | None:
    if isinstance(entry, Mapping):
        return {_s(k).lower().replace("_", "-"): v for k, v in entry.items()}
    if isinstance(entry, (list, tuple)):
        items = list(entry)
        return {_s(items[i]).lower().replace("_", "-"): items[i + 1] for i in range(0, len(items) - 1, 2)}
    return None


def parse_acl_log_entry(entry: Any) -> AclLogEntry | None:
    """One entry (dict or flat key/value list); None when it is not entry-shaped."""
    m = _as_mapping(entry)
    if not m:
        return None
    reason = _s(m.get("reason")).strip().lower()
    info = parse_client_info(m.get("client-info", ""))
    count = _num(m.get("count"))
    return AclLogEntry(
        count=int(count) if count is not None and count >= 0 else 1,
        reason=_REASONS.get(reason, reason),
        object=_s(m.get("object")),
        username=_s(m.get("username")),
        age_seconds=_num(m.get("age-seconds")),
        client_addr=info.get("addr", ""),
        client_name=info.get("name", ""),
        timestamp_created=normalise_epoch(m.get("timestamp-created")),
        context=_s(m.get("context")),
        client_info=info,
    )


def parse_acl_log(entries: Any) -> tuple[AclLogEntry, ...]:
    """All entries of an `ACL LOG` reply; anything not entry-shaped is skipped."""
    if entries is None or isinstance(entries, (str, bytes, Mapping)):
        entries = [entries] if isinstance(entries, Mapping) else []
    out = []
    try:
        for e in entries:
            parsed = parse_acl_log_entry(e)
            if parsed is not None:
                out.append(parsed)
    except TypeError:
        return ()
    return tuple(out)
