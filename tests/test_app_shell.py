"""The app shell on the lab: every pane loads, k9s-style navigation, filter, help, palette, badges."""

from __future__ import annotations

from typing import Any

import pytest

from checks.config import Config, ContextConfig
from checks.overview import Overview, PermissionCheck, SystemStatus
from tests.labtools import lab_config as config_for
from tui.app import make_app

PANES = ("overview", "dragonfly", "cnpg", "rustfs", "alerts", "triage")


@pytest.fixture
def lab_app_config(lab):
    return config_for(lab).with_overrides(refresh_interval=0.0)


async def test_every_pane_loads_on_the_lab(lab, lab_app_config):
    app = make_app(lab_app_config)
    async with app.run_test(size=(160, 50)) as pilot:
        for i, pane in enumerate(PANES, start=1):
            await pilot.press(str(i))
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.current_mode == pane
            screen = app.screen
            assert screen.error is None, f"{pane}: {screen.error}"
            assert not screen.query_one("#pane-error").display, pane
        shot = app.export_screenshot()
        for secret in lab["_secrets"]:
            assert secret not in shot


async def test_overview_shows_all_systems_reachable(lab, lab_app_config):
    app = make_app(lab_app_config)
    async with app.run_test(size=(160, 50)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        data = app.screen.data
        by_system = {s.system.split()[0]: s.status for s in data.systems}
        for system in ("kubernetes", "dragonfly", "cnpg", "rustfs", "prometheus", "alertmanager"):
            assert by_system.get(system) == "pass", (system, data.systems)
        assert data.context == "clusterdeck-lab"
        header = str(app.screen.query_one("#deck-header").render())
        assert "clusterdeck-lab" in header and "READ-ONLY" in header


async def test_command_line_aliases_filter_and_back():
    app = make_app(Config(refresh_interval=0), static_data={"overview": _overview()})
    async with app.run_test(size=(140, 45)) as pilot:
        await app.workers.wait_for_complete()
        for alias, mode in (("df", "dragonfly"), ("pg", "cnpg"), ("s3", "rustfs"), ("alerts", "alerts"),
                            ("triage", "triage"), ("overview", "overview")):
            await pilot.press("colon", *alias, "enter")
            await pilot.pause()
            assert app.current_mode == mode, alias
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "triage"  # esc goes back along the breadcrumb history
        await pilot.press("1")
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#systems")
        assert len(table.visible_keys()) == 3
        await pilot.press("slash", *"drag", "enter")
        await pilot.pause()
        assert table.visible_keys() == ["dragonfly"]
        await pilot.press("slash", "backspace", "backspace", "backspace", "backspace", "!", *"drag", "enter")
        await pilot.pause()
        assert "dragonfly" not in table.visible_keys() and len(table.visible_keys()) == 2
        await pilot.press("slash", "[")  # "!drag[" is a bad regex: the rows stay, the bar says so
        await pilot.pause()
        assert len(table.visible_keys()) == 2
        assert app.screen.query_one("#filter-bar").has_class("-invalid")
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "overview" and not app.screen.query_one("#filter-bar").has_class("-open")


async def test_help_and_palette():
    app = make_app(Config(refresh_interval=0), static_data={"overview": _overview()})
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"rustfs")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_mode == "rustfs"


async def test_badges():
    cfg = Config(refresh_interval=0, contexts={"prod": ContextConfig(read_only=True)})
    data = {"overview": _overview()}
    app = make_app(cfg, allow_writes=True, context_name="prod", static_data=data)
    assert not app.allow_writes and app.badge()[0].startswith("LOCKED")
    app = make_app(cfg, allow_writes=True, context_name="dev", static_data=data)
    assert app.allow_writes and app.badge()[0] == "WRITES ENABLED"
    app = make_app(cfg, context_name="dev", static_data=data)
    assert app.badge()[0] == "READ-ONLY"


async def test_hostile_names_render_literally():
    hostile = Overview("[bold]ctx[/]", (SystemStatus("dragonfly", "error", "[link=http://x]x[/link]",
                                                     detail="[@click=app.quit]boom\x1b[31m"),), ())
    app = make_app(Config(refresh_interval=0), static_data={"overview": hostile})
    async with app.run_test(size=(140, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        shot = app.export_screenshot()
        assert "[@click=app.quit]boom" in shot.replace("&#160;", " ") or "@click=app.quit" in shot
        assert app.is_running


def _overview() -> Overview:
    return Overview("clusterdeck-lab", (
        SystemStatus("kubernetes", "pass", "http://127.0.0.1:6443", "v1.31", "18 secrets, 14 pods"),
        SystemStatus("dragonfly", "pass", "dragonfly.cache.svc:6379", "dragonfly df-v1.25.4",
                     "6 users, 4 denials logged, mem 93%"),
        SystemStatus("prometheus", "error", "http://prometheus-operated.monitoring.svc:9090",
                     detail="Connection refused: nothing listens on 127.0.0.1:9090"),
    ), (
        PermissionCheck("dragonfly", "ACL LOG", False, "recent denials (D7)", "NOPERM"),
        PermissionCheck("kubernetes", "list secrets", True, "credential lookup"),
    ))


def test_snapshot_overview(snap_compare):
    app = make_app(Config(refresh_interval=0), context_name="clusterdeck-lab", static_data={"overview": _overview()})

    async def run_before(pilot):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(140, 34), run_before=run_before)


async def test_gc_policy_applied_and_loaded_pane_frozen():
    """The app raises the collector's thresholds and, once a pane has loaded, moves what is alive to the
    permanent generation (tui/gcpolicy.py: full collections of the client libraries stalled the event loop)."""
    import gc

    from tui import gcpolicy

    old = gc.get_threshold()
    gcpolicy._frozen.discard("overview")
    gc.unfreeze()
    try:
        app = make_app(Config(refresh_interval=0), context_name="clusterdeck-lab", static_data={"overview": _overview()})
        async with app.run_test(size=(140, 34)) as pilot:
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            assert gc.get_threshold() == gcpolicy.THRESHOLDS
            assert gcpolicy.limit_malloc_arenas() is True  # Linux/glibc here: mallopt accepted the cap
            assert app.screen.data is not None and gc.get_freeze_count() > 0
            assert "overview" in gcpolicy._frozen
    finally:
        gc.set_threshold(*old)


async def test_first_frame_written_is_the_whole_screen(monkeypatch):
    """The first frame the terminal gets holds the header and the pane, not only what changed after Textual's
    start-up batch (which computes the first full frame and drops it), and the footer follows it."""
    from textual.app import App
    from textual._compositor import CompositorUpdate

    written: list[str] = []
    original = App._display

    def display(self, screen, renderable):  # what reaches the terminal: outside a batch, with a renderable
        if renderable is not None and not self._batch_count and isinstance(renderable, CompositorUpdate):
            written.append(renderable.render_segments(self.console))
        original(self, screen, renderable)

    monkeypatch.setattr(App, "_display", display)
    app = make_app(Config(refresh_interval=0), context_name="clusterdeck-lab", static_data={"overview": _overview()})
    async with app.run_test(size=(140, 34)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert app.first_paint.is_set()
        assert app.screen.query("Footer") and app.screen.query("#filter-bar")
    assert written
    assert "READ-ONLY" in written[0] and "Overview" in written[0] and "Systems" in written[0]


async def test_css_parsed_once_when_its_variables_do_not_change(monkeypatch):
    """Textual refreshes the CSS on each mode's first screen; with the same variables the parsed rules are kept
    (each stylesheet source is parsed once), and a theme change still parses with the new variables."""
    from textual.css.stylesheet import Stylesheet

    parsed: list[str] = []
    original = Stylesheet._parse_rules

    def parse_rules(self, css, read_from, *args, **kwargs):
        key = (css, read_from, *args, *kwargs.values())
        if key not in self._parse_cache:
            parsed.append(str(read_from))
        return original(self, css, read_from, *args, **kwargs)

    monkeypatch.setattr(Stylesheet, "_parse_rules", parse_rules)
    app = make_app(Config(refresh_interval=0), context_name="clusterdeck-lab", static_data={"overview": _overview()})
    async with app.run_test(size=(140, 34)) as pilot:
        await pilot.pause()
        await pilot.press("5")  # a pane's first visit refreshes the CSS again
        await pilot.pause()
        ours = [p for p in parsed if "app.tcss" in p]
        assert len(ours) == 1, parsed
        dark = app.screen.styles.background
        app.theme = "textual-light"
        await pilot.pause()
        assert len([p for p in parsed if "app.tcss" in p]) == 2  # new variables: parsed again
        assert app.screen.styles.background != dark  # and applied


async def test_a_pane_starts_reading_as_its_screen_is_made_on_first_visit(monkeypatch):
    """On a pane's first visit the fetch starts when the screen is made, before Textual composes, mounts and
    paints it; the first load takes that answer (one read, not two), an error from it shows as the pane's
    error, and `r` reads again."""
    import threading

    from checks.errors import SourceError
    from screens.dragonfly import DragonflyScreen
    from tests.test_pane_dragonfly import static_view

    calls: list[str] = []
    fail = threading.Event()

    def fetch(self):
        calls.append(threading.current_thread().name)  # the early fetch's own thread, started as the screen is made
        if fail.is_set():
            raise SourceError("redis", "Cannot connect", "connection refused at 127.0.0.1:1")
        return static_view()

    async def first_visit(pilot):
        await pilot.app.workers.wait_for_complete()
        await pilot.press("2")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        return pilot.app.screen

    monkeypatch.setattr(DragonflyScreen, "fetch", fetch)
    app = make_app(Config(refresh_interval=0), static_data={"overview": _overview()})
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await first_visit(pilot)
        assert calls == ["dragonfly-first-fetch"], "one read, the one started as the screen was made"
        assert screen.data is not None and screen.error is None
        assert screen.query_one("#users").row_count == len(static_view().users)
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(calls) == 2 and calls[1] != "dragonfly-first-fetch", "r reads again, in the pane's worker"
    fail.set()
    calls.clear()
    app = make_app(Config(refresh_interval=0), static_data={"overview": _overview()})
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await first_visit(pilot)
        assert calls == ["dragonfly-first-fetch"]
        assert isinstance(screen.error, SourceError)
        assert "Cannot connect" in str(screen.query_one("#pane-error").content)


async def test_show_text_lays_out_the_screen_only_when_a_height_can_change() -> None:
    """`show_text` (what panes use on each refresh): Textual's Static.update lays out the whole screen each
    time; show_text does nothing for the same text, and asks no layout for text of the same height or for a
    widget in a tab not shown. A text that gets taller still gets its layout. `set_display` likewise, for
    `display = True` on a widget already displayed."""
    from rich.text import Text
    from textual.app import App
    from textual.widgets import Static, TabbedContent, TabPane

    from tui.widgets.chrome import in_view, set_display, show_text

    class Probe(App[None]):
        def compose(self) -> Any:
            with TabbedContent(initial="shown"):
                with TabPane("shown", id="shown"):
                    yield Static(Text("one line"), id="a")
                with TabPane("hidden", id="hidden"):
                    yield Static(Text("in a hidden tab"), id="b")

    app = Probe()
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        a, b = app.query_one("#a", Static), app.query_one("#b", Static)
        calls: list[tuple[str, bool]] = []
        for widget in (a, b):
            original = widget.update

            def update(content: Any, *, layout: bool = True, _w: Static = widget, _o: Any = original) -> None:
                calls.append((_w.id or "", layout))
                _o(content, layout=layout)

            widget.update = update  # type: ignore[method-assign]
        show_text(a, Text("one line"))
        assert calls == [], "the same text: nothing to do"
        show_text(a, Text("one line", style="bold"))
        show_text(a, Text("another line"))
        show_text(b, Text("three\nlines\nnow"))
        show_text(a, Text("two\nlines"))
        show_text(a, Text("x" * 200))
        assert calls == [("a", False), ("a", False), ("b", False), ("a", True), ("a", True)]
        await pilot.pause()
        assert a.size.height == 4, "the text that wraps got its layout (200 characters in 58 columns)"
        assert str(a.content) == "x" * 200

        layouts: list[bool] = []
        original_refresh = a.refresh

        def refresh(*regions: Any, layout: bool = False, **kwargs: Any) -> Any:
            layouts.append(layout)
            return original_refresh(*regions, layout=layout, **kwargs)

        a.refresh = refresh  # type: ignore[method-assign]
        set_display(a, True)
        assert layouts == [], "already displayed: Textual would lay out the screen for `display = True`"
        set_display(a, False)
        set_display(a, True)
        assert layouts.count(True) == 2 and a.display
        assert in_view(a) and not in_view(b), "b is in the tab not shown"
