"""The Kubernetes objects of the lab cluster, built from a seeded plan (names are a contract).

Namespaces: cache, ai-system, identity, default, automation, storage, monitoring.
Apps and their Secrets are here; Dragonfly, CNPG, RustFS and monitoring in lab.cluster_infra.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from lab.k8s import Objects, env_secret, env_value

NAMESPACES = ["cache", "ai-system", "identity", "default", "automation", "storage", "monitoring"]
REDIS_DNS = "dragonfly.cache.svc.cluster.local"
S3_URL = "http://rustfs-svc.storage.svc.cluster.local:9000"
RELOADER = {"reloader.stakater.com/auto": "true"}
IMAGES = {
    "litellm": "ghcr.io/berriai/litellm:main-v1.74.0",
    "langfuse": "docker.io/langfuse/langfuse:3.95.0",
    "obot": "ghcr.io/obot-platform/obot:v0.9.1",
    "analytics-worker": "ghcr.io/example/analytics-worker:2.3.1",
    "appcache": "ghcr.io/example/appcache:1.8.0",
    "keycloak": "quay.io/keycloak/keycloak:26.3.1",
    "n8n": "docker.n8n.io/n8nio/n8n:1.104.1",
    "loki": "docker.io/grafana/loki:3.5.3",
}


class Ctx:
    """The plan plus the Secrets' decoded data (for Reloader hashes)."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.objs = Objects(plan["times"]["created"])
        self.secret_data: dict[tuple[str, str], dict[str, str]] = {}

    def secret_changed(self, ns: str, name: str) -> str:
        return self.plan["secret_times"].get(f"{ns}/{name}", self.plan["times"]["secrets"])

    def started(self, ns: str, app: str) -> str:
        return self.plan["pod_times"].get(f"{ns}/{app}", self.plan["times"]["pods"])

    def secret(self, ns: str, name: str, data: dict[str, str], **kw: Any) -> dict[str, Any]:
        self.secret_data[(ns, name)] = data
        return self.objs.secret(ns, name, data, changed=self.secret_changed(ns, name), **kw)

    def stakater_env(self, ns: str, app: str) -> list[dict[str, Any]]:
        """Reloader's env-vars strategy: STAKATER_<NAME>_SECRET = SHA1 of sorted key=value pairs."""
        name = self.plan["stakater"].get(app)
        if not name:
            return []
        data = self.secret_data[(ns, name)]
        digest = hashlib.sha1(";".join(f"{k}={v}" for k, v in sorted(data.items())).encode()).hexdigest()
        var = "STAKATER_" + "".join(c if c.isalnum() else "_" for c in name.upper()) + "_SECRET"
        return [env_value(var, digest)]


def pg_env(cluster_rw: str, db: str, secret: str) -> list[dict[str, Any]]:
    return [env_value("PGHOST", cluster_rw), env_value("PGPORT", "5432"), env_value("PGDATABASE", db),
            env_secret("PGUSER", secret, "username"), env_secret("PGPASSWORD", secret, "password")]


def aws_env(secret: str, bucket: str) -> list[dict[str, Any]]:
    return [env_secret("AWS_ACCESS_KEY_ID", secret, "AWS_ACCESS_KEY_ID"),
            env_secret("AWS_SECRET_ACCESS_KEY", secret, "AWS_SECRET_ACCESS_KEY"),
            env_value("AWS_ENDPOINT_URL", S3_URL), env_value("S3_BUCKET_NAME", bucket)]


def redis_url(user: str, password: str) -> str:
    return f"redis://{user}:{password}@{REDIS_DNS}:6379/0"


def container(name: str, env: list[dict], env_from: list[dict] | None = None,
              ports: dict[str, int] | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": IMAGES[name], "imagePullPolicy": "IfNotPresent", "env": env,
                         "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
                         "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}
    if env_from:
        c["envFrom"] = env_from
    if ports:
        c["ports"] = [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in ports.items()]
    return c


def s3_secret_data(ctx: Ctx, app: str, id_key: str = "AWS_ACCESS_KEY_ID",
                   secret_key: str = "AWS_SECRET_ACCESS_KEY") -> dict[str, str]:
    keys = ctx.plan["s3_keys"][app]
    value = keys["secret_key"] + ("\n" if ctx.plan["s3"][app]["trailing_newline"] else "")
    return {id_key: keys["access_key"], secret_key: value}


def pg_secret(ctx: Ctx, ns: str, role: str) -> None:
    spec = ctx.plan["pg"][role]
    labels = {"cnpg.io/reload": "true"} if spec["reload_label"] else {}
    ctx.secret(ns, f"{role}-db", {"username": spec["username"], "password": spec["secret"]},
               type_="kubernetes.io/basic-auth", labels=labels)


def build_apps(ctx: Ctx) -> None:
    plan, o = ctx.plan, ctx.objs
    redis = plan["redis"]
    # --- ai-system ---------------------------------------------------------------------------
    ns = "ai-system"
    for role in ("litellm", "langfuse", "obot", "analytics"):
        pg_secret(ctx, ns, role)
    ctx.secret(ns, "litellm-env", {"LITELLM_REDIS_PASSWORD": redis["litellm"]["app"],
                                   "LITELLM_MASTER_KEY": plan["litellm_master_key"]})
    ctx.secret(ns, "litellm-s3", s3_secret_data(ctx, "litellm"))
    ctx.secret(ns, "langfuse-redis", {"url": redis_url("langfuse", redis["langfuse"]["app"])})
    ctx.secret(ns, "langfuse-s3", s3_secret_data(ctx, "langfuse", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"))
    ctx.secret(ns, "obot-s3", s3_secret_data(ctx, "obot"))
    rw = "ai-postgres-rw.ai-system.svc"
    env = [env_value("REDIS_HOST", REDIS_DNS), env_value("REDIS_PORT", "6379"), env_value("REDIS_USERNAME", "litellm"),
           *pg_env(rw, "litellm", "litellm-db"), *aws_env("litellm-s3", "litellm"), *ctx.stakater_env(ns, "litellm")]
    o.deployment(ns, "litellm", annotations=RELOADER, started=ctx.started(ns, "litellm"),
                 containers=[container("litellm", env, [{"secretRef": {"name": "litellm-env"}}], {"http": 4000})])
    prefix = "lf:" if plan["planted"] else "langfuse:"
    env = [env_secret("REDIS_URL", "langfuse-redis", "url"), env_value("REDIS_KEY_PREFIX", prefix),
           *pg_env(rw, "langfuse", "langfuse-db"), env_value("S3_ENDPOINT", S3_URL), env_value("S3_BUCKET", "langfuse"),
           env_secret("S3_ACCESS_KEY_ID", "langfuse-s3", "S3_ACCESS_KEY_ID"),
           env_secret("S3_SECRET_ACCESS_KEY", "langfuse-s3", "S3_SECRET_ACCESS_KEY"), *ctx.stakater_env(ns, "langfuse")]
    o.deployment(ns, "langfuse", annotations=RELOADER, started=ctx.started(ns, "langfuse"),
                 containers=[container("langfuse", env, ports={"http": 3000})])
    env = [*pg_env(rw, "obot", "obot-db"), *aws_env("obot-s3", "obot"), *ctx.stakater_env(ns, "obot")]
    o.deployment(ns, "obot", annotations=RELOADER, started=ctx.started(ns, "obot"),
                 containers=[container("obot", env, ports={"http": 8080})])
    o.deployment(ns, "analytics-worker", started=ctx.started(ns, "analytics-worker"),
                 containers=[container("analytics-worker", pg_env(rw, "analytics", "analytics-db"))])
    # --- default -----------------------------------------------------------------------------
    ctx.secret("default", "appcache-redis", {"password": redis["appcache"]["app"]})
    env = [env_value("REDIS_HOST", REDIS_DNS), env_value("REDIS_PORT", "6379"),
           env_value("REDIS_USERNAME", "appcache"), env_secret("REDIS_PASSWORD", "appcache-redis", "password")]
    o.deployment("default", "appcache", started=ctx.started("default", "appcache"),
                 containers=[container("appcache", env, ports={"http": 8080})])
    # --- identity ----------------------------------------------------------------------------
    pg_secret(ctx, "identity", "keycloak")
    ctx.secret("identity", "keycloak-redis", {"password": redis["keycloak"]["app"]})
    env = [env_value("KC_DB_URL", "jdbc:postgresql://keycloak-db-rw.identity.svc:5432/keycloak"),
           env_secret("KC_DB_USERNAME", "keycloak-db", "username"), env_secret("KC_DB_PASSWORD", "keycloak-db", "password"),
           env_value("REDIS_HOST", REDIS_DNS), env_value("REDIS_PORT", "6379"), env_value("REDIS_USERNAME", "keycloak"),
           env_secret("REDIS_PASSWORD", "keycloak-redis", "password")]
    o.deployment("identity", "keycloak", started=ctx.started("identity", "keycloak"),
                 containers=[container("keycloak", env, ports={"http": 8080})])
    # --- automation --------------------------------------------------------------------------
    ctx.secret("automation", "n8n-redis", {"url": redis_url("n8n", redis["n8n"]["app"])})
    o.deployment("automation", "n8n", started=ctx.started("automation", "n8n"),
                 containers=[container("n8n", [env_secret("REDIS_URL", "n8n-redis", "url"),
                                               env_value("QUEUE_BULL_REDIS_DB", "0")], ports={"http": 5678})])
    # --- monitoring: loki --------------------------------------------------------------------
    ctx.secret("monitoring", "loki-s3", s3_secret_data(ctx, "loki"))
    o.statefulset("monitoring", "loki", labels={"app": "loki", "app.kubernetes.io/name": "loki"},
                  started=ctx.started("monitoring", "loki"),
                  containers=[container("loki", aws_env("loki-s3", "loki"), ports={"http": 3100})])


HELM_RELEASES = {"ai-system": ("litellm", "langfuse"), "identity": ("keycloak",), "automation": ("n8n",),
                 "monitoring": ("loki",)}
"""Apps installed by Helm: each has its release records, as on a real cluster."""
HELM_REVISIONS = 4
HELM_RECORD_BYTES = 48_000
"""Size of one release record's gzipped release (before base64): real ones are tens to hundreds of KB."""


def helm_records(ctx: Ctx) -> None:
    """Helm 3's release records (type helm.sh/release.v1, one per revision, named sh.helm.release.v1.<release>.v<N>).
    Their `release` value stands in for the gzipped release: deterministic bytes that do not compress, so they
    weigh on a list as the real ones do. clusterdeck's Secret lists leave them on the server."""
    for ns, releases in HELM_RELEASES.items():
        for release in releases:
            for revision in range(1, HELM_REVISIONS + 1):
                seed = hashlib.sha256(f"{ns}/{release}/{revision}".encode()).digest()
                blob = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest()
                                for i in range(HELM_RECORD_BYTES // 32))
                status = "deployed" if revision == HELM_REVISIONS else "superseded"
                ctx.objs.secret(ns, f"sh.helm.release.v1.{release}.v{revision}",
                                {"release": base64.b64encode(blob).decode()}, changed=ctx.plan["times"]["created"],
                                type_="helm.sh/release.v1", labels={"name": release, "owner": "helm",
                                                                    "status": status, "version": str(revision)})


def build(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object of the lab cluster, ready for `POST /_lab/load`."""
    from lab.cluster_infra import build_infra

    ctx = Ctx(plan)
    for ns in NAMESPACES:
        ctx.objs.namespace(ns)
    build_apps(ctx)
    helm_records(ctx)
    return build_infra(ctx)
