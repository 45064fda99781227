"""`clusterdeck check`: every flow for every consumer, plus system-level findings, as Findings."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from checks.errors import SourceError
from checks.model import Finding, FlowResult
from checks.tasks import Tasks

SERVICES = ("kubernetes", "dragonfly", "cnpg", "rustfs", "alerts")
_FLOW_OF = {"dragonfly": "dragonfly", "cnpg": "cnpg", "rustfs": "rustfs"}


def flow_findings(result: FlowResult, system: str, subject: str) -> list[Finding]:
    return [Finding(system, subject, s.id, s.title, s.status, s.code, s.evidence, s.fix) for s in result.steps]


def _error_finding(system: str, subject: str, exc: SourceError) -> Finding:
    return Finding(system, subject, "RUN", f"could not run: {exc.title}", "error", f"{exc.system.upper()}_UNAVAILABLE",
                   (exc.message,))


def _run_app_flow(conns: Any, system: str, app: str) -> list[Finding]:
    from checks.flows.runner import run_flow

    try:
        return flow_findings(run_flow(conns, _FLOW_OF[system], app=app), system, app)
    except SourceError as exc:
        return [_error_finding(system, app, exc)]


def _kubernetes(conns: Any) -> list[Finding]:
    from checks.overview import _guarded, _kube

    rows, perms = _guarded("kubernetes", _kube, conns)
    out = [Finding("kubernetes", r.endpoint or "api", "K8S", "API reachable",
                   "pass" if r.status == "pass" else ("warn" if r.status == "warn" else "error"),
                   None if r.status == "pass" else "K8S_DEGRADED" if r.status == "warn" else "K8S_UNREACHABLE",
                   (r.detail,) if r.detail else ()) for r in rows]
    out += [Finding("kubernetes", p.operation, "RBAC", f"may {p.operation}", "pass" if p.allowed else "warn",
                    None if p.allowed else "K8S_FORBIDDEN", (p.detail or f"without it: {p.disables}",))
            for p in perms]
    return out


def _alerts(conns: Any) -> list[Finding]:
    from checks.alerts import alert_findings

    try:
        return list(alert_findings(conns))
    except SourceError as exc:
        return [_error_finding("alerts", "prometheus", exc)]


def _dragonfly_system(conns: Any) -> list[Finding]:
    try:
        from checks.dragonfly_view import system_findings
    except ImportError:
        return []
    try:
        return list(system_findings(conns))
    except SourceError as exc:
        return [_error_finding("dragonfly", "server", exc)]


def run_checks(conns: Any, services: Iterable[str] | None = None) -> list[Finding]:
    """All findings for the chosen services (default: all). Raises SourceError only when the
    Kubernetes API itself cannot be read, since every other check starts from it."""
    from checks.targets import list_targets

    chosen = tuple(services or SERVICES)
    jobs: list[Callable[[], list[Finding]]] = []
    if "kubernetes" in chosen:
        jobs.append(lambda: _kubernetes(conns))
    if "alerts" in chosen:
        jobs.append(lambda: _alerts(conns))
    if "dragonfly" in chosen:
        jobs.append(lambda: _dragonfly_system(conns))
    if any(s in chosen for s in _FLOW_OF):
        targets = list_targets(conns)
        for t in targets:
            for system in _FLOW_OF:
                if system in chosen and system in (("dragonfly" if t.redis else ""), ("cnpg" if t.postgres else ""),
                                                   ("rustfs" if t.s3 else "")):
                    jobs.append(lambda s=system, a=t.app: _run_app_flow(conns, s, a))
    with Tasks(max_workers=4) as pool:
        results = list(pool.map(lambda job: job(), jobs))
    findings = [f for batch in results for f in batch]
    order = {s: i for i, s in enumerate(SERVICES)}
    return sorted(findings, key=lambda f: (order.get(f.system, 99), f.subject))
