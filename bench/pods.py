"""A cluster with many pods: 5,000 more pods in the lab's Kubernetes API, and each pane's headless fetch alone
before and after (the panes that read pods: the Overview counts them, the Dragonfly pane maps its clients'
addresses to pods, the CNPG pane judges its consumers' pods). Not one of the issue's scale figures: large
clusters have thousands of pods, which no pane should have to fetch and parse on each refresh. The pods are
copies of the lab's own (the same size and shape) in 50 namespaces of their own, removed afterwards."""

from __future__ import annotations

import copy
import json
import urllib.request
from typing import Any

from bench.common import Metric, lab_conns, median, ms, timed
from bench.roundtrips import pane_fetch

PODS = 5000
PANES = ("overview", "dragonfly", "cnpg")


def _bulk(kube_url: str, n: int) -> tuple[list[dict[str, Any]], int]:
    """`n` pods copied from the lab's (new names, namespaces and IPs), and the size of one in JSON."""
    with urllib.request.urlopen(f"{kube_url}/api/v1/pods", timeout=30) as resp:
        base = [p for p in json.loads(resp.read())["items"] if p.get("status", {}).get("podIP")]
    out = []
    for i in range(n):
        pod = copy.deepcopy(base[i % len(base)])
        meta = pod["metadata"]
        meta.update(namespace=f"bulk-{i % 50}", name=f"{meta['name']}-bulk-{i}", uid=f"bulk-{i}")
        pod["status"]["podIP"] = f"10.{200 + i // 62500}.{(i // 250) % 250}.{i % 250 + 1}"
        pod["status"]["podIPs"] = [{"ip": pod["status"]["podIP"]}]
        out.append({**pod, "_resource": "v1/pods"})
    return out, len(json.dumps(base[0]))


def _unload(kube_url: str, pods: list[dict[str, Any]]) -> None:
    keys = [["v1/pods", p["metadata"]["namespace"], p["metadata"]["name"]] for p in pods]
    req = urllib.request.Request(f"{kube_url}/_lab/unload", data=json.dumps(keys).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        resp.read()


def _alone(conns: Any, runs: int) -> dict[str, float]:
    out = {}
    for pane in PANES:
        fetch = pane_fetch(pane)
        fetch(conns)
        times = []
        for _ in range(runs):
            conns.forget_cached()  # a reload reads the cluster again
            times.append(timed(lambda: fetch(conns))[0])
        out[pane] = median(times)
    return out


def measure(state: dict[str, Any], runs: int = 5) -> tuple[list[Metric], dict[str, Any]]:
    from lab.files import load_objects

    url = state["kube"]["url"]
    conns = lab_conns(state)
    try:
        before = _alone(conns, runs)
        pods, size = _bulk(url, PODS)
        load_objects(url, pods)
        try:
            after = _alone(conns, runs)
        finally:
            _unload(url, pods)
    finally:
        conns.close()
    value = ", ".join(f"{p} {ms(before[p])} → {ms(after[p])}" for p in PANES)
    return [Metric(f"panes with {PODS:,} more pods in the cluster", "info", value, None,
                   f"each pane's headless fetch alone, median of {runs} runs, on the lab and then with {PODS:,} "
                   f"copies of its pods (~{size / 1024:.0f} KB of JSON each) in 50 more namespaces; no pane lists "
                   "every pod (the Overview counts them from a list of one, client addresses are looked up by "
                   "status.podIP)", {"before_s": before, "after_s": after, "pods": PODS})], {"before": before,
                                                                                            "after": after}
