"""Dragonfly pane pieces: table cells, the memory gauge, and the user detail (rule, denials, ACL DRYRUN box)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Static

from tui.safe import clean, safe
from tui.widgets.table import FilterableTable
from tui.widgets.table_rows import StoredRow, cell

USER_COLUMNS = ("user", "state", "on", "consumers", "keys", "chan", "allowed", "denied", "$db", "password")
DENIAL_COLUMNS = ("user", "reason", "object", "count", "age", "client", "pod")
SLOW_COLUMNS = ("time (UTC)", "duration", "command", "client", "pod")
STATE_STYLE = {"live": "green", "not loaded": "bold red", "not in source": "yellow"}


def compact(items: Sequence[str], width: int = 20) -> str:
    """`a b +4`: as many leading items as fit in `width` characters, and how many more."""
    if not items:
        return "–"
    everything = " ".join(items)
    if len(everything) <= width:  # the common case (10,000 users: six columns each): all of it fits
        return everything
    shown: list[str] = []
    for i, item in enumerate(items):
        more = f" +{len(items) - i - 1}" if i < len(items) - 1 else ""
        if shown and len(" ".join([*shown, item]) + more) > width:
            break
        shown.append(item)
    rest = len(items) - len(shown)
    return " ".join(shown) + (f" +{rest}" if rest else "")


def human_bytes(n: int | None) -> str:
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = float(seconds)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if s >= size:
            return f"{s / size:.0f}{unit}"
    return f"{s:.0f}s"


def user_cells(u: Any) -> StoredRow:
    """A user's row, its cells made in their stored form directly (10,000 users: no Text per cell)."""
    on = cell("–", "dim") if u.enabled is None else cell("on", "green") if u.enabled else cell("off", "bold red")
    state_style = STATE_STYLE.get(u.state, "yellow")
    return StoredRow((cell(u.name, "bold"), cell(u.state, state_style), on,
                      cell(compact(u.consumers, 26), "cyan" if u.consumers else "dim"), cell(compact(u.key_patterns, 16)),
                      cell(compact(u.channels, 8)), cell(compact(u.allowed)), cell(compact(u.denied)), cell(u.db or "–"),
                      cell(compact(u.fingerprints, 19), "dim")))


def denial_cells(d: Any) -> tuple[Text, ...]:
    return (safe(d.username, "bold"), safe(d.reason, "yellow"), safe(d.object), safe(str(d.count)),
            safe(age(d.age_seconds)), safe(d.client or "?"), safe(d.pod or "no pod with this IP", "" if d.pod else "dim"))


def slow_cells(e: Any, reveal: bool) -> tuple[Text, ...]:
    when = dt.datetime.fromtimestamp(e.time, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return (safe(when), safe(f"{e.duration_us / 1000:.1f} ms", "yellow" if e.duration_us >= 10000 else ""),
            safe(e.revealed if reveal else e.command, limit=200), safe(e.client or "?"),
            safe(e.pod or "–", "" if e.pod else "dim"))


def memory_gauge(mem: Any, width: int = 60) -> Text:
    """A bar of block characters for used / maxmemory, coloured by headroom."""
    ratio = mem.ratio if mem is not None else None
    text = Text()
    if ratio is None:
        text.append("no memory limit reported", style="dim")
        return text
    filled = min(width, round(ratio * width))
    style = "green" if ratio < 0.75 else "yellow" if ratio < 0.9 else "bold red"
    text.append("█" * filled, style=style)
    text.append("░" * (width - filled), style="dim")
    text.append(f"  {ratio * 100:.0f}% of maxmemory", style=style)
    return text


def memory_numbers(mem: Any) -> Text:
    if mem is None:
        return Text("INFO memory not readable", style="dim")
    rows = (("used", human_bytes(mem.used)), ("maxmemory", human_bytes(mem.maxmemory) if mem.maxmemory else "none"),
            ("peak", human_bytes(mem.peak)), ("RSS", human_bytes(mem.rss)), ("cache mode", mem.cache_mode),
            ("eviction policy", mem.policy), ("evicted keys", "?" if mem.evicted_keys is None else str(mem.evicted_keys)))
    text = Text()
    for i, (label, value) in enumerate(rows):
        if i:
            text.append("\n")
        text.append(f"{label:<16}", style="bold")
        text.append(clean(value))
    return text


class UserDetail(Vertical):
    """One user's full rule, its recent denials and an ACL DRYRUN box."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="ud-rule-box"):
            yield Static("", id="ud-rule")
        yield Static("Recent ACL LOG denials", classes="section-title")
        yield FilterableTable(id="ud-denials")
        yield Static("ACL DRYRUN: test a command as this user (enter runs it)", id="ud-dryrun-title",
                     classes="section-title")
        yield Input(placeholder="e.g. SET prefix:probe x   or   EVALSHA 0 0", id="dryrun-input")
        yield Static("", id="dryrun-result")

    def show(self, row: Any, denials: Sequence[Any]) -> None:
        text = Text()
        text.append(clean(row.name), style="bold")
        text.append(f"  {clean(row.state)}\n", style=STATE_STYLE.get(row.state, "yellow"))
        for label, value in (("live rule", row.rule if row.enabled is not None else "(not on the live server)"),
                             ("ACL source", row.source_rule or "(not declared)"),
                             ("password", ", ".join(row.fingerprints) or "none"),
                             ("consumers", ", ".join(row.consumers) or "no workload names this user")):
            text.append(f"{label:<11}", style="bold")
            text.append(clean(value) + "\n")
        text.rstrip()
        self.query_one("#ud-rule", Static).update(text)
        mine = [d for d in denials if d.username == row.name]
        self.query_one("#ud-denials", FilterableTable).set_rows(
            DENIAL_COLUMNS, [(f"{i}", denial_cells(d)) for i, d in enumerate(mine)])
        self.query_one("#ud-dryrun-title", Static).update(
            Text(f"ACL DRYRUN as {clean(row.name)}: test a command (enter runs it)"))

    def show_answer(self, command: str, answer: Any) -> None:
        text = Text()
        text.append(f"DRYRUN {clean(command)} → ", style="bold")
        if answer.allowed is True:
            text.append("allowed", style="bold green")
        elif answer.allowed is False:
            text.append("denied", style="bold red")
        else:
            text.append("undecided", style="yellow")
        text.append("\n" + clean(answer.message))
        if answer.offline:
            text.append("\n(offline parser verdict, not the server's)", style="dim")
        self.query_one("#dryrun-result", Static).update(text)

    def clear_answer(self) -> None:
        self.query_one("#dryrun-result", Static).update("")
        self.query_one("#dryrun-input", Input).value = ""
