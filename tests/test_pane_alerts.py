"""Alerts pane: snapshots from fixed data, one-key links, hostile labels rendered literally."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from checks.alerts import AlertsData, merge_alerts
from checks.alerts_lint import lint_rules
from checks.config import Config
from checks.sources.prometheus import Alert, AlertRule, AmAlert, RuleGroup
from tui.app import make_app

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
SIZE = (140, 45)
SEED_RULES = [  # seed 001, PrometheusRule dragonfly-alerts (verbatim expressions)
    ("DragonflyDown", 'up{job="dragonfly"} == 0', "critical"),
    ("DragonflyMemoryHigh", "dragonfly_memory_used_bytes / dragonfly_memory_max_bytes > 0.9", "warning"),
    ("DragonflyConnectionsHigh", "dragonfly_connected_clients / dragonfly_maxclients > 0.8", "warning"),
    ("DragonflyReplicationLag", "dragonfly_replication_lag_seconds > 10", "warning"),
]
DF_LABELS = {"container": "dragonfly", "endpoint": "admin", "instance": "10.42.0.17:9999", "job": "cache/dragonfly",
             "namespace": "cache", "pod": "dragonfly-0", "service": "dragonfly"}


class RecordedOracle:
    """The answers the lab's Prometheus gives for the seed rules (recorded, so snapshots are fixed)."""

    exists_map = {"up": True, 'up{job="dragonfly"}': False, "dragonfly_memory_used_bytes": True,
                  "dragonfly_memory_max_bytes": True, "dragonfly_connected_clients": True,
                  "dragonfly_maxclients": False, "dragonfly_max_clients": True,
                  "dragonfly_replication_lag_seconds": False, "dragonfly_connected_replica_lag_records": True,
                  "cnpg_pg_stat_archiver_last_failed_time": True, "cnpg_pg_stat_archiver_last_archived_time": True}

    def exists(self, selector: str) -> bool:
        return self.exists_map.get(selector, False)

    def label_values(self, metric: str, label: str) -> list[str]:
        return {("up", "job"): ["cache/dragonfly", "kubelet", "node-exporter"]}.get((metric, label), [])

    def similar_names(self, metric: str) -> list[str]:
        return []


def _rule(name: str, expr: str, severity: str, state: str = "inactive", health: str = "ok", error: str = "",
          seconds_ago: float = 4.0) -> AlertRule:
    return AlertRule(name=name, query=expr, duration=300.0, labels={"severity": severity},
                     annotations={"summary": f"{name} on {{{{ $labels.pod }}}}"}, health=health, last_error=error,
                     state=state, last_evaluation=NOW - timedelta(seconds=seconds_ago), evaluation_time=0.00041,
                     type="alerting", active_alerts=int(state != "inactive"))


def rule_groups() -> tuple[RuleGroup, ...]:
    seed = tuple(_rule(n, e, s, "pending" if n == "DragonflyMemoryHigh" else "inactive") for n, e, s in SEED_RULES)
    cnpg = (_rule("LastFailedArchiveTime", "(time() - cnpg_pg_stat_archiver_last_failed_time) - (time() - "
                  "cnpg_pg_stat_archiver_last_archived_time) < 1", "warning", health="err",
                  error="vector contains metrics with the same labelset after applying alert labels"),)
    watchdog = (AlertRule("Watchdog", "vector(1)", None, {"severity": "none"}, {}, "ok", "", "firing",
                          NOW - timedelta(seconds=2), 0.0001, "alerting", 1),)
    file = "/etc/prometheus/rules/prometheus-kube-prometheus-rulefiles-0/"
    return (RuleGroup("dragonfly.rules", file + "cache-dragonfly-alerts-2c1e.yaml", 30.0, 0.0012,
                      NOW - timedelta(seconds=4), seed),
            RuleGroup("cnpg-default-alerts", file + "ai-system-cnpg-alerts-91ab.yaml", 30.0, 0.0009,
                      NOW - timedelta(seconds=11), cnpg),
            RuleGroup("general.rules", file + "monitoring-general-77f0.yaml", 30.0, 0.0002,
                      NOW - timedelta(seconds=2), watchdog))


def static_data(extra_labels: dict[str, str] | None = None, extra_annotations: dict[str, str] | None = None
                ) -> AlertsData:
    """Four alerts over three severities, Alertmanager silencing the Watchdog, the seed's rules linted."""
    prom = [
        Alert("DragonflyMemoryHigh", "pending", {"alertname": "DragonflyMemoryHigh", "severity": "warning",
                                                 **DF_LABELS},
              {"summary": "Dragonfly memory usage high on dragonfly-0",
               "description": "Dragonfly instance dragonfly-0 is using 95.3% of its allocated memory."},
              NOW - timedelta(minutes=3), 0.953),
        Alert("Watchdog", "firing", {"alertname": "Watchdog", "severity": "none"},
              {"summary": "An alert that should always be firing to certify that Alertmanager is working properly."},
              NOW - timedelta(hours=2, minutes=5), 1.0),
        Alert("LongRunningTransaction", "firing", {"alertname": "LongRunningTransaction", "severity": "warning",
                                                   "namespace": "ai-system", "pod": "ai-postgres-1"},
              {"summary": "A transaction is taking longer than 5 minutes on ai-postgres-1"},
              NOW - timedelta(minutes=12), 412.0),
        Alert("NodeFilesystemAlmostOutOfSpace", "firing",
              {"alertname": "NodeFilesystemAlmostOutOfSpace", "severity": "critical", "instance": "node-2",
               "mountpoint": "/var", **(extra_labels or {})},
              {"summary": "Filesystem on /var at node-2 has only 3.1% available space left.",
               **(extra_annotations or {})},
              NOW - timedelta(minutes=47), 3.1),
    ]
    am = [AmAlert({"alertname": "Watchdog", "severity": "none", "cluster": "prod-eu"}, {}, "suppressed",
                  ("4c1b6a0e-silence",), (), NOW - timedelta(hours=2, minutes=5), "a1b2c3", ("null",))]
    alerts = merge_alerts(prom, am, [("ai-system", "ai-postgres"), ("identity", "keycloak-db")])
    groups = rule_groups()
    lints = lint_rules(groups, RecordedOracle(), {"dragonfly.rules": "PrometheusRule cache/dragonfly-alerts"})
    return AlertsData(alerts, groups, lints, NOW, "http://127.0.0.1:9090", "http://127.0.0.1:9093")


def make(data: AlertsData | None = None) -> Any:
    """The app on fixed alert data; other panes point at a kubeconfig that does not exist (no network)."""
    config = Config(refresh_interval=0, timeout=1.0, kubeconfig="/nonexistent/clusterdeck-test-kubeconfig")
    return make_app(config, static_data={"alerts": data or static_data()})


async def _open_alerts(pilot: Any) -> None:
    await pilot.press("5")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def _cursor_to(pilot: Any, name: str) -> None:
    screen = pilot.app.screen
    table = screen.query_one("#alerts-table")
    key = next(k for k, a in screen._alerts.items() if a.name == name)
    table.move_cursor(row=table.get_row_index(key))


# -- snapshots ---------------------------------------------------------------------------------------


def test_snapshot_alerts_pane(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await _open_alerts(pilot)
        _cursor_to(pilot, "DragonflyMemoryHigh")
        await pilot.pause()

    assert snap_compare(make(), terminal_size=SIZE, run_before=run_before)


def test_snapshot_rules_view(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await _open_alerts(pilot)
        await pilot.press("t")
        await pilot.pause()
        table = pilot.app.screen.query_one("#rules-table")
        table.move_cursor(row=table.get_row_index("r:0:2"))  # DragonflyConnectionsHigh
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(make(), terminal_size=SIZE, run_before=run_before)


# -- one key from an alert to the pane that explains it ----------------------------------------------


async def test_enter_on_memory_alert_opens_dragonfly_pane() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await _open_alerts(pilot)
        assert app.current_mode == "alerts"
        _cursor_to(pilot, "DragonflyMemoryHigh")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_mode == "dragonfly"


async def test_g_on_cnpg_alert_opens_cnpg_pane() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await _open_alerts(pilot)
        _cursor_to(pilot, "LongRunningTransaction")
        assert app.screen.current_alert().link.kwargs == {"subject": "ai-system/ai-postgres"}
        await pilot.press("g")
        await pilot.pause()
        assert app.current_mode == "cnpg"


async def test_dragonfly_down_opens_triage_with_the_dragonfly_flow() -> None:
    down = Alert("DragonflyDown", "firing", {"alertname": "DragonflyDown", "severity": "critical", **DF_LABELS},
                 {"summary": "Dragonfly instance dragonfly-0 is down"}, NOW - timedelta(minutes=6), 0.0)
    app = make(AlertsData(merge_alerts([down], []), fetched_at=NOW))
    async with app.run_test(size=SIZE) as pilot:
        await _open_alerts(pilot)
        _cursor_to(pilot, "DragonflyDown")
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_mode == "triage"
        assert app.screen.query_one("#flow-select").value == "dragonfly"


async def test_unknown_alert_opens_its_label_view_and_esc_returns() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await _open_alerts(pilot)
        _cursor_to(pilot, "NodeFilesystemAlmostOutOfSpace")
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert app.current_mode == "alerts"
        assert screen.query_one("#full-detail").display
        shown = screen.query_one("#full-detail-text").content.plain
        assert "mountpoint: /var" in shown and "instance: node-2" in shown
        await pilot.press("escape")
        await pilot.pause()
        assert not screen.query_one("#full-detail").display
        assert app.current_mode == "alerts"


async def test_filter_by_label_value() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await _open_alerts(pilot)
        await pilot.press("slash", *"pod=ai-postgres", "enter")
        await pilot.pause()
        table = app.screen.query_one("#alerts-table")
        names = {app.screen._alerts[k].name for k in table.visible_keys() if k in app.screen._alerts}
        assert names == {"LongRunningTransaction"}


async def test_rules_tab_filter_targets_the_rules_table() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await _open_alerts(pilot)
        await pilot.press("t", "slash", *"NO_SERIES", "enter")
        await pilot.pause()
        rules = app.screen.query_one("#rules-table")
        assert sorted(rules.visible_keys()) == ["r:0:0", "r:0:2", "r:0:3"]
        assert len(app.screen.query_one("#alerts-table").visible_keys()) > 3


async def test_filter_after_esc_targets_the_table_in_view() -> None:
    """`esc` on the rules tab's filter bar leaves the rules tab in view (it focused the alerts table, which
    switched tabs), and the filter left on the rules (shown in their header) does not capture the next `/`:
    after switching back to the alerts tab, the filter typed there filters the alerts."""
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await _open_alerts(pilot)
        await pilot.press("t", "slash", *"NO_SERIES", "escape")
        await pilot.pause()
        rules, alerts = app.screen.query_one("#rules-table"), app.screen.query_one("#alerts-table")
        assert sorted(rules.visible_keys()) == ["r:0:0", "r:0:2", "r:0:3"]
        assert app.screen.query_one("#alerts-tabs").active == "tab-rules" and app.focused is rules
        await pilot.press("t", "slash", *"pod=ai-postgres", "enter")
        await pilot.pause()
        names = {app.screen._alerts[k].name for k in alerts.visible_keys() if k in app.screen._alerts}
        assert names == {"LongRunningTransaction"}
        assert sorted(rules.visible_keys()) == ["r:0:0", "r:0:2", "r:0:3"], "the rules keep their own filter"


async def test_keys_sent_in_one_burst_with_slash_reach_the_filter_bar() -> None:
    """`/watch` pasted in a terminal arrives as one burst of key events: the bar takes the focus at once, so
    the keys after `/` are text in the bar, not the pane's shortcuts (`t` would switch to the rules tab)."""
    from textual import events

    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await _open_alerts(pilot)
        for name, char in (("slash", "/"), ("w", "w"), ("a", "a"), ("t", "t")):
            app.post_message(events.Key(name, char))  # all queued before any is handled, as a terminal read
        await pilot.pause()
        bar = app.screen.query_one("#filter-bar")
        assert bar.value == "wat" and app.focused is bar
        assert app.screen.query_one("#alerts-tabs").active == "tab-alerts"


# -- hostile server text ----------------------------------------------------------------------------

HOSTILE = "[bold]x[/bold] [@click=app.quit]boom[/]"


async def test_hostile_labels_and_annotations_render_literally() -> None:
    data = static_data(extra_labels={"team": HOSTILE, "[red]key": "v"},
                       extra_annotations={"description": HOSTILE, "runbook_url": "[link=file:///etc/passwd]r[/link]"})
    app = make(data)
    async with app.run_test(size=SIZE) as pilot:
        await _open_alerts(pilot)
        _cursor_to(pilot, "NodeFilesystemAlmostOutOfSpace")
        await pilot.pause()
        screen = app.screen
        detail = screen.query_one("#alert-detail").content
        assert HOSTILE in detail.plain and "[red]key: v" in detail.plain
        assert not any("@click" in str(span.style) or "link" in str(span.style) for span in detail.spans)
        row = screen.query_one("#alerts-table").get_row(next(k for k, a in screen._alerts.items()
                                                              if a.name == "NodeFilesystemAlmostOutOfSpace"))
        assert any(HOSTILE in cell.plain for cell in row)
        svg = app.export_screenshot()
        assert "[@click=app.quit]boom[/]" in svg
        await pilot.click("#alert-detail", offset=(30, 8))
        await pilot.press("i")
        await pilot.pause()
        full = screen.query_one("#full-detail-text").content
        assert HOSTILE in full.plain
        await pilot.click("#full-detail-text", offset=(10, 4))
        await pilot.pause()
        assert app.is_running and app.current_mode == "alerts"


async def test_enter_on_a_rule_shows_its_alerts() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await _open_alerts(pilot)
        await pilot.press("t")
        table = app.screen.query_one("#rules-table")
        table.move_cursor(row=table.get_row_index("r:0:1"))  # DragonflyMemoryHigh
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#alerts-tabs").active == "tab-alerts"
        visible = [screen._alerts[k].name for k in screen.query_one("#alerts-table").visible_keys()
                   if k in screen._alerts]
        assert visible == ["DragonflyMemoryHigh"]
