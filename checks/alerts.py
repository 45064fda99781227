"""Alerts: Prometheus and Alertmanager alerts merged and linked to the pane that explains them,
rule health with the "can never fire" lint, counts for the Overview, and `check --service alerts`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from checks import clock
from checks.alerts_lint import PrometheusOracle, RuleLint, lint_rules
from checks.alerts_links import AlertLink, link_for
from checks.connect_factories import shared_read
from checks.errors import SourceError
from checks.model import Finding
from checks.sources.prometheus import Alert, AmAlert, RuleGroup
from checks.tasks import Tasks

SEVERITY_GROUPS: tuple[str, ...] = ("critical", "warning", "info")
"""Display groups in order; any severity other than critical/warning (info, none, …) is 'info'."""
DEADMAN_ALERTS = frozenset(("Watchdog", "DeadMansSwitch", "InfoInhibitor"))
"""Alerts meant to fire all the time (kube-prometheus); their firing is healthy."""


def severity_group(severity: str) -> str:
    """critical | warning | info."""
    s = severity.strip().lower()
    return "critical" if s == "critical" else "warning" if s in ("warning", "warn") else "info"


def format_age(seconds: float | None) -> str:
    """`42s`, `5m`, `2h13m`, `3d4h`; '–' when unknown."""
    if seconds is None:
        return "–"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600}h"


def _key(labels: dict[str, str]) -> str:
    text = "\x00".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AlertView:
    """One alert as clusterdeck shows it: Prometheus's view merged with Alertmanager's."""

    key: str
    """Stable id: hash of the label set."""
    name: str
    """`alertname`."""
    state: str
    """firing | pending."""
    severity: str
    """The `severity` label as given ('' when absent)."""
    labels: dict[str, str] = field(default_factory=dict)
    """All labels (Alertmanager's, with external labels, when it holds the alert)."""
    annotations: dict[str, str] = field(default_factory=dict)
    """summary, description, runbook_url, …"""
    active_at: datetime | None = None
    """Since when the alert is active (Prometheus activeAt, else Alertmanager startsAt)."""
    value: float | None = None
    """The expression's value at the last evaluation (Prometheus only)."""
    source: str = "prometheus"
    """prometheus | alertmanager | prometheus+alertmanager."""
    suppressed: str = ""
    """'' | silenced | inhibited | suppressed (Alertmanager's status)."""
    silenced_by: tuple[str, ...] = ()
    """Alertmanager silence ids."""
    inhibited_by: tuple[str, ...] = ()
    """Fingerprints of the inhibiting alerts."""
    receivers: tuple[str, ...] = ()
    """Alertmanager receivers it routes to."""
    link: AlertLink = field(default_factory=lambda: link_for("", {}))
    """The pane and flow that explain it."""

    @property
    def group(self) -> str:
        """critical | warning | info."""
        return severity_group(self.severity)

    @property
    def summary(self) -> str:
        """The first of the summary / description / message annotations."""
        a = self.annotations
        return a.get("summary") or a.get("description") or a.get("message") or ""

    @property
    def display_state(self) -> str:
        """e.g. 'firing', 'pending', 'firing · silenced'."""
        return f"{self.state} · {self.suppressed}" if self.suppressed else self.state

    def age(self, now: datetime) -> float | None:
        """Seconds since `active_at`."""
        return (now - self.active_at).total_seconds() if self.active_at else None


@dataclass(frozen=True)
class AlertCounts:
    """What the Overview shows about alerts."""

    firing: int
    """Firing, not silenced/inhibited, not a deadman alert (Watchdog)."""
    pending: int
    """Pending (condition true, `for:` not elapsed)."""
    suppressed: int
    """Firing but silenced or inhibited in Alertmanager."""
    critical: int = 0
    """Firing unsuppressed critical alerts."""
    warning: int = 0
    """Firing unsuppressed warning alerts."""
    deadman: int = 0
    """Deadman alerts (Watchdog) firing: healthy."""


def count_alerts(alerts: Iterable[AlertView]) -> AlertCounts:
    """Counts of a merged alert list."""
    alerts = tuple(alerts)
    live = [a for a in alerts if a.state == "firing" and not a.suppressed and a.name not in DEADMAN_ALERTS]
    return AlertCounts(
        firing=len(live), pending=sum(a.state == "pending" for a in alerts),
        suppressed=sum(bool(a.suppressed) for a in alerts),
        critical=sum(a.group == "critical" for a in live), warning=sum(a.group == "warning" for a in live),
        deadman=sum(a.state == "firing" and a.name in DEADMAN_ALERTS for a in alerts))


@dataclass(frozen=True)
class AlertsData:
    """Everything the Alerts pane shows (built by `load_alerts`, or from fixed inputs in tests)."""

    alerts: tuple[AlertView, ...]
    """Merged alerts, sorted by severity group, state and age."""
    groups: tuple[RuleGroup, ...] = ()
    """Rule groups from `/api/v1/rules`."""
    lints: tuple[RuleLint, ...] = ()
    """One verdict per rule (same order as `groups`)."""
    fetched_at: datetime = field(default_factory=clock.now)
    """When the data was read; ages are computed against it."""
    prometheus_url: str = ""
    """Prometheus base URL used ('' when not reached)."""
    alertmanager_url: str = ""
    """Alertmanager base URL used ('' when not discovered)."""
    problems: tuple[str, ...] = ()
    """What could not be read, e.g. 'Alertmanager not discovered'."""

    @cached_property
    def counts(self) -> AlertCounts:
        """Firing/pending/suppressed counts (counted once: 1,000 alerts take ~8 ms, asked on the UI thread)."""
        return count_alerts(self.alerts)

    def lint_for(self, group: str, rule: str) -> RuleLint | None:
        """The verdict for one rule."""
        return next((x for x in self.lints if x.group == group and x.rule == rule), None)


def _am_state(am: AmAlert) -> str:
    if am.silenced_by:
        return "silenced"
    if am.inhibited_by:
        return "inhibited"
    return "suppressed" if am.state == "suppressed" else ""


class _AmIndex:
    """Alertmanager alerts not matched yet, in their order, indexed by label pair: a match is the first
    unmatched one with the same labels, else the first whose labels include the Prometheus alert's (found among
    the alerts sharing its rarest label pair, not by scanning them all: thousands of alerts are merged)."""

    def __init__(self, am: Iterable[AmAlert]) -> None:
        self.alerts = list(am)
        self.used = [False] * len(self.alerts)
        self.exact: dict[frozenset[tuple[str, str]], list[int]] = {}
        self.by_pair: dict[tuple[str, str], list[int]] = {}
        for i, m in enumerate(self.alerts):
            items = frozenset(m.labels.items())
            self.exact.setdefault(items, []).append(i)
            for pair in items:
                self.by_pair.setdefault(pair, []).append(i)

    def _first(self, indices: Iterable[int], fits: Any) -> int | None:
        return next((i for i in indices if not self.used[i] and fits(self.alerts[i])), None)

    def take(self, labels: dict[str, str]) -> AmAlert | None:
        """The match for a Prometheus alert's labels (then no longer unmatched), or None."""
        items = frozenset(labels.items())
        i = self._first(self.exact.get(items, ()), lambda m: True)
        if i is None:
            postings = [self.by_pair.get(p, []) for p in items] or [range(len(self.alerts))]
            i = self._first(min(postings, key=len), lambda m: labels.items() <= m.labels.items())
        if i is None:
            return None
        self.used[i] = True
        return self.alerts[i]

    def left(self) -> list[AmAlert]:
        """The unmatched ones, in their order."""
        return [m for m, used in zip(self.alerts, self.used) if not used]


def merge_alerts(prom: Iterable[Alert], am: Iterable[AmAlert],
                 clusters: Iterable[tuple[str, str]] = ()) -> tuple[AlertView, ...]:
    """Prometheus alerts enriched with Alertmanager's status (labels ⊆ Alertmanager's, which add the
    external labels); alerts only Alertmanager holds are added as firing. Sorted for display."""
    clusters = tuple(clusters)
    pending = _AmIndex(am)
    out: list[AlertView] = []
    for a in prom:
        match = pending.take(a.labels)
        labels = dict(a.labels)
        extra: dict[str, Any] = {}
        if match is not None:
            labels = dict(match.labels)
            extra = dict(source="prometheus+alertmanager", suppressed=_am_state(match),
                         silenced_by=match.silenced_by, inhibited_by=match.inhibited_by, receivers=match.receivers)
        out.append(AlertView(_key(a.labels), a.name, a.state, a.labels.get("severity", ""), labels,
                             dict(a.annotations), a.active_at, a.value, link=link_for(a.name, labels, clusters),
                             **extra))
    for m in pending.left():
        out.append(AlertView(_key(m.labels), m.name, "firing", m.labels.get("severity", ""), dict(m.labels),
                             dict(m.annotations), m.starts_at, None, "alertmanager", _am_state(m), m.silenced_by,
                             m.inhibited_by, m.receivers, link_for(m.name, m.labels, clusters)))
    far = datetime.max.replace(tzinfo=timezone.utc)
    out.sort(key=lambda v: (SEVERITY_GROUPS.index(v.group), bool(v.suppressed), v.state != "firing",
                            v.active_at or far, v.name, v.key))
    return tuple(out)


def _best_effort(fn: Any, what: str, problems: list[str], default: Any) -> Any:
    try:
        return fn()
    except Exception as exc:  # optional enrichment: any failure only costs the enrichment
        problems.append(f"{what}: {getattr(exc, 'message', None) or exc}")
        return default


def _rule_sources(conns: Any, problems: list[str]) -> dict[str, str]:
    rules = _best_effort(lambda: conns.kube.list_prometheus_rules("*"), "PrometheusRules not listed", problems, [])
    return {g.name: f"PrometheusRule {r.namespace}/{r.name}" for r in rules for g in r.groups}


def prometheus_alerts(conns: Any, prom: Any, url: str) -> tuple[Alert, ...]:
    """`prom.alerts()` (`prom` made as `conns.prometheus(url, timeout)`), shared within a refresh."""
    return shared_read(conns, ("prometheus-alerts", url, conns.config.timeout), prom.alerts)


def prometheus_rules(conns: Any, prom: Any, url: str) -> tuple[RuleGroup, ...]:
    """`prom.rules()` (`prom` made as `conns.prometheus(url, timeout)`), shared within a refresh."""
    return shared_read(conns, ("prometheus-rules", url, conns.config.timeout), prom.rules)


def alertmanager_alerts(conns: Any, url: str) -> tuple[AmAlert, ...]:
    """Alertmanager's alerts (`conns.alertmanager(url, timeout).alerts()`), shared within a refresh."""
    timeout = conns.config.timeout
    return shared_read(conns, ("alertmanager-alerts", url, timeout),
                       lambda: conns.alertmanager(url, timeout).alerts())


def _gather(conns: Any, problems: list[str]) -> tuple[Any, tuple[Alert, ...], tuple[RuleGroup, ...],
                                                       tuple[AmAlert, ...], str]:
    """(prometheus source or None, its alerts, its rules, Alertmanager alerts, Alertmanager URL)."""
    timeout = conns.config.timeout

    def prometheus_side() -> tuple[Any, tuple[Alert, ...], tuple[RuleGroup, ...]]:
        url = conns.prometheus_url()
        prom = conns.prometheus(url, timeout)
        with Tasks(max_workers=1) as pool:  # the rules while the alerts are read
            rules = pool.submit(prometheus_rules, conns, prom, url)
            return prom, prometheus_alerts(conns, prom, url), rules.result()

    def alertmanager_side() -> tuple[tuple[AmAlert, ...], str]:
        url = conns.alertmanager_url()
        return alertmanager_alerts(conns, url), url

    prom, prom_alerts, groups, prom_error = None, (), (), None
    am_alerts, am_url, am_error = (), "", None
    with Tasks(max_workers=1) as pool:  # Alertmanager while Prometheus is read
        am_side = pool.submit(alertmanager_side)
        try:
            prom, prom_alerts, groups = prometheus_side()
        except SourceError as exc:
            prom, prom_error = None, exc
        try:
            am_alerts, am_url = am_side.result()
        except SourceError as exc:
            am_error = exc
    if am_error is not None:
        if prom_error is not None:
            raise prom_error from None
        label = "not discovered" if am_error.kind == "notfound" else am_error.title
        problems.append(f"Alertmanager {label}: {am_error.message} (silences and inhibitions not shown)")
    if prom_error is not None:
        problems.insert(0, f"Prometheus {prom_error.title}: {prom_error.message} (showing Alertmanager's alerts only)")
    return prom, prom_alerts, groups, am_alerts, am_url


def load_alerts(conns: Any, *, lint: bool = True, lint_budget_s: float = 20.0) -> AlertsData:
    """Read alerts (Prometheus + Alertmanager), rules, and lint the rules; runs in a worker thread.
    Raises SourceError only when neither Prometheus nor Alertmanager answers."""
    problems: list[str] = []
    cluster_problems: list[str] = []
    source_problems: list[str] = []
    with Tasks(max_workers=2) as pool:  # the Kubernetes reads while Prometheus and Alertmanager are read
        listed = pool.submit(_best_effort, lambda: conns.kube.list_cnpg_clusters("*"), "CNPG clusters not listed",
                             cluster_problems, [])
        sources = pool.submit(_rule_sources, conns, source_problems) if lint else None
        prom, prom_alerts, groups, am_alerts, am_url = _gather(conns, problems)
        clusters = listed.result()
        problems += cluster_problems
    alerts = merge_alerts(prom_alerts, am_alerts, [(c.namespace, c.name) for c in clusters])
    lints: tuple[RuleLint, ...] = ()
    if lint and prom is not None and groups and sources is not None:
        rule_sources = sources.result()
        problems += source_problems
        lints = lint_rules(groups, PrometheusOracle(prom), rule_sources, budget_s=lint_budget_s)
    return AlertsData(alerts, groups, lints, clock.now(), prom.url if prom else "", am_url,
                      tuple(problems))


def alert_counts(conns: Any) -> AlertCounts:
    """Firing/pending counts for the Overview: alerts only, no lint, no Kubernetes calls."""
    _, prom_alerts, _, am_alerts, _ = _gather(conns, [])
    return count_alerts(merge_alerts(prom_alerts, am_alerts))


def _alert_finding(a: AlertView, now: datetime) -> Finding:
    labels = ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items()) if k not in ("alertname", "severity"))
    evidence = [f"{a.display_state} for {format_age(a.age(now))}, severity {a.severity or 'none'}"
                + (f", value {a.value:g}" if a.value is not None else "")]
    evidence += [f"{k}: {a.annotations[k]}" for k in ("summary", "description") if a.annotations.get(k)]
    evidence.append(f"labels: {labels or '(none)'}")
    if a.silenced_by:
        evidence.append(f"silenced by {', '.join(a.silenced_by)}")
    if a.inhibited_by:
        evidence.append(f"inhibited by {', '.join(a.inhibited_by)}")
    if a.name in DEADMAN_ALERTS:
        status, title = "pass", f"deadman alert {a.name} firing, as it should"
    else:
        status = "skip" if a.suppressed else "warn"
        title = f"{a.name} {a.display_state}"
    link = a.link
    fix = (f"Alerts pane (key 5): enter on {a.name} opens {link.label}" + (f" — {link.flow}" if link.flow else "")
           if link.known else "")
    return Finding("alerts", a.name, "ALERT", title, status, None, tuple(evidence), fix)


def _lint_finding(x: RuleLint) -> Finding:
    titles = {"PROM_RULE_NO_SERIES": "can never fire: a selector matches no series",
              "PROM_RULE_ERROR": "fails to evaluate"}
    title = titles.get(x.code or "", {"pass": "can fire", "skip": "not linted", "error": "lint failed"}.get(
        x.status, x.status))
    return Finding("alerts", f"{x.group}/{x.rule}", "RULE", f"rule {x.rule} {title}", x.status, x.code,
                   (*x.evidence, f"expr: {x.query}"), x.fix)


def findings_from(data: AlertsData) -> list[Finding]:
    """Findings of one AlertsData: reachability, each firing alert, each alerting rule's lint."""
    c = data.counts
    pending = [a.name for a in data.alerts if a.state == "pending"]
    out = [Finding("alerts", "prometheus", "PROM", f"{c.firing} firing, {c.pending} pending, {c.suppressed} "
                   "silenced/inhibited", "error" if not data.prometheus_url else "pass", None,
                   tuple([*(f"pending: {n}" for n in pending), *data.problems]))]
    out += [_alert_finding(a, data.fetched_at) for a in data.alerts if a.state == "firing"]
    recording = {(g.name, r.name) for g in data.groups for r in g.rules if r.type != "alerting"}
    out += [_lint_finding(x) for x in data.lints if x.status != "pass" or (x.group, x.rule) not in recording]
    return out


def alert_findings(conns: Any) -> list[Finding]:
    """`clusterdeck check --service alerts`: never raises for an unreachable Prometheus, reports it."""
    try:
        return findings_from(load_alerts(conns))
    except SourceError as exc:
        return [Finding("alerts", exc.system, "PROM", f"{exc.system} not reachable: {exc.title}", "error", None,
                        (exc.message,), "Set prometheus.url (or prometheus.service) in the config, or port-forward "
                        "to the Prometheus Service")]
