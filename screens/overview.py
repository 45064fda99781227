"""Overview pane: each system's reachability, version and counts, and the permission self-check."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import PaneScreen
from tui.safe import safe, status_text
from tui.widgets.table import FilterableTable


class OverviewScreen(PaneScreen):
    PANE = "overview"
    TITLE = "Overview"

    def compose_body(self) -> ComposeResult:
        yield Static("Systems", classes="section-title")
        yield FilterableTable(id="systems")
        yield Static("Permission self-check: what clusterdeck's own identity may do", classes="section-title")
        yield FilterableTable(id="permissions")

    def fetch(self) -> Any:
        from checks.overview import collect_overview

        conns = self.app.conns  # type: ignore[attr-defined]
        return collect_overview(conns)

    def show_data(self, data: Any) -> None:
        self.app.note_context(data.context)  # type: ignore[attr-defined]
        systems = self.query_one("#systems", FilterableTable)
        systems.set_rows(
            ("system", "status", "endpoint", "version", "counts", "alerts", "detail"),
            [(s.system, (safe(s.system, "bold"), status_text(s.status), safe(s.endpoint), safe(s.version),
                         safe(s.counts), safe(s.alerts), safe(s.detail, limit=160)))
             for s in data.systems],
        )
        perms = self.query_one("#permissions", FilterableTable)
        perms.set_rows(
            ("system", "operation", "allowed", "if missing, disables"),
            [(f"{p.system}:{p.operation}", (safe(p.system), safe(p.operation),
                                             Text("yes", style="green") if p.allowed else
                                             (Text("no", style="bold red") if p.allowed is False else Text("?", style="dim")),
                                             safe(p.disables if not p.allowed else p.detail or "")))
             for p in data.permissions],
        )
