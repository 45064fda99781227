"""Least privilege: deploy/rbac.yaml grants exactly the Kubernetes API calls clusterdeck makes (declared once
in checks/sources/kube_rbac.py, enforced by KubeSource, and checked here against the requests the lab's API
server really receives), and a refused call names the missing verb and resource in the pane and the CLI."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.errors import SourceError
from checks.sources.kube import KubeSource
from checks.sources.kube_errors import ApiCall
from checks.sources.kube_rbac import NON_RESOURCE_URLS, PORT_FORWARD, PROBE_WRITES, READS, require
from tests.faultkit import (BOUND, FaultCase, api_fault, assert_cli_could_not_run, assert_healthy, cli,
                            error_box, fast_config, fast_config_file, open_pane, recover, wait_for)
from tests.labtools import lab_connections
from tui.app import make_app

RBAC_YAML = Path(__file__).resolve().parent.parent / "deploy" / "rbac.yaml"
SA = ("clusterdeck", "clusterdeck")
_PATH = re.compile(r"^\S+ (?P<method>[A-Z]+) (?P<path>[^?\s]+)\S* (?P<status>\S+)$")


def _documents() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(RBAC_YAML.read_text()) if d]


def _grants(role: dict[str, Any]) -> tuple[set[tuple[str, str, str]], set[tuple[str, str]]]:
    """(verb, group, resource) and (verb, nonResourceURL) a ClusterRole grants; no wildcards allowed."""
    perms: set[tuple[str, str, str]] = set()
    urls: set[tuple[str, str]] = set()
    for rule in role["rules"]:
        verbs = rule["verbs"]
        assert "*" not in verbs, rule
        assert not rule.get("resourceNames"), rule
        if "nonResourceURLs" in rule:
            assert not rule.get("resources") and not rule.get("apiGroups"), rule
            urls |= {(v, u) for v in verbs for u in rule["nonResourceURLs"]}
            continue
        assert "*" not in rule["apiGroups"] and "*" not in rule["resources"], rule
        perms |= {(v, g, r) for v in verbs for g in rule["apiGroups"] for r in rule["resources"]}
    return perms, urls


def test_rbac_yaml_grants_exactly_the_declared_permissions() -> None:
    docs = _documents()
    roles = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ClusterRole"}
    assert set(roles) == {"clusterdeck-read", "clusterdeck-portforward", "clusterdeck-probes"}
    for d in docs:
        assert d["kind"] in ("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"), d["kind"]
        assert d["apiVersion"] == ("v1" if d["kind"] in ("Namespace", "ServiceAccount")
                                   else "rbac.authorization.k8s.io/v1")

    read, urls = _grants(roles["clusterdeck-read"])
    assert read == READS, (sorted(read - READS), sorted(READS - read))
    assert urls == NON_RESOURCE_URLS
    assert {verb for verb, _, _ in read} == {"get", "list"}  # read-only: not even watch
    assert _grants(roles["clusterdeck-portforward"]) == (set(PORT_FORWARD), set())
    assert _grants(roles["clusterdeck-probes"]) == (set(PROBE_WRITES), set())

    # the example binds the read role and the port-forward role to one ServiceAccount; never the write role
    accounts = {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in docs if d["kind"] == "ServiceAccount"}
    assert accounts == {SA}
    assert any(d["kind"] == "Namespace" and d["metadata"]["name"] == SA[0] for d in docs)
    bindings = [d for d in docs if d["kind"] == "ClusterRoleBinding"]
    assert {b["roleRef"]["name"] for b in bindings} == {"clusterdeck-read", "clusterdeck-portforward"}
    for b in bindings:
        assert b["roleRef"]["kind"] == "ClusterRole" and b["roleRef"]["apiGroup"] == "rbac.authorization.k8s.io"
        assert [(s["kind"], s["namespace"], s["name"]) for s in b["subjects"]] == [("ServiceAccount", *SA)]


def test_kube_source_refuses_undeclared_calls() -> None:
    require(ApiCall("list", "secrets", "", "cache"))
    require(ApiCall("get", "clusters", "postgresql.cnpg.io", "ai-system", "ai-postgres", custom=True))
    require(ApiCall("get", "version", "", None, "version"))
    for call in (ApiCall("watch", "secrets"), ApiCall("patch", "secrets", "", "cache", "x"),
                 ApiCall("list", "nodes"), ApiCall("delete", "deployments", "apps", "cache", "x")):
        with pytest.raises(RuntimeError, match="undeclared Kubernetes API call"):
            require(call)


def _permission(method: str, path: str) -> tuple[str, str, str]:
    """The RBAC (verb, group, resource) of one request line of the lab's API server."""
    if path.rstrip("/") == "/version":
        return ("get", "", "/version")
    parts = [p for p in path.split("/") if p]
    if parts[0] == "api":
        group, rest = "", parts[2:]
    else:
        group, rest = parts[1], parts[3:]
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        rest = rest[2:]
    named = len(rest) >= 2
    resource = "/".join([rest[0], *rest[2:3]])  # a subresource (pods/portforward) would be pods/<name>/portforward
    verb = {"GET": "get" if named else "list", "POST": "create", "DELETE": "delete", "PATCH": "patch",
            "PUT": "update"}[method]
    return verb, group, resource


@pytest.mark.lab
def test_every_kube_source_read_is_declared_and_used(scratch_lab: dict[str, Any]) -> None:
    """Call every reader of KubeSource against the lab and map the requests the API server logged to RBAC
    permissions: they must be exactly READS plus GET /version (nothing undeclared, nothing declared unused)."""
    readers = sorted(n for n, fn in inspect.getmembers(KubeSource, inspect.isfunction)
                     if n.startswith(("list_", "get_", "read_")) or n == "server_version")
    others = {n for n, fn in inspect.getmembers(KubeSource, inspect.isfunction) if not n.startswith("_")}
    # the only other public methods: close, the write-probe calls (declared as PROBE_WRITES), and
    # listed_secret, which makes no request (a Secret from a list already in the cache: test_perf_caches)
    assert others - set(readers) <= {"close", "create_pod", "delete_pod", "listed_secret"}, others - set(readers)
    kube = lab_connections(scratch_lab).kube
    log = Path(scratch_lab["dir"]) / "kube-requests.log"
    start = log.stat().st_size if log.exists() else 0
    for name in readers:
        fn = getattr(kube, name)
        params = list(inspect.signature(fn).parameters)
        if name == "server_version":
            fn()
        elif params[:2] == ["namespace", "name"]:
            fn("cache", "dragonfly")  # present or not: the request is a get either way
        else:
            fn("*")
            fn("cache")
    with log.open() as fh:
        fh.seek(start)
        lines = [m for m in (_PATH.match(line.strip()) for line in fh) if m]
    assert lines, "the lab logged no request"
    assert {m["status"] for m in lines} <= {"200", "404"}, [m.group(0) for m in lines if m["status"] not in
                                                             ("200", "404")]
    used = {_permission(m["method"], m["path"]) for m in lines}
    declared = set(READS) | {(verb, "", url) for verb, url in NON_RESOURCE_URLS}
    assert used == declared, (f"used, not declared: {sorted(used - declared)}; "
                              f"declared, never used: {sorted(declared - used)}")


@pytest.mark.lab
async def test_forbidden_names_verb_and_resource_in_cli_and_pane(scratch_lab: dict[str, Any],
                                                               tmp_path: Path) -> None:
    """Reading Secrets is forbidden (a ServiceAccount without the read role's secrets rule): the CLI and the
    Dragonfly pane name the verb and the resource; the Overview's self-check marks the grant missing; the
    Alerts pane, which needs no Secret, keeps working."""
    needle = 'cannot get secrets in namespace "cache" (needs RBAC verb "get" on "secrets")'
    config = fast_config_file(scratch_lab, tmp_path)
    with api_fault(scratch_lab, kube="403", kube_match="/secrets"):
        triage = cli(scratch_lab, config, "triage", "dragonfly", "--app", "ai-system/litellm")
        check = cli(scratch_lab, config, "check", "--service", "dragonfly", "--service", "kubernetes")
    assert_cli_could_not_run(triage, needle)
    assert_cli_could_not_run(check, needle)
    assert "kubectl auth can-i get secrets -n cache" in triage.stderr

    app = make_app(fast_config(scratch_lab))
    async with app.run_test(size=(160, 50)) as pilot:
        await assert_healthy(pilot, "dragonfly")
        with api_fault(scratch_lab, kube="403", kube_match="/secrets"):
            screen = await open_pane(pilot, "dragonfly")
            await pilot.press("r")
            await wait_for(pilot, lambda: needle in error_box(screen), BOUND, f"dragonfly pane names the grant: "
                           f"{error_box(screen)!r}")
            assert isinstance(screen.error, SourceError) and screen.error.kind == "forbidden"
            overview = await open_pane(pilot, "overview")
            perms = {p.operation: p for p in overview.data.permissions if p.system == "kubernetes"}
            assert perms["list secrets"].allowed is False
            assert 'needs RBAC verb "list" on "secrets"' in perms["list secrets"].detail
            assert perms["list pods"].allowed is True
            kube_row = next(s for s in overview.data.systems if s.system == "kubernetes")
            assert kube_row.status == "warn" and 'needs RBAC verb "list" on "secrets"' in kube_row.detail
            await assert_healthy(pilot, "alerts")
        await recover(pilot, FaultCase("dragonfly", re.escape(needle)))
