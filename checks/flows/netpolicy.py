"""Static analysis of ingress NetworkPolicies / CiliumNetworkPolicies: may namespace X reach port P?

Pure functions over KubeNetworkPolicy views. What cannot be decided offline (namespace labels other
than `kubernetes.io/metadata.name`, ipBlock / CIDR peers) is reported in `notes`, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from checks.sources.kube_models import LabelSelector
from checks.sources.kube_parse import d, lst, s, selector_from, selector_matches
from checks.sources.kube_resources import KubeNetworkPolicy

NS_LABEL = "io.kubernetes.pod.namespace"
K8S_NS_LABEL = "kubernetes.io/metadata.name"
_CLUSTER_ENTITIES = {"all", "cluster"}


@dataclass(frozen=True)
class IngressVerdict:
    """Whether a client namespace may open a TCP connection to a port of the selected server pods."""

    allowed: bool
    """The policies allow (or do not restrict) the path."""
    mode: str
    """enforce (default deny applies) | audit (policies select the pods but do not enforce) | open (none)."""
    policies: tuple[str, ...]
    """`Kind namespace/name` of every policy selecting the server pods."""
    allowed_by: str = ""
    """The policy and rule index that allows the path, '' when none."""
    denied_by: str = ""
    """An explicit deny rule (Cilium ingressDeny) that matches, '' when none."""
    notes: tuple[str, ...] = ()
    """Peers that could not be evaluated offline."""
    enforcing_kind: str = ""
    """Kind of the first enforcing policy (decides the shape of the fix)."""


def _strip(selector: LabelSelector) -> LabelSelector:
    """Cilium selectors may prefix keys with `k8s:` / `any:`."""
    def key(k: str) -> str:
        for prefix in ("k8s:", "any:"):
            if k.startswith(prefix):
                return k[len(prefix):]
        return k

    return LabelSelector({key(k): v for k, v in selector.match_labels.items()},
                         tuple((key(k), op, vals) for k, op, vals in selector.match_expressions))


def _names_namespace(selector: LabelSelector) -> bool:
    return NS_LABEL in selector.match_labels or any(k == NS_LABEL for k, _, _ in selector.match_expressions)


def _port_ok(entries: Iterable[Any], port: int, names: tuple[str, ...]) -> bool:
    for entry in map(d, entries):
        proto = s(entry.get("protocol")).upper() or "TCP"
        if proto not in ("TCP", "ANY"):
            continue
        value = s(entry.get("port"))
        end = entry.get("endPort")
        if value in ("", "0") or value in names:
            return True
        if value.isdigit() and (int(value) == port or (isinstance(end, int) and int(value) <= port <= end)):
            return True
    return False


def _cilium_ports(rule: Mapping[str, Any], port: int, names: tuple[str, ...]) -> bool:
    to_ports = lst(rule.get("toPorts"))
    return not to_ports or any(_port_ok(lst(d(tp).get("ports")), port, names) for tp in to_ports)


def _cilium_peer(rule: Mapping[str, Any], policy_ns: str, client_ns: str, client_labels: Mapping[str, str],
                 notes: list[str], where: str) -> bool:
    if set(map(s, lst(rule.get("fromEntities")))) & _CLUSTER_ENTITIES:
        return True
    if not any(rule.get(k) for k in ("fromEndpoints", "fromEntities", "fromCIDR", "fromCIDRSet", "fromGroups",
                                     "fromNodes", "fromRequires")):
        return True  # an L4-only rule admits every peer
    labels = {**client_labels, NS_LABEL: client_ns}
    for raw in lst(rule.get("fromEndpoints")):
        sel = _strip(selector_from(raw))
        if not _names_namespace(sel) and client_ns != policy_ns:
            continue  # a namespaced policy's selector without a namespace label means its own namespace
        if selector_matches(labels, sel):
            return True
    if rule.get("fromCIDR") or rule.get("fromCIDRSet"):
        notes.append(f"{where} has CIDR peers; pod IPs are not evaluated offline")
    return False


def _k8s_peer(rule: Mapping[str, Any], policy_ns: str, client_ns: str, client_labels: Mapping[str, str],
              notes: list[str], where: str) -> bool:
    peers = lst(rule.get("from"))
    if not peers:
        return True  # `from` omitted: every source
    for peer in map(d, peers):
        if "ipBlock" in peer:
            notes.append(f"{where} has an ipBlock peer; pod IPs are not evaluated offline")
            continue
        pod_ok = selector_matches(dict(client_labels), selector_from(peer.get("podSelector")))
        if "namespaceSelector" not in peer:
            if client_ns == policy_ns and pod_ok:
                return True
            continue
        ns_sel = selector_from(peer.get("namespaceSelector"))
        other = [k for k in ns_sel.match_labels if k != K8S_NS_LABEL] + [k for k, _, _ in ns_sel.match_expressions
                                                                         if k != K8S_NS_LABEL]
        if other:
            notes.append(f"{where} selects namespaces by {', '.join(sorted(set(other)))}; namespace labels "
                         "other than kubernetes.io/metadata.name are not evaluated offline")
            continue
        if selector_matches({K8S_NS_LABEL: client_ns}, ns_sel) and pod_ok:
            return True
    return False


def _cilium_enforces(policy: KubeNetworkPolicy) -> bool:
    spec = d(policy.raw.get("spec"))
    default_deny = d(spec.get("enableDefaultDeny"))
    if "ingress" in default_deny:
        return bool(default_deny.get("ingress"))
    return any(not r.get("_deny") for r in policy.ingress) or "ingress" in spec  # Cilium's default


def analyse_ingress(policies: Iterable[KubeNetworkPolicy], server_labels: Mapping[str, str], client_ns: str,
                    client_labels: Mapping[str, str], port: int, port_names: tuple[str, ...] = ()) -> IngressVerdict:
    """Decide whether pods of `client_ns` (labels `client_labels`) may reach `port` of the server pods."""
    selecting = [p for p in policies if selector_matches(dict(server_labels), _strip(p.pod_selector))]
    names = [f"{p.kind} {p.namespace}/{p.name}" for p in selecting]
    notes: list[str] = []
    enforcing = ""
    allowed_by = denied_by = ""
    for p in selecting:
        cilium = p.kind == "CiliumNetworkPolicy"
        if cilium and _cilium_enforces(p) and not enforcing:
            enforcing = p.kind
        if not cilium and ("Ingress" in p.policy_types or not p.policy_types) and not enforcing:
            enforcing = p.kind
        for idx, rule in enumerate(p.ingress):
            where = f"{p.kind} {p.namespace}/{p.name} ingress[{idx}]"
            if cilium:
                hit = _cilium_peer(rule, p.namespace, client_ns, client_labels, notes, where) and \
                    _cilium_ports(rule, port, port_names)
            else:
                hit = _k8s_peer(rule, p.namespace, client_ns, client_labels, notes, where) and \
                    (not lst(rule.get("ports")) or _port_ok(lst(rule.get("ports")), port, port_names))
            if hit and rule.get("_deny"):
                denied_by = denied_by or where.replace("ingress[", "ingressDeny[")
            elif hit:
                allowed_by = allowed_by or where
    if not selecting:
        return IngressVerdict(True, "open", (), notes=tuple(notes))
    mode = "enforce" if enforcing else "audit"
    allowed = bool(allowed_by) and not denied_by  # in audit mode the caller reports a denial as a warning
    return IngressVerdict(allowed, mode, tuple(names), allowed_by, denied_by, tuple(dict.fromkeys(notes)),
                          enforcing or (selecting[0].kind if selecting else ""))


def ingress_rule_yaml(kind: str, client_ns: str, port: int) -> str:
    """The ingress rule to add, as YAML for the policy kind that enforces."""
    if kind == "CiliumNetworkPolicy":
        return ("- fromEndpoints:\n"
                "    - matchLabels:\n"
                f"        {NS_LABEL}: {client_ns}\n"
                "  toPorts:\n"
                "    - ports:\n"
                f"        - port: \"{port}\"\n"
                "          protocol: TCP")
    return ("- from:\n"
            "    - namespaceSelector:\n"
            "        matchLabels:\n"
            f"          {K8S_NS_LABEL}: {client_ns}\n"
            "  ports:\n"
            f"    - port: {port}\n"
            "      protocol: TCP")
