"""Connections: one kube context, endpoint resolution (config mapping or automatic port-forward),
discovery of the shared services, and their admin credentials read from cluster Secrets."""

from __future__ import annotations

import ipaddress
import re
import threading
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from checks.config import Config, SecretRef
from checks.connect_answers import SharedAnswers
from checks.connect_factories import SourceFactories
from checks.connect_models import (CnpgTarget, Discovery, DragonflyTarget, PostgresEndpoint, RedisEndpoint,
                                   S3Endpoint, ServiceEndpoint)
from checks.errors import SourceError
from checks.tasks import Tasks

if TYPE_CHECKING:
    from checks.sources.kube import KubeSource
    from checks.sources.kube_portforward import PortForward

T = TypeVar("T")
_IN_CLUSTER = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\..+)?$")
_FATAL = ("unreachable", "timeout", "auth")

__all__ = ["Connections", "Discovery", "DragonflyTarget", "CnpgTarget", "ServiceEndpoint", "RedisEndpoint",
           "PostgresEndpoint", "S3Endpoint", "normalise_host", "split_endpoint", "url_host"]


def normalise_host(host: str) -> str:
    """`svc.ns.svc.cluster.local` (any cluster domain) -> `svc.ns.svc`; lower-case, no trailing dot."""
    h = host.strip().lower().rstrip(".")
    m = _IN_CLUSTER.match(h)
    return f"{m.group(1)}.{m.group(3)}.svc" if m else h


def split_endpoint(text: str) -> tuple[str, int]:
    """`host:port` / `[v6]:port` -> (host, port); ValueError when there is no valid port."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = text.rpartition(":")
    if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ValueError(f"not host:port: {text!r}")
    return host, int(port)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def url_host(host: str) -> str:
    """A host as it goes into a URL: IPv6 literals in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _split_ref(ref: str, default_ns: str) -> tuple[str, str]:
    ns, _, name = ref.rpartition("/")
    return (ns or default_ns), name


class Connections(SharedAnswers, SourceFactories):
    """Everything needed to reach the cluster's services from here; `close()` stops port-forwards.

    Every data source is made by its factories (`redis()`, `postgres()`, `s3()`, ...: checks.connect_factories)."""

    def __init__(self, config: Config, context: str | None = None) -> None:
        SharedAnswers.__init__(self)
        self.config = config
        self.context = context or config.context or None
        self._kube: KubeSource | None = None
        self._lock = threading.Lock()
        self._forwards: dict[tuple[str, str, int], PortForward] = {}
        self._endpoints: dict[str, str] = {}
        for key, value in config.endpoints.items():
            host, _, port = key.rpartition(":")
            self._endpoints[f"{normalise_host(host)}:{port}"] = value

    @property
    def kube(self) -> KubeSource:
        """The KubeSource, built on first use."""
        with self._lock:
            if self._kube is None:
                self._kube = self.make_source("kube", self.config.kubeconfig or None, self.context,
                                              self.config.namespace or None, self.config.timeout)
            return self._kube

    def recent_ttl(self) -> float:
        """A `recent` answer is shared for as long as the slowest single load may take, plus a second."""
        return 4 * float(self.config.timeout) + 1

    def forget_cached(self) -> None:
        """Drop the short-lived caches (Kubernetes reads, `recent` and `kept` answers): an explicit reload reads
        the cluster again."""
        self.forget_answers()
        with self._lock:
            kube = self._kube
        if kube is None:
            return
        from checks.sources.kube import KubeSource

        if isinstance(kube, KubeSource):  # not a capture/replay proxy (they record every attribute they give)
            kube.list_cache.clear()

    def close(self) -> None:
        """Close the kept database connections, stop port-forwards and release the API client."""
        self.close_shared_sources()
        with self._lock:
            for fwd in self._forwards.values():
                fwd.close()
            self._forwards.clear()
            if self._kube is not None:
                self._kube.close()

    # -- endpoints --------------------------------------------------------------------------------

    def resolve(self, host: str, port: int) -> tuple[str, int]:
        """Where to connect for an in-cluster `host:port`: the [endpoints] mapping, else a port-forward.

        IPs, localhost and external names pass through unchanged.
        """
        h = normalise_host(host)
        if _is_ip(h) or h == "localhost":
            return host, port
        for key in (f"{h}:{port}", f"{h}.svc:{port}"):
            if key in self._endpoints:
                try:
                    return split_endpoint(self._endpoints[key])
                except ValueError:
                    raise SourceError("config", "Bad endpoint", f'endpoints."{key}" must be "host:port"',
                                      kind="error") from None
        m = _IN_CLUSTER.match(h)
        if not m:
            return host, port
        return "127.0.0.1", self._forward(m.group(3), m.group(1), port)

    def _forward(self, namespace: str, service: str, port: int) -> int:
        key = (namespace, service, port)
        with self._lock:
            fwd = self._forwards.get(key)
        if fwd is None:
            from checks.sources.kube_portforward import PortForward

            fwd = PortForward(self.kube, namespace, service, port)
            with self._lock:
                self._forwards[key] = fwd
        return fwd.local_port

    # -- discovery --------------------------------------------------------------------------------

    def _soft(self, fn: Callable[[], T], default: T, problems: list[str]) -> T:
        try:
            return fn()
        except SourceError as exc:
            if exc.kind in _FATAL:
                raise
            problems.append(exc.message)
            return default

    def _list_cluster_wide(self, fn: Callable[[str], list[T]], fallback_ns: str) -> list[T]:
        """List in all namespaces; when that is forbidden, in `fallback_ns` only."""
        try:
            return fn("*")
        except SourceError as exc:
            if exc.kind != "forbidden" or not fallback_ns:
                raise
            return fn(fallback_ns)

    def _service_port(self, namespace: str, name: str, *candidates: int | str) -> tuple[int, bool]:
        """(port, exists) for a Service: the first matching candidate, else its first port."""
        svc = self.kube.get_service(namespace, name)
        if svc is None:
            return int(next(c for c in candidates if isinstance(c, int))), False
        p = svc.port_for(*candidates)
        return (p.port if p else int(next(c for c in candidates if isinstance(c, int)))), True

    def _service(self, ref: str, default_ns: str, *candidates: int | str) -> ServiceEndpoint | None:
        ns, name = _split_ref(ref, default_ns)
        port, exists = self._service_port(ns, name, *candidates)
        return ServiceEndpoint(ns, name, port) if exists else None

    def discover(self) -> Discovery:
        """The shared services this context has. Missing CRDs or Services become `problems`."""
        problems: list[str] = []
        kube, cfg = self.kube, self.config
        dfs = self._soft(lambda: self._list_cluster_wide(kube.list_dragonflies, cfg.dragonfly.namespace),
                         [], problems)
        dragonflies = []
        for df in dfs:
            port, _ = self._soft(lambda: self._service_port(df.namespace, df.name, 6379, "redis"), (6379, False),
                                 problems)
            dragonflies.append(DragonflyTarget(df.name, df.namespace, df.phase, df.ready, f"{df.name}."
                                               f"{df.namespace}.svc:{port}", df.replicas))
        clusters = self._soft(lambda: self._list_cluster_wide(kube.list_cnpg_clusters, ""), [], problems)
        cnpg = [CnpgTarget(c.namespace, c.name, c.phase, c.current_primary, c.instances, c.ready_instances,
                           f"{c.rw_service}.{c.namespace}.svc:5432", c.superuser_access) for c in clusters]
        rustfs = self._soft(lambda: self._service(cfg.rustfs.service, "storage", 9000, "s3", "api", "http"), None,
                            problems)
        if rustfs is None:
            problems.append(f"RustFS Service {cfg.rustfs.service} not found (config key rustfs.service)")
        prom = am = ""
        if cfg.prometheus.url:
            prom = cfg.prometheus.url
        else:
            svc = self._soft(lambda: self._service(cfg.prometheus.service, "monitoring", 9090, "web", "http-web"),
                             None, problems)
            prom = f"http://{svc.address}" if svc else ""
            if not svc:
                problems.append(f"Prometheus Service {cfg.prometheus.service} not found "
                                "(config keys prometheus.service / prometheus.url)")
        if cfg.prometheus.alertmanager_url:
            am = cfg.prometheus.alertmanager_url
        else:
            svc = self._soft(lambda: self._service(cfg.prometheus.alertmanager_service, "monitoring", 9093, "web",
                                                   "http-web"), None, problems)
            am = f"http://{svc.address}" if svc else ""
            if not svc:
                problems.append(f"Alertmanager Service {cfg.prometheus.alertmanager_service} not found "
                                "(config keys prometheus.alertmanager_service / prometheus.alertmanager_url)")
        return Discovery(kube.context_name, tuple(dragonflies), tuple(cnpg), rustfs, prom, am, tuple(problems))

    # -- admin credentials ------------------------------------------------------------------------

    def _secret_values(self, system: str, ref: str, default_ns: str, keys: tuple[str, ...], config_keys: str,
                       note: str | Callable[[], str] = "",
                       optional: tuple[str, ...] = ()) -> tuple[dict[str, str], str, str]:
        """Values of `keys` from one Secret -> (values, namespace, name); missing Secret/key is a SourceError.

        These are clusterdeck's own admin Secrets: the read is shared for `recent`'s 2 s by every pane and probe
        of one refresh (the Overview alone read a CNPG superuser Secret three times per cluster), and forgotten
        on `r` and after any write. Secrets under diagnosis (flows, reveal) are still read live."""
        ns, name = _split_ref(ref, default_ns)
        secret = self.recent(("admin-secret", ns, name), lambda: self._admin_secret(ns, name))
        if secret is None:
            raise SourceError(system, "Admin Secret missing", f'Secret {ns}/{name} (key "{keys[-1]}") not found'
                              f"{note() if callable(note) else note}; set {config_keys} in the config to use "
                              "another Secret", kind="notfound")
        values = {}
        for key in keys:
            value = secret.text(key)
            if value is None and key not in optional:
                raise SourceError(system, "Admin Secret key missing", f'Secret {ns}/{name} has no key "{key}" '
                                  f"(keys: {', '.join(secret.keys) or 'none'}); set {config_keys} in the config",
                                  kind="notfound")
            if value is not None:
                values[key] = value
        return values, ns, name

    def _admin_secret(self, namespace: str, name: str) -> Any:
        """An admin Secret: from a list of Secrets another pane made in this refresh when there is one (no
        request), else read by name."""
        from checks.sources.kube import KubeSource

        kube = self.kube
        if isinstance(kube, KubeSource):  # not a capture/replay proxy: a bundle holds the get
            hit, secret = kube.listed_secret(namespace, name)
            if hit:
                return secret
        return kube.get_secret(namespace, name)

    def dragonfly_admin(self, name: str | None = None, namespace: str | None = None) -> RedisEndpoint:
        """Admin (`default` user) access to a Dragonfly; name defaults to the first CR in the namespace."""
        cfg = self.config.dragonfly
        ns = namespace or cfg.namespace

        def service_port() -> tuple[int, bool]:
            nonlocal name
            if name is None:
                found = self._soft(lambda: self.kube.list_dragonflies(ns), [], [])
                name = sorted(d.name for d in found)[0] if found else "dragonfly"
            return self._service_port(ns, name, 6379, "redis")

        (values, sns, sname), (port, _) = self._secret_with_service(
            service_port, "dragonfly", cfg.admin_secret, ns, (cfg.admin_password_key,),
            "dragonfly.admin_secret / dragonfly.admin_password_key")
        assert name is not None
        host, local_port = self.resolve(f"{name}.{ns}.svc", port)
        return RedisEndpoint(host, local_port, cfg.admin_username, values[cfg.admin_password_key],
                             f"{name}.{ns}.svc:{port}", SecretRef(sns, sname, cfg.admin_password_key))

    def _secret_with_service(self, service: Callable[[], tuple[int, bool]], *secret: Any
                             ) -> tuple[tuple[dict[str, str], str, str], tuple[int, bool]]:
        """`_secret_values(*secret)` and `service()` (a `_service_port` answer) together: the Service is read
        while the Secret is, one API round trip less."""
        with Tasks(max_workers=1) as pool:
            port = pool.submit(service)
            values = self._secret_values(*secret)
            return values, port.result()

    def postgres_admin(self, namespace: str, cluster: str) -> PostgresEndpoint:
        """Superuser access to a CNPG cluster through `<cluster>-rw` and `<cluster>-superuser`."""
        cfg = self.config.cnpg
        secret = f"{namespace}/{cluster}{cfg.superuser_secret_suffix}"

        def note() -> str:
            try:
                c = self.kube.get_cnpg_cluster(namespace, cluster)
            except SourceError:
                return ""
            return " (CNPG creates it only with spec.enableSuperuserAccess: true)" if c and not c.superuser_access else ""

        keys = "cnpg.superuser_secret_suffix / cnpg.username_key / cnpg.password_key"
        # the Cluster is read for the note only when the Secret is missing: a Cluster with thousands of managed
        # roles is a large answer to fetch and parse on every refresh for a message that is seldom shown
        values, sns, sname = self._secret_values("postgres", secret, namespace, (cfg.username_key, cfg.password_key),
                                                 keys, note, optional=(cfg.username_key,))
        host, port = self.resolve(f"{cluster}-rw.{namespace}.svc", 5432)
        return PostgresEndpoint(host, port, values.get(cfg.username_key, "postgres"), values[cfg.password_key],
                                "postgres", f"{cluster}-rw.{namespace}.svc:5432",
                                SecretRef(sns, sname, cfg.password_key), f"{namespace}/{cluster}")

    def rustfs_admin(self) -> S3Endpoint:
        """RustFS admin keys and a reachable endpoint URL."""
        cfg = self.config.rustfs
        ns, name = _split_ref(cfg.service, "storage")
        keys = "rustfs.admin_secret / rustfs.access_key_key / rustfs.secret_key_key"
        (values, sns, sname), (port, exists) = self._secret_with_service(
            lambda: self._service_port(ns, name, 9000, "s3", "api", "http"),
            "s3", cfg.admin_secret, ns, (cfg.access_key_key, cfg.secret_key_key), keys)
        if not exists:
            raise SourceError("s3", "RustFS Service missing", f"Service {ns}/{name} not found; set rustfs.service "
                              "in the config", kind="notfound")
        host, local = self.resolve(f"{name}.{ns}.svc", port)
        return S3Endpoint(f"http://{url_host(host)}:{local}", values[cfg.access_key_key], values[cfg.secret_key_key], cfg.region,
                          f"{name}.{ns}.svc:{port}", SecretRef(sns, sname, cfg.secret_key_key))

    def _http_url(self, system: str, explicit: str, service: str, port: int, config_keys: str) -> str:
        if explicit:
            return explicit.rstrip("/")
        ns, name = _split_ref(service, "monitoring")
        real_port, exists = self._service_port(ns, name, port, "web", "http-web")
        if not exists:
            raise SourceError(system, "Service missing", f"Service {ns}/{name} not found; set {config_keys} in "
                              "the config", kind="notfound")
        host, local = self.resolve(f"{name}.{ns}.svc", real_port)
        return f"http://{url_host(host)}:{local}"

    def prometheus_url(self) -> str:
        """Reachable Prometheus base URL (explicit `prometheus.url` wins)."""
        p = self.config.prometheus
        return self._http_url("prometheus", p.url, p.service, 9090, "prometheus.url or prometheus.service")

    def alertmanager_url(self) -> str:
        """Reachable Alertmanager base URL (explicit `prometheus.alertmanager_url` wins)."""
        p = self.config.prometheus
        return self._http_url("alertmanager", p.alertmanager_url, p.alertmanager_service, 9093,
                              "prometheus.alertmanager_url or prometheus.alertmanager_service")
