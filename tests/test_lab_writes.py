"""Writes through the lab's Kubernetes API behave like a cluster's (controllers in lab/controllers.py),
and the lab refuses to start without its required binaries."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest

from lab import access, manager

pytestmark = pytest.mark.lab


def _core(state: dict[str, Any]) -> Any:
    from kubernetes import client

    return client.CoreV1Api(access.kube_client(state))


def _pods(state: dict[str, Any], ns: str, app: str) -> list[Any]:
    return _core(state).list_namespaced_pod(ns, label_selector=f"app={app}").items


def test_rollout_restart_gives_fresh_pods(scratch_lab: dict[str, Any]) -> None:
    from kubernetes import client

    before = _pods(scratch_lab, "identity", "keycloak")
    assert len(before) == 1
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    client.AppsV1Api(access.kube_client(scratch_lab)).patch_namespaced_deployment(
        "keycloak", "identity",
        {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}})
    after = _pods(scratch_lab, "identity", "keycloak")
    assert len(after) == 1 and after[0].metadata.name != before[0].metadata.name
    assert after[0].status.start_time > before[0].status.start_time
    assert after[0].metadata.annotations["kubectl.kubernetes.io/restartedAt"] == stamp


def test_secret_patch_bumps_version_and_reloader_restarts(scratch_lab: dict[str, Any]) -> None:
    core = _core(scratch_lab)
    old = core.read_namespaced_secret("litellm-db", "ai-system")
    pod_before = _pods(scratch_lab, "ai-system", "litellm")[0]
    labelled = core.patch_namespaced_secret("litellm-db", "ai-system",
                                            {"metadata": {"labels": {"cnpg.io/reload": "true"}}})
    assert int(labelled.metadata.resource_version) > int(old.metadata.resource_version)
    assert _pods(scratch_lab, "ai-system", "litellm")[0].metadata.name == pod_before.metadata.name
    changed = core.patch_namespaced_secret("litellm-db", "ai-system", {"stringData": {"password": "rotated"}})
    assert base64.b64decode(changed.data["password"]) == b"rotated" and not changed.string_data
    assert max(f.time for f in changed.metadata.managed_fields) >= pod_before.status.start_time
    assert _pods(scratch_lab, "ai-system", "litellm")[0].metadata.name != pod_before.metadata.name
    # keycloak has no Reloader annotation: a change of its Secret restarts nothing
    kc = _pods(scratch_lab, "identity", "keycloak")[0].metadata.name
    core.patch_namespaced_secret("keycloak-redis", "identity", {"stringData": {"password": "x"}})
    assert _pods(scratch_lab, "identity", "keycloak")[0].metadata.name == kc


def test_missing_prometheus_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lab import monitoring

    monkeypatch.setattr(monitoring, "PROMETHEUS_BIN", "/nonexistent/prometheus")
    with pytest.raises(manager.LabError, match="Prometheus.*/nonexistent/prometheus is missing"):
        manager.up(tmp_path / "lab")
    assert manager.status(tmp_path / "lab") is None


def test_slow_and_hanging_faults(scratch_lab: dict[str, Any], lab_faults: Any) -> None:
    import socket
    import urllib.error
    import urllib.request

    import boto3
    from botocore.config import Config
    from botocore.exceptions import ReadTimeoutError

    lab_faults(scratch_lab, kube="slow", kube_match="/secrets/")
    assert urllib.request.urlopen(f"{scratch_lab['kube']['url']}/api/v1/namespaces/cache/pods", timeout=2).status == 200
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        urllib.request.urlopen(f"{scratch_lab['kube']['url']}/api/v1/namespaces/cache/secrets/dragonfly-auth",
                               timeout=1)
    lab_faults(scratch_lab, s3="hang")
    s3 = boto3.client("s3", endpoint_url=scratch_lab["s3"]["url"], region_name="us-east-1",
                      aws_access_key_id="AKIAX", aws_secret_access_key="x",
                      config=Config(read_timeout=1, connect_timeout=1, retries={"max_attempts": 1}))
    with pytest.raises(ReadTimeoutError):
        s3.list_buckets()
