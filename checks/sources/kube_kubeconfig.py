"""Which kubeconfig a KubeSource reads, found as kubectl finds it."""

from __future__ import annotations

import os

from checks.errors import SourceError
from checks.sources.kube_errors import SYSTEM

SA_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
"""In a pod: the namespace of its ServiceAccount, the default namespace of the in-cluster config."""


def resolve_kubeconfig(explicit: str | None) -> str | None:
    """Like kubectl: explicit path, then $KUBECONFIG (a path list), then ~/.kube/config; None = in-cluster."""
    if explicit:
        path = os.path.expanduser(explicit)
        if not os.path.isfile(path):
            raise SourceError(SYSTEM, "No kubeconfig", f"kubeconfig {path} does not exist (set by --kubeconfig "
                              "or the `kubeconfig` config key)", kind="error")
        return path
    env = os.environ.get("KUBECONFIG", "")
    if env:
        paths = [os.path.expanduser(p) for p in env.split(os.pathsep) if p]
        if any(os.path.isfile(p) for p in paths):
            return env
        raise SourceError(SYSTEM, "No kubeconfig", f"none of the files in $KUBECONFIG exist: {', '.join(paths)}",
                          kind="error")
    default = os.path.expanduser("~/.kube/config")
    if os.path.isfile(default):
        return default
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return None
    raise SourceError(SYSTEM, "No kubeconfig", "no kubeconfig found: pass --kubeconfig, set $KUBECONFIG or create "
                      "~/.kube/config", kind="error")
