"""Plain results of Connections: discovered services and admin endpoints with their credentials."""

from __future__ import annotations

from dataclasses import dataclass, field

from checks.config import SecretRef
from checks.redact import fingerprint


@dataclass(frozen=True)
class ServiceEndpoint:
    """An in-cluster Service port."""

    namespace: str
    """Service namespace."""
    name: str
    """Service name."""
    port: int
    """Service port."""

    @property
    def address(self) -> str:
        """`name.namespace.svc:port` (give it to Connections.resolve to reach it from here)."""
        return f"{self.name}.{self.namespace}.svc:{self.port}"


@dataclass(frozen=True)
class DragonflyTarget:
    """A Dragonfly instance found through its operator CR."""

    name: str
    """CR (and Service) name."""
    namespace: str
    """Namespace."""
    phase: str
    """status.phase as served."""
    ready: bool
    """Phase is Ready."""
    service: str
    """In-cluster `name.ns.svc:port`."""
    replicas: int = 1
    """spec.replicas."""


@dataclass(frozen=True)
class CnpgTarget:
    """A CloudNativePG cluster."""

    namespace: str
    """Namespace."""
    name: str
    """Cluster name."""
    phase: str
    """status.phase, e.g. 'Cluster in healthy state'."""
    primary: str
    """status.currentPrimary pod."""
    instances: int
    """spec.instances."""
    ready_instances: int
    """status.readyInstances."""
    rw_service: str
    """In-cluster `<name>-rw.ns.svc:5432`."""
    superuser_access: bool = False
    """spec.enableSuperuserAccess (the `-superuser` Secret exists only then)."""

    @property
    def ref(self) -> str:
        """`namespace/name`."""
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Discovery:
    """What the current context offers."""

    context: str
    """Kube context name."""
    dragonflies: tuple[DragonflyTarget, ...] = ()
    """Dragonfly CRs in every readable namespace."""
    cnpg_clusters: tuple[CnpgTarget, ...] = ()
    """CNPG clusters."""
    rustfs: ServiceEndpoint | None = None
    """The RustFS S3 Service (config rustfs.service), None when absent."""
    prometheus_url: str = ""
    """Explicit URL, or the in-cluster Service URL; '' when not found."""
    alertmanager_url: str = ""
    """Explicit URL, or the in-cluster Service URL; '' when not found."""
    problems: tuple[str, ...] = ()
    """What could not be discovered and why (missing CRD, forbidden, missing Service)."""


@dataclass(frozen=True)
class RedisEndpoint:
    """Admin access to Dragonfly/Redis."""

    host: str
    """Host to connect to from here (after mapping / port-forward)."""
    port: int
    """Port to connect to from here."""
    username: str
    """ACL user (config dragonfly.admin_username)."""
    password: str = field(repr=False)
    """Password, byte-exact."""
    service: str
    """In-cluster `name.ns.svc:port`."""
    secret_ref: SecretRef | None = None
    """Where the password was read."""

    def fingerprint(self) -> str:
        """Display-safe fingerprint of the password."""
        return fingerprint(self.password)


@dataclass(frozen=True)
class PostgresEndpoint:
    """Superuser access to a CNPG cluster."""

    host: str
    """Host to connect to from here."""
    port: int
    """Port to connect to from here."""
    user: str
    """Superuser role."""
    password: str = field(repr=False)
    """Password, byte-exact."""
    dbname: str
    """Database to connect to ('postgres')."""
    service: str
    """In-cluster `<cluster>-rw.ns.svc:5432`."""
    secret_ref: SecretRef | None = None
    """Where the password was read."""
    cluster: str = ""
    """`namespace/name` of the Cluster."""

    def fingerprint(self) -> str:
        """Display-safe fingerprint of the password."""
        return fingerprint(self.password)


@dataclass(frozen=True)
class S3Endpoint:
    """Admin access to RustFS."""

    endpoint_url: str
    """URL to use from here, e.g. http://127.0.0.1:9000."""
    access_key: str
    """Admin access key."""
    secret_key: str = field(repr=False)
    """Admin secret key, byte-exact."""
    region: str
    """Signing region (config rustfs.region)."""
    service: str
    """In-cluster `name.ns.svc:port`."""
    secret_ref: SecretRef | None = None
    """Where the secret key was read."""

    def fingerprint(self) -> str:
        """Display-safe fingerprint of the secret key."""
        return fingerprint(self.secret_key)
