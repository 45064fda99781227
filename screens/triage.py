"""Triage pane."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import PaneScreen


class TriageScreen(PaneScreen):
    PANE = "triage"
    TITLE = "Triage"
    AUTO_REFRESH = False

    def compose_body(self) -> ComposeResult:
        yield Static("Triage pane", id="placeholder")
