"""checks.alerts headless: link table, merge with Alertmanager, the rule lint; then against the lab's
real Prometheus (and Alertmanager): the expected alerts, the seed rules that can never fire, the CLI."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from checks.alerts import AlertsData, alert_counts, alert_findings, format_age, load_alerts, merge_alerts
from checks.alerts_links import cnpg_subject, link_for
from checks.errors import SourceError
from checks.alerts_lint import lint_rule, lint_rules, parse_selector
from checks.sources.prometheus import Alert, AlertRule, AmAlert, RuleGroup
from labtools import lab_connections, run_cli_json

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
CLUSTERS = [("ai-system", "ai-postgres"), ("identity", "keycloak-db")]
SEED_NO_SERIES = {"DragonflyConnectionsHigh", "DragonflyReplicationLag", "DragonflyDown"}


# -- the alert → pane link table ----------------------------------------------------------------------


def test_dragonfly_links() -> None:
    mem = link_for("DragonflyMemoryHigh", {"namespace": "cache", "pod": "dragonfly-0"})
    assert (mem.pane, mem.kwargs) == ("dragonfly", {"tab": "memory"}) and mem.flow.startswith("D11")
    down = link_for("DragonflyDown", {})
    assert (down.pane, down.kwargs) == ("triage", {"flow": "dragonfly", "run": False}) and down.flow.startswith("D1 ")
    assert link_for("DragonflyConnectionsHigh", {}).pane == "dragonfly"
    assert link_for("TargetDown", {"job": "cache/dragonfly"}).pane == "dragonfly"


@pytest.mark.parametrize("name, labels, subject", [
    ("LongRunningTransaction", {"namespace": "ai-system", "pod": "ai-postgres-1"}, "ai-system/ai-postgres"),
    ("cnpg_collector_up", {"namespace": "identity", "pod": "keycloak-db-2"}, "identity/keycloak-db"),
    ("CNPGClusterHAWarning", {"namespace": "identity", "cluster": "keycloak-db"}, "identity/keycloak-db"),
    ("PGReplication", {"namespace": "other", "pod": "x-1"}, ""),  # unknown cluster: the CNPG pane, unfocused
    ("HighConnections", {"namespace": "ai-system", "cluster": "ai-postgres"}, "ai-system/ai-postgres"),
])
def test_cnpg_links(name: str, labels: dict[str, str], subject: str) -> None:
    link = link_for(name, labels, CLUSTERS)
    assert link.pane == "cnpg"
    assert link.kwargs == ({"subject": subject} if subject else {})


def test_external_cluster_label_is_not_a_cnpg_cluster() -> None:
    assert link_for("KubeNodeNotReady", {"cluster": "prod-eu", "namespace": "ai-system"}, CLUSTERS).pane == "detail"
    assert cnpg_subject({"cluster": "prod-eu", "namespace": "ai-system"}, CLUSTERS) == ""


def test_unknown_alert_links_to_its_detail_view() -> None:
    link = link_for("NodeFilesystemAlmostOutOfSpace", {"instance": "node-2"}, CLUSTERS)
    assert link.pane == "detail" and not link.known


# -- merging with Alertmanager ----------------------------------------------------------------------


def _prom(name: str, state: str, **labels: str) -> Alert:
    return Alert(name, state, {"alertname": name, **labels}, {"summary": name}, NOW - timedelta(minutes=5), 1.0)


def _am(labels: dict[str, str], silenced: tuple[str, ...] = (), inhibited: tuple[str, ...] = ()) -> AmAlert:
    state = "suppressed" if silenced or inhibited else "active"
    return AmAlert(labels, {}, state, silenced, inhibited, NOW - timedelta(minutes=5), "fp")


def test_merge_marks_silenced_and_inhibited_and_keeps_alertmanager_only_alerts() -> None:
    prom = [_prom("Watchdog", "firing", severity="none"), _prom("A", "firing", severity="critical"),
            _prom("B", "pending", severity="warning")]
    am = [_am({"alertname": "Watchdog", "severity": "none", "cluster": "lab"}, silenced=("s1",)),
          _am({"alertname": "A", "severity": "critical", "cluster": "lab"}, inhibited=("fp9",)),
          _am({"alertname": "Remote", "severity": "warning", "cluster": "other"})]
    alerts = {a.name: a for a in merge_alerts(prom, am)}
    assert alerts["Watchdog"].suppressed == "silenced" and alerts["Watchdog"].display_state == "firing · silenced"
    assert alerts["Watchdog"].labels["cluster"] == "lab"  # Alertmanager's labels carry the external labels
    assert alerts["A"].suppressed == "inhibited" and alerts["A"].source == "prometheus+alertmanager"
    assert alerts["B"].state == "pending" and alerts["B"].source == "prometheus"
    assert alerts["Remote"].source == "alertmanager" and alerts["Remote"].state == "firing"
    order = [a.name for a in merge_alerts(prom, am)]
    assert order == ["A", "Remote", "B", "Watchdog"]  # severity groups, suppressed last within a group
    counts = AlertsData(tuple(alerts.values())).counts
    assert (counts.firing, counts.pending, counts.suppressed, counts.deadman) == (1, 1, 2, 1)


def test_format_age() -> None:
    assert [format_age(s) for s in (None, 5, 300, 7500, 200000)] == ["–", "5s", "5m", "2h05m", "2d7h"]


# -- the lint with a recorded oracle ------------------------------------------------------------------


class Oracle:
    def __init__(self, existing: set[str], values: dict[tuple[str, str], list[str]] | None = None) -> None:
        self.existing, self.values = existing, values or {}

    def exists(self, selector: str) -> bool:
        return selector in self.existing

    def label_values(self, metric: str, label: str) -> list[str]:
        return self.values.get((metric, label), [])

    def similar_names(self, metric: str) -> list[str]:
        return [n for n in self.existing if n.startswith(metric[:8]) and "{" not in n]


def _lint(expr: str, oracle: Oracle, health: str = "ok", error: str = "") -> Any:
    rule = AlertRule("R", expr, 300.0, {}, {}, health, error, "inactive", NOW, 0.001, "alerting")
    return lint_rule(RuleGroup("g", "/rules/g.yaml", 30.0, 0.001, NOW, (rule,)), rule, oracle)


def test_parse_selector() -> None:
    assert parse_selector('up{job="dragonfly",instance=~"10.*"}') == ("up", [("job", "=", "dragonfly"),
                                                                             ("instance", "=~", "10.*")])
    assert parse_selector('{__name__="x", a!="b"}') == ("x", [("a", "!=", "b")])


def test_lint_suggests_the_job_that_exists() -> None:
    lint = _lint('up{job="dragonfly"} == 0', Oracle({"up"}, {("up", "job"): ["cache/dragonfly", "kubelet"]}))
    assert lint.code == "PROM_RULE_NO_SERIES" and lint.missing == ('up{job="dragonfly"}',)
    assert any('job="cache/dragonfly"' in e and "PodMonitor" in e for e in lint.evidence)
    assert lint.suggested_query == 'up{job="cache/dragonfly"} == 0'


def test_lint_health_err_absent_or_and_always_true() -> None:
    assert _lint("x > 1", Oracle(set()), health="err", error="boom").code == "PROM_RULE_ERROR"
    assert _lint('absent(up{job="gone"})', Oracle(set())).status == "pass"
    assert _lint("a > 1 or b > 1", Oracle({"a"})).status == "pass"
    assert _lint("a > 1 or b > 1", Oracle(set())).code == "PROM_RULE_NO_SERIES"
    assert _lint("vector(1)", Oracle(set())).status == "pass"
    unknown = _lint("process_resident_memry_bytes > 1", Oracle({"process_resident_memory_bytes"}))
    assert unknown.code == "PROM_RULE_NO_SERIES" and "process_resident_memory_bytes" in unknown.evidence[1]
    assert unknown.suggested_query == "" and "can never fire" in unknown.fix


def test_the_selectors_that_match_no_series_are_explained_at_once() -> None:
    """Explaining a selector asks Prometheus (label values, similar names); the lint asks for every missing
    selector's explanation at once. Here the two explanations wait for each other at a barrier, which they
    pass only together (one after the other, the first waits out the barrier's 10 s and fails)."""
    import threading

    barrier = threading.Barrier(2, timeout=10)

    class Meeting(Oracle):
        def label_values(self, metric: str, label: str) -> list[str]:
            barrier.wait()
            return super().label_values(metric, label)

        def similar_names(self, metric: str) -> list[str]:
            barrier.wait()
            return super().similar_names(metric)

    down = AlertRule("Down", 'up{job="dragonfly"} == 0', 300.0, {}, {}, "ok", "", "inactive", NOW, 0.001, "alerting")
    busy = AlertRule("Busy", "dragonfly_max_clientz > 1", 300.0, {}, {}, "ok", "", "inactive", NOW, 0.001,
                     "alerting")
    group = RuleGroup("g", "/rules/g.yaml", 30.0, 0.001, NOW, (down, busy))
    oracle = Meeting({"up", "dragonfly_max_clients"}, {("up", "job"): ["cache/dragonfly"]})
    lints = {x.rule: x for x in lint_rules([group], oracle)}
    assert lints["Down"].suggested_query == 'up{job="cache/dragonfly"} == 0'
    assert "dragonfly_max_clients" in " ".join(lints["Busy"].evidence)
    assert barrier.broken is False


def test_a_failing_explanation_is_asked_once_and_fails_its_rules() -> None:
    asked: list[str] = []

    class Failing(Oracle):
        def label_values(self, metric: str, label: str) -> list[str]:
            asked.append(metric)
            raise SourceError("prometheus", "Timed out", "no answer", kind="timeout")

    rules = tuple(AlertRule(name, 'up{job="dragonfly"} == 0', 300.0, {}, {}, "ok", "", "inactive", NOW, 0.001,
                            "alerting") for name in ("A", "B"))
    lints = lint_rules([RuleGroup("g", "/rules/g.yaml", 30.0, 0.001, NOW, rules)], Failing({"up"}))
    assert [x.status for x in lints] == ["error", "error"]
    assert all("Timed out" in x.evidence[0] for x in lints)
    assert asked == ["up"]


# -- against the lab's real Prometheus ----------------------------------------------------------------


def _poll(fetch: Callable[[], AlertsData], done: Callable[[AlertsData], bool], deadline_s: float = 60) -> AlertsData:
    end = time.monotonic() + deadline_s
    data = fetch()
    while not done(data) and time.monotonic() < end:
        time.sleep(2)
        data = fetch()
    return data


def _expected_alerts(data: AlertsData) -> bool:
    states = {a.name: a.state for a in data.alerts}
    return states.get("Watchdog") == "firing" and states.get("DragonflyMemoryHigh") in ("pending", "firing")


@pytest.mark.lab
def test_lab_alerts_and_rule_lint(lab: dict[str, Any]) -> None:
    conns = lab_connections(lab)
    data = _poll(lambda: load_alerts(conns), lambda d: _expected_alerts(d) and bool(d.lints))
    alerts = {a.name: a for a in data.alerts}
    assert alerts["Watchdog"].state == "firing"
    assert alerts["DragonflyMemoryHigh"].state in ("pending", "firing")
    memory = alerts["DragonflyMemoryHigh"]
    assert memory.labels["job"] == "cache/dragonfly" and memory.value is not None and memory.value > 0.9
    assert (memory.link.pane, memory.link.kwargs) == ("dragonfly", {"tab": "memory"})
    lints = {x.rule: x for x in data.lints}
    assert {r for r, x in lints.items() if x.code == "PROM_RULE_NO_SERIES"} == SEED_NO_SERIES
    assert lints["DragonflyMemoryHigh"].status == "pass" and lints["DragonflyMemoryHigh"].code is None
    evidence = {r: " ".join(lints[r].evidence) for r in SEED_NO_SERIES}
    assert "dragonfly_connected_replica_lag_records" in evidence["DragonflyReplicationLag"]
    assert "dragonfly_max_clients" in evidence["DragonflyConnectionsHigh"]
    assert 'up{job="dragonfly"}' in evidence["DragonflyDown"] and 'job="cache/dragonfly"' in evidence["DragonflyDown"]
    assert lints["DragonflyDown"].suggested_query == 'up{job="cache/dragonfly"} == 0'
    assert "PrometheusRule cache/dragonfly-alerts" in lints["DragonflyDown"].fix
    groups = {g.name: g for g in data.groups}
    assert {"dragonfly.rules", "lab.rules"} <= set(groups)
    assert all(r.health in ("ok", "unknown") for r in groups["dragonfly.rules"].rules)


@pytest.mark.lab
def test_lab_counts_and_findings(lab: dict[str, Any]) -> None:
    conns = lab_connections(lab)
    _poll(lambda: load_alerts(conns, lint=False), _expected_alerts)
    counts = alert_counts(conns)
    assert counts.deadman == 1 and counts.pending + counts.firing >= 1
    findings = alert_findings(conns)
    assert all(f.system == "alerts" for f in findings)
    rules = {f.subject: f for f in findings if f.id == "RULE"}
    assert {s.split("/")[1] for s, f in rules.items() if f.code == "PROM_RULE_NO_SERIES"} == SEED_NO_SERIES
    assert all(f.status == "fail" for f in rules.values() if f.code)
    assert rules["dragonfly.rules/DragonflyMemoryHigh"].status == "pass"
    assert any(f.id == "ALERT" and f.subject == "Watchdog" for f in findings)


def _post_watchdog(am_url: str) -> None:
    """What Prometheus sends for the Watchdog (with its external label), so the test need not wait for
    Prometheus's one-minute resend after Alertmanager came up."""
    body = [{"labels": {"alertname": "Watchdog", "severity": "none", "cluster": "clusterdeck-lab"},
             "annotations": {"summary": "An alert that should always be firing to certify that Alertmanager "
                                        "is working properly."},
             "startsAt": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}]
    req = urllib.request.Request(f"{am_url}/api/v2/alerts", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=5).close()


@pytest.mark.lab
def test_lab_alertmanager_silence_shown(lab: dict[str, Any]) -> None:
    if not lab["alertmanager"].get("available"):
        pytest.skip(f"the lab has no Alertmanager: {lab['alertmanager'].get('error')}")
    _post_watchdog(lab["alertmanager"]["url"])
    conns = lab_connections(lab)

    def silenced(d: AlertsData) -> bool:
        return any(a.name == "Watchdog" and a.suppressed == "silenced" for a in d.alerts)

    data = _poll(lambda: load_alerts(conns, lint=False), silenced)
    watchdog = next(a for a in data.alerts if a.name == "Watchdog")
    assert watchdog.suppressed == "silenced" and lab["alertmanager"]["silence_id"] in watchdog.silenced_by
    assert data.alertmanager_url and not data.problems


@pytest.mark.lab
def test_lab_cli_check_service_alerts(lab: dict[str, Any]) -> None:
    code, out = run_cli_json(lab, "check", "--service", "alerts")
    assert code == 1, out
    codes = {f["subject"].split("/")[-1]: f["code"] for f in out["findings"] if f["id"] == "RULE"}
    assert {r for r, c in codes.items() if c == "PROM_RULE_NO_SERIES"} == SEED_NO_SERIES
    assert {f["system"] for f in out["findings"]} == {"alerts"}
