"""A DataTable that keeps its full row set and filters it by regex (`/` and `/!`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from tui.safe import safe


class FilterableTable(DataTable):
    """DataTable with `set_rows` and `apply_filter`; cells given as str are rendered literally."""

    DEFAULT_CSS = """
    FilterableTable { height: 1fr; }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(*args, **kwargs)
        self._all_rows: list[tuple[str, tuple[Any, ...]]] = []
        self._columns: tuple[str, ...] = ()
        self.filter_pattern: str = ""
        self.filter_invert: bool = False

    def set_rows(self, columns: Sequence[str], rows: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Replace the content; keeps the cursor on the same row key when it still exists."""
        current = self._current_key()
        if tuple(columns) != self._columns:
            self.clear(columns=True)
            self.add_columns(*columns)
            self._columns = tuple(columns)
        self._all_rows = [(key, tuple(c if isinstance(c, Text) else safe(c) for c in cells)) for key, cells in rows]
        self._render_rows(current)

    def apply_filter(self, pattern: str, invert: bool = False) -> str | None:
        """Filter rows by a case-insensitive regex; returns an error text for a bad regex."""
        try:
            re.compile(pattern, re.I)
        except re.error as exc:
            return f"bad regex: {exc}"
        self.filter_pattern, self.filter_invert = pattern, invert
        self._render_rows(self._current_key())
        return None

    def visible_keys(self) -> list[str]:
        return [str(k.value) for k in self.rows]

    def _matches(self, cells: tuple[Text, ...]) -> bool:
        if not self.filter_pattern:
            return True
        hay = " ".join(c.plain for c in cells)
        found = re.search(self.filter_pattern, hay, re.I) is not None
        return found != self.filter_invert

    def _current_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except Exception:
            return None

    def _render_rows(self, keep: str | None) -> None:
        self.clear(columns=False)
        for key, cells in self._all_rows:
            if self._matches(cells):
                self.add_row(*cells, key=key)
        if keep is not None:
            try:
                self.move_cursor(row=self.get_row_index(keep))
            except Exception:
                pass
