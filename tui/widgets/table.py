"""A virtual table that keeps its full row set and filters it by regex (`/` and `/!`).

Built for large tables (10,000 ACL users, 5,000 buckets): only the rows on screen are ever rendered.
The table holds its rows as prepared tuples of Rich `Text` (made in a worker thread by `prepare`), the
column widths come from widths computed once per row set, and a filter keystroke is one scan over the
rows' lower-cased texts followed by a repaint of the visible lines, whatever the row count. (Textual's
DataTable keeps a key, a Row and a cell dict per row and rebuilds its indexes on every change: seconds and
hundreds of MB at that size.)

The keyboard and the messages follow DataTable's (row cursor, enter selects, page keys, mouse click);
`RowHighlighted` / `RowSelected` carry `cursor_row` and `row_key.value` and match `@on(..., "#id")`.
Cells and column labels given as `str` are rendered literally, never as markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.safe import safe
from tui.widgets.table_draw import CELL_PADDING, filter_tag, no_match_line, row_segments, with_tag
from tui.widgets.table_filter import data_rows, passing, with_headings
from tui.widgets.table_messages import CursorCoordinate, RowKey, RowMessage
from tui.widgets.table_rows import Cell, PreparedRows, StoredRow, stored_row, text_of, width_of

__all__ = ["FilterableTable", "PreparedRows", "RowKey", "RowMessage", "StoredRow", "stored_row"]


class FilterableTable(ScrollView, can_focus=True):
    """A row-cursor table with `set_rows` and `apply_filter` that renders only its visible lines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+home,home", "cursor_top", "Top", show=False),
        Binding("ctrl+end,end", "cursor_bottom", "Bottom", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "datatable--header", "datatable--cursor", "datatable--even-row", "datatable--odd-row",
    }

    DEFAULT_CSS = """
    FilterableTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .datatable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .datatable--header { background-tint: $foreground 5%; }
        }
        &:dark > .datatable--even-row { background: $surface-darken-1 40%; }
        & > .datatable--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .datatable--header { background: ansi_bright_blue; color: ansi_default; }
        & > .datatable--even-row { background: $surface-lighten-1 50%; }
        & > .datatable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class RowHighlighted(RowMessage):
        """The cursor moved onto a row (also when rows first arrive)."""

    class RowSelected(RowMessage):
        """Enter (or a click on the highlighted row) chose a row."""

    def __init__(self, *, cursor_type: str = "row", zebra_stripes: bool = True, headings: str = "",
                 name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        """`headings`: the key prefix of section headings (a severity's "━ CRITICAL (2)" line), if the rows
        have any. A heading is not a row of data: the filter does not search it and its counts leave it out;
        a filter shows a heading when it shows a row of its section (the rows after it, up to the next
        heading), and always a heading with no rows at all (a placeholder: "no alert is firing")."""
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        if cursor_type != "row":
            raise ValueError("FilterableTable has a row cursor only")
        self.zebra_stripes = zebra_stripes
        self.headings = headings
        self._counts = (0, 0)
        """(data rows shown, data rows in all), headings left out: what the header's filter tag says."""
        self._columns: tuple[str, ...] = ()
        self._labels: tuple[Text, ...] = ()
        self._prepared = PreparedRows(())
        self._all_rows: list[tuple[str, tuple[Cell, ...]]] = []
        self._shown: list[tuple[str, tuple[Cell, ...]]] = []
        """The rows that pass the filter, in order: what is on screen."""
        self._shown_index: dict[str, int] | None = None
        self._widths: tuple[int, ...] = ()
        self._cursor = 0
        self._highlighted: str | None = None
        """Key of the row the last RowHighlighted named (None: none yet)."""
        self._lines: dict[tuple[Any, ...], Strip] = {}
        self._frame_base: Style | None = None
        self.filter_pattern: str = ""
        self.filter_invert: bool = False
        self._top_if_gone = False

    # -- data -------------------------------------------------------------------------------------
    @staticmethod
    def prepare(rows: Iterable[tuple[str, Sequence[Any]]], previous: PreparedRows | None = None) -> PreparedRows:
        """Everything `set_rows` computes per row, done without touching the widget: call it in a worker
        thread (a pane's `fetch()`) so that the UI thread only swaps the prepared rows in. `previous`: the
        table's current prepared rows, whose unchanged rows are reused (PreparedRows)."""
        return PreparedRows(rows, previous)

    def set_rows(self, columns: Sequence[str | Text], rows: Sequence[tuple[str, Sequence[Any]]] | PreparedRows) -> None:
        """Replace the content; keeps the cursor on the same row key when it still exists.

        `rows` may be `FilterableTable.prepare(rows)`, built in a worker thread."""
        current = self._current_key()
        if tuple(columns) != self._columns:
            # labels too may be server text (the access matrix names a column per bucket): never markup
            self._labels = tuple(c if isinstance(c, Text) else safe(c) for c in columns)
            self._columns = tuple(columns)
        prepared = rows if isinstance(rows, PreparedRows) else PreparedRows(rows)
        self._prepared = prepared
        self._all_rows = prepared.rows
        label_widths = [width_of(label.plain) for label in self._labels]
        self._widths = tuple(max(label_widths[i] if i < len(label_widths) else 0,
                                 prepared.widths[i] if i < len(prepared.widths) else 0)
                             for i in range(max(len(label_widths), len(prepared.widths))))
        self._shown = []  # forces a re-render
        self._render_rows(current)

    def apply_filter(self, pattern: str, invert: bool = False) -> str | None:
        """Filter rows by a case-insensitive regex; returns an error text for a bad regex."""
        try:
            re.compile(pattern, re.I)
        except re.error as exc:
            return f"bad regex: {exc}"
        self.filter_pattern, self.filter_invert = pattern, invert
        self._top_if_gone = True  # the row under the cursor filtered out: start from the first match
        try:
            self._render_rows(self._current_key())
        finally:
            self._top_if_gone = False
        return None

    def _visible_rows(self) -> list[tuple[str, tuple[Cell, ...]]]:
        if not self.filter_pattern:
            return self._all_rows
        passes = passing(self._prepared.lowered, self.filter_pattern, self.filter_invert)
        if self.headings:
            with_headings(self._all_rows, passes, self.headings)
        return [row for row, ok in zip(self._all_rows, passes) if ok]

    def _render_rows(self, keep: str | None) -> None:
        """Show the rows that pass the filter; the cursor stays on `keep` when it is still shown."""
        visible = self._visible_rows()
        if visible is self._shown:
            return
        self._shown = visible
        self._shown_index = None if visible is not self._all_rows else self._prepared.index
        total = data_rows(self._all_rows, self.headings)
        self._counts = (total if visible is self._all_rows else data_rows(visible, self.headings), total)
        self._lines.clear()
        self.virtual_size = Size(self._total_width(), len(visible) + 1)
        row = self._index_of(keep) if keep is not None else None
        if row is None:  # a refresh removed the row: stay at the same height; a filter hid it: the top
            row = 0 if self._top_if_gone else min(self._cursor, max(len(visible) - 1, 0))
        self._cursor = row
        self._cursor_moved(scroll=True)
        self.refresh()

    def _total_width(self) -> int:
        return sum(w + 2 * CELL_PADDING for w in self._widths)

    def _index_of(self, key: str) -> int | None:
        if self._shown_index is None:
            self._shown_index = {k: i for i, (k, _) in enumerate(self._shown)}
        return self._shown_index.get(key)

    # -- DataTable-compatible reading ---------------------------------------------------------------
    @property
    def row_count(self) -> int:
        """Rows shown (after the filter)."""
        return len(self._shown)

    @property
    def cursor_row(self) -> int:
        return self._cursor

    @property
    def cursor_coordinate(self) -> CursorCoordinate:
        return CursorCoordinate(self._cursor, 0)

    def visible_keys(self) -> list[str]:
        """Keys of the rows shown, in order."""
        return [key for key, _ in self._shown]

    def cursor_key(self) -> str | None:
        """Key of the row under the cursor (None when the table is empty)."""
        return self._current_key()

    def get_row_index(self, key: str) -> int:
        """Position of a shown row; KeyError when it is filtered out or absent."""
        index = self._index_of(key)
        if index is None:
            raise KeyError(key)
        return index

    def get_row(self, key: str) -> list[Text]:
        """The cells (as Text) of a row of the current set (shown or filtered out)."""
        return [text_of(c) for c in self._all_rows[self._prepared.index[key]][1]]

    def get_row_at(self, index: int) -> list[Text]:
        """The cells (as Text) of the shown row at `index`."""
        return [text_of(c) for c in self._shown[index][1]]

    def _current_key(self) -> str | None:
        if not self._shown:
            return None
        return self._shown[min(self._cursor, len(self._shown) - 1)][0]

    # -- cursor -------------------------------------------------------------------------------------
    def move_cursor(self, *, row: int | None = None, column: int | None = None, animate: bool = False,
                    scroll: bool = True) -> None:
        """Put the cursor on shown row `row` (clamped) and scroll it into view."""
        if row is None or not self._shown:
            return
        self._cursor = max(0, min(int(row), len(self._shown) - 1))
        self._cursor_moved(scroll=scroll)

    def _cursor_moved(self, scroll: bool = True) -> None:
        key = self._current_key()
        if scroll:
            self._scroll_to_cursor()
        self.refresh()
        if key is not None and key != self._highlighted:
            self._highlighted = key
            self.post_message(self.RowHighlighted(self, self._cursor, RowKey(key)))
        elif key is None:
            self._highlighted = None

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        page = self._page()
        top = round(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + page:
            self.scroll_to(y=self._cursor - page + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self._cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(row=self._cursor - self._page())

    def action_page_down(self) -> None:
        self.move_cursor(row=self._cursor + self._page())

    def action_cursor_top(self) -> None:
        self.move_cursor(row=0)

    def action_cursor_bottom(self) -> None:
        self.move_cursor(row=len(self._shown) - 1)

    def action_select_cursor(self) -> None:
        key = self._current_key()
        if key is not None:
            self.post_message(self.RowSelected(self, self._cursor, RowKey(key)))

    async def _on_click(self, event: events.Click) -> None:
        meta = event.style.meta
        row = meta.get("row") if meta else None
        if not isinstance(row, int) or not 0 <= row < len(self._shown):
            return
        event.stop()
        if row == self._cursor and self._highlighted == self._shown[row][0]:
            self.action_select_cursor()
        else:
            self.move_cursor(row=row, scroll=False)

    def on_focus(self) -> None:
        self._lines.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._lines.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()

    # -- rendering ------------------------------------------------------------------------------------
    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame_base = None  # the widget's base style, worked out at most once per pass (see _base)
        try:
            return super().render_lines(crop)
        finally:
            self._frame_base = None

    def _base(self) -> Style:
        """`rich_style` walks every ancestor's styles: ~0.5 ms, once per line it was. Within one render pass the
        styles cannot change, so the first line that needs it works it out for the others."""
        if self._frame_base is None:
            self._frame_base = self.rich_style
        return self._frame_base

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            tag = filter_tag(*self._counts, self.filter_pattern, self.filter_invert)
            key: tuple[Any, ...] = ("header", scroll_x, width, self.has_focus, tag)
            index = -1
        else:
            index = scroll_y + y - 1
            if index == 0 and not self._shown and self._all_rows and (self.filter_pattern or self.filter_invert):
                key = ("no match", width, self.filter_pattern, self.filter_invert)
                index = -3
            elif index >= len(self._shown):
                key = ("blank", width)
                index = -2
            else:
                key = (index, index == self._cursor, scroll_x, width, self.has_focus)
        strip = self._lines.get(key)  # cleared whenever the rows or the styles change
        if strip is None:
            if len(self._lines) > 512:
                self._lines.clear()
            base = self._base()
            strip = self._lines[key] = (Strip.blank(width, base) if index == -2
                                        else no_match_line(self._counts[1], self.filter_pattern,
                                                           self.filter_invert, width, base) if index == -3
                                        else self._render_row(index, scroll_x, width, base))
            if index == -1 and tag:
                strip = self._lines[key] = with_tag(strip, tag, width, self.get_component_rich_style(
                    "datatable--header"))
        return strip

    def _render_row(self, index: int, scroll_x: int, width: int, base: Style) -> Strip:
        if index < 0:
            cells: Sequence[Cell] = self._labels
            row_style = base + self.get_component_rich_style("datatable--header")
            post = None
            meta = Style()
        else:
            cells = self._shown[index][1]
            if self.zebra_stripes:
                row_style = base + self.get_component_rich_style(
                    "datatable--odd-row" if index % 2 else "datatable--even-row")
            else:
                row_style = base
            post = self.get_component_rich_style("datatable--cursor") if index == self._cursor else None
            meta = Style.from_meta({"row": index})
        segments = row_segments(cells, self._widths, self.app.console)
        styled = Segment.apply_style(segments, row_style + meta, post)
        fill = row_style + post if post is not None else row_style  # the cursor bar spans the whole line
        return Strip(styled).crop(scroll_x, scroll_x + width).adjust_cell_length(width, fill)
