"""CNPG password rotation flow C1–C7 ("password authentication failed for user X").

Reads run concurrently: the Cluster CR, the role catalog (as superuser), and the namespace's pods
and workloads; then the password Secret and one real login with its password.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

from checks import clock
from checks.errors import SourceError
from checks.flows import cnpg_fixes as fx
from checks.flows.cnpg_facts import RoleFacts, find_consumers, when
from checks.flows.cnpg_steps import Issue, c2_declared, c3_secret, c4_applied, c5_usable, c7_consumers, make_step
from checks.flows.cnpg_subject import Subject, resolve_subject
from checks.model import FlowResult, Step, StepRecorder
from checks.redact import fingerprint, redact, redact_urls
from checks.sources.kube_resources import CnpgCluster
from checks.sources.postgres import PgRole, PostgresSource
from checks.tasks import Tasks

HEALTHY = "Cluster in healthy state"


def admin_source(conns: Any, namespace: str, cluster: str) -> PostgresSource:
    """A superuser PostgresSource for `<cluster>-rw`, bounded by the configured timeout."""
    ep = conns.postgres_admin(namespace, cluster)
    ref = f"Secret {ep.secret_ref.namespace}/{ep.secret_ref.name}" if ep.secret_ref else "the superuser Secret"
    return conns.postgres(ep.host, ep.port, ep.user, ep.password, ep.dbname, conns.config.timeout,
                          credential_source=ref)


def admin_version_and_roles(conns: Any, namespace: str, cluster: str) -> tuple[str, tuple[PgRole, ...]]:
    """(server version, every role) as the superuser, in one query on one connection, shared by the panes of
    one refresh (the Overview counts the roles the CNPG pane judges: thousands of roles read once, not twice;
    `Connections.recent`). Always through `admin_source`, so a replay finds the call whichever pane made it."""
    recent = getattr(conns, "recent", None)
    if recent is None:
        return admin_source(conns, namespace, cluster).version_and_roles()
    ep = conns.postgres_admin(namespace, cluster)
    return recent(("pg-roles", ep.host, ep.port, ep.user, ep.password, ep.dbname),
                  lambda: admin_source(conns, namespace, cluster).version_and_roles())


def _admin_roles(conns: Any, ns: str, name: str) -> tuple[PostgresSource, tuple[PgRole, ...]]:
    src = admin_source(conns, ns, name)
    return src, src.roles()


def _error_role(error: str | None) -> str | None:
    if not error:
        return None
    from checks.flows.classify import classify_error

    cls = classify_error(error)
    return cls.subject.get("role") if cls is not None and cls.flow == "cnpg" else None


def run_cnpg(conns: Any, *, app: str | None = None, error: str | None = None, allow_writes: bool = False,
             on_step: Callable[[Step], None] | None = None, cluster: str | None = None, role: str | None = None,
             **_: Any) -> FlowResult:
    """Run C1–C7 for one role; SourceError when the subject cannot be worked out at all."""
    kube = conns.kube
    subj = resolve_subject(kube, app=app, cluster=cluster, role=role or _error_role(error))
    subject = {"cluster": f"{subj.namespace}/{subj.cluster}", "role": subj.role, **({"app": app} if app else {})}
    rec = StepRecorder(on_step=on_step)
    ns = subj.namespace
    with Tasks(max_workers=5) as pool:
        f_admin = pool.submit(_admin_roles, conns, ns, subj.cluster)
        f_pods = pool.submit(kube.list_pods, ns)
        f_deploy = pool.submit(kube.list_deployments, ns)
        f_sts = pool.submit(kube.list_statefulsets, ns)
        cr = subj.cr
        c1 = _c1(subj, cr, f_admin, f_pods)
        rec.add(c1)
        if c1.status == "fail" or cr is None:
            return FlowResult("cnpg", subject, tuple(rec.steps))
        spec = cr.role(subj.role)
        secret_name = spec.password_secret if spec else (subj.app.password_secret if subj.app else "")
        f_secret = pool.submit(kube.get_secret, ns, secret_name) if secret_name else None
        src, roles = f_admin.result()
        secret = f_secret.result() if f_secret else None
        try:
            workloads = [*f_deploy.result(), *f_sts.result()]
            pods, kube_problem = f_pods.result(), ""
        except SourceError as exc:
            workloads, pods, kube_problem = [], [], f"{exc.title}: {exc.message}"
    link = subj.app
    if link is not None and secret is not None and subj.app_password is not None:
        link = replace(link, same_password=subj.app_password == secret.text("password"))
    facts = RoleFacts(cr, subj.role, secret_name, secret, next((r for r in roles if r.name == subj.role), None),
                      True, find_consumers(secret, workloads, pods) if secret else (), clock.now(), link)
    rec.add(c2_declared(facts))
    rec.add(c3_secret(facts))
    rec.add(c4_applied(facts))
    rec.add(c5_usable(facts))
    rec.add(_c6(facts, src, error))
    c7 = c7_consumers(facts)
    if kube_problem:
        c7 = Step("C7", c7.title, "error", None, (f"could not list pods and workloads in {ns}: {kube_problem}",))
    rec.add(c7)
    return FlowResult("cnpg", subject, tuple(rec.steps))


def _c1(subj: Subject, cr: CnpgCluster | None, f_admin: Future, f_pods: Future) -> Step:
    ns, name = subj.namespace, subj.cluster
    info = list(subj.notes)
    if cr is None:
        return make_step("C1", [("fail", "CNPG_UNREACHABLE", f"Cluster {ns}/{name} not found (postgresql.cnpg.io/v1)",
                                 "kubectl get clusters.postgresql.cnpg.io -A")], info)
    issues: list[Issue] = []
    ready = f"{cr.ready_instances}/{cr.instances} instances ready"
    info.append(f"Cluster {cr.ref}: phase {cr.phase or '(none)'!r}, {ready}, primary {cr.current_primary or '(none)'}")
    if cr.phase != HEALTHY:
        issues.append(("warn", None, f"Cluster {cr.ref} phase is {cr.phase or '(none)'!r}, not {HEALTHY!r}",
                       f"kubectl cnpg status {name} -n {ns} --verbose"))
    try:
        pods = f_pods.result()
    except SourceError:
        pods = []
    primary = next((p for p in pods if p.name == cr.current_primary), None)
    if cr.current_primary and primary is None and pods:
        issues.append(("warn", None, f"primary pod {ns}/{cr.current_primary} not found",
                       f"kubectl get pods -n {ns} -l cnpg.io/cluster={name}"))
    elif primary is not None:
        info.append(f"primary pod {primary.name}: {primary.phase}, {'ready' if primary.ready else 'NOT ready'}, "
                    f"started {when(primary.started_at)}")
        if not primary.ready:
            issues.append(("warn", None, f"primary pod {primary.name} is not ready", f"kubectl describe pod "
                           f"{primary.name} -n {ns}"))
    try:
        src, roles = f_admin.result()
    except SourceError as exc:
        fix = (f"kubectl cnpg status {name} -n {ns}\nkubectl get pods -n {ns} -l cnpg.io/cluster={name}\n"
               f"kubectl port-forward -n {ns} svc/{cr.rw_service} 5432:5432   # then map it in [endpoints]")
        issues.insert(0, ("fail", "CNPG_UNREACHABLE", f"cannot use {cr.rw_service}.{ns}.svc:5432 as superuser: "
                          f"{exc.title}: {exc.message}", fix))
        return make_step("C1", issues, info)
    info.append(f"connected to {cr.rw_service}.{ns}.svc:5432 (via {src.address}) as {src.user} "
                f"({src.credential_source}); {len(roles)} roles in pg_roles")
    return make_step("C1", issues, info)


def _c6(f: RoleFacts, src: PostgresSource, error: str | None) -> Step:
    link = f.app
    db = (link.dbname if link and link.dbname else "") or f.role
    db_from = "the app's setting" if link and link.dbname else "no app database given: the role name"
    info: list[str] = []
    if error:
        logged = redact(redact_urls(error.strip()), [f.secret.text("password") if f.secret else None])
        info.append(f"the app logged: {logged[:300]}")
    pw = f.secret.text("password") if f.secret is not None else None
    if pw is None:
        return make_step("C6", [], info, skip="no password in the role's Secret to try")
    try:
        probe = src.try_login(f.role, pw, db)
        retry = src.try_login(f.role, pw.strip(), db) if not probe.ok and pw != pw.strip() else None
    except SourceError as exc:
        return Step("C6", "Secret's password logs in", "error", "CNPG_UNREACHABLE",
                    (f"login attempt as {f.role} did not get an answer: {exc.title}: {exc.message}", *info))
    what = f"login as {f.role} to database {db} ({db_from}) with the password of Secret {f.ns}/{f.secret_name} " \
           f"({fingerprint(pw)})"
    if probe.ok:
        if error:
            info.append("the Secret's password works now: the app that logged the error runs with another "
                        "password (see C7)")
        return make_step("C6", [], [f"{what}: OK", *info])
    if retry is not None and retry.ok:
        return make_step("C6", [("fail", "CNPG_SECRET_TRAILING_NEWLINE", f"{what} refused ({probe.message}), but "
                                 "works without the trailing whitespace", fx.rewrite_password(f.ns, f.secret_name,
                                                                                                f.role))], info)
    code, hint, fix = _explain(f, probe.code or "CNPG_LOGIN_ERROR", db)
    return make_step("C6", [("fail", code, f"{what} refused: {probe.message}", fix)], [hint, *info] if hint else info)


def _explain(f: RoleFacts, code: str, db: str) -> tuple[str, str, str]:
    """The code for a refused login, using what the catalog knows (the client cannot tell these apart)."""
    ns, cl, sec, role = f.ns, f.cluster.name, f.secret_name, f.role
    if code == "CNPG_PASSWORD_MISMATCH":
        pg = f.pg
        if pg is None:
            return "CNPG_ROLE_MISSING_IN_DB", "the role does not exist (see C5)", fx.operator_log(
                ns, f.cluster.current_primary, role)
        if pg.expired(f.now):
            return "CNPG_PASSWORD_EXPIRED", f"the password expired {when(pg.valid_until)} (see C5)", \
                fx.valid_until(ns, cl, role)
        if f.xmin_drift:
            return code, f.xmin_drift, fx.password_mismatch(ns, cl, sec, role, f.labelled)
        if f.rv_synced is False:
            return code, (f"the database still has the password of resourceVersion {f.status_rv}: the operator did "
                          "not apply the rotation (see C3/C4)"), fx.resync(ns, sec, cl, f.labelled)
        user = f.secret_username
        if user is not None and user.strip() != role:
            return code, f"the operator refused the Secret (username {user!r}, see C3)", fx.fix_username(ns, sec, role)
        return code, "the database holds another password than the Secret", fx.password_mismatch(ns, cl, sec, role,
                                                                                                 f.labelled)
    fixes = {"CNPG_NO_HBA_ENTRY": fx.hba_entry(ns, cl, db, role),
             "CNPG_DATABASE_MISSING": fx.database_missing(ns, cl, db, role),
             "CNPG_NO_CONNECT_PRIVILEGE": fx.grant_connect(ns, cl, db, role),
             "CNPG_ROLE_NOLOGIN": fx.set_login(ns, cl, role),
             "CNPG_CONNECTION_LIMIT": fx.connection_limit(ns, cl, role, f.pg.conn_limit if f.pg else 10)}
    return code, "", fixes.get(code, fx.operator_log(ns, f.cluster.current_primary, role))
