"""RustFS pane: snapshots from fixed data (buckets, identity, access matrix), pilot tests on the lab."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pytest

from checks.appcreds_models import S3Credentials
from checks.config import Config
from checks.rustfs_apps import S3App
from checks.rustfs_identity import SOURCE_ADMIN, AccessKeyInfo, IamSnapshot
from checks.rustfs_matrix import AccessCell, AccessMatrix, AccessRow
from checks.rustfs_view import BucketRow, BucketsView, RustfsData, identity_view
from checks.sources.rustfs_admin import RustfsGroup, RustfsPolicy, RustfsUser
from lab.seed_s3 import OBJECTS, policy_document
from tests.labtools import lab_config, lab_connections
from tui.app import make_app
from tui.widgets.table import FilterableTable

SIZE = (140, 45)
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
GiB = 1024 ** 3

BUCKETS = (
    BucketRow("dragonfly-backups", T0, 14, 3 * GiB, False, "Enabled"),
    BucketRow("langfuse", T0, 48_213, 12 * GiB, True, "Enabled"),
    BucketRow("litellm", T0, 1_532, 700 * 1024 ** 2, False, "Disabled"),
    BucketRow("loki", T0, 1_000_000, 50 * GiB, False, "Suspended", truncated=True),
    BucketRow("obot", T0, 88, 96 * 1024 ** 2, False, "Disabled"),
    BucketRow("old-exports", T0, error="ListObjectsV2: AccessDenied"),
    BucketRow("tmp-scratch", T0),
)
APPS = {"litellm": "ai-system/litellm", "langfuse": "ai-system/langfuse", "obot": "ai-system/obot",
        "loki": "monitoring/loki", "dragonfly-backup": "cache/dragonfly"}
BUCKET_OF = {"litellm": "litellm", "langfuse": "langfuse", "obot": "obot", "loki": "loki",
             "dragonfly-backup": "dragonfly-backups"}


def static_identity(extra_user: str = "") -> Any:
    kinds = {"litellm": "list-on-objects", "loki": "s3-star"}
    policies = tuple(RustfsPolicy(f"{app}-storage", policy_document(BUCKET_OF[user], kinds.get(app, "pattern")))
                     for user, app in (("dragonfly-backup", "dragonfly"), ("langfuse", "langfuse"),
                                       ("litellm", "litellm"), ("loki", "loki"), ("obot", "obot")))
    admin = RustfsPolicy("consoleAdmin", {"Version": "2012-10-17",
                                          "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    users = (RustfsUser("dragonfly-backup", "enabled", (), ("cache",)),
             RustfsUser("langfuse", "enabled", ("langfuse-storage",), ("ai-system",)),
             RustfsUser("litellm", "enabled", ("litellm-storage",), ("ai-system",)),
             RustfsUser("loki", "enabled", (), ("monitoring",)),
             RustfsUser("obot", "disabled", ("obot-storage",), ("ai-system",)),
             RustfsUser("rustfsadmin", "enabled", ("consoleAdmin",), ()))
    if extra_user:
        users += (RustfsUser(extra_user, "enabled", (), ()),)
    groups = (RustfsGroup("ai-system", "enabled", ("litellm", "langfuse", "obot"), ()),
              RustfsGroup("cache", "enabled", ("dragonfly-backup",), ("dragonfly-storage",)),
              RustfsGroup("monitoring", "enabled", ("loki",), ("loki-storage",)))
    keys = tuple(AccessKeyInfo(u.access_key, u.access_key, u.status, "user") for u in users)
    snap = IamSnapshot(SOURCE_ADMIN, users, groups, (*policies, admin), keys, (), "rustfsadmin")
    apps = [S3App(app, "deploy/" + app.split("/")[1], S3Credentials(access_key=user, bucket=BUCKET_OF[user]))
            for user, app in APPS.items()]
    return identity_view(snap, apps)


def static_matrix() -> AccessMatrix:
    names = ("dragonfly-backups", "langfuse", "litellm", "loki", "obot")

    def cells(own: str, everything: bool = False, own_list: bool = True) -> tuple[AccessCell, ...]:
        return tuple(AccessCell(b, everything or (b == own and own_list), everything or b == own, None) for b in names)

    rows = (AccessRow("ai-system/langfuse", "langfuse", "ai-system/langfuse-s3 key S3_SECRET_ACCESS_KEY", "langfuse",
                      "SignatureDoesNotMatch"),
            AccessRow("ai-system/litellm", "litellm", "ai-system/litellm-s3 key AWS_SECRET_ACCESS_KEY", "litellm",
                      cells=cells("litellm", own_list=False)),
            AccessRow("ai-system/obot", "obot", "ai-system/obot-s3 key AWS_SECRET_ACCESS_KEY", "obot",
                      "InvalidAccessKeyId"),
            AccessRow("cache/dragonfly", "dragonfly-backup", "cache/dragonfly-auth key AWS_SECRET_ACCESS_KEY",
                      "dragonfly-backups", cells=cells("dragonfly-backups")),
            AccessRow("monitoring/loki", "loki", "monitoring/loki-s3 key AWS_SECRET_ACCESS_KEY", "loki",
                      cells=cells("loki", everything=True)),
            AccessRow("storage/rustfs", "rustfsadmin", "storage/rustfs-credentials key RUSTFS_SECRET_KEY", "",
                      cells=cells("", everything=True), admin=True))
    return AccessMatrix(names, rows, False, 2)


def static_data(**kw: Any) -> RustfsData:
    base = RustfsData(BucketsView(BUCKETS), static_identity(), static_matrix(), "storage/rustfs-svc")
    return replace(base, **kw)


def static_app(data: RustfsData | None = None) -> Any:
    return make_app(Config(refresh_interval=0), context_name="snapshot-context",
                    static_data={"rustfs": data or static_data()})


async def _open(pilot: Any, tab: str = "") -> Any:
    await pilot.press("4")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    if tab:
        await pilot.press(tab)
        await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return pilot.app.screen


def _cells(screen: Any, table_id: str, key: str) -> list[str]:
    return [c.plain for c in screen.query_one(table_id, FilterableTable).get_row(key)]


def _all_cells(screen: Any) -> str:
    text = []
    for table in screen.query(FilterableTable):
        for key, _ in table._all_rows:
            text += [c.plain for c in table.get_row(key)]
    return "\n".join(text)


def assert_no_secret(text: str, secrets: list[str]) -> None:
    for value in secrets:
        for form in (value, value.strip(), base64.b64encode(value.encode()).decode()):
            assert form not in text, "a secret key reached the screen"


# -- snapshots ------------------------------------------------------------------------------------------

def test_snapshot_buckets(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await _open(pilot)

    assert snap_compare(static_app(), terminal_size=SIZE, run_before=run_before)


def test_snapshot_identity(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await _open(pilot, "i")

    assert snap_compare(static_app(), terminal_size=SIZE, run_before=run_before)


def test_snapshot_access_matrix(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await _open(pilot, "m")

    assert snap_compare(static_app(), terminal_size=SIZE, run_before=run_before)


# -- fixed data -------------------------------------------------------------------------------------------

def test_identity_lint_marks() -> None:
    ident = static_identity()
    marks = {p.name: p.mark for p in ident.policies}
    assert marks == {"dragonfly-storage": "ok", "langfuse-storage": "ok", "litellm-storage": "lint",
                     "loki-storage": "broad", "obot-storage": "ok", "consoleAdmin": "broad"}
    users = {u.name: u for u in ident.users}
    assert users["dragonfly-backup"].policies == ("dragonfly-storage (via group cache)",)
    assert users["litellm"].worst == "lint" and users["loki"].apps == ("monitoring/loki",)
    assert ident.admin_user == "rustfsadmin"
    lint = next(p for p in ident.policies if p.name == "litellm-storage")
    assert lint.bucket == "litellm" and '"arn:aws:s3:::litellm"' in lint.issues[0].fix


def test_matrix_flags() -> None:
    rows = {r.app: r for r in static_matrix().rows}
    assert rows["monitoring/loki"].overbroad == ("dragonfly-backups", "langfuse", "litellm", "obot")
    assert rows["storage/rustfs"].overbroad == () and "admin keys" in rows["storage/rustfs"].flags[0]
    assert rows["ai-system/litellm"].flags == ("cannot list its own bucket",)
    assert rows["cache/dragonfly"].flags == ()
    assert rows["ai-system/obot"].flags == ("keys rejected: InvalidAccessKeyId",)


def test_bucket_cells_of_listed_buckets_equal_cells_made_anew() -> None:
    """A bucket whose details are not loaded shares its cells after the name with the buckets of the same
    creation minute; each row is what full_bucket_cells makes of it, with dates in other zones too."""
    from datetime import timedelta

    from screens.rustfs_render import bucket_cells, full_bucket_cells

    plus2 = timezone(timedelta(hours=2))
    rows = [*BUCKETS, BucketRow("a", T0), BucketRow("b", T0), BucketRow("c", T0.astimezone(plus2)),
            BucketRow("d", None), BucketRow("e", T0 + timedelta(minutes=1)), BucketRow("f", T0, versioning="Enabled"),
            BucketRow("g", T0, policy_present=True), BucketRow("h", T0, truncated=True), BucketRow("i", T0, 0)]
    for top in (0, 50 * GiB):
        for row in rows:
            assert bucket_cells(row, top) == full_bucket_cells(row, top), row
    assert bucket_cells(rows[-7], 0)[4] != bucket_cells(rows[-8], 0)[4]  # 09:00 UTC is 11:00 at +02:00


async def test_thousands_of_buckets_list_first(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = tuple(BucketRow(f"bucket-{i:05d}", T0) for i in range(3000))
    app = static_app(static_data(buckets=BucketsView(rows)))
    reprs: list[str] = []
    monkeypatch.setattr(BucketRow, "__repr__", lambda row: reprs.append(row.name) or row.name)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        table = screen.query_one("#buckets", FilterableTable)
        assert table.row_count == 3000 and _cells(screen, "#buckets", "bucket-00042")[1] == "…"
    # the workers handed the rows are described by name: Textual would repr() every row on the event loop
    assert reprs == []


async def test_background_loads_step_aside_while_the_user_types(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening the `/` bar or typing in it makes the pane `user_typing` for TYPING_QUIET seconds: the detail
    loader's threads wait (`_wait_turn`) and the periodic re-render is put off, so that each keystroke's redraw
    does not queue behind them; both go on once the user stops. (The quiet time is long here and "the user
    stopped" is set by hand: no step of the test depends on how fast the machine is.)"""
    import threading

    from screens import base, rustfs

    monkeypatch.setattr(base, "TYPING_QUIET", 60.0)
    monkeypatch.setattr(rustfs, "TYPING_QUIET", 60.0)
    rows = tuple(BucketRow(f"bucket-{i:05d}", T0) for i in range(20))
    app = static_app(static_data(buckets=BucketsView(rows)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert not screen.user_typing()
        await pilot.press("slash")
        await pilot.pause()
        assert screen.query_one("#filter-bar").has_class("-open") and screen.user_typing()
        screen._typed_at -= 120  # the bar was opened long ago: only a keystroke makes the user typing again
        assert not screen.user_typing()
        await pilot.press(*"bucket-0001")
        await pilot.pause()
        assert screen.user_typing()
        assert screen.query_one("#buckets", FilterableTable).row_count == 10  # the filter itself was applied
        waited = threading.Event()

        def loader() -> None:
            screen._wait_turn()
            waited.set()

        threading.Thread(target=loader, daemon=True).start()
        renders: list[int] = []
        monkeypatch.setattr(screen, "_render_buckets", lambda: renders.append(1))
        screen._render_later()
        assert renders == [] and screen._render_timer is not None, "the re-render is put off"
        assert not waited.wait(0.3), "the loader waits while the user types"
        screen._render_timer.stop()
        screen._typed_at -= 120  # the user stopped typing
        assert waited.wait(10), "the loader goes on"
        screen._render_later()
        assert renders == [1], "and so does the re-render"


async def test_leaving_the_pane_stops_the_background_load_between_buckets() -> None:
    """Once another pane is opened, the detail loader's next bucket is not read (`_wait_turn` answers False,
    not after the chunk in flight), and a bucket left unread is not kept as loaded: the next visit reads it."""
    rows = tuple(BucketRow(f"bucket-{i:05d}", T0) for i in range(3))
    app = static_app(static_data(buckets=BucketsView(rows)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert screen._wait_turn() is True
        await pilot.press("1")
        await pilot.pause()
        assert app.screen is not screen and screen._wait_turn() is False
        loaded = BucketRow("bucket-00000", T0, 3, 600, False, "Disabled")
        screen._merge_details([loaded, rows[1]], last=True)
        assert set(screen._details) == {"bucket-00000"}


async def test_rows_made_by_the_fetch_are_swapped_in_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of buckets: the fetch's thread makes the table's rows and the render swaps them in on the spot
    (one layout, no render worker); when details arrived in between, the render makes them again in a worker."""
    from screens import rustfs
    from screens.rustfs_render import bucket_rows

    rows = tuple(BucketRow(f"bucket-{i:05d}", T0) for i in range(rustfs.PREPARE_INLINE + 50))
    app = static_app(static_data(buckets=BucketsView(rows)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        table = screen.query_one("#buckets", FilterableTable)
        started: list[int] = []
        original = screen._prepare_buckets
        monkeypatch.setattr(screen, "_prepare_buckets", lambda r: started.append(len(r)) or original(r))

        def fetched() -> None:  # what fetch() leaves for the render
            made = [screen._row(r) for r in screen._bucket_names]
            screen._ready = (made, FilterableTable.prepare(bucket_rows(made, screen._bucket_cells)))

        table.set_rows(rustfs.BUCKET_COLUMNS, [])
        fetched()
        screen._render_buckets()
        assert table.row_count == len(rows) and started == [] and screen._ready is None
        table.set_rows(rustfs.BUCKET_COLUMNS, [])
        fetched()
        screen._merge_details([BucketRow("bucket-00003", T0, 3, 600, False, "Disabled")], now_=True)
        assert started == [len(rows)]  # bucket-00003 is no longer the row the fetch formatted
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert table.row_count == len(rows) and _cells(screen, "#buckets", "bucket-00003")[1] == "3"


async def test_hostile_server_text_is_literal() -> None:
    app = static_app(static_data(identity=static_identity("[bold]x[/bold]\x1b[31m")))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "i")
        cell = [c for c in _all_cells(screen).splitlines() if "[bold]x" in c]
        assert cell and cell[0] == "[bold]x[/bold]\ufffd"


# -- the lab --------------------------------------------------------------------------------------------

def _lab_app(state: dict[str, Any]) -> Any:
    return make_app(replace(lab_config(state), refresh_interval=0), connections=lab_connections(state))


def _secrets(state: dict[str, Any]) -> list[str]:
    from lab.access import plan_of

    plan = plan_of(state)
    return list(state["_secrets"]) + [plan["s3_admin"]["secret_key"]] + \
        [k["secret_key"] + "\n" for k in plan["s3_keys"].values()]


async def test_lab_fetch_makes_the_rows_the_first_render_shows(lab: dict[str, Any],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the real fetch (as with thousands of buckets: the limit lowered to the lab's 4), the rows are in
    the table when show_data returns, not after a render worker."""
    from screens import rustfs

    monkeypatch.setattr(rustfs, "PREPARE_INLINE", 1)
    shown: list[int] = []
    original = rustfs.RustfsScreen.show_data

    def show_data(self: Any, data: Any) -> None:
        original(self, data)
        shown.append(self.query_one("#buckets", FilterableTable).row_count)

    monkeypatch.setattr(rustfs.RustfsScreen, "show_data", show_data)
    app = _lab_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert screen.error is None, screen.error
        assert shown[:1] == [4]
        assert _cells(screen, "#buckets", "loki")[1] == str(len(OBJECTS["loki"]))  # the counts came after


async def test_lab_buckets_identity_matrix(lab: dict[str, Any]) -> None:
    app = _lab_app(lab)
    secrets = _secrets(lab)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert screen.error is None, screen.error
        buckets = screen.query_one("#buckets", FilterableTable)
        assert set(buckets.visible_keys()) == {"langfuse", "litellm", "loki", "obot"}  # dragonfly-backups: never made
        for name in buckets.visible_keys():
            assert _cells(screen, "#buckets", name)[1] == str(len(OBJECTS[name])), name
        shots = [app.export_screenshot()]

        await pilot.press("i")
        await pilot.pause()
        users = screen.query_one("#users", FilterableTable).visible_keys()
        assert {"litellm", "langfuse", "obot", "loki", "dragonfly-backup"} <= set(users)
        assert _cells(screen, "#users", "obot")[5] == "none"  # its key was deleted
        assert _cells(screen, "#policies", "litellm-storage")[3] == "✘ lint"
        assert _cells(screen, "#policies", "loki-storage")[3] == "▲ broad"
        assert _cells(screen, "#policies", "dragonfly-storage")[3] == "✔ ok"
        shots.append(app.export_screenshot())

        await pilot.press("m")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        loki = _cells(screen, "#matrix", "monitoring/loki")
        assert "reaches other buckets: langfuse, litellm, obot" in loki[-1]
        assert "cannot list its own bucket" in _cells(screen, "#matrix", "ai-system/litellm")[-1]
        assert "keys rejected: SignatureDoesNotMatch" in _cells(screen, "#matrix", "ai-system/langfuse")[-1]
        assert _cells(screen, "#matrix", "cache/dragonfly")[-1].startswith("its bucket dragonfly-backups")
        shots.append(app.export_screenshot())
        shots.append(_all_cells(screen))
        assert_no_secret("\n".join(shots), secrets)
