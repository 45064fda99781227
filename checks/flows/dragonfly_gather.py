"""Reads shared by the Dragonfly flow and pane: admin source, ACL source, consumers, pod IPs, ACL drift."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from checks import clock
from checks.config import DragonflyConfig
from checks.errors import SourceError
from checks.parsers.acl import AclListing, AclUser, parse_acl_file
from checks.parsers.acl_rules import AclDiff, AclUserDiff, command_differences, diff_acl
from checks.redact import sha256_hex
from checks.sources.kube_parse import d, lst, parse_time
from checks.sources.kube_resources import DragonflyInstance
from checks.tasks import Tasks

HEX_SHOWN = 12
"""Hex digits of a password hash shown in evidence (enough to tell values apart, never the value)."""


def hash12(hex_hash: str | None) -> str:
    """`sha256:<first 12 hex>` of an already-hashed password ('(none)' when absent)."""
    return f"sha256:{hex_hash.lower()[:HEX_SHOWN]}" if hex_hash else "(none)"


def pw12(password: str | bytes | None) -> str:
    """`sha256:<first 12 hex>` of a plaintext password; the value itself never leaves this function."""
    return "(none)" if password is None else hash12(sha256_hex(password))


def user_hashes12(user: AclUser | None) -> str:
    """Display form of a user's password hashes: `nopass`, `no password` or `sha256:…` list."""
    if user is None:
        return "(no such user)"
    if user.nopass:
        return "nopass"
    return ", ".join(hash12(h) for h in user.password_hashes) or "no password"


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """`3h ago`-style age of a timestamp."""
    if when is None:
        return "unknown time"
    secs = ((now or clock.now()) - when).total_seconds()
    return f"{human_seconds(secs)} ago" if secs >= 0 else f"in {human_seconds(-secs)}"


def human_seconds(secs: float | None) -> str:
    """`45s`, `12m`, `3h`, `2d`."""
    if secs is None:
        return "?"
    s = abs(secs)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if s >= size:
            return f"{s / size:.0f}{unit}" if s / size >= 10 else f"{s / size:.1f}".rstrip("0").rstrip(".") + unit
    return f"{s:.0f}s"


def stamp(when: datetime | None) -> str:
    """UTC timestamp for evidence."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else "unknown"


# ---------------------------------------------------------------- the admin connection

def admin_source(conns: Any) -> tuple[Any, Any]:
    """(RedisSource as the admin identity, RedisEndpoint) for the configured Dragonfly."""
    ep = conns.dragonfly_admin()
    where = f"Secret {ep.secret_ref.namespace}/{ep.secret_ref.name}" if ep.secret_ref else "the config"
    return conns.redis(ep.host, ep.port, ep.username, ep.password, timeout=conns.config.timeout,
                       credential_source=where), ep


# ---------------------------------------------------------------- the ACL source

@dataclass(frozen=True)
class AclSource:
    """The ACL file as the cluster declares it (ConfigMap, or the Secret named by the CR's aclFromSecret)."""

    kind: str
    """ConfigMap | Secret."""
    namespace: str
    """Namespace of the object."""
    name: str
    """Object name."""
    key: str
    """Key holding the ACL file."""
    listing: AclListing = field(default_factory=AclListing)
    """Parsed users (plaintext `>password` tokens already hashed)."""
    last_changed: datetime | None = None
    """Latest managedFields time or creation time of the object."""
    found: bool = True
    """False when the object or key is missing (listing is then empty)."""

    @property
    def label(self) -> str:
        """`ConfigMap cache/dragonfly-acl key acl.conf`."""
        return f"{self.kind} {self.namespace}/{self.name} key {self.key}"


def _changed(raw: dict[str, Any]) -> datetime | None:
    meta = d(raw.get("metadata"))
    times = [t for t in (parse_time(d(f).get("time")) for f in lst(meta.get("managedFields"))) if t]
    created = parse_time(meta.get("creationTimestamp"))
    if created:
        times.append(created)
    return max(times) if times else None


def read_acl_source(kube: Any, cfg: DragonflyConfig, cr: DragonflyInstance | None) -> AclSource:
    """The CR's `aclFromSecret` when set, else ConfigMap `dragonfly.acl_configmap` / `acl_configmap_key`."""
    if cr is not None and cr.acl_secret:
        name, key = cr.acl_secret
        key = key or "acl.conf"
        sec = kube.get_secret(cr.namespace, name)
        text = sec.text(key) if sec is not None else None
        if sec is None or text is None:
            return AclSource("Secret", cr.namespace, name, key, found=False)
        return AclSource("Secret", cr.namespace, name, key, parse_acl_file(text), sec.last_changed)
    ns, _, name = cfg.acl_configmap.rpartition("/")
    ns = ns or cfg.namespace
    cm = kube.get_configmap(ns, name)
    text = cm.data.get(cfg.acl_configmap_key) if cm is not None else None
    if cm is None or text is None:
        return AclSource("ConfigMap", ns, name, cfg.acl_configmap_key, found=False)
    return AclSource("ConfigMap", ns, name, cfg.acl_configmap_key, parse_acl_file(text), _changed(cm.raw))


def find_dragonfly(kube: Any, cfg: DragonflyConfig) -> DragonflyInstance | None:
    """The first Dragonfly CR (by name) in the configured namespace; None when there is none or no CRD."""
    try:
        found = kube.list_dragonflies(cfg.namespace)
    except SourceError as exc:
        if exc.kind in ("notfound", "forbidden"):
            return None
        raise
    return sorted(found, key=lambda x: x.name)[0] if found else None


# ---------------------------------------------------------------- consumers and pods

def redis_usernames(creds: Any) -> tuple[str, ...]:
    """ACL users an app's Redis settings name; `default` when none names one."""
    names = [c.username for c in creds.candidates if type(c).__name__ == "RedisCredentials"]
    named = tuple(dict.fromkeys(n for n in names if n))
    return named or (("default",) if names else ())


def app_username(creds: Any) -> tuple[str, str]:
    """(ACL user the app authenticates as, where that came from) for its best Redis candidate.

    When the best candidate (the one with the password) names no user but another candidate of the same
    container does (`LITELLM_REDIS_PASSWORD` next to `REDIS_USERNAME`), that user is taken.
    """
    best = creds.redis
    if best is None:
        return "", ""
    if best.username:
        return best.username, best.source.get("username", "")
    for c in creds.candidates:
        if type(c).__name__ == "RedisCredentials" and c.username and c.container == best.container:
            return c.username, c.source.get("username", "") + " (same container)"
    return "default", "no username configured: Redis uses the `default` user"


def find_consumers(conns: Any) -> dict[str, tuple[str, ...]]:
    """ACL user -> `namespace/workload` of every Deployment/StatefulSet whose env/Secrets carry it (the shared
    workload scan)."""
    from checks.appcreds import scan_workloads

    out: dict[str, list[str]] = {}
    for w, creds in scan_workloads(conns):
        for user in () if isinstance(creds, SourceError) else redis_usernames(creds):
            out.setdefault(user, []).append(f"{w.namespace}/{w.name}")
    return {u: tuple(sorted(refs)) for u, refs in out.items()}


LOOKUP_IPS = 16
"""Client addresses mapped to pods one lookup each (by field selector); more, and every pod is listed."""


def pod_ip_map(kube: Any, addrs: Iterable[str] | None = None) -> dict[str, str]:
    """Pod IP -> `namespace/pod`. With `addrs` (the client `ip:port`s to map): the pods with those IPs only, one
    small list each, at once; a list of every pod of a large cluster is tens of MB to fetch and parse on each
    refresh. Without, or for more than LOOKUP_IPS addresses: every pod readable in all namespaces."""
    if addrs is not None:
        ips = sorted({ip for ip in (_ip(a) for a in addrs) if ip})
        if len(ips) <= LOOKUP_IPS:
            with Tasks(max_workers=8) as pool:
                found = list(pool.map(lambda ip: kube.list_pods("*", ip=ip), ips))
            return {p.pod_ip: f"{p.namespace}/{p.name}" for pods in found for p in pods if p.pod_ip}
    return {p.pod_ip: f"{p.namespace}/{p.name}" for p in kube.list_pods("*") if p.pod_ip}


def _ip(addr: str) -> str:
    return addr.rsplit(":", 1)[0].strip("[]") if addr else ""


def client_pod(addr: str, pods: dict[str, str]) -> str:
    """The pod behind a client `ip:port`, or '' when no pod has that IP."""
    return pods.get(_ip(addr), "")


# ---------------------------------------------------------------- drift, judged by behaviour

def acl_drift(source: AclListing | Iterable[AclUser], live: AclListing | Iterable[AclUser]) -> AclDiff:
    """diff_acl, with `commands` kept only when the two rule sets decide some command differently."""
    raw = diff_acl(source, live)
    src = {u.name: u for u in (source.users if isinstance(source, AclListing) else source)}
    lv = {u.name: u for u in (live.users if isinstance(live, AclListing) else live)}
    different: list[AclUserDiff] = []
    for item in raw.different:
        fields, details = list(item.fields), list(item.details)
        if "commands" in fields:
            idx = fields.index("commands")
            diff = command_differences(src[item.name], lv[item.name])
            if not diff:
                del fields[idx], details[idx]
            else:
                shown = ", ".join(diff[:8]) + (f" (+{len(diff) - 8} more)" if len(diff) > 8 else "")
                details[idx] = (f"commands decided differently: {shown} (source "
                                f"{' '.join(src[item.name].commands) or '(none)'})")
        if fields:
            different.append(AclUserDiff(item.name, tuple(fields), tuple(details)))
    return AclDiff(raw.missing, raw.extra, tuple(different))


def user_drift(drift: AclDiff, user: str) -> tuple[str, ...]:
    """What differs for one user: `missing`, `extra`, or the differing fields."""
    if user in drift.missing:
        return ("missing",)
    if user in drift.extra:
        return ("extra",)
    return next((x.fields for x in drift.different if x.name == user), ())
