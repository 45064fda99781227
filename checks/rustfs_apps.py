"""Applications that hold S3 keys: found through appcreds over Deployments/StatefulSets, or by the
Secret holding a given access key. Endpoints are mapped to where they are reachable from here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from checks.appcreds_build import S3Credentials
from checks.config import SecretRef
from checks.errors import SourceError
from checks.redact import fingerprint
from checks.tasks import Tasks


@dataclass(frozen=True)
class S3App:
    """A workload and the S3 credentials it uses."""

    app: str
    """`namespace/name` of the workload."""
    workload: str
    """kubectl-style reference, e.g. `deploy/litellm`."""
    creds: S3Credentials = field(repr=False)
    """Its credentials (secret key byte-exact, never shown)."""

    @property
    def access_key(self) -> str:
        return self.creds.access_key

    @property
    def bucket(self) -> str:
        return self.creds.bucket

    @property
    def secret_ref(self) -> SecretRef | None:
        return self.creds.secret_ref

    def fingerprint(self) -> str:
        """Display-safe fingerprint of the secret key."""
        return fingerprint(self.creds.secret_key)


def _list_all(fn: Any) -> list[Any]:
    try:
        return fn("*")
    except SourceError as exc:
        if exc.kind != "forbidden":
            raise
        return fn(None)


def _one(kube: Any, ns: str, ref: str, listed: Any = None) -> S3App | None:
    from checks.appcreds import find_app_credentials

    try:
        found = find_app_credentials(kube, ns, ref, listed)
    except SourceError as exc:
        if exc.kind in ("unreachable", "timeout", "auth"):
            raise
        return None
    s3 = found.s3
    if s3 is None or not s3.access_key:
        return None
    return S3App(f"{ns}/{ref.split('/', 1)[1]}", found.workload, s3)


def find_s3_apps(conns: Any) -> list[S3App]:
    """Every Deployment/StatefulSet with an S3 access key, sorted by app."""
    from checks.appcreds import prefetch_env_sources

    kube = conns.kube
    with Tasks(max_workers=8) as pool:
        sts = pool.submit(_list_all, kube.list_statefulsets)
        deploys = _list_all(kube.list_deployments)
        stateful = sts.result()
        secrets = prefetch_env_sources(kube, [*deploys, *stateful])  # lists, not one get per Secret
        refs = [(w.namespace, f"deploy/{w.name}") for w in deploys]
        refs += [(w.namespace, f"sts/{w.name}") for w in stateful]
        apps = [a for a in pool.map(lambda r: _one(kube, *r, secrets.get(r[0])), refs) if a is not None]
    return sorted(apps, key=lambda a: a.app)


def app_credentials(conns: Any, app: str) -> tuple[str, Any]:
    """`NS/WORKLOAD` (or `NS/deploy/NAME`) -> (app label, AppCredentials). Raises SourceError."""
    from checks.appcreds import find_app_credentials

    ns, sep, workload = app.partition("/")
    if not sep or not workload:
        raise SourceError("triage", "Bad --app", f"{app!r}: give NAMESPACE/WORKLOAD, e.g. ai-system/litellm")
    return app, find_app_credentials(conns.kube, ns, workload)


@dataclass(frozen=True)
class KeyHolder:
    """Where an access key was found when only the key was given."""

    where: str
    """Human description: the workload, or the Secret."""
    creds: S3Credentials | None = field(default=None, repr=False)
    """Credentials assembled from it (secret key None when no sibling secret key was found)."""
    app: str = ""
    """`namespace/name` of the workload using it, '' when found only in a Secret."""


_SECRET_NAMES = ("SECRET_ACCESS_KEY", "SECRET_KEY", "SECRETKEY", "secret_key", "secretKey", "secret-key")


def find_key_holder(conns: Any, access_key: str) -> KeyHolder | None:
    """The workload whose S3 credentials use `access_key`, else a Secret holding it as a value."""
    for app in find_s3_apps(conns):
        if app.access_key.strip() == access_key:
            return KeyHolder(f"workload {app.app} ({app.workload})", app.creds, app.app)
    for sec in _list_all(conns.kube.list_secrets):
        for key in sec.keys:
            if (sec.text(key) or "").strip() != access_key:
                continue
            sibling = next((k for k in sec.keys if any(k.upper().endswith(n.upper()) for n in _SECRET_NAMES)), None)
            ref = SecretRef(sec.namespace, sec.name, sibling) if sibling else None
            creds = S3Credentials(access_key=access_key, secret_key=sec.text(sibling) if sibling else None,
                                  source={"access_key": f"secret {sec.ref} key {key}",
                                          **({"secret_key": f"secret {sec.ref} key {sibling}"} if sibling else {})},
                                  secret_ref=ref)
            return KeyHolder(f"secret {sec.ref} key {key}", creds)
    return None


def reachable_url(conns: Any, endpoint: str) -> str:
    """Map an in-cluster endpoint URL to where it is reachable from here (config endpoints / port-forward)."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    rhost, rport = conns.resolve(host, port)
    netloc = f"[{rhost}]:{rport}" if ":" in rhost else f"{rhost}:{rport}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def default_endpoint(conns: Any) -> str:
    """The RustFS Service from the config (`rustfs.service`) as an in-cluster http:// URL."""
    ns, _, name = conns.config.rustfs.service.rpartition("/")
    return f"http://{name}.{ns or 'storage'}.svc.cluster.local:9000"
