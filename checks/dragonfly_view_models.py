"""Frozen records of the Dragonfly pane: users, denials, memory, slowlog entries and the whole view."""

from __future__ import annotations

from dataclasses import dataclass, field

from checks.model import Finding
from checks.parsers.acl import AclUser


@dataclass(frozen=True)
class UserRow:
    """One ACL user as the pane lists it."""

    name: str
    """User name."""
    enabled: bool | None
    """on/off live; None when the user exists only in the ACL source."""
    key_patterns: tuple[str, ...]
    """`~pat` / `%R~pat` rules."""
    channels: tuple[str, ...]
    """`&pat` rules."""
    allowed: tuple[str, ...]
    """`+cmd` / `+@category` rules (and allcommands)."""
    denied: tuple[str, ...]
    """`-cmd` / `-@category` rules (and nocommands)."""
    db: str
    """Dragonfly `$db` restriction, '' on Redis."""
    fingerprints: tuple[str, ...]
    """`sha256:<12 hex>` per password, or `nopass`."""
    consumers: tuple[str, ...]
    """`namespace/workload` of every workload whose env/Secrets name this user."""
    state: str
    """live | not loaded (source only) | not in source | drift: <fields>."""
    rule: str
    """The live rule in full, password hashes shortened to fingerprints."""
    source_rule: str = ""
    """The ACL source line, plaintext passwords replaced by a placeholder ('' when not declared)."""
    acl: AclUser | None = field(default=None, repr=False, compare=False)
    """The parsed live user (the source one when not live), for offline DRYRUN answers."""


@dataclass(frozen=True)
class Denial:
    """One ACL LOG entry."""

    username: str
    """User denied (or failing AUTH)."""
    reason: str
    """auth | command | key | channel."""
    object: str
    """Denied command, key or channel."""
    count: int
    """Occurrences."""
    age_seconds: float | None
    """Seconds since the last occurrence."""
    client: str
    """Client `ip:port`."""
    pod: str
    """`namespace/pod` with that IP, '' when none."""


@dataclass(frozen=True)
class MemoryStats:
    """Memory figures from INFO."""

    used: int | None
    """used_memory bytes."""
    maxmemory: int | None
    """maxmemory bytes (0/None = unlimited on Redis)."""
    peak: int | None
    """used_memory_peak bytes."""
    rss: int | None
    """used_memory_rss bytes."""
    cache_mode: str
    """Dragonfly cache/store, 'n/a' on Redis."""
    policy: str
    """maxmemory_policy."""
    evicted_keys: int | None
    """Evicted keys since start."""

    @property
    def ratio(self) -> float | None:
        """used / maxmemory."""
        return self.used / self.maxmemory if self.used is not None and self.maxmemory else None


@dataclass(frozen=True)
class SlowEntry:
    """One SLOWLOG entry, ready to show."""

    id: int
    """Entry id."""
    time: int
    """Unix seconds."""
    duration_us: int
    """Execution time in µs."""
    command: str
    """Command and key names, values redacted."""
    revealed: str
    """Command with values (credentials in AUTH/HELLO/MIGRATE/ACL/CONFIG stay redacted)."""
    client: str
    """Client `ip:port`."""
    pod: str
    """`namespace/pod` with that IP, '' when none."""


@dataclass(frozen=True)
class DragonflyView:
    """Everything the Dragonfly pane shows."""

    server: str
    """`redis 7.0.15 at dragonfly.cache.svc:6379`."""
    users: tuple[UserRow, ...] = ()
    """Live users, then users only in the ACL source."""
    denials: tuple[Denial, ...] = ()
    """ACL LOG, newest first."""
    memory: MemoryStats | None = None
    """INFO memory figures (None when INFO failed)."""
    slowlog: tuple[SlowEntry, ...] = ()
    """SLOWLOG, newest first."""
    findings: tuple[Finding, ...] = ()
    """Slowlog settings and ACL drift findings."""
    config: tuple[tuple[str, str], ...] = ()
    """(setting, value) pairs for the Config tab."""
    acl_source: str = ""
    """Label of the ACL source, or why there is none."""
    drift: tuple[tuple[str, str, str], ...] = ()
    """(user, missing | extra | different, detail) between the ACL source and live ACL LIST."""
    problems: tuple[str, ...] = ()
    """Reads that failed (consumers, pods, CR), shown as a note."""
