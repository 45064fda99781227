"""Find the credentials an application uses: resolve its env (Secrets, ConfigMaps, envFrom, $(VAR)) and
recognise the Redis, PostgreSQL and S3 conventions. Values are kept byte-exact and out of every repr."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from checks.appcreds_build import build_postgres, build_redis, build_s3
from checks.appcreds_models import PostgresCredentials, RedisCredentials, S3Credentials
from checks.config import SecretRef
from checks.errors import SourceError
from checks.sources.kube_models import ContainerSpec, EnvVar, KubeSecret, KubeWorkload, PodTemplate, fingerprint
from checks.workloads import SecretUse, secret_uses

if TYPE_CHECKING:
    from checks.sources import KubeReader

_KINDS = {"deploy": "Deployment", "deployment": "Deployment", "deployments": "Deployment",
          "deployment.apps": "Deployment", "sts": "StatefulSet", "statefulset": "StatefulSet",
          "statefulsets": "StatefulSet", "statefulset.apps": "StatefulSet", "dragonfly": "Dragonfly",
          "dragonflies": "Dragonfly", "dragonfly.dragonflydb.io": "Dragonfly"}
_EXPAND = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


@dataclass(frozen=True)
class EnvValue:
    """One environment variable of a container as Kubernetes would set it."""

    name: str
    """Variable name (with the envFrom prefix applied)."""
    value: str | None = field(repr=False)
    """Resolved value, byte-exact (None when unresolvable: missing Secret/key, pod-only fieldRef)."""
    source: str
    """Where it comes from, e.g. `secret ai-system/litellm-env key LITELLM_REDIS_PASSWORD`, `literal`."""
    container: str = ""
    """Container name."""
    secret_ref: SecretRef | None = None
    """The Secret key behind it (directly, or through a $(VAR) it expands)."""

    def fingerprint(self) -> str:
        """Display-safe fingerprint of the value."""
        return fingerprint(self.value)

Credentials = RedisCredentials | PostgresCredentials | S3Credentials


@dataclass(frozen=True)
class AppCredentials:
    """Everything found about one workload's credentials."""

    namespace: str
    """Workload namespace."""
    workload: str
    """kubectl-style reference, e.g. `deploy/litellm`."""
    env: tuple[EnvValue, ...] = ()
    """Resolved env of every container, values hidden."""
    redis: RedisCredentials | None = None
    """Best Redis/Dragonfly candidate."""
    postgres: PostgresCredentials | None = None
    """Best PostgreSQL candidate."""
    s3: S3Credentials | None = None
    """Best S3 candidate."""
    candidates: tuple[Credentials, ...] = ()
    """Every credential set found (several apps use more than one database or bucket)."""
    secret_refs: tuple[SecretUse, ...] = ()
    """Every Secret reference of the pod template (env, envFrom, volumes), for freshness checks."""
    problems: tuple[str, ...] = ()
    """Unresolvable references and unparseable settings, naming variables, never values."""

    @property
    def secret_names(self) -> tuple[str, ...]:
        """Distinct Secret names the workload reads."""
        return tuple(dict.fromkeys(u.secret for u in self.secret_refs))

    def env_value(self, name: str) -> EnvValue | None:
        """The first container's variable with this name."""
        return next((e for e in self.env if e.name == name), None)


def expand(text: str, lookup: dict[str, EnvValue]) -> tuple[str, list[EnvValue]]:
    """Kubernetes `$(VAR)` expansion (`$$` escapes); unknown variables stay as written."""
    used: list[EnvValue] = []

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        ref = lookup.get(m.group(1))
        if ref is None or ref.value is None:
            return m.group(0)
        used.append(ref)
        return ref.value

    return _EXPAND.sub(repl, text), used


class _Resolver:
    """Resolves container env against the cluster, reading each Secret/ConfigMap once."""

    def __init__(self, kube: KubeReader, namespace: str, workload: str,
                 listed: Mapping[str, KubeSecret] | None = None) -> None:
        self.kube, self.ns, self.workload = kube, namespace, workload
        self.problems: list[str] = []
        # the namespace's Secrets as just listed: a Secret not in the list does not exist (no get each)
        self._secrets: dict[str, KubeSecret | None] = {}
        self._listed = listed
        self._configmaps: dict[str, dict[str, str] | None] = {}

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def secret(self, name: str, where: str) -> KubeSecret | None:
        if name not in self._secrets:
            try:
                self._secrets[name] = (self._listed.get(name) if self._listed is not None
                                       else self.kube.get_secret(self.ns, name))
            except SourceError as exc:
                if exc.kind not in ("forbidden", "notfound"):
                    raise
                self._problem(f"{exc.message} ({where})")
                self._secrets[name] = None
                return None
            if self._secrets[name] is None:
                self._problem(f"secret {self.ns}/{name} not found ({where})")
        return self._secrets[name]

    def configmap(self, name: str, where: str) -> dict[str, str] | None:
        if name not in self._configmaps:
            try:
                cm = self.kube.get_configmap(self.ns, name)
            except SourceError as exc:
                if exc.kind not in ("forbidden", "notfound"):
                    raise
                self._problem(f"{exc.message} ({where})")
                cm = None
            else:
                if cm is None:
                    self._problem(f"configmap {self.ns}/{name} not found ({where})")
            self._configmaps[name] = None if cm is None else cm.data
        return self._configmaps[name]

    def container_env(self, c: ContainerSpec) -> dict[str, EnvValue]:
        env: dict[str, EnvValue] = {}
        where_c = f"{self.workload} container {c.name}"
        for src in c.env_from:
            where = f"envFrom {src.kind} {src.name} of {where_c}" + (" (optional)" if src.optional else "")
            pfx = f" (prefix {src.prefix})" if src.prefix else ""
            if src.kind == "secret":
                sec = self.secret(src.name, where)
                for key in sec.keys if sec else ():
                    env[src.prefix + key] = EnvValue(src.prefix + key, sec.text(key),
                                                     f"envFrom secret {self.ns}/{src.name} key {key}{pfx}", c.name,
                                                     SecretRef(self.ns, src.name, key))
            else:
                data = self.configmap(src.name, where) or {}
                for key, value in data.items():
                    env[src.prefix + key] = EnvValue(src.prefix + key, value,
                                                     f"envFrom configmap {self.ns}/{src.name} key {key}{pfx}", c.name)
        for var in c.env:
            env[var.name] = self._one(var.name, var, c.name, env, where_c)
        return env

    def _one(self, name: str, var: EnvVar, container: str, env: dict[str, EnvValue], where_c: str) -> EnvValue:
        vf = var.value_from
        where = f"env {name} of {where_c}"
        if vf is None:
            value, used = expand(var.value or "", env)
            source = "literal" + (" expanding " + ", ".join(f"$({u.name}) ← {u.source}" for u in used) if used else "")
            ref = next((u.secret_ref for u in used if u.secret_ref), None)
            return EnvValue(name, value, source, container, ref)
        if vf.kind == "secret":
            sec = self.secret(vf.name, where)
            if sec is not None and vf.key not in sec.data:
                self._problem(f"secret {self.ns}/{vf.name} has no key \"{vf.key}\" ({where})")
            return EnvValue(name, sec.text(vf.key) if sec else None, f"secret {self.ns}/{vf.name} key {vf.key}",
                            container, SecretRef(self.ns, vf.name, vf.key))
        if vf.kind == "configmap":
            data = self.configmap(vf.name, where)
            if data is not None and vf.key not in data:
                self._problem(f"configmap {self.ns}/{vf.name} has no key \"{vf.key}\" ({where})")
            return EnvValue(name, (data or {}).get(vf.key), f"configmap {self.ns}/{vf.name} key {vf.key}", container)
        value = self.ns if vf.kind == "field" and vf.key == "metadata.namespace" else None
        return EnvValue(name, value, f"{vf.kind} {vf.key}", container)


def parse_workload_ref(ref: str) -> tuple[str | None, str]:
    """`deploy/x`, `sts/x`, `dragonfly/x` or a bare name -> (Kind or None, name)."""
    kind, sep, name = ref.strip().rpartition("/")
    if not sep:
        return None, ref.strip()
    if kind.lower() not in _KINDS:
        raise SourceError("kubernetes", "Unknown workload kind", f'"{kind}" is not a workload kind; use '
                          "deploy/NAME, sts/NAME or dragonfly/NAME", kind="error")
    return _KINDS[kind.lower()], name


def _load_template(kube: KubeReader, namespace: str, ref: str) -> tuple[str, PodTemplate]:
    kind, name = parse_workload_ref(ref)
    if kind in (None, "Deployment"):
        w = kube.get_deployment(namespace, name)
        if w is not None:
            return w.short_ref, w.template
    if kind in (None, "StatefulSet"):
        w = kube.get_statefulset(namespace, name)
        if w is not None:
            return w.short_ref, w.template
    if kind == "Dragonfly" or kind is None:
        try:
            df = kube.get_dragonfly(namespace, name)
        except SourceError:
            if kind == "Dragonfly":
                raise
            df = None
        if df is not None:
            return f"dragonfly/{name}", PodTemplate(containers=(ContainerSpec(name, df.image, args=df.args,
                                                                               env=df.env),))
    what = {None: "Deployment or StatefulSet", "Deployment": "Deployment", "StatefulSet": "StatefulSet",
            "Dragonfly": "Dragonfly"}[kind]
    raise SourceError("kubernetes", "Workload not found", f'no {what} named "{name}" in namespace "{namespace}"',
                      kind="notfound")


def _rank(c: Credentials) -> tuple[int, ...]:
    secret = c.password if isinstance(c, (RedisCredentials, PostgresCredentials)) else c.secret_key
    host = c.endpoint if isinstance(c, S3Credentials) else c.host
    return (secret is not None, bool(host), len(c.source), c.group == "")


def prefetch_env_sources(kube: KubeReader, workloads: Iterable[KubeWorkload]) -> dict[str, dict[str, KubeSecret]]:
    """List the Secrets (and ConfigMaps) the workloads' env reads: in all namespaces at once (the Overview lists
    the Secrets of all namespaces too, so one refresh asks once), else one list per namespace, concurrently.
    Returns the Secrets by namespace and name, for `find_app_credentials(..., listed=)`; ConfigMap gets are
    answered from the lists KubeSource keeps for a moment. Resolving many workloads' env then asks nothing more,
    instead of one get per object. Best effort: a namespace whose Secrets could not be listed is left out
    (its Secrets are read one by one, as before)."""
    from checks.tasks import Tasks

    wanted: dict[str, set[str]] = {}
    for w in workloads:
        for c in w.template.all_containers:
            kinds = {src.kind for src in c.env_from}
            kinds |= {v.value_from.kind for v in c.env if v.value_from is not None}
            for kind in kinds & {"secret", "configmap"}:
                wanted.setdefault(kind, set()).add(w.namespace)

    def one(kind: str, ns: str) -> list[Any] | None:
        try:
            return list((kube.list_secrets if kind == "secret" else kube.list_configmaps)(ns))
        except SourceError:
            return None

    def per_kind(kind: str) -> dict[str, list[Any]]:
        namespaces = sorted(wanted[kind])
        everything = one(kind, "*") if len(namespaces) > 1 else None
        if everything is not None:
            return {ns: [o for o in everything if o.namespace == ns] for ns in namespaces}
        with Tasks(max_workers=min(8, len(namespaces))) as pool:
            found = dict(zip(namespaces, pool.map(lambda ns: one(kind, ns), namespaces)))
        return {ns: items for ns, items in found.items() if items is not None}

    if not wanted:
        return {}
    with Tasks(max_workers=len(wanted)) as pool:
        listed = dict(zip(sorted(wanted), pool.map(per_kind, sorted(wanted))))
    return {ns: {s.name: s for s in items} for ns, items in listed.get("secret", {}).items()}


def find_app_credentials(kube: KubeReader, namespace: str | None, workload: str,
                         listed: Mapping[str, KubeSecret] | None = None,
                         loaded: KubeWorkload | None = None) -> AppCredentials:
    """Resolve a Deployment/StatefulSet (or Dragonfly CR) and recognise its credentials.

    `listed`: the namespace's Secrets as just listed (`prefetch_env_sources`), read instead of one get each.
    `loaded`: the workload itself when the caller just listed it (not read again).
    Raises SourceError only when the workload cannot be read; missing Secrets/keys become `problems`.
    """
    ns = namespace or kube.default_namespace
    ref, template = (loaded.short_ref, loaded.template) if loaded is not None else _load_template(kube, ns, workload)
    resolver = _Resolver(kube, ns, ref, listed)
    all_env: list[EnvValue] = []
    found: list[Credentials] = []
    for c in template.all_containers:
        env = resolver.container_env(c)
        all_env += env.values()
        args = tuple(expand(a, env)[0] for a in c.args)
        found += build_redis(env, c.name, resolver.problems)
        found += build_postgres(env, c.name, resolver.problems)
        found += build_s3(env, args, c.name, resolver.problems)

    def best(cls: type) -> Credentials | None:
        of_kind = [c for c in found if isinstance(c, cls)]
        return max(of_kind, key=_rank) if of_kind else None

    return AppCredentials(namespace=ns, workload=ref, env=tuple(all_env), redis=best(RedisCredentials),
                          postgres=best(PostgresCredentials), s3=best(S3Credentials), candidates=tuple(found),
                          secret_refs=secret_uses(template), problems=tuple(resolver.problems))


def list_all_namespaces(list_fn: Any) -> list[Any]:
    """`list_fn("*")`; the default namespace's when listing all namespaces is forbidden (namespaced RBAC). When
    both are forbidden, the cluster-wide refusal is the one raised (it names the permission to grant)."""
    try:
        return list(list_fn("*"))
    except SourceError as exc:
        if exc.kind != "forbidden":
            raise
        try:
            return list(list_fn(None))
        except SourceError as again:
            if again.kind == "forbidden":
                raise exc from None
            raise


WorkloadScan = tuple[tuple[KubeWorkload, AppCredentials | SourceError], ...]


def scan_workloads(conns: Any) -> WorkloadScan:
    """Every Deployment and StatefulSet readable (all namespaces, else the default one) with the credentials
    its env carries, or the SourceError that stopped resolving them; Deployments first, as listed.

    One scan per refresh, shared through `Connections.recent` by the panes that need it (Triage's targets,
    the RustFS apps, the Dragonfly consumers): each workload's env is resolved once instead of once per pane,
    from the Secrets and ConfigMaps listed once. Raises SourceError when the workloads cannot be listed."""
    from checks.connect_factories import shared_read

    kube = conns.kube
    cache = getattr(kube, "list_cache", None)  # a failed or written Kubernetes read clears it: scan again then
    return shared_read(conns, ("workload-credentials", cache.generation if cache is not None else 0),
                       lambda: _scan_workloads(kube))


def _scan_workloads(kube: KubeReader) -> WorkloadScan:
    from checks.tasks import Tasks

    with Tasks(max_workers=8) as pool:
        stateful = pool.submit(list_all_namespaces, kube.list_statefulsets)
        workloads = [*list_all_namespaces(kube.list_deployments), *stateful.result()]
        secrets = prefetch_env_sources(kube, workloads)  # lists, not one get per Secret

        def one(w: KubeWorkload) -> tuple[KubeWorkload, AppCredentials | SourceError]:
            try:
                return w, find_app_credentials(kube, w.namespace, w.short_ref, secrets.get(w.namespace), loaded=w)
            except SourceError as exc:
                return w, exc

        if all(w.namespace in secrets for w in workloads):  # nothing left to read: no threads to hand it to
            return tuple(one(w) for w in workloads)
        return tuple(pool.map(one, workloads))
