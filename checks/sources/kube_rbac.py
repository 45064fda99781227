"""Every Kubernetes API permission clusterdeck uses, in one place.

`KubeSource` refuses to make a call that is not declared here (the port-forward, which goes through the
stream client, needs `PORT_FORWARD`), and `deploy/rbac.yaml` must grant exactly these sets
(tests/test_rbac.py parses it and compares, and drives every KubeSource reader against the lab to check
READS against the requests really sent).
Edit this file and deploy/rbac.yaml together.
"""

from __future__ import annotations

from checks.sources.kube_errors import ApiCall

Permission = tuple[str, str, str]
"""(verb, API group, resource) as RBAC spells them; core group is ''."""

READS: frozenset[Permission] = frozenset(
    (verb, group, resource)
    for group, resources, verbs in (
        ("", ("secrets", "configmaps", "pods", "services"), ("get", "list")),
        ("", ("events",), ("list",)),
        ("apps", ("deployments", "statefulsets"), ("get", "list")),
        ("networking.k8s.io", ("networkpolicies",), ("list",)),
        ("cilium.io", ("ciliumnetworkpolicies",), ("list",)),
        ("dragonflydb.io", ("dragonflies",), ("get", "list")),
        ("postgresql.cnpg.io", ("clusters",), ("get", "list")),
        ("monitoring.coreos.com", ("prometheusrules",), ("list",)),
    )
    for resource in resources
    for verb in verbs
)
"""What the read-only ClusterRole grants: the resource reads of KubeSource (all namespaces)."""

PORT_FORWARD: frozenset[Permission] = frozenset({("get", "", "pods/portforward"), ("create", "", "pods/portforward")})
"""The automatic port-forward (checks/sources/kube_portforward.py). The Python client opens it as a
WebSocket, an HTTP GET the API server authorises as `get`; Kubernetes >= 1.35 also checks `create`
on the upgrade (and kubectl's SPDY transport is a POST, i.e. `create`): grant both."""

PROBE_WRITES: frozenset[Permission] = frozenset({("create", "", "pods"), ("delete", "", "pods")})
"""The only writes KubeSource can make: the D10 canary pod (created in the app's namespace, always deleted),
and only through checks.writes.WriteGate (--allow-writes, confirmed, audited). Granted by the separate,
optional Role `clusterdeck-probes` in deploy/rbac.yaml, never by the read-only ClusterRole."""

NON_RESOURCE_URLS: frozenset[tuple[str, str]] = frozenset({("get", "/version")})
"""(verb, URL) outside the resource API: the server version on the Overview (granted to every
authenticated user by the default `system:public-info-viewer` role anyway)."""


def permission_of(call: ApiCall) -> Permission:
    """The (verb, group, resource) an API call needs."""
    return call.verb, call.group, call.resource


def require(call: ApiCall) -> None:
    """Refuse an API call this module does not declare (a programming error, caught by the tests)."""
    if call.group == "" and call.resource == "version":
        if (call.verb, "/version") in NON_RESOURCE_URLS:
            return
    elif permission_of(call) in READS or permission_of(call) in PROBE_WRITES:
        return
    raise RuntimeError(f"undeclared Kubernetes API call: {call.describe()}; declare it in "
                       "checks/sources/kube_rbac.py and grant it in deploy/rbac.yaml")
