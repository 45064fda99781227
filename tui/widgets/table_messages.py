"""The DataTable-compatible values and messages of a FilterableTable: `RowKey`, `CursorCoordinate`, and
`RowMessage`, the base of `RowHighlighted` / `RowSelected` (`cursor_row`, `row_key.value`, `@on(..., "#id")`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from textual.message import Message

if TYPE_CHECKING:
    from tui.widgets.table import FilterableTable


class RowKey(NamedTuple):
    """A row's key as messages carry it (`event.row_key.value`, as DataTable's)."""

    value: str


class CursorCoordinate(NamedTuple):
    """DataTable-compatible (row, column) of the cursor; the column is always 0 (row cursor)."""

    row: int
    column: int


class RowMessage(Message):
    """A message about one row: `cursor_row`, `row_key.value`; matches `@on(..., "#table-id")`."""

    def __init__(self, table: FilterableTable, cursor_row: int, row_key: RowKey) -> None:
        super().__init__()
        self.data_table = table
        self.cursor_row = cursor_row
        self.row_key = row_key

    @property
    def control(self) -> FilterableTable:
        return self.data_table
