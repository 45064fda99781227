"""Which workloads read a Secret, whether their pods predate its last change, and what Reloader will do."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from checks.redact import digest
from checks.sources.kube_models import KubePod, KubeSecret, KubeWorkload, PodTemplate
from checks.sources.kube_parse import selector_matches

RELOADER_AUTO = "reloader.stakater.com/auto"
RELOADER_SECRET_AUTO = "secret.reloader.stakater.com/auto"
RELOADER_SECRET_RELOAD = "secret.reloader.stakater.com/reload"
RELOADER_SEARCH = "reloader.stakater.com/search"
RELOADER_MATCH = "reloader.stakater.com/match"
RELOADER_IGNORE = "reloader.stakater.com/ignore"
RELOADER_LAST_RELOADED = "reloader.stakater.com/last-reloaded-from"
RELOADER_ANNOTATIONS = (RELOADER_AUTO, RELOADER_SECRET_AUTO, RELOADER_SECRET_RELOAD, RELOADER_SEARCH,
                        "configmap.reloader.stakater.com/auto", "configmap.reloader.stakater.com/reload")


@dataclass(frozen=True)
class SecretUse:
    """One place a pod template reads a Secret."""

    secret: str
    """Secret name (same namespace as the workload)."""
    via: Literal["env", "envFrom", "volume", "projected"]
    """secretKeyRef env var, envFrom secretRef, secret volume, or projected volume source."""
    container: str = ""
    """Container name ('' for volumes)."""
    env_name: str = ""
    """The env var name (env) or the prefix (envFrom)."""
    key: str = ""
    """The Secret key read (env), or the selected keys joined by ',' (volumes; '' = all)."""
    optional: bool = False
    """The reference is optional: a missing Secret does not stop the pod."""

    @property
    def read_at_start(self) -> bool:
        """Env-based uses are fixed when the container starts; mounted files update in place."""
        return self.via in ("env", "envFrom")


def secret_uses(template: PodTemplate) -> tuple[SecretUse, ...]:
    """Every Secret reference of a pod template, in spec order (worked out once per template object: the CNPG
    pane asks for each of thousands of roles' Secrets against every workload)."""
    memo = getattr(template, "__dict__", None)
    if memo is None:
        return _secret_uses(template)
    uses = memo.get("_secret_uses")
    if uses is None:
        uses = memo["_secret_uses"] = _secret_uses(template)  # immutable template: not a dataclass field
    return uses


def _secret_uses(template: PodTemplate) -> tuple[SecretUse, ...]:
    uses: list[SecretUse] = []
    for c in template.all_containers:
        for src in c.env_from:
            if src.kind == "secret":
                uses.append(SecretUse(src.name, "envFrom", c.name, src.prefix, "", src.optional))
        for env in c.env:
            if env.value_from and env.value_from.kind == "secret":
                vf = env.value_from
                uses.append(SecretUse(vf.name, "env", c.name, env.name, vf.key, vf.optional))
    for vol in template.volumes:
        if vol.kind == "secret":
            uses.append(SecretUse(vol.name, "projected" if vol.projected else "volume", "", vol.volume,
                                  ",".join(vol.keys), vol.optional))
    return tuple(uses)


def uses_of(template: PodTemplate, secret_name: str) -> tuple[SecretUse, ...]:
    """The references of one Secret in a pod template."""
    return tuple(u for u in secret_uses(template) if u.secret == secret_name)


def workloads_using_secret(workloads: Iterable[KubeWorkload],
                           secret: KubeSecret) -> list[tuple[KubeWorkload, tuple[SecretUse, ...]]]:
    """Workloads in the Secret's namespace whose template references it, with how."""
    out = []
    for w in workloads:
        uses = uses_of(w.template, secret.name) if w.namespace == secret.namespace else ()
        if uses:
            out.append((w, uses))
    return out


def pods_of(workload: KubeWorkload, pods: Iterable[KubePod]) -> list[KubePod]:
    """Pods in the workload's namespace matched by its selector (a non-empty selector is required)."""
    sel = workload.selector
    if not sel.match_labels and not sel.match_expressions:
        return []
    return [p for p in pods if p.namespace == workload.namespace and selector_matches(p.labels, sel)]


@dataclass(frozen=True)
class StalePod:
    """A pod whose containers started before the Secret last changed."""

    pod: str
    """Pod name."""
    started_at: datetime
    """When its oldest running container started."""
    secret_changed: datetime
    """The Secret's last change."""

    @property
    def behind_seconds(self) -> float:
        """How long before the change the pod started."""
        return (self.secret_changed - self.started_at).total_seconds()


def stale_consumer_pods(pods: Iterable[KubePod], secret: KubeSecret,
                        workload: KubeWorkload | None = None) -> tuple[StalePod, ...]:
    """Pods (of `workload` when given) that started before `secret.last_changed`.

    Pods that are not running or whose start is unknown are not reported.
    """
    if secret.last_changed is None:
        return ()
    candidates = pods_of(workload, pods) if workload is not None else list(pods)
    out = []
    for pod in candidates:
        started = pod.started_at
        if started is not None and pod.phase in ("Running", "") and started < secret.last_changed:
            out.append(StalePod(pod.name, started, secret.last_changed))
    return tuple(sorted(out, key=lambda s: s.pod))


def stakater_env_name(name: str, kind: str = "SECRET") -> str:
    """Reloader's env-vars strategy variable: `STAKATER_<NAME>_<KIND>`, non-alphanumerics as `_`."""
    return f"STAKATER_{re.sub(r'[^A-Z0-9]', '_', name.upper())}_{kind.upper()}"


def stakater_hash(data: Mapping[str, bytes]) -> str:
    """Reloader's hash of a Secret: SHA1 hex of the sorted `key=value` strings joined by `;`."""
    pairs = sorted(k.encode() + b"=" + v for k, v in data.items())
    return digest("sha1", b";".join(pairs))  # checks.redact.digest: also right when replaying a bundle


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def _named(listing: str, name: str) -> bool:
    for item in (x.strip() for x in listing.split(",")):
        if not item:
            continue
        if item == name:
            return True
        try:
            if re.fullmatch(item, name):
                return True
        except re.error:
            pass
    return False


@dataclass(frozen=True)
class ReloaderStatus:
    """What stakater Reloader does for one workload when one Secret changes."""

    watches: bool
    """Reloader will roll the workload when this Secret changes."""
    reason: str
    """Which annotation decides it, or why not."""
    annotations: dict[str, str] = field(default_factory=dict)
    """Reloader annotations found on the workload (and its pod template)."""
    expected_hash: str = ""
    """stakater_hash of the Secret's current data."""
    template_hash: str = ""
    """Hash recorded on the pod template (STAKATER_* env or last-reloaded-from), '' when none."""
    hash_source: str = ""
    """Where template_hash came from: 'env STAKATER_X_SECRET' or the annotation name."""

    @property
    def hash_state(self) -> Literal["match", "mismatch", "absent"]:
        """Does the pod template carry the hash of the current Secret data?"""
        if not self.template_hash:
            return "absent"
        return "match" if self.template_hash == self.expected_hash else "mismatch"


def _template_hash(template: PodTemplate, secret: KubeSecret) -> tuple[str, str]:
    env_name = stakater_env_name(secret.name)
    for c in template.all_containers:
        for env in c.env:
            if env.name == env_name and env.value:
                return env.value, f"env {env_name}"
    raw = template.annotations.get(RELOADER_LAST_RELOADED, "")
    if raw:
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError):
            doc = None
        if isinstance(doc, dict) and doc.get("name") == secret.name and str(doc.get("type", "")).upper() == "SECRET":
            return str(doc.get("hash", "")), RELOADER_LAST_RELOADED
    return "", ""


def reloader_status(workload: KubeWorkload, secret: KubeSecret) -> ReloaderStatus:
    """Decide from the annotations whether Reloader restarts `workload` on a change of `secret`.

    Reloader's `--auto-reload-all` flag is invisible from here; the reason says so when nothing matched.
    """
    found = {k: v for k, v in workload.annotations.items() if k in RELOADER_ANNOTATIONS}
    on_template = {k: v for k, v in workload.template.annotations.items() if k in RELOADER_ANNOTATIONS}
    merged = {**on_template, **found}
    expected = stakater_hash(secret.data)
    tmpl_hash, hash_source = _template_hash(workload.template, secret)
    referenced = bool(uses_of(workload.template, secret.name))

    def result(watches: bool, reason: str) -> ReloaderStatus:
        return ReloaderStatus(watches, reason, merged, expected, tmpl_hash, hash_source)

    def where(key: str) -> str:
        return "" if key in found else " (on the pod template)"

    if _truthy(secret.annotations.get(RELOADER_IGNORE)):
        return result(False, f"Secret {secret.name} is annotated {RELOADER_IGNORE}: \"true\"")
    if (merged.get(RELOADER_AUTO) or "").strip().lower() == "false":
        return result(False, f"{RELOADER_AUTO}: \"false\"{where(RELOADER_AUTO)} disables Reloader")
    if RELOADER_SECRET_RELOAD in merged and _named(merged[RELOADER_SECRET_RELOAD], secret.name):
        return result(True, f"{RELOADER_SECRET_RELOAD} lists {secret.name}{where(RELOADER_SECRET_RELOAD)}")
    for key in (RELOADER_AUTO, RELOADER_SECRET_AUTO):
        if _truthy(merged.get(key)):
            if referenced:
                return result(True, f"{key}: \"true\"{where(key)} and the pod template references {secret.name}")
            return result(False, f"{key}: \"true\"{where(key)}, but the pod template does not reference "
                          f"{secret.name}")
    if _truthy(merged.get(RELOADER_SEARCH)):
        if not _truthy(secret.annotations.get(RELOADER_MATCH)):
            return result(False, f"{RELOADER_SEARCH}: \"true\"{where(RELOADER_SEARCH)}, but Secret {secret.name} "
                          f"lacks {RELOADER_MATCH}: \"true\"")
        if referenced:
            return result(True, f"search mode: {RELOADER_SEARCH} on the workload and {RELOADER_MATCH} on the Secret")
        return result(False, f"search mode, but the pod template does not reference {secret.name}")
    if RELOADER_SECRET_RELOAD in merged:
        return result(False, f"{RELOADER_SECRET_RELOAD} does not list {secret.name}")
    return result(False, f"no Reloader annotation for Secrets on {workload.short_ref} (unless Reloader runs "
                  "with --auto-reload-all)")
