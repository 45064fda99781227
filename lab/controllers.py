"""Tiny stand-ins for the controllers a write would wake up in a real cluster, so that a fix
applied through the lab's Kubernetes API has a visible effect:

- a Deployment/StatefulSet whose `spec.template` changes (e.g. `kubectl rollout restart`)
  gets fresh pods (new name for Deployments, new start time, the new template's containers);
- Reloader: a Secret whose data changes restarts the workloads annotated
  `reloader.stakater.com/auto: "true"` that reference it;
- a Secret written with `stringData` has it folded into base64 `data`, as the API server does.

The CNPG operator is NOT simulated: a patched role Secret does not change PostgreSQL.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import uuid
from typing import Any, Iterator

from lab.k8s import short_hash

RELOADER_KEYS = ("reloader.stakater.com/auto", "secret.reloader.stakater.com/auto")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _live(kube: Any, plural: str, ns: str | None = None) -> Iterator[tuple[tuple, Any]]:
    for key, obj in list(kube.objects.items()):
        res = key[0]
        if res.plural == plural and (ns is None or key[1] == ns) and not obj.deleted:
            yield key, obj


def fold_string_data(kube: Any, key: tuple) -> None:
    obj = kube.objects[key]
    raw = obj.raw
    if raw.get("stringData"):
        data = dict(raw.get("data") or {})
        data.update({k: base64.b64encode(str(v).encode()).decode() for k, v in raw["stringData"].items()})
        obj.patch({"data": data, "stringData": None})


def _owned_pods(kube: Any, workload: dict[str, Any]) -> list[tuple[tuple, Any]]:
    ns = workload["metadata"]["namespace"]
    owners = {workload["metadata"]["uid"]}
    if workload["kind"] == "Deployment":
        owners |= {rs.raw["metadata"]["uid"] for _, rs in _live(kube, "replicasets", ns)
                   if any(r.get("uid") == workload["metadata"]["uid"]
                          for r in rs.raw["metadata"].get("ownerReferences") or [])}
    return [(k, p) for k, p in _live(kube, "pods", ns)
            if any(r.get("uid") in owners for r in p.raw["metadata"].get("ownerReferences") or [])]


def restart_workload(kube: Any, key: tuple) -> list[str]:
    """Replace the workload's pods by fresh ones from its current template; returns the new names."""
    workload = kube.objects[key].raw
    template = workload["spec"]["template"]
    now = _now()
    names = []
    for pod_key, pod in _owned_pods(kube, workload):
        new = copy.deepcopy(pod.raw)
        meta = new["metadata"]
        if workload["kind"] == "Deployment":
            base = meta["name"].rsplit("-", 1)[0]
            meta["name"] = f"{base}-{short_hash(base, now, str(uuid.uuid4()), n=5)}"
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=now, resourceVersion=kube.next_rv())
        meta["annotations"] = {**(meta.get("annotations") or {}), **(template["metadata"].get("annotations") or {})}
        meta.pop("managedFields", None)
        new["spec"]["containers"] = copy.deepcopy(template["spec"]["containers"])
        new["status"]["startTime"] = now
        for cs in new["status"].get("containerStatuses") or []:
            cs.update(restartCount=0, state={"running": {"startedAt": now}}, lastState={})
        for cond in new["status"].get("conditions") or []:
            cond["lastTransitionTime"] = now
        kube.objects[pod_key].delete()
        kube.objects["v1/pods", meta["namespace"], meta["name"]] = new
        names.append(meta["name"])
    return names


def _references(workload: dict[str, Any], secret: str) -> bool:
    spec = workload["spec"]["template"]["spec"]
    for c in spec.get("containers") or []:
        for e in c.get("env") or []:
            if ((e.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name") == secret:
                return True
        for f in c.get("envFrom") or []:
            if (f.get("secretRef") or {}).get("name") == secret:
                return True
    return any((v.get("secret") or {}).get("secretName") == secret for v in spec.get("volumes") or [])


def after_update(kube: Any, key: tuple, body: dict[str, Any]) -> None:
    """Called by the API after an update (create/patch/replace) of the object at `key`."""
    res = key[0]
    if res.plural == "secrets":
        fold_string_data(kube, key)
        if "data" in body or "stringData" in body:
            for plural in ("deployments", "statefulsets"):
                for wkey, wl in _live(kube, plural, key[1]):
                    ann = wl.raw["metadata"].get("annotations") or {}
                    if any(ann.get(a) == "true" for a in RELOADER_KEYS) and _references(wl.raw, key[2]):
                        restart_workload(kube, wkey)
    elif res.plural in ("deployments", "statefulsets") and "template" in (body.get("spec") or {}):
        restart_workload(kube, key)
