"""Overview pane: each system's reachability, version and counts, and the permission self-check."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Static

from screens.base import PaneScreen
from tui.safe import safe, status_text
from tui.widgets.chrome import show_text
from tui.widgets.table import FilterableTable


class OverviewScreen(PaneScreen):
    PANE = "overview"
    TITLE = "Overview"
    _partial: Any = None
    """The Overview so far while the first load fills in (`Progress`); `data` once it is complete."""

    def compose_body(self) -> ComposeResult:
        yield Static("Systems", classes="section-title")
        yield FilterableTable(id="systems")
        yield Static("", id="system-detail")
        yield Static("Permission self-check: what clusterdeck's own identity may do", classes="section-title")
        yield FilterableTable(id="permissions")

    class Progress(Message):
        """The Overview so far, while the first load fills in (posted from the fetch's thread)."""

        def __init__(self, partial: Any) -> None:
            super().__init__()
            self.partial = partial

    def fetch(self) -> Any:
        from checks.overview import collect_overview

        conns = self.app.conns  # type: ignore[attr-defined]
        # the first load shows each system as it answers; a refresh keeps the last rows until all answered
        progress = None if self._loaded_once else lambda partial: self.post_message(self.Progress(partial))
        return collect_overview(conns, progress)

    @on(Progress)
    def _progress(self, event: Progress) -> None:
        if self._loaded_once:  # the whole answer came first
            return
        self.query_one("#pane-body").loading = False
        self._partial = event.partial
        self._show_systems(event.partial)

    def show_data(self, data: Any) -> None:
        self._show_systems(data)
        perms = self.query_one("#permissions", FilterableTable)
        perms.set_rows(
            ("system", "operation", "allowed", "if missing, disables"),
            [(f"{p.system}:{p.operation}", (safe(p.system), safe(p.operation),
                                             Text("yes", style="green") if p.allowed else
                                             (Text("no", style="bold red") if p.allowed is False else Text("?", style="dim")),
                                             safe(p.disables if not p.allowed else p.detail or "")))
             for p in data.permissions],
        )

    def _show_systems(self, data: Any) -> None:
        if data.context:
            self.app.note_context(data.context)  # type: ignore[attr-defined]
        systems = self.query_one("#systems", FilterableTable)
        # the problem right after the status, the alerts with the counts (two rows have any), the version last:
        # at 150 columns the problem was cut off the right edge, behind an alerts column mostly empty
        systems.set_rows(
            ("system", "status", "problem (details below)", "counts", "version"),
            [(s.system, (safe(s.system, "bold"), status_text(s.status),
                         safe(s.detail, "red" if s.status == "error" else "", limit=36),
                         safe(" · ".join(filter(None, (s.counts, s.alerts))), limit=60), safe(s.version, limit=24)))
             for s in data.systems],
        )
        self._show_system(systems.cursor_row)

    @on(FilterableTable.RowHighlighted, "#systems")
    def _system_highlighted(self, event: FilterableTable.RowHighlighted) -> None:
        self._show_system(event.cursor_row)

    def _show_system(self, row: int) -> None:
        """The highlighted system's full problem text and endpoint, below the table."""
        table = self.query_one("#systems", FilterableTable)
        keys = table.visible_keys()
        box = self.query_one("#system-detail", Static)
        data = self.data if self.data is not None else self._partial
        if data is None or not 0 <= row < len(keys):
            show_text(box, Text(""))
            return
        system = next((s for s in data.systems if s.system == keys[row]), None)
        if system is None:
            return
        text = Text()
        text.append(f"{system.system}: ", style="bold")
        text.append_text(safe(system.detail or "no problem seen", "red" if system.status == "error" else ""))
        if system.endpoint:
            text.append("\nendpoint: ", style="dim")
            text.append_text(safe(system.endpoint))
        show_text(box, text)
