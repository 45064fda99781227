"""Alerts pane."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import PaneScreen


class AlertsScreen(PaneScreen):
    PANE = "alerts"
    TITLE = "Alerts"

    def compose_body(self) -> ComposeResult:
        yield Static("Alerts pane", id="placeholder")
