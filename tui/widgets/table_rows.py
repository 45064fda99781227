"""The rows a FilterableTable holds: cells in a compact stored form, column widths and filter haystacks.

Pure data, no widget: built in a pane's fetch worker (`FilterableTable.prepare`) so that the UI thread only
swaps prepared rows in. A 10,000-row table holds ~100,000 cells; keeping them as plain strings or shared
`(text, style, justify)` tuples instead of Rich `Text` objects saves ~300 bytes each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.cells import cell_len
from rich.text import Text

from tui.safe import MAX_CHARS, clean, safe

Cell = Any
"""A stored cell: `str` (plain, unstyled), `(plain, style, justify)` (one style over the whole cell) or a
`Text` (several styles). A 10,000-row table holds ~100,000 cells: a Text costs ~300 bytes more than a str."""


def _compact(cell: Text, shared: dict[Any, Any]) -> Cell:
    """The lightest stored form of a cell that renders the same; equal short cells are one object (`shared`:
    a column of 10,000 rows mostly repeats a few values such as "on", "–" or "-@all")."""
    if cell._spans:
        return cell
    return _stored(cell.plain, str(cell.style) if cell.style else "", cell.justify, shared)


def _stored(plain: str, style: str, justify: str | None, shared: dict[Any, Any]) -> Cell:
    """`plain` alone when it is drawn unstyled and left-aligned, else `(plain, style, justify)`; a short one
    is taken from `shared` when an equal one is there."""
    out: Cell = (plain, style, justify) if style or justify not in (None, "default", "left") else plain
    return shared.setdefault(out, out) if len(plain) <= 24 else out


def fit(plain: str, width: int, justify: str | None) -> str:
    """A one-line cell of one-cell characters cut to `width` with an ellipsis and padded by `justify`, as
    Rich's `Text.truncate(overflow="ellipsis")` and `pad_left`/`pad_right` make it (`width` ≥ 1)."""
    if len(plain) > width:
        plain = plain[:width - 1] + "…"
    room = width - len(plain)
    if room <= 0:
        return plain
    if justify == "right":
        return " " * room + plain
    if justify == "center":
        return " " * (room // 2) + plain + " " * (room - room // 2)
    return plain + " " * room


class StoredRow(tuple):  # type: ignore[type-arg]
    """A row's cells already in their stored form (`stored_row`): PreparedRows takes them as they are."""

    __slots__ = ()


_SHARED: dict[Any, Any] = {}


def _store(cells: Sequence[Any], shared: dict[Any, Any]) -> StoredRow:
    """A row's cells (Text, or any value, rendered literally) in their stored form."""
    return StoredRow(_compact(c if isinstance(c, Text) else safe(c), shared) for c in cells)


def cell(value: Any, style: str = "", limit: int = MAX_CHARS, justify: str | None = None) -> Cell:
    """The stored form of `safe(value, style)`, made without the Text: a pane that formats thousands of rows
    (10,000 ACL users, ten cells each) spent most of that time making Text objects that `_compact` undid.
    Short cells are shared as `stored_row` shares them."""
    if len(_SHARED) > 100_000:
        _SHARED.clear()
    return _stored(clean(value, limit), style, justify, _SHARED)  # printable, one line: Text strips nothing more


def stored_row(cells: Sequence[Any]) -> StoredRow:
    """Cells in their stored form, for a caller that keeps rows between renders (a memo of formatted rows
    then holds a few bytes per cell, not a Text each)."""
    if len(_SHARED) > 100_000:
        _SHARED.clear()
    return _store(cells, _SHARED)


def text_of(cell: Cell) -> Text:
    """A stored cell as a (new) Text."""
    if isinstance(cell, str):
        return Text(cell, end="")
    if isinstance(cell, tuple):
        return Text(cell[0], style=cell[1], justify=cell[2], end="")
    return cell.copy()


def _plains(cells: Sequence[Cell]) -> list[str]:
    """The plain text of each stored cell (a str, a `(plain, style, justify)` tuple or a Text)."""
    return [c if type(c) is str else c[0] if type(c) is tuple else c.plain for c in cells]


def width_of(plain: str) -> int:
    """A cell's width in terminal cells: its first line (rows are one line high)."""
    if plain.isascii() and plain.isprintable():  # one cell per character
        return len(plain)
    return cell_len(plain.split("\n", 1)[0])


_PLAIN_FORMS = {str, tuple}
"""Stored cell forms that compare by everything they render (a Text compares without its own style)."""


class PreparedRows:
    """Rows made ready for a FilterableTable: cells in their stored form, column widths, the filter's haystacks.

    Pure data (no widget): built by `FilterableTable.prepare` in a worker thread or by `set_rows`. Given the
    `previous` rows of the same table, a row whose stored cells did not change is taken from them as it is
    (the same objects), so that a refresh holds one copy of the rows that stayed the same."""

    __slots__ = ("rows", "widths", "lowered", "index")

    def __init__(self, rows: Iterable[tuple[str, Sequence[Any]]], previous: PreparedRows | None = None) -> None:
        shared: dict[Any, Any] = {}
        old_rows = previous.rows if previous is not None else []
        old_index = previous.index if previous is not None else {}
        old_lowered = previous.lowered if previous is not None else []
        self.rows: list[tuple[str, tuple[Cell, ...]]] = []
        """(key, cells) with every cell in its stored form (`Cell`)."""
        self.lowered: list[str] = []
        """Each row's plain text (cells joined by spaces) lower-cased, what the filter searches (a regex with
        re.I: the same rows as the original text)."""
        index: dict[str, int] = {}
        widths: list[int] = []
        for key, cells in rows:
            stored = cells if isinstance(cells, StoredRow) else _store(cells, shared)
            if key in index:
                raise ValueError(f"duplicate row key {key!r}")
            index[key] = len(self.rows)
            j = old_index.get(key)
            if j is not None and old_rows[j][1] == stored and set(map(type, stored)) <= _PLAIN_FORMS:
                # unchanged since `previous`: its objects, not a copy (a refresh of 10,000 rows otherwise
                # holds two generations of cells and haystacks at once); Text cells compare without their
                # styles, so rows holding one are always new
                row, lowered = old_rows[j], old_lowered[j]
                plains = _plains(row[1])
            else:
                row = (key, stored)
                plains = _plains(stored)
                lowered = " ".join(plains).lower()
            self.rows.append(row)
            self.lowered.append(lowered)
            # one cell per character when the whole row is printable ASCII (checked once, in C), else per cell
            sizes = map(len, plains) if lowered.isascii() and lowered.isprintable() else map(width_of, plains)
            if len(widths) < len(plains):
                widths += [0] * (len(plains) - len(widths))
            for i, w in enumerate(sizes):
                if w > widths[i]:
                    widths[i] = w
        self.index = index
        """Row key -> position in `rows`."""
        self.widths: tuple[int, ...] = tuple(widths)
        """The widest cell of each column over all rows (columns never jump while filtering)."""
