"""PrometheusSource / AlertmanagerSource against real Prometheus + Alertmanager (tests/servers.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

from checks.errors import SourceError
from checks.parsers.promql import extract_selectors
from checks.sources.prometheus import AlertmanagerSource, PrometheusSource, parse_time
from tests.servers import LOOPBACK, PromServer, closed_port, prom_server, silent_port  # noqa: F401

T = TypeVar("T")


def eventually(fn: Callable[[], T], ok: Callable[[T], bool], timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def test_buildinfo(prom_server: PromServer) -> None:
    assert PrometheusSource(prom_server.url, 5).buildinfo().version.startswith("2.")


def test_rules_health_and_state(prom_server: PromServer) -> None:
    src = PrometheusSource(prom_server.url, 5)

    def evaluated() -> dict:
        groups = src.rules()
        return {r.name: r for g in groups for r in g.rules}

    rules = eventually(evaluated, lambda rs: rs and rs["BrokenRule"].health == "err"
                       and rs["DragonflyMemoryHigh"].state == "firing")
    groups = src.rules()
    assert groups[0].name == "dragonfly.rules" and groups[0].file.endswith("rules.yml")
    assert groups[0].interval == 1.0 and groups[0].last_evaluation is not None
    mem = rules["DragonflyMemoryHigh"]
    assert mem.type == "alerting" and mem.health == "ok" and mem.active_alerts == 1
    assert mem.labels == {"severity": "warning"} and mem.annotations["summary"].startswith("Dragonfly")
    assert rules["DragonflyReplicationLag"].duration == 60.0
    assert rules["DragonflyReplicationLag"].state == "inactive"
    assert "same labelset" in rules["BrokenRule"].last_error
    assert src.rules(type="record") == ()


def test_alerts(prom_server: PromServer) -> None:
    src = PrometheusSource(prom_server.url, 5)
    alerts = eventually(src.alerts, lambda a: any(x.name == "DragonflyMemoryHigh" for x in a))
    mem = next(a for a in alerts if a.name == "DragonflyMemoryHigh")
    assert mem.state == "firing" and mem.value == pytest.approx(0.9)
    assert mem.labels["severity"] == "warning" and mem.active_at is not None


def test_series_exist_finds_missing_metrics(prom_server: PromServer) -> None:
    src = PrometheusSource(prom_server.url, 5)
    eventually(lambda: src.series_exist("dragonfly_max_clients"), lambda r: all(r.values()))
    conn = src.series_exist("sum by (instance) (dragonfly_connected_clients) / on(instance) "
                            "dragonfly_maxclients > 0.8")
    assert conn == {"dragonfly_connected_clients": True, "dragonfly_maxclients": False}
    assert src.series_exist("dragonfly_replication_lag_seconds > 10") == {
        "dragonfly_replication_lag_seconds": False}
    assert src.series_exist('up{job="dragonfly"} == 0') == {'up{job="dragonfly"}': False}
    assert src.series_exist('up{job="dragonfly-metrics"} == 0') == {'up{job="dragonfly-metrics"}': True}


def test_query_through_prometheus_connect(prom_server: PromServer) -> None:
    src = PrometheusSource(prom_server.url, 5)
    res = eventually(lambda: src.query("dragonfly_memory_max_bytes"), bool)
    assert res[0]["value"][1] == "1000"
    with pytest.raises(SourceError):
        src.query("sum(")


def test_alertmanager_receives_alert(prom_server: PromServer) -> None:
    am = AlertmanagerSource(prom_server.alertmanager_url, 5)
    alerts = eventually(am.alerts, lambda a: any(x.name == "DragonflyMemoryHigh" for x in a), timeout=45)
    mem = next(a for a in alerts if a.name == "DragonflyMemoryHigh")
    assert mem.state == "active" and mem.silenced_by == () and mem.inhibited_by == ()
    assert mem.fingerprint and mem.starts_at is not None and mem.receivers == ("blackhole",)
    assert mem.generator_url.startswith("http")


def test_errors(closed_port: int, silent_port: int) -> None:
    with pytest.raises(SourceError) as err:
        PrometheusSource(f"http://{LOOPBACK}:{closed_port}", 2).alerts()
    assert err.value.kind == "unreachable" and err.value.system == "prometheus"
    with pytest.raises(SourceError) as err:
        AlertmanagerSource(f"http://{LOOPBACK}:{closed_port}", 2).alerts()
    assert err.value.kind == "unreachable" and err.value.system == "alertmanager"
    deadline = time.monotonic() + 2
    with pytest.raises(SourceError) as err:
        PrometheusSource(f"http://{LOOPBACK}:{silent_port}", 1).rules()
    assert err.value.kind == "timeout" and time.monotonic() < deadline


def test_wrong_service_is_notfound(prom_server: PromServer) -> None:
    with pytest.raises(SourceError) as err:
        AlertmanagerSource(prom_server.url, 5).alerts()  # Prometheus has no /api/v2/alerts
    assert err.value.kind == "notfound"


@pytest.mark.parametrize("expr,selectors", [
    ("dragonfly_memory_used_bytes / dragonfly_memory_max_bytes > 0.8",
     ["dragonfly_memory_used_bytes", "dragonfly_memory_max_bytes"]),
    ('up{job="dragonfly"} == 0', ['up{job="dragonfly"}']),
    ("sum by (instance, job) (rate(dragonfly_commands_processed_total[5m])) > bool 10",
     ["dragonfly_commands_processed_total"]),
    ('histogram_quantile(0.99, sum without(pod) (rate(x_bucket{le!="+Inf"}[1m] offset 5m)))',
     ['x_bucket{le!="+Inf"}']),
    ('label_replace(a, "dst", "$1", "src", "(.*)") and on(instance) group_left(version) b unless c',
     ["a", "b", "c"]),
    ('{__name__=~"dragonfly_.*", job="x"} > 1e+03', ['{__name__=~"dragonfly_.*", job="x"}']),
    ("time() - process_start_time_seconds > 3600 # comment metric_in_comment", ["process_start_time_seconds"]),
    ("vector(1)", []),
    ("", []),
])
def test_extract_selectors(expr: str, selectors: list[str]) -> None:
    got = extract_selectors(expr)
    assert got == selectors
    got.append("changed by a caller")  # each caller gets its own list: the answers are remembered
    assert extract_selectors(expr) == selectors


def test_parse_time() -> None:
    t = parse_time("2018-07-04T20:27:12.60602144+02:00")
    assert t is not None and t.microsecond == 606021 and t.utcoffset().total_seconds() == 7200
    assert parse_time("0001-01-01T00:00:00Z") is None and parse_time("garbage") is None
    assert parse_time("2026-01-01T00:00:00Z").tzinfo is not None
    # what Prometheus and Alertmanager write: Z or an offset, 0 to 9 fraction digits (truncated to µs), and the
    # forms the fast path does not read (lower-case z, padding) read as before
    for text, want in [("2026-11-25T00:16:31.123456789Z", "2026-11-25T00:16:31.123456+00:00"),
                       ("2026-11-25T00:16:31.9999999+02:00", "2026-11-25T00:16:31.999999+02:00"),
                       ("2026-11-25T00:16:31Z", "2026-11-25T00:16:31+00:00"),
                       ("2026-11-25T00:16:31.5z", "2026-11-25T00:16:31.500000+00:00"),
                       (" 2026-11-25T00:16:31.5Z ", "2026-11-25T00:16:31.500000+00:00"),
                       ("2026-11-25T00:16:31", "2026-11-25T00:16:31+00:00")]:
        got = parse_time(text)
        assert got is not None and got.isoformat() == want, text
    assert parse_time(123) is None and parse_time("") is None and parse_time("2026-13-40T00:00:00Z") is None


def test_selectors_present_asks_once_and_answers_as_the_series_api(prom_server: PromServer) -> None:
    """The rule lint's question, "does any series match?", for every selector in one instant query: the same
    answers as one /api/v1/series request per selector."""
    from checks.alerts_lint import PrometheusOracle

    src = PrometheusSource(prom_server.url, 5)
    eventually(lambda: src.series_exist("dragonfly_max_clients"), lambda r: all(r.values()))
    sels = ["dragonfly_max_clients", "dragonfly_maxclients", 'up{job="dragonfly"}', 'up{job="dragonfly-metrics"}',
            'dragonfly_connected_clients{instance!=""}', '{__name__="dragonfly_memory_max_bytes"}']
    expected = {s: any(src.series_exist(s).values()) for s in sels}
    assert set(expected.values()) == {True, False}
    asked: list[str] = []
    real = src._get

    def spy(path: str, params: object = None) -> object:
        asked.append(path)
        return real(path, params)

    src._get = spy  # type: ignore[method-assign]
    assert src.selectors_present(sels) == expected and asked == ["/api/v1/query"]

    many = [f'up{{job="nothing-{i}"}}' for i in range(45)] + ['up{job="dragonfly-metrics"}']
    asked.clear()
    assert src.selectors_present(many) == {s: s == 'up{job="dragonfly-metrics"}' for s in many}
    assert asked == ["/api/v1/query", "/api/v1/query"]  # in chunks: a short URL

    bad = 'up{job=~"("}'  # Prometheus refuses it: its chunk is asked selector by selector, and it is left out
    asked.clear()
    assert src.selectors_present([*sels[:2], bad]) == {s: expected[s] for s in sels[:2]}
    assert asked[0] == "/api/v1/query" and asked.count("/api/v1/series") == 3

    oracle = PrometheusOracle(src)
    asked.clear()
    assert oracle.exists_many(sels) == expected and len(asked) == 1
    asked.clear()
    assert oracle.exists_many(sels) == expected and len(asked) == 1  # the missing ones again, in one query
    with pytest.raises(SourceError):
        oracle.exists(bad)
