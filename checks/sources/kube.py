"""KubeSource: read-only access to the Kubernetes API through the official client (imported lazily)."""

from __future__ import annotations

import json
import os
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable, TypeVar

from checks.errors import SourceError
from checks.sources import breaker, kube_lazy, kube_rbac
from checks.sources import kube_parse as kp
from checks.sources import kube_parse_resources as kr
from checks.sources.kube_cache import ListCache
from checks.sources.kube_errors import SYSTEM, ApiCall, is_missing_object, map_error
from checks.sources.kube_kubeconfig import SA_NAMESPACE_FILE, resolve_kubeconfig
from checks.sources.kube_lists import HELM_RELEASE_PREFIX, NOT_HELM_RELEASES, PLAIN_LISTS, parse_items
from checks.sources.kube_models import KubeConfigMap, KubePod, KubeSecret, KubeWorkload
from checks.sources.kube_resources import (CnpgCluster, DragonflyInstance, KubeEvent, KubeNetworkPolicy,
                                           KubeService, PrometheusRuleSet)

T = TypeVar("T")
ALL_NAMESPACES = "*"
"""Pass as `namespace` to list across every namespace."""

# (group, version, plural) of the custom resources clusterdeck reads.
DRAGONFLY = ("dragonflydb.io", "v1alpha1", "dragonflies")
CNPG_CLUSTER = ("postgresql.cnpg.io", "v1", "clusters")
PROMETHEUS_RULE = ("monitoring.coreos.com", "v1", "prometheusrules")
CILIUM_POLICY = ("cilium.io", "v2", "ciliumnetworkpolicies")


UNCACHED_GETS = frozenset({"pods", "secrets", "version"})
"""Gets always asked of the API server: the canary flow polls its pod, a Secret read by name is read now
(a reveal shows its current value; a flow checks a rotation), and `/version` is the Overview's live
reachability probe (its lists may come from the cache: a visit right after the API stopped answering must
still say so; the failure then empties the cache). Other gets go through the list cache."""

class KubeSource:
    """One kube context; every call is bounded by `timeout` and fails as one SourceError."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None, namespace: str | None = None,
                 timeout: float = 5.0) -> None:
        kube_lazy.install()  # the client without the API models it would load (checks.sources.kube_lazy)
        from kubernetes import client
        from kubernetes import config as kconfig
        from kubernetes.config.config_exception import ConfigException

        self.timeout = float(timeout)
        cfg = client.Configuration()
        path = resolve_kubeconfig(kubeconfig)
        self.kubeconfig_path = path or ""
        """The kubeconfig used ('' in-cluster); may be a $KUBECONFIG path list."""
        try:
            if path is None:
                kconfig.load_incluster_config(client_configuration=cfg)
                self.context_name = "in-cluster"
                ns = Path(SA_NAMESPACE_FILE).read_text().strip() if os.path.isfile(SA_NAMESPACE_FILE) else ""
            else:
                contexts, active = kconfig.list_kube_config_contexts(config_file=path)
                names = [c.get("name") for c in contexts or []]
                chosen = context or (active or {}).get("name")
                if not chosen:
                    raise SourceError(SYSTEM, "No context", f"{path} sets no current-context; pass --context "
                                      f"(available: {', '.join(names) or 'none'})", kind="error")
                if chosen not in names:
                    raise SourceError(SYSTEM, "Unknown context", f'context "{chosen}" is not in {path} '
                                      f"(available: {', '.join(names) or 'none'})", kind="error")
                kconfig.load_kube_config(config_file=path, context=chosen, client_configuration=cfg,
                                         persist_config=False)
                self.context_name = chosen
                entry = next(c for c in contexts if c.get("name") == chosen)
                ns = (entry.get("context") or {}).get("namespace") or ""
        except ConfigException as exc:
            raise SourceError(SYSTEM, "Invalid kubeconfig", f"{path or 'in-cluster config'}: "
                              f"{str(exc).splitlines()[0][:200]}", kind="error") from None
        cfg.retries = 0  # one attempt: the caller's timeout is the whole budget
        cfg.client_side_validation = False
        self.configuration = cfg
        """The client Configuration (reused for port-forwarding on a separate ApiClient)."""
        self.server = cfg.host
        """API server URL."""
        self.default_namespace = namespace or ns or "default"
        """Namespace used when a call passes none: argument, then the context's, then 'default'."""
        self._api = client.ApiClient(cfg)
        self._core = client.CoreV1Api(self._api)
        self._apps = client.AppsV1Api(self._api)
        self._net = client.NetworkingV1Api(self._api)
        self._custom = client.CustomObjectsApi(self._api)
        self.list_cache = ListCache()
        """List and get answers shared by the panes of one refresh (TTL ~2 s; cleared by writes and by `r`)."""

    def close(self) -> None:
        """Release pooled connections."""
        self._api.close()

    # -- plumbing ---------------------------------------------------------------------------------

    def _ns(self, namespace: str | None) -> str | None:
        if namespace == ALL_NAMESPACES:
            return None
        return namespace or self.default_namespace

    def _fetch(self, call: ApiCall, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Run one API call; JSON body as a dict. A get of a missing object gives None.

        List and get answers (not of pods) come from a short-lived per-source cache (checks.sources.kube_cache)
        when another pane asked the same within its TTL, a get also from a cached list holding its object; a
        write clears it, and so does a failed call (other than a missing object). After a timeout, calls fail
        fast for `timeout` seconds (checks.sources.breaker): a hung API server costs a screen one timeout, not
        one per call."""
        return self._answer(call, fn, args, kw)

    def _answer(self, call: ApiCall, fn: Callable[..., Any], args: tuple[Any, ...], kw: dict[str, Any],
                make: Callable[[dict[str, Any]], Any] | None = None) -> Any:
        """`_fetch`'s document, or `make(document)` when given: for a cached answer, worked out once for every
        caller of that answer (`ListCache.derived`)."""
        kube_rbac.require(call)
        try:
            key, body = self._read(call, fn, args, kw)
        except SourceError as exc:
            if exc.kind != "notfound":  # the API server refuses or fails now: answers kept from before may be
                self.list_cache.clear()  # wrong too (every pane must show the failure, not the last answer)
            raise
        if body is None or isinstance(body, dict):
            return body if make is None else make(body or {})

        def decode() -> dict[str, Any]:
            try:
                doc = json.loads(body)
            except (ValueError, RecursionError):
                raise SourceError(SYSTEM, "Bad answer", f"{self.server} answered {call.describe()} with something "
                                  "that is not Kubernetes JSON; is the kubeconfig pointing at the API server?") from None
            return doc if isinstance(doc, dict) else {}

        if make is None:
            return decode()
        if key is None:
            return make(decode())
        return self.list_cache.derived(key, body, lambda: make(decode()))

    def _read(self, call: ApiCall, fn: Callable[..., Any], args: tuple[Any, ...],
              kw: dict[str, Any]) -> tuple[Any, Any]:
        """(cache key or None, the answer to one call: a body (bytes), a document from a cached list (dict), or
        None (missing))."""
        if call.verb == "list":
            key = (call, args, tuple(sorted(kw.items())))
            if kw == PLAIN_LISTS.get(call.resource, {}):  # a plain list: gets of its objects can be answered from it
                self.list_cache.remember_list((call.resource, call.group, call.namespace), key)
            return key, self.list_cache.get(key, lambda: self._request(call, fn, args, kw), self.timeout + 1)
        if call.verb == "get" and call.resource not in UNCACHED_GETS:
            hit, doc = self.list_cache.lookup(call.resource, call.group, call.namespace or "", call.name or "",
                                              self.timeout + 1)
            if hit:
                return None, doc
            key = (call, args, tuple(sorted(kw.items())))
            return key, self.list_cache.get(key, lambda: self._request(call, fn, args, kw), self.timeout + 1)
        if call.verb == "get":
            return None, self._request(call, fn, args, kw)
        try:  # a write: every cached list may be stale now
            return None, self._request(call, fn, args, kw)
        finally:
            self.list_cache.clear()

    def _request(self, call: ApiCall, fn: Callable[..., Any], args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        """One request to the API server: the answer body (bytes), None for a get of a missing object."""
        endpoint = f"kubernetes {self.server}"
        recent = breaker.recent_timeout(endpoint)
        if recent is not None:
            raise SourceError(SYSTEM, "Timeout", f"Kubernetes API at {self.server} did not answer within "
                              f"{self.timeout:g}s {recent[1]:.1f}s ago, so clusterdeck did not try to "
                              f"{call.describe()}; check the cluster, VPN or the [timeout] setting", kind="timeout")
        started = time.monotonic()
        try:
            resp = fn(*args, _preload_content=False, _request_timeout=(self.timeout, self.timeout), **kw)
            try:
                body = resp.data
            finally:
                resp.release_conn()
        except Exception as exc:  # noqa: BLE001 - every failure becomes one SourceError
            if call.verb == "get" and is_missing_object(exc):
                breaker.answered(endpoint, started)
                return None
            if call.verb == "list" and not call.custom and getattr(exc, "status", None) == 404:
                breaker.answered(endpoint, started)
                return b'{"items": []}'  # a built-in resource with nothing in it (some emulators answer 404)
            error = map_error(exc, call, server=self.server, timeout=self.timeout, context=self.context_name)
            raise breaker.failed(endpoint, error, self.timeout, started) from None
        breaker.answered(endpoint, started)
        return body

    def _list(self, resource: str, group: str, namespace: str | None, namespaced: Callable[..., Any],
              cluster: Callable[..., Any], parse: Callable[[dict[str, Any]], T], label_selector: str | None = None,
              **kw: Any) -> list[T]:
        ns = self._ns(namespace)
        call = ApiCall("list", resource, group, ns)
        if label_selector:
            kw["label_selector"] = label_selector
        parse_all = partial(parse_items, parse, label_selector, kw.get("field_selector"))
        if ns:
            return list(self._answer(call, namespaced, (ns,), kw, parse_all))
        return list(self._answer(call, cluster, (), kw, parse_all))

    def _get(self, resource: str, group: str, namespace: str | None, name: str, fn: Callable[..., Any],
             parse: Callable[[dict[str, Any]], T]) -> T | None:
        ns = self._ns(namespace) or self.default_namespace
        doc = self._fetch(ApiCall("get", resource, group, ns, name), fn, name, ns)
        return None if doc is None else parse(doc)

    def _list_custom(self, gvp: tuple[str, str, str], namespace: str | None, parse: Callable[[dict[str, Any]], T],
                     label_selector: str | None = None) -> list[T]:
        group, version, plural = gvp
        ns = self._ns(namespace)
        call = ApiCall("list", plural, group, ns, custom=True)
        kw: dict[str, Any] = {"label_selector": label_selector} if label_selector else {}
        parse_all = partial(parse_items, parse, label_selector, None)
        if ns:
            return list(self._answer(call, self._custom.list_namespaced_custom_object, (group, version, ns, plural),
                                     kw, parse_all))
        return list(self._answer(call, self._custom.list_cluster_custom_object, (group, version, plural), kw,
                                 parse_all))

    def _get_custom(self, gvp: tuple[str, str, str], namespace: str | None, name: str,
                    parse: Callable[[dict[str, Any]], T]) -> T | None:
        group, version, plural = gvp
        ns = self._ns(namespace) or self.default_namespace
        call = ApiCall("get", plural, group, ns, name, custom=True)
        doc = self._fetch(call, self._custom.get_namespaced_custom_object, group, version, ns, plural, name)
        return None if doc is None else parse(doc)

    def server_version(self) -> str:
        """The API server's gitVersion ('' when it does not say)."""
        def get_version(**kw: Any) -> Any:  # VersionApi asks for /version/, which not every server serves
            return self._api.call_api("/version", "GET", header_params={"Accept": "application/json"},
                                      auth_settings=["BearerToken"], _return_http_data_only=True, **kw)

        doc = self._fetch(ApiCall("get", "version", "", None, "version"), get_version)
        return str((doc or {}).get("gitVersion") or "")

    # -- core and apps ----------------------------------------------------------------------------

    def list_secrets(self, namespace: str | None = None, label_selector: str | None = None) -> list[KubeSecret]:
        """Secrets, without Helm's release records (`NOT_HELM_RELEASES`): left on the API server, and dropped
        here too when a server ignores the selector. `get_secret` still reads one by name."""
        return self._list("secrets", "", namespace, self._core.list_namespaced_secret,
                          self._core.list_secret_for_all_namespaces, kp.secret_from, label_selector,
                          field_selector=NOT_HELM_RELEASES)

    def get_secret(self, namespace: str | None, name: str) -> KubeSecret | None:
        return self._get("secrets", "", namespace, name, self._core.read_namespaced_secret, kp.secret_from)

    def listed_secret(self, namespace: str | None, name: str) -> tuple[bool, KubeSecret | None]:
        """(True, the Secret or None when missing) from a list of Secrets of its namespace or of all namespaces
        made within the list cache's seconds (this refresh) and already answered; (False, None) when there is
        none: ask `get_secret`. No request is made. For clusterdeck's own admin Secrets, read once per
        refresh: a Secret under diagnosis is read by `get_secret` (UNCACHED_GETS)."""
        ns = self._ns(namespace) or self.default_namespace
        if name.startswith(HELM_RELEASE_PREFIX):  # not in the lists (`list_secrets`)
            return False, None
        hit, doc = self.list_cache.lookup("secrets", "", ns, name)
        return (True, None if doc is None else kp.secret_from(doc)) if hit else (False, None)

    def list_configmaps(self, namespace: str | None = None, label_selector: str | None = None) -> list[KubeConfigMap]:
        return self._list("configmaps", "", namespace, self._core.list_namespaced_config_map,
                          self._core.list_config_map_for_all_namespaces, kp.configmap_from, label_selector)

    def get_configmap(self, namespace: str | None, name: str) -> KubeConfigMap | None:
        return self._get("configmaps", "", namespace, name, self._core.read_namespaced_config_map, kp.configmap_from)

    def list_pods(self, namespace: str | None = None, label_selector: str | None = None,
                  ip: str | None = None) -> list[KubePod]:
        """Pods; with `ip`, only the pods with that IP, asked with the field selector status.podIP (and checked
        here: an emulator may ignore it), so that mapping a client address to its pod does not need every pod of
        the cluster (on a large one, tens of MB to fetch and parse)."""
        kw = {"field_selector": f"status.podIP={ip}"} if ip else {}
        return self._list("pods", "", namespace, self._core.list_namespaced_pod,
                          self._core.list_pod_for_all_namespaces, kp.pod_from, label_selector, **kw)

    def read_pod_count(self, namespace: str | None = ALL_NAMESPACES) -> tuple[int, bool]:
        """(how many pods `namespace` has, all namespaces by default; whether that is exact), from a list of one
        pod: the API server says how many it did not send (`remainingItemCount`). A server that sends them all
        (an emulator ignoring `limit`) is counted; one that says more follow without how many gives (1, False)."""
        ns = self._ns(namespace)
        call, kw = ApiCall("list", "pods", "", ns), {"limit": 1}
        if ns:
            doc = self._answer(call, self._core.list_namespaced_pod, (ns,), kw)
        else:
            doc = self._answer(call, self._core.list_pod_for_all_namespaces, (), kw)
        items = len(kp.lst(doc.get("items")))
        meta = kp.d(doc.get("metadata"))
        rest = meta.get("remainingItemCount")
        if isinstance(rest, int) and rest >= 0:
            return items + rest, True
        return items, not meta.get("continue")

    def get_pod(self, namespace: str | None, name: str) -> KubePod | None:
        return self._get("pods", "", namespace, name, self._core.read_namespaced_pod, kp.pod_from)

    # -- writes: only through checks.writes.WriteGate (the D10 canary pod) ---------------------------

    def create_pod(self, namespace: str, manifest: dict[str, Any]) -> KubePod:
        """Create a pod from `manifest` (a WRITE: call it through a WriteGate); the created pod."""
        name = str((manifest.get("metadata") or {}).get("name") or "")
        doc = self._fetch(ApiCall("create", "pods", "", namespace, name), self._core.create_namespaced_pod,
                          namespace, manifest)
        return kp.pod_from(doc or manifest)

    def read_pod(self, namespace: str, name: str) -> KubePod | None:
        """The pod's current state (None when it does not exist)."""
        return self.get_pod(namespace, name)

    def delete_pod(self, namespace: str, name: str, grace_seconds: int = 0) -> bool:
        """Delete a pod (a WRITE: through a WriteGate); False when it was already gone."""
        try:
            self._fetch(ApiCall("delete", "pods", "", namespace, name), self._core.delete_namespaced_pod,
                        name, namespace, grace_period_seconds=grace_seconds)
        except SourceError as exc:
            if exc.kind == "notfound":
                return False
            raise
        return True

    def list_services(self, namespace: str | None = None, label_selector: str | None = None) -> list[KubeService]:
        return self._list("services", "", namespace, self._core.list_namespaced_service,
                          self._core.list_service_for_all_namespaces, kr.service_from, label_selector)

    def get_service(self, namespace: str | None, name: str) -> KubeService | None:
        return self._get("services", "", namespace, name, self._core.read_namespaced_service, kr.service_from)

    def list_events(self, namespace: str | None = None, involved_name: str | None = None,
                    involved_kind: str | None = None) -> list[KubeEvent]:
        """Events, newest last; optionally only those about one object."""
        selector = ",".join(f"{k}={v}" for k, v in (("involvedObject.name", involved_name),
                                                    ("involvedObject.kind", involved_kind)) if v)
        kw = {"field_selector": selector} if selector else {}
        events = self._list("events", "", namespace, self._core.list_namespaced_event,
                            self._core.list_event_for_all_namespaces, kr.event_from, None, **kw)
        return sorted(events, key=lambda e: (e.last_seen is not None, e.last_seen or 0))  # type: ignore[arg-type]

    def list_deployments(self, namespace: str | None = None, label_selector: str | None = None) -> list[KubeWorkload]:
        return self._list("deployments", "apps", namespace, self._apps.list_namespaced_deployment,
                          self._apps.list_deployment_for_all_namespaces,
                          lambda o: kp.workload_from(o, "Deployment"), label_selector)

    def get_deployment(self, namespace: str | None, name: str) -> KubeWorkload | None:
        return self._get("deployments", "apps", namespace, name, self._apps.read_namespaced_deployment,
                         lambda o: kp.workload_from(o, "Deployment"))

    def list_statefulsets(self, namespace: str | None = None, label_selector: str | None = None) -> list[KubeWorkload]:
        return self._list("statefulsets", "apps", namespace, self._apps.list_namespaced_stateful_set,
                          self._apps.list_stateful_set_for_all_namespaces,
                          lambda o: kp.workload_from(o, "StatefulSet"), label_selector)

    def get_statefulset(self, namespace: str | None, name: str) -> KubeWorkload | None:
        return self._get("statefulsets", "apps", namespace, name, self._apps.read_namespaced_stateful_set,
                         lambda o: kp.workload_from(o, "StatefulSet"))

    def list_network_policies(self, namespace: str | None = None) -> list[KubeNetworkPolicy]:
        return self._list("networkpolicies", "networking.k8s.io", namespace,
                          self._net.list_namespaced_network_policy, self._net.list_network_policy_for_all_namespaces,
                          kr.network_policy_from)

    # -- custom resources -------------------------------------------------------------------------

    def list_cilium_network_policies(self, namespace: str | None = None) -> list[KubeNetworkPolicy]:
        return self._list_custom(CILIUM_POLICY, namespace, kr.cilium_policy_from)

    def list_dragonflies(self, namespace: str | None = None) -> list[DragonflyInstance]:
        return self._list_custom(DRAGONFLY, namespace, kr.dragonfly_from)

    def get_dragonfly(self, namespace: str | None, name: str) -> DragonflyInstance | None:
        return self._get_custom(DRAGONFLY, namespace, name, kr.dragonfly_from)

    def list_cnpg_clusters(self, namespace: str | None = None) -> list[CnpgCluster]:
        return self._list_custom(CNPG_CLUSTER, namespace, kr.cnpg_cluster_from)

    def get_cnpg_cluster(self, namespace: str | None, name: str) -> CnpgCluster | None:
        return self._get_custom(CNPG_CLUSTER, namespace, name, kr.cnpg_cluster_from)

    def list_prometheus_rules(self, namespace: str | None = None) -> list[PrometheusRuleSet]:
        return self._list_custom(PROMETHEUS_RULE, namespace, kr.prometheus_rule_from)
