"""Builders for Kubernetes objects complete enough for the official client's strict models.

Every object carries `_resource` (kmock's key, e.g. `v1/secrets`) and `_changed` (the time of
its last change, used to order resourceVersions); `Objects.finish()` strips `_changed`.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import uuid
from typing import Any

NODE = "lab-node-1"


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def short_hash(*parts: str, n: int = 10) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:n])


def env_value(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value}


def env_secret(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


class Objects:
    """Collects objects; assigns uids, IPs and (in finish) resourceVersions ordered by change time."""

    def __init__(self, created: str) -> None:
        self.created = created
        self.items: list[dict[str, Any]] = []
        self._ip = itertools.count(11)

    def ip(self, prefix: str = "10.42.0") -> str:
        return f"{prefix}.{next(self._ip)}"

    def meta(self, ns: str | None, name: str, *, created: str | None = None, labels: dict | None = None,
             annotations: dict | None = None, owner: dict | None = None, changed: str | None = None,
             api_version: str = "v1", fields: dict | None = None) -> dict[str, Any]:
        created = created or self.created
        managed = [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": api_version,
                    "time": created, "fieldsType": "FieldsV1", "fieldsV1": fields or {"f:metadata": {}}}]
        if changed and changed > created:
            managed.append({"manager": "kubectl-edit", "operation": "Update", "apiVersion": api_version,
                            "time": changed, "fieldsType": "FieldsV1", "fieldsV1": fields or {"f:data": {}}})
        meta: dict[str, Any] = {"name": name, "uid": str(uuid.uuid4()), "resourceVersion": "0",
                                "creationTimestamp": created, "labels": dict(labels or {}),
                                "annotations": dict(annotations or {}), "managedFields": managed}
        if ns is not None:
            meta["namespace"] = ns
        if owner is not None:
            meta["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                        "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                        "controller": True, "blockOwnerDeletion": True}]
        return meta

    def add(self, resource: str, obj: dict[str, Any], changed: str | None = None) -> dict[str, Any]:
        obj["_resource"] = resource
        obj["_changed"] = changed or obj["metadata"].get("creationTimestamp", self.created)
        self.items.append(obj)
        return obj

    def finish(self) -> list[dict[str, Any]]:
        """Assign resourceVersions in order of last change; return the objects ready to load."""
        for rv, obj in enumerate(sorted(self.items, key=lambda o: o["_changed"]), start=200001):
            obj["metadata"]["resourceVersion"] = str(rv * 3)
        for obj in self.items:
            obj.pop("_changed", None)
        return self.items

    # -- core objects -------------------------------------------------------------------------

    def namespace(self, name: str) -> dict[str, Any]:
        return self.add("v1/namespaces", {
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": self.meta(None, name, labels={"kubernetes.io/metadata.name": name}),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})

    def secret(self, ns: str, name: str, data: dict[str, str], *, changed: str, type_: str = "Opaque",
               labels: dict | None = None) -> dict[str, Any]:
        fields = {"f:data": {f"f:{k}": {} for k in data}, "f:type": {}}
        return self.add("v1/secrets", {
            "apiVersion": "v1", "kind": "Secret", "type": type_,
            "metadata": self.meta(ns, name, labels=labels, changed=changed, fields=fields),
            "data": {k: b64(v) for k, v in data.items()}}, changed)

    def configmap(self, ns: str, name: str, data: dict[str, str], *, changed: str,
                  labels: dict | None = None) -> dict[str, Any]:
        fields = {"f:data": {f"f:{k}": {} for k in data}}
        return self.add("v1/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": self.meta(ns, name, labels=labels, changed=changed, fields=fields), "data": data}, changed)

    def service(self, ns: str, name: str, ports: dict[str, int], selector: dict[str, str],
                pod: dict[str, Any] | None = None) -> dict[str, Any]:
        svc = self.add("v1/services", {
            "apiVersion": "v1", "kind": "Service",
            "metadata": self.meta(ns, name, labels=dict(selector)),
            "spec": {"type": "ClusterIP", "clusterIP": self.ip("10.43.0"), "selector": selector,
                     "ports": [{"name": p, "port": n, "targetPort": n, "protocol": "TCP"}
                               for p, n in ports.items()], "sessionAffinity": "None"},
            "status": {"loadBalancer": {}}})
        subsets = []
        if pod is not None:
            subsets = [{"addresses": [{"ip": pod["status"]["podIP"], "nodeName": NODE, "targetRef": {
                "kind": "Pod", "namespace": ns, "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}}],
                "ports": [{"name": p, "port": n, "protocol": "TCP"} for p, n in ports.items()]}]
        self.add("v1/endpoints", {"apiVersion": "v1", "kind": "Endpoints",
                                  "metadata": self.meta(ns, name, labels=dict(selector)), "subsets": subsets})
        return svc

    def pod(self, ns: str, name: str, *, labels: dict, containers: list[dict], started: str,
            owner: dict | None = None, annotations: dict | None = None) -> dict[str, Any]:
        statuses = []
        for c in containers:
            digest = hashlib.sha256(c["image"].encode()).hexdigest()
            statuses.append({"name": c["name"], "image": c["image"], "imageID": f"{c['image'].split(':')[0]}@sha256:{digest}",
                             "ready": True, "started": True, "restartCount": 0,
                             "containerID": f"containerd://{short_hash(ns, name, c['name'], n=32)}",
                             "state": {"running": {"startedAt": started}}, "lastState": {}})
        cond = [{"type": t, "status": "True", "lastTransitionTime": started, "lastProbeTime": None}
                for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": self.meta(ns, name, created=started, labels=labels, annotations=annotations, owner=owner),
               "spec": {"containers": containers, "nodeName": NODE, "restartPolicy": "Always",
                        "dnsPolicy": "ClusterFirst", "serviceAccountName": "default",
                        "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler"},
               "status": {"phase": "Running", "conditions": cond, "hostIP": "10.0.0.10",
                          "podIP": self.ip(), "startTime": started, "qosClass": "Burstable",
                          "containerStatuses": statuses}}
        pod["status"]["podIPs"] = [{"ip": pod["status"]["podIP"]}]
        return self.add("v1/pods", pod, started)

    # -- workloads ------------------------------------------------------------------------------

    def _template(self, labels: dict, containers: list[dict], annotations: dict | None) -> dict[str, Any]:
        return {"metadata": {"labels": dict(labels), "annotations": dict(annotations or {})},
                "spec": {"containers": containers, "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}}

    def deployment(self, ns: str, name: str, *, containers: list[dict], started: str,
                   annotations: dict | None = None, template_annotations: dict | None = None,
                   labels: dict | None = None) -> dict[str, Any]:
        labels = {"app": name, "app.kubernetes.io/name": name, **(labels or {})}
        ann = {"deployment.kubernetes.io/revision": "1", **(annotations or {})}
        dep = self.add("apps/v1/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {**self.meta(ns, name, labels=labels, annotations=ann, api_version="apps/v1"), "generation": 1},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": self._template(labels, containers, template_annotations),
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                     "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
            "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "availableReplicas": 1,
                       "updatedReplicas": 1, "conditions": [
                           {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                            "lastUpdateTime": started, "lastTransitionTime": started},
                           {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                            "lastUpdateTime": started, "lastTransitionTime": started}]}}, started)
        pth = short_hash(ns, name, started)
        rs_labels = {**labels, "pod-template-hash": pth}
        rs = self.add("apps/v1/replicasets", {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {**self.meta(ns, f"{name}-{pth}", created=started, labels=rs_labels, owner=dep,
                                     annotations={"deployment.kubernetes.io/revision": "1"},
                                     api_version="apps/v1"), "generation": 1},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name, "pod-template-hash": pth}},
                     "template": self._template(rs_labels, containers, template_annotations)},
            "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "fullyLabeledReplicas": 1,
                       "observedGeneration": 1}}, started)
        self.pod(ns, f"{name}-{pth}-{short_hash(ns, name, 'pod', n=5)}", labels=rs_labels,
                 containers=containers, started=started, owner=rs, annotations=template_annotations)
        return dep

    def statefulset(self, ns: str, name: str, *, containers: list[dict], started: str, labels: dict,
                    owner: dict | None = None, annotations: dict | None = None) -> tuple[dict, dict]:
        sts = self.add("apps/v1/statefulsets", {
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {**self.meta(ns, name, labels=labels, owner=owner, annotations=annotations,
                                     api_version="apps/v1"), "generation": 1},
            "spec": {"replicas": 1, "serviceName": name, "selector": {"matchLabels": dict(labels)},
                     "template": self._template(labels, containers, None), "podManagementPolicy": "OrderedReady",
                     "updateStrategy": {"type": "RollingUpdate"}},
            "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "currentReplicas": 1,
                       "updatedReplicas": 1, "availableReplicas": 1,
                       "currentRevision": f"{name}-{short_hash(ns, name)}",
                       "updateRevision": f"{name}-{short_hash(ns, name)}"}}, started)
        pod_labels = {**labels, "statefulset.kubernetes.io/pod-name": f"{name}-0",
                      "controller-revision-hash": f"{name}-{short_hash(ns, name)}"}
        pod = self.pod(ns, f"{name}-0", labels=pod_labels, containers=containers, started=started, owner=sts)
        return sts, pod

    def custom(self, resource: str, kind: str, ns: str, name: str, spec: dict, status: dict | None = None,
               labels: dict | None = None, changed: str | None = None) -> dict[str, Any]:
        api_version = resource.rsplit("/", 1)[0]
        obj = {"apiVersion": api_version, "kind": kind,
               "metadata": {**self.meta(ns, name, labels=labels, api_version=api_version, changed=changed,
                                        fields={"f:spec": {}}), "generation": 1}, "spec": spec}
        if status is not None:
            obj["status"] = status
        return self.add(resource, obj, changed)
