"""RustFS flow steps R1–R4: endpoint, credentials located, credentials valid, bucket exists."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checks.config import SecretRef
from checks.errors import SourceError
from checks.flows import rustfs_fixes as fixes
from checks.model import Step
from checks.redact import describe_secret
from checks.rustfs_iam import AdminAccess, try_admin
from checks.sources.s3 import ROOT_CAUSES, S3Probe, S3Source


@dataclass
class FlowCtx:
    """State shared by the steps of one run (internal and mutable; never serialised)."""

    conns: Any
    """Connections."""
    access_key: str = ""
    """The app's access key id."""
    secret_key: str | None = field(default=None, repr=False)
    """The app's secret key, byte-exact."""
    bucket: str = ""
    """The app's bucket ('' when unknown)."""
    endpoint: str = ""
    """Endpoint URL as the app configures it."""
    region: str = "us-east-1"
    """Signing region (the app's, else config rustfs.region)."""
    where: str = ""
    """Where the credentials were found."""
    sources: dict[str, str] = field(default_factory=dict)
    """Field -> where its value came from."""
    secret_ref: SecretRef | None = None
    """Secret key holding the secret key."""
    id_key: str = ""
    """Secret key name holding the access key id, when known."""
    path_style: bool | None = None
    """Forced path-style addressing."""
    problems: tuple[str, ...] = ()
    """What appcreds could not resolve."""
    url: str = ""
    """Endpoint reachable from here (set by R1)."""
    client: S3Source | None = field(default=None, repr=False)
    """S3 client with the app's keys (set by R3's preconditions)."""
    bucket_exists: bool | None = None
    """Set by R4."""
    error_code: str = ""
    """The S3 error code in the text the app logged."""
    app_name: str = ""
    """Workload name (used to guess the RustFS user when the key is unknown)."""
    _admin: AdminAccess | None = field(default=None, repr=False)

    @property
    def timeout(self) -> float:
        return float(getattr(self.conns.config, "timeout", 5.0))

    def admin(self) -> AdminAccess:
        """Admin S3 client and identity snapshot, read once."""
        if self._admin is None:
            self._admin = try_admin(self.conns)
        return self._admin

    def owner(self) -> str:
        """The RustFS user owning the access key ('' when unknown)."""
        iam = self.admin().iam
        info = iam.owner_of(self.access_key) if iam else None
        return info.user if info else ""

    def policies(self) -> list[str]:
        iam = self.admin().iam
        user = self.owner()
        return [p for p, _ in iam.policies_of(user)] if iam and user else []

    def logged(self, code: str) -> tuple[str, ...]:
        return (f"matches the error the app logged ({self.error_code})",) if code and code == self.error_code else ()


def _probe_health(conns: Any, url: str, timeout: float) -> tuple[S3Probe | None, str]:
    try:
        return conns.s3(url, "health", "health", timeout=timeout).health(), ""
    except SourceError as exc:
        return None, f"{exc.title}: {exc.message}"


def step_endpoint(ctx: FlowCtx) -> Step:
    """R1: the endpoint answers, over the scheme the app uses."""
    title = "endpoint reachable"
    src = ctx.sources.get("endpoint", "")
    if not ctx.endpoint:
        return Step("R1", title, "fail", "S3_ENDPOINT_UNREACHABLE",
                    ("the app configures no S3 endpoint: its SDK would call AWS, not RustFS",),
                    "Set the endpoint, e.g. AWS_ENDPOINT_URL=http://rustfs-svc.storage.svc.cluster.local:9000 "
                    "(Dragonfly: --s3_endpoint=rustfs-svc.storage.svc.cluster.local:9000 --s3_use_https=false).")
    from checks.rustfs_apps import reachable_url

    evidence = [f"endpoint {ctx.endpoint}" + (f" ({src})" if src else "")]
    try:
        ctx.url = reachable_url(ctx.conns, ctx.endpoint)
    except SourceError as exc:
        return Step("R1", title, "fail", "S3_ENDPOINT_UNREACHABLE", (*evidence, f"{exc.title}: {exc.message}"),
                    "Check the RustFS pod and Service: kubectl -n storage get pods,svc")
    if ctx.url != ctx.endpoint:
        evidence.append(f"reached from here at {ctx.url}")
    probe, err = _probe_health(ctx.conns, ctx.url, ctx.timeout)
    scheme = ctx.url.split("://", 1)[0]
    if probe is None:
        other = "http" if scheme == "https" else "https"
        alt_url = other + ctx.url[len(scheme):]
        alt, alt_err = _probe_health(ctx.conns, alt_url, ctx.timeout)
        evidence.append(f"{scheme}://: {err}")
        if alt is not None or "certificate" in alt_err.lower():
            evidence.append(f"{other}:// answers (HTTP {alt.http_status if alt else 'TLS'})")
            flag = "--s3_use_https=false" if other == "http" else "--s3_use_https=true"
            return Step("R1", title, "fail", "S3_SCHEME_MISMATCH", tuple(evidence),
                        f"RustFS speaks {other.upper()} here: set the app's endpoint to "
                        f"{other}{ctx.endpoint[len(ctx.endpoint.split('://', 1)[0]):]} "
                        f"(Dragonfly: {flag}; s3_use_https / AWS_ENDPOINT_URL).")
        return Step("R1", title, "fail", "S3_ENDPOINT_UNREACHABLE", tuple(evidence),
                    "Check the RustFS pod and Service: kubectl -n storage get pods,svc rustfs-svc; "
                    "the in-cluster endpoint is http://rustfs-svc.storage.svc.cluster.local:9000")
    evidence.append(f"GET /health: {probe.message} (HTTP {probe.http_status})")
    style = "path-style (forced)" if ctx.path_style else ("virtual-hosted (forced)" if ctx.path_style is False
                                                          else "not forced (SDK default)")
    evidence.append(f"addressing: {style}")
    return Step("R1", title, "pass", None, tuple(evidence))


def step_located(ctx: FlowCtx) -> Step:
    """R2: the app's access key and secret key were found."""
    title = "app credentials located"
    evidence = [f"found in {ctx.where}"] if ctx.where else []
    missing = [n for n, v in (("access key", ctx.access_key), ("secret key", ctx.secret_key)) if not v]
    if ctx.access_key:
        evidence.append(f"access key {ctx.access_key}" + (f" ({ctx.sources['access_key']})"
                                                          if "access_key" in ctx.sources else ""))
    if ctx.secret_key is not None:
        evidence.append(f"secret key {describe_secret(ctx.secret_key)}" +
                        (f" ({ctx.sources['secret_key']})" if "secret_key" in ctx.sources else ""))
    if ctx.bucket:
        evidence.append(f"bucket {ctx.bucket}" + (f" ({ctx.sources['bucket']})" if "bucket" in ctx.sources else ""))
    problems = [f"problem: {p}" for p in ctx.problems]
    if missing:
        head = [p.removeprefix("problem: ") for p in problems[:1]] or [f"no {' and no '.join(missing)} found"]
        return Step("R2", title, "fail", "S3_APP_CREDENTIALS_NOT_FOUND",
                    (*head, *problems[1:], f"missing: {', '.join(missing)}", *evidence),
                    fixes.create_access_key("", ctx.secret_ref, ctx.id_key) +
                    "\nReference both keys in the workload's env (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).")
    return Step("R2", title, "pass", None, tuple(evidence + problems))


def _signature_step(ctx: FlowCtx, probe: S3Probe, evidence: list[str]) -> Step:
    secret = ctx.secret_key or ""
    user = ctx.owner()
    if secret != secret.strip():
        what = "a trailing newline" if secret.rstrip("\r\n") != secret else "surrounding whitespace"
        retry = ctx.conns.s3(ctx.url, ctx.access_key, secret.strip(), ctx.region, ctx.timeout).list_buckets()
        if retry.ok or retry.code not in ("SignatureDoesNotMatch", "InvalidAccessKeyId"):
            evidence.insert(0, f"the secret key in the Secret ends with {what}: the same request signed with the "
                            f"trimmed value is accepted ({retry.code or 'OK'})")
            return Step("R3", "credentials valid", "fail", "S3_SIGNATURE_MISMATCH", tuple(evidence),
                        fixes.strip_newline(ctx.secret_ref))
        evidence.insert(0, f"the secret key has {what}, and the trimmed value is rejected too")
    else:
        evidence.insert(0, "the secret key does not belong to this access key")
    return Step("R3", "credentials valid", "fail", "S3_SIGNATURE_MISMATCH", tuple(evidence),
                fixes.wrong_secret(user, ctx.secret_ref, ctx.id_key))


def step_valid(ctx: FlowCtx) -> Step:
    """R3: a signed request with the app's keys is accepted."""
    title = "credentials valid"
    ctx.client = ctx.conns.s3(ctx.url, ctx.access_key, ctx.secret_key or "", ctx.region, ctx.timeout)
    try:
        probe = ctx.client.list_buckets()
    except SourceError as exc:
        return Step("R3", title, "error", None, (f"ListBuckets: {exc.title}: {exc.message}",))
    evidence = [f"ListBuckets signed with access key {ctx.access_key} (region {ctx.region}): "
                f"{probe.code or 'OK'} (HTTP {probe.http_status})"]
    if probe.ok or probe.code == "AccessDenied":
        note = (f"keys accepted; they may list all {len(probe.value)} buckets" if probe.ok else
                "keys accepted (AccessDenied comes after authentication; ListBuckets is not in the pattern)")
        return Step("R3", title, "pass", None, (note, *evidence))
    code = ROOT_CAUSES.get(probe.code or "")
    evidence.append(f"server: {probe.message}")
    evidence += list(ctx.logged(probe.code or ""))
    user = ctx.owner()
    iam = ctx.admin().iam
    if probe.code == "SignatureDoesNotMatch":
        return _signature_step(ctx, probe, evidence)
    if probe.code == "InvalidAccessKeyId":
        if iam is not None:
            evidence.append(f"admin view ({iam.source}): no user or service account has access key "
                            f"{ctx.access_key} (deleted or never created)")
            guess = iam.user(ctx.app_name) if ctx.app_name else None
            if guess is not None and not user:
                user = guess.access_key
                n = len(iam.keys_of(user))
                evidence.append(f"user {user} exists and has {n} other access key(s)")
        return Step("R3", title, "fail", code, tuple(evidence), fixes.create_access_key(user, ctx.secret_ref,
                                                                                        ctx.id_key))
    if probe.code == "RequestTimeTooSkewed":
        return Step("R3", title, "fail", code, tuple(evidence),
                    "The clock of the app's node differs from RustFS's by more than 15 minutes: fix NTP/chrony "
                    "on the node (or on the RustFS node).")
    if probe.code == "AuthorizationHeaderMalformed":
        return Step("R3", title, "fail", code, tuple(evidence),
                    f"Sign with the server's region: set AWS_REGION=us-east-1 (RustFS's RUSTFS_REGION) instead "
                    f"of {ctx.region!r}.")
    if probe.code == "InvalidRequest":
        return Step("R3", title, "fail", code, tuple(evidence), fixes.enable_user(user))
    return Step("R3", title, "error", None, tuple(evidence))


def step_bucket(ctx: FlowCtx) -> Step:
    """R4: the app's bucket exists."""
    title = "bucket exists"
    if not ctx.bucket:
        return Step("R4", title, "skip", None, ("no bucket known for this app: pass --bucket",))
    assert ctx.client is not None
    probe = ctx.client.list_objects(ctx.bucket, 1)
    evidence = [f"ListObjectsV2 {ctx.bucket} with the app's keys: {probe.code or 'OK'} (HTTP {probe.http_status})"]
    if probe.ok:
        ctx.bucket_exists = True
        return Step("R4", title, "pass", None, tuple(evidence))
    exists: bool | None = None if probe.code != "NoSuchBucket" else False
    admin = ctx.admin()
    if exists is None and admin.s3 is not None:
        listed = admin.s3.list_buckets()
        if listed.ok:
            exists = any(b.name == ctx.bucket for b in listed.value)
            evidence.append(f"admin keys list {len(listed.value)} buckets; {ctx.bucket} is "
                            f"{'among them' if exists else 'not among them'}")
    if exists is None:
        loc = ctx.client.get_bucket_location(ctx.bucket)
        evidence.append(f"GetBucketLocation: {loc.code or 'OK'}")
        exists = True if loc.ok else (False if loc.code == "NoSuchBucket" else None)
    ctx.bucket_exists = exists
    if exists is None:
        return Step("R4", title, "skip", None, (*evidence, "cannot tell whether the bucket exists: the app's keys "
                                                "are denied and there are no admin keys"))
    if exists:
        return Step("R4", title, "pass", None, (*evidence, "the bucket exists (the denial is checked in R5)"))
    evidence += list(ctx.logged("NoSuchBucket"))
    return Step("R4", title, "fail", "S3_NO_SUCH_BUCKET", (f"bucket {ctx.bucket} does not exist", *evidence),
                fixes.create_bucket(ctx.bucket, ctx.policies()))
