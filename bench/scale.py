"""Generate the large-cluster data set on the REAL lab servers.

10,000 ACL users (ACL SETUSER in one pipeline on the lab Redis), 2,000 managed roles (CREATE ROLE in
PostgreSQL, plus the CNPG Cluster's spec.managed.roles and status patched through the lab API),
5,000 buckets (moto S3, admin keys, in parallel), 1,000 alerts (a generated Prometheus rule group of
1,000 always-firing alerting rules, loaded with /-/reload).
"""

from __future__ import annotations

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import log

USERS, ROLES, BUCKETS, ALERTS = 10_000, 2_000, 5_000, 1_000


def _redis(state: dict[str, Any], plan: dict[str, Any], n: int) -> None:
    import redis

    r = redis.Redis("127.0.0.1", state["redis"]["port"], username="default",
                    password=plan["redis"]["default"]["live"], socket_timeout=60)
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.execute_command("ACL", "SETUSER", f"bench-u{i:05d}", "on", f">bench-pw-{i}", f"~bench:{i}:*", "+@read")
    pipe.execute()
    r.close()


def _postgres(state: dict[str, Any], plan: dict[str, Any], n: int) -> None:
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=state["postgres"]["port"], user="postgres",
                         password=plan["pg_superuser"], dbname="postgres", autocommit=True) as conn:
        conn.execute("DO $$ BEGIN FOR i IN 0.." + str(n - 1) + " LOOP EXECUTE format("
                     "'CREATE ROLE %I LOGIN PASSWORD %L', 'bench_r' || lpad(i::text, 4, '0'), 'pw' || i); "
                     "END LOOP; END $$")


def _kube_get(state: dict[str, Any], plan: dict[str, Any], path: str) -> dict[str, Any]:
    req = urllib.request.Request(f"{state['kube']['url']}{path}",
                                 headers={"Authorization": f"Bearer {plan['kube_token']}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def _cnpg(state: dict[str, Any], plan: dict[str, Any], n: int) -> None:
    from lab.files import load_objects

    cluster = _kube_get(state, plan, "/apis/postgresql.cnpg.io/v1/namespaces/ai-system/clusters/ai-postgres")
    secret = _kube_get(state, plan, "/api/v1/namespaces/ai-system/secrets/obot-db")
    names = [f"bench_r{i:04d}" for i in range(n)]
    cluster["spec"]["managed"]["roles"] += [
        {"name": name, "ensure": "present", "login": True, "inherit": True, "connectionLimit": -1,
         "passwordSecret": {"name": "bench-roles-db"}, "comment": "bench role"} for name in names]
    mrs = cluster["status"].setdefault("managedRolesStatus", {})
    mrs.setdefault("byStatus", {}).setdefault("reconciled", []).extend(names)
    mrs.setdefault("passwordStatus", {}).update({name: {"transactionID": 0, "resourceVersion": "1"} for name in names})
    cluster["_resource"] = "postgresql.cnpg.io/v1/clusters"
    secret["metadata"] = {**secret["metadata"], "name": "bench-roles-db", "resourceVersion": "1"}
    secret["_resource"] = "v1/secrets"
    load_objects(state["kube"]["url"], [cluster, secret])


def _s3(state: dict[str, Any], plan: dict[str, Any], n: int) -> None:
    import boto3
    from botocore.config import Config

    admin = plan["s3_admin"]
    client = boto3.session.Session().client(
        "s3", endpoint_url=state["s3"]["url"], aws_access_key_id=admin["access_key"],
        aws_secret_access_key=admin["secret_key"], region_name=state["s3"]["region"],
        config=Config(max_pool_connections=16, retries={"max_attempts": 3}))
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: client.create_bucket(Bucket=f"bench-b{i:05d}"), range(n)))


def _prometheus(state: dict[str, Any], n: int) -> None:
    rules = ["groups:", "  - name: bench.rules", "    interval: 5s", "    rules:"]
    for i in range(n):
        rules += [f"      - alert: BenchAlert{i:04d}", "        expr: vector(1)",
                  "        labels: {severity: " + ("warning" if i % 3 else "critical") + f", instance: bench-a{i:04d}}}",
                  f"        annotations: {{summary: 'bench alert {i}'}}"]
    root = Path(state["dir"]) / "prometheus" / "rules"
    (root / "bench.yaml").write_text("\n".join(rules) + "\n")
    req = urllib.request.Request(f"{state['prometheus']['url']}/-/reload", method="POST")
    urllib.request.urlopen(req, timeout=30).read()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # every rule evaluated once: the alerts exist
        with urllib.request.urlopen(f"{state['prometheus']['url']}/api/v1/alerts", timeout=30) as resp:
            if len(json.loads(resp.read())["data"]["alerts"]) >= n:
                return
        time.sleep(1)
    raise RuntimeError("Prometheus did not fire the generated alerts within 60 s")


def generate(state: dict[str, Any]) -> dict[str, float]:
    """Create the data set; returns the seconds each part took."""
    from lab.access import plan_of

    plan = plan_of(state)
    took: dict[str, float] = {}
    for name, fn in (("redis users", lambda: _redis(state, plan, USERS)),
                     ("postgres roles", lambda: _postgres(state, plan, ROLES)),
                     ("cnpg spec/status", lambda: _cnpg(state, plan, ROLES)),
                     ("s3 buckets", lambda: _s3(state, plan, BUCKETS)),
                     ("prometheus alerts", lambda: _prometheus(state, ALERTS))):
        start = time.monotonic()
        fn()
        took[name] = time.monotonic() - start
        log(f"scale: {name} in {took[name]:.1f} s")
    return took
