"""Which pane and flow explains an alert: the alert → pane link table (headless)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CNPG_SAMPLE_ALERTS = frozenset((
    "LongRunningTransaction", "BackendsWaiting", "PGDatabaseXidAge", "PGReplication", "LastFailedArchiveTime",
    "DatabaseDeadlockConflicts", "ReplicaFailingReplication"))
"""Alert names of CloudNativePG's sample PrometheusRule (docs/src/samples/monitoring/prometheusrule.yaml)."""

_POD_ORDINAL = re.compile(r"^(?P<cluster>.+)-\d+$")


@dataclass(frozen=True)
class AlertLink:
    """Where one key (enter / `g`) takes the on-call engineer for an alert."""

    pane: str
    """Target mode: dragonfly | cnpg | triage | detail (detail = this pane's label view)."""
    args: tuple[tuple[str, Any], ...] = ()
    """Keyword arguments for the target screen's `focus_on`, as sorted pairs (hashable)."""
    label: str = ""
    """Human description of the target, e.g. 'Dragonfly › memory'."""
    flow: str = ""
    """Flow step that explains the alert, e.g. 'D11 memory headroom', '' when none."""

    @property
    def kwargs(self) -> dict[str, Any]:
        """`args` as the dict `app.open_pane(pane, **kwargs)` takes."""
        return dict(self.args)

    @property
    def known(self) -> bool:
        """True when the alert links to another pane (not just its own detail view)."""
        return self.pane != "detail"


DETAIL = AlertLink("detail", (), "alert details (labels and annotations)", "")


def _link(pane: str, label: str, step: str = "", **kwargs: Any) -> AlertLink:
    return AlertLink(pane, tuple(sorted(kwargs.items())), label, step)


def is_dragonfly_alert(name: str, labels: Mapping[str, str]) -> bool:
    """A Dragonfly alert by its name, or by the job / service / container it fired for."""
    if name.lower().startswith("dragonfly"):
        return True
    return any("dragonfly" in labels.get(k, "").lower() for k in ("job", "service", "container"))


def cnpg_subject(labels: Mapping[str, str], clusters: Iterable[tuple[str, str]] = ()) -> str:
    """`namespace/cluster` of the CNPG cluster an alert is about, '' when it cannot be told.

    Tries the `cnpg_io_cluster` and `cluster` labels, then the `pod` label without its ordinal
    (`ai-postgres-2` → `ai-postgres`). With a known cluster list only listed clusters count (the
    `cluster` label is often Prometheus's external label naming the Kubernetes cluster).
    """
    ns = labels.get("namespace", "")
    known = {(n, c) for n, c in clusters}
    candidates = [labels.get("cnpg_io_cluster", ""), labels.get("cluster", "")]
    match = _POD_ORDINAL.match(labels.get("pod", ""))
    if match:
        candidates.append(match.group("cluster"))
    for name in (c for c in candidates if c):
        if (ns, name) in known:
            return f"{ns}/{name}"
    if known or not ns:
        return ""
    # No cluster list (kube unreachable): trust the explicit label, then the pod name.
    for name in (labels.get("cnpg_io_cluster", ""), match.group("cluster") if match else ""):
        if name:
            return f"{ns}/{name}"
    return ""


def is_cnpg_alert(name: str, labels: Mapping[str, str], clusters: Iterable[tuple[str, str]] = ()) -> bool:
    """A CNPG alert: `cnpg_*` / `CNPG*` names, CNPG's sample rule names, or labels of a known cluster."""
    if name.lower().startswith("cnpg") or name in CNPG_SAMPLE_ALERTS:
        return True
    if "cnpg_io_cluster" in labels:
        return True
    clusters = tuple(clusters)
    return bool(clusters) and bool(cnpg_subject(labels, clusters))


def link_for(name: str, labels: Mapping[str, str], clusters: Iterable[tuple[str, str]] = ()) -> AlertLink:
    """The pane and flow that explain an alert; `clusters` = known CNPG (namespace, name) pairs."""
    clusters = tuple(clusters)
    if name == "DragonflyMemoryHigh":
        return _link("dragonfly", "Dragonfly › memory", "D11 memory headroom (DF_OOM)", tab="memory")
    if name == "DragonflyDown":
        return _link("triage", "Triage › Dragonfly flow", "D1 server reachable (DF_UNREACHABLE)",
                     flow="dragonfly", run=False)
    if is_dragonfly_alert(name, labels):
        return _link("dragonfly", "Dragonfly", "")
    if is_cnpg_alert(name, labels, clusters):
        subject = cnpg_subject(labels, clusters)
        if subject:
            return _link("cnpg", f"CNPG › {subject}", "", subject=subject)
        return _link("cnpg", "CNPG", "")
    return DETAIL
