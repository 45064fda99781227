"""Dragonfly pane: pilot tests on the lab (users and their consumers, a user's detail, ACL DRYRUN, memory history,
slowlog, config and drift), snapshots from the verbatim payloads of service-facts, and literal server text.
No lab password may reach the screen."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from checks.config import Config
from checks.dragonfly_view import DragonflyView, build_view
from checks.flows.dragonfly_gather import AclSource
from checks.parsers.dragonfly import parse_acl_file, parse_acl_list, parse_acl_log, parse_info, parse_slowlog
from checks.sources.redis_source import RedisSnapshot
from tests.labtools import lab_config, lab_connections
from tui.app import make_app
from tui.widgets.table import FilterableTable

SIZE = (140, 45)

# -- fixed inputs (service-facts §3: Dragonfly ACL LIST, INFO and ACL LOG verbatim; the rest constructed) -------
ACL_LIST = ["user default on nopass ~* &* +@all $all",
            "user roy on #ea71c25a7a60224 resetchannels -@all +@string +hset $1",
            "user vlad off ~foo ~bar* resetchannels -@all +@string $3",
            "user kostas off resetchannels -@all $all"]
ACL_SOURCE = """# dragonfly-acl / acl.conf
user default on nopass ~* &* +@all $all
user roy on #ea71c25a7a60224 resetchannels -@all +@string +hset $1
user vlad on ~foo ~bar* resetchannels -@all +@string $3
user mike on >not-a-real-password ~mike:* resetchannels -@all +@read $0
"""
INFO = """# Server\r\nredis_version:6.2.11\r\ndragonfly_version:df-v1.21.2\r\nredis_mode:standalone\r\narch_bits:64\r
os:Linux 6.1.100+ x86_64\r\nmultiplexing_api:iouring\r\ntcp_port:6379\r\nthread_count:4\r\nuptime_in_seconds:9140967\r
uptime_in_days:105\r\n# Clients\r\nconnected_clients:42\r\nmax_clients:64000\r\n# Memory\r\nused_memory:736326864\r
used_memory_human:702.22MiB\r\nused_memory_peak:736735664\r\nused_memory_peak_human:702.61MiB\r
used_memory_rss:875552768\r\nused_memory_rss_human:834.99MiB\r\nused_memory_peak_rss:929742848\r
maxmemory:8589934592\r\nmaxmemory_human:8.00GiB\r\nnum_entries:647430\r\ncache_mode:cache\r
maxmemory_policy:eviction\r\n# Stats\r\nevicted_keys:1532\r\n"""
ACL_LOG = [
    ["reason", "AUTH", "object", "AUTH", "username", "mike", "age-seconds", "2.465420372", "client-info",
     "id=6 addr=127.0.0.1:40390 laddr=127.0.0.1:6379 fd=24 name= age=0 idle=0", "timestamp-created",
     1697469722374275368],
    ["reason", "COMMAND", "object", "HGETALL", "username", "roy", "age-seconds", "95.1", "client-info",
     "id=9 addr=10.42.0.17:51234 laddr=10.42.0.5:6379 fd=31 name=litellm", "timestamp-created",
     1697469630000000000],
]
SLOWLOG = [[14, 1700000000, 15230, ["SET", "roy:session:1", "value-that-must-not-show"], "10.42.0.17:51234", ""],
           [13, 1699999990, 12040, ["HGETALL", "roy:profile"], "10.42.0.17:51234", "litellm"],
           [12, 1699999900, 48113, ["KEYS", "*"], "127.0.0.1:40390", ""]]
CONFIG = {"maxmemory": "8589934592", "maxmemory-policy": "eviction", "slowlog-log-slower-than": "10000",
          "slowlog-max-len": "20", "aclfile": "/var/lib/dragonfly/dragonfly.acl"}
CONSUMERS = {"roy": ("ai-system/litellm",), "mike": ("default/appcache",)}
POD_IPS = {"10.42.0.17": "ai-system/litellm-7c9d-x2k4p"}


def static_view(acl_lines: list[str] | None = None) -> DragonflyView:
    snapshot = RedisSnapshot(whoami="default", info=parse_info(INFO), acl=parse_acl_list(acl_lines or ACL_LIST),
                             acl_log=parse_acl_log(ACL_LOG), slowlog=parse_slowlog(SLOWLOG), config=dict(CONFIG))
    source = AclSource("ConfigMap", "cache", "dragonfly-acl", "acl.conf", parse_acl_file(ACL_SOURCE),
                       datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc))
    return build_view(snapshot, source, CONSUMERS, POD_IPS, "dragonfly.cache.svc:6379")


def static_app(view: DragonflyView | None = None) -> Any:
    return make_app(Config(refresh_interval=0), context_name="snapshot-context",
                    static_data={"dragonfly": view or static_view()})


def assert_no_secret(text: str, secrets: list[str]) -> None:
    for value in secrets:
        assert value not in text, "a secret reached the screen"
        assert base64.b64encode(value.encode()).decode() not in text, "a secret reached the screen (base64)"


async def _open(pilot: Any) -> Any:
    await pilot.press("2")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return pilot.app.screen


def _cells(screen: Any, table_id: str, key: str) -> list[str]:
    table = screen.query_one(table_id, FilterableTable)
    return [c.plain for c in table.get_row(key)]


# -- snapshots ------------------------------------------------------------------------------------------------

def test_snapshot_users_table(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await _open(pilot)

    assert snap_compare(static_app(), terminal_size=SIZE, run_before=run_before)


def test_snapshot_user_detail(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        screen = await _open(pilot)
        screen.open_user("roy")
        await pilot.pause()

    assert snap_compare(static_app(), terminal_size=SIZE, run_before=run_before)


def test_snapshot_memory_tab(snap_compare: Any) -> None:
    view = static_view()

    async def run_before(pilot: Any) -> None:
        screen = await _open(pilot)
        for used in (702_000_000, 690_000_000, 735_000_000, 760_000_000, 736_326_864):  # later refreshes
            screen.show_data(replace(view, memory=replace(view.memory, used=used)))
        screen.action_tab("memory")
        await pilot.pause()

    assert snap_compare(static_app(view), terminal_size=SIZE, run_before=run_before)


# -- static-data pilots -----------------------------------------------------------------------------------------

def test_view_from_fixed_payloads() -> None:
    view = static_view()
    states = {u.name: u.state for u in view.users}
    assert states == {"default": "live", "roy": "live", "vlad": "drift: enabled", "kostas": "not in source",
                      "mike": "not loaded"}
    roy = next(u for u in view.users if u.name == "roy")
    assert roy.db == "1" and roy.allowed == ("+@string", "+hset") and roy.denied == ("-@all",)
    assert roy.fingerprints == ("sha256:ea71c25a7a60",) and roy.consumers == ("ai-system/litellm",)
    assert next(d for d in view.denials if d.username == "roy").pod == "ai-system/litellm-7c9d-x2k4p"
    assert "value-that-must-not-show" not in view.slowlog[0].command and "roy:session:1" in view.slowlog[0].command
    assert any(f.code == "DF_SLOWLOG_CONFIG" and "slowlog-max-len" in f.title for f in view.findings)
    assert ("kostas", "extra", "live only (created with ACL SETUSER?)") in view.drift
    mike = next(u for u in view.users if u.name == "mike")
    assert "not-a-real-password" not in mike.source_rule + mike.rule


def test_rule_columns_show_every_item_that_fits() -> None:
    """A rule column shows all its items when they fit in its width, else the leading ones and how many more;
    the rule shown carries each password's fingerprint, never the hash."""
    from checks.dragonfly_view import safe_rule
    from screens.dragonfly_detail import compact

    assert compact(()) == "–"
    assert compact(("a", "b", "c"), 5) == "a b c", "it all fits: no '+n'"
    assert compact(("+@read", "+@write", "+hset"), 12) == "+@read +2"
    assert compact(("averyveryverylongpattern",), 8) == "averyveryverylongpattern", "one item is never hidden"
    roy = next(u for u in static_view().users if u.name == "roy")
    assert "#ea71c25a7a60…" in roy.rule and roy.acl.password_hashes[0] not in roy.rule
    assert safe_rule(roy.acl) == safe_rule(roy.acl, roy.fingerprints) == roy.rule


async def test_static_detail_offline_dryrun_and_back() -> None:
    app = static_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        table = screen.query_one("#users", FilterableTable)
        table.move_cursor(row=table.get_row_index("mike"))
        await pilot.press("enter")
        await pilot.pause()
        assert screen.detail_user == "mike" and screen.crumbs == ["Dragonfly", "Users", "mike"]
        await pilot.press(*"GET mike:x", "enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        result = screen.query_one("#dryrun-result").content.plain
        assert "allowed" in result and "offline parser" in result, result
        await pilot.press("escape")
        await pilot.pause()
        assert screen.detail_user is None and screen.query_one("#users").display


async def test_a_worker_description_never_quotes_its_arguments() -> None:
    """Textual describes a worker by repr() of its arguments unless told otherwise, on the event loop, and shows
    that description in its logs: a dry-run command may hold a key or a value that is not for the log."""
    app = static_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        mike = next(u for u in screen.data.users if u.name == "mike")
        worker = screen._dryrun_worker(mike, "SET mike:x marker-value-4f1c")
        await pilot.app.workers.wait_for_complete()
        assert worker.description == "dry-run a command as the ACL user"
        assert "marker-value-4f1c" not in repr(worker) and "mike" not in repr(worker)


async def test_memory_key_from_the_config_tab_shows_memory() -> None:
    """`m` on the Config & drift tab showed Memory for a moment and then Config again: the focus stayed on the
    config table, Textual handed it to the drift table next to it, and focusing that switched back to its tab.
    Memory has no table: the tab strip gets the focus."""
    app = static_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        tabs = screen.query_one("#df-tabs")
        for key, tab in (("c", "tab-config"), ("m", "tab-memory"), ("s", "tab-slowlog"), ("m", "tab-memory"),
                         ("u", "tab-users"), ("c", "tab-config"), ("m", "tab-memory")):
            await pilot.press(key)
            await pilot.pause()
            assert tabs.active == tab, f"{key}: {tabs.active}"


async def test_hostile_server_text_is_literal() -> None:
    view = static_view([*ACL_LIST, "user [bold]x[/bold] on nopass ~[red]* +@all"])
    app = static_app(view)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        cells = _cells(screen, "#users", "[bold]x[/bold]")
        assert cells[0] == "[bold]x[/bold]" and cells[4] == "~[red]*"


# -- the lab -------------------------------------------------------------------------------------------------

def _lab_app(state: dict[str, Any]) -> Any:
    return make_app(replace(lab_config(state), refresh_interval=0), connections=lab_connections(state))


async def test_lab_users_and_consumers(lab: dict[str, Any]) -> None:
    app = _lab_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert screen.error is None, screen.error
        keys = screen.query_one("#users", FilterableTable).visible_keys()
        assert {"default", "litellm", "langfuse", "keycloak", "n8n", "appcache"} <= set(keys)
        for user, workload in (("litellm", "ai-system/litellm"), ("langfuse", "ai-system/langfuse"),
                               ("keycloak", "identity/keycloak"), ("n8n", "automation/n8n"),
                               ("appcache", "default/appcache")):
            assert workload in _cells(screen, "#users", user)[3], user
        appcache = _cells(screen, "#users", "appcache")
        assert appcache[1] == "not loaded" and appcache[2] == "–"
        assert _cells(screen, "#users", "litellm")[-1].startswith("sha256:")
        assert_no_secret(app.export_screenshot(), lab["_secrets"])


async def test_lab_user_detail_and_dryrun(lab: dict[str, Any]) -> None:
    app = _lab_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        table = screen.query_one("#users", FilterableTable)
        table.move_cursor(row=table.get_row_index("langfuse"))
        await pilot.press("enter")
        await pilot.pause()
        assert screen.detail_user == "langfuse"
        rule = screen.query_one("#ud-rule").content.plain
        assert "~langfuse:*" in rule and "ai-system/langfuse" in rule and "‹redacted›" in rule
        denials = screen.query_one("#ud-denials", FilterableTable)
        objects = {denials.get_row(k)[2].plain for k in denials.visible_keys()}
        assert {"lf:trace:1", "lf:session:9"} <= objects
        await pilot.press(*"SET lf:probe x", "enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        result = screen.query_one("#dryrun-result").content.plain
        assert "denied" in result and "lf:probe" in result, result
        screen.query_one("#dryrun-input").value = ""
        await pilot.press(*"GET langfuse:x", "enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert "allowed" in screen.query_one("#dryrun-result").content.plain
        assert_no_secret(app.export_screenshot(), lab["_secrets"])
        await pilot.press("escape")
        await pilot.pause()
        assert screen.detail_user is None


async def test_lab_memory_slowlog_config(lab: dict[str, Any]) -> None:
    app = _lab_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("m")
        await pilot.pause()
        assert "% of maxmemory" in screen.query_one("#mem-gauge").content.plain
        assert "allkeys-lru" in screen.query_one("#mem-numbers").content.plain
        await pilot.press("r")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert len(screen.memory_history) == 2
        assert_no_secret(app.export_screenshot(), lab["_secrets"])
        await pilot.press("s")
        await pilot.pause()
        slow = screen.query_one("#slowlog", FilterableTable)
        assert slow.visible_keys(), "the lab's DEBUG SLEEP commands are in the slowlog"
        # the lab's DEBUG SLEEP entries; on a loaded machine clusterdeck's own ACL LIST can be slow enough too
        first = next(k for k in slow.visible_keys() if slow.get_row(k)[2].plain.startswith("DEBUG"))
        assert "redacted" in slow.get_row(first)[2].plain
        await pilot.press("v")
        await pilot.pause()
        assert "redacted" not in slow.get_row(first)[2].plain
        await pilot.press("c")
        await pilot.pause()
        settings = dict((k, _cells(screen, "#config", k)[1]) for k in
                        screen.query_one("#config", FilterableTable).visible_keys())
        assert settings["ACL source"] == "ConfigMap cache/dragonfly-acl key acl.conf"
        assert settings["slowlog-max-len"] == "128" and settings["ACL file in use"].endswith("acl.conf")
        drift = screen.query_one("#drift", FilterableTable)
        assert any(drift.get_row(k)[0].plain == "appcache" for k in drift.visible_keys())
        assert_no_secret(app.export_screenshot(), lab["_secrets"])


def test_system_findings_for_check(lab: dict[str, Any], clean_lab: dict[str, Any]) -> None:
    from checks.dragonfly_view import system_findings

    found = {f.subject: f for f in system_findings(lab_connections(lab))}
    assert found["server"].status == "pass"
    assert found["memory"].status == "warn" and "of maxmemory" in found["memory"].title  # planted 93% fill
    assert found["acl"].code == "DF_ACL_DRIFT" and any("appcache" in e for e in found["acl"].evidence)
    clean = {f.subject: f for f in system_findings(lab_connections(clean_lab))}
    assert clean["acl"].status == "pass" and clean["slowlog"].status == "pass"
    assert clean["memory"].status == "pass"


async def test_lab_other_tabs_are_made_when_first_shown(lab: dict[str, Any]) -> None:
    """Only the Users tab is made with the pane: each other tab's widgets are made the first time it is shown
    (keys or a click), filled with the data on screen; the drift table's rows are prepared by the fetch only once
    its tab was shown. The memory history grows on every refresh, its tab shown or not."""
    app = _lab_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        for widget in ("#mem-gauge", "#mem-spark", "#slowlog", "#config", "#drift"):
            assert not screen.query(widget), f"{widget} made before its tab was shown"
        assert "drift" not in screen._prepared.tables()
        await pilot.press("r")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert len(screen.memory_history) == 2 and not screen.query("#mem-spark")
        await pilot.click("#--content-tab-tab-config")  # the tab's label, with the mouse
        await pilot.pause()
        drift = screen.query_one("#drift", FilterableTable)
        assert screen.query_one("#df-tabs").active == "tab-config"
        assert any(drift.get_row(k)[0].plain == "appcache" for k in drift.visible_keys()), "filled at once"
        assert screen.query_one("#config", FilterableTable).row_count
        assert not screen.query("#slowlog"), "only the tab shown is made"
        await pilot.press("r")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        prepared = screen._prepared.tables()
        assert drift._prepared is prepared["drift"], "the fetch prepared the drift rows once the tab was shown"
        await pilot.press("m")
        await pilot.pause()
        assert "(3 samples)" in screen.query_one("#mem-spark-title").content.plain
        assert screen.query_one("#mem-spark").display
        await pilot.press("s")
        await pilot.pause()
        assert screen.query_one("#slowlog", FilterableTable).has_focus
        assert_no_secret(app.export_screenshot(), lab["_secrets"])
