"""Dragonfly pane."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import PaneScreen


class DragonflyScreen(PaneScreen):
    PANE = "dragonfly"
    TITLE = "Dragonfly"

    def compose_body(self) -> ComposeResult:
        yield Static("Dragonfly pane", id="placeholder")
