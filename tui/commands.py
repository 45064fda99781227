"""Command-palette entries: every pane, with the key that opens it."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class PaneCommands(Provider):
    def _entries(self) -> list[tuple[str, str, str]]:
        from tui.app import PANES

        return [(f"Go to {title} pane", f"key {key} · :{mode}", mode) for mode, (title, key) in PANES.items()]

    async def discover(self) -> Hits:
        for name, help_text, mode in self._entries():
            yield DiscoveryHit(name, partial(self.app.action_goto, mode), help=help_text)  # type: ignore[attr-defined]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, mode in self._entries():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self.app.action_goto, mode), help=help_text)  # type: ignore[attr-defined]
