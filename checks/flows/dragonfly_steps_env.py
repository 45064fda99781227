"""Dragonfly flow steps D7–D11: recent denials, ACL source drift, restart after rotation, network path, memory."""

from __future__ import annotations

from typing import Any

from checks.flows.dragonfly_gather import acl_drift, ago, client_pod, human_seconds, stamp, user_drift
from checks.flows.dragonfly_steps import reload_fix
from checks.flows.netpolicy import analyse_ingress, ingress_rule_yaml
from checks.model import Step
from checks.workloads import pods_of, reloader_status, stale_consumer_pods, uses_of

T7, T8, T9, T10, T11 = ("recent denials", "ACL source matches live", "app restarted after rotation",
                        "network path open", "memory headroom")
REDIS_PORT = 6379
_LOG_CODES = (("auth", "D4", "DF_PASSWORD_MISMATCH"), ("key", "D5", "DF_KEY_PATTERN_DENIED"),
              ("command", "D6", "DF_COMMAND_DENIED"))


def d7_denials(st: Any) -> Step:
    snap = st.snapshot
    entries = [e for e in snap.acl_log if not st.user or e.username == st.user]
    who = f"user {st.user}" if st.user else "any user"
    if not entries:
        return Step("D7", T7, "pass", None, (f"no ACL LOG entries for {who} ({len(snap.acl_log)} in total)",))
    pods = st.pod_ips.value or {}
    ev = []
    for e in entries[:10]:
        pod = client_pod(e.client_addr, pods)
        ev.append(f"{e.reason} denial of {e.object or '?'} for {e.username} ×{e.count}, last "
                  f"{human_seconds(e.age_seconds)} ago, from {e.client_addr or '?'} → "
                  + (f"pod {pod}" if pod else "no pod has this IP"))
    if len(entries) > 10:
        ev.append(f"… {len(entries) - 10} more")
    code = None
    if st.user and "D3" not in st.failed:
        reasons = {e.reason for e in entries}
        code = next((c for reason, step, c in _LOG_CODES if reason in reasons and step not in st.failed), None)
        if code:
            ev.append(f"these denials are not explained by an earlier step: {code}")
    return Step("D7", T7, "warn", code, tuple(ev))


def d8_drift(st: Any) -> Step:
    source = st.acl_source
    if source is None:
        return Step("D8", T8, "error", None, ("the ACL source could not be read (see D1)",))
    if not source.found:
        return Step("D8", T8, "warn", None, (f"no ACL source: {source.label} not found (and the Dragonfly CR sets no "
                                             "aclFromSecret); live ACL has no declared origin",))
    snap = st.snapshot
    drift = acl_drift(source.listing, snap.acl)
    head = (f"{source.label} ({len(source.listing.users)} users, changed {ago(source.last_changed)}) vs live ACL LIST "
            f"({len(snap.acl.users)} users)")
    if drift.clean:
        return Step("D8", T8, "pass", None, (head, "no missing, extra or different users"))
    ev = [head]
    if drift.missing:
        ev.append(f"in the source, not live: {', '.join(drift.missing)}")
    if drift.extra:
        ev.append(f"live, not in the source: {', '.join(drift.extra)}")
    ev += [f"{d.name}: {detail}" for d in drift.different for detail in d.details][:8]
    mine = user_drift(drift, st.user) if st.user else ()
    explains = {"missing": "D3", "enabled": "D3", "password": "D4", "keys": "D5", "commands": "D6"}
    relevant = [f for f in mine if explains.get(f) in st.failed]
    if relevant:
        ev.insert(1, f"drift of user {st.user} ({', '.join(relevant)}) explains the failure above")
    fix = f"Make the live server match {source.label}:\n{reload_fix(st)}"
    if drift.extra:
        fix += (f"\n# users only live ({', '.join(drift.extra)}): add them to {source.label}, or remove them "
                "with ACL DELUSER")
    return Step("D8", T8, "fail" if relevant else "warn", "DF_ACL_DRIFT", tuple(ev), fix)


def d9_restarted(st: Any) -> Step:
    if not st.app:
        return Step("D9", T9, "skip", None, ("no --app: which pods use the credentials is unknown",))
    creds, wl, pods, secrets = st.app_reads.value
    if wl is None:
        return Step("D9", T9, "skip", None, (f"{creds.workload} is not a Deployment or StatefulSet",))
    wl_pods = pods_of(wl, pods)
    found = {n: s for n, s in secrets.items() if s is not None and any(u.read_at_start for u in uses_of(wl.template, n))}
    if not found:
        return Step("D9", T9, "pass", None, (f"the Redis password of {wl.short_ref} is not read from a Secret at start",))
    ev: list[str] = []
    summary: list[str] = []
    stale_any = False
    for name, sec in found.items():
        stale = stale_consumer_pods(wl_pods, sec, wl)
        rl = reloader_status(wl, sec)
        ev.append(f"Secret {sec.namespace}/{name} last changed {stamp(sec.last_changed)} ({ago(sec.last_changed)})")
        for p in wl_pods:
            mark = " — BEFORE that change: it still holds the old value" if any(s.pod == p.name for s in stale) else ""
            ev.append(f"pod {p.name} started {stamp(p.started_at)} ({ago(p.started_at)}){mark}")
        ev.append(f"Reloader: {rl.reason}")
        if rl.hash_state != "absent":
            ev.append(f"{rl.hash_source}: {rl.hash_state} (template {rl.template_hash[:12]}, current Secret "
                      f"{rl.expected_hash[:12]})")
        if stale:
            summary.append(f"{len(stale)} pod(s) of {wl.short_ref} started before Secret {name} last changed: "
                           "they run with the old password")
        elif rl.hash_state == "mismatch":
            summary.append(f"the pod template of {wl.short_ref} records an older hash of Secret {name}")
        stale_any |= bool(stale) or rl.hash_state == "mismatch"
    if not wl_pods:
        ev.append(f"no running pods of {wl.short_ref}")
    if not stale_any:
        return Step("D9", T9, "pass", None, tuple(ev))
    ns = wl.namespace
    fix = (f"kubectl -n {ns} rollout restart {wl.short_ref}\n"
           f"kubectl -n {ns} annotate {wl.short_ref} reloader.stakater.com/auto=\"true\"  # restart on the next rotation")
    return Step("D9", T9, "fail", "DF_POD_STALE_SECRET", (*summary, *ev), fix)


def d10_network(st: Any) -> Step:
    if not st.app:
        return Step("D10", T10, "skip", None, ("no --app: the client namespace is unknown",))
    value, err = st.policies.get()
    if err is not None:
        return Step("D10", T10, "error", None, (f"{err.title}: {err.message}",))
    policies, notes = value
    server = st.server.value
    cr, pods = (server[0], server[1]) if server else (None, [])
    server_labels = pods[0].labels if pods else {"app": cr.name if cr else "dragonfly"}
    _, wl, _, _ = st.app_reads.value
    client_labels = wl.template.labels if wl is not None else {}
    ns = cr.namespace if cr is not None else st.cfg.namespace
    verdict = analyse_ingress(policies, server_labels, st.app_ns, client_labels, REDIS_PORT, ("redis",))
    probe = _canary(st, cr, ns)
    canary = probe.evidence
    ev = [*notes, *verdict.notes]
    if verdict.mode == "open":
        return _probed(Step("D10", T10, "pass", None, (f"no NetworkPolicy or CiliumNetworkPolicy in {ns} selects "
                                                       f"the Dragonfly pods: ingress is open", *ev, *canary)), probe)
    ev.insert(0, f"policies selecting the Dragonfly pods ({verdict.mode} mode): {', '.join(verdict.policies)}")
    if verdict.allowed:
        ev.insert(0, f"{verdict.allowed_by} admits namespace {st.app_ns} to port {REDIS_PORT}")
        return _probed(Step("D10", T10, "pass", None, (*ev, *canary)), probe)
    ev.insert(0, f"namespace {st.app_ns} may not reach port {REDIS_PORT} of the Dragonfly pods: "
              + (f"denied by {verdict.denied_by}" if verdict.denied_by else "no ingress rule admits it"))
    if verdict.mode == "audit":
        ev.append("not enforced (enableDefaultDeny.ingress: false): allowed today, dropped once enforced")
    ev += canary
    target = next((p for p in verdict.policies if p.startswith(verdict.enforcing_kind)), verdict.policies[0])
    fix = f"Add to spec.ingress of {target}:\n{ingress_rule_yaml(verdict.enforcing_kind, st.app_ns, REDIS_PORT)}"
    return Step("D10", T10, "warn" if verdict.mode == "audit" else "fail", "DF_NETWORK_POLICY_DENIED", tuple(ev), fix)


def _canary(st: Any, cr: Any, ns: str) -> Any:
    """The canary pod probe (only with writes allowed; the gate says why not otherwise)."""
    from checks.flows.dragonfly_canary import run_canary
    from checks.writes import WriteGate

    host, port = f"{cr.name if cr is not None else 'dragonfly'}.{ns}.svc", REDIS_PORT
    admin = st.admin.value if st.admin is not None and st.admin.error is None else None
    service = getattr(admin[1], "service", "") if admin else ""
    if service and ":" in service:
        host, _, text = service.rpartition(":")
        port = int(text) if text.isascii() and text.isdigit() else REDIS_PORT
    return run_canary(st.conns.kube, st.gate or WriteGate.disabled(), st.app_ns, host, port)


def _probed(step: Step, probe: Any) -> Step:
    """A passing D10 whose canary could not connect becomes a warning (the policies admit it, the network not)."""
    if probe.reached is False:
        return Step(step.id, step.title, "warn", None, step.evidence, step.fix)
    return step


def _mib(n: int | None) -> str:
    return "?" if n is None else f"{n / 1048576:.1f} MiB"


def d11_memory(st: Any) -> Step:
    info = st.snapshot.info
    if info is None:
        return Step("D11", T11, "error", None, ("INFO could not be read",))
    ratio = info.memory_used_ratio
    pct = f"{ratio * 100:.0f}%" if ratio is not None else "no limit"
    policy = info.maxmemory_policy or "?"
    ev = [f"used {_mib(info.used_memory)} of maxmemory {_mib(info.maxmemory)} ({pct}), peak "
          f"{_mib(info.used_memory_peak)}, RSS {_mib(info.used_memory_rss)}",
          f"cache_mode {info.cache_mode or 'n/a (Redis)'}, eviction policy {policy}, evicted keys {info.evicted_keys}"]
    no_evict = policy == "noeviction" or info.cache_mode == "store"
    oom_text = st.error_info.code == "OOM"
    full = ratio is not None and ratio >= 1.0 and no_evict
    if not (oom_text or full):
        return Step("D11", T11, "pass", None, tuple(ev))
    if oom_text:
        ev.insert(0, "the app logged an out-of-memory error (-ERR Out of memory / OOM command not allowed)")
    if full:
        ev.insert(0, f"memory is full ({pct}) and nothing may be evicted ({policy})")
    server = st.server.value
    cr = server[0] if server else None
    ref = f"dragonfly/{cr.name} -n {cr.namespace}" if cr is not None else "the Dragonfly CR"
    fix = (f"Raise --maxmemory in spec.args of {ref} (and the container memory limit with it), or enable cache mode "
           f"(--cache_mode=true) so Dragonfly evicts instead of refusing writes")
    return Step("D11", T11, "fail", "DF_OOM", tuple(ev), fix)
