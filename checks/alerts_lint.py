"""Rule health and "can this rule ever fire?": ask Prometheus whether each selector matches any series.

The same check as Cloudflare's `pint` (promql/series): an alerting rule whose selectors match no
series can never fire (`PROM_RULE_NO_SERIES`); a rule Prometheus fails to evaluate is `PROM_RULE_ERROR`.
"""

from __future__ import annotations

import difflib
import re
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import wait
from dataclasses import dataclass
from typing import Any, Protocol

from checks.errors import SourceError
from checks.model import Status
from checks.parsers.promql import extract_selectors
from checks.sources.prometheus import AlertRule, RuleGroup
from checks.tasks import Tasks

KNOWN_METRIC_FIXES: dict[str, str] = {
    "dragonfly_replication_lag_seconds": "dragonfly_connected_replica_lag_records",
    "dragonfly_maxclients": "dragonfly_max_clients",
}
"""Metric names the seed's rules use that Dragonfly does not export → the real name (service-facts §3.2)."""

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*")
_MATCHER = re.compile(r"""([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)""")
_ABSENT = re.compile(r"\babsent(_over_time)?\s*\(")
_EITHER = re.compile(r"\b(or|unless)\b")
_JOB_NOTE = ("a PodMonitor's job label is <namespace>/<podmonitor-name>, a ServiceMonitor's the Service name, "
             "unless jobLabel or relabelings change it")


class SeriesOracle(Protocol):
    """What the lint asks Prometheus (a recorded dict-backed one serves deterministic tests)."""

    def exists(self, selector: str) -> bool:
        """Does any series match `selector` (recently)?"""

    def label_values(self, metric: str, label: str) -> list[str]:
        """Values of `label` on the series of `metric`."""

    def similar_names(self, metric: str) -> list[str]:
        """Existing metric names close to `metric`."""


_POSITIVE: dict[tuple[str, str], float] = {}
_POSITIVE_LOCK = threading.Lock()


class PrometheusOracle:
    """Answers from a `PrometheusSource`; selectors found to exist are cached for `ttl` seconds
    (missing ones are asked again every time, so a freshly scraped target is seen at once)."""

    def __init__(self, source: Any, ttl: float = 300.0) -> None:
        self.source = source
        self.ttl = ttl

    def exists(self, selector: str) -> bool:
        found = self.exists_many([selector])
        if selector not in found:  # refused alone: ask the series API, which raises why
            return any(self.source.series_exist(selector).values())
        return found[selector]

    def exists_many(self, selectors: Iterable[str]) -> dict[str, bool]:
        """`exists` for each selector: those not known to exist in one query (`selectors_present`). A selector
        Prometheus refuses is left out."""
        out: dict[str, bool] = {}
        ask: list[str] = []
        now = time.monotonic()
        with _POSITIVE_LOCK:
            for sel in selectors:
                if now - _POSITIVE.get((self.source.url, sel), -1e18) < self.ttl:
                    out[sel] = True
                else:
                    ask.append(sel)
        if ask:
            found = self.source.selectors_present(ask)
            with _POSITIVE_LOCK:
                for sel, hit in found.items():
                    if hit:
                        _POSITIVE[(self.source.url, sel)] = time.monotonic()
            out.update(found)
        return out

    def label_values(self, metric: str, label: str) -> list[str]:
        rows = self.source.query(f"count by ({label}) ({metric})")
        return sorted({str(r.get("metric", {}).get(label, "")) for r in rows} - {""})

    def similar_names(self, metric: str) -> list[str]:
        prefix = metric.split("_", 1)[0]
        rows = self.source.query(f'group by (__name__) ({{__name__=~"{re.escape(prefix)}_.+"}})')
        names = sorted({str(r.get("metric", {}).get("__name__", "")) for r in rows} - {""})
        return difflib.get_close_matches(metric, names, n=3, cutoff=0.6)


@dataclass(frozen=True)
class RuleLint:
    """The verdict on one rule: healthy, erroring, or unable to ever fire."""

    group: str
    """Rule group name."""
    rule: str
    """Alert name (or recorded series)."""
    query: str
    """The rule's PromQL expression."""
    status: Status
    """pass | fail | skip | error."""
    code: str | None = None
    """PROM_RULE_NO_SERIES | PROM_RULE_ERROR | None."""
    missing: tuple[str, ...] = ()
    """Selectors that match no series."""
    evidence: tuple[str, ...] = ()
    """What was observed (which selector has no series, which label values exist, the last error)."""
    fix: str = ""
    """What to change, ready to copy."""
    suggested_query: str = ""
    """Corrected expression when every missing selector has a known replacement, else ''."""
    where: str = ""
    """Where the rule is defined: 'PrometheusRule ns/name' when known, else the rule file."""


def parse_selector(selector: str) -> tuple[str, list[tuple[str, str, str]]]:
    """`up{job="x"}` → ('up', [('job', '=', 'x')]); a `__name__` matcher gives the name."""
    m = _NAME.match(selector)
    name = m.group(0) if m else ""
    matchers = []
    for label, op, quoted in _MATCHER.findall(selector[len(name):]):
        value = quoted[1:-1]
        if label == "__name__" and op == "=" and not name:
            name = value
        else:
            matchers.append((label, op, value))
    return name, matchers


def _explain(selector: str, oracle: SeriesOracle) -> tuple[list[str], str]:
    """Evidence for one selector with no series, and its replacement selector ('' when unknown)."""
    name, matchers = parse_selector(selector)
    if name in KNOWN_METRIC_FIXES:
        real = KNOWN_METRIC_FIXES[name]
        seen = "it has series here" if oracle.exists(real) else "it has no series here either"
        return ([f"{selector} matches no series: Dragonfly does not export {name}; the real metric is {real} "
                 f"({seen})"], selector.replace(name, real, 1))
    if name and matchers and oracle.exists(name):
        evidence, replacement = [], selector
        for label, op, value in matchers:
            if op != "=":
                continue
            values = oracle.label_values(name, label)
            if value in values:
                continue
            close = [v for v in values if value and value in v]
            shown = (close + [v for v in values if v not in close])[:6]
            more = f" (+{len(values) - len(shown)} more)" if len(values) > len(shown) else ""
            listing = ", ".join(f'{label}="{v}"' for v in shown) or "none"
            line = f'{selector} matches no series: {name} exists, but never with {label}="{value}"; it has {listing}{more}'
            evidence.append(line + (f" ({_JOB_NOTE})" if label == "job" else ""))
            if len(close) == 1 and replacement:
                replacement = replacement.replace(f'"{value}"', f'"{close[0]}"', 1)
            else:
                replacement = ""
        if evidence:
            return evidence, replacement
        return [f"{selector} matches no series ({name} exists; the combination of matchers matches none)"], ""
    if name:
        similar = oracle.similar_names(name)
        hint = f"; similar metrics that exist: {', '.join(similar)}" if similar else ""
        return [f"{selector} matches no series: no metric named {name} in the last hour{hint}"], ""
    return [f"{selector} matches no series"], ""


def lint_rule(group: RuleGroup, rule: AlertRule, oracle: SeriesOracle, where: str = "") -> RuleLint:
    """Lint one rule: health first, then (alerting rules) whether its selectors match any series."""
    where = where or f"group {group.name} in {group.file}"
    base = dict(group=group.name, rule=rule.name, query=rule.query, where=where)
    if rule.health == "err":
        return RuleLint(**base, status="fail", code="PROM_RULE_ERROR",
                        evidence=(f"Prometheus failed to evaluate {rule.name}: {rule.last_error or '(no error text)'}",
                                  f"expr: {rule.query}"),
                        fix=f"Fix the expression of {rule.name} in {where}; Prometheus says: {rule.last_error}")
    if rule.type != "alerting":
        return RuleLint(**base, status="pass", evidence=(f"recording rule, health {rule.health}",))
    selectors = extract_selectors(rule.query)
    if not selectors:
        return RuleLint(**base, status="pass", evidence=("no series selectors: the expression always has a value",))
    missing = tuple(s for s in selectors if not oracle.exists(s))
    if not missing:
        return RuleLint(**base, status="pass",
                        evidence=tuple(f"{s} matches series" for s in selectors))
    evidence: list[str] = []
    replacements: dict[str, str] = {}
    explain = getattr(oracle, "explain", None)  # a lint run's memo: explained at once beforehand
    for sel in missing:
        lines, replacement = explain(sel) if explain is not None else _explain(sel, oracle)
        evidence.extend(lines)
        if replacement:
            replacements[sel] = replacement
    if _ABSENT.search(rule.query):
        return RuleLint(**base, status="pass", missing=missing,
                        evidence=("uses absent(): a missing series is what it alerts on", *evidence))
    if _EITHER.search(rule.query) and len(missing) < len(selectors):
        return RuleLint(**base, status="pass", missing=missing,
                        evidence=("uses or/unless: the other operand can still fire", *evidence))
    suggested = ""
    if len(replacements) == len(missing):
        suggested = rule.query
        for sel, replacement in replacements.items():
            suggested = suggested.replace(sel, replacement)
        fix = f"In {where}, change the expr of {rule.name} to:  {suggested}"
    else:
        fix = (f"In {where}, make {', '.join(missing)} match series that exist (check the metric name and "
               f"labels in Prometheus), or delete {rule.name}: as written it can never fire")
    return RuleLint(**base, status="fail", code="PROM_RULE_NO_SERIES", missing=missing,
                    evidence=(f"{rule.name} can never fire: {len(missing)} of {len(selectors)} selectors match "
                              "no series", *evidence), fix=fix, suggested_query=suggested)


class _Memo:
    """One lint run's answers, so each selector is asked once."""

    def __init__(self, oracle: SeriesOracle) -> None:
        self.oracle = oracle
        self.known: dict[str, bool] = {}
        self.explained: dict[str, tuple[list[str], str] | SourceError] = {}

    def exists(self, selector: str) -> bool:
        if selector not in self.known:
            self.known[selector] = self.oracle.exists(selector)
        return self.known[selector]

    def label_values(self, metric: str, label: str) -> list[str]:
        return self.oracle.label_values(metric, label)

    def similar_names(self, metric: str) -> list[str]:
        return self.oracle.similar_names(metric)

    def explain(self, selector: str) -> tuple[list[str], str]:
        """`_explain(selector)`, each selector once (its failure too: raised again, not asked again)."""
        if selector not in self.explained:
            try:
                self.explained[selector] = _explain(selector, self)
            except SourceError as exc:
                self.explained[selector] = exc
        got = self.explained[selector]
        if isinstance(got, SourceError):
            raise got
        return got

    def explain_missing(self, pool: Tasks, deadline: float) -> None:
        """Explain every selector known to match no series at once (each explanation asks Prometheus for the
        metric's label values or similar names, one request after another), waiting until `deadline` at most:
        the rules are then linted from these answers instead of a round of requests per missing selector."""
        futures = [pool.submit(self.explain, sel) for sel, found in sorted(self.known.items()) if found is False]
        wait(futures, timeout=max(0.0, deadline - time.monotonic()))


def lint_rules(groups: Iterable[RuleGroup], oracle: SeriesOracle, rule_sources: Mapping[str, str] | None = None,
               budget_s: float = 20.0, workers: int = 4) -> tuple[RuleLint, ...]:
    """Lint every rule of every group within `budget_s` seconds; unfinished rules are `skip`.

    Selector lookups run in parallel first (each one time-bounded by the source's timeout), then the
    explanations of the selectors that match no series, all at once;
    `rule_sources` maps a group name to where it is defined ('PrometheusRule ns/name').
    """
    groups = tuple(groups)
    rule_sources = rule_sources or {}
    deadline = time.monotonic() + budget_s
    selectors = sorted({s for g in groups for r in g.rules if r.type == "alerting" and r.health != "err"
                        for s in extract_selectors(r.query)})
    memo = _Memo(oracle)
    many = getattr(oracle, "exists_many", None)  # one request for all of them, where the oracle can
    futures: dict[str, Any] = {}
    pool = Tasks(max_workers=workers, thread_name_prefix="rule-lint")
    try:
        if many is not None and selectors:
            batch = pool.submit(many, selectors)
            wait([batch], timeout=max(0.0, deadline - time.monotonic()))
            if batch.done() and not batch.cancelled() and batch.exception() is None:
                memo.known.update(batch.result())  # left out or failed: asked again rule by rule, for its error
        else:
            futures = {s: pool.submit(oracle.exists, s) for s in selectors}
            wait(futures.values(), timeout=max(0.0, deadline - time.monotonic()))
        for sel, fut in futures.items():
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                memo.known[sel] = fut.result()
        memo.explain_missing(pool, deadline)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    out: list[RuleLint] = []
    for g in groups:
        where = rule_sources.get(g.name, "")
        for r in g.rules:
            if time.monotonic() > deadline:
                out.append(RuleLint(g.name, r.name, r.query, "skip", where=where or g.file,
                                    evidence=(f"lint did not finish within {budget_s:g}s",)))
                continue
            try:
                out.append(lint_rule(g, r, memo, where))
            except SourceError as exc:
                out.append(RuleLint(g.name, r.name, r.query, "error", where=where or g.file,
                                    evidence=(f"{exc.system}: {exc.title}: {exc.message}",)))
    return tuple(out)
