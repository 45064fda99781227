"""Frozen views of core Kubernetes objects, as KubeSource returns them (no client imports here).

Secret and ConfigMap values are kept out of every repr; show `fingerprint()` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from checks.redact import fingerprint  # noqa: F401 - re-exported: one display form of a secret everywhere


@dataclass(frozen=True, kw_only=True)
class KubeObject:
    """Metadata every object view carries."""

    kind: str
    """Kubernetes kind, e.g. 'Secret', 'Deployment', 'Dragonfly'."""
    name: str
    """metadata.name."""
    namespace: str = ""
    """metadata.namespace ('' for cluster-scoped objects)."""
    labels: dict[str, str] = field(default_factory=dict)
    """metadata.labels."""
    annotations: dict[str, str] = field(default_factory=dict)
    """metadata.annotations (kubectl's last-applied-configuration is redacted on Secrets)."""
    resource_version: str = ""
    """metadata.resourceVersion: changes on every write."""
    uid: str = ""
    """metadata.uid."""
    created: datetime | None = None
    """metadata.creationTimestamp."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The object as the API served it (camelCase JSON), for detail views; Secret data is redacted."""

    @property
    def ref(self) -> str:
        """`namespace/name`, or just the name for cluster-scoped objects."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, kw_only=True)
class KubeSecret(KubeObject):
    """A Secret with its values decoded to bytes (never shown in repr)."""

    type: str = "Opaque"
    """Secret type, e.g. 'Opaque', 'kubernetes.io/basic-auth'."""
    data: dict[str, bytes] = field(default_factory=dict, repr=False)
    """Decoded .data values, byte-exact (a trailing newline stays)."""
    last_changed: datetime | None = None
    """max(managedFields[].time, creationTimestamp): the best known time of the last write."""

    @property
    def keys(self) -> tuple[str, ...]:
        """Sorted key names (safe to show)."""
        return tuple(sorted(self.data))

    def value(self, key: str) -> bytes | None:
        """Raw bytes of one key, or None when the key is absent."""
        return self.data.get(key)

    def text(self, key: str) -> str | None:
        """One key decoded as UTF-8 (undecodable bytes kept via surrogateescape), or None."""
        raw = self.data.get(key)
        return None if raw is None else raw.decode("utf-8", "surrogateescape")

    def fingerprint(self, key: str | None = None) -> str:
        """Fingerprint of one key's value, or of all `key=value` pairs when key is None."""
        if key is not None:
            return fingerprint(self.data.get(key))
        joined = b";".join(k.encode() + b"=" + v for k, v in sorted(self.data.items()))
        return fingerprint(joined)


@dataclass(frozen=True, kw_only=True)
class KubeConfigMap(KubeObject):
    """A ConfigMap; values hidden from repr because ACL files and the like carry passwords."""

    data: dict[str, str] = field(default_factory=dict, repr=False)
    """.data values."""
    binary_keys: tuple[str, ...] = ()
    """Keys present in .binaryData (values not decoded)."""

    def fingerprint(self, key: str) -> str:
        """Fingerprint of one key's value."""
        return fingerprint(self.data.get(key))


@dataclass(frozen=True)
class EnvSource:
    """Where an env var's value comes from when it is not a literal (`valueFrom`)."""

    kind: Literal["secret", "configmap", "field", "resource"]
    """secretKeyRef, configMapKeyRef, fieldRef or resourceFieldRef."""
    name: str = ""
    """Secret/ConfigMap name (empty for field/resource refs)."""
    key: str = ""
    """Key in the Secret/ConfigMap, the fieldPath, or the resource name."""
    optional: bool = False
    """`optional: true` on the reference."""


@dataclass(frozen=True)
class EnvVar:
    """One `env` entry of a container."""

    name: str
    """Variable name."""
    value: str | None = field(default=None, repr=False)
    """Literal value (may itself be a password, hence hidden), or None when `value_from` is set."""
    value_from: EnvSource | None = None
    """The valueFrom reference, if any."""


@dataclass(frozen=True)
class EnvFromSource:
    """One `envFrom` entry: every key of a Secret/ConfigMap becomes a variable."""

    kind: Literal["secret", "configmap"]
    """secretRef or configMapRef."""
    name: str
    """Secret/ConfigMap name."""
    prefix: str = ""
    """Prefix prepended to every key."""
    optional: bool = False
    """`optional: true` on the reference."""


@dataclass(frozen=True)
class VolumeSource:
    """A pod volume that mounts a Secret or ConfigMap (directly or through a projected volume)."""

    volume: str
    """Volume name in the pod spec."""
    kind: Literal["secret", "configmap"]
    """What it mounts."""
    name: str
    """Secret/ConfigMap name."""
    keys: tuple[str, ...] = ()
    """Keys selected by `items` (empty = all keys)."""
    projected: bool = False
    """True when the reference sits inside a projected volume."""
    optional: bool = False
    """`optional: true` on the reference."""


@dataclass(frozen=True)
class ContainerSpec:
    """The parts of a container that matter for credentials."""

    name: str
    """Container name."""
    image: str = ""
    """Image reference."""
    command: tuple[str, ...] = ()
    """Entrypoint override."""
    args: tuple[str, ...] = field(default=(), repr=False)
    """Arguments (may carry credentials, hence hidden from repr)."""
    env: tuple[EnvVar, ...] = ()
    """`env` entries in order."""
    env_from: tuple[EnvFromSource, ...] = ()
    """`envFrom` entries in order."""
    ports: tuple[tuple[str, int], ...] = ()
    """(port name, containerPort) pairs."""
    init: bool = False
    """True for an init container."""


@dataclass(frozen=True)
class PodTemplate:
    """A pod spec with its metadata: a Pod itself or a workload's template."""

    labels: dict[str, str] = field(default_factory=dict)
    """Template labels."""
    annotations: dict[str, str] = field(default_factory=dict)
    """Template annotations (Reloader's `last-reloaded-from` lands here)."""
    containers: tuple[ContainerSpec, ...] = ()
    """Regular containers."""
    init_containers: tuple[ContainerSpec, ...] = ()
    """Init containers."""
    volumes: tuple[VolumeSource, ...] = ()
    """Volumes that reference Secrets or ConfigMaps."""
    service_account: str = ""
    """serviceAccountName."""

    @property
    def all_containers(self) -> tuple[ContainerSpec, ...]:
        """Regular containers first, then init containers."""
        return self.containers + self.init_containers


@dataclass(frozen=True)
class OwnerRef:
    """metadata.ownerReferences[]."""

    kind: str
    """Owner kind, e.g. 'ReplicaSet'."""
    name: str
    """Owner name."""
    uid: str = ""
    """Owner uid."""
    controller: bool = False
    """True for the managing controller."""


@dataclass(frozen=True, kw_only=True)
class KubePod(KubeObject):
    """A Pod with its status."""

    phase: str = ""
    """status.phase: Pending, Running, Succeeded, Failed, Unknown."""
    ready: bool = False
    """The Ready condition is True."""
    start_time: datetime | None = None
    """status.startTime (when the kubelet accepted the pod)."""
    containers_started: dict[str, datetime] = field(default_factory=dict)
    """Container name -> state.running.startedAt, for running containers."""
    restart_count: int = 0
    """Sum of container restart counts."""
    owners: tuple[OwnerRef, ...] = ()
    """Owner references."""
    pod_ip: str = ""
    """status.podIP."""
    node_name: str = ""
    """spec.nodeName."""
    spec: PodTemplate = field(default_factory=PodTemplate)
    """Containers, env, envFrom and Secret volumes."""

    @property
    def started_at(self) -> datetime | None:
        """When the oldest running container started (it read its env then), else startTime."""
        return min(self.containers_started.values()) if self.containers_started else self.start_time


@dataclass(frozen=True)
class LabelSelector:
    """A workload or policy selector."""

    match_labels: dict[str, str] = field(default_factory=dict)
    """matchLabels."""
    match_expressions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    """(key, operator, values) from matchExpressions."""


@dataclass(frozen=True, kw_only=True)
class KubeWorkload(KubeObject):
    """A Deployment or StatefulSet."""

    replicas: int = 0
    """spec.replicas."""
    ready_replicas: int = 0
    """status.readyReplicas."""
    updated_replicas: int = 0
    """status.updatedReplicas."""
    generation: int = 0
    """metadata.generation."""
    observed_generation: int = 0
    """status.observedGeneration."""
    selector: LabelSelector = field(default_factory=LabelSelector)
    """spec.selector."""
    template: PodTemplate = field(default_factory=PodTemplate)
    """spec.template."""

    @property
    def short_ref(self) -> str:
        """kubectl-style `deploy/name` or `sts/name`."""
        return f"{'sts' if self.kind == 'StatefulSet' else 'deploy'}/{self.name}"
