"""The lab of real servers: lifecycle, Kubernetes API, Redis, PostgreSQL, S3/IAM, Prometheus."""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from lab import access, manager
from lab.state import pid_alive

pytestmark = pytest.mark.lab


def _secret(state: dict[str, Any], ns: str, name: str) -> dict[str, str]:
    from kubernetes import client

    obj = client.CoreV1Api(access.kube_client(state)).read_namespaced_secret(name, ns)
    return {k: base64.b64decode(v).decode() for k, v in obj.data.items()}


def _poll(fn: Any, deadline: float, what: str) -> Any:
    end = time.monotonic() + deadline
    while True:
        result = fn()
        if result:
            return result
        if time.monotonic() > end:
            pytest.fail(f"{what} not seen within {deadline:.0f}s")
        time.sleep(0.5)


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


# --- lifecycle --------------------------------------------------------------------------------


def test_up_down_leaves_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "lab"
    state = manager.up(directory, clean=True)
    assert state["startup_seconds"] < 20
    pids = [state["daemon_pid"], state["redis"]["pid"], state["postgres"]["pid"], state["prometheus"]["pid"]]
    pids += [state["alertmanager"]["pid"]] if state["alertmanager"]["pid"] else []
    assert all(pid_alive(p) for p in pids)
    assert manager.status(directory)["alive"]["kube"] is True
    with pytest.raises(manager.LabAlreadyRunning, match="already running"):
        manager.up(directory)
    pg_dir = Path(state["postgres"]["socket_dir"])
    assert manager.down(directory) is True
    assert not any(pid_alive(p) for p in pids)
    assert not directory.exists() and not pg_dir.exists()
    assert manager.status(directory) is None
    assert manager.down(directory) is False
    with pytest.raises(manager.LabNotRunning):
        manager.env_lines(directory)


def test_lab_files_hold_no_secret_and_config_parses(lab: dict[str, Any]) -> None:
    from checks.config import load_config

    text = Path(lab["dir"], "lab.json").read_text() + Path(lab["config"]).read_text()
    assert lab["_secrets"] and not [s for s in lab["_secrets"] if s in text]
    cfg = load_config(lab["config"])
    assert cfg.timeout == 5.0 and cfg.context == "clusterdeck-lab" and cfg.kubeconfig == lab["kubeconfig"]
    assert cfg.endpoints["dragonfly.cache.svc:6379"] == f"127.0.0.1:{lab['redis']['port']}"
    assert cfg.endpoints["keycloak-db-rw.identity.svc:5432"] == cfg.endpoints["ai-postgres-rw.ai-system.svc:5432"]
    assert set(lab["logs"]) >= {"kube_requests", "s3_requests", "postgres", "redis", "prometheus", "daemon"}
    assert manager.env_lines(lab["dir"]).startswith(f"export KUBECONFIG={lab['kubeconfig']}")


# --- Kubernetes API ---------------------------------------------------------------------------


def test_kube_serves_the_cluster(lab: dict[str, Any]) -> None:
    from kubernetes import client

    api = access.kube_client(lab)
    core, apps, custom = client.CoreV1Api(api), client.AppsV1Api(api), client.CustomObjectsApi(api)
    pods = core.list_pod_for_all_namespaces().items  # strict models deserialize
    assert {"dragonfly-0", "ai-postgres-1", "keycloak-db-1", "loki-0"} <= {p.metadata.name for p in pods}
    df = core.list_namespaced_pod("cache", label_selector="app=dragonfly,role=master").items
    assert [p.metadata.name for p in df] == ["dragonfly-0"]
    assert {d.metadata.name for d in apps.list_deployment_for_all_namespaces().items} == {
        "litellm", "langfuse", "obot", "analytics-worker", "appcache", "keycloak", "n8n"}
    assert _secret(lab, "cache", "dragonfly-auth").keys() == {"password", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    cr = custom.get_namespaced_custom_object("dragonflydb.io", "v1alpha1", "cache", "dragonflies", "dragonfly")
    assert cr["status"]["phase"] == "Ready" and "--aclfile=/etc/dragonfly/acl.conf" in cr["spec"]["args"]
    pg = custom.get_namespaced_custom_object("postgresql.cnpg.io", "v1", "ai-system", "clusters", "ai-postgres")
    assert {r["name"] for r in pg["spec"]["managed"]["roles"]} == {"litellm", "langfuse", "obot", "analytics"}
    mrs = pg["status"]["managedRolesStatus"]
    assert "langfuse" in mrs["byStatus"]["pending-reconciliation"] and "langfuse" in mrs["cannotReconcile"]
    litellm_rv = core.read_namespaced_secret("litellm-db", "ai-system").metadata.resource_version
    assert mrs["passwordStatus"]["litellm"]["resourceVersion"] != litellm_rv
    rule = custom.get_namespaced_custom_object("monitoring.coreos.com", "v1", "cache", "prometheusrules",
                                               "dragonfly-alerts")
    assert len(rule["spec"]["groups"][0]["rules"]) == 4
    assert {n.metadata.name for n in core.list_namespace().items} >= {"cache", "ai-system", "automation"}
    log = Path(lab["logs"]["kube_requests"]).read_text()
    assert "GET /api/v1/namespaces/cache/secrets/dragonfly-auth 200" in log


def test_kube_faults(lab: dict[str, Any], lab_faults: Any) -> None:
    from kubernetes import client

    core = client.CoreV1Api(access.kube_client(lab))
    for code in ("403", "500"):
        lab_faults(lab, kube=code)
        with pytest.raises(client.ApiException) as err:
            core.read_namespaced_secret("dragonfly-auth", "cache")
        assert err.value.status == int(code) and json.loads(err.value.body)["kind"] == "Status"
    lab_faults(lab, kube=None)
    assert core.read_namespaced_secret("dragonfly-auth", "cache").metadata.name == "dragonfly-auth"


def test_clean_lab_pods_started_after_their_secrets(clean_lab: dict[str, Any], lab: dict[str, Any]) -> None:
    from kubernetes import client

    def stale(state: dict[str, Any]) -> set[str]:
        core = client.CoreV1Api(access.kube_client(state))
        changed = {(s.metadata.namespace, s.metadata.name): max(f.time for f in s.metadata.managed_fields)
                   for s in core.list_secret_for_all_namespaces().items}
        out = set()
        for pod in core.list_pod_for_all_namespaces().items:
            refs = {e.value_from.secret_key_ref.name for c in pod.spec.containers for e in c.env or []
                    if e.value_from and e.value_from.secret_key_ref}
            refs |= {f.secret_ref.name for c in pod.spec.containers for f in c.env_from or [] if f.secret_ref}
            if any(changed[(pod.metadata.namespace, r)] > pod.status.start_time for r in refs):
                out.add(pod.metadata.name.split("-")[0])
        return out

    assert stale(clean_lab) == set()
    assert stale(lab) == {"keycloak"}


# --- Redis (Dragonfly stand-in) ---------------------------------------------------------------


def _redis(state: dict[str, Any], user: str, password: str) -> Any:
    import redis

    return redis.Redis(host="127.0.0.1", port=state["redis"]["port"], username=user, password=password,
                       socket_timeout=5, retry=None, protocol=2)


def test_redis_acl_planted(lab: dict[str, Any]) -> None:
    import redis

    admin = _redis(lab, "default", _secret(lab, "cache", "dragonfly-auth")["password"])
    users = {line.split()[1] for line in admin.acl_list()}
    assert users == {"default", "keycloak", "litellm", "langfuse", "n8n"}  # appcache not loaded
    with pytest.raises(redis.AuthenticationError):
        _redis(lab, "litellm", _secret(lab, "ai-system", "litellm-env")["LITELLM_REDIS_PASSWORD"]).get("litellm:x")
    # the seed's rules grant no @connection commands (no PING): probe with a key command
    assert _redis(lab, "keycloak", _secret(lab, "identity", "keycloak-redis")["password"]).get("keycloak:x") is None
    langfuse = redis.Redis.from_url(_secret(lab, "ai-system", "langfuse-redis")["url"].replace(
        "dragonfly.cache.svc.cluster.local:6379", f"127.0.0.1:{lab['redis']['port']}"), retry=None, protocol=2)
    with pytest.raises(redis.exceptions.NoPermissionError):
        langfuse.set("lf:probe", "1")
    assert langfuse.set("langfuse:probe", "1")
    reasons = {(e["reason"], e["username"]) for e in admin.acl_log()}
    assert {("auth", "litellm"), ("key", "langfuse")} <= reasons
    mem = admin.info("memory")
    # filled to just under maxmemory; Redis may stand a few bytes over it until its next eviction (client
    # buffers: a clean-clone run saw 67,108,904 of 67,108,864 bytes)
    assert 0.9 < mem["used_memory"] / mem["maxmemory"] < 1.001
    assert admin.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
    assert len(admin.slowlog_get()) >= 1


def test_redis_acl_clean(clean_lab: dict[str, Any]) -> None:
    admin = _redis(clean_lab, "default", _secret(clean_lab, "cache", "dragonfly-auth")["password"])
    assert len(admin.acl_list()) == 6 and admin.acl_log() == []
    pw = _secret(clean_lab, "ai-system", "litellm-env")["LITELLM_REDIS_PASSWORD"]
    assert _redis(clean_lab, "litellm", pw).set("litellm:x", 1)
    assert _redis(clean_lab, "appcache", _secret(clean_lab, "default", "appcache-redis")["password"]).set("cache:x", 1)
    url = _secret(clean_lab, "automation", "n8n-redis")["url"]
    assert url.startswith("redis://n8n:") and _redis(clean_lab, "n8n", url.split(":")[2].split("@")[0]).set("n8n:x", 1)


# --- PostgreSQL (CNPG stand-in) ---------------------------------------------------------------


def _pg_login(state: dict[str, Any], user: str, password: str, db: str) -> str:
    import psycopg

    try:
        psycopg.connect(host="127.0.0.1", port=state["postgres"]["port"], user=user, password=password,
                        dbname=db, connect_timeout=5).close()
        return "ok"
    except psycopg.OperationalError as exc:
        return str(exc)


def test_postgres_roles_planted(lab: dict[str, Any]) -> None:
    import psycopg

    su = _secret(lab, "ai-system", "ai-postgres-superuser")
    assert su["username"] == "postgres"
    with psycopg.connect(host="127.0.0.1", port=lab["postgres"]["port"], user="postgres", password=su["password"],
                         dbname="postgres") as conn:
        rows = dict(conn.execute("SELECT rolname, rolpassword FROM pg_authid WHERE rolcanlogin").fetchall())
        assert all(rows[r].startswith("SCRAM-SHA-256$") for r in ("litellm", "langfuse", "obot", "analytics", "keycloak"))
        (expired,) = conn.execute("SELECT rolvaliduntil < now() FROM pg_roles WHERE rolname = 'obot'").fetchone()
        assert expired
    for role, ns, ok in (("litellm", "ai-system", False), ("analytics", "ai-system", False),
                         ("obot", "ai-system", False), ("keycloak", "identity", True)):
        s = _secret(lab, ns, f"{role}-db")
        result = _pg_login(lab, s["username"], s["password"], role)
        assert (result == "ok") is ok, (role, result)
    assert "password authentication failed" in _pg_login(lab, "litellm", "wrong", "litellm")
    assert _secret(lab, "ai-system", "langfuse-db")["username"] == "langfuse_app"
    log = Path(lab["logs"]["postgres"]).read_text()
    assert not [s for s in lab["_secrets"] if s in log]


def test_postgres_roles_clean(clean_lab: dict[str, Any]) -> None:
    for role, ns in (("litellm", "ai-system"), ("langfuse", "ai-system"), ("obot", "ai-system"),
                     ("analytics", "ai-system"), ("keycloak", "identity")):
        s = _secret(clean_lab, ns, f"{role}-db")
        assert _pg_login(clean_lab, s["username"], s["password"], role) == "ok", role


# --- S3 / IAM (RustFS stand-in) ---------------------------------------------------------------


def _s3(state: dict[str, Any], key: str, secret: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=state["s3"]["url"], region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def _code(fn: Any) -> str:
    from botocore.exceptions import ClientError

    try:
        fn()
        return "ok"
    except ClientError as exc:
        return exc.response["Error"]["Code"]


def test_s3_iam_planted(lab: dict[str, Any], lab_faults: Any) -> None:
    s = _secret(lab, "ai-system", "litellm-s3")
    litellm = _s3(lab, s["AWS_ACCESS_KEY_ID"], s["AWS_SECRET_ACCESS_KEY"])
    assert _code(lambda: litellm.list_objects_v2(Bucket="litellm")) == "AccessDenied"
    assert _code(lambda: litellm.get_object(Bucket="litellm", Key="logs/2026/spend-logs.jsonl")) == "ok"
    assert _code(lambda: _s3(lab, s["AWS_ACCESS_KEY_ID"], "wrong").list_objects_v2(Bucket="litellm")) \
        == "SignatureDoesNotMatch"
    assert _code(lambda: _s3(lab, "AKIAWRONGWRONGWRONG1", "x").list_objects_v2(Bucket="litellm")) == "InvalidAccessKeyId"
    s = _secret(lab, "ai-system", "langfuse-s3")
    assert s["S3_SECRET_ACCESS_KEY"].endswith("\n")
    assert _code(lambda: _s3(lab, s["S3_ACCESS_KEY_ID"], s["S3_SECRET_ACCESS_KEY"]).list_objects_v2(
        Bucket="langfuse")) == "SignatureDoesNotMatch"
    s = _secret(lab, "ai-system", "obot-s3")
    assert _code(lambda: _s3(lab, s["AWS_ACCESS_KEY_ID"], s["AWS_SECRET_ACCESS_KEY"]).list_objects_v2(
        Bucket="obot")) == "InvalidAccessKeyId"
    s = _secret(lab, "monitoring", "loki-s3")
    assert _code(lambda: _s3(lab, s["AWS_ACCESS_KEY_ID"], s["AWS_SECRET_ACCESS_KEY"]).list_objects_v2(
        Bucket="obot")) == "ok"  # s3:* on arn:aws:s3:::*
    s = _secret(lab, "cache", "dragonfly-auth")
    assert _code(lambda: _s3(lab, s["AWS_ACCESS_KEY_ID"], s["AWS_SECRET_ACCESS_KEY"]).list_objects_v2(
        Bucket="dragonfly-backups")) == "NoSuchBucket"
    admin = _secret(lab, "storage", "rustfs-credentials")
    admin_s3 = _s3(lab, admin["RUSTFS_ACCESS_KEY"], admin["RUSTFS_SECRET_KEY"])
    assert {b["Name"] for b in admin_s3.list_buckets()["Buckets"]} == {"litellm", "langfuse", "obot", "loki"}
    lab_faults(lab, s3="500")
    assert _code(lambda: admin_s3.list_buckets()) == "InternalError"
    log = Path(lab["logs"]["s3_requests"]).read_text()
    key = _secret(lab, "ai-system", "litellm-s3")["AWS_ACCESS_KEY_ID"]
    assert re.search(rf"GET /litellm\?\S*list-type=2\S* 403 {key}$", log, re.M), log[-2000:]


def test_s3_iam_clean(clean_lab: dict[str, Any]) -> None:
    for ns, name, bucket, kid, ksec in (
            ("ai-system", "litellm-s3", "litellm", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
            ("ai-system", "langfuse-s3", "langfuse", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"),
            ("ai-system", "obot-s3", "obot", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
            ("monitoring", "loki-s3", "loki", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
            ("cache", "dragonfly-auth", "dragonfly-backups", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")):
        s = _secret(clean_lab, ns, name)
        client = _s3(clean_lab, s[kid], s[ksec])
        assert _code(lambda: client.list_objects_v2(Bucket=bucket)) == "ok", bucket
        assert _code(lambda: client.get_bucket_location(Bucket=bucket)) == "ok", bucket
        other = "loki" if bucket != "loki" else "obot"
        assert _code(lambda: client.list_objects_v2(Bucket=other)) == "AccessDenied", bucket


# --- Prometheus and Alertmanager --------------------------------------------------------------


def test_prometheus_rules_scrape_and_alerts(lab: dict[str, Any]) -> None:
    from lab.monitoring import seed_rule_groups

    prom = lab["prometheus"]["url"]
    groups = _get_json(f"{prom}/api/v1/rules")["data"]["groups"]
    loaded = {r["name"]: r["query"] for g in groups for r in g["rules"]}
    for rule in seed_rule_groups()[0]["rules"]:
        assert loaded[rule["alert"]] == rule["expr"]

    def scraped() -> Any:
        r = _get_json(f"{prom}/api/v1/query?query=dragonfly_memory_used_bytes%2Fdragonfly_memory_max_bytes")
        return r["data"]["result"]

    result = _poll(scraped, 30, "the Dragonfly exporter scraped")
    assert result[0]["metric"]["job"] == "cache/dragonfly" and result[0]["metric"]["pod"] == "dragonfly-0"
    assert float(result[0]["value"][1]) > 0.9

    def alerts() -> dict[str, str]:
        return {a["labels"]["alertname"]: a["state"] for a in _get_json(f"{prom}/api/v1/alerts")["data"]["alerts"]}

    _poll(lambda: alerts().get("Watchdog") == "firing", 60, "Watchdog firing")
    # `for: 5m`: pending at first, firing in a session that runs long enough
    _poll(lambda: alerts().get("DragonflyMemoryHigh") in ("pending", "firing"), 30, "DragonflyMemoryHigh active")
    am = lab["alertmanager"]
    if am["available"]:
        silences = _get_json(f"{am['url']}/api/v2/silences")
        assert any(s["id"] == am["silence_id"] and s["status"]["state"] == "active" for s in silences)


def test_lab_s3_keeps_connections_open_and_takes_many(lab: dict[str, Any]) -> None:
    """The lab's S3 server answers HTTP/1.1 with keep-alive, as RustFS does, and still accepts connections while
    hundreds are held open (each client keeps its pool's: waitress alone stops accepting at 100)."""
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(lab["s3"]["url"])
    held = []
    try:
        for _ in range(300):
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            held.append(conn)
            conn.request("GET", "/health")
            resp = conn.getresponse()
            assert resp.status == 200 and resp.read() and not resp.will_close
        conn = held[0]  # the first connection is still open: a second request on it
        conn.request("GET", "/health")
        assert conn.getresponse().status == 200
    finally:
        for conn in held:
            conn.close()
