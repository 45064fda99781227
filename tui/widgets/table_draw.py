"""Drawing one FilterableTable line: stored cells (table_rows) to Rich segments, each cell cut or padded to
its column's width with one space either side. Pure: no widget, only the console that renders styles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from tui.safe import clean

from tui.widgets.table_rows import Cell, fit, text_of

CELL_PADDING = 1
"""Blank cells each side of a column, as in DataTable."""


def _fitted(cell: Text, width: int) -> Text:
    """`cell` on one line, cut with an ellipsis or padded to `width` cells as it is justified."""
    if "\n" in cell.plain:
        cell = cell.split("\n")[0]
    cell.end = ""
    cell.truncate(width, overflow="ellipsis")
    room = width - cell.cell_len
    if room > 0:
        if cell.justify == "right":
            cell.pad_left(room)
        elif cell.justify == "center":
            cell.pad_left(room // 2)
            cell.pad_right(room - room // 2)
        else:
            cell.pad_right(room)
    return cell


def row_segments(cells: Sequence[Cell], widths: Sequence[int], console: Any) -> list[Segment]:
    """The segments of one row (or the header) of `cells` in columns of `widths`, before the row's style."""
    pad = " " * CELL_PADDING
    segments: list[Segment] = []
    for i, w in enumerate(widths):
        stored = cells[i] if i < len(cells) else ""
        kind = type(stored)
        plain, style, justify = (stored, "", None) if kind is str else stored if kind is tuple else ("", "", None)
        if kind is not Text and w > 0 and plain.isascii() and plain.isprintable():
            # a stored str/(plain, style, justify) cell of one-cell characters: what the Text path below makes
            # of it (cut, padded, the cell's style over the whole cell), without making a Text: most cells of
            # every table, on every frame that redraws rows
            segments.append(Segment(pad))
            segments.append(Segment(fit(plain, w, justify), console.get_style(style)) if style
                            else Segment(fit(plain, w, justify)))
            segments.append(Segment(pad))
            continue
        cell = _fitted(text_of(stored) if i < len(cells) else Text(""), w)
        segments.append(Segment(pad))
        if cell.style:  # Text.render leaves the Text's own style to its caller
            segments.extend(Segment.apply_style(cell.render(console), console.get_style(cell.style)))
        else:
            segments.extend(cell.render(console))
        segments.append(Segment(pad))
    return segments


def no_match_line(rows: int, pattern: str, invert: bool, width: int, base: Style) -> Strip:
    """The line that says a filter hides all `rows`: a filter set by a link from another pane, or left on, is
    not seen once its bar is closed, and the table would just look empty. The pattern is shown literally."""
    shown = ("!" if invert else "") + clean(pattern, 200)
    text = f" {rows} rows, none matches the filter {shown}  (/ to change or clear it)"
    return Strip([Segment(text, base + Style(dim=True, italic=True))]).crop(0, width).adjust_cell_length(width, base)


def filter_tag(shown: int, rows: int, pattern: str, invert: bool) -> str:
    """What the header shows while a filter is on (its bar closed, the filter is otherwise not seen, as k9s
    shows it in a table's title): the pattern, shown literally, and how many rows pass; '' without a filter."""
    if not pattern and not invert:
        return ""
    return f" /{'!' if invert else ''}{clean(pattern, 40)}  {shown} of {rows} "


def with_tag(strip: Strip, tag: str, width: int, style: Style) -> Strip:
    """The header line `strip` with `tag` over its right end (in reverse video, so it reads as a label)."""
    label = Strip([Segment(tag, style + Style(reverse=True, bold=True))]).crop(0, width)
    room = max(0, width - label.cell_length)
    return Strip.join([strip.crop(0, room).adjust_cell_length(room, style), label])
