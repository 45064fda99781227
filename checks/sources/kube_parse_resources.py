"""API JSON -> Service, Event, network policy and custom-resource views."""

from __future__ import annotations

from typing import Any

from checks.sources.kube_parse import d, env_from_list, i, lst, meta_kwargs, parse_time, s, selector_from, str_map
from checks.sources.kube_resources import (AlertRule, CnpgCluster, DragonflyInstance, KubeEvent, KubeNetworkPolicy,
                                           KubeService, ManagedRole, PrometheusRuleSet, RuleGroup, ServicePort)


def service_from(obj: dict[str, Any]) -> KubeService:
    """A Service."""
    spec = d(obj.get("spec"))
    ports = []
    for p in map(d, lst(spec.get("ports"))):
        target = p.get("targetPort", p.get("port"))
        target_port: int | str = target if isinstance(target, int) else (i(target) if s(target).isdigit() else s(target))
        ports.append(ServicePort(i(p.get("port")), s(p.get("name")), target_port, s(p.get("protocol")) or "TCP",
                                 i(p.get("nodePort"))))
    return KubeService(**meta_kwargs(obj, "Service"), type=s(spec.get("type")) or "ClusterIP",
                       cluster_ip=s(spec.get("clusterIP")), selector=str_map(spec.get("selector")), ports=tuple(ports))


def event_from(obj: dict[str, Any]) -> KubeEvent:
    """A core/v1 Event."""
    inv, meta = d(obj.get("involvedObject")), d(obj.get("metadata"))
    last = (parse_time(obj.get("lastTimestamp")) or parse_time(obj.get("eventTime"))
            or parse_time(meta.get("creationTimestamp")))
    source = s(d(obj.get("source")).get("component")) or s(obj.get("reportingComponent"))
    return KubeEvent(**meta_kwargs(obj, "Event"), type=s(obj.get("type")), reason=s(obj.get("reason")),
                     message=s(obj.get("message")), involved_kind=s(inv.get("kind")), involved_name=s(inv.get("name")),
                     count=i(obj.get("count"), 1) or 1, last_seen=last, source=source)


def network_policy_from(obj: dict[str, Any]) -> KubeNetworkPolicy:
    """A networking.k8s.io/v1 NetworkPolicy."""
    spec = d(obj.get("spec"))
    return KubeNetworkPolicy(**meta_kwargs(obj, "NetworkPolicy"), pod_selector=selector_from(spec.get("podSelector")),
                             policy_types=tuple(s(t) for t in lst(spec.get("policyTypes"))),
                             ingress=tuple(map(d, lst(spec.get("ingress")))),
                             egress=tuple(map(d, lst(spec.get("egress")))))


def cilium_policy_from(obj: dict[str, Any]) -> KubeNetworkPolicy:
    """A cilium.io/v2 CiliumNetworkPolicy (single `spec` or a `specs` list, merged)."""
    specs = [d(obj.get("spec"))] if obj.get("spec") else []
    specs += [d(x) for x in lst(obj.get("specs"))]
    ingress: list[dict[str, Any]] = []
    egress: list[dict[str, Any]] = []
    selector = selector_from(specs[0].get("endpointSelector")) if specs else selector_from(None)
    for spec in specs:
        ingress += [dict(r) for r in map(d, lst(spec.get("ingress")))]
        ingress += [{**r, "_deny": True} for r in map(d, lst(spec.get("ingressDeny")))]
        egress += [dict(r) for r in map(d, lst(spec.get("egress")))]
        egress += [{**r, "_deny": True} for r in map(d, lst(spec.get("egressDeny")))]
    types = tuple(t for t, rules in (("Ingress", ingress), ("Egress", egress)) if rules
                  or any(k in spec for spec in specs for k in (t.lower(), t.lower() + "Deny")))
    return KubeNetworkPolicy(**meta_kwargs(obj, "CiliumNetworkPolicy"), pod_selector=selector, policy_types=types,
                             ingress=tuple(ingress), egress=tuple(egress))


def _secret_key(value: Any) -> tuple[str, str] | None:
    ref = d(value)
    return (s(ref.get("name")), s(ref.get("key"))) if ref.get("name") else None


def dragonfly_from(obj: dict[str, Any]) -> DragonflyInstance:
    """A dragonflydb.io/v1alpha1 Dragonfly."""
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    return DragonflyInstance(**meta_kwargs(obj, "Dragonfly"), phase=s(status.get("phase")),
                             rolling_update=bool(status.get("isRollingUpdate")), replicas=i(spec.get("replicas"), 1),
                             image=s(spec.get("image")), args=tuple(s(a) for a in lst(spec.get("args"))),
                             env=env_from_list(spec.get("env")),
                             password_secret=_secret_key(d(spec.get("authentication")).get("passwordFromSecret")),
                             acl_secret=_secret_key(spec.get("aclFromSecret")))


def _role(r: dict[str, Any]) -> ManagedRole:
    return ManagedRole(name=s(r.get("name")), ensure=s(r.get("ensure")) or "present", login=bool(r.get("login")),
                       superuser=bool(r.get("superuser")), inherit=r.get("inherit", True) is not False,
                       password_secret=s(d(r.get("passwordSecret")).get("name")),
                       disable_password=bool(r.get("disablePassword")), valid_until=s(r.get("validUntil")),
                       connection_limit=i(r.get("connectionLimit"), -1),
                       in_roles=tuple(s(x) for x in lst(r.get("inRoles"))), comment=s(r.get("comment")))


def cnpg_cluster_from(obj: dict[str, Any]) -> CnpgCluster:
    """A postgresql.cnpg.io/v1 Cluster."""
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    mrs = d(status.get("managedRolesStatus"))
    initdb = d(d(spec.get("bootstrap")).get("initdb"))
    return CnpgCluster(
        **meta_kwargs(obj, "Cluster"), phase=s(status.get("phase")), instances=i(spec.get("instances"), 1),
        ready_instances=i(status.get("readyInstances")), current_primary=s(status.get("currentPrimary")),
        superuser_access=bool(spec.get("enableSuperuserAccess")), app_database=s(initdb.get("database")),
        app_owner=s(initdb.get("owner")),
        managed_roles=tuple(_role(r) for r in map(d, lst(d(spec.get("managed")).get("roles")))),
        roles_by_status={s(k): tuple(s(x) for x in lst(v)) for k, v in d(mrs.get("byStatus")).items()},
        cannot_reconcile={s(k): tuple(s(x) for x in lst(v)) for k, v in d(mrs.get("cannotReconcile")).items()},
        password_status={s(k): (i(d(v).get("transactionID")), s(d(v).get("resourceVersion")))
                         for k, v in d(mrs.get("passwordStatus")).items()},
        role_secret_versions=str_map(d(status.get("secretsResourceVersion")).get("managedRoleSecretVersion")))


def prometheus_rule_from(obj: dict[str, Any]) -> PrometheusRuleSet:
    """A monitoring.coreos.com/v1 PrometheusRule."""
    groups = []
    for g in map(d, lst(d(obj.get("spec")).get("groups"))):
        rules = tuple(AlertRule(alert=s(r.get("alert")), record=s(r.get("record")), expr=s(r.get("expr")),
                                for_=s(r.get("for")), labels=str_map(r.get("labels")),
                                annotations=str_map(r.get("annotations")))
                      for r in map(d, lst(g.get("rules"))))
        groups.append(RuleGroup(s(g.get("name")), s(g.get("interval")), rules))
    return PrometheusRuleSet(**meta_kwargs(obj, "PrometheusRule"), groups=tuple(groups))
