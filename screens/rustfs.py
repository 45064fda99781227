"""RustFS pane."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import PaneScreen


class RustfsScreen(PaneScreen):
    PANE = "rustfs"
    TITLE = "RustFS"

    def compose_body(self) -> ComposeResult:
        yield Static("RustFS pane", id="placeholder")
