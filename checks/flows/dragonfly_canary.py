"""D10's canary pod (writes allowed only): does a pod in the app's namespace reach the Dragonfly service?

A short-lived busybox pod runs `nc -z -w 2 <service> <port>` and exits; its phase answers (Succeeded =
connected, Failed = not). It is created and deleted through the WriteGate (confirmed, audited), and it is
ALWAYS deleted, whatever happened. Where no kubelet runs it within the deadline (a busy cluster, an image
that must be pulled, the lab's API without nodes) the probe is reported inconclusive, not failed.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from checks.errors import SourceError
from checks.writes import WriteDeclined, WriteGate, WriteIntent, WriteRefused

CANARY_IMAGE = "busybox"
CANARY_WAIT = 8.0
"""Seconds to wait for the canary pod to finish before calling the probe inconclusive."""
CANARY_POLL = 0.5
MANAGED_BY = {"app.kubernetes.io/managed-by": "clusterdeck", "app.kubernetes.io/name": "clusterdeck-canary"}


@dataclass(frozen=True)
class CanaryResult:
    """What the canary pod showed."""

    evidence: tuple[str, ...]
    """Lines for the step's evidence."""
    reached: bool | None = None
    """True connected, False could not connect, None not run / inconclusive."""


def canary_manifest(namespace: str, name: str, host: str, port: int) -> dict[str, Any]:
    """The pod: no service account token, unprivileged, no retries, gone after 60 s at the latest."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {
            "restartPolicy": "Never", "activeDeadlineSeconds": 60, "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "probe", "image": CANARY_IMAGE, "command": ["nc", "-z", "-w", "2", host, str(port)],
                "resources": {"requests": {"cpu": "10m", "memory": "8Mi"}, "limits": {"cpu": "100m", "memory": "16Mi"}},
                "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}},
            }],
        },
    }


def create_intent(namespace: str, name: str, host: str, port: int, wait: float) -> WriteIntent:
    return WriteIntent("kubernetes", "create pod", f"{namespace}/{name}", (
        f"image {CANARY_IMAGE}, command: nc -z -w 2 {host} {port}",
        "labels " + ", ".join(f"{k}={v}" for k, v in MANAGED_BY.items()) + "; restartPolicy Never",
        f"deleted again (kubernetes delete pod {namespace}/{name}) after at most {wait:g}s, whatever the outcome"))


def run_canary(kube: Any, gate: WriteGate, namespace: str, host: str, port: int,
               wait: float = CANARY_WAIT) -> CanaryResult:
    """Create the canary pod, wait for its verdict, delete it; never raises for a probe problem."""
    head = f"canary pod probe from namespace {namespace} to {host}:{port}"
    if not gate.allowed:
        return CanaryResult((f"{head}: skipped, {gate.reason}",))
    name = f"clusterdeck-canary-{uuid.uuid4().hex[:8]}"
    created = False
    ev: list[str] = []
    phase, problem = "", ""
    try:
        try:
            gate.run(create_intent(namespace, name, host, port, wait),
                     lambda: kube.create_pod(namespace, canary_manifest(namespace, name, host, port)))
            created = True
        except WriteDeclined:
            return CanaryResult((f"{head}: skipped, declined",))
        except WriteRefused as exc:
            return CanaryResult((f"{head}: skipped, {exc}",))
        except SourceError as exc:
            created = exc.kind == "timeout"  # the API may have created it without answering: delete anyway
            ev.append(f"{head}: could not create pod {namespace}/{name}: {exc.title}: {exc.message}")
        if created:
            phase, problem = _wait_for_verdict(kube, namespace, name, wait)
    finally:
        cleanup = _delete(kube, gate, namespace, name) if created else ""
    reached: bool | None = None
    if ev:  # the pod could not be created: the evidence says why
        pass
    elif phase == "Succeeded":
        reached = True
        ev.append(f"{head}: connected (pod {name} exited 0)")
    elif phase == "Failed":
        reached = False
        ev.append(f"{head}: could NOT connect within 2 s (pod {name} failed): traffic from {namespace} is "
                  "dropped, or the service has no ready endpoint")
    else:
        state = f"phase {phase}" if phase else "no status reported: no node has started it"
        ev.append(f"{head}: probe inconclusive: " + (problem or f"pod did not run within {wait:g}s ({state})"))
    if reached is not None:
        ev.append("the canary carries clusterdeck's labels, not the app's: a rule that admits only the app's pod "
                  "labels is not exercised by it")
    if cleanup:
        ev.append(cleanup)
    return CanaryResult(tuple(ev), reached)


def _wait_for_verdict(kube: Any, namespace: str, name: str, wait: float) -> tuple[str, str]:
    """(last phase seen, problem text) once the pod finished or the deadline passed."""
    deadline = time.monotonic() + wait
    phase = ""
    while True:
        try:
            pod = kube.read_pod(namespace, name)
        except SourceError as exc:
            return phase, f"reading the pod failed: {exc.title}: {exc.message}"
        if pod is None:
            return phase, "the pod vanished before it finished"
        phase = pod.phase
        if phase in ("Succeeded", "Failed") or time.monotonic() >= deadline:
            return phase, ""
        time.sleep(min(CANARY_POLL, max(0.0, deadline - time.monotonic())))


def _delete(kube: Any, gate: WriteGate, namespace: str, name: str) -> str:
    intent = WriteIntent("kubernetes", "delete pod", f"{namespace}/{name}", ("removes the canary pod",))
    try:
        existed = gate.run(intent, lambda: kube.delete_pod(namespace, name), approved=True)
    except (SourceError, WriteRefused) as exc:
        return (f"the canary pod could NOT be deleted ({exc}): delete it with kubectl -n {namespace} delete pod "
                f"{name}")
    return f"canary pod {namespace}/{name} deleted" if existed else f"canary pod {namespace}/{name} was already gone"
