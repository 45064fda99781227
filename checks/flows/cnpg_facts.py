"""What is known about one managed role from the five sources, already read (no I/O here).

Shared by the C1–C7 flow and the CNPG pane: spec, operator status, password Secret, PostgreSQL
catalog and the consuming workloads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from checks import clock
from checks.sources.kube_models import KubePod, KubeSecret, KubeWorkload
from checks.sources.kube_resources import CnpgCluster, ManagedRole
from checks.sources.postgres import PgRole
from checks.workloads import StalePod, pods_of, reloader_status, stale_consumer_pods, uses_of

RELOAD_LABEL = "cnpg.io/reload"
BASIC_AUTH = "kubernetes.io/basic-auth"
BUCKETS = ("reconciled", "pending-reconciliation", "not-managed", "reserved")
"""status.managedRolesStatus.byStatus keys, in CNPG's spelling."""


def is_reserved(name: str) -> bool:
    """Roles CNPG keeps for itself (never managed through spec.managed.roles)."""
    return name in ("postgres", "streaming_replica") or name.startswith("cnpg_")


def when(t: datetime | None) -> str:
    """`2026-11-24 13:54 UTC`, or `unknown`."""
    if t is None:
        return "unknown"
    return t.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def span(seconds: float) -> str:
    """A duration as `40 s`, `50 min`, `3 h`, `2 d`."""
    s = abs(seconds)
    if s < 90:
        return f"{s:.0f} s"
    if s < 90 * 60:
        return f"{s / 60:.0f} min"
    if s < 48 * 3600:
        return f"{s / 3600:.0f} h"
    return f"{s / 86400:.0f} d"


@dataclass(frozen=True)
class Consumer:
    """A workload that reads the role's password Secret."""

    namespace: str
    """Workload namespace."""
    workload: str
    """kubectl-style `deploy/name` or `sts/name`."""
    uses: tuple[str, ...]
    """How it reads the Secret, e.g. `env PGPASSWORD (key password, container litellm)`."""
    read_at_start: bool
    """The value is fixed when the container starts (env/envFrom), so a rotation needs a restart."""
    pods: tuple[str, ...]
    """Names of its pods."""
    stale: tuple[StalePod, ...]
    """Pods whose containers started before the Secret last changed (only when read at start)."""
    reloader_watches: bool
    """stakater Reloader restarts it when the Secret changes."""
    reloader_reason: str
    """Which annotation decides that, or why not."""
    hash_state: str
    """`match` / `mismatch` / `absent`: the STAKATER_* hash on the template against the current data."""
    hash_source: str = ""
    """Where the template hash was read (env var or annotation)."""
    oldest_start: datetime | None = None
    """When its oldest pod's containers started (None when unknown or no pods)."""

    @property
    def ref(self) -> str:
        """`namespace/deploy/name`."""
        return f"{self.namespace}/{self.workload}"


def find_consumers(secret: KubeSecret, workloads: Iterable[KubeWorkload],
                   pods: Iterable[KubePod]) -> tuple[Consumer, ...]:
    """Workloads in the Secret's namespace that reference it, with their pods' freshness."""
    pods = list(pods)
    out = []
    for w in sorted(workloads, key=lambda w: (w.namespace, w.short_ref)):
        uses = uses_of(w.template, secret.name) if w.namespace == secret.namespace else ()
        if not uses:
            continue
        described = []
        for u in uses:
            if u.via == "env":
                described.append(f"env {u.env_name} (key {u.key}, container {u.container})")
            elif u.via == "envFrom":
                described.append(f"envFrom (container {u.container}{', prefix ' + u.env_name if u.env_name else ''})")
            else:
                described.append(f"{u.via} volume {u.env_name}")
        at_start = any(u.read_at_start for u in uses)
        stale = stale_consumer_pods(pods, secret, w) if at_start else ()
        rs = reloader_status(w, secret)
        own = pods_of(w, pods)
        starts = [p.started_at for p in own if p.started_at is not None]
        out.append(Consumer(w.namespace, w.short_ref, tuple(described), at_start, tuple(sorted(p.name for p in own)),
                            stale, rs.watches, rs.reason, rs.hash_state, rs.hash_source,
                            min(starts) if starts else None))
    return tuple(out)


@dataclass(frozen=True)
class AppLink:
    """How the application named with --app gets its PostgreSQL credentials."""

    namespace: str
    """Workload namespace."""
    workload: str
    """kubectl-style `deploy/name`."""
    user: str = ""
    """The user it logs in as."""
    dbname: str = ""
    """The database it connects to ('' when not set)."""
    host: str = ""
    """The host it connects to."""
    password_secret: str = ""
    """The Secret its password comes from ('' when literal or unresolved)."""
    password_source: str = ""
    """Where its password comes from, e.g. `env PGPASSWORD ← secret ai-system/x key password`."""
    same_password: bool | None = None
    """Its password equals the role Secret's password (None when either is unknown)."""


@dataclass(frozen=True)
class RoleFacts:
    """One role seen through the five sources."""

    cluster: CnpgCluster
    """The Cluster CR (spec and status)."""
    role: str
    """Role name."""
    secret_name: str
    """Password Secret: spec passwordSecret, else the Secret the app reads ('' when none)."""
    secret: KubeSecret | None = field(default=None, repr=False)
    """The password Secret as read (None when missing)."""
    pg: PgRole | None = None
    """pg_roles row (None when missing or not read)."""
    pg_known: bool = True
    """The catalog was read, so `pg is None` means the role does not exist."""
    consumers: tuple[Consumer, ...] = ()
    """Workloads reading the password Secret."""
    now: datetime = field(default_factory=clock.now)
    """The time expiry is judged against."""
    app: AppLink | None = None
    """The app the flow was started for, if any."""

    @property
    def ns(self) -> str:
        return self.cluster.namespace

    @property
    def spec(self) -> ManagedRole | None:
        """The spec.managed.roles entry."""
        return self.cluster.role(self.role)

    @property
    def managed(self) -> bool:
        return self.spec is not None

    @property
    def bucket(self) -> str:
        """The byStatus bucket the role is listed in ('' when none)."""
        return self.cluster.status_bucket(self.role)

    @property
    def cannot_reconcile(self) -> tuple[str, ...]:
        return self.cluster.cannot_reconcile.get(self.role, ())

    @property
    def status_rv(self) -> str:
        """The Secret resourceVersion the operator last applied ('' when unknown)."""
        ps = self.cluster.password_status.get(self.role)
        if ps and ps[1]:
            return ps[1]
        return self.cluster.role_secret_versions.get(self.secret_name, "")

    @property
    def transaction_id(self) -> int:
        """passwordStatus transactionID (0 when unknown)."""
        ps = self.cluster.password_status.get(self.role)
        return ps[0] if ps else 0

    @property
    def rv_synced(self) -> bool | None:
        """The operator applied the Secret's current resourceVersion (None when unknown)."""
        if self.secret is None or not self.status_rv or not self.managed:
            return None
        return self.status_rv == self.secret.resource_version

    @property
    def labelled(self) -> bool:
        return self.secret is not None and RELOAD_LABEL in self.secret.labels

    @property
    def secret_username(self) -> str | None:
        return None if self.secret is None else self.secret.text("username")

    @property
    def xmin_drift(self) -> str:
        """Why the role looks changed behind the operator's back ('' when it does not)."""
        if self.pg is None or self.pg.xmin is None or not self.transaction_id or not self.managed:
            return ""
        if self.pg.xmin == self.transaction_id:
            return ""
        return (f"pg_authid.xmin of {self.role} is {self.pg.xmin}, but the operator recorded transactionID "
                f"{self.transaction_id} when it last set the password: the role was altered outside CNPG "
                "(e.g. a manual ALTER ROLE … PASSWORD)")
