"""Dragonfly ACL flow D1–D11: every planted lab case through the real CLI, the clean lab, identities and pasted
errors, early stops, live step reporting and speed, and the network-policy analysis on fixed objects."""

from __future__ import annotations

import base64
import json
import socket
from dataclasses import replace
from typing import Any

import pytest

from checks.flows.netpolicy import analyse_ingress, ingress_rule_yaml
from checks.flows.runner import run_flow
from checks.sources import kube_parse_resources as kr
from tests.labtools import lab_config, run_cli_json

PLANTED = [  # (app, user, expected root-cause code, step)
    ("ai-system/litellm", "litellm", "DF_PASSWORD_MISMATCH", "D4"),
    ("ai-system/langfuse", "langfuse", "DF_KEY_PATTERN_DENIED", "D5"),
    ("default/appcache", "appcache", "DF_ACL_NOT_RELOADED", "D3"),
    ("identity/keycloak", "keycloak", "DF_POD_STALE_SECRET", "D9"),
    ("automation/n8n", "n8n", "DF_NETWORK_POLICY_DENIED", "D10"),
]
STEP_IDS = [f"D{i}" for i in range(1, 12)]


def assert_no_secret(text: str, secrets: list[str]) -> None:
    for value in secrets:
        assert value not in text, "a lab secret leaked"
        assert base64.b64encode(value.encode()).decode() not in text, "a lab secret leaked (base64)"


def triage_json(state: dict[str, Any], *args: str) -> tuple[int, dict[str, Any]]:
    code, doc = run_cli_json(state, "triage", *args)
    assert_no_secret(json.dumps(doc), state["_secrets"])
    return code, doc


def step(doc: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in doc["steps"] if s["id"] == step_id)


# -- the planted faults, through the CLI ---------------------------------------------------------------

@pytest.mark.parametrize("app,user,code,step_id", PLANTED, ids=[p[1] for p in PLANTED])
def test_planted_case_through_the_cli(lab: dict[str, Any], app: str, user: str, code: str, step_id: str) -> None:
    exit_code, doc = triage_json(lab, "dragonfly", "--app", app)
    assert doc["flow"] == "dragonfly"
    assert doc["subject"] == {"user": user, "app": app}
    assert [s["id"] for s in doc["steps"]] == STEP_IDS
    assert doc["root_cause"] is not None, doc
    assert (doc["root_cause"]["code"], doc["root_cause"]["step"]) == (code, step_id)
    assert exit_code == 1
    failing = step(doc, step_id)
    assert failing["status"] == "fail" and failing["fix"] and failing["evidence"]


@pytest.mark.parametrize("app,user", [(p[0], p[1]) for p in PLANTED], ids=[p[1] for p in PLANTED])
def test_clean_lab_has_no_root_cause(clean_lab: dict[str, Any], app: str, user: str) -> None:
    exit_code, doc = triage_json(clean_lab, "dragonfly", "--app", app)
    assert doc["subject"]["user"] == user
    assert doc["root_cause"] is None, doc["root_cause"]
    assert exit_code == 0
    assert all(s["status"] in ("pass", "warn") for s in doc["steps"]), doc["steps"]


def test_evidence_is_concrete(lab: dict[str, Any]) -> None:
    _, doc = triage_json(lab, "dragonfly", "--app", "ai-system/litellm")
    d2, d4 = step(doc, "D2"), step(doc, "D4")
    assert any("LITELLM_REDIS_PASSWORD" in e and "litellm-env" in e for e in d2["evidence"])
    assert any("REDIS_USERNAME" in e for e in d2["evidence"]), "the user comes from the sibling REDIS_USERNAME"
    hashes = [e for e in d4["evidence"] if "sha256:" in e]
    assert len(hashes) >= 3 and all(len(e.split("sha256:")[1][:12]) == 12 for e in hashes)
    assert any("stale side: the app Secret ai-system/litellm-env" in e for e in d4["evidence"])
    _, doc = triage_json(lab, "dragonfly", "--app", "ai-system/langfuse")
    d5 = step(doc, "D5")
    assert "~lf:*" in d5["fix"] and "user langfuse on >… ~langfuse:* ~lf:*" in d5["fix"]
    assert any("REDIS_KEY_PREFIX" in e for e in d5["evidence"])
    assert any("lf:trace:1" in e for e in step(doc, "D7")["evidence"])
    _, doc = triage_json(lab, "dragonfly", "--app", "automation/n8n")
    d10 = step(doc, "D10")
    assert "io.kubernetes.pod.namespace: automation" in d10["fix"] and 'port: "6379"' in d10["fix"]
    assert any("canary pod probe" in e and "skipped" in e for e in d10["evidence"])
    _, doc = triage_json(lab, "dragonfly", "--app", "identity/keycloak")
    d9 = step(doc, "D9")
    assert any("keycloak-redis" in e for e in d9["evidence"]) and "reloader.stakater.com/auto" in d9["fix"]
    _, doc = triage_json(lab, "dragonfly", "--app", "default/appcache")
    assert step(doc, "D8")["status"] == "fail" and step(doc, "D8")["code"] == "DF_ACL_DRIFT"
    assert "ACL LOAD" in step(doc, "D3")["fix"]


# -- identities and pasted errors -------------------------------------------------------------------------

def test_user_only_checks_the_app_that_authenticates_as_it(lab: dict[str, Any]) -> None:
    exit_code, doc = triage_json(lab, "dragonfly", "--user", "litellm")
    assert doc["subject"] == {"user": "litellm", "app": "ai-system/litellm"}
    assert [s["id"] for s in doc["steps"]] == STEP_IDS
    d2 = step(doc, "D2")
    assert d2["status"] == "pass"
    assert d2["evidence"][0] == "ai-system/litellm is the workload that authenticates as litellm: checking its credentials"
    assert (doc["root_cause"]["code"], doc["root_cause"]["step"]) == ("DF_PASSWORD_MISMATCH", "D4")
    d7 = step(doc, "D7")
    assert d7["status"] == "warn" and any("auth denial" in e and "litellm" in e for e in d7["evidence"])
    assert exit_code == 1


def test_user_no_workload_uses(lab: dict[str, Any]) -> None:
    """A user no workload authenticates as: the server side only (the app's password cannot be tested)."""
    exit_code, doc = triage_json(lab, "dragonfly", "--user", "default")
    assert doc["subject"] == {"user": "default"}
    d2 = step(doc, "D2")
    assert d2["status"] == "skip"
    assert d2["evidence"][0] == "no workload's Redis settings name user default: give the app to check its password"
    assert step(doc, "D4")["status"] in ("pass", "warn")
    assert step(doc, "D9")["status"] == "skip" and step(doc, "D10")["status"] == "skip"
    assert doc["root_cause"] is None and exit_code == 0


def test_pasted_wrongpass_alone_takes_the_user_from_the_acl_log(lab: dict[str, Any]) -> None:
    """WRONGPASS names no user: the server's ACL LOG says whom it refused last, and the consumer scan which app
    that is. The lab's ACL LOG already holds failed AUTHs of litellm (its seed, and the D4 probes of other tests);
    appcache (whose user was never loaded) fails now, as the app would on its next connection."""
    host, port = lab["endpoints"]["dragonfly.cache.svc:6379"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"*3\r\n$4\r\nAUTH\r\n$8\r\nappcache\r\n$12\r\nnot-the-pass\r\n")
        assert sock.recv(4096).startswith(b"-WRONGPASS")
    exit_code, doc = triage_json(lab, "--error", "WRONGPASS invalid username-password pair or user is disabled.")
    assert doc["subject"]["user"] == "appcache" and doc["subject"]["app"] == "default/appcache"
    first, second = step(doc, "D2")["evidence"][:2]
    assert first.startswith("the error names no user: the newest AUTH entry of the ACL LOG is user appcache ")
    assert "in the log; also litellm ×" in first and first.endswith("): checking appcache")
    assert second == "default/appcache is the workload that authenticates as appcache: checking its credentials"
    assert (doc["root_cause"]["code"], doc["root_cause"]["step"]) == ("DF_ACL_NOT_RELOADED", "D3")
    assert exit_code == 1


def test_pasted_wrongpass_alone_on_a_quiet_server(clean_lab: dict[str, Any]) -> None:
    exit_code, doc = triage_json(clean_lab, "--error", "WRONGPASS invalid username-password pair")
    assert "user" not in doc["subject"] and "app" not in doc["subject"]
    d2 = step(doc, "D2")
    assert d2["status"] == "skip"
    assert d2["evidence"][0] == "the error names no user and the ACL LOG holds no AUTH entry to take one from"
    assert doc["root_cause"] is None and exit_code == 0


def test_pasted_noperm_without_a_user(lab: dict[str, Any]) -> None:
    """Redis 7.0's NOPERM texts name no user: the newest denial in the ACL LOG does."""
    _, doc = triage_json(lab, "--error", "NOPERM this user has no permissions to access one of the keys used as "
                         "arguments")
    assert doc["subject"]["user"] == "langfuse" and doc["subject"]["app"] == "ai-system/langfuse"
    assert (doc["root_cause"]["code"], doc["root_cause"]["step"]) == ("DF_KEY_PATTERN_DENIED", "D5")


def test_pasted_wrongpass_with_app(lab: dict[str, Any]) -> None:
    exit_code, doc = triage_json(lab, "--error", "WRONGPASS invalid username-password pair", "--app",
                                 "ai-system/litellm")
    assert doc["flow"] == "dragonfly"
    assert doc["subject"]["error_class"] == "WRONGPASS" and doc["subject"]["start_step"] == "D3"
    assert (doc["root_cause"]["code"], doc["root_cause"]["step"]) == ("DF_PASSWORD_MISMATCH", "D4")
    assert exit_code == 1


def test_pasted_noperm_names_the_user(lab: dict[str, Any]) -> None:
    _, doc = triage_json(lab, "--error", "-NOPERM langfuse has no ACL permissions")
    assert doc["subject"]["user"] == "langfuse" and doc["subject"]["start_step"] == "D5"
    assert (doc["root_cause"]["code"], doc["root_cause"]["step"]) == ("DF_KEY_PATTERN_DENIED", "D5")


def test_pasted_oom(lab: dict[str, Any]) -> None:
    _, doc = triage_json(lab, "--error", "OOM command not allowed when used memory > 'maxmemory'.")
    assert (doc["root_cause"]["code"], doc["root_cause"]["step"]) == ("DF_OOM", "D11")
    assert any("of maxmemory" in e for e in step(doc, "D11")["evidence"])


def test_memory_is_evidence_without_oom_text(lab: dict[str, Any]) -> None:
    _, doc = triage_json(lab, "dragonfly", "--app", "ai-system/litellm")
    d11 = step(doc, "D11")
    assert d11["status"] == "pass" and any("allkeys-lru" in e for e in d11["evidence"])


def test_unknown_user_gets_the_acl_line(lab: dict[str, Any]) -> None:
    _, doc = triage_json(lab, "dragonfly", "--user", "ghost")
    assert (doc["root_cause"]["code"], doc["root_cause"]["step"]) == ("DF_USER_MISSING", "D3")
    assert "user ghost on #<sha256-of-password> ~ghost:* +@read +@write -@dangerous" in step(doc, "D3")["fix"]


def test_app_without_redis_stops_at_d2(lab: dict[str, Any]) -> None:
    exit_code, doc = triage_json(lab, "dragonfly", "--app", "ai-system/obot")
    assert [s["id"] for s in doc["steps"]] == ["D1", "D2"]
    assert (doc["root_cause"]["code"], doc["root_cause"]["step"]) == ("DF_APP_CREDENTIALS_NOT_FOUND", "D2")
    assert exit_code == 1


# -- in process: unreachable server, live steps, speed -------------------------------------------------------

def test_unreachable_server_stops_at_d1(lab: dict[str, Any]) -> None:
    from checks.connect import Connections
    from tests.servers import free_port

    cfg = lab_config(lab)
    cfg = replace(cfg, timeout=1.0, endpoints={**cfg.endpoints, "dragonfly.cache.svc:6379": f"127.0.0.1:{free_port()}"})
    result = run_flow(Connections(cfg), "dragonfly", app="ai-system/litellm")
    assert [s.id for s in result.steps] == ["D1"]
    assert result.root_cause is not None and result.root_cause.code == "DF_UNREACHABLE"
    assert "port-forward" in result.steps[0].fix


def test_steps_reported_live(lab: dict[str, Any]) -> None:
    """(The flow's wall time is a goal of the benchmark, `make bench`, not of this test.)"""
    from checks.connect import Connections

    conns = Connections(lab_config(lab))
    seen: list[str] = []
    result = run_flow(conns, "dragonfly", app="identity/keycloak", on_step=lambda s: seen.append(s.id))
    assert seen == [s.id for s in result.steps] == STEP_IDS
    assert_no_secret(json.dumps(result.as_dict()), lab["_secrets"])


# -- network policies, offline --------------------------------------------------------------------------------

def _cnp(ingress: list[dict[str, Any]], default_deny: bool | None = True) -> Any:
    spec: dict[str, Any] = {"endpointSelector": {"matchLabels": {"app": "dragonfly"}}, "ingress": ingress}
    if default_deny is not None:
        spec["enableDefaultDeny"] = {"ingress": default_deny}
    return kr.cilium_policy_from({"kind": "CiliumNetworkPolicy",
                                  "metadata": {"name": "dragonfly", "namespace": "cache"}, "spec": spec})


def _from_ns(ns: str, port: str = "6379") -> dict[str, Any]:
    return {"fromEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": ns}}],
            "toPorts": [{"ports": [{"port": port, "protocol": "TCP"}]}]}


SERVER = {"app": "dragonfly", "role": "master"}


def test_cilium_enforce_allows_listed_namespaces_only() -> None:
    policy = _cnp([_from_ns("ai-system"), _from_ns("monitoring", "9999")])
    ok = analyse_ingress([policy], SERVER, "ai-system", {"app": "litellm"}, 6379)
    assert ok.allowed and ok.mode == "enforce" and "ingress[0]" in ok.allowed_by
    wrong_port = analyse_ingress([policy], SERVER, "monitoring", {}, 6379)
    assert not wrong_port.allowed
    assert not analyse_ingress([policy], SERVER, "automation", {}, 6379).allowed


def test_cilium_audit_mode_and_no_policy() -> None:
    verdict = analyse_ingress([_cnp([_from_ns("ai-system")], default_deny=False)], SERVER, "automation", {}, 6379)
    assert not verdict.allowed and verdict.mode == "audit"
    assert analyse_ingress([], SERVER, "automation", {}, 6379).mode == "open"
    other = kr.cilium_policy_from({"kind": "CiliumNetworkPolicy", "metadata": {"name": "x", "namespace": "cache"},
                                   "spec": {"endpointSelector": {"matchLabels": {"app": "other"}}, "ingress": []}})
    assert analyse_ingress([other], SERVER, "automation", {}, 6379).allowed


def test_cilium_entities_and_deny_rules() -> None:
    allow_all = _cnp([{"fromEntities": ["cluster"]}])
    assert analyse_ingress([allow_all], SERVER, "automation", {}, 6379).allowed
    deny = _cnp([{"fromEntities": ["cluster"]}])
    deny = replace(deny, ingress=(*deny.ingress, {**_from_ns("automation"), "_deny": True}))
    verdict = analyse_ingress([deny], SERVER, "automation", {}, 6379)
    assert not verdict.allowed and "ingressDeny" in verdict.denied_by


def test_k8s_network_policy_namespace_selector() -> None:
    np = kr.network_policy_from({"kind": "NetworkPolicy", "metadata": {"name": "redis", "namespace": "cache"},
                                 "spec": {"podSelector": {"matchLabels": {"app": "dragonfly"}},
                                          "policyTypes": ["Ingress"],
                                          "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                                              "kubernetes.io/metadata.name": "identity"}}}],
                                              "ports": [{"port": 6379, "protocol": "TCP"}]},
                                              {"from": [{"namespaceSelector": {"matchLabels": {"team": "x"}}}]}]}})
    assert analyse_ingress([np], SERVER, "identity", {}, 6379).allowed
    verdict = analyse_ingress([np], SERVER, "automation", {}, 6379)
    assert not verdict.allowed and verdict.mode == "enforce" and verdict.enforcing_kind == "NetworkPolicy"
    assert any("team" in n for n in verdict.notes), "labels it cannot see are reported, not guessed"
    assert "kubernetes.io/metadata.name: automation" in ingress_rule_yaml("NetworkPolicy", "automation", 6379)


def test_subject_from_a_dragonfly_acl_log_and_the_consumers() -> None:
    """Dragonfly's ACL LOG (service-facts §3.4: upper-case reasons, no count) and ambiguous or unknown users."""
    from checks.flows.dragonfly_subject import app_for_user, user_from_acl_log
    from checks.parsers import parse_acl_log
    from checks.targets import Target

    log = parse_acl_log([
        ["reason", "COMMAND", "object", "FLUSHALL", "username", "worker", "age-seconds", "1.5",
         "client-info", "id=7 addr=10.42.0.9:4100 laddr=10.42.1.5:6379 fd=25 name="],
        ["reason", "AUTH", "object", "AUTH", "username", "mike", "age-seconds", "2.465420372",
         "client-info", "id=6 addr=10.42.0.8:40390 laddr=10.42.1.5:6379 fd=24 name="],
        ["reason", "AUTH", "object", "AUTH", "username", "ann", "age-seconds", "9.0",
         "client-info", "id=5 addr=10.42.0.7:40000 laddr=10.42.1.5:6379 fd=23 name="],
    ])
    user, why = user_from_acl_log(log, "WRONGPASS")
    assert user == "mike"  # the newest AUTH entry; the newer command denial is another error
    assert why == ("the error names no user: the newest AUTH entry of the ACL LOG is user mike 2s ago (from "
                   "10.42.0.8:40390; 1 in the log; also ann ×1): checking mike")
    assert user_from_acl_log(log, "NOPERM")[0] == "worker"
    assert user_from_acl_log(log, "OOM") == (None, "")
    # an app's failures come from its pod: they go before a newer one from elsewhere (a probe, a laptop)
    user, why = user_from_acl_log(log, "WRONGPASS", {"10.42.0.7": "apps/ann-5f9c"})
    assert user == "ann" and "the newest AUTH entry of the ACL LOG from a pod is user ann 9s ago (from pod apps/ann-5f9c;" in why
    targets = [Target("a/one", "Deployment", redis="mike"), Target("b/two", "Deployment", redis="mike"),
               Target("c/three", "Deployment", redis="ann")]
    assert app_for_user(targets, "ann")[0] == "c/three"
    assert app_for_user(targets, "mike") == (None, "2 workloads authenticate as mike (a/one, b/two): give the app "
                                                   "to check one")
    assert app_for_user(targets, "zed")[0] is None
