"""Steps C2–C5 and C7 of the CNPG flow, judged from RoleFacts (pure: the pane uses them too)."""

from __future__ import annotations

from datetime import timedelta

from checks.flows import cnpg_fixes as fx
from checks.flows.cnpg_facts import BASIC_AUTH, RELOAD_LABEL, RoleFacts, is_reserved, span, when
from checks.model import Step
from checks.redact import describe_secret

TITLES = {"C1": "cluster reachable", "C2": "role declared", "C3": "password Secret sound",
          "C4": "operator applied it", "C5": "role usable in the database", "C6": "Secret's password logs in",
          "C7": "consumers picked it up"}
EXPIRY_WARNING = timedelta(days=7)
Issue = tuple[str, "str | None", str, str]
"""(status fail|warn, code, evidence, fix)."""


def make_step(sid: str, issues: list[Issue], info: list[str], skip: str = "") -> Step:
    """Collapse a step's issues: the worst status wins, its first code is the step's code."""
    if skip:
        return Step(sid, TITLES[sid], "skip", None, (skip, *info))
    if not issues:
        return Step(sid, TITLES[sid], "pass", None, tuple(info))
    issues = sorted(issues, key=lambda i: 0 if i[0] == "fail" else 1)
    worst = issues[0][0]
    code = next((c for s, c, _, _ in issues if s == worst and c), None)
    fix = "\n".join(dict.fromkeys(f for *_, f in issues if f))
    return Step(sid, TITLES[sid], worst, code, tuple(e for _, _, e, _ in issues) + tuple(info), fix)  # type: ignore[arg-type]


def c2_declared(f: RoleFacts) -> Step:
    c = f.cluster
    spec = f.spec
    where = f"spec.managed.roles of Cluster {c.ref}"
    if spec is None:
        note = f" (status bucket: {f.bucket})" if f.bucket else ""
        fix = fx.add_role(c.namespace, c.name, f.role, f.secret_name)
        if is_reserved(f.role):
            note += "; it is reserved for the operator: applications should get their own role"
            fix = fx.reserved_role(c.namespace, c.name)
        return make_step("C2", [("fail", "CNPG_ROLE_NOT_MANAGED", f"role {f.role} is not declared in {where}{note}",
                                 fix)], [])
    if spec.ensure != "present":
        return make_step("C2", [("fail", "CNPG_ROLE_NOT_MANAGED", f"role {f.role} has ensure: {spec.ensure} in "
                                 f"{where}: the operator drops it", fx.set_login(c.namespace, c.name, f.role))], [])
    if not spec.login:
        return make_step("C2", [("fail", "CNPG_ROLE_NOLOGIN", f"role {f.role} is declared without login: true "
                                 "(CNPG defaults login to false): the server answers `role is not permitted to log in`",
                                 fx.set_login(c.namespace, c.name, f.role))], [])
    parts = [f"ensure {spec.ensure}", "login true", f"passwordSecret {spec.password_secret or '(none)'}",
             f"validUntil {spec.valid_until or '(never)'}", f"connectionLimit {spec.connection_limit}"]
    if spec.in_roles:
        parts.append("inRoles " + ",".join(spec.in_roles))
    return make_step("C2", [], [f"declared in {where}: " + ", ".join(parts)])


def c3_secret(f: RoleFacts) -> Step:
    c, ns, name = f.cluster, f.ns, f.secret_name
    spec = f.spec
    if spec is not None and spec.disable_password:
        return make_step("C3", [], [], skip=f"role {f.role} has disablePassword: true (no password to check)")
    if not name and spec is None:
        return make_step("C3", [], [], skip=f"role {f.role} is not managed and no app Secret is known (pass --app)")
    if not name:
        return make_step("C3", [("fail", "CNPG_SECRET_MISSING", f"role {f.role} declares no passwordSecret: the "
                                 "operator never sets its password", fx.add_role(ns, c.name, f.role, ""))], [])
    sec = f.secret
    if sec is None:
        return make_step("C3", [("fail", "CNPG_SECRET_MISSING", f"Secret {ns}/{name} not found (passwordSecret of "
                                 f"role {f.role})", fx.create_secret(ns, name, f.role))], [])
    issues: list[Issue] = []
    missing = [k for k in ("username", "password") if k not in sec.data]
    if missing:
        issues.append(("fail", "CNPG_SECRET_KEYS_MISSING", f"Secret {ns}/{name} has no key {' and '.join(missing)} "
                       f"(keys: {', '.join(sec.keys) or 'none'}); the operator reports "
                       f"`{missing[0]} key doesn't exist inside the secret`", fx.create_secret(ns, name, f.role)))
    user = f.secret_username
    if user is not None and user.strip() != f.role:
        said = "; ".join(t for t in f.cannot_reconcile if "username" in t)
        status = (f"status.managedRolesStatus.cannotReconcile says: {said}" if said else
                  "status says nothing: before CNPG v1.30 this shows only in the primary's instance-manager log "
                  f"as `wrong username '{user}' in secret, expected '{f.role}'`")
        issues.append(("fail", "CNPG_USERNAME_MISMATCH", f"Secret {ns}/{name} has username {user!r}, the role is "
                       f"{f.role!r}: the operator refuses to apply its password; {status}",
                       fx.fix_username(ns, name, f.role)))
    pw = sec.value("password")
    if pw is not None and pw != pw.strip():
        issues.append(("fail", "CNPG_SECRET_TRAILING_NEWLINE", f"the password in Secret {ns}/{name} ends with "
                       f"whitespace ({describe_secret(pw)}): CNPG trims it, the apps send it as is",
                       fx.rewrite_password(ns, name, f.role)))
    if f.managed and RELOAD_LABEL not in sec.labels:
        synced = f.rv_synced
        text = (f"Secret {ns}/{name} has no {RELOAD_LABEL} label: the operator does not watch it, so a rotation "
                "waits for the next periodic reconcile")
        if synced is False:
            text += (f"; it changed {when(sec.last_changed)} (resourceVersion {sec.resource_version}) and the "
                     f"operator still holds resourceVersion {f.status_rv}")
        issues.append(("fail" if synced is False else "warn", "CNPG_RELOAD_LABEL_MISSING", text,
                       fx.reload_label(ns, name)))
    if sec.type != BASIC_AUTH:
        issues.append(("warn", None, f"Secret {ns}/{name} is of type {sec.type}; CNPG documents {BASIC_AUTH}", ""))
    info = [f"Secret {ns}/{name}: type {sec.type}, keys {', '.join(sec.keys) or 'none'}, username "
            f"{user!r}, label {RELOAD_LABEL}={sec.labels.get(RELOAD_LABEL, '(absent)')}, resourceVersion "
            f"{sec.resource_version}, last changed {when(sec.last_changed)}, password {describe_secret(pw)}"]
    return make_step("C3", issues, info)


def c4_applied(f: RoleFacts) -> Step:
    c, ns = f.cluster, f.ns
    if not f.managed:
        return make_step("C4", [], [], skip=f"role {f.role} is not managed by the operator")
    bucket = f.bucket or "(not listed)"
    info = [f"status.managedRolesStatus: {f.role} is {bucket}; passwordStatus resourceVersion "
            f"{f.status_rv or '(none)'}, transactionID {f.transaction_id or '(none)'}"]
    if f.secret is not None:
        info.append(f"Secret {f.secret_name} resourceVersion now {f.secret.resource_version}")
    issues: list[Issue] = []
    if f.cannot_reconcile:
        fix = fx.operator_log(ns, c.current_primary, f.role)
        joined = " ".join(f.cannot_reconcile)
        if "username" in joined:
            fix = fx.fix_username(ns, f.secret_name, f.role)
        elif "not found" in joined:
            fix = fx.create_secret(ns, f.secret_name, f.role)
        for text in f.cannot_reconcile:
            issues.append(("fail", "CNPG_CANNOT_RECONCILE", f"cannotReconcile[{f.role}]: {text}", fix))
    if f.rv_synced is False and f.secret is not None:
        why = ("" if f.labelled else f"; without the {RELOAD_LABEL} label the operator does not react to Secret "
               "changes")
        issues.append(("fail", "CNPG_PASSWORD_NOT_SYNCED", f"the operator applied resourceVersion {f.status_rv} of "
                       f"Secret {f.secret_name}, which is now at {f.secret.resource_version} (changed "
                       f"{when(f.secret.last_changed)}): the database still has the previous password{why}",
                       fx.resync(ns, f.secret_name, c.name, f.labelled)))
    if f.bucket == "pending-reconciliation" and not issues:
        issues.append(("fail", "CNPG_RECONCILE_PENDING", f"{f.role} is pending-reconciliation: the operator has "
                       "not finished applying the spec", fx.operator_log(ns, c.current_primary, f.role)))
    elif not f.bucket and c.roles_by_status:
        issues.append(("fail", "CNPG_RECONCILE_PENDING", f"{f.role} is in no status.managedRolesStatus bucket: the "
                       "operator has not processed it yet", fx.operator_log(ns, c.current_primary, f.role)))
    elif not f.status_rv and f.secret is not None and not issues:
        issues.append(("warn", None, f"no passwordStatus for {f.role}: the operator has not recorded applying "
                       f"Secret {f.secret_name}", fx.operator_log(ns, c.current_primary, f.role)))
    if f.xmin_drift:
        info.append(f.xmin_drift)
    return make_step("C4", issues, info)


def c5_usable(f: RoleFacts) -> Step:
    c, ns, pg, spec = f.cluster, f.ns, f.pg, f.spec
    if not f.pg_known:
        return make_step("C5", [], [], skip="the role catalog could not be read")
    if pg is None:
        return make_step("C5", [("fail", "CNPG_ROLE_MISSING_IN_DB", f"role {f.role} does not exist in the database "
                                 "(pg_roles): logins fail with `password authentication failed`",
                                 fx.operator_log(ns, c.current_primary, f.role))], [])
    issues: list[Issue] = []
    if not pg.can_login:
        issues.append(("fail", "CNPG_ROLE_NOLOGIN", f"pg_roles: {f.role} has rolcanlogin = false (NOLOGIN)",
                       fx.set_login(ns, c.name, f.role)))
    if pg.expired(f.now):
        issues.append(("fail", "CNPG_PASSWORD_EXPIRED", f"pg_roles: {f.role} VALID UNTIL {when(pg.valid_until)} is "
                       f"in the past (spec validUntil {spec.valid_until if spec and spec.valid_until else '(none)'}): "
                       "every login fails with `password authentication failed`", fx.valid_until(ns, c.name, f.role)))
    elif pg.valid_until is not None and pg.valid_until - f.now < EXPIRY_WARNING:
        left = span((pg.valid_until - f.now).total_seconds())
        issues.append(("warn", "CNPG_PASSWORD_EXPIRED", f"pg_roles: {f.role} expires in {left} "
                       f"({when(pg.valid_until)})", fx.valid_until(ns, c.name, f.role)))
    if pg.at_connection_limit:
        issues.append(("fail", "CNPG_CONNECTION_LIMIT", f"pg_stat_activity: {pg.current_connections} sessions of "
                       f"{f.role}, rolconnlimit {pg.conn_limit}: new logins get `too many connections for role`",
                       fx.connection_limit(ns, c.name, f.role, pg.conn_limit)))
    if pg.has_password is False and not (spec and spec.disable_password):
        issues.append(("fail", "CNPG_PASSWORD_MISMATCH", f"pg_authid: {f.role} has no password (NULL): the operator "
                       "never set it, or cleared it when the Secret went missing (CNPG < 1.30)",
                       fx.resync(ns, f.secret_name, c.name, f.labelled)))
    if spec is not None:
        drift = []
        if spec.connection_limit != pg.conn_limit:
            drift.append(f"connectionLimit {spec.connection_limit} vs rolconnlimit {pg.conn_limit}")
        missing = sorted(set(spec.in_roles) - set(pg.member_of))
        if missing:
            drift.append("not yet member of " + ", ".join(missing))
        if drift:
            issues.append(("warn", None, "spec and database differ: " + "; ".join(drift) + " (see C4)", ""))
    limit = "unlimited" if pg.conn_limit < 0 else str(pg.conn_limit)
    info = [f"pg_roles: {f.role} exists, {'LOGIN' if pg.can_login else 'NOLOGIN'}, valid until "
            f"{when(pg.valid_until) if pg.valid_until else 'never'}, connections {pg.current_connections} / {limit}"
            + (f", member of {', '.join(pg.member_of)}" if pg.member_of else "")]
    return make_step("C5", issues, info)


def c6_estimate(f: RoleFacts) -> Step:
    """C6 without logging in (the pane): only the catalog's hint of a manual ALTER ROLE."""
    if f.xmin_drift:
        return make_step("C6", [("warn", "CNPG_PASSWORD_MISMATCH", f.xmin_drift + "; the Secret's password "
                                 "probably no longer logs in (run the flow to try a real login)",
                                 fx.password_mismatch(f.ns, f.cluster.name, f.secret_name, f.role, f.labelled))], [])
    return make_step("C6", [], [], skip="no login attempted from the pane (the flow tries a real login)")


def c7_consumers(f: RoleFacts) -> Step:
    ns, name = f.ns, f.secret_name
    issues: list[Issue] = []
    info: list[str] = []
    app = f.app
    if app is not None and name and app.password_secret != name:
        src = f"Secret {app.password_secret}" if app.password_secret else "no Secret (a literal or unresolved value)"
        same = {True: "today it holds the same password", False: "it holds a different password",
                None: "the passwords cannot be compared"}[app.same_password]
        issues.append(("fail", "CNPG_APP_USES_OTHER_SECRET", f"{app.namespace}/{app.workload} reads its password "
                       f"from {src} ({app.password_source}), not from {name}, the role's passwordSecret; {same}, "
                       "and rotations of the role will not reach it", fx.use_role_secret(app.namespace, app.workload,
                                                                                       name)))
    if f.secret is None or not name:
        return make_step("C7", issues, info, skip="" if issues else "no password Secret to follow")
    changed = f.secret.last_changed
    if not f.consumers:
        issues.append(("warn", None, f"no Deployment or StatefulSet in {ns} references Secret {name}", ""))
    for con in f.consumers:
        pods = f"{len(con.pods)} pod(s)"
        if con.oldest_start is not None:
            after = changed is not None and con.oldest_start >= changed
            pods += f", oldest started {when(con.oldest_start)}" + (" (after the Secret changed)" if after else "")
        line = (f"{con.workload}: {', '.join(con.uses)}; {pods}; Reloader: {con.reloader_reason}; "
                f"template hash {con.hash_state}" + (f" ({con.hash_source})" if con.hash_source else ""))
        if con.stale:
            ages = "; ".join(f"pod {s.pod} started {when(s.started_at)}, {span(s.behind_seconds)} before the "
                             "change" for s in con.stale)
            fix = fx.rollout(con.namespace, con.workload)
            if not con.reloader_watches:
                fix += "\n" + fx.reloader(con.namespace, con.workload, name)
            issues.append(("fail", "CNPG_POD_STALE_SECRET", f"{con.workload} still runs with the old password: "
                           f"Secret {name} changed {when(changed)}; {ages}; Reloader: {con.reloader_reason}", fix))
        elif con.read_at_start and con.hash_state == "mismatch":
            issues.append(("warn", None, f"{con.workload}: the STAKATER hash on the pod template is not the hash "
                           f"of the current Secret {name}: Reloader has not rolled it yet", fx.rollout(con.namespace,
                                                                                                    con.workload)))
        elif con.read_at_start and not con.reloader_watches:
            issues.append(("warn", None, f"{con.workload} is not restarted by Reloader on a change of {name}: "
                           "the next rotation will leave it on the old password",
                           fx.reloader(con.namespace, con.workload, name)))
        info.append(line)
    return make_step("C7", issues, info)
