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


def find_s3_apps(conns: Any) -> list[S3App]:
    """Every Deployment/StatefulSet with an S3 access key, sorted by app (the shared workload scan). A workload
    whose Secrets could not be read for lack of access or connection fails the whole list, as before."""
    from checks.appcreds import scan_workloads

    apps = []
    for w, found in scan_workloads(conns):
        if isinstance(found, SourceError):
            if found.kind in ("unreachable", "timeout", "auth"):
                raise found
            continue
        if found.s3 is not None and found.s3.access_key:
            apps.append(S3App(f"{w.namespace}/{w.name}", found.workload, found.s3))
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
    from checks.appcreds import list_all_namespaces

    for app in find_s3_apps(conns):
        if app.access_key.strip() == access_key:
            return KeyHolder(f"workload {app.app} ({app.workload})", app.creds, app.app)
    for sec in list_all_namespaces(conns.kube.list_secrets):
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
