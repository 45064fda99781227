"""Typed TOML configuration: found at --config, $CLUSTERDECK_CONFIG, or the XDG config path.

An unknown key or a value of the wrong type is a ConfigError naming the key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from checks.errors import ConfigError


@dataclass(frozen=True)
class SecretRef:
    """A key inside a Kubernetes Secret: `namespace/name` plus the key."""

    namespace: str
    name: str
    key: str


@dataclass(frozen=True)
class DragonflyConfig:
    admin_secret: str = "cache/dragonfly-auth"
    """Secret `namespace/name` holding the admin (default user) password."""
    admin_password_key: str = "password"
    admin_username: str = "default"
    acl_configmap: str = "cache/dragonfly-acl"
    """ConfigMap holding the ACL source, key `acl_configmap_key`."""
    acl_configmap_key: str = "acl.conf"
    namespace: str = "cache"


@dataclass(frozen=True)
class CnpgConfig:
    superuser_secret_suffix: str = "-superuser"
    """CNPG's convention: `<cluster>-superuser` with keys username/password."""
    username_key: str = "username"
    password_key: str = "password"


@dataclass(frozen=True)
class RustfsConfig:
    admin_secret: str = "storage/rustfs-credentials"
    access_key_key: str = "RUSTFS_ACCESS_KEY"
    secret_key_key: str = "RUSTFS_SECRET_KEY"
    service: str = "storage/rustfs-svc"
    region: str = "us-east-1"


@dataclass(frozen=True)
class PrometheusConfig:
    service: str = "monitoring/prometheus-operated"
    alertmanager_service: str = "monitoring/alertmanager-operated"
    url: str = ""
    """Explicit URL; overrides discovery when set."""
    alertmanager_url: str = ""


@dataclass(frozen=True)
class ContextConfig:
    read_only: bool = False
    """Forbid writes in this kube context whatever the command line says."""


@dataclass(frozen=True)
class Config:
    timeout: float = 5.0
    """Seconds any single remote call may take."""
    refresh_interval: float = 10.0
    """Seconds between auto-refreshes of a visible pane; 0 disables polling."""
    reveal_seconds: float = 5.0
    """Seconds a secret revealed on purpose (ctrl+s in a CNPG role's detail) stays on screen; 0 disables it."""
    kubeconfig: str = ""
    context: str = ""
    namespace: str = ""
    audit_log: str = ""
    """Append-only audit log for writes; default under the XDG state dir."""
    endpoints: dict[str, str] = field(default_factory=dict)
    """In-cluster `service.namespace.svc:port` -> reachable `host:port`."""
    dragonfly: DragonflyConfig = field(default_factory=DragonflyConfig)
    cnpg: CnpgConfig = field(default_factory=CnpgConfig)
    rustfs: RustfsConfig = field(default_factory=RustfsConfig)
    prometheus: PrometheusConfig = field(default_factory=PrometheusConfig)
    contexts: dict[str, ContextConfig] = field(default_factory=dict)
    keymap: dict[str, str] = field(default_factory=dict)
    source_path: str = ""
    """Where this config was read from ('' for defaults)."""

    def context_read_only(self, context: str) -> bool:
        ctx = self.contexts.get(context)
        return bool(ctx and ctx.read_only)

    def with_overrides(self, **kw: Any) -> "Config":
        return replace(self, **{k: v for k, v in kw.items() if v not in (None, "")})


_SECTIONS = {"dragonfly": DragonflyConfig, "cnpg": CnpgConfig, "rustfs": RustfsConfig,
             "prometheus": PrometheusConfig}


def _typed(path: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        if value < 0:
            raise ConfigError(f"{path}: must not be negative, got {value!r}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        return value
    return value


def _build(cls: type, data: dict[str, Any], prefix: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    defaults = cls()
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in known or key == "source_path":
            raise ConfigError(f"unknown key '{path}' (known: {', '.join(sorted(k for k in known if k != 'source_path'))})")
        kwargs[key] = _typed(path, value, getattr(defaults, key))
    return cls(**kwargs)


def parse_config(data: dict[str, Any], source: str = "") -> Config:
    top: dict[str, Any] = {}
    for key, value in data.items():
        if key in _SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"[{key}] must be a table")
            top[key] = _build(_SECTIONS[key], value, f"{key}.")
        elif key == "endpoints":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise ConfigError("[endpoints] maps 'service.namespace.svc:port' to 'host:port' strings")
            for k, v in value.items():
                if ":" not in k or ":" not in v:
                    raise ConfigError(f"endpoints.'{k}': both sides need host:port, got {v!r}")
            top[key] = dict(value)
        elif key == "keymap":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise ConfigError("[keymap] maps binding ids to key strings")
            top[key] = dict(value)
        elif key == "contexts":
            if not isinstance(value, dict):
                raise ConfigError("[contexts] must be a table of tables")
            ctxs = {}
            for name, body in value.items():
                if not isinstance(body, dict):
                    raise ConfigError(f"contexts.{name} must be a table")
                ctxs[name] = _build(ContextConfig, body, f"contexts.{name}.")
            top[key] = ctxs
        else:
            top[key] = value
    base = _build(Config, {k: v for k, v in top.items() if k not in (*_SECTIONS, "endpoints", "keymap", "contexts")}, "")
    return replace(base, source_path=source, **{k: v for k, v in top.items() if k in (*_SECTIONS, "endpoints", "keymap", "contexts")})


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "clusterdeck" / "config.toml"


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "clusterdeck"


def find_config_path(explicit: str | None = None) -> Path | None:
    """--config, then $CLUSTERDECK_CONFIG, then a running lab's config, then the XDG path."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("CLUSTERDECK_CONFIG")
    if env:
        return Path(env)
    from lab.state import running_lab_config  # lab is headless too; no UI import

    lab_cfg = running_lab_config()
    if lab_cfg is not None:
        return lab_cfg
    path = default_config_path()
    return path if path.exists() else None


def load_config(explicit: str | None = None) -> Config:
    path = find_config_path(explicit)
    if path is None:
        return Config()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse_config(data, str(path))
