"""Dragonfly, CloudNativePG, RustFS, monitoring and network-policy objects of the lab cluster."""

from __future__ import annotations

from typing import Any

from lab.cluster import Ctx
from lab.k8s import env_secret, env_value
from lab.monitoring import seed_rule_groups
from lab.plan import PG_ROLES
from lab.seed_redis import source_acl

DRAGONFLY_IMAGE = "docker.dragonflydb.io/dragonflydb/dragonfly:v1.36.0"
PG_IMAGE = "ghcr.io/cloudnative-pg/postgresql:15.13"


def _c(name: str, image: str, env: list | None = None, ports: dict[str, int] | None = None,
       args: list[str] | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": image, "imagePullPolicy": "IfNotPresent", "env": env or []}
    if args:
        c["args"] = args
    if ports:
        c["ports"] = [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in ports.items()]
    return c


def dragonfly(ctx: Ctx) -> None:
    o, plan = ctx.objs, ctx.plan
    ctx.secret("cache", "dragonfly-auth", {
        "password": plan["redis"]["default"]["source"],
        "AWS_ACCESS_KEY_ID": plan["s3_keys"]["dragonfly"]["access_key"],
        "AWS_SECRET_ACCESS_KEY": plan["s3_keys"]["dragonfly"]["secret_key"]})
    o.configmap("cache", "dragonfly-acl", {"acl.conf": source_acl(plan)}, changed=plan["times"]["acl_source"])
    args = ["--maxmemory=64mb", "--proactor_threads=2", "--admin_port=9999", "--primary_port_http_enabled=false",
            "--slowlog_log_slower_than=10000", "--slowlog_max_len=128", "--aclfile=/etc/dragonfly/acl.conf",
            "--dir=s3://dragonfly-backups", "--s3_endpoint=rustfs-svc.storage.svc.cluster.local:9000",
            "--s3_use_https=false", "--dbfilename=snapshot"]
    aws = [env_secret("AWS_ACCESS_KEY_ID", "dragonfly-auth", "AWS_ACCESS_KEY_ID"),
           env_secret("AWS_SECRET_ACCESS_KEY", "dragonfly-auth", "AWS_SECRET_ACCESS_KEY")]
    spec = {"replicas": 1, "image": DRAGONFLY_IMAGE,
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
            "authentication": {"passwordFromSecret": {"name": "dragonfly-auth", "key": "password"}},
            "args": args,
            "volumes": [{"name": "acl-config", "configMap": {"name": "dragonfly-acl"}}],
            "volumeMounts": [{"name": "acl-config", "mountPath": "/etc/dragonfly", "readOnly": True}],
            "snapshot": {"cron": "0 */6 * * *"}, "env": aws, "serviceSpec": {"type": "ClusterIP"}}
    cr = o.custom("dragonflydb.io/v1alpha1/dragonflies", "Dragonfly", "cache", "dragonfly", spec,
                  {"phase": "Ready", "isRollingUpdate": False}, labels={"app.kubernetes.io/name": "dragonfly"})
    env = [env_secret("DFLY_requirepass", "dragonfly-auth", "password"), *aws]
    labels = {"app": "dragonfly", "app.kubernetes.io/name": "dragonfly", "app.kubernetes.io/instance": "dragonfly",
              "app.kubernetes.io/managed-by": "dragonfly-operator", "role": "master"}
    c = _c("dragonfly", DRAGONFLY_IMAGE, env, {"redis": 6379, "admin": 9999},
           ["--alsologtostderr", "--admin_nopass", *args])
    c["volumeMounts"] = spec["volumeMounts"]
    _, pod = o.statefulset("cache", "dragonfly", containers=[c], labels=labels, owner=cr,
                           started=ctx.started("cache", "dragonfly"))
    o.service("cache", "dragonfly", {"redis": 6379, "admin": 9999}, {"app": "dragonfly", "role": "master"}, pod)
    o.custom("monitoring.coreos.com/v1/podmonitors", "PodMonitor", "cache", "dragonfly", {
        "selector": {"matchLabels": {"app": "dragonfly"}}, "namespaceSelector": {"matchNames": ["cache"]},
        "podMetricsEndpoints": [{"port": "admin", "interval": "30s", "scrapeTimeout": "10s", "path": "/metrics"}]},
        labels={"app.kubernetes.io/name": "dragonfly"})
    o.custom("monitoring.coreos.com/v1/prometheusrules", "PrometheusRule", "cache", "dragonfly-alerts",
             {"groups": seed_rule_groups()},
             labels={"app.kubernetes.io/name": "dragonfly", "prometheus": "kube-prometheus"})


def network_policy(ctx: Ctx) -> None:
    def from_ns(ns: str, port: str) -> dict[str, Any]:
        return {"fromEndpoints": [{"matchLabels": {"io.kubernetes.pod.namespace": ns}}],
                "toPorts": [{"ports": [{"port": port, "protocol": "TCP"}]}]}

    ingress = [from_ns("identity", "6379"), from_ns("ai-system", "6379"), from_ns("default", "6379")]
    if ctx.plan["network_allows_automation"]:
        ingress.append(from_ns("automation", "6379"))
    ingress.append(from_ns("monitoring", "9999"))
    egress = [{"toEndpoints": [{"matchLabels": {"io.kubernetes.pod.namespace": "kube-system", "k8s-app": "kube-dns"}}],
               "toPorts": [{"ports": [{"port": "53", "protocol": "UDP"}, {"port": "53", "protocol": "TCP"}]}]},
              {"toEndpoints": [{"matchLabels": {"io.kubernetes.pod.namespace": "storage"}}],
               "toPorts": [{"ports": [{"port": "9000", "protocol": "TCP"}]}]}]
    ctx.objs.custom("cilium.io/v2/ciliumnetworkpolicies", "CiliumNetworkPolicy", "cache", "dragonfly", {
        "endpointSelector": {"matchLabels": {"app": "dragonfly"}},
        "enableDefaultDeny": {"ingress": True, "egress": True}, "ingress": ingress, "egress": egress})


def cnpg_cluster(ctx: Ctx, ns: str, name: str) -> dict[str, Any]:
    o, plan = ctx.objs, ctx.plan
    roles = [r for r, c in PG_ROLES.items() if c == f"{ns}/{name}"]
    ctx.secret(ns, f"{name}-superuser", {"username": "postgres", "password": plan["pg_superuser"]},
               type_="kubernetes.io/basic-auth", labels={"cnpg.io/cluster": name, "cnpg.io/reload": "true"})
    managed = []
    for role in roles:
        entry: dict[str, Any] = {"name": role, "ensure": "present", "login": True, "inherit": True,
                                 "connectionLimit": -1, "passwordSecret": {"name": f"{role}-db"},
                                 "comment": f"{role} application role"}
        if plan["pg"][role]["valid_until"]:
            entry["validUntil"] = plan["pg"][role]["valid_until"]
        managed.append(entry)
    instance = f"{name}-1"
    spec = {"instances": 1, "imageName": PG_IMAGE, "enableSuperuserAccess": True,
            "superuserSecret": {"name": f"{name}-superuser"}, "storage": {"size": "5Gi"},
            "postgresql": {"parameters": {"password_encryption": "scram-sha-256", "log_statement": "all"}},
            "managed": {"roles": managed}}
    status = {"phase": "Cluster in healthy state", "instances": 1, "readyInstances": 1,
              "currentPrimary": instance, "targetPrimary": instance, "instanceNames": [instance],
              "instancesStatus": {"healthy": [instance]}, "writeService": f"{name}-rw", "readService": f"{name}-r",
              "latestGeneratedNode": 1, "licenseStatus": {"isImplicit": True, "valid": True}}
    cluster = o.custom("postgresql.cnpg.io/v1/clusters", "Cluster", ns, name, spec, status)
    labels = {"cnpg.io/cluster": name, "cnpg.io/instanceName": instance, "cnpg.io/instanceRole": "primary",
              "cnpg.io/podRole": "instance", "role": "primary"}
    c = _c("postgres", PG_IMAGE, [env_value("PGDATA", "/var/lib/postgresql/data/pgdata")],
           {"postgresql": 5432, "metrics": 9187, "status": 8000})
    pod = o.pod(ns, instance, labels=labels, containers=[c], started=ctx.started(ns, name), owner=cluster)
    o.service(ns, f"{name}-rw", {"postgres": 5432}, {"cnpg.io/cluster": name, "cnpg.io/instanceRole": "primary"}, pod)
    o.service(ns, f"{name}-ro", {"postgres": 5432}, {"cnpg.io/cluster": name, "cnpg.io/instanceRole": "replica"})
    o.service(ns, f"{name}-r", {"postgres": 5432}, {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance"}, pod)
    return cluster


def cnpg_status(ctx: Ctx, cluster: dict[str, Any], secrets: dict[tuple[str, str], dict[str, Any]]) -> None:
    """managedRolesStatus as the operator last wrote it (needs the Secrets' final resourceVersions)."""
    ns, name = cluster["metadata"]["namespace"], cluster["metadata"]["name"]
    by: dict[str, list[str]] = {"reconciled": [], "pending-reconciliation": [],
                                "reserved": ["postgres", "streaming_replica"]}
    cannot: dict[str, list[str]] = {}
    pw_status: dict[str, dict[str, Any]] = {}
    versions: dict[str, str] = {}
    for role in (r["name"] for r in cluster["spec"]["managed"]["roles"]):
        spec = ctx.plan["pg"][role]
        rv = secrets[(ns, f"{role}-db")]["metadata"]["resourceVersion"]
        seen = rv if spec["synced"] else str(int(rv) - 3000)  # the version before the rotation
        if spec["cannot_reconcile"]:
            by["pending-reconciliation"].append(role)
            cannot[role] = [f"could not perform UPDATE on role {role}: {spec['cannot_reconcile']}"]
        else:
            by["reconciled"].append(role)
        pw_status[role] = {"transactionID": spec["xmin"], "resourceVersion": seen}
        versions[f"{role}-db"] = seen
    status = cluster["status"]
    status["managedRolesStatus"] = {"byStatus": {k: v for k, v in by.items() if v}, "passwordStatus": pw_status}
    if cannot:
        status["managedRolesStatus"]["cannotReconcile"] = cannot
    status["secretsResourceVersion"] = {
        "superuserSecretVersion": secrets[(ns, f"{name}-superuser")]["metadata"]["resourceVersion"],
        "managedRoleSecretVersion": versions}


def rustfs(ctx: Ctx) -> None:
    admin = ctx.plan["s3_admin"]
    ctx.secret("storage", "rustfs-credentials", {"RUSTFS_ACCESS_KEY": admin["access_key"],
                                                 "RUSTFS_SECRET_KEY": admin["secret_key"]})
    env = [env_secret("RUSTFS_ACCESS_KEY", "rustfs-credentials", "RUSTFS_ACCESS_KEY"),
           env_secret("RUSTFS_SECRET_KEY", "rustfs-credentials", "RUSTFS_SECRET_KEY"),
           env_value("RUSTFS_ADDRESS", ":9000"), env_value("RUSTFS_CONSOLE_ADDRESS", ":9001")]
    labels = {"app": "rustfs", "app.kubernetes.io/name": "rustfs"}
    _, pod = ctx.objs.statefulset("storage", "rustfs", labels=labels, started=ctx.started("storage", "rustfs"),
                                  containers=[_c("rustfs", "docker.io/rustfs/rustfs:1.0.0-alpha.69", env,
                                                 {"api": 9000, "console": 9001})])
    ctx.objs.service("storage", "rustfs-svc", {"api": 9000, "console": 9001}, {"app": "rustfs"}, pod)


def monitoring(ctx: Ctx) -> None:
    for name, image, port, svc in (("prometheus-lab", "quay.io/prometheus/prometheus:v2.42.0", 9090, "prometheus-operated"),
                                   ("alertmanager-lab", "quay.io/prometheus/alertmanager:v0.25.0", 9093,
                                    "alertmanager-operated")):
        kind = name.split("-")[0]
        labels = {"app.kubernetes.io/name": kind, "app.kubernetes.io/instance": name}
        _, pod = ctx.objs.statefulset("monitoring", name, labels=labels, started=ctx.started("monitoring", name),
                                      containers=[_c(kind, image, ports={"web": port})])
        ctx.objs.service("monitoring", svc, {"web": port}, {"app.kubernetes.io/name": kind}, pod)


def build_infra(ctx: Ctx) -> list[dict[str, Any]]:
    dragonfly(ctx)
    network_policy(ctx)
    clusters = [cnpg_cluster(ctx, "ai-system", "ai-postgres"), cnpg_cluster(ctx, "identity", "keycloak-db")]
    rustfs(ctx)
    monitoring(ctx)
    objects = ctx.objs.finish()
    secrets = {(o["metadata"]["namespace"], o["metadata"]["name"]): o
               for o in objects if o["_resource"] == "v1/secrets"}
    for cluster in clusters:
        cnpg_status(ctx, cluster, secrets)
    return objects


__all__ = ["build_infra"]
