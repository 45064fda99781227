"""Hostile server data: markup, ANSI escapes, control characters, non-UTF-8 bytes, huge values and malformed
sources render literally in every pane, crash nothing and inject no action.

First every pane on fixed data built with hostile values (`static_data`), then the lab (`scratch_lab`): an ACL
user named with markup characters, a 1 MB value in SLOWLOG, 10,000 ACL LOG denials, a weird but valid bucket,
a malformed ACL source line and a malformed policy document.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pytest

from checks.config import Config
from tui.app import make_app

SIZE = (140, 45)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)

CLICK = "[@click=app.quit]Q[/]"
"""Markup that would quit the app when clicked, if it were interpreted."""
LINK = "[link=https://evil]L[/link]"
BOLD = "[bold]B[/]"
CLOSE = "[/]"
"""A closing tag with nothing to close: a MarkupError (a crash) if parsed."""
ANSI = "\x1b[31m"
CTRL = "\x07\x00\x08"
BAD_BYTES = b"bad\xff\xfe\x80"
BAD = BAD_BYTES.decode("utf-8", "replace")
HOSTILE = f"{BOLD} {CLOSE} {LINK} {CLICK} {ANSI}red{CTRL}{BAD}"
"""One value with every kind of hostile text."""
TOKEN = f"{CLICK}{CLOSE}{ANSI}{BOLD}"
"""Hostile text without spaces (ACL user names, key patterns: one token each)."""
LITERALS = (CLICK, BOLD, LINK)
"""What must be visible as typed."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


# -- what the screen shows ---------------------------------------------------------------------------------

def screen_lines(app: Any) -> list[str]:
    """The text of every line of the current screen, as composed (what reaches the terminal)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def shot_text(app: Any) -> str:
    """`export_screenshot()` as text: tags dropped, entities and non-breaking spaces undone."""
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


def assert_inert(app: Any, *literals: str) -> str:
    """The app runs; no control character or injected link/action reaches the screen; `literals` show as typed."""
    assert app.is_running and app.return_code is None
    lines = screen_lines(app)
    joined = "\n".join(lines)
    for line in lines:
        bad = _CONTROL.search(line)
        assert bad is None, f"control character {bad.group()!r} on screen: {line!r}"
    for strip in app.screen._compositor.render_strips():
        for seg in strip:
            style = seg.style
            if style is None:
                continue
            assert not style.link, f"an injected hyperlink on {seg.text!r}"
            meta = style.meta if style._meta else {}
            assert "app.quit" not in str(meta.get("@click", "")), f"an injected action on {seg.text!r}"
    shot = shot_text(app)
    for literal in literals:
        assert literal in joined, f"{literal!r} not shown literally"
        assert literal in shot, f"{literal!r} not in export_screenshot()"
    return joined


async def click_on(pilot: Any, text: str) -> bool:
    """Click the first place `text` is shown; False when it is not on screen."""
    for y, line in enumerate(screen_lines(pilot.app)):
        x = line.find(text)
        if x >= 0:
            await pilot.click(offset=(x + text.index("Q") if "Q" in text else x, y))
            await pilot.pause()
            return True
    return False


async def settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def open_pane(pilot: Any, key: str) -> Any:
    await pilot.press(key)
    await settle(pilot)
    await settle(pilot)
    return pilot.app.screen


async def assert_click_is_inert(pilot: Any) -> None:
    if await click_on(pilot, CLICK):
        await settle(pilot)
    assert pilot.app.is_running and pilot.app.return_code is None, "a click on server text ran an action"


def static_app(pane: str, data: Any) -> Any:
    return make_app(Config(refresh_interval=0, timeout=1.0, kubeconfig="/nonexistent/clusterdeck-hostile"),
                    context_name=f"ctx-{TOKEN}", static_data={pane: data})


# -- Overview ---------------------------------------------------------------------------------------------

def overview_data() -> Any:
    from checks.overview import Overview, PermissionCheck, SystemStatus

    return Overview(f"ctx {HOSTILE}", (
        SystemStatus(CLICK, "error", HOSTILE, version=CLICK, counts=BOLD, alerts=LINK, detail=HOSTILE),
        SystemStatus("dragonfly", "pass", "dragonfly.cache.svc:6379", LINK, HOSTILE),
    ), (PermissionCheck(CLICK, HOSTILE, False, HOSTILE, detail=HOSTILE),
        PermissionCheck("kubernetes", CLICK, True, "x", detail=HOSTILE)))


async def test_overview_hostile() -> None:
    app = static_app("overview", overview_data())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await settle(pilot)
        assert_inert(app, CLICK, BOLD, LINK)
        await assert_click_is_inert(pilot)


# -- Dragonfly --------------------------------------------------------------------------------------------

MB = 1024 * 1024


def dragonfly_data(denials: int = 40) -> Any:
    from checks.dragonfly_view import build_view
    from checks.flows.dragonfly_gather import AclSource
    from checks.parsers.dragonfly import parse_acl_file, parse_acl_list, parse_acl_log, parse_info, parse_slowlog
    from checks.sources.redis_source import RedisSnapshot

    acl = [b"user default on nopass ~* &* +@all",
           f"user {CLICK} on nopass ~{BOLD}* &{LINK} +@read -{CLOSE} $1".encode(),
           b"user ansi\x1b[31mred\x07\x00 on #" + b"ab" * 32 + b" ~x:* +@all",
           b"user " + BAD_BYTES + b" on nopass ~* +get",
           f"user {LINK} on nopass ~* +@all".encode(),
           b"user [/] off ~* +@all",
           b"garbage line [bold]x[/] \x1b]8;;https://evil\x07link\x1b]8;;\x07",
           b"user"]
    log = [["reason", "auth" if i % 2 else "key", "object", f"{HOSTILE} {i}", "username", CLICK if i % 3 else LINK,
            "age-seconds", str(i * 1.5), "client-info",
            f"id={i} addr=10.0.{CLOSE}.1:{i} laddr=x fd=1 name={BOLD} user={ANSI}", "timestamp-created", 1700000000000]
           for i in range(denials)]
    slow = [[1, 1700000000, 25000, ["SET", f"key:{CLICK}", "v" * MB], f"[/]:{ANSI}", BOLD],
            [2, 1700000001, 15000, [f"{BOLD}CMD", HOSTILE, BAD_BYTES], "10.0.0.1:1", ""],
            [3, 1700000002, 15000, ["CONFIG", "SET", "requirepass", "hunter2-[bold]"], "10.0.0.1:2", ""],
            [4, 1700000003, 15000, ["EVAL", HOSTILE * 100, "1", CLICK], "10.0.0.1:3", ""]]
    info = (f"# Server\r\nredis_version:{BOLD}\r\nredis_mode:{CLICK}\r\n# Memory\r\nused_memory:100\r\n"
            f"maxmemory:1000\r\nmaxmemory_policy:{HOSTILE}\r\n# Clients\r\nconnected_clients:1\r\nmax_clients:2\r\n")
    source_text = (f"user {CLICK} on >plaintext-[bold]pw ~* +@all\nuser\nnot a user line {LINK}\n"
                   f"user broken on #nothex ~* \x1b[2J\nuser y on ({CLOSE} ~a +get\n")
    snapshot = RedisSnapshot(whoami="default", info=parse_info(info), acl=parse_acl_list(acl),
                             acl_log=parse_acl_log(log), slowlog=parse_slowlog(slow),
                             config={f"{BOLD}": HOSTILE, "slowlog-max-len": CLICK, "aclfile": LINK})
    source = AclSource("ConfigMap", f"ns-{CLICK}", f"acl-{BOLD}", f"key {LINK}", parse_acl_file(source_text), NOW)
    consumers = {CLICK: (f"ns/{BOLD}", f"{LINK}/{ANSI}"), "default": (HOSTILE,)}
    return build_view(snapshot, source, consumers, {"10.0.[/].1": f"ns/{CLICK}"}, f"svc {HOSTILE}",
                      problems=(HOSTILE,))


async def test_dragonfly_hostile_every_tab_and_detail() -> None:
    app = static_app("dragonfly", dragonfly_data())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_pane(pilot, "2")
        assert screen.error is None, screen.error
        assert_inert(app, CLICK, LINK)
        await assert_click_is_inert(pilot)
        names = screen.query_one("#users").visible_keys()
        assert CLICK in names and LINK in names and "[/]" in names
        for name in names:
            screen.open_user(name)
            await pilot.pause()
            await pilot.press(*"GET x", "enter")
            await settle(pilot)
            assert_inert(app)
            assert screen.detail_user == name
            await pilot.press("escape")
            await pilot.pause()
        screen.open_user(CLICK)
        await pilot.pause()
        detail = assert_inert(app, CLICK)
        assert "plaintext-[bold]pw" not in detail
        await assert_click_is_inert(pilot)
        await pilot.press("escape")
        for tab in ("m", "s", "v", "c", "v"):
            await pilot.press(tab)
            await pilot.pause()
            text = assert_inert(app)
            assert "hunter2" not in text
        await pilot.press("s")
        await pilot.pause()
        assert_inert(app, f"key:{CLICK}")
        await assert_click_is_inert(pilot)


async def test_dragonfly_ten_thousand_denials_and_megabyte_values() -> None:
    data = dragonfly_data(denials=10_000)
    app = static_app("dragonfly", data)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_pane(pilot, "2")
        screen.open_user(CLICK)
        await settle(pilot)
        assert len(screen.query_one("#ud-denials").visible_keys()) > 1000
        assert_inert(app, CLICK)
        await pilot.press("escape", "s", "v")
        await pilot.pause()
        assert_inert(app)


# -- CNPG -------------------------------------------------------------------------------------------------

def cnpg_data() -> Any:
    import base64

    from checks.cnpg_view import CnpgView, build_cluster_view
    from checks.sources import kube_parse as kp
    from checks.sources import kube_parse_resources as kr
    from checks.sources.postgres import PgRole

    ns, role = "ai-system", CLICK
    secret_name = f"db-{BOLD}"
    secret = kp.secret_from({"kind": "Secret", "type": f"kubernetes.io/{LINK}",
                             "metadata": {"name": secret_name, "namespace": ns, "resourceVersion": CLOSE,
                                          "creationTimestamp": "2026-02-01T09:00:00Z"},
                             "data": {"username": base64.b64encode(HOSTILE.encode()).decode(),
                                      "password": base64.b64encode(b"pw\n").decode()}})
    workload = kp.workload_from({"kind": "Deployment", "metadata": {"name": f"app-{CLICK}", "namespace": ns},
                                 "spec": {"selector": {"matchLabels": {"app": "x"}},
                                          "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [
                                              {"name": "c", "env": [{"name": "PGPASSWORD", "valueFrom": {
                                                  "secretKeyRef": {"name": secret_name, "key": "password"}}}]}]}}}},
                                "Deployment")
    cluster = kr.cnpg_cluster_from({
        "kind": "Cluster", "metadata": {"name": f"pg-{LINK}", "namespace": ns},
        "spec": {"instances": 1, "managed": {"roles": [
            {"name": role, "ensure": "present", "login": True, "passwordSecret": {"name": secret_name},
             "validUntil": HOSTILE, "inRoles": [BOLD, CLICK]},
            {"name": LINK, "ensure": CLOSE, "login": True}]}},
        "status": {"phase": HOSTILE, "readyInstances": 1, "currentPrimary": CLICK,
                   "managedRolesStatus": {"byStatus": {"reconciled": [role], "not-managed": [BOLD, ANSI]},
                                          "cannotReconcile": {role: [HOSTILE]},
                                          "passwordStatus": {role: {"transactionID": 7, "resourceVersion": BOLD}}}}})
    pg = [PgRole(name=role, superuser=False, can_login=True, valid_until=None, conn_limit=-1, current_connections=0,
                 member_of=(CLICK,), xmin=7, has_password=True),
          PgRole(name=BOLD, superuser=False, can_login=False, valid_until=None, conn_limit=3, current_connections=3,
                 member_of=(), xmin=1, has_password=None)]
    view = build_cluster_view(cluster, {secret.name: secret}, pg, [workload], [], NOW, pg_error=HOSTILE,
                              problems=(HOSTILE,))
    return CnpgView(f"ctx {CLICK}", (view,), (HOSTILE,), NOW)


async def test_cnpg_hostile_list_and_every_detail() -> None:
    data = cnpg_data()
    app = static_app("cnpg", data)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_pane(pilot, "3")
        assert screen.error is None, screen.error
        assert_inert(app, CLICK)
        await assert_click_is_inert(pilot)
        keys = [r.key for c in data.clusters for r in (*c.roles, *c.others)]
        assert keys
        for key in keys:
            screen.open_detail(key)
            await pilot.pause()
            assert screen.detail_key == key
            assert_inert(app)
            await assert_click_is_inert(pilot)
            await pilot.press("escape")
            await pilot.pause()
        screen.focus_on(subject=CLOSE)  # a link target that matches nothing: a notification
        await pilot.pause()
        assert_inert(app)


# -- RustFS -----------------------------------------------------------------------------------------------

def rustfs_data() -> Any:
    from checks.appcreds_models import S3Credentials
    from checks.rustfs_apps import S3App
    from checks.rustfs_identity import SOURCE_ADMIN, AccessKeyInfo, IamSnapshot
    from checks.rustfs_matrix import AccessCell, AccessMatrix, AccessRow
    from checks.rustfs_view import BucketRow, BucketsView, RustfsData, identity_view
    from checks.sources.rustfs_admin import RustfsGroup, RustfsPolicy, RustfsUser

    buckets = (BucketRow(f"b-{CLICK}", NOW, 3, 10, True, HOSTILE), BucketRow(CLOSE, NOW, error=HOSTILE),
               BucketRow(f"{LINK}", None))
    policies = (RustfsPolicy(f"p-{CLICK}", {"Version": "2012-10-17", "Statement": [
        {"Effect": HOSTILE, "Action": [CLICK, "s3:*"], "Resource": [f"arn:aws:s3:::{BOLD}", "*"]}]}),
                RustfsPolicy(LINK, "not json [/] \x1b[31m"),
                RustfsPolicy("nested", {"Statement": {"Action": {"x": [CLOSE]}, "Resource": 7}}),
                RustfsPolicy(BOLD, [1, None, HOSTILE]))
    users = (RustfsUser(CLICK, HOSTILE, (f"p-{CLICK}", LINK), (BOLD,)), RustfsUser(f"{ANSI}u{CTRL}", "enabled", (), ()))
    groups = (RustfsGroup(BOLD, CLOSE, (CLICK,), (BOLD,)),)
    keys = tuple(AccessKeyInfo(u.access_key, u.access_key, u.status, "user") for u in users)
    snap = IamSnapshot(SOURCE_ADMIN, users, groups, policies, keys, (HOSTILE,), CLOSE)
    apps = [S3App(f"ns/{CLICK}", f"deploy/{BOLD}", S3Credentials(access_key=CLICK, bucket=f"b-{CLICK}"))]
    names = (f"b-{CLICK}", CLOSE, LINK)
    cells = tuple(AccessCell(b, True, True, None) for b in names)
    rows = (AccessRow(f"ns/{CLICK}", CLICK, f"secret {HOSTILE}", f"b-{CLICK}", cells=cells),
            AccessRow(LINK, BOLD, HOSTILE, CLOSE, HOSTILE))
    matrix = AccessMatrix(names, rows, False, 0)
    return RustfsData(BucketsView(buckets, HOSTILE), identity_view(snap, apps), matrix, f"svc {HOSTILE}")


async def test_rustfs_hostile_three_tabs() -> None:
    app = static_app("rustfs", rustfs_data())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_pane(pilot, "4")
        assert screen.error is None, screen.error
        assert_inert(app, f"b-{CLICK}")
        await assert_click_is_inert(pilot)
        for tab in ("i", "m", "b"):
            await pilot.press(tab)
            await settle(pilot)
            assert_inert(app)
            await assert_click_is_inert(pilot)
            for _ in range(4):
                await pilot.press("down")
                await pilot.pause()
                assert_inert(app)
        await pilot.press("i")
        await pilot.pause()
        screen.query_one("#users").focus()
        await pilot.press("down", "up")
        await pilot.pause()
        assert_inert(app, CLICK)


# -- Alerts -----------------------------------------------------------------------------------------------

def alerts_data() -> Any:
    from checks.alerts import AlertsData, merge_alerts
    from checks.alerts_lint import RuleLint
    from checks.sources.prometheus import Alert, AlertRule, AmAlert, RuleGroup

    labels = {"alertname": CLICK, "severity": BOLD, "namespace": f"ns{ANSI}", "cnpg_io_cluster": CLICK,
              BOLD: HOSTILE, "user": CLOSE, LINK: BAD}
    annotations = {"summary": HOSTILE, "description": HOSTILE * 3, "runbook_url": LINK, CLOSE: CTRL}
    prom = [Alert(CLICK, "firing", labels, annotations, NOW, 1.0),
            Alert("DragonflyDown", CLOSE, {"alertname": "DragonflyDown", "job": BOLD, "user": CLICK}, {}, None, None),
            Alert(f"cnpg{LINK}", "pending", {"alertname": f"cnpg{LINK}", "namespace": BOLD, "pod": f"{CLICK}-1"},
                  {"summary": CLICK}, NOW, None)]
    am = [AmAlert(labels, annotations, "suppressed", (HOSTILE,), (CLICK,), NOW, "fp", (LINK,))]
    rule = AlertRule(CLICK, f"up{{job=\"{CLICK}\"}} == 0 {ANSI}", 60.0, {"severity": BOLD}, {"summary": HOSTILE},
                     "err", HOSTILE, "firing", NOW, 0.1, "alerting", 1)
    groups = (RuleGroup(BOLD, f"/rules/{LINK}.yaml", 30.0, 0.001, NOW, (rule,)),)
    lints = (RuleLint(BOLD, CLICK, "fail", "PROM_RULE_NO_SERIES", (HOSTILE, CLICK), HOSTILE),)
    return AlertsData(merge_alerts(prom, am, []), groups, lints, NOW, f"http://{CLICK}", LINK, (HOSTILE,))


async def test_alerts_hostile_both_tabs_and_detail() -> None:
    app = static_app("alerts", alerts_data())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_pane(pilot, "5")
        assert screen.error is None, screen.error
        assert_inert(app, CLICK)
        await assert_click_is_inert(pilot)
        for _ in range(4):
            await pilot.press("down")
            await pilot.pause()
            assert_inert(app)
        table = screen.query_one("#alerts-table")
        for key in table.visible_keys():
            if key.startswith("a:"):
                table.move_cursor(row=table.get_row_index(key))
                await pilot.pause()
                screen.action_show_detail()
                await pilot.pause()
                assert_inert(app)
                await assert_click_is_inert(pilot)
                await pilot.press("escape")
                await pilot.pause()
                screen.action_follow_link()  # links built from hostile labels
                await settle(pilot)
                assert_inert(app)
                if app.current_mode != "alerts":
                    await pilot.press("5")
                    await settle(pilot)
                    screen = app.screen
                    table = screen.query_one("#alerts-table")
        await pilot.press("t")
        await pilot.pause()
        assert_inert(app)
        await pilot.press("down", "down")
        await pilot.pause()
        assert_inert(app)
        await assert_click_is_inert(pilot)


# -- Triage -----------------------------------------------------------------------------------------------

def triage_result() -> Any:
    from checks.model import FlowResult, Step

    steps = (Step("D1", HOSTILE, "pass", evidence=(HOSTILE,)),
             Step(CLICK, f"title {CLICK}", "fail", f"CODE{BOLD}", (HOSTILE, "line1\nline2 " + CLICK, "x" * 50_000),
                  f"kubectl {CLICK}\n{LINK}\n{ANSI}"),
             Step("D3", BOLD, "warn", None, (CLOSE,), CLOSE))
    return FlowResult(f"dragonfly{CLOSE}", {"user": CLICK, "app": HOSTILE}, steps)


async def test_triage_hostile_targets_and_result() -> None:
    from checks.targets import Target

    targets = [Target(f"ns/{CLICK}", "Deployment", BOLD, LINK, HOSTILE), Target(CLOSE, "StatefulSet", CLOSE)]
    app = static_app("triage", targets)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_pane(pilot, "6")
        assert screen.error is None, screen.error
        assert_inert(app, f"ns/{CLICK}")
        await assert_click_is_inert(pilot)
        screen.show_result(triage_result())
        await pilot.pause()
        for _ in range(3):
            assert_inert(app)
            await assert_click_is_inert(pilot)
            screen.query_one("#steps").focus()
            await pilot.press("down")
            await pilot.pause()
        await pilot.press("c")  # copies the fix: a notification names the step id
        await pilot.pause()
        assert_inert(app)


# -- the shell: command line, breadcrumbs, links with hostile subjects ---------------------------------------

async def test_command_line_and_links_with_markup() -> None:
    app = static_app("dragonfly", dragonfly_data())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        for command in (f"df {CLOSE}", f"df {CLICK}", f"pg {CLOSE}", f"s3 {CLICK}", f"{CLOSE}", f"alerts {CLOSE}",
                        f"triage {CLICK}"):
            app.run_command_line(command)
            await settle(pilot)
            assert_inert(app)
            await assert_click_is_inert(pilot)
        app.open_pane("dragonfly", user=CLICK)
        await settle(pilot)
        assert_inert(app, CLICK)


def test_text_json_and_junit_reports_of_hostile_findings() -> None:
    """The CLI's renderings: text without control characters, JSON and JUnit that parse, line breaks kept."""
    from checks import report
    from checks.model import Finding

    findings = [Finding("dragonfly", HOSTILE, "D8", f"title {HOSTILE}", status, CLICK if status == "fail" else None,
                        (f"line1 {HOSTILE}\nline2", CTRL), f"fix1 {ANSI}\nfix2") for status in ("fail", "error", "warn",
                                                                                          "skip", "pass")]
    text = report.findings_text(findings) + report.flow_text(triage_result())
    assert not any(_CONTROL.search(line) for line in text.splitlines()) and CLICK in text
    assert json.loads(report.findings_json(findings))["findings"][0]["subject"] == HOSTILE
    assert json.loads(report.flow_json(triage_result()))["subject"]["user"] == CLICK
    root = ET.fromstring(report.findings_junit(findings).encode())
    failure = next(root.iter("failure"))
    assert "line1" in failure.text and "\nline2" in failure.text and "\nfix2" in failure.text
    assert not _CONTROL.search(failure.attrib["message"])


def test_hostile_values_reach_the_panes_unchanged() -> None:
    """The data objects keep the server text as it came (the panes make it inert, not the parsers)."""
    view = dragonfly_data()
    assert {CLICK, LINK, "[/]"} <= {u.name for u in view.users}
    assert any(ANSI in u.name for u in view.users) and any(BAD in u.name for u in view.users)
    assert all("plaintext-[bold]pw" not in u.source_rule for u in view.users)
    assert any(HOSTILE in e.revealed or CLICK in e.command for e in view.slowlog)
    data = rustfs_data()
    assert any(p.issues for p in data.identity.policies)


# -- the lab: hostile data on real servers ---------------------------------------------------------------------

DENIALS = 10_000
WEIRD_BUCKETS = ("0weird.bucket--name-9", "x-1.y-2.z-3", "b" * 63)
HOSTILE_USERS = (CLICK, CLOSE, LINK, f"ansi{ANSI}red", f"bell\x07{BOLD}")
"""ACL user names Redis accepts (no space, no NUL) made of markup and control characters."""
HOSTILE_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:[bold]Get*", "s3:ListBucket"], "Resource": "arn:aws:s3:::[/]*"},
    {"Effect": "Allow", "Action": "s3:*", "Resource": f"arn:aws:s3:::{CLICK}"}]}
"""Syntactically valid for the IAM API, nonsense for S3: markup in actions and resources."""
ACL_GARBAGE = f"\nuser\nnot a user line {CLICK}\nuser broken on #nothex ~* {ANSI}\nuser half on ({CLOSE} ~a +get\n"
"""Malformed lines appended to the ACL source ConfigMap."""


def _admin_redis(state: dict[str, Any]) -> Any:
    import redis

    from lab.access import plan_of

    return redis.Redis(host=state["redis"]["host"], port=state["redis"]["port"], username="default",
                       password=plan_of(state)["redis"]["default"]["live"], socket_timeout=30)


def _admin_aws(state: dict[str, Any], service: str) -> Any:
    import boto3

    from lab.access import plan_of

    admin = plan_of(state)["s3_admin"]
    return boto3.client(service, endpoint_url=state["s3"]["url"], aws_access_key_id=admin["access_key"],
                        aws_secret_access_key=admin["secret_key"], region_name=state["s3"].get("region", "us-east-1"))


@pytest.fixture(scope="module")
def hostile_lab(scratch_lab: dict[str, Any]) -> dict[str, Any]:
    """The scratch lab with hostile data planted on its real servers."""
    import redis
    from kubernetes import client as k8s

    from lab.access import kube_client

    r = _admin_redis(scratch_lab)
    for name in (*HOSTILE_USERS, BAD_BYTES):
        r.execute_command("ACL", "SETUSER", name, "on", "nopass", f"~{BOLD}*", "+@read", "-@dangerous")
    # 10,000 ACL LOG entries: a user denied on 10,000 distinct keys (ACL LOG keeps acllog-max-len entries)
    r.config_set("acllog-max-len", str(DENIALS))
    r.execute_command("ACL", "SETUSER", "hostile-denied", "on", ">hostile-test-pw", "~allowed:*", "+get")
    denied = redis.Redis(host=scratch_lab["redis"]["host"], port=scratch_lab["redis"]["port"],
                         username="hostile-denied", password="hostile-test-pw", socket_timeout=60)
    pipe = denied.pipeline(transaction=False)
    for i in range(DENIALS):
        pipe.get(f"{CLICK}:{i}")
    pipe.execute(raise_on_error=False)
    denied.close()
    for name in (CLICK, CLOSE):  # AUTH failures under markup user names
        probe = redis.Redis(host=scratch_lab["redis"]["host"], port=scratch_lab["redis"]["port"], socket_timeout=5)
        try:
            probe.execute_command("AUTH", name, "wrong")
        except redis.RedisError:
            pass
        probe.close()
    assert len(r.execute_command("ACL", "LOG", str(DENIALS * 2))) >= DENIALS
    # a 1 MB value logged by SLOWLOG (everything is slow for a moment)
    before = r.config_get("slowlog-log-slower-than")["slowlog-log-slower-than"]
    r.config_set("slowlog-log-slower-than", "0")
    try:
        r.set(f"{BOLD}big{CLOSE}", (HOSTILE * 20_000)[:MB])
        r.execute_command("ECHO", CLICK)
    finally:
        r.config_set("slowlog-log-slower-than", before)
    r.close()
    # S3: weird but valid bucket names, a hostile object key, a nonsense bucket policy, a markup IAM policy
    s3 = _admin_aws(scratch_lab, "s3")
    for bucket in WEIRD_BUCKETS:
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=WEIRD_BUCKETS[0], Key=f"{CLICK}/{ANSI}{BAD}", Body=HOSTILE.encode())
    s3.put_bucket_policy(Bucket=WEIRD_BUCKETS[0], Policy=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": f"s3:{BOLD}", "Resource": CLOSE}]}))
    iam = _admin_aws(scratch_lab, "iam")
    arn = iam.create_policy(PolicyName="hostile-policy", PolicyDocument=json.dumps(HOSTILE_POLICY))["Policy"]["Arn"]
    iam.create_user(UserName="hostile-user")
    iam.attach_user_policy(UserName="hostile-user", PolicyArn=arn)
    # a workload whose env names markup identities (literal values: valid in any cluster)
    from kubernetes import client as k8s_client

    env = [{"name": "REDIS_HOST", "value": "dragonfly.cache.svc"}, {"name": "REDIS_PORT", "value": "6379"},
           {"name": "REDIS_USERNAME", "value": CLICK}, {"name": "REDIS_PASSWORD", "value": f"pw{BOLD}"},
           {"name": "PGHOST", "value": "ai-postgres-rw.ai-system.svc"}, {"name": "PGUSER", "value": LINK},
           {"name": "PGPASSWORD", "value": f"pw{CLOSE}"}, {"name": "AWS_ACCESS_KEY_ID", "value": f"AK{BOLD}"},
           {"name": "AWS_SECRET_ACCESS_KEY", "value": f"sk{CLICK}"}, {"name": "S3_BUCKET", "value": CLOSE},
           {"name": "AWS_ENDPOINT_URL", "value": "http://rustfs-svc.storage.svc:9000"}]
    k8s_client.AppsV1Api(kube_client(scratch_lab)).create_namespaced_deployment("automation", {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "hostile-app", "namespace": "automation", "annotations": {"note": HOSTILE}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "hostile-app"}},
                 "template": {"metadata": {"labels": {"app": "hostile-app"}},
                              "spec": {"containers": [{"name": "app", "image": "x", "env": env}]}}}})
    # the ACL source ConfigMap gets malformed lines
    core = k8s.CoreV1Api(kube_client(scratch_lab))
    cm = core.read_namespaced_config_map("dragonfly-acl", "cache")
    key = next(iter(cm.data))
    core.patch_namespaced_config_map("dragonfly-acl", "cache", {"data": {key: cm.data[key] + ACL_GARBAGE}})
    return scratch_lab


def _lab_app(state: dict[str, Any]) -> Any:
    from tests.labtools import lab_config, lab_connections

    return make_app(replace(lab_config(state), refresh_interval=0.0), connections=lab_connections(state))


@pytest.mark.lab
async def test_lab_dragonfly_pane_with_hostile_server(hostile_lab: dict[str, Any]) -> None:
    app = _lab_app(hostile_lab)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_pane(pilot, "2")
        assert screen.error is None, screen.error
        names = screen.query_one("#users").visible_keys()
        assert set(HOSTILE_USERS) <= set(names) and "hostile-denied" in names
        assert BAD in names, "a user name that is not UTF-8 is listed, its bad bytes as \ufffd"
        assert_inert(app, CLICK)
        await assert_click_is_inert(pilot)
        for name in (*HOSTILE_USERS, "hostile-denied"):
            screen.open_user(name)
            await pilot.pause()
            screen.query_one("#dryrun-input").value = ""
            await pilot.press(*f"GET {name}", "enter")
            await settle(pilot)
            assert_inert(app)
            await assert_click_is_inert(pilot)
            await pilot.press("escape")
            await pilot.pause()
        screen.open_user("hostile-denied")
        await pilot.pause()
        denials = screen.query_one("#ud-denials")
        assert denials.row_count >= 100  # the server's newest entries (clusterdeck reads ACL LOG 128)
        assert_inert(app, f"{CLICK}:")
        await pilot.press("escape")
        for key in ("s", "v", "c", "m"):
            await pilot.press(key)
            await pilot.pause()
            assert_inert(app)
        big = next(e for e in screen.data.slowlog if e.command.startswith(f"SET {BOLD}big"))
        assert "redacted" in big.command and len(big.revealed) < 10_000, "the 1 MB value reaches the pane cut short"


@pytest.mark.lab
async def test_lab_rustfs_pane_with_hostile_server(hostile_lab: dict[str, Any]) -> None:
    app = _lab_app(hostile_lab)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_pane(pilot, "4")
        assert screen.error is None, screen.error
        assert set(WEIRD_BUCKETS) <= set(screen.query_one("#buckets").visible_keys())
        assert_inert(app, WEIRD_BUCKETS[0])
        for tab in ("i", "m", "b"):
            await pilot.press(tab)
            await settle(pilot)
            await settle(pilot)
            assert_inert(app)
            await assert_click_is_inert(pilot)
        await pilot.press("i")
        await pilot.pause()
        policies = screen.query_one("#policies")
        assert "hostile-policy" in policies.visible_keys()
        policies.focus()
        policies.move_cursor(row=policies.get_row_index("hostile-policy"))
        await pilot.pause()
        assert "hostile-policy" in assert_inert(app)
        detail = screen.query_one("#identity-detail").content.plain  # scrolls below the screen's bottom
        assert "s3:[bold]Get*" in detail and f"arn:aws:s3:::{CLICK}" in detail and "S3_POLICY_LINT" in detail
        await assert_click_is_inert(pilot)


@pytest.mark.lab
async def test_lab_triage_of_a_workload_with_markup_identities(hostile_lab: dict[str, Any]) -> None:
    from textual.widgets import Input, Select

    app = _lab_app(hostile_lab)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_pane(pilot, "6")
        assert "automation/hostile-app" in screen.query_one("#targets").visible_keys()
        assert_inert(app, "automation/hostile-app")
        for flow in ("dragonfly", "cnpg", "rustfs"):
            screen.query_one("#flow-select", Select).value = flow
            screen.query_one("#app-input", Input).value = "automation/hostile-app"
            screen.action_run_flow()
            await settle(pilot)
            assert screen.result is not None and screen.result.flow == flow
            steps = screen.query_one("#steps")
            steps.focus()
            for row in range(steps.row_count):
                steps.move_cursor(row=row)
                await pilot.pause()
                assert_inert(app)
            await assert_click_is_inert(pilot)
        text = str(screen.query_one("#step-detail").content) + "".join(screen_lines(app))
        assert f"sk{CLICK}" not in text and f"pw{BOLD}" not in text, "literal passwords stay hidden"


@pytest.mark.lab
def test_lab_flows_still_run_on_hostile_servers(hostile_lab: dict[str, Any]) -> None:
    from tests.labtools import run_cli, run_cli_json

    for args in (("triage", "dragonfly", "--app", "ai-system/litellm"), ("triage", "dragonfly", "--app", "automation/n8n"),
                 ("triage", "rustfs", "--app", "ai-system/litellm"), ("triage", "rustfs", "--app", "monitoring/loki"),
                 ("triage", "cnpg", "--app", "ai-system/obot"), ("triage", "dragonfly", "--app", "automation/hostile-app"),
                 ("triage", "rustfs", "--app", "automation/hostile-app"), ("check",)):
        code, doc = run_cli_json(hostile_lab, *args)
        assert code in (0, 1), (args, code, doc)
        text = json.dumps(doc)
        assert "Traceback" not in text
    code, doc = run_cli_json(hostile_lab, "triage", "dragonfly", "--app", "ai-system/litellm")
    assert doc["root_cause"]["code"] == "DF_PASSWORD_MISMATCH"  # the planted fault is still found
    proc = run_cli(hostile_lab, "check", "--output", "text")
    assert proc.returncode in (0, 1) and not _CONTROL.search(proc.stdout.replace("\n", "")), proc.stdout[-2000:]
    proc = run_cli(hostile_lab, "check", "--output", "junit")
    assert proc.returncode in (0, 1)
    ET.fromstring(proc.stdout.encode())  # valid XML whatever the servers said
