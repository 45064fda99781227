"""A real Kubernetes API over HTTP for tests: kmock's emulator in a background thread with its own loop,
plus tiny raw HTTP servers that answer 403/500 or never answer, and a kubeconfig writer.

Use from a test module: `from tests.kube_fixture import KubeLab, write_kubeconfig, ...`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class KubeLab:
    """kmock.KubernetesEmulator + kmock.Server on 127.0.0.1:random in a daemon thread."""

    def __init__(self, objects: dict[tuple[str, str | None, str], dict[str, Any]] | None = None,
                 resources: tuple[str, ...] = (), emulator: Callable[[], Any] | None = None) -> None:
        """`emulator`: makes the emulator to serve (default kmock's own; the lab's `LabKube` applies selectors)."""
        self._objects = dict(objects or {})
        self._make = emulator
        self._resources = resources
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.url = ""
        self.emulator: Any = None

    def __enter__(self) -> "KubeLab":
        self._thread = threading.Thread(target=self._run, name="kmock", daemon=True)
        self._thread.start()
        if not self._ready.wait(15) or self._failed:
            raise RuntimeError(f"kmock did not start: {self._failed!r}")
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to __enter__
            self._failed = exc
            self._ready.set()
        finally:
            self.loop.close()

    async def _main(self) -> None:
        import kmock

        self._stop = asyncio.Event()
        make = self._make or kmock.KubernetesEmulator
        async with make() as emulator, kmock.Server(emulator) as server:
            self.emulator = emulator
            self.url = str(server.url).rstrip("/")
            for res in self._resources:
                emulator.resources[res] = {}
            for key, obj in self._objects.items():
                emulator.objects[key] = obj
            self._ready.set()
            await self._stop.wait()

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` on the emulator's loop (for changing objects while the server runs)."""
        assert self.loop is not None

        async def wrapper() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(10)

    def put(self, key: tuple[str, str | None, str], obj: dict[str, Any]) -> None:
        """Add or replace one object."""
        self.call(lambda: self.emulator.objects.__setitem__(key, obj))


class RawServer:
    """A plain HTTP server answering every GET with one status and JSON body (real HTTP, no Kubernetes)."""

    def __init__(self, status: int, body: Any) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "RawServer":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


class SilentServer:
    """Accepts TCP connections (kernel backlog) and never answers: a hung API server."""

    def __enter__(self) -> "SilentServer":
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        return self

    def __exit__(self, *exc: Any) -> None:
        self._sock.close()


def closed_port_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def write_kubeconfig(path: Path, server: str, context: str = "lab", namespace: str | None = "default",
                     extra_contexts: tuple[str, ...] = ()) -> Path:
    """A kubeconfig (JSON is valid YAML) with token auth against `server`."""
    ctx: dict[str, Any] = {"cluster": "lab", "user": "tester"}
    if namespace:
        ctx["namespace"] = namespace
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": context,
           "clusters": [{"name": "lab", "cluster": {"server": server}}],
           "users": [{"name": "tester", "user": {"token": "test-token"}}],
           "contexts": [{"name": c, "context": dict(ctx)} for c in (context, *extra_contexts)]}
    path.write_text(json.dumps(doc))
    return path


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def meta(name: str, namespace: str, rv: str = "1", **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "resourceVersion": rv, "uid": f"uid-{namespace}-{name}", **extra}


def secret(name: str, namespace: str, data: dict[str, str | bytes], rv: str = "1", type_: str = "Opaque",
           **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta(name, namespace, rv, **metadata), "type": type_,
            "data": {k: b64(v) for k, v in data.items()}}


def deployment(name: str, namespace: str, containers: list[dict[str, Any]], *, kind: str = "Deployment",
               annotations: dict[str, str] | None = None, template_annotations: dict[str, str] | None = None,
               volumes: list[dict[str, Any]] | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    labels = labels or {"app.kubernetes.io/name": name}
    md = meta(name, namespace, generation=2)
    if annotations:
        md["annotations"] = annotations
    tmeta: dict[str, Any] = {"labels": labels}
    if template_annotations:
        tmeta["annotations"] = template_annotations
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": md,
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": tmeta, "spec": {"containers": containers, "volumes": volumes or []}}},
            "status": {"replicas": 1, "readyReplicas": 1, "updatedReplicas": 1, "observedGeneration": 2}}


def pod(name: str, namespace: str, labels: dict[str, str], started: str, *, ready: bool = True,
        owner: tuple[str, str] | None = None, containers: list[dict[str, Any]] | None = None,
        ip: str = "10.0.0.10") -> dict[str, Any]:
    md = meta(name, namespace, labels=labels, creationTimestamp=started)
    if owner:
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "uid": "o1",
                                  "controller": True}]
    containers = containers or [{"name": "app", "image": "busybox"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {"nodeName": "node-1", "containers": containers},
            "status": {"phase": "Running", "podIP": ip, "startTime": started,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [{"name": c["name"], "ready": ready, "restartCount": 0,
                                              "state": {"running": {"startedAt": started}}} for c in containers]}}


CRD_RESOURCES = ("dragonflydb.io/v1alpha1/dragonflies", "postgresql.cnpg.io/v1/clusters",
                 "monitoring.coreos.com/v1/prometheusrules", "cilium.io/v2/ciliumnetworkpolicies",
                 "v1/events", "v1/configmaps", "networking.k8s.io/v1/networkpolicies")

SECRET_CHANGED = "2026-01-14T10:00:00Z"
OLD_POD_START = "2026-01-14T08:00:00Z"
NEW_POD_START = "2026-01-14T10:05:00Z"


def cluster_objects() -> dict[tuple[str, str | None, str], dict[str, Any]]:
    """A small but realistic cluster: Dragonfly in cache, CNPG + LiteLLM in ai-system, RustFS, Prometheus."""
    objs: dict[tuple[str, str | None, str], dict[str, Any]] = {}

    def add(res: str, obj: dict[str, Any]) -> None:
        objs[res, obj["metadata"].get("namespace"), obj["metadata"]["name"]] = obj

    auth = secret("dragonfly-auth", "cache", {"password": "df-admin-pass", "AWS_ACCESS_KEY_ID": "dragonfly-backup",
                                               "AWS_SECRET_ACCESS_KEY": "df-s3-secret\n"}, rv="12",
                  creationTimestamp="2026-01-01T00:00:00Z",
                  annotations={"kubectl.kubernetes.io/last-applied-configuration":
                               '{"stringData":{"password":"df-admin-pass"}}'},
                  managedFields=[{"manager": "kubectl", "operation": "Update", "time": "2026-01-02T00:00:00Z"},
                                 {"manager": "flux", "operation": "Apply", "time": SECRET_CHANGED}])
    add("v1/secrets", auth)
    add("v1/configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("dragonfly-acl", "cache"),
                          "data": {"acl.conf": "user litellm on >acl-file-pass ~litellm:* +@read\n"}})
    df_args = ["--maxmemory=512mb", "--admin_port=9999", "--dir=s3://dragonfly-backups",
               "--s3_endpoint=rustfs-svc.storage.svc.cluster.local:9000", "--s3_use_https=false"]
    df_env = [{"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": "dragonfly-auth",
                                                                            "key": "AWS_ACCESS_KEY_ID"}}},
              {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": "dragonfly-auth",
                                                                                "key": "AWS_SECRET_ACCESS_KEY"}}}]
    add("dragonflydb.io/v1alpha1/dragonflies", {
        "apiVersion": "dragonflydb.io/v1alpha1", "kind": "Dragonfly", "metadata": meta("dragonfly", "cache"),
        "spec": {"replicas": 1, "image": "docker.dragonflydb.io/dragonflydb/dragonfly:v1.36.0", "args": df_args,
                 "env": df_env, "authentication": {"passwordFromSecret": {"name": "dragonfly-auth", "key": "password"}},
                 "aclFromSecret": {"name": "dragonfly-acl", "key": "dragonfly.acl"}},
        "status": {"phase": "Ready", "isRollingUpdate": False}})
    add("v1/services", {"apiVersion": "v1", "kind": "Service", "metadata": meta("dragonfly", "cache"),
                        "spec": {"type": "ClusterIP", "clusterIP": "10.43.0.10", "selector": {"app": "dragonfly"},
                                 "ports": [{"name": "redis", "port": 6379, "targetPort": 6379, "protocol": "TCP"},
                                           {"name": "admin", "port": 9999, "targetPort": "admin"}]}})
    add("apps/v1/statefulsets", deployment("dragonfly", "cache", [
        {"name": "dragonfly", "image": "dragonfly:v1.36.0", "args": df_args, "env": df_env,
         "ports": [{"name": "redis", "containerPort": 6379}, {"name": "admin", "containerPort": 9999}]}],
        kind="StatefulSet", labels={"app": "dragonfly"}))
    add("v1/pods", pod("dragonfly-0", "cache", {"app": "dragonfly", "role": "master"}, NEW_POD_START,
                       owner=("StatefulSet", "dragonfly")))
    add("networking.k8s.io/v1/networkpolicies", {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta("dragonfly-ingress", "cache"),
        "spec": {"podSelector": {"matchLabels": {"app": "dragonfly"}}, "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                     "kubernetes.io/metadata.name": "ai-system"}}}], "ports": [{"port": 6379}]}]}})
    add("cilium.io/v2/ciliumnetworkpolicies", {
        "apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": meta("dragonfly", "cache"),
        "spec": {"endpointSelector": {"matchLabels": {"app": "dragonfly"}},
                 "ingress": [{"fromEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "ai-system"}}],
                              "toPorts": [{"ports": [{"port": "6379", "protocol": "TCP"}]}]}],
                 "ingressDeny": [{"fromEntities": ["world"]}]}})

    # ai-system: CNPG cluster and LiteLLM
    add("v1/secrets", secret("ai-postgres-superuser", "ai-system", {"username": "postgres", "password": "pg-super"},
                             type_="kubernetes.io/basic-auth"))
    add("v1/secrets", secret("litellm-db", "ai-system", {"username": "litellm", "password": "litellm-pg\n"},
                             rv="25496087", type_="kubernetes.io/basic-auth", labels={"cnpg.io/reload": "true"},
                             creationTimestamp="2026-01-01T00:00:00Z",
                             managedFields=[{"manager": "kubectl", "operation": "Update", "time": SECRET_CHANGED}]))
    add("v1/secrets", secret("litellm-env", "ai-system", {"LITELLM_REDIS_PASSWORD": "litellm-redis",
                                                          "LITELLM_MASTER_KEY": "sk-master"}))
    add("postgresql.cnpg.io/v1/clusters", {
        "apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": meta("ai-postgres", "ai-system"),
        "spec": {"instances": 2, "enableSuperuserAccess": True,
                 "bootstrap": {"initdb": {"database": "app", "owner": "app"}},
                 "managed": {"roles": [{"name": "litellm", "ensure": "present", "login": True,
                                        "passwordSecret": {"name": "litellm-db"}, "connectionLimit": 20},
                                       {"name": "langfuse", "login": True, "inRoles": ["pg_read_all_data"],
                                        "passwordSecret": {"name": "langfuse-db"}, "validUntil": "2026-06-01T00:00:00Z"}]}},
        "status": {"phase": "Cluster in healthy state", "readyInstances": 2, "currentPrimary": "ai-postgres-1",
                   "managedRolesStatus": {
                       "byStatus": {"reconciled": ["litellm"], "pending-reconciliation": ["langfuse"],
                                    "reserved": ["postgres", "streaming_replica"]},
                       "cannotReconcile": {"langfuse": [
                           'the username in secret "langfuse-db" does not match role "langfuse"']},
                       "passwordStatus": {"litellm": {"transactionID": 854, "resourceVersion": "25496087"}}},
                   "secretsResourceVersion": {"managedRoleSecretVersion": {"litellm-db": "25496087"}}}})
    add("v1/services", {"apiVersion": "v1", "kind": "Service", "metadata": meta("ai-postgres-rw", "ai-system"),
                        "spec": {"selector": {"cnpg.io/cluster": "ai-postgres", "cnpg.io/instanceRole": "primary"},
                                 "ports": [{"name": "postgres", "port": 5432, "targetPort": 5432}]}})
    litellm_env = [
        {"name": "REDIS_HOST", "value": "dragonfly.cache.svc.cluster.local"},
        {"name": "REDIS_PORT", "value": "6379"},
        {"name": "REDIS_USERNAME", "value": "litellm"},
        {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "litellm-env",
                                                                   "key": "LITELLM_REDIS_PASSWORD"}}},
        {"name": "PGUSER", "valueFrom": {"secretKeyRef": {"name": "litellm-db", "key": "username"}}},
        {"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": {"name": "litellm-db", "key": "password"}}},
        {"name": "DATABASE_URL",
         "value": "postgresql://$(PGUSER):$(PGPASSWORD)@ai-postgres-rw.ai-system.svc:5432/litellm"},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
    ]
    add("apps/v1/deployments", deployment(
        "litellm", "ai-system", [{"name": "litellm", "image": "ghcr.io/berriai/litellm:main", "env": litellm_env,
                                  "envFrom": [{"secretRef": {"name": "litellm-env"}}]}],
        annotations={"secret.reloader.stakater.com/reload": "litellm-db,litellm-env"},
        volumes=[{"name": "certs", "projected": {"sources": [{"secret": {"name": "litellm-tls",
                                                                          "items": [{"key": "ca.crt"}]}}]}}]))
    labels = {"app.kubernetes.io/name": "litellm"}
    add("v1/pods", pod("litellm-7d9f-old", "ai-system", labels, OLD_POD_START, owner=("ReplicaSet", "litellm-7d9f"),
                       containers=[{"name": "litellm", "image": "litellm", "env": litellm_env,
                                    "envFrom": [{"secretRef": {"name": "litellm-env"}}]}]))
    add("v1/pods", pod("litellm-7d9f-new", "ai-system", labels, NEW_POD_START, owner=("ReplicaSet", "litellm-7d9f"),
                       ip="10.0.0.11"))
    add("v1/events", {"apiVersion": "v1", "kind": "Event", "metadata": meta("litellm.1", "ai-system"),
                      "type": "Normal", "reason": "Reloaded", "message": "Changes detected in 'litellm-db' of type "
                      "'SECRET' in 'ai-system'", "involvedObject": {"kind": "Deployment", "name": "litellm"},
                      "count": 2, "lastTimestamp": "2026-01-14T10:00:05Z", "source": {"component": "reloader"}})
    add("v1/events", {"apiVersion": "v1", "kind": "Event", "metadata": meta("other.1", "ai-system"),
                      "type": "Warning", "reason": "BackOff", "message": "Back-off restarting",
                      "involvedObject": {"kind": "Pod", "name": "other"}, "lastTimestamp": "2026-01-14T09:00:00Z"})

    # storage and monitoring
    add("v1/secrets", secret("rustfs-credentials", "storage", {"RUSTFS_ACCESS_KEY": "rustfsadmin",
                                                               "RUSTFS_SECRET_KEY": "rustfs-secret"}))
    add("v1/services", {"apiVersion": "v1", "kind": "Service", "metadata": meta("rustfs-svc", "storage"),
                        "spec": {"selector": {"app": "rustfs"}, "ports": [{"name": "console", "port": 9001},
                                                                           {"name": "s3", "port": 9000}]}})
    for name, port in (("prometheus-operated", 9090), ("alertmanager-operated", 9093)):
        add("v1/services", {"apiVersion": "v1", "kind": "Service", "metadata": meta(name, "monitoring"),
                            "spec": {"clusterIP": "None", "ports": [{"name": "web", "port": port}]}})
    add("monitoring.coreos.com/v1/prometheusrules", {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": meta("dragonfly", "cache"),
        "spec": {"groups": [{"name": "dragonfly", "rules": [
            {"alert": "DragonflyDown", "expr": 'up{job="dragonfly"} == 0', "for": "5m",
             "labels": {"severity": "critical"}, "annotations": {"summary": "Dragonfly is down"}},
            {"record": "dragonfly:memory:ratio", "expr": "dragonfly_memory_used_bytes / dragonfly_memory_max_bytes"}]}]}})
    return objs
