"""The CNPG pane's data: every Cluster of the context, each with its roles correlated across the spec,
the operator status, the password Secret, PostgreSQL and the consuming workloads (headless)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from checks import clock
from checks.errors import SourceError
from checks.flows.cnpg_facts import Consumer, RoleFacts, find_consumers, is_reserved
from checks.flows.cnpg_reasons import short_reason
from checks.flows.cnpg_steps import c2_declared, c3_secret, c4_applied, c5_usable, c6_estimate, c7_consumers
from checks.model import Step
from checks.redact import describe_secret
from checks.sources.kube_models import KubePod, KubeSecret, KubeWorkload
from checks.sources.kube_resources import CnpgCluster, ManagedRole
from checks.sources.postgres import PgRole
from checks.tasks import Tasks

Severity = Literal["fail", "warn", "pass"]
RANK = {"fail": 0, "error": 0, "warn": 1, "pass": 2, "skip": 2}


@dataclass(frozen=True)
class SecretView:
    """The password Secret, as far as it may be shown."""

    name: str
    """Secret name ('' when the role declares none)."""
    exists: bool
    """The Secret was found."""
    type: str = ""
    """Secret type."""
    keys: tuple[str, ...] = ()
    """Key names."""
    username: str = ""
    """The `username` value (a role name, not a secret)."""
    username_matches: bool = False
    """`username` equals the role name."""
    reload_label: bool = False
    """Carries the cnpg.io/reload label."""
    resource_version: str = ""
    """Current metadata.resourceVersion."""
    applied_version: str = ""
    """The resourceVersion the operator last applied (passwordStatus)."""
    last_changed: datetime | None = None
    """Last write to the Secret."""
    password: str = ""
    """Fingerprint, length and whitespace notes of the password; never the value."""


@dataclass(frozen=True)
class PgView:
    """The role in pg_roles / pg_authid."""

    exists: bool
    """The role exists in the database."""
    can_login: bool = False
    """rolcanlogin."""
    superuser: bool = False
    """rolsuper."""
    valid_until: datetime | None = None
    """rolvaliduntil (None = never)."""
    expired: bool = False
    """VALID UNTIL is in the past."""
    conn_limit: int = -1
    """rolconnlimit (-1 = none)."""
    connections: int = 0
    """Sessions now."""
    member_of: tuple[str, ...] = ()
    """Granted roles."""
    xmin: int | None = None
    """pg_authid.xmin (superuser only)."""
    has_password: bool | None = None
    """A password is set (superuser only)."""


@dataclass(frozen=True)
class RoleRow:
    """One role of one cluster, with the verdict of the flow's read-only steps."""

    cluster: str
    """`namespace/name` of the Cluster."""
    name: str
    """Role name."""
    category: Literal["managed", "not-managed", "reserved"]
    """Declared in spec.managed.roles, only in the database, or kept by the operator."""
    spec: ManagedRole | None = None
    """The spec entry (managed roles)."""
    bucket: str = ""
    """status.managedRolesStatus.byStatus bucket ('' when not listed)."""
    cannot_reconcile: tuple[str, ...] = ()
    """cannotReconcile texts."""
    transaction_id: int = 0
    """passwordStatus transactionID (0 = none)."""
    secret: SecretView | None = None
    """The password Secret (managed roles)."""
    pg: PgView | None = None
    """The database's view (None when the catalog could not be read)."""
    consumers: tuple[Consumer, ...] = ()
    """Workloads reading the password Secret."""
    steps: tuple[Step, ...] = ()
    """C2–C7 judged without logging in (C6 from the catalog's hints only)."""
    severity: Severity = "pass"
    """Worst step status."""
    code: str | None = None
    """Root-cause code of the first problem."""
    reason: str = ""
    """Why the row is coloured, in a few words."""

    @property
    def key(self) -> str:
        """Row key: `namespace/cluster/role`."""
        return f"{self.cluster}/{self.name}"

    @property
    def problem(self) -> Step | None:
        """The step that decided the severity."""
        return next((s for s in self.steps if s.status in ("fail", "error")), None) or \
            next((s for s in self.steps if s.status == "warn"), None)


@dataclass(frozen=True)
class ClusterView:
    """One CNPG Cluster and its roles."""

    namespace: str
    """Cluster namespace."""
    name: str
    """Cluster name."""
    phase: str = ""
    """status.phase."""
    primary: str = ""
    """status.currentPrimary."""
    instances: int = 0
    """spec.instances."""
    ready_instances: int = 0
    """status.readyInstances."""
    roles: tuple[RoleRow, ...] = ()
    """Managed roles, problems first."""
    others: tuple[RoleRow, ...] = ()
    """Not-managed and reserved roles."""
    pg_error: str = ""
    """Why the database could not be read ('' when it was)."""
    problems: tuple[str, ...] = ()
    """Other reads that failed (Secrets, workloads)."""

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def healthy(self) -> bool:
        return self.phase == "Cluster in healthy state"

    @property
    def severity(self) -> Severity:
        worst = min([RANK[r.severity] for r in self.roles] + [0 if self.pg_error else 2]
                    + [1 if not self.healthy else 2])
        return ("fail", "warn", "pass")[worst]  # type: ignore[return-value]


@dataclass(frozen=True)
class CnpgView:
    """Everything the CNPG pane shows."""

    context: str
    """Kube context name."""
    clusters: tuple[ClusterView, ...] = ()
    """Clusters, problems first."""
    problems: tuple[str, ...] = ()
    """Reads that failed for the whole pane."""
    taken_at: datetime | None = field(default=None, compare=False)
    """When the data was read."""

    def role(self, key: str) -> RoleRow | None:
        """A role by `namespace/cluster/role`."""
        for c in self.clusters:
            for r in (*c.roles, *c.others):
                if r.key == key:
                    return r
        return None


def _secret_view(f: RoleFacts) -> SecretView:
    s = f.secret
    if s is None:
        return SecretView(f.secret_name, False, applied_version=f.status_rv)
    user = s.text("username") or ""
    return SecretView(s.name, True, s.type, s.keys, user, user.strip() == f.role, f.labelled, s.resource_version,
                      f.status_rv, s.last_changed, describe_secret(s.value("password")))


def _pg_view(pg: PgRole | None, now: datetime) -> PgView:
    if pg is None:
        return PgView(False)
    return PgView(True, pg.can_login, pg.superuser, pg.valid_until, pg.expired(now), pg.conn_limit,
                  pg.current_connections, pg.member_of, pg.xmin, pg.has_password)


def managed_row(f: RoleFacts) -> RoleRow:
    """Judge one managed role with the flow's read-only steps."""
    steps = (c2_declared(f), c3_secret(f), c4_applied(f), c5_usable(f), c6_estimate(f), c7_consumers(f))
    worst = min(RANK[s.status] for s in steps)
    severity: Severity = ("fail", "warn", "pass")[worst]  # type: ignore[assignment]
    first = next((s for s in steps if RANK[s.status] == worst and worst < 2), None)
    return RoleRow(f.cluster.ref, f.role, "managed", f.spec, f.bucket, f.cannot_reconcile, f.transaction_id,
                   _secret_view(f), _pg_view(f.pg, f.now) if f.pg_known else None, f.consumers, steps, severity,
                   first.code if first else None, short_reason(first, f) if first else "")


def build_cluster_view(cluster: CnpgCluster, secrets: Mapping[str, KubeSecret], pg_roles: Sequence[PgRole] | None,
                       workloads: Iterable[KubeWorkload], pods: Iterable[KubePod], now: datetime,
                       pg_error: str = "", problems: Sequence[str] = ()) -> ClusterView:
    """Correlate the sources for every role of one cluster (pure; the snapshot tests feed fixed objects)."""
    # consumers are looked for among the Secret's own namespace only (as find_consumers does), once per Secret:
    # thousands of roles against hundreds of workloads would otherwise be a scan of every workload per role
    local: dict[str, tuple[list[KubeWorkload], list[KubePod]]] = {}
    for w in workloads:
        local.setdefault(w.namespace, ([], []))[0].append(w)
    for pod in pods:
        local.setdefault(pod.namespace, ([], []))[1].append(pod)
    consumers_of: dict[str, tuple[Consumer, ...]] = {}
    by_name = {r.name: r for r in pg_roles or ()}
    rows = []
    for spec in cluster.managed_roles:
        secret = secrets.get(spec.password_secret) if spec.password_secret else None
        consumers: tuple[Consumer, ...] = ()
        if secret is not None:
            known = consumers_of.get(secret.name)
            if known is None:
                known = consumers_of[secret.name] = find_consumers(secret, *local.get(secret.namespace, ([], [])))
            consumers = known
        rows.append(managed_row(RoleFacts(cluster, spec.name, spec.password_secret, secret, by_name.get(spec.name),
                                          pg_roles is not None, consumers, now)))
    rows.sort(key=lambda r: (RANK[r.severity], r.name))
    managed = {r.name for r in cluster.managed_roles}
    listed = {n: b for b in ("not-managed", "reserved") for n in cluster.roles_by_status.get(b, ())}
    if not cluster.roles_by_status:  # the operator reported nothing: judge from the catalog
        listed = {n: "reserved" if is_reserved(n) else "not-managed" for n in by_name
                  if n not in managed and not n.startswith("pg_")}
    others = []
    for name, bucket in sorted(listed.items(), key=lambda kv: (kv[1], kv[0])):
        if name in managed:
            continue
        pg = by_name.get(name)
        reason = "kept by the operator" if bucket == "reserved" else "in the database, not in spec.managed.roles"
        if pg_roles is not None and pg is None:
            reason = "listed by the operator, not in the database"
        others.append(RoleRow(cluster.ref, name, bucket, bucket=bucket,  # type: ignore[arg-type]
                              pg=_pg_view(pg, now) if pg_roles is not None else None, reason=reason))
    return ClusterView(cluster.namespace, cluster.name, cluster.phase, cluster.current_primary, cluster.instances,
                       cluster.ready_instances, tuple(rows), tuple(others), pg_error, tuple(problems))


def _soft(fn: Any, *args: Any) -> tuple[Any, str]:
    try:
        return fn(*args), ""
    except SourceError as exc:
        return None, f"{exc.title}: {exc.message}"


def load_cnpg_view(conns: Any) -> CnpgView:
    """Read every cluster of the context and its namespace's Secrets, workloads and pods, concurrently."""
    from checks.flows.cnpg import admin_version_and_roles
    from checks.flows.cnpg_subject import list_clusters

    kube = conns.kube
    clusters = sorted(list_clusters(kube), key=lambda c: c.ref)
    namespaces = sorted({c.namespace for c in clusters})
    now = clock.now()
    def each_namespace(fn: Any) -> dict[str, tuple[Any, str]]:
        # one list of all namespaces (the Overview and the consumer scans list the same, so one refresh asks
        # once), split here; when that fails, one list per namespace as before (and their errors, as before)
        if not namespaces:
            return {}
        listed, err = _soft(fn, "*")
        if not err:
            return {ns: ([x for x in listed if x.namespace == ns], "") for ns in namespaces}
        return {ns: _soft(fn, ns) for ns in namespaces}

    def namespace_pods() -> dict[str, tuple[Any, str]]:
        # the pods of the clusters' namespaces only: nothing else lists every pod (on a large cluster that list
        # is tens of MB), so a list per namespace, at once
        with Tasks(max_workers=8) as each:
            return dict(zip(namespaces, each.map(lambda ns: _soft(kube.list_pods, ns), namespaces)))

    with Tasks(max_workers=8) as pool:
        kinds = (("secrets", kube.list_secrets), ("deploy", kube.list_deployments), ("sts", kube.list_statefulsets))
        per_kind = {what: pool.submit(each_namespace, fn) for what, fn in kinds}
        per_kind["pods"] = pool.submit(namespace_pods)
        roles = {c.ref: pool.submit(_soft, lambda c=c: admin_version_and_roles(conns, c.namespace, c.name)[1])
                 for c in clusters}
        reads = {(ns, what): got for what, future in per_kind.items() for ns, got in future.result().items()}
        views = []
        for c in clusters:
            got = {what: reads[(c.namespace, what)] for what in ("secrets", "deploy", "sts", "pods")}
            problems = [f"{what} of {c.namespace}: {err}" for what, (_, err) in got.items() if err]
            pg_roles, pg_error = roles[c.ref].result()
            secrets = {s.name: s for s in got["secrets"][0] or ()}
            if got["secrets"][1]:  # listing forbidden: read each password Secret by name
                for r in c.managed_roles:
                    one, _ = _soft(kube.get_secret, c.namespace, r.password_secret) if r.password_secret else (None, "")
                    if one is not None:
                        secrets[one.name] = one
            views.append(build_cluster_view(c, secrets, pg_roles, [*(got["deploy"][0] or ()), *(got["sts"][0] or ())],
                                            got["pods"][0] or (), now, pg_error, problems))
    views.sort(key=lambda v: (RANK[v.severity], v.ref))
    return CnpgView(kube.context_name, tuple(views), (), now)
