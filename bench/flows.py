"""Guided flows on the lab: wall time of `run_flow` for every consumer and every flow it uses
(the planted cases are among them), as the Triage pane and `clusterdeck check` run them."""

from __future__ import annotations

from typing import Any

from bench.common import Metric, lab_conns, median, ms, timed


def measure(state: dict[str, Any], runs: int = 3) -> tuple[list[Metric], dict[str, Any]]:
    from checks.errors import SourceError
    from checks.flows.runner import run_flow
    from checks.targets import list_targets

    conns = lab_conns(state)
    cases = [(flow, t.app) for t in list_targets(conns) for flow in t.flows]
    walls: dict[str, list[float]] = {}
    codes: dict[str, str] = {}
    for _ in range(runs):
        for flow, app in cases:
            def one() -> Any:
                try:
                    return run_flow(conns, flow, app=app)
                except SourceError as exc:
                    return exc
            wall, result = timed(one)
            key = f"{flow} {app}"
            walls.setdefault(key, []).append(wall)
            rc = getattr(result, "root_cause", None)
            codes[key] = (rc.code if rc is not None and hasattr(rc, "code") else str(rc.get("code")) if isinstance(rc, dict) else
                          ("could not run" if isinstance(result, SourceError) else "ok"))
    conns.close()
    med = {k: median(v) for k, v in walls.items()}
    worst = max(med, key=lambda k: med[k]) if med else ""
    by_flow: dict[str, float] = {}
    for key, value in med.items():
        flow = key.split()[0]
        by_flow[flow] = max(by_flow.get(flow, 0.0), value)
    metrics = [Metric("guided flow wall time (max over planted cases)", "≤ 2 s each",
                      f"{ms(med[worst])} ({worst})" if worst else "no case", bool(med) and med[worst] <= 2.0,
                      f"run_flow(conns, flow, app=…) for {len(cases)} consumer×flow cases from list_targets, "
                      f"median of {runs} runs each, warm Connections", {"median_s": med, "root_cause": codes})]
    for flow, value in sorted(by_flow.items()):
        metrics.append(Metric(f"  {flow} flow, slowest case", "≤ 2 s", ms(value), value <= 2.0, "same runs", None))
    return metrics, {"median_s": med, "root_cause": codes}
