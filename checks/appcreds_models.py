"""Credential records an application uses; secret values are byte-exact and hidden from repr."""

from __future__ import annotations

from dataclasses import dataclass, field

from checks.config import SecretRef
from checks.redact import fingerprint


@dataclass(frozen=True)
class RedisCredentials:
    """How an app connects to Redis/Dragonfly."""

    host: str = ""
    """Host as the app sees it (usually an in-cluster name)."""
    port: int = 6379
    """Port."""
    username: str = ""
    """ACL user ('' = none given, i.e. `default`)."""
    password: str | None = field(default=None, repr=False)
    """Password, byte-exact; None when none is configured or it could not be resolved."""
    db: int = 0
    """Database number."""
    key_prefix: str = ""
    """Key prefix the app uses, '' when unknown."""
    source: dict[str, str] = field(default_factory=dict)
    """Field -> where its value came from, e.g. `env REDIS_PASSWORD ← secret ns/name key K`."""
    secret_ref: SecretRef | None = None
    """Secret key holding the password (None when literal or absent)."""
    tls: bool = False
    """rediss:// or a TLS flag."""
    container: str = ""
    """Container the settings were read from."""
    group: str = ""
    """Variable-name group, e.g. 'LITELLM' for LITELLM_REDIS_*; '' for the plain names."""

    def fingerprint(self) -> str:
        """Display-safe fingerprint of the password."""
        return fingerprint(self.password)


@dataclass(frozen=True)
class PostgresCredentials:
    """How an app connects to PostgreSQL."""

    host: str = ""
    """Host as the app sees it."""
    port: int = 5432
    """Port."""
    user: str = ""
    """Role name."""
    password: str | None = field(default=None, repr=False)
    """Password, byte-exact (None when unresolved)."""
    dbname: str = ""
    """Database."""
    source: dict[str, str] = field(default_factory=dict)
    """Field -> where its value came from."""
    secret_ref: SecretRef | None = None
    """Secret key holding the password."""
    sslmode: str = ""
    """sslmode when set."""
    container: str = ""
    """Container the settings were read from."""
    group: str = ""
    """Variable-name group, e.g. 'KC' for KC_DB_*."""

    def fingerprint(self) -> str:
        """Display-safe fingerprint of the password."""
        return fingerprint(self.password)


@dataclass(frozen=True)
class S3Credentials:
    """How an app reaches S3 (RustFS)."""

    endpoint: str = ""
    """Endpoint URL with the scheme the app will use ('' = AWS default)."""
    access_key: str = ""
    """Access key id."""
    secret_key: str | None = field(default=None, repr=False)
    """Secret access key, byte-exact (a trailing newline is a classic SignatureDoesNotMatch)."""
    region: str = ""
    """Region, '' when unset."""
    bucket: str = ""
    """Bucket, '' when unknown."""
    source: dict[str, str] = field(default_factory=dict)
    """Field -> where its value came from."""
    secret_ref: SecretRef | None = None
    """Secret key holding the secret access key."""
    path_style: bool | None = None
    """Forced path-style addressing, None when unset."""
    container: str = ""
    """Container the settings were read from."""
    group: str = ""
    """Variable-name group, e.g. 'LANGFUSE_EVENT_UPLOAD'."""

    def fingerprint(self) -> str:
        """Display-safe fingerprint of the secret key."""
        return fingerprint(self.secret_key)
