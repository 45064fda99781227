"""Rich Text for the Alerts pane, built from checks.alerts data; every server string goes through safe()."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text

from checks.alerts import DEADMAN_ALERTS, AlertsData, AlertView, format_age
from checks.alerts_lint import RuleLint
from checks.sources.prometheus import AlertRule, RuleGroup
from tui.safe import clean, safe, status_text

GROUP_STYLE = {"critical": "red", "warning": "yellow", "info": "blue"}
"""Colour of each severity group."""
_STATE_STYLE = {"firing": "bold red", "pending": "yellow"}
_HEALTH_STYLE = {"ok": "green", "err": "bold red", "unknown": "dim"}
_RULE_STATE_STYLE = {"firing": "bold red", "pending": "yellow", "inactive": "dim"}
_HIDDEN_LABELS = ("alertname", "severity")


def _labels_text(labels: dict[str, str]) -> Text:
    return safe(" ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in _HIDDEN_LABELS))


def _state_text(a: AlertView) -> Text:
    if a.suppressed:
        return safe(a.display_state, "dim")
    return safe(a.state, _STATE_STYLE.get(a.state, ""))


def _value(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def alert_row(a: AlertView, now: datetime) -> tuple[Text, ...]:
    """Cells: severity, state, alert, age, value, opens, summary, labels."""
    opens = safe(a.link.label, "cyan") if a.link.known else Text("details", style="dim")  # names from labels
    summary = clean(a.summary)
    return (safe(a.severity or "none", GROUP_STYLE[a.group]), _state_text(a), safe(a.name, "bold"),
            Text(format_age(a.age(now))), Text(_value(a.value)), opens,
            Text(summary if len(summary) <= 60 else summary[:59] + "…"), _labels_text(a.labels))


def _section(out: Text, title: str) -> None:
    out.append(f"\n{title}\n", style="bold")


def _pairs(out: Text, pairs: dict[str, str], skip: tuple[str, ...] = ()) -> None:
    shown = [(k, v) for k, v in sorted(pairs.items()) if k not in skip]
    if not shown:
        out.append("  (none)\n", style="dim")
    for k, v in shown:
        out.append("  ")
        out.append(clean(k), style="cyan")
        out.append(": ")
        out.append(clean(v))
        out.append("\n")


def alert_detail(a: AlertView, now: datetime, full: bool = False) -> Text:
    """The alert's state, link, labels and annotations."""
    out = Text()
    out.append(clean(a.name), style="bold")
    out.append("  ")
    out.append_text(_state_text(a))
    out.append(f" for {format_age(a.age(now))}", style="dim")
    out.append(f"  severity {clean(a.severity or 'none')}", style=GROUP_STYLE[a.group])
    out.append(f"  value {_value(a.value)}  source {a.source}\n", style="dim")
    if a.link.known:
        out.append("enter / g → ", style="bold")
        out.append(clean(a.link.label), style="bold cyan")
        if a.link.flow:
            out.append(f"  · flow step {a.link.flow}", style="cyan")
        out.append("\n")
    elif a.name in DEADMAN_ALERTS:
        out.append("deadman alert: firing all the time is healthy; its absence means alerting is broken\n",
                   style="green")
    else:
        hint = "esc goes back" if full else "enter / i shows its labels and annotations"
        out.append(f"no pane explains this alert: {hint}\n", style="dim")
    if a.silenced_by:
        out.append(f"silenced by {clean(', '.join(a.silenced_by))}\n", style="dim")
    if a.inhibited_by:
        out.append(f"inhibited by {clean(', '.join(a.inhibited_by))}\n", style="dim")
    if a.receivers:
        out.append(f"receivers: {clean(', '.join(a.receivers))}\n", style="dim")
    _section(out, "annotations")
    _pairs(out, a.annotations)
    _section(out, "labels")
    _pairs(out, a.labels, () if full else _HIDDEN_LABELS)
    if full and a.active_at:
        out.append(f"\nactive since {a.active_at.isoformat()}\n", style="dim")
    return out


def summary_line(data: AlertsData) -> Text:
    """Counts per state and severity, the servers read, and what could not be read."""
    c = data.counts
    out = Text()
    out.append(f"firing {c.firing}", style="bold red" if c.firing else "green")
    out.append(f" · pending {c.pending}", style="yellow" if c.pending else "")
    out.append(f" · silenced/inhibited {c.suppressed}", style="dim")
    out.append(" · deadman " + ("firing ✔" if c.deadman else "absent"), style="green" if c.deadman else "dim")
    out.append(f"   critical {c.critical} · warning {c.warning}", style="dim")
    out.append("\nPrometheus ", style="dim")
    out.append(clean(data.prometheus_url or "not reached"), style="cyan")
    out.append("  Alertmanager ", style="dim")
    out.append(clean(data.alertmanager_url or "not discovered"), style="cyan" if data.alertmanager_url else "dim")
    for problem in data.problems:
        out.append("\n▲ " + clean(problem), style="yellow")
    return out


def lint_cell(lint: RuleLint | None) -> Text:
    """✔ pass / ✘ PROM_RULE_NO_SERIES / …"""
    if lint is None:
        return Text("–", style="dim")
    if lint.code:
        return Text(f"✘ {lint.code}", style="bold red")
    return status_text(lint.status)


def _ago(when: datetime | None, now: datetime) -> str:
    return "never" if when is None else f"{format_age((now - when).total_seconds())} ago"


def _took(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.1f}ms"


def rule_rows(data: AlertsData) -> tuple[list[tuple[str, tuple[Text, ...]]], dict[str, tuple[Any, Any, Any]]]:
    """Table rows (a header per group, one row per rule) and key → (group, rule, lint)."""
    rows: list[tuple[str, tuple[Text, ...]]] = []
    index: dict[str, tuple[Any, Any, Any]] = {}
    now = data.fetched_at
    lints: dict[tuple[str, str], Any] = {}
    for x in data.lints:  # data.lint_for per rule is a linear scan: 1,000 rules made it quadratic
        lints.setdefault((x.group, x.rule), x)
    for gi, g in enumerate(data.groups):
        interval = f"every {g.interval:g}s" if g.interval else ""
        rows.append((f"g:{gi}", (safe(g.name, "bold"), Text("group", style="dim"), Text(interval, style="dim"),
                                 Text(""), Text(""), Text(_ago(g.last_evaluation, now)), Text(_took(g.evaluation_time)),
                                 safe(g.file, "dim"))))
        index[f"g:{gi}"] = (g, None, None)
        for ri, r in enumerate(g.rules):
            lint = lints.get((g.name, r.name))
            kind = "alert" if r.type == "alerting" else "record" if r.type == "recording" else r.type
            rows.append((f"r:{gi}:{ri}", (
                safe("  " + r.name), Text(kind), safe(r.state or "–", _RULE_STATE_STYLE.get(r.state or "", "")),
                safe(r.health, _HEALTH_STYLE.get(r.health, "")), lint_cell(lint),
                Text(_ago(r.last_evaluation, now)), Text(_took(r.evaluation_time)),
                safe(r.last_error or "", "red"))))
            index[f"r:{gi}:{ri}"] = (g, r, lint)
    if not rows:
        rows.append(("g:none", (Text("no rule groups loaded", style="dim"), *[Text("")] * 7)))
    return rows, index


def rules_summary(data: AlertsData) -> Text:
    """Groups, alerting rules, rules that can never fire, erroring rules."""
    alerting = sum(1 for g in data.groups for r in g.rules if r.type == "alerting")
    never = sum(1 for x in data.lints if x.code == "PROM_RULE_NO_SERIES")
    errors = sum(1 for x in data.lints if x.code == "PROM_RULE_ERROR")
    out = Text(f"{len(data.groups)} groups · {alerting} alerting rules · ")
    out.append(f"{never} can never fire", style="bold red" if never else "green")
    out.append(" · ")
    out.append(f"{errors} failing to evaluate", style="bold red" if errors else "green")
    if not data.lints and data.groups:
        out.append("   (lint not run)", style="dim")
    return out


def rule_detail(group: RuleGroup, rule: AlertRule | None, lint: RuleLint | None) -> Text:
    """A group's timing, or a rule's expression, health and lint verdict with the fix."""
    out = Text()
    if rule is None:
        out.append(clean(group.name), style="bold")
        out.append(f"  file {clean(group.file)}\n", style="dim")
        out.append(f"{len(group.rules)} rules, interval {group.interval or '–'}s, last evaluation took "
                   f"{_took(group.evaluation_time)}\n")
        return out
    out.append(clean(rule.name), style="bold")
    out.append(f"  {rule.type} · health {clean(rule.health)} · state {clean(rule.state or '–')}", style="dim")
    if rule.duration:
        out.append(f" · for {format_age(rule.duration)}", style="dim")
    out.append("\nexpr: ", style="bold")
    out.append(clean(rule.query), style="cyan")
    out.append("\n")
    if rule.last_error:
        out.append("last error: ", style="bold red")
        out.append(clean(rule.last_error) + "\n")
    if lint is not None:
        out.append_text(lint_cell(lint))
        out.append("\n")
        for line in lint.evidence:
            out.append("  · " + clean(line) + "\n")
        if lint.fix:
            out.append("fix: ", style="bold green")
            out.append(clean(lint.fix) + "\n")
    return out
