"""CNPG pane."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import PaneScreen


class CnpgScreen(PaneScreen):
    PANE = "cnpg"
    TITLE = "CNPG"

    def compose_body(self) -> ComposeResult:
        yield Static("CNPG pane", id="placeholder")
