"""Every workload in the cluster that consumes Dragonfly, PostgreSQL or S3: the triage targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from checks.errors import SourceError


@dataclass(frozen=True)
class Target:
    """One consuming workload and the identities it uses (names only, never secrets)."""

    app: str
    """`namespace/name` of the Deployment or StatefulSet."""
    kind: str
    """Deployment | StatefulSet."""
    redis: str = ""
    """Dragonfly/Redis ACL user it authenticates as ('' when none)."""
    postgres: str = ""
    """PostgreSQL role it logs in as."""
    s3: str = ""
    """`access key id → bucket` it uses."""

    @property
    def flows(self) -> tuple[str, ...]:
        return tuple(f for f, v in (("dragonfly", self.redis), ("cnpg", self.postgres), ("rustfs", self.s3)) if v)


def _target(w: Any, creds: Any) -> Target | None:
    redis = (creds.redis.username or "default") if creds.redis else ""
    pg = creds.postgres.user if creds.postgres else ""
    s3 = ""
    if creds.s3:
        s3 = f"{creds.s3.access_key or '?'} → {creds.s3.bucket or '?'}"
    if not (redis or pg or s3):
        return None
    return Target(f"{w.namespace}/{w.name}", w.kind, redis, pg, s3)


def list_targets(conns: Any) -> list[Target]:
    """Workloads with credentials for at least one shared service, sorted by app (the shared workload scan)."""
    from checks.appcreds import scan_workloads

    found = [_target(w, creds) for w, creds in scan_workloads(conns) if not isinstance(creds, SourceError)]
    return sorted((t for t in found if t is not None), key=lambda t: t.app)
