"""Full refresh: each pane's fetch alone, then every pane's fetch at once (as the app's workers run them).

Also the CPU each process spends on one full refresh (clusterdeck, and the lab's servers: its Python daemon
answering as the Kubernetes API (kmock) and as S3/IAM (moto), Redis, PostgreSQL, Prometheus, Alertmanager),
read from /proc: on a loopback lab every answer costs CPU on the same cores, which bounds how fast the
refresh can be on this machine whatever the concurrency.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from bench.common import Metric, lab_conns, median, ms, timed
from bench.roundtrips import PANES, pane_fetch
from checks.tasks import Tasks


def _tree_cpu(groups: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) of each lab process group: its leader and every descendant alive now."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry))
    out = {}
    for name, pid in groups.items():
        total, todo = 0.0, [pid]
        while todo:
            p = todo.pop()
            if p in stats:
                total += (int(stats[p][11]) + int(stats[p][12])) / tick
            todo += children.get(p, [])
        out[name] = total
    return out


def _lab_groups(state: dict[str, Any]) -> dict[str, int]:
    try:
        groups = json.loads((Path(state["dir"]) / "procs.json").read_text()).get("groups", {})
    except (OSError, ValueError, KeyError):
        return {}
    return {str(k): int(v) for k, v in groups.items() if isinstance(v, int)}


def _all_panes(conns: Any, fetches: dict[str, Any]) -> None:
    with Tasks(max_workers=len(fetches)) as pool:
        for f in [pool.submit(fetch, conns) for fetch in fetches.values()]:
            f.result()


def _alone_and_together(conns: Any, fetches: dict[str, Any], runs: int) -> tuple[dict[str, list[float]], list[float]]:
    """Each pane's fetch alone and all at once, `runs` times, interleaved so that noise hits both alike."""
    for fetch in fetches.values():  # warm: imports, kube client, caches the app also keeps
        fetch(conns)
    alone: dict[str, list[float]] = {p: [] for p in fetches}
    together: list[float] = []
    for _ in range(runs):
        for pane, fetch in fetches.items():
            conns.forget_cached()  # each measure reads the cluster afresh (as `r` does), not the last one's answers
            alone[pane].append(timed(lambda: fetch(conns))[0])
        conns.forget_cached()
        together.append(timed(lambda: _all_panes(conns, fetches))[0])
    return alone, together


def measure(state: dict[str, Any], runs: int = 5) -> tuple[list[Metric], dict[str, Any]]:
    conns = lab_conns(state)
    fetches = {pane: pane_fetch(pane) for pane in PANES}
    alone, together = _alone_and_together(conns, fetches, runs)
    # CPU of one full refresh, per process, over more runs (the /proc counters tick every 10 ms)
    groups = _lab_groups(state)
    cpu_runs = max(20, 4 * runs)
    lab_before, ours_before = _tree_cpu(groups), time.process_time()
    for _ in range(cpu_runs):
        conns.forget_cached()
        _all_panes(conns, fetches)
    ours = (time.process_time() - ours_before) / cpu_runs
    lab_after = _tree_cpu(groups)
    lab = {name: (lab_after[name] - lab_before[name]) / cpu_runs for name in groups}
    conns.close()
    med = {p: median(v) for p, v in alone.items()}
    slowest = max(med, key=lambda p: med[p])
    ratio = median(together) / med[slowest]
    cores = os.cpu_count() or 1
    total = ours + sum(lab.values())
    floor = max(ours, total / cores)  # our fetch threads share one GIL; everything shares the cores
    detail = ", ".join(f"{p} {ms(v)}" for p, v in sorted(med.items(), key=lambda kv: -kv[1]))
    per_process = ", ".join(f"{name} {ms(v)}" for name, v in sorted(lab.items(), key=lambda kv: -kv[1]))
    metrics = [
        Metric("full refresh of all panes (concurrent)", "≤ 1.2× slowest single source",
               f"{ratio:.2f}× ({ms(median(together))} vs {slowest} {ms(med[slowest])})", ratio <= 1.2,
               f"each pane's headless fetch alone vs all {len(fetches)} at once in threads, {runs} interleaved "
               "runs, medians, one warm Connections, its short-lived caches forgotten before each measure",
               {"alone_s": alone, "together_s": together}),
        Metric("single pane fetch times", "info", detail, None, "medians of the runs above", {"median_s": med}),
        Metric("CPU of one full refresh, by process", "info",
               f"clusterdeck {ms(ours)}; lab: {per_process}; total {ms(total)} on {cores} cores: no full refresh "
               f"can take less than {ms(floor)} here ({floor / med[slowest]:.2f}× the slowest pane)", None,
               f"user+system CPU over {cpu_runs} full refreshes, from /proc (each lab process group with its "
               "children) and process_time(); the bound is the larger of clusterdeck's CPU (its threads share "
               "one GIL) and the total over the cores",
               {"clusterdeck_s": ours, "lab_s": lab, "floor_s": floor}),
    ]
    return metrics, {"alone": med, "together": median(together), "cpu": {"clusterdeck": ours, **lab}}


def secret_list(state: dict[str, Any], runs: int = 7) -> list[Metric]:
    """The all-namespace Secret list every refresh makes (the Overview, the CNPG and RustFS panes share it), as
    clusterdeck asks it (Helm's release records left on the server by a field selector) and without the
    selector: bytes and time of the answer, from the lab's Kubernetes API over HTTP."""
    import urllib.parse
    import urllib.request

    from checks.sources.kube_lists import NOT_HELM_RELEASES

    base = f"http://127.0.0.1:{state['kube']['port']}/api/v1/secrets"
    urls = {"selected": f"{base}?fieldSelector={urllib.parse.quote(NOT_HELM_RELEASES)}", "unfiltered": base}
    size: dict[str, int] = {}
    took: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(runs):
        for name, url in urls.items():
            elapsed, body = timed(lambda url=url: urllib.request.urlopen(url, timeout=10).read())
            took[name].append(elapsed)
            size[name] = len(body)
    ours, plain = (median(took[n]) for n in urls)
    kb = {n: size[n] / 1024 for n in urls}
    return [Metric("Secret list of all namespaces (Helm's release records left on the server)", "info",
                   f"{kb['selected']:.0f} KB in {ms(ours)}, against {kb['unfiltered']:.0f} KB in {ms(plain)} "
                   "unfiltered", None,
                   f"GET /api/v1/secrets with and without fieldSelector={NOT_HELM_RELEASES}, {runs} interleaved runs, "
                   "medians; the lab holds each Helm-installed app's last revisions as real clusters do",
                   {"bytes": size, "s": took})]


def measure_remote(state: dict[str, Any], delay: float = 0.02, runs: int = 3) -> tuple[list[Metric], dict[str, Any]]:
    """The same refresh with every round trip to the lab's servers held `delay` seconds by a proxy, as to a
    remote cluster: there the chains of requests that wait on each other, not the CPU, make the time. A pane's
    time over `delay` is about the number of round trips on its longest chain."""
    from bench.roundtrips import ProxiedLab

    lab = ProxiedLab(state, delay)
    conns = lab.conns()
    try:
        alone, together = _alone_and_together(conns, {pane: pane_fetch(pane) for pane in PANES}, runs)
    finally:
        conns.close()
        lab.close()
    med = {p: median(v) for p, v in alone.items()}
    slowest = max(med, key=lambda p: med[p])
    ratio = median(together) / med[slowest]
    chains = ", ".join(f"{p} {v / delay:.1f}" for p, v in sorted(med.items(), key=lambda kv: -kv[1]))
    return [Metric(f"full refresh over {ms(delay)} round trips (a remote cluster)", "info",
                   f"{ratio:.2f}× ({ms(median(together))} vs {slowest} {ms(med[slowest])}); round trips on each "
                   f"pane's longest chain: {chains}", None,
                   f"as the full refresh above, {runs} interleaved runs, every request to the lab's servers held "
                   f"{ms(delay)} by a proxy; a chain's length is the pane's median time alone over {ms(delay)}",
                   {"alone_s": alone, "together_s": together, "delay_s": delay})], {"alone": med,
                                                                                    "together": median(together)}
