"""Every workload in the cluster that consumes Dragonfly, PostgreSQL or S3: the triage targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from checks.errors import SourceError
from checks.tasks import Tasks


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


def _target(kube: Any, namespace: str, name: str, kind: str, listed: Any = None) -> Target | None:
    from checks.appcreds import find_app_credentials

    ref = ("deploy/" if kind == "Deployment" else "sts/") + name
    try:
        creds = find_app_credentials(kube, namespace, ref, listed)
    except SourceError:
        return None
    redis = (creds.redis.username or "default") if creds.redis else ""
    pg = creds.postgres.user if creds.postgres else ""
    s3 = ""
    if creds.s3:
        s3 = f"{creds.s3.access_key or '?'} → {creds.s3.bucket or '?'}"
    if not (redis or pg or s3):
        return None
    return Target(f"{namespace}/{name}", kind, redis, pg, s3)


def list_targets(conns: Any) -> list[Target]:
    """Workloads with credentials for at least one shared service, sorted by app."""
    from checks.appcreds import prefetch_env_sources

    kube = conns.kube
    with Tasks(max_workers=8) as pool:
        sts = pool.submit(kube.list_statefulsets, "*")
        deploys = kube.list_deployments("*")
        stateful = sts.result()
        secrets = prefetch_env_sources(kube, [*deploys, *stateful])  # lists, not one get per Secret
        workloads = [(w.namespace, w.name, "Deployment") for w in deploys]
        workloads += [(w.namespace, w.name, "StatefulSet") for w in stateful]
        found = list(pool.map(lambda w: _target(kube, *w, secrets.get(w[0])), workloads))
    return sorted((t for t in found if t is not None), key=lambda t: t.app)
