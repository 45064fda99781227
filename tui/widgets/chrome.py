"""Header with context and write badge, breadcrumbs, and the `:` / `/` input bars."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, Static
from textual.widgets._footer import FooterKey

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


def show_text(widget: Static, content: Text) -> None:
    """`widget.update(content)` without the needless work of a pane's refresh: nothing when the text and its
    styles are the same, and no layout when the new text takes as many lines as the old and each fits the
    widget's width, or when the widget is in a part not displayed (a tab not shown: showing it lays it out).
    Textual's `Static.update` lays out the whole screen each time (at 140x45 with a 10,000-row table,
    ~80 ms on the UI thread), even for a widget in a tab not shown."""
    old = widget.content
    if isinstance(old, Text) and old == content and (old.style, old.justify) == (content.style, content.justify):
        return
    if not in_view(widget):
        widget.update(content, layout=False)
        return
    width = widget.content_region.width
    same_height = isinstance(old, Text) and _height(old, width) == _height(content, width) is not None
    widget.update(content, layout=not same_height)


def in_view(widget: Widget) -> bool:
    """Whether `widget` is displayed: neither it nor a container of it (a tab not shown) has `display: none`."""
    return all(node.display for node in widget.ancestors_with_self)


def set_display(widget: Widget, shown: bool) -> None:
    """`widget.display = shown`, without the layout of the whole screen that Textual makes when `display` is set
    to True on a widget already displayed."""
    if widget.display != shown:
        widget.display = shown


def _height(text: Text, width: int) -> int | None:
    """Lines `text` takes in `width` cells when none wraps, else None."""
    lines = text.plain.split("\n")
    return len(lines) if all(cell_len(line) <= width for line in lines) else None


class KeyBar(Footer):
    """Textual's Footer, made cheaper to keep: each of its ~15-20 key widgets restyled itself twice as it
    mounted, and the footer composed all of them again on every change of focus, whether or not the keys
    shown changed. That was ~200 restyles, ~0.2-0.5 s of the UI thread's time (measured with the pilot), while
    a pane's first fetch needed the GIL.

    - A key starts in the footer's own compact style. Textual's FooterKey starts compact, and its data binding
      then turns that off: two restyles of the key per mount. (The command palette's key is not bound to the
      footer's style and stays compact, as in Textual: its class is set before it mounts.)
    - The keys are composed again only when the keys shown (key, action, label, enabled, tooltip) change."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[Any, ...] | None = None

    def _keys_shown(self) -> tuple[Any, ...]:
        return tuple((b.key, b.action, b.description, enabled, tooltip)
                     for (_, b, enabled, tooltip) in self.screen.active_bindings.values() if b.show)

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = self._keys_shown()
        for widget in super().compose():
            if isinstance(widget, FooterKey):  # its style set before it mounts, so its watcher changes nothing
                # the palette's key keeps FooterKey's default, True (reading `widget.compact` runs the watcher)
                compact = True if widget.has_class("-command-palette") else self.compact
                widget.set_reactive(FooterKey.compact, compact)
                widget.set_class(compact, "-compact", update=False)
            yield widget

    def bindings_changed(self, screen: Screen[Any]) -> None:
        self._bindings_ready = True
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if self.is_attached and self._keys_shown() != self._shown:
            await self.recompose()


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
        # focused now, not on the loop's next turn as `focus()` does: the `/` that opens it is a priority key,
        # acted on before the app hands the keys read with it (a paste) to the focused widget
        self.screen.set_focus(self)

    def close(self) -> bool:
        """Close the bar; True when it was open."""
        was_open = self.has_class("-open")
        self.remove_class("-open")
        self.can_focus = False
        return was_open
