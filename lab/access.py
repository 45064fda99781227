"""Point code at a given lab without environment variables (for tests and tools)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def secrets_of(state: dict[str, Any]) -> list[str]:
    """Every password / secret key the lab created (DIR/secrets.json)."""
    return json.loads(Path(state["secrets_file"]).read_text())


def plan_of(state: dict[str, Any]) -> dict[str, Any]:
    """The full plan (passwords per side, planted flags, S3 keys): DIR/plan.json."""
    return json.loads(Path(state["plan_file"]).read_text())


def kube_client(state: dict[str, Any]) -> Any:
    """A `kubernetes.client.ApiClient` for the lab's API (its kubeconfig and context)."""
    from kubernetes import config

    return config.new_client_from_config(config_file=state["kubeconfig"], context=state["context"])


def endpoint(state: dict[str, Any], service: str) -> tuple[str, int]:
    """The local host and port behind an in-cluster `service.namespace.svc:port`."""
    host, port = state["endpoints"][service].rsplit(":", 1)
    return host, int(port)
