"""Dragonfly ACL flow D1–D11 (troubleshooting-flows §1): WRONGPASS, NOAUTH, NOPERM, OOM, connection errors.

Remote reads run concurrently (admin snapshot, the CR and ACL source, the app's credentials, network
policies, pod IPs); each step waits only for the reads it needs and is reported through `on_step` as
soon as it is decided.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

from checks.config import DragonflyConfig
from checks.errors import SourceError
from checks.flows.classify import classify_error
from checks.flows.dragonfly_gather import admin_source, find_dragonfly, pod_ip_map, read_acl_source
from checks.flows.dragonfly_subject import REASONS, app_for_user, user_from_acl_log
from checks.model import FlowResult, Step, StepRecorder
from checks.parsers.redis_errors import RedisErrorInfo, classify_redis_error
from checks.tasks import Tasks
from checks.writes import WriteGate, gate_for

_SECRET_IN_SOURCE = re.compile(r"secret ([a-z0-9][-a-z0-9.]*)/([a-z0-9][-a-z0-9.]*) key")


@dataclass
class Outcome:
    """A concurrent read: its value, or the SourceError that stopped it."""

    future: Future[Any]

    def get(self) -> tuple[Any, SourceError | None]:
        try:
            return self.future.result(), None
        except SourceError as exc:
            return None, exc

    @property
    def value(self) -> Any:
        return self.get()[0]

    @property
    def error(self) -> SourceError | None:
        return self.get()[1]


@dataclass
class FlowState:
    """What the steps share: inputs, the concurrent reads, and what earlier steps decided."""

    conns: Any
    cfg: DragonflyConfig
    user: str | None
    app: str | None
    error: str | None
    allow_writes: bool
    gate: Any = None
    """checks.writes.WriteGate for D10's canary pod (refuses when writes are not allowed)."""
    error_info: RedisErrorInfo = field(default_factory=lambda: RedisErrorInfo(None))
    start_step: str = ""
    admin: Outcome | None = None
    """(RedisSource, RedisEndpoint, RedisSnapshot, ping seconds)."""
    server: Outcome | None = None
    """(DragonflyInstance | None, server pods, AclSource)."""
    app_reads: Outcome | None = None
    """(AppCredentials, KubeWorkload | None, pods of the app namespace, {secret name: KubeSecret | None})."""
    policies: Outcome | None = None
    """(policies selecting nothing yet: every NetworkPolicy and CiliumNetworkPolicy of the namespace, notes)."""
    pod_ips: Outcome | None = None
    """{pod IP: namespace/pod}."""
    app_ns: str = ""
    creds: Any = None
    app_password: str | None = field(default=None, repr=False)
    user_source: str = ""
    failed: dict[str, Step] = field(default_factory=dict)
    key_prefix: str = ""

    @property
    def rs(self) -> Any:
        value = self.admin.value if self.admin else None
        return value[0] if value else None

    @property
    def snapshot(self) -> Any:
        value = self.admin.value if self.admin else None
        return value[2] if value else None

    @property
    def acl_source(self) -> Any:
        value = self.server.value if self.server else None
        return value[2] if value else None

    def live_user(self) -> Any:
        snap = self.snapshot
        return snap.acl.get(self.user) if snap is not None and self.user else None

    def source_user(self) -> Any:
        src = self.acl_source
        return src.listing.get(self.user) if src is not None and self.user else None


def _admin_read(conns: Any) -> tuple[Any, Any, Any, float]:
    rs, ep = admin_source(conns)
    rtt = rs.ping()  # PING's own round trip (a replayed bundle answers with the captured one)
    return rs, ep, rs.snapshot(), rtt


def _server_read(conns: Any, cfg: DragonflyConfig) -> tuple[Any, list[Any], Any]:
    kube = conns.kube
    cr = find_dragonfly(kube, cfg)
    selector = f"app={cr.name}" if cr is not None else "app=dragonfly"
    pods = kube.list_pods(cr.namespace if cr is not None else cfg.namespace, label_selector=selector)
    return cr, pods, read_acl_source(kube, cfg, cr)


def _app_read(conns: Any, namespace: str, workload: str) -> tuple[Any, Any, list[Any], dict[str, Any]]:
    from checks.appcreds import find_app_credentials, parse_workload_ref

    kube = conns.kube
    creds = find_app_credentials(kube, namespace, workload)
    kind, name = parse_workload_ref(workload)
    wl = None
    if kind in (None, "Deployment"):
        wl = kube.get_deployment(namespace, name)
    if wl is None and kind in (None, "StatefulSet"):
        wl = kube.get_statefulset(namespace, name)
    pods = kube.list_pods(namespace)
    names: list[str] = []
    if creds.redis is not None:
        if creds.redis.secret_ref is not None:
            names.append(creds.redis.secret_ref.name)
        for text in creds.redis.source.values():
            names += [m.group(2) for m in _SECRET_IN_SOURCE.finditer(text) if m.group(1) == namespace]
    secrets = {n: kube.get_secret(namespace, n) for n in dict.fromkeys(names)}
    return creds, wl, pods, secrets


def _policy_read(conns: Any, cfg: DragonflyConfig) -> tuple[list[Any], list[str]]:
    kube, notes, found = conns.kube, [], []
    for what, fn in (("CiliumNetworkPolicy", kube.list_cilium_network_policies),
                     ("NetworkPolicy", kube.list_network_policies)):
        try:
            found += fn(cfg.namespace)
        except SourceError as exc:
            if exc.kind not in ("notfound", "forbidden"):
                raise
            notes.append(f"{what}: {exc.message}")
    return found, notes


def _split_app(app: str, default_ns: str) -> tuple[str, str]:
    ns, sep, rest = app.strip().partition("/")
    if not sep:
        return default_ns, ns
    return ns, rest


def run_dragonfly(conns: Any, *, app: str | None = None, error: str | None = None,
                  allow_writes: bool | WriteGate = False, on_step: Callable[[Step], None] | None = None,
                  user: str | None = None,
                  **_: Any) -> FlowResult:
    """Run D1–D11 for an app (`NS/WORKLOAD`) and/or an ACL user; stops after D1 or D2 fails."""
    from checks.flows import dragonfly_steps as s1
    from checks.flows import dragonfly_steps_env as s3
    from checks.flows import dragonfly_steps_perm as s2

    cfg = conns.config.dragonfly
    gate = gate_for(conns, allow_writes) if app else WriteGate.disabled()  # only D10 (needs --app) writes
    st = FlowState(conns, cfg, user or None, app or None, error or None, gate.allowed, gate)
    if error:
        st.error_info = classify_redis_error(error)
        cls = classify_error(error)
        if cls is not None and cls.flow == "dragonfly":
            st.start_step = cls.start_step
            st.user = st.user or cls.subject.get("user") or None
    rec = StepRecorder(on_step=on_step)

    def add(step: Step) -> Step:
        if step.status in ("fail", "error"):
            st.failed[step.id] = step
        return rec.add(step)

    pool = Tasks(max_workers=5, thread_name_prefix="df-flow")
    try:
        st.admin = Outcome(pool.submit(_admin_read, conns))
        st.server = Outcome(pool.submit(_server_read, conns, cfg))
        if st.app:
            ns, workload = _split_app(st.app, conns.kube.default_namespace)
            st.app_ns = ns
            st.app_reads = Outcome(pool.submit(_app_read, conns, ns, workload))
        st.policies = Outcome(pool.submit(_policy_read, conns, cfg))
        st.pod_ips = Outcome(pool.submit(_client_pods, st))
        targets = None
        if not st.app and (st.user or st.error_info.code in REASONS):  # a user given, or one the ACL LOG names
            from checks.targets import list_targets

            targets = Outcome(pool.submit(list_targets, conns))  # to find the app of the user
        if add(s1.d1_reachable(st)).status == "fail":
            return _result(st, rec)
        notes = _infer_subject(st, targets, pool) if targets is not None else []
        d2 = s1.d2_credentials(st)
        if add(replace(d2, evidence=(*notes, *d2.evidence)) if notes else d2).status == "fail":
            return _result(st, rec)
        for step_fn in (s1.d3_user, s1.d4_password, s2.d5_keys, s2.d6_commands, s3.d7_denials, s3.d8_drift,
                        s3.d9_restarted, s3.d10_network, s3.d11_memory):
            add(step_fn(st))
        return _result(st, rec)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        try:
            rs = st.rs if st.admin is not None else None
        except Exception:  # noqa: BLE001 - the read's own failure was reported by D1
            rs = None
        if rs is not None:
            rs.close()


def _client_pods(st: FlowState) -> dict[str, str]:
    """The pods behind the ACL LOG's client addresses (D7, and the user an error names none of), once the admin
    snapshot is in; none when it failed (D1 says why)."""
    snap = st.snapshot
    return pod_ip_map(st.conns.kube, [e.client_addr for e in snap.acl_log]) if snap is not None else {}


def _infer_subject(st: FlowState, targets: Outcome, pool: Tasks) -> list[str]:
    """With no app given: the user from the ACL LOG when the error names none, then the app that authenticates as
    that user, whose credentials are then read (checks.flows.dragonfly_subject). Evidence lines for D2."""
    notes: list[str] = []
    if not st.user:
        if st.snapshot is None:
            return notes
        pods = st.pod_ips.value if st.pod_ips is not None else None  # its failure is D7's to report
        st.user, why = user_from_acl_log(st.snapshot.acl_log, st.error_info.code, pods)
        notes.append(why)
        if not st.user:
            return notes
    found, err = targets.get()
    if err is not None:
        notes.append(f"the workloads could not be scanned for user {st.user} ({err.title}: {err.message}): give the "
                     "app to check its password")
        return notes
    app, why = app_for_user(found, st.user)
    notes.append(why)
    if app:
        st.app = app
        st.app_ns, workload = _split_app(app, st.conns.kube.default_namespace)
        st.app_reads = Outcome(pool.submit(_app_read, st.conns, st.app_ns, workload))
    return notes


def _result(st: FlowState, rec: StepRecorder) -> FlowResult:
    subject = {"user": st.user or "", "app": st.app or ""}
    if st.error_info.code:
        subject["error_class"] = st.error_info.code
    if st.start_step:
        subject["start_step"] = st.start_step
    return FlowResult("dragonfly", {k: v for k, v in subject.items() if v}, tuple(rec.steps))
