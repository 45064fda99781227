"""Headless data of the Dragonfly pane: ACL users with their consumers, ACL LOG, memory, slowlog, config and drift.

`build_view` is pure (snapshots feed it parsed fixed payloads); `collect_view` does the reads concurrently.
"""

from __future__ import annotations

from typing import Any

from checks.dragonfly_view_models import Denial, DragonflyView, MemoryStats, SlowEntry, UserRow
from checks.errors import SourceError
from checks.flows.dragonfly_gather import (AclSource, acl_drift, admin_source, client_pod, find_consumers,
                                           find_dragonfly, hash12, pod_ip_map, read_acl_source)
from checks.model import Finding
from checks.parsers.acl import AclUser
from checks.redact import REDACTED, redact_urls
from checks.tasks import Tasks

SLOWLOG_RECOMMENDED = {"slowlog-log-slower-than": "10000", "slowlog-max-len": "128"}
"""The seed's recommended slowlog settings (µs, entries)."""
_NEVER_SHOWN = ("auth", "hello", "migrate")


def safe_rule(user: AclUser, fingerprints: tuple[str, ...] | None = None) -> str:
    """A user's rule in ACL LIST form with password hashes shortened to fingerprints (`fingerprints`: the
    user's `hash12`s when the caller has them)."""
    parts = ["user", user.name, "on" if user.enabled else "off"]
    if user.nopass:
        parts.append("nopass")
    else:
        parts += [f"#{fp[7:]}…" for fp in (fingerprints or tuple(hash12(h) for h in user.password_hashes))]
    parts += [*user.key_patterns, *user.channel_patterns, *user.commands, *user.selectors, *user.other]
    return " ".join(parts + ([user.db] if user.db else []))


def short_hashes(rule: str) -> str:
    """Shorten `#<hex>` password hashes in an ACL line to fingerprints."""
    return " ".join(f"#{t[1:13].lower()}…" if t[:1] == "#" and _is_hex(t[1:]) else t for t in rule.split())


def _is_hex(text: str) -> bool:
    return len(text) >= 15 and all(c in "0123456789abcdefABCDEF" for c in text)


def _split_rules(user: AclUser) -> tuple[tuple[str, ...], tuple[str, ...]]:
    allowed: list[str] = []
    denied: list[str] = []
    for rule in user.commands:
        if rule[:1] == "+" or rule == "allcommands":
            allowed.append(rule)
        elif rule[:1] == "-" or rule == "nocommands":
            denied.append(rule)
    return tuple(allowed), tuple(denied)


def _row(user: AclUser, consumers: dict[str, tuple[str, ...]], state: str, live: bool,
         source_rule: str) -> UserRow:
    allowed, denied = _split_rules(user)
    fps = ("nopass",) if user.nopass else tuple(hash12(h) for h in user.password_hashes)
    return UserRow(user.name, user.enabled if live else None, user.key_patterns, user.channel_patterns, allowed,
                   denied, (user.db or "").lstrip("$"), fps, consumers.get(user.name, ()), state,
                   safe_rule(user, fps), short_hashes(source_rule), user)


def _revealed(command: str, args: tuple[str, ...], redacted: tuple[str, ...]) -> str:
    low = command.lower()
    sensitive = low in _NEVER_SHOWN or (low == "acl" and args[:1] and args[0].lower() == "setuser") or (
        low == "config" and any(a.lower() in ("requirepass", "masterauth") for a in args))
    shown = redacted if sensitive else tuple(REDACTED if a[:1] in (">", "<") else a for a in args)
    return redact_urls(" ".join((command, *shown)))


def slowlog_findings(config: dict[str, str]) -> tuple[Finding, ...]:
    """A warning per slowlog setting that differs from the seed's 10000 µs / 128 entries."""
    out = []
    for key, want in SLOWLOG_RECOMMENDED.items():
        have = config.get(key, config.get(key.replace("-", "_")))
        if have is None or have == want:
            continue
        out.append(Finding("dragonfly", "slowlog", "DF-SLOWLOG", f"{key} is {have}, the seed recommends {want}",
                           "warn", "DF_SLOWLOG_CONFIG", (f"CONFIG GET {key} → {have}",),
                           f"CONFIG SET {key} {want}  (and --{key.replace('-', '_')}={want} in the CR's spec.args)"))
    return tuple(out)


def build_view(snapshot: Any, acl_source: AclSource | None, consumers: dict[str, tuple[str, ...]],
               pod_ips: dict[str, str], service: str = "", cr: Any = None,
               problems: tuple[str, ...] = ()) -> DragonflyView:
    """Assemble the pane's data from a RedisSnapshot and the cluster-side reads (pure)."""
    info = snapshot.info
    server = f"{info.flavor} {info.version}" if info else "server"
    server += f" at {service}" if service else ""
    src_listing = acl_source.listing if acl_source is not None and acl_source.found else None
    drift = acl_drift(src_listing, snapshot.acl) if src_listing is not None else None
    drift_rows: list[tuple[str, str, str]] = []
    users: list[UserRow] = []
    different = {d.name: d for d in drift.different} if drift else {}
    for u in snapshot.acl.users:
        src = src_listing.get(u.name) if src_listing is not None else None
        diff = different.get(u.name)
        state = "live" if src_listing is None or (src is not None and diff is None) else (
            "not in source" if src is None else f"drift: {', '.join(diff.fields)}")
        users.append(_row(u, consumers, state, True, src.raw if src is not None else ""))
    if drift is not None:
        for name in drift.missing:
            src = src_listing.get(name)
            users.append(_row(src, consumers, "not loaded", False, src.raw))
            drift_rows.append((name, "missing", "declared in the ACL source, not on the live server (ACL LOAD?)"))
        drift_rows += [(name, "extra", "live only (created with ACL SETUSER?)") for name in drift.extra]
        drift_rows += [(d.name, "different", detail) for d in drift.different for detail in d.details]
    denials = tuple(Denial(e.username, e.reason, e.object, e.count, e.age_seconds, e.client_addr,
                           client_pod(e.client_addr, pod_ips)) for e in snapshot.acl_log)
    memory = None
    if info is not None:
        memory = MemoryStats(info.used_memory, info.maxmemory, info.used_memory_peak, info.used_memory_rss,
                             info.cache_mode or "n/a (Redis)", info.maxmemory_policy or "?", info.evicted_keys)
    slow = tuple(SlowEntry(e.id, e.time, e.duration_us, " ".join(e.redacted_args()),
                           _revealed(e.command, e.args, e.redacted_args()[1:]), e.client,
                           client_pod(e.client, pod_ips)) for e in snapshot.slowlog)
    cfg = snapshot.config
    aclfile = cfg.get("aclfile") or next((a.split("=", 1)[1] for a in (cr.args if cr else ())
                                          if a.startswith("--aclfile=")), "")
    maxmemory = cfg.get("maxmemory", str(info.maxmemory) if info and info.maxmemory is not None else "?")
    if maxmemory.isascii() and maxmemory.isdigit() and int(maxmemory):
        maxmemory += f" ({int(maxmemory) / 1048576:.1f} MiB)"
    config = (("server", server), ("maxmemory", maxmemory),
              ("maxmemory policy", memory.policy if memory else "?"),
              ("threads", str(info.thread_count) if info and info.thread_count else "n/a (Redis)"),
              ("cache mode", memory.cache_mode if memory else "?"),
              ("ACL file in use", aclfile or "(none: users live only in memory)"),
              ("ACL source", acl_source.label if acl_source is not None and acl_source.found
               else "(none found)"),
              *((k, cfg.get(k, cfg.get(k.replace("-", "_"), "?"))) for k in SLOWLOG_RECOMMENDED),
              ("clients", f"{info.connected_clients} of {info.max_clients}" if info else "?"))
    findings = slowlog_findings(cfg)
    if drift is not None and not drift.clean:
        findings += (Finding("dragonfly", "acl", "D8", "ACL source and live ACL differ", "warn", "DF_ACL_DRIFT",
                             tuple(f"{u}: {k} {d}" for u, k, d in drift_rows[:8])),)
    source_label = acl_source.label if acl_source is not None else "(not read)"
    if acl_source is not None and not acl_source.found:
        source_label += " (not found)"
    return DragonflyView(server, tuple(users), denials, memory, slow, findings, config, source_label,
                         tuple(drift_rows), problems)


CONSUMER_TTL = 60.0
"""Seconds the workload scan behind the consumers column is reused across refreshes (`r` scans again)."""


def _consumers(conns: Any) -> dict[str, tuple[str, ...]]:
    kept = getattr(conns, "kept", None)
    if kept is None:
        return find_consumers(conns)
    return kept("dragonfly-consumers", CONSUMER_TTL, lambda: find_consumers(conns))


def admin_snapshot(conns: Any) -> tuple[Any, Any]:
    """(RedisSnapshot as the admin identity, RedisEndpoint), shared by the panes of one refresh (the Overview
    counts the users the Dragonfly pane lists: one ACL LIST of thousands of users, not two;
    `Connections.recent`). Always through `admin_source`'s arguments, so a replay finds the call whichever
    pane made it."""
    rs, ep = admin_source(conns)

    def read() -> Any:
        try:
            return rs.snapshot()
        finally:
            rs.close()

    recent = getattr(conns, "recent", None)
    if recent is None:
        return read(), ep
    try:
        return recent(("redis-snapshot", ep.host, ep.port, ep.username, ep.password), read), ep
    finally:
        rs.close()  # unused when another pane's snapshot answered (closing an unopened source is a no-op)


def collect_view(conns: Any, *, consumers: bool = True) -> DragonflyView:
    """Read everything the pane shows; the Redis snapshot is required, the cluster reads are best effort.

    `consumers=False` skips the workload scan behind the consumers column (headless checks need no names).
    """
    cfg = conns.config.dragonfly
    problems: list[str] = []

    def soft(fn: Any, default: Any, what: str) -> Any:
        try:
            return fn()
        except SourceError as exc:
            problems.append(f"{what}: {exc.title}: {exc.message}")
            return default

    def cluster_side() -> tuple[Any, Any]:
        cr = soft(lambda: find_dragonfly(conns.kube, cfg), None, "Dragonfly CR")
        return cr, soft(lambda: read_acl_source(conns.kube, cfg, cr), None, "ACL source")

    def redis_side() -> tuple[Any, Any]:
        return admin_snapshot(conns)

    with Tasks(max_workers=4, thread_name_prefix="df-view") as pool:
        snap_f = pool.submit(redis_side)
        side_f = pool.submit(cluster_side)
        cons_f = pool.submit(soft, lambda: _consumers(conns) if consumers else {}, {}, "consumers")
        snapshot, ep = snap_f.result()
        # the pods behind the clients the server logged (ACL LOG, SLOWLOG), asked by IP: not every pod
        clients = [e.client_addr for e in snapshot.acl_log] + [e.client for e in snapshot.slowlog]
        ips = soft(lambda: pod_ip_map(conns.kube, clients), {}, "pods")
        cr, source = side_f.result()
        consumers = cons_f.result()
    return build_view(snapshot, source, consumers, ips, ep.service, cr, tuple(problems))


def system_findings(conns: Any) -> tuple[Finding, ...]:
    """Server-level findings for `clusterdeck check`: reachable, memory, slowlog settings, ACL drift."""
    view = collect_view(conns, consumers=False)
    out = [Finding("dragonfly", "server", "D1", "server reachable", "pass", None, (view.server,))]
    mem = view.memory
    if mem is not None and mem.ratio is not None:
        pct = f"{mem.ratio * 100:.0f}% of maxmemory"
        full = mem.ratio >= 1.0 and (mem.policy == "noeviction" or mem.cache_mode == "store")
        status = "fail" if full else "warn" if mem.ratio >= 0.9 else "pass"
        out.append(Finding("dragonfly", "memory", "D11", f"memory headroom: {pct}", status, "DF_OOM" if full else None,
                           (f"used {mem.used} of {mem.maxmemory} bytes, policy {mem.policy}, cache mode "
                            f"{mem.cache_mode}, evicted keys {mem.evicted_keys}",),
                           "raise --maxmemory or enable cache mode (--cache_mode=true)" if status != "pass" else ""))
    slow = [f for f in view.findings if f.subject == "slowlog"]
    out += slow or [Finding("dragonfly", "slowlog", "DF-SLOWLOG", "slowlog settings as the seed recommends", "pass")]
    drift = [f for f in view.findings if f.code == "DF_ACL_DRIFT"]
    out += drift or [Finding("dragonfly", "acl", "D8", "ACL source matches live", "pass", None, (view.acl_source,))]
    return tuple(out)

