"""Full refresh: each pane's fetch alone, then every pane's fetch at once (as the app's workers run them)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.common import Metric, lab_conns, median, ms, timed
from bench.roundtrips import PANES, pane_fetch


def measure(state: dict[str, Any], runs: int = 5) -> tuple[list[Metric], dict[str, Any]]:
    conns = lab_conns(state)
    fetches = {pane: pane_fetch(pane) for pane in PANES}
    for fetch in fetches.values():  # warm: imports, kube client, caches the app also keeps
        fetch(conns)
    alone: dict[str, list[float]] = {p: [] for p in fetches}
    together: list[float] = []
    for _ in range(runs):  # interleaved so that noise hits both alike
        for pane, fetch in fetches.items():
            conns.forget_cached()  # each measure reads the cluster afresh (as `r` does), not the last one's answers
            alone[pane].append(timed(lambda: fetch(conns))[0])
        conns.forget_cached()
        with ThreadPoolExecutor(max_workers=len(fetches)) as pool:
            def all_panes() -> None:
                for f in [pool.submit(fetch, conns) for fetch in fetches.values()]:
                    f.result()
            together.append(timed(all_panes)[0])
    conns.close()
    med = {p: median(v) for p, v in alone.items()}
    slowest = max(med, key=lambda p: med[p])
    ratio = median(together) / med[slowest]
    detail = ", ".join(f"{p} {ms(v)}" for p, v in sorted(med.items(), key=lambda kv: -kv[1]))
    metrics = [
        Metric("full refresh of all panes (concurrent)", "≤ 1.2× slowest single source",
               f"{ratio:.2f}× ({ms(median(together))} vs {slowest} {ms(med[slowest])})", ratio <= 1.2,
               f"each pane's headless fetch alone vs all {len(fetches)} at once in threads, {runs} interleaved "
               "runs, medians, one warm Connections, its short-lived caches forgotten before each measure",
               {"alone_s": alone, "together_s": together}),
        Metric("single pane fetch times", "info", detail, None, "medians of the runs above", {"median_s": med}),
    ]
    return metrics, {"alone": med, "together": median(together)}
