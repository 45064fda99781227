"""CNPG password rotation flow C1–C7: the planted lab cases through the real CLI, the clean lab, and the
pure step logic on fixed objects (CNPG before/after v1.30, Secret defects, stale consumers)."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Any

import pytest

from checks.flows.cnpg_facts import AppLink, RoleFacts, find_consumers
from checks.flows.cnpg_steps import c2_declared, c3_secret, c4_applied, c5_usable, c6_estimate, c7_consumers
from checks.sources import kube_parse as kp
from checks.sources import kube_parse_resources as kr
from checks.sources.postgres import PgRole
from tests.labtools import lab_connections, run_cli, run_cli_json

PLANTED = [  # (app, role, expected root-cause code, step)
    ("ai-system/litellm", "litellm", "CNPG_RELOAD_LABEL_MISSING", "C3"),
    ("ai-system/langfuse", "langfuse", "CNPG_USERNAME_MISMATCH", "C3"),
    ("ai-system/obot", "obot", "CNPG_PASSWORD_EXPIRED", "C5"),
    ("ai-system/analytics-worker", "analytics", "CNPG_PASSWORD_MISMATCH", "C6"),
    ("identity/keycloak", "keycloak", "CNPG_POD_STALE_SECRET", "C7"),
]
STEP_IDS = ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]


def assert_no_secret(text: str, secrets: list[str]) -> None:
    for value in secrets:
        assert value not in text, "a lab secret leaked"
        assert base64.b64encode(value.encode()).decode() not in text, "a lab secret leaked (base64)"


def triage_json(state: dict[str, Any], *args: str) -> tuple[int, dict[str, Any]]:
    code, doc = run_cli_json(state, "triage", *args)
    import json

    assert_no_secret(json.dumps(doc), state["_secrets"])
    return code, doc


@pytest.mark.parametrize("app,role,code,step", PLANTED, ids=[p[1] for p in PLANTED])
def test_planted_case_through_the_cli(lab: dict[str, Any], app: str, role: str, code: str, step: str) -> None:
    exit_code, doc = triage_json(lab, "cnpg", "--app", app)
    assert doc["flow"] == "cnpg"
    assert doc["subject"]["role"] == role
    assert [s["id"] for s in doc["steps"]] == STEP_IDS
    assert doc["root_cause"] is not None, doc
    assert (doc["root_cause"]["code"], doc["root_cause"]["step"]) == (code, step)
    assert exit_code == 1
    failing = next(s for s in doc["steps"] if s["id"] == step)
    assert failing["status"] == "fail" and failing["fix"] and failing["evidence"]


@pytest.mark.parametrize("app,role", [(p[0], p[1]) for p in PLANTED], ids=[p[1] for p in PLANTED])
def test_clean_lab_has_no_root_cause(clean_lab: dict[str, Any], app: str, role: str) -> None:
    exit_code, doc = triage_json(clean_lab, "cnpg", "--app", app)
    assert doc["subject"]["role"] == role
    assert doc["root_cause"] is None, doc["root_cause"]
    assert exit_code == 0
    assert all(s["status"] in ("pass", "warn") for s in doc["steps"]), doc["steps"]


def test_cluster_and_role_given(lab: dict[str, Any]) -> None:
    exit_code, doc = triage_json(lab, "cnpg", "--cluster", "ai-system/ai-postgres", "--role", "obot")
    assert doc["subject"] == {"cluster": "ai-system/ai-postgres", "role": "obot"}
    assert doc["root_cause"]["code"] == "CNPG_PASSWORD_EXPIRED" and doc["root_cause"]["step"] == "C5"
    assert "2024-01-01" in doc["root_cause"]["summary"]
    assert exit_code == 1


def test_pasted_error_picks_the_flow_and_role(lab: dict[str, Any]) -> None:
    exit_code, doc = triage_json(lab, "--error", 'FATAL:  password authentication failed for user "analytics"',
                                 "--app", "ai-system/analytics-worker")
    assert doc["flow"] == "cnpg" and doc["subject"]["role"] == "analytics"
    assert doc["root_cause"]["code"] == "CNPG_PASSWORD_MISMATCH" and doc["root_cause"]["step"] == "C6"
    c6 = next(s for s in doc["steps"] if s["id"] == "C6")
    assert any("xmin" in e for e in c6["evidence"]), "the manual ALTER ROLE is explained from the catalog"
    assert any("the app logged" in e for e in c6["evidence"])
    assert exit_code == 1


def test_evidence_and_fixes_are_concrete(lab: dict[str, Any]) -> None:
    _, doc = triage_json(lab, "cnpg", "--app", "ai-system/litellm")
    steps = {s["id"]: s for s in doc["steps"]}
    assert "kubectl label secret litellm-db -n ai-system cnpg.io/reload=true" in steps["C3"]["fix"]
    assert steps["C4"]["code"] == "CNPG_PASSWORD_NOT_SYNCED"
    assert steps["C6"]["code"] == "CNPG_PASSWORD_MISMATCH"
    _, doc = triage_json(lab, "cnpg", "--app", "identity/keycloak")
    c7 = doc["steps"][-1]
    assert "kubectl rollout restart deploy/keycloak -n identity" in c7["fix"]
    assert "reloader.stakater.com" in c7["fix"]


def test_unknown_subject_cannot_run(lab: dict[str, Any]) -> None:
    proc = run_cli(lab, "triage", "cnpg", "--role", "no_such_role")
    assert proc.returncode == 2
    assert "no CNPG Cluster manages role no_such_role" in proc.stderr


def test_in_process_run_reports_each_step(lab: dict[str, Any]) -> None:
    """(The flow's wall time is a goal of the benchmark, `make bench`, not of this test.)"""
    from checks.flows.runner import run_flow

    conns = lab_connections(lab)
    seen: list[str] = []
    try:
        result = run_flow(conns, "cnpg", app="ai-system/langfuse", on_step=lambda s: seen.append(s.id))
    finally:
        conns.close()
    assert seen == STEP_IDS
    assert result.root_cause is not None and result.root_cause.code == "CNPG_USERNAME_MISMATCH"


# -- pure steps on fixed objects ---------------------------------------------------------------------

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def _cluster(status_extra: dict[str, Any] | None = None, **role: Any) -> Any:
    entry = {"name": "dante", "ensure": "present", "login": True, "passwordSecret": {"name": "dante-db"}, **role}
    status = {"phase": "Cluster in healthy state", "currentPrimary": "pg-1",
              "managedRolesStatus": {"byStatus": {"reconciled": ["dante"], "reserved": ["postgres"]},
                                     "passwordStatus": {"dante": {"transactionID": 854, "resourceVersion": "100"}}}}
    status.update(status_extra or {})
    return kr.cnpg_cluster_from({"kind": "Cluster", "metadata": {"name": "pg", "namespace": "db"},
                                 "spec": {"instances": 1, "managed": {"roles": [entry]}}, "status": status})


def _secret(username: str = "dante", password: str = "pw-dante", rv: str = "100", labels: dict | None = None,
            changed: str = "2026-02-01T00:00:00Z", keys: tuple[str, ...] = ("username", "password")) -> Any:
    values = {"username": username, "password": password}
    return kp.secret_from({"kind": "Secret", "type": "kubernetes.io/basic-auth",
                           "metadata": {"name": "dante-db", "namespace": "db", "resourceVersion": rv,
                                        "creationTimestamp": changed,
                                        "labels": {"cnpg.io/reload": "true"} if labels is None else labels},
                           "data": {k: base64.b64encode(values[k].encode()).decode() for k in keys}})


def _pg(**kw: Any) -> PgRole:
    base = dict(name="dante", superuser=False, can_login=True, valid_until=None, conn_limit=-1,
                current_connections=0, member_of=(), xmin=854, has_password=True)
    return PgRole(**{**base, **kw})  # type: ignore[arg-type]


def _facts(cluster: Any = None, secret: Any = "default", pg: Any = "default", **kw: Any) -> RoleFacts:
    return RoleFacts(cluster or _cluster(), "dante", "dante-db", _secret() if secret == "default" else secret,
                     _pg() if pg == "default" else pg, True, kw.pop("consumers", ()), NOW, **kw)


def test_sound_role_passes_every_pure_step() -> None:
    f = _facts()
    steps = [c2_declared(f), c3_secret(f), c4_applied(f), c5_usable(f), c6_estimate(f)]
    assert [s.status for s in steps] == ["pass", "pass", "pass", "pass", "skip"]


def test_username_mismatch_before_v130_is_flagged_without_status() -> None:
    f = _facts(secret=_secret(username="dante_app", rv="200"))
    c3 = c3_secret(f)
    assert (c3.status, c3.code) == ("fail", "CNPG_USERNAME_MISMATCH")
    assert "before CNPG v1.30" in c3.evidence[0] and "wrong username 'dante_app'" in c3.evidence[0]
    assert c4_applied(f).code == "CNPG_PASSWORD_NOT_SYNCED"


def test_username_mismatch_v130_quotes_cannot_reconcile() -> None:
    text = 'could not perform UPDATE on role dante: the username in secret "dante-db" does not match role "dante"'
    cluster = _cluster({"managedRolesStatus": {"byStatus": {"pending-reconciliation": ["dante"]},
                                               "cannotReconcile": {"dante": [text]},
                                               "passwordStatus": {"dante": {"transactionID": 854,
                                                                            "resourceVersion": "100"}}}})
    f = _facts(cluster, secret=_secret(username="dante_app"))
    assert text in c3_secret(f).evidence[0]
    c4 = c4_applied(f)
    assert (c4.status, c4.code) == ("fail", "CNPG_CANNOT_RECONCILE")
    assert "stringData" in c4.fix and '"username":"dante"' in c4.fix


@pytest.mark.parametrize("secret,code", [
    (None, "CNPG_SECRET_MISSING"),
    (_secret(keys=("username",)), "CNPG_SECRET_KEYS_MISSING"),
    (_secret(password="pw-dante\n"), "CNPG_SECRET_TRAILING_NEWLINE"),
    (_secret(labels={}, rv="200"), "CNPG_RELOAD_LABEL_MISSING"),
])
def test_secret_defects(secret: Any, code: str) -> None:
    step = c3_secret(_facts(secret=secret))
    assert (step.status, step.code) == ("fail", code)
    assert "pw-dante" not in repr(step)


def test_missing_label_is_only_a_warning_while_in_sync() -> None:
    step = c3_secret(_facts(secret=_secret(labels={})))
    assert (step.status, step.code) == ("warn", "CNPG_RELOAD_LABEL_MISSING")


@pytest.mark.parametrize("cluster,pg,step_fn,code", [
    (_cluster(login=False), _pg(), c2_declared, "CNPG_ROLE_NOLOGIN"),
    (_cluster(name="other"), _pg(), c2_declared, "CNPG_ROLE_NOT_MANAGED"),
    (_cluster(), None, c5_usable, "CNPG_ROLE_MISSING_IN_DB"),
    (_cluster(), _pg(conn_limit=2, current_connections=2), c5_usable, "CNPG_CONNECTION_LIMIT"),
    (_cluster(), _pg(valid_until=datetime(2026, 1, 1, tzinfo=timezone.utc)), c5_usable, "CNPG_PASSWORD_EXPIRED"),
    (_cluster({"managedRolesStatus": {"byStatus": {"pending-reconciliation": ["dante"]},
                                      "passwordStatus": {"dante": {"transactionID": 854, "resourceVersion": "100"}}}}),
     _pg(), c4_applied, "CNPG_RECONCILE_PENDING"),
])
def test_role_defects(cluster: Any, pg: Any, step_fn: Any, code: str) -> None:
    step = step_fn(_facts(cluster, pg=pg))
    assert (step.status, step.code) == ("fail", code)


def test_manual_alter_role_is_seen_in_the_catalog() -> None:
    f = _facts(pg=_pg(xmin=900))
    assert c4_applied(f).status == "pass"
    est = c6_estimate(f)
    assert (est.status, est.code) == ("warn", "CNPG_PASSWORD_MISMATCH")


def _deployment(annotations: dict | None = None, env_secret: str = "dante-db") -> Any:
    env = [{"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": {"name": env_secret, "key": "password"}}}]
    return kp.workload_from({"kind": "Deployment", "metadata": {"name": "app", "namespace": "db",
                                                                "annotations": annotations or {}},
                             "spec": {"selector": {"matchLabels": {"app": "app"}},
                                      "template": {"metadata": {"labels": {"app": "app"}},
                                                   "spec": {"containers": [{"name": "app", "env": env}]}}}},
                            "Deployment")


def _pod(started: str) -> Any:
    return kp.pod_from({"kind": "Pod", "metadata": {"name": "app-1", "namespace": "db", "labels": {"app": "app"}},
                        "spec": {"containers": [{"name": "app"}]},
                        "status": {"phase": "Running", "startTime": started, "containerStatuses": [
                            {"name": "app", "ready": True, "state": {"running": {"startedAt": started}}}]}})


def test_stale_consumer_and_reloader() -> None:
    secret = _secret(changed="2026-02-01T00:00:00Z")
    stale = find_consumers(secret, [_deployment()], [_pod("2026-01-20T00:00:00Z")])
    step = c7_consumers(_facts(secret=secret, consumers=stale))
    assert (step.status, step.code) == ("fail", "CNPG_POD_STALE_SECRET")
    assert "kubectl rollout restart deploy/app -n db" in step.fix
    fresh = find_consumers(secret, [_deployment({"reloader.stakater.com/auto": "true"})], [_pod("2026-02-02T00:00:00Z")])
    assert c7_consumers(_facts(secret=secret, consumers=fresh)).status == "pass"


def test_app_reading_another_secret() -> None:
    link = AppLink("db", "deploy/app", "dante", "dante", "pg-rw.db.svc", "pg-app",
                   "env PGPASSWORD ← secret db/pg-app key password", same_password=False)
    step = c7_consumers(_facts(app=link))
    assert (step.status, step.code) == ("fail", "CNPG_APP_USES_OTHER_SECRET")
    assert "secretKeyRef: {name: dante-db, key: password}" in step.fix
