"""Which rows a FilterableTable's filter lets through, and how many rows of data there are: pure functions over
the rows' keys and lower-cased texts (`PreparedRows.lowered`), no widget."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

Rows = Sequence[tuple[str, Any]]
"""(key, cells) pairs, as a table holds them."""


def passing(lowered: Sequence[str], pattern: str, invert: bool) -> list[bool]:
    """Per row, whether it passes a case-insensitive `pattern` (`invert`: whether it does not match). A plain
    word is a substring test, without the regex engine."""
    if re.escape(pattern) == pattern and pattern.isascii():
        needle = pattern.lower()
        return [(needle in hay) != invert for hay in lowered]
    search = re.compile(pattern, re.I).search
    return [(search(hay) is None) == invert for hay in lowered]


def with_headings(rows: Rows, passes: list[bool], prefix: str) -> None:
    """Decide in `passes` for the section headings (keys starting with `prefix`), which the filter does not
    search: a heading shows when a row of its section (the rows after it, up to the next heading) passes, and
    always when it has no row at all (a placeholder: "no alert is firing")."""
    heading: int | None = None
    members = 0
    for i, (key, _) in enumerate(rows):
        if key.startswith(prefix):
            if heading is not None and members == 0:
                passes[heading] = True
            heading, members = i, 0
            passes[i] = False
        elif heading is not None:
            members += 1
            passes[heading] = passes[heading] or passes[i]
    if heading is not None and members == 0:
        passes[heading] = True


def data_rows(rows: Rows, prefix: str) -> int:
    """Rows of data among `rows`: the section headings (`prefix`; none when '') left out."""
    if not prefix:
        return len(rows)
    return sum(1 for key, _ in rows if not key.startswith(prefix))
