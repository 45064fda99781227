"""The Overview: each system's reachability, version and counts, and what our own identity may do.

Every system is probed concurrently and on its own: one dead service degrades its row only.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any

from checks.errors import SourceError
from checks.tasks import Tasks


@dataclass(frozen=True)
class SystemStatus:
    """One row of the systems table."""

    system: str
    """kubernetes | dragonfly | cnpg | rustfs | prometheus | alertmanager."""
    status: str
    """pass (reachable) | warn (reachable, degraded) | error (unreachable or unusable) | skip (not found)."""
    endpoint: str = ""
    """In-cluster service (and where it is reached)."""
    version: str = ""
    counts: str = ""
    """Short counts, e.g. '6 ACL users, 3 denials'."""
    alerts: str = ""
    """Firing/pending counts (prometheus row)."""
    detail: str = ""
    """The error message or what is degraded."""


@dataclass(frozen=True)
class PermissionCheck:
    """Whether clusterdeck's own identity may run one operation, and what a missing grant disables."""

    system: str
    operation: str
    allowed: bool | None
    """True, False, or None when it could not be tested."""
    disables: str
    """Feature lost without it."""
    detail: str = ""


@dataclass(frozen=True)
class Overview:
    context: str
    systems: tuple[SystemStatus, ...]
    permissions: tuple[PermissionCheck, ...]


Probe = tuple[list[SystemStatus], list[PermissionCheck]]


def _down(system: str, exc: SourceError, endpoint: str = "") -> Probe:
    status = "skip" if exc.kind == "notfound" else "error"
    return [SystemStatus(system, status, endpoint, detail=f"{exc.title}: {exc.message}")], []


def _kube(conns: Any) -> Probe:
    kube = conns.kube
    perms: list[PermissionCheck] = []
    counts: list[str] = []
    reads: list[tuple[str, Callable[[], Any], str]] = [
        ("list secrets", lambda: kube.list_secrets("*"), "credential lookup for every flow"),
        # counted from a list of one (a list of every pod of a large cluster is tens of MB; no pane needs it)
        ("list pods", lambda: kube.read_pod_count("*"), "pod freshness (D9, C7), client→pod mapping"),
        ("list deployments", lambda: kube.list_deployments("*"), "finding consumers of a Secret"),
        ("list statefulsets", lambda: kube.list_statefulsets("*"), "finding consumers of a Secret"),
        ("list dragonflies.dragonflydb.io", lambda: kube.list_dragonflies("*"), "Dragonfly discovery (D1)"),
        ("list clusters.postgresql.cnpg.io", lambda: kube.list_cnpg_clusters("*"), "CNPG pane and flow"),
        ("list ciliumnetworkpolicies", lambda: kube.list_cilium_network_policies("*"), "network path check (D10)"),
    ]
    first_error: SourceError | None = None

    def attempt(fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except SourceError as exc:
            return exc

    # the reads are independent: asked at once, judged in order (the first fatal one decides, as before)
    with Tasks(max_workers=len(reads) + 1) as pool:
        version_read = pool.submit(attempt, lambda: kube.server_version())
        answers = list(pool.map(attempt, [fn for _, fn, _ in reads]))
    for (op, _, disables), answer in zip(reads, answers):
        try:
            if isinstance(answer, SourceError):
                raise answer
            items = answer
            perms.append(PermissionCheck("kubernetes", op, True, disables))
            if op == "list pods":
                counts.append(f"{items[0]}{'' if items[1] else '+'} pods")
            elif op in ("list secrets", "list deployments"):
                counts.append(f"{len(items)} {op.split()[1]}")
        except SourceError as exc:
            if exc.kind in ("unreachable", "timeout", "auth"):
                return _down("kubernetes", exc, getattr(kube, "server", ""))
            first_error = first_error or exc
            perms.append(PermissionCheck("kubernetes", op, False if exc.kind == "forbidden" else None, disables,
                                         exc.message))
    version = ""
    try:
        answer = version_read.result()
        version = "" if isinstance(answer, SourceError) else answer
    except AttributeError:
        answer = None
    # `/version` is the live probe (the lists may be answers of a few seconds ago): how the API answers now
    if isinstance(answer, SourceError) and answer.kind == "forbidden":
        first_error = first_error or answer
    elif isinstance(answer, SourceError) and answer.kind != "notfound":
        return _down("kubernetes", answer, getattr(kube, "server", ""))
    status = "warn" if first_error else "pass"
    row = SystemStatus("kubernetes", status, getattr(kube, "server", ""), version, ", ".join(counts),
                       detail=first_error.message if first_error else "")
    return [row], perms


_REDIS_OPS = (("INFO", "memory gauge, version, D11"), ("ACL LIST", "users table, D3/D4/D8"),
              ("ACL LOG", "recent denials (D7); often behind -@dangerous"), ("SLOWLOG GET", "slowlog tab"),
              ("CONFIG GET maxmemory", "config & drift tab"))


def _dragonfly(conns: Any) -> Probe:
    from checks.dragonfly_view import admin_snapshot

    snap, ep = admin_snapshot(conns)  # the Dragonfly pane's snapshot when it asked within seconds
    perms = []
    for op, disables in _REDIS_OPS:
        denied = snap.denied.get(op)
        perms.append(PermissionCheck("dragonfly", op, denied is None, disables, denied or ""))
    info = snap.info
    version = ""
    if info is not None:
        version = f"{info.flavor} {info.version}"
    counts = f"{len(snap.acl_users)} users, {len(snap.acl_log)} denials logged"
    if info is not None and info.maxmemory:
        counts += f", mem {100 * info.used_memory / info.maxmemory:.0f}%"
    status = "warn" if snap.denied else "pass"
    return [SystemStatus("dragonfly", status, f"{ep.service} → {ep.host}:{ep.port}", version, counts,
                         detail="denied: " + ", ".join(snap.denied) if snap.denied else "")], perms


def _cnpg(conns: Any) -> Probe:
    clusters = conns.kube.list_cnpg_clusters("*")
    if not clusters:
        return [SystemStatus("cnpg", "skip", detail="no postgresql.cnpg.io Cluster in this context")], []
    rows, perms = [], []
    with Tasks(max_workers=8) as pool:  # every cluster at once: its Secret, then one connection's queries
        probed = list(pool.map(lambda c: _cnpg_cluster(conns, c), clusters))
    for row, found in probed:
        rows.append(row)
        perms += found
    return rows, perms


def _cnpg_cluster(conns: Any, c: Any) -> tuple[SystemStatus, list[PermissionCheck]]:
    from checks.flows.cnpg import admin_version_and_roles

    name = f"{c.namespace}/{c.name}"
    try:
        ep = conns.postgres_admin(c.namespace, c.name)
        # one connection, not one per query; the CNPG pane's answer when it asked within seconds
        version, roles = admin_version_and_roles(conns, c.namespace, c.name)
    except SourceError as exc:
        return SystemStatus(f"cnpg {name}", "error", detail=f"{exc.title}: {exc.message}"), []
    managed = len(c.managed_roles) if hasattr(c, "managed_roles") else 0
    row = SystemStatus(f"cnpg {name}", "pass", f"{ep.service} → {ep.host}:{ep.port}", version,
                       f"{managed} managed roles, {len(roles)} roles in pg_roles", detail=c.phase)
    superuser = any(r.name == ep.user and r.superuser for r in roles)
    return row, [PermissionCheck("cnpg", f"SELECT pg_roles ({name})", True, "C5, roles table"),
                 PermissionCheck("cnpg", f"read pg_authid ({name})", superuser,
                                 "detect manual ALTER ROLE (xmin vs passwordStatus)")]


def _rustfs(conns: Any) -> Probe:
    """ListBuckets and the admin API's list-users, at once, with the admin Secret's keys; from the second
    time on without waiting for the Secret and Service to be read again (as the RustFS pane: `with_admin_endpoint`)."""
    from checks.rustfs_iam import with_admin_endpoint

    return with_admin_endpoint(conns, lambda ep: _rustfs_probe(conns, ep))


def _rustfs_probe(conns: Any, ep: Any) -> Probe:
    from checks.rustfs_iam import admin_users
    from checks.rustfs_view import recent_buckets

    if isinstance(ep, SourceError):
        raise ep
    with Tasks(max_workers=1) as pool:
        # the identity snapshot's list-users and the RustFS pane's listing when it asked within seconds
        users = pool.submit(admin_users, conns, ep)
        listing = recent_buckets(conns, ep)
    perms = [PermissionCheck("rustfs", "ListAllMyBuckets", listing.ok, "buckets tab, R7",
                             "" if listing.ok else f"{listing.code}: {listing.message}")]
    admin_ok: bool | None = None
    detail = ""
    try:
        users.result()
        admin_ok = True
    except SourceError as exc:
        admin_ok = False if exc.kind == "forbidden" else None
        detail = exc.message
    perms.append(PermissionCheck("rustfs", "admin API list-users", admin_ok,
                                 "identity tab and R8 via the RustFS admin API (IAM API fallback on the lab)", detail))
    if not listing.ok:
        return [SystemStatus("rustfs", "error", ep.service, detail=f"{listing.code}: {listing.message}")], perms
    buckets = listing.value or []
    return [SystemStatus("rustfs", "pass", f"{ep.service} → {ep.endpoint_url}", "S3 API",
                         f"{len(buckets)} buckets")], perms


def _prometheus(conns: Any) -> Probe:
    from checks.alerts import alert_counts, prometheus_rules

    url = conns.prometheus_url()
    src = conns.prometheus(url, conns.config.timeout)
    with Tasks(max_workers=2) as pool:  # the build, the counts and the rules at once
        counted = pool.submit(alert_counts, conns)
        listed = pool.submit(prometheus_rules, conns, src, url)
        build = src.buildinfo()
        counts, rules = counted.result(), sum(len(g.rules) for g in listed.result())
    quiet = f", {counts.suppressed} silenced" if counts.suppressed else ""
    return [SystemStatus("prometheus", "pass", url, build.version, f"{rules} rules",
                         f"{counts.firing} firing, {counts.pending} pending{quiet}")], [
        PermissionCheck("prometheus", "GET /api/v1/alerts, /api/v1/rules", True, "alerts pane")]


def _alertmanager(conns: Any) -> Probe:
    url = conns.alertmanager_url()
    from checks.alerts import alertmanager_alerts

    alerts = alertmanager_alerts(conns, url)
    silenced = sum(1 for a in alerts if a.silenced_by)
    return [SystemStatus("alertmanager", "pass", url, "", f"{len(alerts)} alerts", f"{silenced} silenced")], []


PROBES: dict[str, Callable[[Any], Probe]] = {
    "kubernetes": _kube, "dragonfly": _dragonfly, "cnpg": _cnpg, "rustfs": _rustfs,
    "prometheus": _prometheus, "alertmanager": _alertmanager,
}


def _guarded(name: str, fn: Callable[[Any], Probe], conns: Any) -> Probe:
    try:
        return fn(conns)
    except SourceError as exc:
        return _down(name, exc)


CHECKING = "checking"
"""The status of a system whose probe has not answered yet (rows shown while the Overview fills in)."""


def collect_overview(conns: Any, on_progress: Callable[[Overview], None] | None = None) -> Overview:
    """Probe every system concurrently; a failing one becomes an error row, never an exception.
    `on_progress`: called (in this thread) with the Overview so far each time a probe but the last answers,
    the systems still probed as CHECKING rows, so that a screen shows the systems that answered at once
    rather than after the slowest one (a hung service is waited on up to the timeout)."""
    with Tasks(max_workers=len(PROBES)) as pool:
        futures = {name: pool.submit(_guarded, name, fn, conns) for name, fn in PROBES.items()}
        if on_progress is not None:
            pending = set(futures.values())
            while len(pending) > 1:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                if pending:
                    on_progress(_so_far(conns, futures))
        results = [futures[name].result() for name in PROBES]
    systems = tuple(s for rows, _ in results for s in rows)
    perms = tuple(p for _, ps in results for p in ps)
    try:
        context = conns.kube.context_name
    except SourceError:
        context = conns.context or ""
    return Overview(context, systems, perms)


def _so_far(conns: Any, futures: dict[str, Future[Probe]]) -> Overview:
    """The Overview of the probes that answered, a CHECKING row for each other one."""
    timeout = getattr(getattr(conns, "config", None), "timeout", None)
    bound = f" (each probe is bounded by the {timeout:g}s timeout)" if isinstance(timeout, (int, float)) else ""
    systems: list[SystemStatus] = []
    perms: list[PermissionCheck] = []
    for name, future in futures.items():
        if future.done() and future.exception() is None:
            rows, found = future.result()
            systems += rows
            perms += found
        elif not future.done():
            systems.append(SystemStatus(name, CHECKING, detail=f"waiting for its answer{bound}"))
    return Overview(getattr(conns, "context", None) or "", tuple(systems), tuple(perms))
