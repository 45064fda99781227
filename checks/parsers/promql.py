"""Extract the vector selectors of a PromQL expression (for "can this rule ever fire?").

A small tokenizer, not a full parser: metric names with optional `{…}` matchers and bare
`{…}` selectors are returned; function names (followed by `(`), keywords, the label lists
after by/without/on/ignoring/group_left/group_right, durations, numbers and strings are skipped.
"""

from __future__ import annotations

import re
from functools import lru_cache

KEYWORDS = frozenset((
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
    "offset", "inf", "nan", "atan2", "start", "end"))
"""Identifiers that are never metric names."""
AGGREGATIONS = frozenset((
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
    "quantile", "limitk", "limit_ratio"))
"""Aggregation operators, which may put `by (…)`/`without (…)` before their argument."""
_LABEL_LIST_KEYWORDS = frozenset(("by", "without", "on", "ignoring", "group_left", "group_right"))
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_NUMBER = re.compile(r"(?:0x[0-9a-fA-F]+|[0-9][0-9a-zA-Z_.]*(?:[eE][+-]?[0-9]+)?)")


def _skip_string(expr: str, i: int) -> int:
    quote = expr[i]
    i += 1
    while i < len(expr):
        if expr[i] == "\\" and quote != "`":
            i += 2
            continue
        if expr[i] == quote:
            return i + 1
        i += 1
    return i


def _skip_block(expr: str, i: int, open_: str, close: str) -> int:
    """From expr[i] == open_, return the index after the matching close (strings respected)."""
    depth = 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            i = _skip_string(expr, i)
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _skip_ws(expr: str, i: int) -> int:
    while i < len(expr) and expr[i].isspace():
        i += 1
    return i


def extract_selectors(expr: str) -> list[str]:
    """Vector selectors in order of appearance, de-duplicated, e.g. `up{job="dragonfly"}`."""
    return list(_selectors(expr))


@lru_cache(maxsize=4096)
def _selectors(expr: str) -> tuple[str, ...]:
    """Remembered by the expression: every refresh lints the same rules (twice: per rule and for the batch)."""
    out: list[str] = []
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c in "\"'`":
            i = _skip_string(expr, i)
        elif c == "#":  # comment to end of line
            while i < n and expr[i] != "\n":
                i += 1
        elif c == "[":
            i = _skip_block(expr, i, "[", "]")
        elif c == "{":
            end = _skip_block(expr, i, "{", "}")
            sel = expr[i:end]
            if sel not in out:
                out.append(sel)
            i = end
        elif c.isdigit() or (c == "." and i + 1 < n and expr[i + 1].isdigit()):
            m = _NUMBER.match(expr, i)
            i = m.end() if m and m.end() > i else i + 1
        elif _IDENT.match(expr, i):
            m = _IDENT.match(expr, i)
            assert m is not None
            name, j = m.group(0), _skip_ws(expr, m.end())
            if name.lower() in _LABEL_LIST_KEYWORDS:
                i = _skip_block(expr, j, "(", ")") if j < n and expr[j] == "(" else j
                continue
            if name.lower() in KEYWORDS:
                i = m.end()
                continue
            if j < n and expr[j] == "(":
                i = j  # a function or aggregation: its arguments are scanned normally
                continue
            nxt = _IDENT.match(expr, j)
            if name.lower() in AGGREGATIONS and nxt and nxt.group(0).lower() in ("by", "without"):
                i = j  # `sum by (x) (…)`: the grouping clause is skipped next
                continue
            sel = name
            if j < n and expr[j] == "{":
                end = _skip_block(expr, j, "{", "}")
                sel = name + expr[j:end]
                i = end
            else:
                i = m.end()
            if sel not in out:
                out.append(sel)
        else:
            i += 1
    return tuple(out)
