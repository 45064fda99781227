"""Header with context and write badge, breadcrumbs, and the `:` / `/` input bars."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Input, Static

from tui.safe import clean


class DeckHeader(Static):
    """One line: app name, kube context, mode badge (read-only / writes / locked / replay)."""

    DEFAULT_CSS = """
    DeckHeader { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def show(self, context: str, badge: str, badge_style: str, extra: str = "") -> None:
        text = Text()
        text.append("clusterdeck", style="bold")
        text.append(" │ ctx ", style="dim")
        text.append(clean(context or "?"), style="bold cyan")
        text.append("  ")
        text.append(f" {badge} ", style=badge_style)
        if extra:
            text.append("  " + clean(extra), style="dim")
        self.update(text)


class Breadcrumbs(Static):
    DEFAULT_CSS = """
    Breadcrumbs { height: 1; padding: 0 1; color: $text-muted; }
    """

    def show(self, crumbs: list[str]) -> None:
        text = Text()
        for i, crumb in enumerate(crumbs):
            if i:
                text.append(" › ", style="dim")
            text.append(clean(crumb), style="bold" if i == len(crumbs) - 1 else "")
        self.update(text)


class PromptBar(Input):
    """A one-line prompt at the bottom (`:` command line or `/` filter); hidden until opened."""

    DEFAULT_CSS = """
    PromptBar { dock: bottom; display: none; height: 3; }
    PromptBar.-open { display: block; }
    """

    def on_mount(self) -> None:
        self.can_focus = False  # never takes focus while closed (digits must reach the app)

    def open(self) -> None:
        self.can_focus = True
        self.add_class("-open")
        self.focus()

    def close(self) -> bool:
        """Close the bar; True when it was open."""
        was_open = self.has_class("-open")
        self.remove_class("-open")
        self.can_focus = False
        return was_open
