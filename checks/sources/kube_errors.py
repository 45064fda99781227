"""Map Kubernetes client and transport failures to one SourceError a human can act on."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from checks.errors import SourceError

SYSTEM = "kubernetes"


@dataclass(frozen=True)
class ApiCall:
    """What KubeSource was doing, so an error can name it."""

    verb: str
    """RBAC verb: list, get."""
    resource: str
    """Plural resource, e.g. 'secrets', 'dragonflies'."""
    group: str = ""
    """API group ('' for core)."""
    namespace: str | None = None
    """Namespace, None for cluster-wide."""
    name: str | None = None
    """Object name for get."""
    custom: bool = False
    """True for a CRD-backed resource (a 404 on list means the CRD is missing)."""

    @property
    def qualified(self) -> str:
        """`resource.group` as RBAC and kubectl spell it ('secrets' for core)."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def describe(self) -> str:
        """e.g. `list secrets in namespace "cache"` or `get dragonflies.dragonflydb.io "df" in namespace "cache"`."""
        what = f'{self.verb} {self.qualified}' + (f' "{self.name}"' if self.name and self.name != self.resource else "")
        if self.namespace:
            return what + f' in namespace "{self.namespace}"'
        return what + (" in all namespaces" if self.verb == "list" else "")


def _status_message(body: Any) -> str:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body:
        return ""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return body.strip().splitlines()[0][:200] if body.strip() else ""
    msg = doc.get("message") if isinstance(doc, dict) else None
    return str(msg).strip().splitlines()[0][:300] if msg else ""


def _missing_resource(body_message: str) -> bool:
    low = body_message.lower()
    return "could not find the requested resource" in low or "resource is not declared" in low


def is_missing_object(exc: Any) -> bool:
    """A 404 that means 'no such object' rather than 'no such resource type'."""
    return getattr(exc, "status", None) == 404 and not _missing_resource(_status_message(getattr(exc, "body", None)))


def _transport_error(exc: BaseException, server: str, timeout: float, call: ApiCall) -> SourceError | None:
    from urllib3 import exceptions as u3

    err: BaseException | None = exc
    if isinstance(exc, u3.MaxRetryError) and exc.reason is not None:
        err = exc.reason
    if isinstance(err, (u3.NewConnectionError, ConnectionRefusedError)):
        text = str(err).lower()
        if "refused" in text:
            why = "refused the connection"
        elif "name or service not known" in text or "nodename nor servname" in text or "resolution" in text:
            why = "could not be resolved"
        else:
            why = "could not be reached"
        return SourceError(SYSTEM, "Unreachable", f"Kubernetes API at {server} {why}; is the cluster running and "
                           "is the kubeconfig's server address current?", kind="unreachable")
    if isinstance(err, (u3.ConnectTimeoutError, u3.ReadTimeoutError, TimeoutError)):
        return SourceError(SYSTEM, "Timeout", f"Kubernetes API at {server} did not answer within {timeout:g}s "
                           f"(while trying to {call.describe()}); check the cluster, VPN or the [timeout] setting",
                           kind="timeout")
    if isinstance(err, (u3.ProtocolError, u3.SSLError, OSError, u3.HTTPError)):
        return SourceError(SYSTEM, "Unreachable", f"Kubernetes API at {server} dropped the connection "
                           f"({type(err).__name__}) while trying to {call.describe()}", kind="unreachable")
    return None


def map_error(exc: BaseException, call: ApiCall, *, server: str, timeout: float, context: str) -> SourceError:
    """One SourceError naming the call, the server and the next step."""
    from kubernetes.client.exceptions import ApiException

    if isinstance(exc, SourceError):
        return exc
    if not isinstance(exc, ApiException):
        mapped = _transport_error(exc, server, timeout, call)
        if mapped is not None:
            return mapped
        return SourceError(SYSTEM, "Client error", f"{type(exc).__name__} while trying to {call.describe()} "
                           f"at {server}", kind="error")
    status = exc.status or 0
    body_msg = _status_message(exc.body)
    if status == 0:
        reason = str(exc.reason or "").split("\n")
        if "SSL" in reason[0]:
            return SourceError(SYSTEM, "TLS error", f"TLS handshake with the Kubernetes API at {server} failed: "
                               f"{reason[-1][:200]}", kind="unreachable")
        return SourceError(SYSTEM, "Client error", f"{reason[0][:200]} (while trying to {call.describe()})")
    if status == 401:
        return SourceError(SYSTEM, "Unauthorized", f"the Kubernetes API at {server} rejected the credentials of "
                           f'context "{context}" (expired token or certificate?); refresh the kubeconfig',
                           kind="auth")
    if status == 403:
        where = f'in namespace "{call.namespace}"' if call.namespace else "cluster-wide"
        msg = (f'forbidden: cannot {call.verb} {call.qualified} {where} (needs RBAC verb "{call.verb}" on '
               f'"{call.qualified}")')
        user = re.search(r'User "([^"]+)"', body_msg)
        if user:
            msg += f'; the request was made as user "{user.group(1)}"'
        ns_flag = f" -n {call.namespace}" if call.namespace else " --all-namespaces"
        msg += f"; check with: kubectl auth can-i {call.verb} {call.qualified}{ns_flag}"
        return SourceError(SYSTEM, "Forbidden", msg, kind="forbidden")
    if status == 404:
        if call.custom or _missing_resource(body_msg):
            return SourceError(SYSTEM, "Resource missing", f"the cluster has no {call.qualified} resource "
                               "(is the operator installed?)", kind="notfound")
        return SourceError(SYSTEM, "Not found", f"{call.describe()}: not found", kind="notfound")
    if status == 429:
        return SourceError(SYSTEM, "Throttled", f"the Kubernetes API at {server} throttled the request to "
                           f"{call.describe()}; retry in a moment", kind="error")
    detail = f": {body_msg}" if body_msg else ""
    return SourceError(SYSTEM, f"HTTP {status}", f"Kubernetes API answered HTTP {status} ({exc.reason}) to "
                       f"{call.describe()}{detail}", kind="error")
