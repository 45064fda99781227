"""CNPG pane: pilot tests on the lab (both clusters, problems first, a role's detail, links), snapshots
from fixed objects, and server text rendered literally. No lab password may reach the screen."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from checks.cnpg_view import CnpgView, build_cluster_view
from checks.config import Config
from checks.sources import kube_parse as kp
from checks.sources import kube_parse_resources as kr
from checks.sources.postgres import PgRole
from checks.workloads import stakater_hash
from tests.labtools import lab_config, lab_connections
from tui.app import make_app

SIZE = (140, 45)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
FAKE_PASSWORDS = {"litellm": "lt-Rotated-7Qx", "langfuse": "lf-Rotated-9Pz", "obot": "ob-Secret-2Kd",
                  "analytics": "an-Secret-5Hw", "reports": "rp-Secret-1Mn", "keycloak": "kc-Rotated-3Vb"}


# -- fixed inputs for the snapshots ------------------------------------------------------------------

def _secret(ns: str, role: str, rv: str, changed: str, *, username: str = "", label: bool = True) -> Any:
    data = {"username": username or role, "password": FAKE_PASSWORDS[role]}
    return kp.secret_from({"kind": "Secret", "type": "kubernetes.io/basic-auth",
                           "metadata": {"name": f"{role}-db", "namespace": ns, "resourceVersion": rv,
                                        "creationTimestamp": changed,
                                        "labels": {"cnpg.io/reload": "true"} if label else {}},
                           "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}})


def _app(ns: str, name: str, secret: Any, started: str, *, reloader: bool = True, stakater: bool = False) -> tuple:
    env: list[dict[str, Any]] = [{"name": "PGUSER", "valueFrom": {"secretKeyRef": {"name": secret.name, "key": "username"}}},
                                 {"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": {"name": secret.name,
                                                                                        "key": "password"}}}]
    if stakater:
        env.append({"name": f"STAKATER_{secret.name.upper().replace('-', '_')}_SECRET",
                    "value": stakater_hash(secret.data)})
    ann = {"reloader.stakater.com/auto": "true"} if reloader else {}
    workload = kp.workload_from({"kind": "Deployment", "metadata": {"name": name, "namespace": ns, "annotations": ann},
                                 "spec": {"selector": {"matchLabels": {"app": name}},
                                          "template": {"metadata": {"labels": {"app": name}},
                                                       "spec": {"containers": [{"name": name, "env": env}]}}}},
                                "Deployment")
    pod = kp.pod_from({"kind": "Pod", "metadata": {"name": f"{name}-7c9d-x2k4p", "namespace": ns,
                                                   "labels": {"app": name}},
                       "spec": {"containers": [{"name": name}]},
                       "status": {"phase": "Running", "startTime": started, "containerStatuses": [
                           {"name": name, "ready": True, "state": {"running": {"startedAt": started}}}]}})
    return workload, pod


def _cluster(ns: str, name: str, roles: list[dict[str, Any]], mrs: dict[str, Any]) -> Any:
    return kr.cnpg_cluster_from({
        "kind": "Cluster", "metadata": {"name": name, "namespace": ns},
        "spec": {"instances": 3, "enableSuperuserAccess": True, "managed": {"roles": roles}},
        "status": {"phase": "Cluster in healthy state", "readyInstances": 3, "currentPrimary": f"{name}-1",
                   "managedRolesStatus": mrs}})


def _role(name: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "ensure": "present", "login": True, "passwordSecret": {"name": f"{name}-db"}, **kw}


def _pg(name: str, xmin: int, **kw: Any) -> PgRole:
    base = dict(name=name, superuser=False, can_login=True, valid_until=None, conn_limit=-1, current_connections=1,
                member_of=(), xmin=xmin, has_password=True)
    return PgRole(**{**base, **kw})  # type: ignore[arg-type]


def static_view() -> CnpgView:
    """Both lab clusters with the five planted faults, plus a sound role, from fixed objects."""
    ns = "ai-system"
    old = "2026-02-01T09:00:00Z"
    secrets = {"litellm": _secret(ns, "litellm", "4203", "2026-03-01T09:00:00Z", label=False),
               "langfuse": _secret(ns, "langfuse", "4188", "2026-03-01T07:00:00Z", username="langfuse_app"),
               "obot": _secret(ns, "obot", "3310", old), "analytics": _secret(ns, "analytics", "3312", old),
               "reports": _secret(ns, "reports", "3314", old)}
    apps = [_app(ns, "litellm", secrets["litellm"], "2026-03-01T09:00:40Z", stakater=True),
            _app(ns, "langfuse", secrets["langfuse"], "2026-03-01T07:00:30Z", stakater=True),
            _app(ns, "obot", secrets["obot"], "2026-02-22T12:00:00Z"),
            _app(ns, "analytics-worker", secrets["analytics"], "2026-02-22T12:00:00Z", reloader=False),
            _app(ns, "reports", secrets["reports"], "2026-02-22T12:00:00Z")]
    mismatch = 'could not perform UPDATE on role langfuse: the username in secret "langfuse-db" does not match role "langfuse"'
    ai = _cluster(ns, "ai-postgres",
                  [_role("litellm"), _role("langfuse"), _role("obot", validUntil="2024-01-01T00:00:00Z"),
                   _role("analytics"), _role("reports", connectionLimit=20, inRoles=["pg_read_all_data"])],
                  {"byStatus": {"reconciled": ["litellm", "obot", "analytics", "reports"],
                                "pending-reconciliation": ["langfuse"], "not-managed": ["app"],
                                "reserved": ["postgres", "streaming_replica"]},
                   "cannotReconcile": {"langfuse": [mismatch]},
                   "passwordStatus": {"litellm": {"transactionID": 726, "resourceVersion": "1203"},
                                      "langfuse": {"transactionID": 729, "resourceVersion": "1188"},
                                      "obot": {"transactionID": 732, "resourceVersion": "3310"},
                                      "analytics": {"transactionID": 735, "resourceVersion": "3312"},
                                      "reports": {"transactionID": 738, "resourceVersion": "3314"}}})
    ai_pg = [_pg("litellm", 726), _pg("langfuse", 729, current_connections=0),
             _pg("obot", 732, valid_until=datetime(2024, 1, 1, tzinfo=timezone.utc), current_connections=0),
             _pg("analytics", 736), _pg("reports", 738, conn_limit=20, current_connections=4,
                                        member_of=("pg_read_all_data",)),
             _pg("app", 700), _pg("postgres", 1, superuser=True, current_connections=3), _pg("streaming_replica", 2)]
    ai_view = build_cluster_view(ai, {s.name: s for s in secrets.values()}, ai_pg, [a[0] for a in apps],
                                 [a[1] for a in apps], NOW)
    kc_secret = _secret("identity", "keycloak", "5120", "2026-03-01T11:10:00Z")
    kc_app = _app("identity", "keycloak", kc_secret, "2026-02-27T12:00:00Z", reloader=False)
    kc = _cluster("identity", "keycloak-db", [_role("keycloak")],
                  {"byStatus": {"reconciled": ["keycloak"], "reserved": ["postgres", "streaming_replica"]},
                   "passwordStatus": {"keycloak": {"transactionID": 739, "resourceVersion": "5120"}}})
    kc_view = build_cluster_view(kc, {kc_secret.name: kc_secret}, [_pg("keycloak", 739), _pg("postgres", 1), _pg("streaming_replica", 2)],
                                 [kc_app[0]], [kc_app[1]], NOW)
    return CnpgView("snapshot-context", (ai_view, kc_view), (), NOW)


def test_consumers_per_role_equal_a_scan_of_every_workload() -> None:
    """build_cluster_view looks for each Secret's consumers once, among its namespace's workloads and pods: the
    answer equals find_consumers over every workload and pod, for roles that share a Secret too."""
    from checks.flows.cnpg_facts import find_consumers

    shared = _secret("ai-system", "obot", "3310", "2026-03-01T09:00:00Z")
    other = _secret("ai-system", "reports", "3314", "2026-02-01T09:00:00Z")
    apps = [_app("ai-system", "obot", shared, "2026-02-22T12:00:00Z"),
            _app("ai-system", "obot-worker", shared, "2026-03-01T10:00:00Z", reloader=False),
            _app("ai-system", "reports", other, "2026-02-22T12:00:00Z"),
            _app("elsewhere", "obot", shared, "2026-02-22T12:00:00Z")]  # same names, another namespace
    roles = [_role(n, passwordSecret={"name": s}) for n, s in
             (("obot", "obot-db"), ("obot_ro", "obot-db"), ("reports", "reports-db"), ("ghost", "ghost-db"))]
    cluster = _cluster("ai-system", "ai-postgres", roles, {"byStatus": {"reconciled": [r["name"] for r in roles]}})
    workloads, pods = [a[0] for a in apps], [a[1] for a in apps]
    view = build_cluster_view(cluster, {s.name: s for s in (shared, other)}, [], workloads, pods, NOW)
    got = {r.name: r.consumers for r in view.roles}
    assert got == {"obot": find_consumers(shared, workloads, pods), "obot_ro": find_consumers(shared, workloads, pods),
                   "reports": find_consumers(other, workloads, pods), "ghost": ()}
    assert [c.workload for c in got["obot"]] == ["deploy/obot", "deploy/obot-worker"], "not the other namespace's"
    assert got["obot"][0].stale and not got["obot"][1].stale and got["obot"][0].pods == ("obot-7c9d-x2k4p",)


def static_app(view: CnpgView | None = None) -> Any:
    return make_app(Config(refresh_interval=0), context_name="snapshot-context",
                    static_data={"cnpg": view or static_view()})


def assert_no_secret(text: str, secrets: list[str]) -> None:
    for value in secrets:
        assert value not in text, "a secret reached the screen"
        assert base64.b64encode(value.encode()).decode() not in text, "a secret reached the screen (base64)"


async def _open_cnpg(pilot: Any) -> Any:
    await pilot.press("3")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return pilot.app.screen


# -- snapshots ----------------------------------------------------------------------------------------

def test_snapshot_pane_both_clusters(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await _open_cnpg(pilot)

    assert snap_compare(static_app(), terminal_size=SIZE, run_before=run_before)


def test_snapshot_role_detail(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        screen = await _open_cnpg(pilot)
        screen.open_detail("ai-system/ai-postgres/litellm")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(static_app(), terminal_size=SIZE, run_before=run_before)


# -- static-data pilots ---------------------------------------------------------------------------------

async def test_static_rows_sorted_and_keys_open_detail() -> None:
    app = static_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_cnpg(pilot)
        roles = [s[1] for s in screen._sections.values()]
        keys = [k.rsplit("/", 1)[-1] for k in roles[0].visible_keys()]
        assert keys == ["langfuse", "litellm", "obot", "analytics", "reports"]
        assert app.focused is roles[0]
        await pilot.press("down", "enter")
        await pilot.pause()
        assert screen.detail_key == "ai-system/ai-postgres/litellm"
        assert "NO LABEL" in screen.query_one("#src-secret").content.plain
        await pilot.press("escape")
        await pilot.pause()
        assert screen.detail_key is None and app.focused is roles[0]
        assert_no_secret(app.export_screenshot(), list(FAKE_PASSWORDS.values()))


async def test_hostile_server_text_is_literal() -> None:
    view = static_view()
    ai = view.clusters[0]
    row = replace(ai.roles[0], cannot_reconcile=("[bold red]boom[/] \x1b[2J gone",))
    view = replace(view, clusters=(replace(ai, roles=(row, *ai.roles[1:])), view.clusters[1]))
    app = static_app(view)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_cnpg(pilot)
        screen.open_detail(row.key)
        await pilot.pause()
        text = screen.query_one("#src-status").content.plain
        assert "[bold red]boom[/]" in text and "\x1b" not in text


# -- the lab ------------------------------------------------------------------------------------------

def _lab_app(state: dict[str, Any]) -> Any:
    return make_app(replace(lab_config(state), refresh_interval=0), connections=lab_connections(state))


async def test_lab_pane_shows_both_clusters_problems_first(lab: dict[str, Any]) -> None:
    app = _lab_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_cnpg(pilot)
        assert screen.error is None, screen.error
        data = screen.data
        assert {c.ref for c in data.clusters} == {"ai-system/ai-postgres", "identity/keycloak-db"}
        ai = next(c for c in data.clusters if c.name == "ai-postgres")
        table = screen._sections[ai.ref][1]
        order = [k.rsplit("/", 1)[-1] for k in table.visible_keys()]
        assert set(order) == {"litellm", "langfuse", "obot", "analytics"}
        sev = [data.role(k).severity for k in table.visible_keys()]
        assert sev == sorted(sev, key=["fail", "warn", "pass"].index)
        codes = {r.name: r.code for c in data.clusters for r in c.roles}
        assert codes == {"litellm": "CNPG_RELOAD_LABEL_MISSING", "langfuse": "CNPG_USERNAME_MISMATCH",
                         "obot": "CNPG_PASSWORD_EXPIRED", "analytics": "CNPG_PASSWORD_MISMATCH",
                         "keycloak": "CNPG_POD_STALE_SECRET"}
        assert {r.name for r in ai.others} >= {"postgres", "streaming_replica"}
        assert all(r.category in ("reserved", "not-managed") for r in ai.others)
        assert_no_secret(app.export_screenshot(), lab["_secrets"])


async def test_lab_role_detail_and_link(lab: dict[str, Any]) -> None:
    app = _lab_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        app.screen.focus_on(subject="ai-system/ai-postgres/litellm")  # before the data arrives: applied after
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
        screen = app.screen
        assert screen.detail_key == "ai-system/ai-postgres/litellm"
        panels = {n: screen.query_one(f"#src-{n}").content.plain for n in ("spec", "status", "secret", "pg",
                                                                             "consumers")}
        assert "litellm-db" in panels["spec"] and "reconciled" in panels["status"]
        assert "NO LABEL" in panels["secret"] and "LOGIN" in panels["pg"] and "deploy/litellm" in panels["consumers"]
        verdict = screen.query_one("#detail-verdict").content.plain
        assert "kubectl label secret litellm-db -n ai-system cnpg.io/reload=true" in verdict
        assert_no_secret(app.export_screenshot(), lab["_secrets"])
        await pilot.press("escape")
        await pilot.pause()
        assert screen.detail_key is None
        screen.focus_on(subject="identity/keycloak-db/keycloak")
        await pilot.pause()
        assert "CNPG_POD_STALE_SECRET" in screen.query_one("#detail-title").content.plain
        assert_no_secret(app.export_screenshot(), lab["_secrets"])


async def _t_on_role(pilot: Any, screen: Any, role: str) -> Any:
    """`t` on a role of the CNPG pane (`ns/cluster/role`): the screen shown once its flow has run (Triage)."""
    screen.focus_on(subject=role)
    await pilot.pause()
    await pilot.press("t")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return pilot.app.screen


async def test_lab_t_runs_the_flow_in_triage(lab: dict[str, Any]) -> None:
    app = _lab_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await _t_on_role(pilot, await _open_cnpg(pilot), "identity/keycloak-db/keycloak")
        assert app.current_mode == "triage"
        result = app.screen.result
        assert result is not None and result.root_cause is not None
        assert result.root_cause.code == "CNPG_POD_STALE_SECRET"
        assert_no_secret(app.export_screenshot(), lab["_secrets"])


async def test_lab_t_after_another_triage_asks_about_that_role_only(lab: dict[str, Any]) -> None:
    """Triage still holds the last question (a WRONGPASS error, `litellm` in the identity box): a role's `t`
    asks about that role and its consumer. Before, the role was dropped when the row had a consumer, so the
    CNPG flow judged litellm (the identity left from before) and answered litellm's fault for langfuse's row."""
    app = _lab_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.screen.query_one("#error-text").value = "WRONGPASS invalid username-password pair"
        app.screen.query_one("#ident-input").value = "litellm"
        triage = await _t_on_role(pilot, await _open_cnpg(pilot), "ai-system/ai-postgres/langfuse")
        assert app.current_mode == "triage"
        assert triage.query_one("#error-text").value == "" and triage.query_one("#ident-input").value == "langfuse"
        assert triage.result.subject["role"] == "langfuse"
        assert triage.result.root_cause.code == "CNPG_USERNAME_MISMATCH"


async def test_key_bar_recomposed_only_when_its_keys_change(monkeypatch: Any) -> None:
    """The key bar (KeyBar, Textual's Footer) composes its keys again when the keys shown change (a role's
    detail adds the reveal key), not on every change of focus; its keys mount without restyling themselves."""
    from textual.widgets._footer import FooterKey

    from tui.widgets.chrome import KeyBar

    composed: list[tuple[str, ...]] = []
    original = KeyBar.compose

    def compose(self: KeyBar) -> Any:
        widgets = list(original(self))
        composed.append(tuple(w.key for w in widgets if isinstance(w, FooterKey)))
        yield from widgets

    monkeypatch.setattr(KeyBar, "compose", compose)
    restyled: list[str] = []
    monkeypatch.setattr(FooterKey, "update_node_styles", lambda self, animate=True: restyled.append(self.key))
    app = static_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_cnpg(pilot)
        bar = screen.query_one(KeyBar)
        shown = [k.key for k in bar.query(FooterKey)]
        assert "r" in shown and "ctrl+s" not in shown
        before = len(composed)
        roles = [s[1] for s in screen._sections.values()]
        for _ in range(3):  # focus moves between the two clusters' tables: the same keys
            roles[1].focus()
            await pilot.pause()
            roles[0].focus()
            await pilot.pause()
        assert len(composed) == before, "focus moves that leave the keys as they are do not compose the bar"
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        assert screen.detail_key is not None
        assert len(composed) > before and "ctrl+s" in composed[-1], "the detail's reveal key is shown"
        assert "ctrl+s" in [k.key for k in bar.query(FooterKey)]
    assert restyled == [], "no key restyled itself as it mounted (Textual's FooterKey does it twice each)"
