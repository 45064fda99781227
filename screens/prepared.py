"""Table rows a pane builds in its `fetch()` worker thread, so that `show_data` (UI thread) only swaps them in.

At scale (10,000 ACL users, 2,000 roles, 1,000 alerts) formatting every cell takes seconds of CPU; done in
`show_data` it stalls the event loop. A pane's `fetch()` calls `put(data, tables)` with the
`FilterableTable.prepare(...)`d rows of the data object it returns; `show_data(data)` asks `get(data, build)`,
which gives those rows when they were prepared for this very object and builds them otherwise (static data
for snapshots, or a re-show of older data).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Prepared:
    """The prepared tables of the latest fetched data object (single slot, replaced atomically)."""

    def __init__(self) -> None:
        self._slot: tuple[Any, Any] | None = None

    def put(self, data: Any, tables: Any) -> Any:
        """Remember `tables` as built for `data` (worker thread); returns `data`."""
        self._slot = (data, tables)
        return data

    def tables(self) -> Any:
        """The latest prepared tables (None before the first fetch): what a refresh's rows may reuse."""
        slot = self._slot
        return slot[1] if slot is not None else None

    def get(self, data: Any, build: Callable[[Any], Any]) -> Any:
        """The tables prepared for `data`, else `build(data)` now."""
        slot = self._slot
        if slot is not None and slot[0] is data:
            return slot[1]
        return build(data)
