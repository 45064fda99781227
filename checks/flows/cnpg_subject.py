"""Which CNPG cluster and role a triage is about: from --cluster/--role, the error text, or the app's settings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from checks.errors import SourceError
from checks.flows.cnpg_facts import AppLink
from checks.sources.kube_resources import CnpgCluster

SYSTEM = "cnpg"
_SERVICE = re.compile(r"^(?P<cluster>[a-z0-9]([-a-z0-9]*[a-z0-9])?)-(rw|ro|r)(\.(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?)"
                      r"(\.svc(\..*)?)?)?$")
_SECRET_SOURCE = re.compile(r"secret (?P<ns>[^/\s]+)/(?P<name>[^\s]+) key ")


@dataclass(frozen=True)
class Subject:
    """What the flow examines."""

    namespace: str
    """Cluster namespace."""
    cluster: str
    """Cluster name."""
    role: str
    """Role name."""
    cr: CnpgCluster | None = None
    """The Cluster CR when resolution already read it."""
    app: AppLink | None = None
    """The application's side, when started with --app."""
    app_password: str | None = field(default=None, repr=False)
    """The app's password (compared with the Secret's, never shown)."""
    notes: tuple[str, ...] = ()
    """How the subject was worked out (evidence for C1)."""


def split_ref(ref: str, default_ns: str) -> tuple[str, str]:
    """`ns/name` -> (ns, name); a bare name takes `default_ns`."""
    ns, _, name = ref.strip().strip("/").partition("/")
    return (ns, name) if name else (default_ns, ns)


def cluster_from_host(host: str, default_ns: str) -> tuple[str, str] | None:
    """`<cluster>-rw.<ns>.svc[.cluster.local]` (or -ro, -r, or no namespace) -> (ns, cluster)."""
    m = _SERVICE.match(host.strip().lower().rstrip("."))
    if not m:
        return None
    return m.group("ns") or default_ns, m.group("cluster")


def _password_secret(pg: Any) -> str:
    """The Secret the app's password comes from ('' when literal or unresolved)."""
    m = _SECRET_SOURCE.search(pg.source.get("password", ""))
    return m.group("name") if m else ""


def _pick_postgres(creds: Any) -> Any:
    from checks.appcreds_build import PostgresCredentials

    found = [c for c in creds.candidates if isinstance(c, PostgresCredentials)]
    if creds.postgres is not None and cluster_from_host(creds.postgres.host, creds.namespace):
        return creds.postgres
    on_cnpg = [c for c in found if cluster_from_host(c.host, creds.namespace)]
    return on_cnpg[0] if on_cnpg else creds.postgres


def list_clusters(kube: Any) -> list[CnpgCluster]:
    try:
        return kube.list_cnpg_clusters("*")
    except SourceError as exc:
        if exc.kind != "forbidden":
            raise
        return kube.list_cnpg_clusters(None)


def resolve_subject(kube: Any, *, app: str | None, cluster: str | None, role: str | None) -> Subject:
    """Work out cluster and role; SourceError when there is nothing to go on."""
    notes: list[str] = []
    link: AppLink | None = None
    app_pw: str | None = None
    app_secret = app_user = ""
    ns = name = ""
    read_problems: tuple[str, ...] = ()
    if app:
        from checks.appcreds import find_app_credentials

        app_ns, workload = split_ref(app, kube.default_namespace)
        creds = find_app_credentials(kube, app_ns, workload)
        read_problems = tuple(creds.problems)
        pg = _pick_postgres(creds)
        if pg is None:
            raise SourceError(SYSTEM, "No PostgreSQL settings", f"{app_ns}/{creds.workload} has no PostgreSQL "
                              "settings (PGHOST/PGUSER, DATABASE_URL, DB_*, KC_DB_URL…); pass --cluster and --role",
                              kind="notfound")
        app_secret, app_user, app_pw = _password_secret(pg), pg.user, pg.password
        link = AppLink(app_ns, creds.workload, pg.user, pg.dbname, pg.host, app_secret,
                       pg.source.get("password", "(no password configured)"))
        found = cluster_from_host(pg.host, app_ns)
        if found and not cluster:
            ns, name = found
            notes.append(f"{app_ns}/{creds.workload} connects to {pg.host} ({pg.source.get('host', '?')}) → "
                         f"Cluster {ns}/{name}")
    if cluster:
        ns, name = split_ref(cluster, kube.default_namespace)
    cr: CnpgCluster | None = None
    if not name:
        if not (role or app_secret or app_user):
            raise SourceError(SYSTEM, "Nothing to triage", "name the role (--role ROLE; its Cluster is found from "
                              "it, or --cluster NS/NAME) or the app (--app NS/WORKLOAD)", kind="error")
        cr = _find_cluster(kube, role, app_secret, app_user, link)
        ns, name = cr.namespace, cr.name
        notes.append(f"Cluster {ns}/{name} manages role {role or app_user}" if not app_secret else
                     f"Cluster {ns}/{name} declares the Secret the app reads")
    else:
        cr = kube.get_cnpg_cluster(ns, name)
        if cr is None and not cluster and (role or app_secret or app_user):  # e.g. a Pooler's -rw Service
            try:
                cr = _find_cluster(kube, role, app_secret, app_user, link)
            except SourceError:
                cr = None
            if cr is not None:
                notes.append(f"no Cluster {ns}/{name} behind that host; Cluster {cr.ref} manages the app's role")
                ns, name = cr.namespace, cr.name
    role = _pick_role(cr, ns, role, app_secret, app_user, link, notes)
    if not role:
        why = f" ({'; '.join(read_problems)})" if read_problems else ""
        raise SourceError(SYSTEM, "No role", f"could not tell which role to check{why}; pass --role", kind="error")
    return Subject(ns, name, role, cr, link, app_pw, tuple(notes))


def _find_cluster(kube: Any, role: str | None, secret: str, user: str, link: AppLink | None) -> CnpgCluster:
    clusters = list_clusters(kube)
    for want in (role, user):
        hits = [c for c in clusters if want and c.role(want)]
        if link is not None:
            hits = [c for c in hits if c.namespace == link.namespace] or hits
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise SourceError(SYSTEM, "Ambiguous role", f"role {want} is managed by several clusters ("
                              f"{', '.join(c.ref for c in hits)}); pass --cluster", kind="error")
    hits = [c for c in clusters if secret and link and c.namespace == link.namespace
            and any(r.password_secret == secret for r in c.managed_roles)]
    if hits:
        return hits[0]
    if len(clusters) == 1:
        return clusters[0]
    listing = ", ".join(c.ref for c in clusters) or "none"
    raise SourceError(SYSTEM, "Cluster unknown", f"no CNPG Cluster manages role {role or user or '?'} "
                      f"(clusters: {listing}); pass --cluster NS/NAME", kind="notfound")


def _pick_role(cr: CnpgCluster | None, ns: str, role: str | None, secret: str, user: str, link: AppLink | None,
               notes: list[str]) -> str:
    """Explicit role if managed; else the role whose passwordSecret the app reads; else the app's user."""
    if cr is None:
        return role or user
    if role and cr.role(role):
        return role
    by_secret = ""
    if secret and link is not None and link.namespace == ns:
        by_secret = next((r.name for r in cr.managed_roles if r.password_secret == secret), "")
    if by_secret:
        said = f" ({role!r} from the error text is the Secret's username, not a managed role)" if role else ""
        notes.append(f"the app reads Secret {secret}, the passwordSecret of role {by_secret}{said}")
        return by_secret
    if user and cr.role(user):
        notes.append(f"the app logs in as {user}, a managed role of {cr.ref}")
        return user
    return role or user
