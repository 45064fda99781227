"""Frozen views of Services, Events, network policies and the custom resources clusterdeck reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime
from typing import Any

from checks.sources.kube_models import EnvVar, KubeObject, LabelSelector


@dataclass(frozen=True)
class ServicePort:
    """spec.ports[] of a Service."""

    port: int
    """Service port."""
    name: str = ""
    """Port name."""
    target_port: int | str = 0
    """targetPort: a number or a container port name."""
    protocol: str = "TCP"
    """TCP/UDP/SCTP."""
    node_port: int = 0
    """nodePort, 0 when none."""


@dataclass(frozen=True, kw_only=True)
class KubeService(KubeObject):
    """A Service."""

    type: str = "ClusterIP"
    """spec.type."""
    cluster_ip: str = ""
    """spec.clusterIP ('None' for headless)."""
    selector: dict[str, str] = field(default_factory=dict)
    """spec.selector."""
    ports: tuple[ServicePort, ...] = ()
    """spec.ports."""

    @property
    def host(self) -> str:
        """In-cluster DNS name `name.namespace.svc`."""
        return f"{self.name}.{self.namespace}.svc"

    def port_for(self, *candidates: int | str) -> ServicePort | None:
        """The first port matching any candidate number or name, else the first port."""
        for want in candidates:
            for p in self.ports:
                if want in (p.port, p.name):
                    return p
        return self.ports[0] if self.ports else None


@dataclass(frozen=True, kw_only=True)
class KubeEvent(KubeObject):
    """A core/v1 Event."""

    type: str = ""
    """Normal or Warning."""
    reason: str = ""
    """Short reason, e.g. 'Reloaded', 'BackOff'."""
    message: str = ""
    """Human message."""
    involved_kind: str = ""
    """involvedObject.kind."""
    involved_name: str = ""
    """involvedObject.name."""
    count: int = 1
    """How many times it happened."""
    last_seen: datetime | None = None
    """lastTimestamp / eventTime / creationTimestamp."""
    source: str = ""
    """Reporting component."""


@dataclass(frozen=True, kw_only=True)
class KubeNetworkPolicy(KubeObject):
    """A networking.k8s.io/v1 NetworkPolicy or a cilium.io/v2 CiliumNetworkPolicy (kind tells)."""

    pod_selector: LabelSelector = field(default_factory=LabelSelector)
    """podSelector (NetworkPolicy) or endpointSelector (Cilium)."""
    policy_types: tuple[str, ...] = ()
    """Ingress/Egress (NetworkPolicy); derived from the rule sections for Cilium."""
    ingress: tuple[dict[str, Any], ...] = ()
    """Ingress rules as served (plus ingressDeny for Cilium, each tagged `_deny: true`)."""
    egress: tuple[dict[str, Any], ...] = ()
    """Egress rules as served."""


@dataclass(frozen=True, kw_only=True)
class DragonflyInstance(KubeObject):
    """A dragonflydb.io/v1alpha1 Dragonfly (the operator creates a Service of the same name)."""

    phase: str = ""
    """status.phase: Ready, ResourcesCreated, RollingUpdate, Configuring (older: ready, resources-created)."""
    rolling_update: bool = False
    """status.isRollingUpdate."""
    replicas: int = 0
    """spec.replicas."""
    image: str = ""
    """spec.image."""
    args: tuple[str, ...] = field(default=(), repr=False)
    """spec.args (may carry credentials, hence hidden from repr)."""
    env: tuple[EnvVar, ...] = ()
    """spec.env."""
    password_secret: tuple[str, str] | None = None
    """spec.authentication.passwordFromSecret as (name, key)."""
    acl_secret: tuple[str, str] | None = None
    """spec.aclFromSecret as (name, key)."""

    @property
    def ready(self) -> bool:
        """Phase is Ready (either spelling)."""
        return self.phase.lower() == "ready"


@dataclass(frozen=True)
class ManagedRole:
    """One entry of a CNPG Cluster's spec.managed.roles[]."""

    name: str
    """Role name."""
    ensure: str = "present"
    """present | absent."""
    login: bool = False
    """LOGIN attribute (defaults to false in CNPG)."""
    superuser: bool = False
    """SUPERUSER attribute."""
    inherit: bool = True
    """INHERIT attribute."""
    password_secret: str = ""
    """passwordSecret.name ('' when none)."""
    disable_password: bool = False
    """disablePassword: sets the password to NULL."""
    valid_until: str = ""
    """validUntil as written (RFC3339), '' = never expires."""
    connection_limit: int = -1
    """connectionLimit, -1 = unlimited."""
    in_roles: tuple[str, ...] = ()
    """inRoles."""
    comment: str = ""
    """comment."""


@dataclass(frozen=True, kw_only=True)
class CnpgCluster(KubeObject):
    """A postgresql.cnpg.io/v1 Cluster."""

    phase: str = ""
    """status.phase, e.g. 'Cluster in healthy state'."""
    instances: int = 0
    """spec.instances."""
    ready_instances: int = 0
    """status.readyInstances."""
    current_primary: str = ""
    """status.currentPrimary (pod name)."""
    superuser_access: bool = False
    """spec.enableSuperuserAccess: CNPG creates `<name>-superuser` only when true."""
    app_database: str = ""
    """spec.bootstrap.initdb.database."""
    app_owner: str = ""
    """spec.bootstrap.initdb.owner."""
    managed_roles: tuple[ManagedRole, ...] = ()
    """spec.managed.roles."""
    roles_by_status: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """status.managedRolesStatus.byStatus."""
    cannot_reconcile: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """status.managedRolesStatus.cannotReconcile: role -> error texts."""
    password_status: dict[str, tuple[int, str]] = field(default_factory=dict)
    """status.managedRolesStatus.passwordStatus: role -> (transactionID, Secret resourceVersion)."""
    role_secret_versions: dict[str, str] = field(default_factory=dict)
    """status.secretsResourceVersion.managedRoleSecretVersion: Secret name -> resourceVersion."""

    @property
    def rw_service(self) -> str:
        """Name of the read-write Service CNPG creates."""
        return f"{self.name}-rw"

    def role(self, name: str) -> ManagedRole | None:
        """The managed role entry with this name, if declared (the first one when declared twice)."""
        return self._roles_by_name.get(name)

    def status_bucket(self, role: str) -> str:
        """The first status.managedRolesStatus.byStatus bucket listing `role` ('' when none)."""
        return self._bucket_of.get(role, "")

    @cached_property
    def _roles_by_name(self) -> dict[str, ManagedRole]:
        # an index, built once per object: a view judges every role of a cluster with thousands of them
        out: dict[str, ManagedRole] = {}
        for r in self.managed_roles:
            out.setdefault(r.name, r)
        return out

    @cached_property
    def _bucket_of(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for bucket, names in self.roles_by_status.items():
            for n in names:
                out.setdefault(n, bucket)
        return out


@dataclass(frozen=True)
class AlertRule:
    """One rule of a PrometheusRule group."""

    alert: str = ""
    """Alert name ('' for recording rules)."""
    record: str = ""
    """Recorded series name ('' for alerting rules)."""
    expr: str = ""
    """PromQL expression."""
    for_: str = ""
    """`for` duration."""
    labels: dict[str, str] = field(default_factory=dict)
    """Extra labels."""
    annotations: dict[str, str] = field(default_factory=dict)
    """Annotations (summary, description, runbook_url)."""


@dataclass(frozen=True)
class RuleGroup:
    """spec.groups[] of a PrometheusRule."""

    name: str
    """Group name."""
    interval: str = ""
    """Evaluation interval, '' = global default."""
    rules: tuple[AlertRule, ...] = ()
    """Rules in order."""


@dataclass(frozen=True, kw_only=True)
class PrometheusRuleSet(KubeObject):
    """A monitoring.coreos.com/v1 PrometheusRule."""

    groups: tuple[RuleGroup, ...] = ()
    """spec.groups."""

