"""Turn API JSON (camelCase dicts) into the frozen views of kube_models / kube_resources."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Any

from checks.sources.kube_models import (ContainerSpec, EnvFromSource, EnvSource, EnvVar, KubeConfigMap,
                                        KubePod, KubeSecret, KubeWorkload, LabelSelector, OwnerRef,
                                        PodTemplate, VolumeSource, fingerprint)

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
"""kubectl's copy of the applied manifest: on a Secret it holds the values in clear text."""


def d(value: Any) -> dict[str, Any]:
    """`value` if it is a dict, else {} (API objects may omit anything)."""
    return value if isinstance(value, dict) else {}


def lst(value: Any) -> list[Any]:
    """`value` if it is a list, else []."""
    return value if isinstance(value, list) else []


def s(value: Any) -> str:
    """`value` as a string, '' for None."""
    return "" if value is None else str(value)


def i(value: Any, default: int = 0) -> int:
    """`value` as an int, `default` when it is not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def str_map(value: Any) -> dict[str, str]:
    """A label/annotation map with string keys and values."""
    return {str(k): s(v) for k, v in d(value).items()}


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp from the API, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def meta_kwargs(obj: dict[str, Any], kind: str, raw: dict[str, Any] | None = None) -> dict[str, Any]:
    """The KubeObject fields of any object."""
    meta = d(obj.get("metadata"))
    return {"kind": s(obj.get("kind")) or kind, "name": s(meta.get("name")), "namespace": s(meta.get("namespace")),
            "labels": str_map(meta.get("labels")), "annotations": str_map(meta.get("annotations")),
            "resource_version": s(meta.get("resourceVersion")), "uid": s(meta.get("uid")),
            "created": parse_time(meta.get("creationTimestamp")), "raw": obj if raw is None else raw}


def _b64(value: Any) -> bytes:
    try:
        return base64.b64decode(s(value), validate=False)
    except (binascii.Error, ValueError):
        return s(value).encode()


def secret_from(obj: dict[str, Any]) -> KubeSecret:
    """A Secret; its raw copy has values replaced by fingerprints and last-applied removed."""
    data = {str(k): _b64(v) for k, v in d(obj.get("data")).items()}
    # a copy of the parts that change, not a deep copy (a tenth of a full refresh's parsing): the rest holds
    # no value and is never changed
    raw = dict(obj)
    raw["data"] = {k: f"<hidden {fingerprint(v)}>" for k, v in data.items()}
    raw.pop("stringData", None)
    annotations = d(d(raw.get("metadata")).get("annotations"))
    if LAST_APPLIED in annotations:
        raw["metadata"] = {**d(raw.get("metadata")), "annotations": {**annotations, LAST_APPLIED: "<redacted>"}}
    kw = meta_kwargs(raw, "Secret")
    meta = d(obj.get("metadata"))
    times = [t for t in (parse_time(f.get("time")) for f in map(d, lst(meta.get("managedFields")))) if t]
    if kw["created"]:
        times.append(kw["created"])
    return KubeSecret(**kw, type=s(obj.get("type")) or "Opaque", data=data,
                      last_changed=max(times) if times else None)


def configmap_from(obj: dict[str, Any]) -> KubeConfigMap:
    """A ConfigMap."""
    return KubeConfigMap(**meta_kwargs(obj, "ConfigMap"), data=str_map(obj.get("data")),
                         binary_keys=tuple(sorted(d(obj.get("binaryData")))))


def env_from_list(items: Any) -> tuple[EnvVar, ...]:
    """`env` entries, with valueFrom references."""
    out = []
    for e in map(d, lst(items)):
        vf = d(e.get("valueFrom"))
        source = None
        if "secretKeyRef" in vf:
            ref = d(vf["secretKeyRef"])
            source = EnvSource("secret", s(ref.get("name")), s(ref.get("key")), bool(ref.get("optional")))
        elif "configMapKeyRef" in vf:
            ref = d(vf["configMapKeyRef"])
            source = EnvSource("configmap", s(ref.get("name")), s(ref.get("key")), bool(ref.get("optional")))
        elif "fieldRef" in vf:
            source = EnvSource("field", key=s(d(vf["fieldRef"]).get("fieldPath")))
        elif "resourceFieldRef" in vf:
            source = EnvSource("resource", key=s(d(vf["resourceFieldRef"]).get("resource")))
        value = None if source else s(e.get("value"))
        out.append(EnvVar(s(e.get("name")), value, source))
    return tuple(out)


def _env_from_sources(items: Any) -> tuple[EnvFromSource, ...]:
    out = []
    for e in map(d, lst(items)):
        for key, kind in (("secretRef", "secret"), ("configMapRef", "configmap")):
            if key in e:
                ref = d(e[key])
                out.append(EnvFromSource(kind, s(ref.get("name")), s(e.get("prefix")),  # type: ignore[arg-type]
                                         bool(ref.get("optional"))))
    return tuple(out)


def container_from(c: dict[str, Any], init: bool = False) -> ContainerSpec:
    """One container spec."""
    ports = tuple((s(p.get("name")), i(p.get("containerPort"))) for p in map(d, lst(c.get("ports"))))
    return ContainerSpec(name=s(c.get("name")), image=s(c.get("image")),
                         command=tuple(s(x) for x in lst(c.get("command"))),
                         args=tuple(s(x) for x in lst(c.get("args"))), env=env_from_list(c.get("env")),
                         env_from=_env_from_sources(c.get("envFrom")), ports=ports, init=init)


def _volumes(items: Any) -> tuple[VolumeSource, ...]:
    out = []
    for v in map(d, lst(items)):
        vname = s(v.get("name"))
        if "secret" in v:
            ref = d(v["secret"])
            keys = tuple(s(it.get("key")) for it in map(d, lst(ref.get("items"))))
            out.append(VolumeSource(vname, "secret", s(ref.get("secretName")), keys, False, bool(ref.get("optional"))))
        if "configMap" in v:
            ref = d(v["configMap"])
            keys = tuple(s(it.get("key")) for it in map(d, lst(ref.get("items"))))
            out.append(VolumeSource(vname, "configmap", s(ref.get("name")), keys, False, bool(ref.get("optional"))))
        for src in map(d, lst(d(v.get("projected")).get("sources"))):
            for key, kind in (("secret", "secret"), ("configMap", "configmap")):
                if key in src:
                    ref = d(src[key])
                    keys = tuple(s(it.get("key")) for it in map(d, lst(ref.get("items"))))
                    out.append(VolumeSource(vname, kind, s(ref.get("name")), keys, True,  # type: ignore[arg-type]
                                            bool(ref.get("optional"))))
    return tuple(out)


def template_from(spec: Any, meta: Any) -> PodTemplate:
    """A pod spec plus its metadata (labels, annotations)."""
    spec, meta = d(spec), d(meta)
    return PodTemplate(labels=str_map(meta.get("labels")), annotations=str_map(meta.get("annotations")),
                       containers=tuple(container_from(c) for c in map(d, lst(spec.get("containers")))),
                       init_containers=tuple(container_from(c, True) for c in map(d, lst(spec.get("initContainers")))),
                       volumes=_volumes(spec.get("volumes")),
                       service_account=s(spec.get("serviceAccountName") or spec.get("serviceAccount")))


def pod_from(obj: dict[str, Any]) -> KubePod:
    """A Pod with status."""
    status, meta, spec = d(obj.get("status")), d(obj.get("metadata")), d(obj.get("spec"))
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in map(d, lst(status.get("conditions"))))
    started: dict[str, datetime] = {}
    restarts = 0
    for cs in map(d, lst(status.get("containerStatuses"))):
        restarts += i(cs.get("restartCount"))
        t = parse_time(d(d(cs.get("state")).get("running")).get("startedAt"))
        if t:
            started[s(cs.get("name"))] = t
    owners = tuple(OwnerRef(s(o.get("kind")), s(o.get("name")), s(o.get("uid")), bool(o.get("controller")))
                   for o in map(d, lst(meta.get("ownerReferences"))))
    return KubePod(**meta_kwargs(obj, "Pod"), phase=s(status.get("phase")), ready=ready,
                   start_time=parse_time(status.get("startTime")), containers_started=started,
                   restart_count=restarts, owners=owners, pod_ip=s(status.get("podIP")),
                   node_name=s(spec.get("nodeName")), spec=template_from(spec, meta))


def selector_from(value: Any) -> LabelSelector:
    """A LabelSelector from matchLabels/matchExpressions."""
    sel = d(value)
    exprs = tuple((s(e.get("key")), s(e.get("operator")), tuple(s(v) for v in lst(e.get("values"))))
                  for e in map(d, lst(sel.get("matchExpressions"))))
    return LabelSelector(str_map(sel.get("matchLabels")), exprs)


def workload_from(obj: dict[str, Any], kind: str) -> KubeWorkload:
    """A Deployment or StatefulSet."""
    spec, status, meta = d(obj.get("spec")), d(obj.get("status")), d(obj.get("metadata"))
    tmpl = d(spec.get("template"))
    return KubeWorkload(**meta_kwargs(obj, kind), replicas=i(spec.get("replicas"), 1),
                        ready_replicas=i(status.get("readyReplicas")),
                        updated_replicas=i(status.get("updatedReplicas")), generation=i(meta.get("generation")),
                        observed_generation=i(status.get("observedGeneration")),
                        selector=selector_from(spec.get("selector")),
                        template=template_from(tmpl.get("spec"), tmpl.get("metadata")))


def selector_matches(labels: dict[str, str], selector: LabelSelector) -> bool:
    """Kubernetes LabelSelector semantics; an empty selector matches everything."""
    if any(labels.get(k) != v for k, v in selector.match_labels.items()):
        return False
    for key, op, values in selector.match_expressions:
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


_SET_RE = re.compile(r"^\s*(\S+)\s+(in|notin)\s+\((.*)\)\s*$")


def selector_string_matches(labels: dict[str, str], selector: str | None) -> bool:
    """A `label_selector` query string (`a=b,c!=d,e in (x,y),!f,g`) applied locally."""
    if not selector:
        return True
    parts, depth, cur = [], 0, ""
    for ch in selector:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for part in (p.strip() for p in parts if p.strip()):
        m = _SET_RE.match(part)
        if m:
            values = {v.strip() for v in m.group(3).split(",")}
            if (m.group(2) == "in") != (labels.get(m.group(1)) in values):
                return False
        elif "!=" in part:
            k, v = part.split("!=", 1)
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in part:
            k, v = part.replace("==", "=").split("=", 1)
            if labels.get(k.strip()) != v.strip():
                return False
        elif part.startswith("!"):
            if part[1:].strip() in labels:
                return False
        elif part not in labels:
            return False
    return True


def field_selector_matches(obj: dict[str, Any], selector: str | None) -> bool:
    """A `field_selector` query string (`a.b=v,c!=w`: the forms Kubernetes takes) applied locally to a raw object."""
    if not selector:
        return True
    for term in (t.strip() for t in selector.split(",") if t.strip()):
        negated = "!=" in term
        path, value = (s.strip() for s in re.split(r"!=|==|=", term, maxsplit=1))
        cur: Any = obj
        for part in path.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if (("" if cur is None else str(cur)) == value) == negated:
            return False
    return True
