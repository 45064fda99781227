"""Dragonfly pane: ACL users and their consumers, a user's denials and DRYRUN, memory, slowlog, config and drift."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Input, Sparkline, Static, TabbedContent, TabPane, Tabs

from screens.base import PaneScreen
from screens.prepared import Prepared
from screens.dragonfly_detail import (SLOW_COLUMNS, USER_COLUMNS, UserDetail, memory_gauge, memory_numbers,
                                     slow_cells, user_cells)
from tui.safe import clean, status_text
from tui.widgets.chrome import set_display, show_text
from tui.widgets.table import FilterableTable
from tui.widgets.table_rows import StoredRow, cell

TABS = {"users": "tab-users", "memory": "tab-memory", "slowlog": "tab-slowlog", "config": "tab-config"}
HISTORY = 120
"""Used-memory samples kept for the sparkline (one per refresh)."""


def _tab_body(tab: str) -> list[Widget]:
    """The widgets of a tab other than Users, made the first time the tab is shown (`_open_tab`)."""
    if tab == TABS["memory"]:
        return [Static("", id="mem-gauge"), Static("", id="mem-numbers"),
                Static("used memory across refreshes", id="mem-spark-title", classes="section-title"),
                Sparkline([], id="mem-spark")]
    if tab == TABS["slowlog"]:
        return [Static("", id="slow-findings"), FilterableTable(id="slowlog")]
    if tab == TABS["config"]:
        return [FilterableTable(id="config"), Static("", id="drift-title", classes="section-title"),
                FilterableTable(id="drift")]
    return []


def _config_rows(data: Any) -> Any:
    """The config table's rows, prepared (any thread): a dozen settings."""
    return FilterableTable.prepare((k, StoredRow((cell(k, "bold"), cell(v)))) for k, v in data.config)


def _drift_rows(data: Any) -> Any:
    """The drift table's rows, prepared (any thread): one per user that differs from the ACL source (10,000 at
    scale when none of them is in the file)."""
    return FilterableTable.prepare((f"{i}", StoredRow((cell(u, "bold"), cell(k, "yellow"), cell(d, limit=300))))
                                   for i, (u, k, d) in enumerate(data.drift))


class DragonflyScreen(PaneScreen):
    PANE = "dragonfly"
    TITLE = "Dragonfly"
    CSS_PATH = "dragonfly.tcss"

    BINDINGS = [
        Binding("u", "tab('users')", "Users", id="dragonfly.users"),
        Binding("m", "tab('memory')", "Memory", id="dragonfly.memory"),
        Binding("s", "tab('slowlog')", "Slowlog", id="dragonfly.slowlog"),
        Binding("c", "tab('config')", "Config", id="dragonfly.config"),
        Binding("v", "toggle_values", "Slowlog values", id="dragonfly.values"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.detail_user: str | None = None
        """The user whose detail is open, None when the list shows."""
        self.reveal_values = False
        """Slowlog shows argument values (credentials stay redacted) instead of key names only."""
        self.memory_history: list[float] = []
        """used_memory of each refresh, oldest first (the sparkline)."""
        self._pending_user: str | None = None
        self._focused_once = False
        self._prepared = Prepared()
        self._opened = {TABS["users"]}
        """The tabs whose widgets are made: Users at once, each other one when first shown (at scale, making and
        styling them, and the drift table's 10,000 rows, would delay the users the pane opens on)."""

    def compose_body(self) -> ComposeResult:
        yield Static("", id="df-summary")
        with TabbedContent(id="df-tabs", initial="tab-users"):
            with TabPane("Users", id="tab-users"):
                yield FilterableTable(id="users")
                yield UserDetail(id="user-detail")
            yield TabPane("Memory", id=TABS["memory"])
            yield TabPane("Slowlog", id=TABS["slowlog"])
            yield TabPane("Config & drift", id=TABS["config"])

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#user-detail").display = False

    # -- data ---------------------------------------------------------------------------------
    def fetch(self) -> Any:
        from checks.dragonfly_view import collect_view

        data = collect_view(self.app.conns)  # type: ignore[attr-defined]
        # the cells are built here, not on the UI thread; unchanged user rows are the previous refresh's objects
        drift = TABS["config"] in self._opened  # the drift table only once its tab was shown
        return self._prepared.put(data, self._tables(data, self._prepared.tables(), drift))

    @staticmethod
    def _tables(data: Any, previous: dict[str, Any] | None = None, drift: bool = True) -> dict[str, Any]:
        """The users, config and (with `drift`) drift tables' rows, prepared (any thread); `previous`: the last
        prepared tables, whose unchanged rows are reused."""
        tables = {"users": FilterableTable.prepare(((u.name, user_cells(u)) for u in data.users),
                                                   previous["users"] if previous is not None else None),
                  "config": _config_rows(data)}
        if drift:
            tables["drift"] = _drift_rows(data)
        return tables

    def show_data(self, data: Any) -> None:
        tables = self._prepared.get(data, lambda d: self._tables(d, drift=TABS["config"] in self._opened))
        show_text(self.query_one("#df-summary", Static), self._summary(data))
        self.query_one("#users", FilterableTable).set_rows(USER_COLUMNS, tables["users"])
        self._remember_memory(data.memory)
        self._show_tabs(data, tables)
        if self.detail_user is not None:
            self._fill_detail(self.detail_user)
        elif not self._focused_once:
            self._focused_once = True
            self.call_after_refresh(self.query_one("#users", FilterableTable).focus)
        if self._pending_user is not None:
            name, self._pending_user = self._pending_user, None
            self.open_user(name)

    def _summary(self, data: Any) -> Text:
        text = Text()
        text.append(clean(data.server), style="bold")
        live = sum(1 for u in data.users if u.enabled is not None)
        text.append(f"  ·  {live} live users")
        missing = len(data.users) - live
        if missing:
            text.append(f", {missing} not loaded", style="bold red")
        text.append(f"  ·  {len(data.denials)} ACL LOG entries")
        if data.memory is not None and data.memory.ratio is not None:
            pct = data.memory.ratio * 100
            text.append(f"  ·  memory {pct:.0f}%", style="bold red" if pct >= 90 else "")
        if data.findings:
            text.append(f"  ·  {len(data.findings)} finding(s)", style="yellow")
        for problem in data.problems:
            text.append("\n" + clean(problem), style="dim")
        return text

    def _show_tabs(self, data: Any, tables: dict[str, Any] | None = None) -> None:
        """Fill the tabs other than Users whose widgets are made (`tables`: the rows prepared with `data`)."""
        if TABS["memory"] in self._opened:
            self._show_memory(data.memory)
        if TABS["slowlog"] in self._opened:
            self._show_slowlog(data)
        if TABS["config"] in self._opened:
            tables = tables or {}
            config = tables.get("config") or _config_rows(data)  # not the users' 10,000 rows again
            self.query_one("#config", FilterableTable).set_rows(("setting", "value"), config)
            show_text(self.query_one("#drift-title", Static),
                      Text(f"ACL source vs live: {clean(data.acl_source)} — "
                           + (f"{len(data.drift)} difference(s)" if data.drift else "no drift")))
            drift = tables.get("drift")  # not prepared when the tab was first shown after the fetch began
            self.query_one("#drift", FilterableTable).set_rows(("user", "drift", "detail"),
                                                               drift if drift is not None else _drift_rows(data))

    def _open_tab(self, tab: str) -> None:
        """Make a tab's widgets the first time it is shown, filled with the data shown now."""
        if tab in self._opened or tab not in TABS.values():
            return
        self._opened.add(tab)
        self.query_one(f"#{tab}", TabPane).mount_all(_tab_body(tab))
        if self.data is not None:
            self._show_tabs(self.data)

    @on(TabbedContent.TabActivated, "#df-tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id is not None:  # a click on the tab, or the keys below
            self._open_tab(event.pane.id)

    def _remember_memory(self, mem: Any) -> None:
        """Add this refresh's used memory to the sparkline's history (kept whether its tab was shown or not)."""
        if mem is not None and mem.used is not None:
            self.memory_history = (self.memory_history + [float(mem.used)])[-HISTORY:]

    def _show_memory(self, mem: Any) -> None:
        show_text(self.query_one("#mem-gauge", Static), memory_gauge(mem))
        show_text(self.query_one("#mem-numbers", Static), memory_numbers(mem))
        spark = self.query_one("#mem-spark", Sparkline)
        spark.data = list(self.memory_history)
        set_display(spark, len(self.memory_history) >= 2)
        n = len(self.memory_history)
        show_text(self.query_one("#mem-spark-title", Static),
                  Text(f"used memory across refreshes ({n} samples)" if n >= 2 else
                       f"used memory across refreshes: {n} sample so far, the trend builds with each refresh"))

    def _show_slowlog(self, data: Any) -> None:
        text = Text()
        for f in data.findings:
            if f.subject != "slowlog":
                continue
            text.append_text(status_text(f.status))
            text.append(f" {clean(f.title)}  fix: {clean(f.fix)}\n")
        mode = "values shown (credentials stay hidden), v hides them" if self.reveal_values else \
            "argument values redacted (command and key names shown), v shows them"
        text.append(mode, style="dim")
        show_text(self.query_one("#slow-findings", Static), text)
        self.query_one("#slowlog", FilterableTable).set_rows(
            SLOW_COLUMNS, [(f"{e.id}-{e.time}-{i}", slow_cells(e, self.reveal_values))
                           for i, e in enumerate(data.slowlog)])

    # -- user detail ----------------------------------------------------------------------------
    @on(FilterableTable.RowSelected, "#users")
    def _user_selected(self, event: FilterableTable.RowSelected) -> None:
        self.open_user(str(event.row_key.value))

    def open_user(self, name: str) -> None:
        if self.data is None or not any(u.name == name for u in self.data.users):
            self.notify(f"no ACL user {name}", severity="warning")
            return
        self.query_one("#df-tabs", TabbedContent).active = TABS["users"]
        self.detail_user = name
        self.query_one("#users").display = False
        detail = self.query_one("#user-detail", UserDetail)
        detail.display = True
        detail.clear_answer()
        self._fill_detail(name)
        self.set_crumbs([self.TITLE, "Users", name])
        self.query_one("#dryrun-input", Input).focus()

    def _fill_detail(self, name: str) -> None:
        row = next((u for u in self.data.users if u.name == name), None)
        if row is not None:
            self.query_one("#user-detail", UserDetail).show(row, self.data.denials)

    def go_back(self) -> bool:
        if self.detail_user is None:
            return False
        self.detail_user = None
        self.query_one("#user-detail").display = False
        table = self.query_one("#users", FilterableTable)
        table.display = True
        table.focus()
        self.set_crumbs([self.TITLE])
        return True

    @on(Input.Submitted, "#dryrun-input")
    def _dryrun_submitted(self, event: Input.Submitted) -> None:
        command = event.value.strip()
        row = next((u for u in (self.data.users if self.data else ()) if u.name == self.detail_user), None)
        if row is None or not command:
            return
        self.query_one("#dryrun-result", Static).update(Text("running…", style="dim"))
        self._dryrun_worker(row, command)

    @work(thread=True, exclusive=True, exit_on_error=False, group="df-dryrun",
          description="dry-run a command as the ACL user")
    def _dryrun_worker(self, row: Any, command: str) -> None:
        from checks.dragonfly_dryrun import DryRunAnswer, dryrun_as
        from checks.errors import SourceError

        try:
            answer = dryrun_as(self.app.conns, row, command)  # type: ignore[attr-defined]
        except SourceError as exc:
            answer = DryRunAnswer(None, f"{exc.title}: {exc.message}", False)
        self.app.call_from_thread(self.query_one("#user-detail", UserDetail).show_answer, command, answer)

    # -- actions and links ----------------------------------------------------------------------
    def action_tab(self, tab: str) -> None:
        pane = TABS.get(tab, TABS["users"])
        self.query_one("#df-tabs", TabbedContent).active = pane
        self._open_tab(pane)  # now, not at the TabActivated message: its table gets the focus below
        target = {"users": "#users", "slowlog": "#slowlog", "config": "#config"}.get(tab)
        if target is None:  # Memory has nothing to focus: the tab strip; a table left focused in the tab just
            # hidden would hand the focus to its neighbour there, and that switched back to its tab
            self.set_focus(self.query_one("#df-tabs", TabbedContent).query_one(Tabs))
        elif not (tab == "users" and self.detail_user):
            self.query_one(target, FilterableTable).focus()

    def action_toggle_values(self) -> None:
        self.reveal_values = not self.reveal_values
        if self.data is not None and TABS["slowlog"] in self._opened:
            self._show_slowlog(self.data)

    def focus_on(self, subject: str = "", tab: str = "", user: str = "", **_: Any) -> None:
        """Links from other panes: `tab=memory`, or a user name (`:df litellm`)."""
        if tab:
            self.action_tab(tab)
        name = user or subject
        if name and self.data is not None:
            self.open_user(name)
        elif name:
            self._pending_user = name
