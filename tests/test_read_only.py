"""Read-only proof: a full read-only run on the lab (every check, every flow for every consumer, every triage
variant, every pane of the TUI) leaves the servers without a single write, as the servers themselves log it:
the Kubernetes API's and the S3 server's request logs, PostgreSQL's `log_statement = 'all'` log, and Redis
(`MONITOR` plus the `INFO commandstats` delta, which also counts the admin commands MONITOR leaves out)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lab.access import plan_of
from tests.labtools import lab_config, lab_connections, run_cli
from tests.serverwatch import Seen, ServerWatch

pytestmark = pytest.mark.lab

SIZE = (160, 50)
FLOWS = ("dragonfly", "cnpg", "rustfs")

REDIS_READS = frozenset({
    # what clusterdeck sends (checks/sources/redis_source.py and the lab's INFO exporter), and this test's own
    "hello", "auth", "ping", "info", "client|setinfo", "client|setname", "client|info",
    "acl|whoami", "acl|list", "acl|log", "acl|getuser", "acl|dryrun", "acl|cat", "acl|users",
    "slowlog|get", "slowlog|len", "config|get", "command|docs", "command|info", "monitor",
})
"""Redis commands a read-only run may send (commandstats spelling). ACL DRYRUN only simulates its command."""
REDIS_READ_ONLY_ADMIN = frozenset({"acl|whoami", "acl|list", "acl|log", "acl|getuser", "acl|dryrun", "acl|cat",
                                   "acl|users", "config|get", "slowlog|get", "slowlog|len", "info", "monitor"})
"""In @dangerous (admin commands) but reading only."""
PG_READS = ("SELECT", "SHOW", "SET", "BEGIN", "COMMIT", "ROLLBACK", "WITH")
PG_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|ALTER|CREATE|DROP|GRANT|REVOKE|TRUNCATE|COPY|COMMENT|"
                       r"REASSIGN|SECURITY LABEL|VACUUM|CLUSTER|REINDEX|LOCK|NOTIFY|DO|CALL)\b", re.I)
S3_IAM_READ = re.compile(r"^Action=(List|Get)[A-Za-z]+$")


def _redis_categories(state: dict[str, Any]) -> set[str]:
    """Every command in @write or @dangerous, as the server itself classifies them."""
    import redis

    r = state["redis"]
    client = redis.Redis(host=r["host"], port=r["port"], username="default",
                         password=plan_of(state)["redis"]["default"]["live"], decode_responses=True)
    try:
        return {str(c) for cat in ("write", "dangerous") for c in client.execute_command("ACL", "CAT", cat)}
    finally:
        client.close()


def _monitor_name(line: str) -> str:
    words = [w.strip('"').lower() for w in re.findall(r'"(?:[^"\\]|\\.)*"', line)]
    if not words:
        return ""
    if words[0] in ("acl", "config", "client", "slowlog", "command", "object", "memory") and len(words) > 1:
        return f"{words[0]}|{words[1]}"
    return words[0]


def assert_no_writes(seen: Seen, state: dict[str, Any]) -> None:
    kube = [r for r in seen.kube if not r.startswith("GET ")]
    assert not kube, f"Kubernetes API requests other than GET: {kube}"

    s3 = [r for r in seen.s3 if not (r.split(" ")[0] in ("GET", "HEAD") or
                                     (r.startswith("POST / ") and S3_IAM_READ.match(r.split(" ")[-1])))]
    assert not s3, f"S3/IAM requests that are not reads: {s3}"

    pg = [(who, sql) for who, sql in seen.postgres
          if sql.split(" ", 1)[0].upper().rstrip(";") not in PG_READS or PG_WRITES.search(sql)]
    assert not pg, f"PostgreSQL statements that are not reads: {pg}"

    dangerous = _redis_categories(state)
    unexpected = sorted(set(seen.redis_calls) - REDIS_READS)
    assert not unexpected, f"Redis commands outside the read-only allowlist: {unexpected}"
    writes = sorted(c for c in seen.redis_calls if c in dangerous and c not in REDIS_READ_ONLY_ADMIN)
    assert not writes, f"Redis @write/@dangerous commands: {writes}"
    monitored = {_monitor_name(line) for line in seen.redis_monitor} - {""}
    assert monitored <= REDIS_READS, f"MONITOR shows commands outside the allowlist: {monitored - REDIS_READS}"


def _cli_runs(state: dict[str, Any]) -> list[tuple[bool, tuple[str, ...]]]:
    """(must run to a verdict, CLI arguments): `check`, every flow of every consumer, every triage variant."""
    from checks.targets import list_targets

    litellm_key = plan_of(state)["s3_keys"]["litellm"]["access_key"]
    runs: list[tuple[bool, tuple[str, ...]]] = [(True, ("check", "--output", "json"))]
    for target in list_targets(lab_connections(state)):
        for flow, uses in zip(FLOWS, (target.redis, target.postgres, target.s3)):
            if uses:
                runs.append((True, ("triage", flow, "--app", target.app, "--output", "json")))
    runs += [(False, ("triage", flow, "--app", "automation/n8n" if flow != "dragonfly" else "monitoring/loki",
                      "--output", "json")) for flow in FLOWS]  # a flow the app does not use: exit 2, no write
    runs += [(True, args) for args in (
        ("triage", "--error", "WRONGPASS invalid username-password pair or user is disabled.", "--app",
         "ai-system/litellm", "--output", "json"),
        ("triage", "--error", "-NOPERM User n8n has no permissions to run the 'set' command", "--output", "json"),
        ("triage", "--error", 'FATAL:  password authentication failed for user "obot"', "--output", "json"),
        ("triage", "--error", "botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the "
         "ListObjectsV2 operation: Access Denied", "--app", "ai-system/litellm", "--output", "json"),
        ("triage", "dragonfly", "--user", "litellm", "--output", "text"),
        ("triage", "cnpg", "--cluster", "ai-system/ai-postgres", "--role", "obot", "--output", "text"),
        ("triage", "cnpg", "--cluster", "identity/keycloak-db", "--role", "keycloak", "--output", "json"),
        ("triage", "rustfs", "--access-key", litellm_key, "--bucket", "litellm", "--output", "json"),
    )]
    return runs


async def _pilot_every_pane(state: dict[str, Any]) -> None:
    from tui.app import make_app
    from tui.widgets.table import FilterableTable

    app = make_app(lab_config(state).with_overrides(refresh_interval=0.0))
    async with app.run_test(size=SIZE) as pilot:
        async def settle() -> None:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()

        for key in "123456":
            await pilot.press(key)
            await settle()
        assert app.badge()[0] == "READ-ONLY"
        # Dragonfly: a user's detail and an ACL DRYRUN of a write command (simulated, never executed)
        await pilot.press("2")
        await settle()
        screen = app.screen
        users = screen.query_one("#users", FilterableTable)
        users.move_cursor(row=users.get_row_index("langfuse"))
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press(*"SET lf:probe x", "enter")
        await settle()
        assert "denied" in screen.query_one("#dryrun-result").content.plain
        for tab in "msc":
            await pilot.press(tab)
            await settle()
        await pilot.press("escape")
        # CNPG: a role's detail
        await pilot.press("3")
        app.screen.focus_on(subject="ai-system/ai-postgres/litellm")
        await settle()
        await pilot.pause()
        assert app.screen.detail_key == "ai-system/ai-postgres/litellm"
        await pilot.press("escape")
        # RustFS: buckets, identity, the access matrix (read probes only without --allow-writes)
        await pilot.press("4")
        await settle()
        for tab in "imb":
            await pilot.press(tab)
            await settle()
        assert app.screen._matrix is not None and not app.screen._matrix.writes_probed
        # Alerts: both tabs
        await pilot.press("5")
        await settle()
        await pilot.press("t")
        await settle()
        # Triage: a consumer's flows
        await pilot.press("6")
        await settle()
        triage = app.screen
        triage.query_one("#app-input").value = "automation/n8n"
        await pilot.press("ctrl+r")
        await settle()
        assert triage.result is not None
        d10 = next(s for s in triage._steps if s.id == "D10")
        assert any("skipped, read-only mode" in e for e in d10.evidence), d10
        triage.query_one("#app-input").value = "ai-system/litellm"
        await pilot.press("ctrl+r")
        await settle()
        r6w = [s for s in triage._steps if s.id == "R6w"]
        assert r6w and r6w[0].status == "skip" and "read-only mode" in r6w[0].evidence[0]


async def test_full_read_only_run_writes_nothing(lab: dict[str, Any]) -> None:
    watch = ServerWatch(lab).start()
    try:
        runs = _cli_runs(lab)
        with ThreadPoolExecutor(max_workers=2) as pool:
            procs = list(pool.map(lambda run: (run, run_cli(lab, *run[1], timeout=120)), runs))
        for (verdict, args), proc in procs:
            allowed = (0, 1) if verdict else (0, 1, 2)
            assert proc.returncode in allowed, f"{args}: exit {proc.returncode}\n{proc.stderr[-2000:]}"
            assert "Traceback" not in proc.stderr, f"{args}: {proc.stderr[-2000:]}"
        await _pilot_every_pane(lab)
    finally:
        seen = watch.stop()
    # the run did reach every server (a silent server would prove nothing)
    assert any("/secrets" in r for r in seen.kube) and any("/pods" in r for r in seen.kube)
    assert any(r.startswith(("GET /litellm", "HEAD /litellm")) for r in seen.s3)
    assert any(r.endswith(("Action=ListUsers", "Action=GetAccountAuthorizationDetails")) for r in seen.s3)  # IAM
    assert any(sql.upper().startswith("SELECT") for _, sql in seen.postgres)
    assert {"acl|list", "acl|dryrun", "info"} <= set(seen.redis_calls)
    assert seen.redis_monitor, "MONITOR saw nothing"
    assert_no_writes(seen, lab)


def test_watch_catches_writes(scratch_lab: dict[str, Any]) -> None:
    """The checks above can fail: real writes to each server are caught."""
    import boto3
    import psycopg
    import redis
    from kubernetes import client

    from lab import access

    plan = plan_of(scratch_lab)
    watch = ServerWatch(scratch_lab).start()
    try:
        r = scratch_lab["redis"]
        rc = redis.Redis(host=r["host"], port=r["port"], username="default", password=watch.password)
        rc.set("probe:x", "1")
        rc.execute_command("CONFIG", "SET", "slowlog-max-len", "128")
        rc.delete("probe:x")
        rc.close()
        core = client.CoreV1Api(access.kube_client(scratch_lab))
        core.patch_namespaced_config_map("dragonfly-acl", "cache", {"metadata": {"labels": {"probe": "x"}}})
        admin = plan["s3_admin"]
        s3 = boto3.client("s3", endpoint_url=scratch_lab["s3"]["url"], aws_access_key_id=admin["access_key"],
                          aws_secret_access_key=admin["secret_key"], region_name="us-east-1")
        s3.put_object(Bucket="obot", Key="probe", Body=b"x")
        s3.delete_object(Bucket="obot", Key="probe")
        host, port = access.endpoint(scratch_lab, "ai-postgres-rw.ai-system.svc:5432")
        with psycopg.connect(host=host, port=port, user="postgres", password=plan["pg_superuser"],
                             dbname="postgres", autocommit=True) as conn:
            conn.execute("CREATE TABLE probe_t (x int)")
            conn.execute("DROP TABLE probe_t")
    finally:
        seen = watch.stop()
    with pytest.raises(AssertionError, match="Kubernetes API requests other than GET"):
        assert_no_writes(seen, scratch_lab)
    seen.kube = []
    with pytest.raises(AssertionError, match="S3/IAM requests"):
        assert_no_writes(seen, scratch_lab)
    seen.s3 = []
    with pytest.raises(AssertionError, match="PostgreSQL statements"):
        assert_no_writes(seen, scratch_lab)
    seen.postgres = []
    with pytest.raises(AssertionError, match="Redis commands outside"):
        assert_no_writes(seen, scratch_lab)
    assert "config|set" in seen.redis_calls and any('"SET" "probe:x"' in m for m in seen.redis_monitor)
