"""Turn untrusted server data into inert Rich Text: no markup parsing, no control characters."""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.")
MAX_CHARS = 4000
"""The longest server text shown (`clean`, `safe`, table cells): the rest is cut."""


def clean(value: Any, limit: int = MAX_CHARS, multiline: bool = False) -> str:
    """Printable text: bytes decoded with replacement, ANSI and control characters made visible.

    `multiline` keeps line breaks (for fixes and evidence shown in a text box, never in a table cell).
    """
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = "" if value is None else str(value)
    if text.isprintable():  # the common case, checked in C: no ESC, no control character, no line break
        return text if len(text) <= limit else _cut(text, limit)
    text = _ANSI.sub("\ufffd", text)
    keep = (" ", "\n") if multiline else (" ",)
    text = "".join(ch if ch.isprintable() or ch in keep else "\ufffd" for ch in text)
    return text if len(text) <= limit else _cut(text, limit)


def _cut(text: str, limit: int) -> str:
    more = len(text) - limit
    return text[:limit] + (f"… ({more} more chars)" if limit >= 1000 else "…")


def safe(value: Any, style: str = "", limit: int = MAX_CHARS) -> Text:
    """A Text that renders the value literally ('[bold]' stays '[bold]')."""
    return Text(clean(value, limit), style=style)


def safe_lines(lines: list[Any], style: str = "") -> Text:
    out = Text()
    for i, line in enumerate(lines):
        if i:
            out.append("\n")
        out.append(clean(line), style=style)
    return out


STATUS_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim", "error": "bold magenta",
                "checking": "dim italic"}
STATUS_MARK = {"pass": "✔", "fail": "✘", "warn": "▲", "skip": "·", "error": "!", "checking": "…"}


def status_text(status: str) -> Text:
    return Text(f"{STATUS_MARK.get(status, '?')} {status}", style=STATUS_STYLE.get(status, ""))
