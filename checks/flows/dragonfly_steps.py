"""Dragonfly flow steps D1–D4: server reachable, app credentials, user exists, password accepted."""

from __future__ import annotations

from typing import Any

from checks.flows.dragonfly_gather import ago, app_username, human_seconds, pw12, user_hashes12
from checks.model import Step
from checks.parsers.acl import hashes_equal, password_matches

T1, T2, T3, T4 = ("server reachable", "app credentials located", "user exists and is on", "password accepted")


def d1_reachable(st: Any) -> Step:
    cfg = st.cfg
    server, kube_err = st.server.get()
    cr, pods, _ = server or (None, [], None)
    ev: list[str] = []
    warn = False
    if cr is not None:
        phase_ok = cr.ready and not cr.rolling_update
        warn |= not phase_ok
        ev.append(f"Dragonfly CR {cr.namespace}/{cr.name}: phase {cr.phase or '(none)'}"
                  + (", rolling update in progress" if cr.rolling_update else ""))
    elif kube_err is not None:
        ev.append(f"Kubernetes: {kube_err.title}: {kube_err.message}")
    else:
        ev.append(f"no Dragonfly CR (dragonflydb.io/v1alpha1) in namespace {cfg.namespace}")
    if pods:
        not_ready = [p for p in pods if not p.ready]
        warn |= bool(not_ready)
        ev.append("server pods: " + ", ".join(f"{p.name} {'Ready' if p.ready else 'NOT Ready'} ({p.phase}, "
                                             f"{p.restart_count} restarts)" for p in pods))
    elif server is not None:
        ev.append(f"no server pods found in namespace {cr.namespace if cr else cfg.namespace}")
    admin, err = st.admin.get()
    if err is not None:
        what = ("reading the admin credentials failed" if err.system == "kubernetes"
                else f"PING as {cfg.admin_username} failed")
        ev.insert(0, f"{what}: {err.title}: {err.message}")
        return Step("D1", T1, "fail", "DF_UNREACHABLE", tuple(ev), _d1_fix(cfg, cr, err))
    rs, ep, snap, rtt = admin
    ref = f"Secret {ep.secret_ref.namespace}/{ep.secret_ref.name} key {ep.secret_ref.key}" if ep.secret_ref else "config"
    ev.insert(0, f"PING as {ep.username} (password from {ref}, {pw12(ep.password)}) answered in "
                 f"{rtt * 1000:.1f} ms at {ep.service} (reached via {rs.address})")
    if snap.info is not None:
        i = snap.info
        ev.insert(1, f"server {i.flavor} {i.version}, role {i.role or '?'}, up {human_seconds(i.uptime_s)}, "
                     f"{i.connected_clients} clients")
    if snap.denied:
        warn = True
        ev.append(f"the admin identity may not run: {', '.join(sorted(snap.denied))}")
    fix = "" if not warn else _d1_fix(cfg, cr, None)
    return Step("D1", T1, "warn" if warn else "pass", None, tuple(ev), fix)


def _d1_fix(cfg: Any, cr: Any, err: Any) -> str:
    ns, name = (cr.namespace, cr.name) if cr is not None else (cfg.namespace, "dragonfly")
    if err is not None and err.kind == "auth":
        return (f"The admin password in Secret {cfg.admin_secret} (key {cfg.admin_password_key}) is not the one the "
                f"server requires (CR spec.authentication.passwordFromSecret / DFLY_requirepass). Point the CR at "
                f"that Secret, then: kubectl -n {ns} rollout restart statefulset/{name}")
    return (f"kubectl -n {ns} get dragonfly {name} -o jsonpath='{{.status.phase}}'\n"
            f"kubectl -n {ns} get pods -l app={name}\n"
            f"kubectl -n {ns} get endpoints {name}\n"
            f"kubectl -n {ns} port-forward svc/{name} 6379:6379  # and map it under [endpoints] in the config")


def d2_credentials(st: Any) -> Step:
    if not st.app:
        who = f"user {st.user}" if st.user else "no user"
        return Step("D2", T2, "skip", None, (f"no --app given ({who}): the app's password cannot be tested; D4 "
                                             "compares the ACL source with the live server only",))
    value, err = st.app_reads.get()
    if err is not None:
        return Step("D2", T2, "fail", "DF_APP_CREDENTIALS_NOT_FOUND", (f"{err.title}: {err.message}",),
                    f"kubectl -n {st.app_ns} get deploy,sts  # check the workload name")
    creds, wl, _, _ = value
    st.creds = creds
    r = creds.redis
    if r is None:
        read = ", ".join(creds.secret_names) or "none"
        ev = (f"{creds.workload} in {creds.namespace}: no Redis/Dragonfly settings in its env (REDIS_URL, "
              f"REDIS_HOST/REDIS_USERNAME/REDIS_PASSWORD, *_REDIS_*)", f"Secrets it reads: {read}",
              *creds.problems)
        return Step("D2", T2, "fail", "DF_APP_CREDENTIALS_NOT_FOUND", ev, _d2_fix(st, creds))
    username, user_src = app_username(creds)
    if st.user and st.user != username:
        note = f"--user {st.user} given, but {creds.workload} authenticates as {username}: checking {username}"
    else:
        note = ""
    st.user, st.user_source = username, user_src
    st.app_password = r.password
    st.key_prefix = r.key_prefix
    ev = [f"{creds.workload} container {r.container}: host {r.host or '?'}:{r.port} db {r.db}"
          + (" (TLS)" if r.tls else ""),
          f"user {username} from {user_src or 'default'}"]
    if r.password is not None:
        ev.append(f"password from {r.source.get('password', '?')} ({pw12(r.password)}, {len(r.password)} chars)")
    else:
        ev.append("no password configured: the app sends no AUTH")
    if r.key_prefix:
        ev.append(f"key prefix {r.key_prefix} from {r.source.get('key_prefix', '?')}")
    if note:
        ev.append(note)
    unresolved = [p for p in creds.problems if "not found" in p or "has no key" in p]
    ev += creds.problems
    if r.password is None and unresolved:
        return Step("D2", T2, "fail", "DF_APP_CREDENTIALS_NOT_FOUND", tuple(ev), _d2_fix(st, creds))
    return Step("D2", T2, "pass", None, tuple(ev))


def _d2_fix(st: Any, creds: Any) -> str:
    user = st.user or creds.workload.split("/")[-1]
    return (f"Give {creds.workload} its Dragonfly credentials from a Secret, e.g.\n"
            f"kubectl -n {creds.namespace} create secret generic {user}-redis --from-literal=password=…\n"
            f"env: REDIS_HOST=dragonfly.{st.cfg.namespace}.svc.cluster.local, REDIS_PORT=6379, REDIS_USERNAME={user}, "
            f"REDIS_PASSWORD from secretKeyRef {user}-redis/password")


def acl_line(st: Any, user: str, extra_key: str = "", extra_cmds: str = "") -> str:
    """The user's line for the ACL source: the source's own line (password token kept), else a new one."""
    src = st.acl_source.listing.get(user) if st.acl_source is not None else None
    if src is not None and src.raw:
        toks = src.raw.split()
        toks = [">…" if t.startswith(">") else t for t in toks]
        if extra_key:
            last_key = max((i for i, t in enumerate(toks) if "~" in t), default=len(toks) - 1)
            toks.insert(last_key + 1, extra_key)
        if extra_cmds:
            toks.append(extra_cmds)
        return " ".join(toks)
    prefix = st.key_prefix or f"{user}:"
    line = f"user {user} on #<sha256-of-password> ~{prefix}* {extra_key} +@read +@write -@dangerous {extra_cmds}"
    return " ".join(line.split())


def _password_hint(st: Any) -> str:
    r = st.creds.redis if st.creds is not None else None
    if r is None or r.secret_ref is None:
        return "printf %s \"$PASSWORD\" | sha256sum"
    ref = r.secret_ref
    part = " (take the password part of the URL)" if ref.key.lower() in ("url", "uri") else ""
    return (f"kubectl -n {ref.namespace} get secret {ref.name} -o jsonpath='{{.data.{ref.key}}}' | base64 -d"
            f"{part} | sha256sum")


def reload_fix(st: Any) -> str:
    server = st.server.value
    cr = server[0] if server else None
    ns, name = (cr.namespace, cr.name) if cr is not None else (st.cfg.namespace, "dragonfly")
    return (f"kubectl -n {ns} exec {name}-0 -- sh -c 'redis-cli -a \"$DFLY_requirepass\" ACL LOAD'\n"
            f"# or restart the server: kubectl -n {ns} rollout restart statefulset/{name}")


def d3_user(st: Any) -> Step:
    if not st.user:
        return Step("D3", T3, "skip", None, ("no user given (--user or --app) and none in the error text",))
    snap = st.snapshot
    if "ACL LIST" in snap.denied:
        return Step("D3", T3, "error", None, (f"the admin identity may not run ACL LIST: {snap.denied['ACL LIST']}",))
    live, src, source = st.live_user(), st.source_user(), st.acl_source
    names = ", ".join(snap.acl.names)
    src_label = source.label if source is not None and source.found else "no ACL source"
    if live is None:
        ev = [f"user {st.user} is not in live ACL LIST ({len(snap.acl.names)} users: {names})"]
        if src is not None:
            server = st.server.value
            pods = server[1] if server else []
            started = min((p.started_at for p in pods if p.started_at), default=None)
            ev.append(f"{src_label} (changed {ago(source.last_changed)}) declares: {src.raw}")
            if started is not None:
                ev.append(f"server pod started {ago(started)}"
                          + (": the ACL source changed after that" if source.last_changed and
                             source.last_changed > started else ""))
            return Step("D3", T3, "fail", "DF_ACL_NOT_RELOADED", tuple(ev),
                        f"The ACL source has user {st.user}; load it on the live server:\n{reload_fix(st)}")
        ev.append(f"{src_label} does not declare {st.user} either")
        line = acl_line(st, st.user)
        return Step("D3", T3, "fail", "DF_USER_MISSING", tuple(ev),
                    f"Add to {src_label}:\n{line}\n# <sha256-of-password>: {_password_hint(st)}\n"
                    f"then load it:\n{reload_fix(st)}")
    ev = [f"live: {_rule_summary(live)}"]
    if src is not None:
        ev.append(f"{src_label}: user {st.user} {'on' if src.enabled else 'off'}")
    elif source is not None and source.found:
        ev.append(f"{src_label} does not declare {st.user} (created by hand with ACL SETUSER?)")
    if not live.enabled:
        return Step("D3", T3, "fail", "DF_USER_DISABLED", tuple([f"user {st.user} is off", *ev]),
                    f"In {src_label} change `user {st.user} off` to `on`:\n{acl_line(st, st.user).replace(' off ', ' on ')}"
                    f"\nthen load it:\n{reload_fix(st)}")
    return Step("D3", T3, "pass", None, tuple(ev))


def _rule_summary(user: Any) -> str:
    return (f"user {user.name} {'on' if user.enabled else 'off'}, password {user_hashes12(user)}, keys "
            f"{' '.join(user.key_patterns) or '(none)'}, {len(user.commands)} command rules"
            + (f", db {user.db}" if user.db else ""))


def d4_password(st: Any) -> Step:
    live, src, source = st.live_user(), st.source_user(), st.acl_source
    if not st.user:
        return Step("D4", T4, "skip", None, ("no user to test",))
    if live is None:
        ev = ["user is not live (see D3): AUTH cannot succeed"]
        if src is not None and st.app_password is not None:
            same = password_matches(src, st.app_password)
            ev.append(f"{source.label} {'holds' if same else 'does NOT hold'} the app's password "
                      f"(source {user_hashes12(src)}, app {pw12(st.app_password)})")
        return Step("D4", T4, "skip", None, tuple(ev))
    src_label = source.label if source is not None and source.found else "ACL source"
    if not st.app:
        return _d4_source_only(st, live, src, src_label)
    creds = st.creds
    r = creds.redis
    if r.password is None:
        probe = st.rs.try_auth(None, None)
        ev = [f"{creds.workload} configures no password; a connection without AUTH gets: {probe.message}"]
        if probe.ok:
            return Step("D4", T4, "pass", None, tuple(ev))
        return Step("D4", T4, "fail", "DF_NOAUTH", tuple(ev),
                    f"Give {creds.workload} the password of user {st.user} (REDIS_PASSWORD from a Secret) and "
                    f"REDIS_USERNAME={st.user}")
    pw = st.app_password
    probe = st.rs.try_auth(st.user, pw)
    live_ok, src_ok = password_matches(live, pw), (password_matches(src, pw) if src is not None else None)
    src_live = hashes_equal(src.password_hashes, live.password_hashes) if src is not None else None
    where = r.source.get("password", "?")
    ev = [f"AUTH {st.user} with the app's password ({where}) on a separate connection: "
          + ("accepted" if probe.ok else probe.error_kind or "rejected"),
          f"app Secret {pw12(pw)}", f"live ACL #hash {user_hashes12(live)}",
          f"{src_label} {user_hashes12(src) if src is not None else '(user not declared)'}"]
    if probe.ok:
        if src is not None and not src_ok:
            ev.append(f"{src_label} holds another password: the next ACL LOAD or restart breaks {creds.workload}")
            return Step("D4", T4, "warn", "DF_ACL_DRIFT", tuple(ev),
                        f"Put the app's password hash into {src_label}: {acl_line(st, st.user)}")
        return Step("D4", T4, "pass", None, tuple(ev))
    secret = f"Secret {r.secret_ref.namespace}/{r.secret_ref.name} key {r.secret_ref.key}" if r.secret_ref else where
    ev.insert(0, f"the live server rejects the password {creds.workload} uses for {st.user}")
    if src_ok and not live_ok:
        ev.append(f"stale side: the live server ({src_label} has the app's password, live ACL does not)")
        return Step("D4", T4, "fail", "DF_ACL_NOT_RELOADED", tuple(ev),
                    f"Load the ACL source on the server:\n{reload_fix(st)}")
    if live_ok:
        ev.append("the live hash matches the app's password, yet AUTH failed: the user is off or has selectors")
        return Step("D4", T4, "fail", "DF_PASSWORD_MISMATCH", tuple(ev), reload_fix(st))
    if src_live:
        ev.append(f"stale side: the app {secret} ({src_label} and live agree)")
        fix = (f"Put the password {src_label} holds for {st.user} into {secret}, then restart the app:\n"
               f"kubectl -n {creds.namespace} rollout restart {creds.workload}\n"
               f"# or rotate: write sha256 of the app's password into {src_label} ({_password_hint(st)}) and "
               f"ACL LOAD")
    else:
        ev.append(f"app, live and {src_label} all differ" if src is not None else
                  f"the app's password is not the live one; {src_label} does not declare {st.user}")
        fix = (f"Choose one password: set it in {secret} and as #<sha256> of user {st.user} in {src_label}, then "
               f"ACL LOAD and restart {creds.workload}")
    return Step("D4", T4, "fail", "DF_PASSWORD_MISMATCH", tuple(ev), fix)


def _d4_source_only(st: Any, live: Any, src: Any, src_label: str) -> Step:
    ev = [f"live ACL #hash {user_hashes12(live)}", f"{src_label} {user_hashes12(src) if src else '(not declared)'}",
          "no --app: the app's own password is not tested"]
    if src is None:
        return Step("D4", T4, "skip", None, tuple(ev))
    if src.nopass == live.nopass and hashes_equal(src.password_hashes, live.password_hashes):
        return Step("D4", T4, "pass", None, ("ACL source and live server hold the same password", *ev))
    server = st.server.value
    started = min((p.started_at for p in (server[1] if server else []) if p.started_at), default=None)
    changed = st.acl_source.last_changed
    if changed and started and changed > started:
        ev.append(f"{src_label} changed {ago(changed)}, after the server pod started ({ago(started)})")
        return Step("D4", T4, "fail", "DF_ACL_NOT_RELOADED", tuple(ev), reload_fix(st))
    ev.append("the live password differs from the ACL source (set by hand with ACL SETUSER?)")
    return Step("D4", T4, "warn", "DF_ACL_DRIFT", tuple(ev), reload_fix(st))
