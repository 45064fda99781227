"""A DataTable that keeps its full row set and filters it by regex (`/` and `/!`).

Built for large tables (10,000 ACL users): rows are added in bulk instead of one `add_row` at a time
(which re-validates the cursor per row), and each cell's width is computed once in `set_rows` from its
plain text instead of DataTable measuring every cell of every new row through the console on each
re-render. A filter keystroke therefore costs one regex scan over prepared row texts plus a bulk re-add.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import zip_longest
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets._data_table import DuplicateKey, Row, RowKey

from tui.safe import safe


def _width(text: Text) -> int:
    """What DataTable's measure() gives for a Text cell: its widest line, in terminal cells."""
    plain = text.plain
    if plain.isascii() and plain.isprintable():  # one cell per character
        return len(plain)
    if "\n" not in plain:
        return cell_len(plain)
    return max(cell_len(line) for line in plain.split("\n"))


class PreparedRows:
    """Rows made ready for a FilterableTable: cells as Text, their widths, and the filter's haystacks.

    Pure data (no widget): built by `FilterableTable.prepare` in a worker thread or by `set_rows`."""

    __slots__ = ("rows", "widths", "haystacks", "lowered", "_objects")

    def __init__(self, rows: Iterable[tuple[str, Sequence[Any]]]) -> None:
        self.rows: list[tuple[str, tuple[Any, ...]]] = [
            (key, tuple(c if isinstance(c, Text) else safe(c) for c in cells)) for key, cells in rows]
        """(key, cells) with every cell a Text."""
        self.widths: dict[str, tuple[int, ...]] = {key: tuple(_width(c) for c in cells) for key, cells in self.rows}
        """Row key -> each cell's width in terminal cells."""
        self.haystacks: list[str] = [" ".join(c.plain for c in cells) for _, cells in self.rows]
        """Each row's plain text (cells joined by spaces), what the regex filter searches."""
        self.lowered: list[str] = [hay.lower() for hay in self.haystacks]
        """The haystacks lower-cased once, what a plain-word filter keystroke searches."""
        self._objects: tuple[tuple[Any, ...], dict[str, tuple[RowKey, dict[Any, Any], Row]]] | None = None

    def objects(self, column_keys: tuple[Any, ...]) -> dict[str, tuple[RowKey, dict[Any, Any], Row]]:
        """Row key -> the DataTable's own records of that row (key, cells by column, Row), made once and
        reused by every re-render (a filter keystroke re-adds rows without re-creating them)."""
        cached = self._objects
        if cached is not None and cached[0] == column_keys:
            return cached[1]
        width = len(column_keys)
        out: dict[str, tuple[RowKey, dict[Any, Any], Row]] = {}
        for key, cells in self.rows:
            if len(cells) > width:
                raise ValueError("More values provided than there are columns.")
            row_key = RowKey(key)
            if key in out:
                raise DuplicateKey(f"The row key {row_key!r} already exists.")
            out[key] = (row_key, dict(zip(column_keys, cells) if len(cells) == width else
                                      zip_longest(column_keys, cells)), Row(row_key, 1, None, False))
        self._objects = (column_keys, out)
        return out


class FilterableTable(DataTable):
    """DataTable with `set_rows` and `apply_filter`; cells and column labels given as str are rendered literally."""

    DEFAULT_CSS = """
    FilterableTable { height: 1fr; }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(*args, **kwargs)
        self._all_rows: list[tuple[str, tuple[Any, ...]]] = []
        self._columns: tuple[str, ...] = ()
        self._widths: dict[str, tuple[int, ...]] = {}
        self._prepared = PreparedRows(())
        self._shown: list[tuple[str, tuple[Any, ...]]] | None = None
        """The rows currently in the DataTable (None: unknown, render again)."""
        self._measured_all = False
        """Every row of the current set has been measured into the column widths (which never shrink)."""
        self.filter_pattern: str = ""
        self.filter_invert: bool = False

    @staticmethod
    def prepare(rows: Sequence[tuple[str, Sequence[Any]]]) -> PreparedRows:
        """Everything `set_rows` computes per row, done without touching the widget: call it in a worker
        thread (a pane's `fetch()`) so that the UI thread only swaps the prepared rows in."""
        return PreparedRows(rows)

    def set_rows(self, columns: Sequence[str], rows: Sequence[tuple[str, Sequence[Any]]] | PreparedRows) -> None:
        """Replace the content; keeps the cursor on the same row key when it still exists.

        `rows` may be `FilterableTable.prepare(rows)`, built in a worker thread."""
        current = self._current_key()
        if tuple(columns) != self._columns:
            self.clear(columns=True)
            # labels too may be server text (the access matrix names a column per bucket): never markup
            self.add_columns(*(c if isinstance(c, Text) else safe(c) for c in columns))
            self._columns = tuple(columns)
        prepared = rows if isinstance(rows, PreparedRows) else PreparedRows(rows)
        self._all_rows = prepared.rows
        self._widths = prepared.widths
        self._prepared = prepared
        self._shown = None
        self._measured_all = False
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

    def _visible_rows(self) -> list[tuple[str, tuple[Any, ...]]]:
        if not self.filter_pattern:
            return self._all_rows
        prepared = self._prepared
        pattern, invert = self.filter_pattern, self.filter_invert
        if re.escape(pattern) == pattern and pattern.isascii():  # a plain word: substring test, no regex engine
            needle = pattern.lower()
            return [row for row, hay in zip(self._all_rows, prepared.lowered) if (needle in hay) != invert]
        search = re.compile(pattern, re.I).search
        return [row for row, hay in zip(self._all_rows, prepared.haystacks) if (search(hay) is None) == invert]

    def _current_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except Exception:
            return None

    def _render_rows(self, keep: str | None) -> None:
        visible = self._visible_rows()
        shown = self._shown
        if shown is not None and len(shown) == len(visible) and all(a is b for a, b in zip(shown, visible)):
            return  # the filter kept exactly the rows on screen (a keystroke that matches them all)
        self.clear(columns=False)
        self._add_prepared(visible)
        self._shown = visible
        if keep is not None:
            try:
                self.move_cursor(row=self.get_row_index(keep))
            except Exception:
                pass

    def _add_rows(self, rows: Iterable[tuple[str, tuple[Any, ...]]]) -> None:
        """`add_row` for many rows at once (height 1, no label), with one cursor check at the end."""
        column_keys = [c.key for c in self.ordered_columns]
        width = len(column_keys)
        locations, data, table_rows, new_rows = self._row_locations, self._data, self.rows, self._new_rows
        first = index = self.row_count
        for key, cells in rows:
            if len(cells) > width:
                raise ValueError("More values provided than there are columns.")
            row_key = RowKey(key)
            if row_key in locations:
                raise DuplicateKey(f"The row key {row_key!r} already exists.")
            locations[row_key] = index
            data[row_key] = dict(zip(column_keys, cells) if len(cells) == width else zip_longest(column_keys, cells))
            table_rows[row_key] = Row(row_key, 1, None, False)
            new_rows.add(row_key)
            index += 1
        if index == first:
            return
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if first == 0 and column_keys and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self._update_count += 1
        self.check_idle()

    def _add_prepared(self, rows: list[tuple[str, tuple[Any, ...]]]) -> None:
        """`_add_rows` for rows of the current PreparedRows, reusing their DataTable records."""
        column_keys = [c.key for c in self.ordered_columns]
        objects = self._prepared.objects(tuple(column_keys))
        locations, data, table_rows, new_rows = self._row_locations, self._data, self.rows, self._new_rows
        first = index = self.row_count
        ordered: list[Row] = []
        for key, _ in rows:
            row_key, cells, row = objects[key]
            locations[row_key] = index
            data[row_key] = cells
            table_rows[row_key] = row
            ordered.append(row)
            index += 1
        if index == first:
            return
        if not self._measured_all:  # once every row is measured, re-added rows cannot widen a column
            new_rows.update(table_rows)
        self._require_update_dimensions = True
        self._update_count += 1
        if first == 0:  # DataTable would rebuild these from the locations (hashing every key), row by row
            self._ordered_row_cache[(index, self._update_count)] = ordered
            self._offset_cache[self._update_count] = [(row.key, 0) for row in ordered]
        self.cursor_coordinate = self.cursor_coordinate
        if first == 0 and column_keys and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self.check_idle()

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Column widths of rows added by `set_rows` come from the widths computed there."""
        columns = self.ordered_columns
        widths = [c.content_width for c in columns]
        other: list[RowKey] = []
        known = self._widths
        if not self._measured_all and self._shown is self._all_rows and self._all_rows:
            self._measured_all = True  # this pass measures every row of the set
        for row_key in new_rows:
            row_widths = known.get(row_key.value) if row_key in self._row_locations else None
            if row_widths is None or len(row_widths) > len(columns):
                other.append(row_key)
                continue
            for i, w in enumerate(row_widths):
                if w > widths[i]:
                    widths[i] = w
        for column, w in zip(columns, widths):
            column.content_width = w
        super()._update_dimensions(other)
