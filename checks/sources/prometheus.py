"""Prometheus and Alertmanager data sources.

`PrometheusSource` wraps `prometheus_api_client.PrometheusConnect` (imported lazily) and
sends the endpoints it lacks (`/api/v1/alerts`, `/api/v1/rules`, `/api/v1/series`) through
the client's own session, timeout and auth. `AlertmanagerSource` uses `requests`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from checks.errors import SourceError
from checks.parsers.promql import extract_selectors
from checks.sources.http_session import session_for, settle_environment

_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 with up to ns precision (`2018-07-04T20:27:12.60602144+02:00`); Go's zero time → None."""
    if not value or not isinstance(value, str) or value.startswith("0001-01-01"):
        return None
    return _parse_time(value)


@lru_cache(maxsize=4096)
def _parse_time(value: str) -> datetime | None:
    """Remembered: a refresh parses the same few timestamps thousands of times (alerts that fired together, the
    evaluation times of one rule group); datetime is immutable."""
    try:
        dt = datetime.fromisoformat(value)  # Python 3.11 reads Z and any number of fraction digits (truncated)
    except ValueError:
        text = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00").replace("z", "+00:00")
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _labels(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Alert:
    """A pending or firing alert from Prometheus `/api/v1/alerts`."""

    name: str
    """`alertname` label."""
    state: str
    """pending | firing."""
    labels: dict[str, str] = field(default_factory=dict)
    """All labels."""
    annotations: dict[str, str] = field(default_factory=dict)
    """summary, description, runbook_url, …"""
    active_at: datetime | None = None
    """When the alert became active."""
    value: float | None = None
    """The expression's value when last evaluated."""


@dataclass(frozen=True)
class AlertRule:
    """One rule of a rule group (alerting or recording)."""

    name: str
    """Alert name (or recorded series name)."""
    query: str
    """The PromQL expression."""
    duration: float | None
    """`for:` in seconds (alerting rules only)."""
    labels: dict[str, str]
    """Labels added to the alert."""
    annotations: dict[str, str]
    """Annotations (alerting rules only)."""
    health: str
    """ok | err | unknown (unknown = not evaluated yet)."""
    last_error: str
    """Evaluation error when health is err."""
    state: str | None
    """inactive | pending | firing (alerting rules only)."""
    last_evaluation: datetime | None
    """When it was last evaluated."""
    evaluation_time: float | None
    """Seconds the last evaluation took."""
    type: str
    """alerting | recording."""
    active_alerts: int = 0
    """Number of pending/firing alerts of this rule."""


@dataclass(frozen=True)
class RuleGroup:
    """A rule group from `/api/v1/rules`."""

    name: str
    """Group name."""
    file: str
    """Rule file (for a PrometheusRule: `/etc/prometheus/rules/…/<ns>-<name>-….yaml`)."""
    interval: float | None
    """Evaluation interval in seconds."""
    evaluation_time: float | None
    """Seconds the last evaluation of the group took."""
    last_evaluation: datetime | None
    """When the group was last evaluated."""
    rules: tuple[AlertRule, ...] = ()
    """Rules in file order."""


@dataclass(frozen=True)
class BuildInfo:
    """`/api/v1/status/buildinfo`."""

    version: str
    """e.g. 2.42.0."""
    revision: str
    """Source revision."""
    branch: str
    """Build branch."""
    go_version: str
    """Go toolchain."""


@dataclass(frozen=True)
class AmAlert:
    """An alert as Alertmanager holds it (`/api/v2/alerts`)."""

    labels: dict[str, str]
    """All labels (`alertname`, `severity`, …)."""
    annotations: dict[str, str]
    """summary, description, …"""
    state: str
    """active | suppressed | unprocessed."""
    silenced_by: tuple[str, ...]
    """Silence ids muting it."""
    inhibited_by: tuple[str, ...]
    """Fingerprints of alerts inhibiting it."""
    starts_at: datetime | None
    """When it started."""
    fingerprint: str
    """Alertmanager's alert id."""
    receivers: tuple[str, ...] = ()
    """Receiver names it is routed to."""
    ends_at: datetime | None = None
    """When it will be considered resolved unless re-sent."""
    generator_url: str = ""
    """Link back to the Prometheus expression."""

    @property
    def name(self) -> str:
        """`alertname` label."""
        return self.labels.get("alertname", "")


def transport_error(system: str, base: str, timeout: float, exc: BaseException) -> SourceError:
    """One short line for a failed HTTP connection (requests wraps urllib3's reasons several layers deep)."""
    import requests  # lazy

    text = str(exc).lower()
    what = system.capitalize()
    if isinstance(exc, requests.Timeout) or ("refused" not in text and "timed out" in text):
        return SourceError(system, "Timed out", f"{what} at {base} did not answer within {timeout:g}s. Is it "
                           "overloaded or hung? Check its pod.", kind="timeout")
    if "refused" in text:
        why = "refused the connection"
    elif "name or service not known" in text or "nodename nor servname" in text or "resolution" in text:
        why = "could not be resolved"
    elif "ssl" in text:
        why = "failed the TLS handshake (http vs https?)"
    else:
        why = f"could not be reached ({type(exc).__name__})"
    return SourceError(system, "Cannot connect", f"{what} at {base} {why}. Is it running? Try a port-forward to "
                       "its Service.", kind="unreachable")


def _http_get(session: Any, system: str, base: str, path: str, params: Any, timeout: float,
              auth: Any = None, headers: Any = None) -> Any:
    import requests  # lazy

    url = base.rstrip("/") + path
    try:
        resp = session.get(url, params=params, timeout=timeout, auth=auth, headers=headers)
    except requests.RequestException as exc:
        raise transport_error(system, base, timeout, exc) from None
    if resp.status_code in (401, 403):
        raise SourceError(system, "Not authorised", f"GET {path}: HTTP {resp.status_code}",
                          kind="auth" if resp.status_code == 401 else "forbidden")
    if resp.status_code == 404:
        raise SourceError(system, "Not found", f"GET {path}: HTTP 404 (is {base} really {system}?)",
                          kind="notfound")
    try:
        body = resp.json()
    except (ValueError, RecursionError):
        raise SourceError(system, "Unexpected answer", f"GET {path}: HTTP {resp.status_code}, not JSON") from None
    if isinstance(body, dict) and body.get("status") == "error":
        raise SourceError(system, f"API error ({body.get('errorType', 'error')})",
                          f"GET {path}: {body.get('error', '')}")
    if resp.status_code >= 300:
        raise SourceError(system, "HTTP error", f"GET {path}: HTTP {resp.status_code}")
    return body.get("data") if isinstance(body, dict) and "status" in body else body


_MARK = "clusterdeck_selector"
"""The label `selectors_present` tells its selectors apart by."""
_PRESENT_CHUNK = 40
"""Selectors per `selectors_present` query."""
_TRANSPORT_KINDS = ("timeout", "unreachable", "auth", "forbidden")
"""SourceError kinds that say the server, not the question, failed."""


class PrometheusSource:
    """Read-only Prometheus HTTP API."""

    system = "prometheus"

    def __init__(self, url: str, timeout: float = 5.0, headers: dict[str, str] | None = None) -> None:
        from prometheus_api_client import PrometheusConnect  # lazy
        from urllib3.util.retry import Retry

        self.url = url.rstrip("/")
        self.timeout = float(timeout)
        self._pc = PrometheusConnect(url=self.url, headers=headers, timeout=self.timeout,
                                     retry=Retry(total=0, raise_on_status=False))
        settle_environment(self._pc._session, self.url)

    def __repr__(self) -> str:
        return f"PrometheusSource({self.url})"

    def _get(self, path: str, params: Any = None) -> Any:
        pc = self._pc
        return _http_get(pc._session, self.system, self.url, path, params, self.timeout,
                         auth=pc.auth, headers=pc.headers)

    def buildinfo(self) -> BuildInfo:
        """Version of the server (also a cheap reachability probe)."""
        d = self._get("/api/v1/status/buildinfo") or {}
        return BuildInfo(str(d.get("version", "")), str(d.get("revision", "")), str(d.get("branch", "")),
                         str(d.get("goVersion", "")))

    def alerts(self) -> tuple[Alert, ...]:
        """Pending and firing alerts."""
        data = self._get("/api/v1/alerts") or {}
        return tuple(Alert(name=_labels(a.get("labels")).get("alertname", ""), state=str(a.get("state", "")),
                           labels=_labels(a.get("labels")), annotations=_labels(a.get("annotations")),
                           active_at=parse_time(a.get("activeAt")), value=_float(a.get("value")))
                     for a in data.get("alerts", []) if isinstance(a, dict))

    def rules(self, type: str | None = None) -> tuple[RuleGroup, ...]:
        """Rule groups with their rules' health and state; `type` = alert | record to filter."""
        data = self._get("/api/v1/rules", {"type": type} if type else None) or {}
        groups = []
        for g in data.get("groups", []):
            rules = tuple(AlertRule(
                name=str(r.get("name", "")), query=str(r.get("query", "")), duration=_float(r.get("duration")),
                labels=_labels(r.get("labels")), annotations=_labels(r.get("annotations")),
                health=str(r.get("health", "unknown")), last_error=str(r.get("lastError", "") or ""),
                state=r.get("state"), last_evaluation=parse_time(r.get("lastEvaluation")),
                evaluation_time=_float(r.get("evaluationTime")), type=str(r.get("type", "")),
                active_alerts=len(r.get("alerts") or ())) for r in g.get("rules", []) if isinstance(r, dict))
            if type and not rules:
                continue  # Prometheus keeps groups whose rules were all filtered out
            groups.append(RuleGroup(str(g.get("name", "")), str(g.get("file", "")), _float(g.get("interval")),
                                    _float(g.get("evaluationTime")), parse_time(g.get("lastEvaluation")), rules))
        return tuple(groups)

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query through PrometheusConnect.custom_query."""
        from prometheus_api_client import PrometheusApiClientException
        import requests

        try:
            return self._pc.custom_query(expr)
        except PrometheusApiClientException as exc:
            raise SourceError(self.system, "Query failed", f"{expr}: {exc}") from None
        except requests.RequestException as exc:
            raise transport_error(self.system, self.url, self.timeout, exc) from None

    def selectors_present(self, selectors: Sequence[str], lookback_s: float = 3600.0) -> dict[str, bool]:
        """For each vector selector: does any series match it in the last `lookback_s`? One instant query for
        them all instead of one /api/v1/series request each: `present_over_time` of each selector, told apart
        by a label `label_replace` adds, joined with `or` (in chunks, to keep the URL short). A chunk Prometheus
        refuses (a selector it cannot parse) is asked one selector at a time; a selector refused alone is left
        out of the answer (the caller asks it again and gets the error)."""
        out: dict[str, bool] = {}
        for start in range(0, len(selectors), _PRESENT_CHUNK):
            chunk = list(selectors[start:start + _PRESENT_CHUNK])
            expr = " or ".join(f'label_replace(group(present_over_time({sel}[{int(lookback_s)}s])), "{_MARK}", '
                               f'"{i}", "", "")' for i, sel in enumerate(chunk))
            try:
                data = self._get("/api/v1/query", {"query": expr}) or {}
            except SourceError as exc:
                if exc.kind in _TRANSPORT_KINDS:
                    raise
                for sel in chunk:
                    try:
                        out[sel] = any(self.series_exist(sel, lookback_s).values())
                    except SourceError as one:
                        if one.kind in _TRANSPORT_KINDS:
                            raise
                continue
            found = {str((row.get("metric") or {}).get(_MARK, "")) for row in data.get("result") or ()
                     if isinstance(row, dict)}
            out.update((sel, str(i) in found) for i, sel in enumerate(chunk))
        return out

    def series_exist(self, expr: str, lookback_s: float = 3600.0) -> dict[str, bool]:
        """For each vector selector in `expr`: does any series match it in the last `lookback_s`?"""
        result: dict[str, bool] = {}
        start = time.time() - lookback_s
        for sel in extract_selectors(expr):
            data = self._get("/api/v1/series", {"match[]": sel, "start": f"{start:.3f}"})
            result[sel] = bool(data)
        return result


class AlertmanagerSource:
    """Read-only Alertmanager v2 API."""

    system = "alertmanager"

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = float(timeout)
        self._session = session_for(self.url)

    def __repr__(self) -> str:
        return f"AlertmanagerSource({self.url})"

    def alerts(self) -> tuple[AmAlert, ...]:
        """All alerts Alertmanager holds (active, suppressed and unprocessed)."""
        data = _http_get(self._session, self.system, self.url, "/api/v2/alerts", None, self.timeout) or []
        out = []
        for a in data if isinstance(data, list) else []:
            status = a.get("status") or {}
            out.append(AmAlert(
                labels=_labels(a.get("labels")), annotations=_labels(a.get("annotations")),
                state=str(status.get("state", "")), silenced_by=tuple(status.get("silencedBy") or ()),
                inhibited_by=tuple(status.get("inhibitedBy") or ()), starts_at=parse_time(a.get("startsAt")),
                fingerprint=str(a.get("fingerprint", "")),
                receivers=tuple(str(r.get("name", "")) for r in a.get("receivers") or () if isinstance(r, dict)),
                ends_at=parse_time(a.get("endsAt")), generator_url=str(a.get("generatorURL", ""))))
        return tuple(out)
