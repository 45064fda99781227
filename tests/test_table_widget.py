"""FilterableTable: the virtual table every pane uses (tui/widgets/table.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.dom import DOMNode
from textual.geometry import Region
from textual.pilot import Pilot

from tui.widgets.table import FilterableTable, PreparedRows, StoredRow, stored_row


class TableApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, int, str]] = []

    def compose(self) -> ComposeResult:
        yield FilterableTable(id="t")

    @on(FilterableTable.RowHighlighted, "#t")
    def _hl(self, event: FilterableTable.RowHighlighted) -> None:
        self.events.append(("highlighted", event.cursor_row, str(event.row_key.value)))

    @on(FilterableTable.RowSelected, "#t")
    def _sel(self, event: FilterableTable.RowSelected) -> None:
        self.events.append(("selected", event.cursor_row, str(event.row_key.value)))


COLUMNS = ("name", "n", "state")


def _rows(n: int) -> list[tuple[str, tuple[Any, ...]]]:
    return [(f"user-{i:05d}", (Text(f"User-{i:05d}", style="bold"), Text(str(i), justify="right"),
                               "on" if i % 2 else "off")) for i in range(n)]


@asynccontextmanager
async def _running(size: tuple[int, int], rows: int = 0) -> AsyncIterator[tuple[TableApp, Pilot, FilterableTable]]:
    """The table in a running app, holding `_rows(rows)` when asked."""
    app = TableApp()
    async with app.run_test(size=size) as pilot:
        table = app.query_one(FilterableTable)
        if rows:
            table.set_rows(COLUMNS, _rows(rows))
        yield app, pilot, table


async def test_filter_plain_regex_inverted_and_case_insensitive() -> None:
    async with _running((80, 20), 1000) as (app, pilot, table):
        await pilot.pause()
        assert table.row_count == 1000
        assert table.apply_filter("user-0099") is None and table.row_count == 10
        assert table.apply_filter("USER-0099[0-4]") is None and table.visible_keys() == [
            f"user-{i:05d}" for i in range(990, 995)]
        table.apply_filter("off", invert=True)
        assert table.row_count == 500 and all(int(k[5:]) % 2 for k in table.visible_keys())
        assert table.apply_filter("(") is not None, "a bad regex is reported, the rows stay"
        assert table.row_count == 500
        table.apply_filter("")
        assert table.row_count == 1000


async def test_cursor_stays_on_its_row_and_messages_carry_the_key() -> None:
    async with _running((80, 20), 300) as (app, pilot, table):
        table.focus()
        await pilot.pause()
        table.move_cursor(row=table.get_row_index("user-00250"))
        await pilot.pause()
        assert app.events[-1] == ("highlighted", 250, "user-00250")
        assert table.scroll_y > 0, "the cursor row was scrolled into view"
        table.apply_filter("user-002")  # 200..299 remain: the cursor keeps its row
        await pilot.pause()
        assert table.cursor_key() == "user-00250" and table.cursor_row == 50
        table.set_rows(COLUMNS, _rows(400))  # a refresh keeps the filter and the row
        await pilot.pause()
        assert table.cursor_key() == "user-00250" and table.row_count == 100
        await pilot.press("down", "enter")
        assert app.events[-1] == ("selected", 51, "user-00251")
        table.apply_filter("user-003")  # the cursor's row filtered out: the first match
        await pilot.pause()
        assert table.cursor_key() == "user-00300" and table.scroll_y == 0
        table.apply_filter("user-002")
        await pilot.press("end")
        assert table.cursor_key() == "user-00299"
        await pilot.press("home", "pagedown")
        assert table.cursor_row > 10


async def test_only_visible_lines_are_rendered_and_cells_keep_styles() -> None:
    async with _running((60, 12), 10_000) as (app, pilot, table):
        await pilot.pause()
        rendered: list[int] = []
        original = table._render_row

        def spy(index: int, *args: Any) -> Any:
            rendered.append(index)
            return original(index, *args)

        table._render_row = spy  # type: ignore[method-assign]
        table._lines.clear()
        table.refresh()
        await pilot.pause()
        assert rendered and max(rendered) < 20, "10,000 rows, a screenful rendered"
        header = table.render_line(0).text
        first = table.render_line(1)
        assert header.split() == ["name", "n", "state"]
        assert first.text.startswith(" User-00000") and "    0 " in first.text, "numbers right-aligned"
        assert any(seg.style and seg.style.bold for seg in first if "User" in seg.text)
        cells = table.get_row("user-00007")
        assert [c.plain for c in cells] == ["User-00007", "7", "on"] and cells[0].style == "bold"


async def test_the_base_style_is_worked_out_once_per_pass_and_follows_a_theme_change(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`rich_style` walks every ancestor's styles; the table asks it once per render pass, not once per line,
    and not at all when every line is cached. A theme change still reaches every line, blank ones too."""
    calls: list[int] = []
    real = DOMNode.rich_style

    def counting(self: DOMNode) -> Any:
        calls.append(1)
        return real.fget(self)  # type: ignore[attr-defined]

    monkeypatch.setattr(FilterableTable, "rich_style", property(counting))
    async with _running((60, 12), 5) as (app, pilot, table):
        await pilot.pause()
        table._lines.clear()
        table.refresh()  # Textual's own line cache: render every line again
        calls.clear()
        lines = table.render_lines(Region(0, 0, table.size.width, table.size.height))
        assert len(lines) == table.size.height > 6 and len(calls) == 1, "12 lines (5 rows, the rest blank), 1 walk"
        table.refresh()
        calls.clear()
        again = table.render_lines(Region(0, 0, table.size.width, table.size.height))
        assert calls == [] and [s.text for s in again] == [s.text for s in lines], "all cached: no walk"
        before = (table.render_line(1).text, table.render_line(1), table.render_line(10))
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        after = (table.render_line(1).text, table.render_line(1), table.render_line(10))
        assert after[0] == before[0], "same text"
        backgrounds = [{seg.style.bgcolor for seg in strip if seg.style} for strip in (before[1], after[1])]
        assert backgrounds[0] != backgrounds[1], "a row drawn in the new theme's colours"
        blanks = [{seg.style.bgcolor for seg in strip if seg.style} for strip in (before[2], after[2])]
        assert blanks[0] != blanks[1], "a blank line below the rows too"


class _TwinTables(App):
    def compose(self) -> ComposeResult:
        yield FilterableTable(id="fast")
        yield FilterableTable(id="text")


async def test_stored_cells_draw_exactly_as_their_text_would() -> None:
    """Plain and (plain, style, justify) cells are drawn without making a Text: every line, cursor and zebra
    rows included, must equal what the Text path draws for the same cells (truncation with an ellipsis, each
    justify, styles, non-ASCII and wide characters, empty cells, a cell that is a Text with its own spans)."""
    values = [("plain", "", None), ("right", "bold", "right"), ("centre", "dim", "center"), ("", "", None),
              ("x" * 40, "", None), ("y" * 40, "red", "right"), ("ünïcödé", "", None), ("全角文字", "cyan", None),
              ("▏bar", "bold cyan", None), ("exactly-ten", "", "left"), ("a", "yellow", "center")]
    spans = Text.assemble(("span", "bold"), " text")
    rows_fast, rows_text = [], []
    for n in range(6):
        cells = [(p if not s and j in (None, "left") else (p, s, j)) for p, s, j in values[n:] + values[:n]]
        rows_fast.append((f"r{n}", StoredRow([*cells, spans])))
        rows_text.append((f"r{n}", StoredRow([*(Text(p, style=s, justify=j) for p, s, j in values[n:] + values[:n]),
                                              spans])))
    columns = tuple(f"c{i}" for i in range(len(values) + 1))
    app = _TwinTables()
    async with app.run_test(size=(200, 20)) as pilot:
        fast, text = app.query_one("#fast", FilterableTable), app.query_one("#text", FilterableTable)
        for table, rows in ((fast, rows_fast), (text, rows_text)):
            table.zebra_stripes = True
            table.set_rows(columns, rows)
            table.styles.height = 8
        await pilot.pause()
        fast._widths = text._widths = (8,) * (len(values) + 1)  # narrow columns: most cells are cut
        app.set_focus(None)  # both drawn alike: a focused table draws its header and cursor in other colours
        for table in (fast, text):
            table.move_cursor(row=2)
            table._lines.clear()
        await pilot.pause()
        for y in range(8):
            assert list(fast.render_line(y)) == list(text.render_line(y)), y


async def test_cells_and_labels_are_literal_text() -> None:
    async with _running((80, 8)) as (app, pilot, table):
        table.set_rows(("[b]col[/b]",), [("k", ("[red]x[/red] [@click=app.quit]y[/]",))])
        await pilot.pause()
        assert "[b]col[/b]" in table.render_line(0).text
        assert "[red]x[/red] [@click=app.quit]y[/]" in table.render_line(1).text


async def test_a_filter_that_hides_every_row_says_so() -> None:
    """A filter set by a link (the Alerts pane filters its alerts by a rule's name) or left on hides every row:
    the table says so on its first line, with the pattern shown literally, instead of looking empty."""
    async with _running((100, 8), rows=3) as (app, pilot, table):
        table.apply_filter("DragonflyDown")
        await pilot.pause()
        line = table.render_line(1).text
        assert "3 rows, none matches the filter DragonflyDown" in line and "/ to change or clear it" in line
        assert table.render_line(2).text.strip() == ""
        table.apply_filter("[b]x[/b]\x1b]0;pwn\x07")
        await pilot.pause()
        line = table.render_line(1).text
        assert "[b]x[/b]" in line and "\x1b" not in line and "\x07" not in line
        table.apply_filter("user", invert=True)
        await pilot.pause()
        assert "none matches the filter !user" in table.render_line(1).text
        table.apply_filter("")
        await pilot.pause()
        assert "User-00000" in table.render_line(1).text and "none matches" not in table.render_line(1).text
        table.set_rows(COLUMNS, [])
        table.apply_filter("anything")
        await pilot.pause()
        assert table.render_line(1).text.strip() == ""  # no rows at all: nothing was hidden


async def test_the_header_shows_an_active_filter_and_how_many_rows_pass() -> None:
    """With its bar closed a filter is otherwise not seen: the header ends with the pattern (literal) and the
    count, and goes back to the bare column labels when the filter is cleared."""
    async with _running((80, 8), rows=12) as (app, pilot, table):
        bare = table.render_line(0).text
        assert "/" not in bare and "name" in bare
        table.apply_filter("user-0000[1-3]")
        await pilot.pause()
        header = table.render_line(0).text
        assert header.rstrip().endswith("/user-0000[1-3]  3 of 12") and header.startswith(bare[:10])
        assert table.apply_filter("[b]x[/b]\x1b]0;t\x07", invert=True) is None
        await pilot.pause()
        header = table.render_line(0).text
        assert "/![b]x[/b]" in header and "\x1b" not in header and "\x07" not in header
        assert header.rstrip().endswith("12 of 12")
        table.apply_filter("")
        await pilot.pause()
        assert table.render_line(0).text.rstrip() == bare.rstrip()  # (the scrollbar comes and goes)


class SectionsApp(App):
    def compose(self) -> ComposeResult:
        yield FilterableTable(id="t", headings="h:")


SECTIONS = [("h:critical", ("━ CRITICAL (2)", "", "")), ("a:1", ("DragonflyDown", "cache", "firing")),
            ("a:2", ("PostgresDown", "ai-system", "firing")), ("h:warning", ("━ WARNING (1)", "", "")),
            ("a:3", ("DragonflyMemoryHigh", "cache", "pending"))]


async def test_section_headings_are_not_rows_of_data() -> None:
    """The Alerts pane's severity headings: the filter does not match them (CRITICAL), shows one above a row
    of its section that passes, and leaves them out of every count (3 alerts, not 5 rows)."""
    app = SectionsApp()
    async with app.run_test(size=(100, 10)) as pilot:
        table = app.query_one(FilterableTable)
        table.set_rows(COLUMNS, SECTIONS)
        table.apply_filter("dragonfly")
        await pilot.pause()
        assert table.visible_keys() == ["h:critical", "a:1", "h:warning", "a:3"]
        assert table.render_line(0).text.rstrip().endswith("/dragonfly  2 of 3")
        table.apply_filter("postgres")
        assert table.visible_keys() == ["h:critical", "a:2"]
        table.apply_filter("critical")  # only a heading says it
        await pilot.pause()
        assert table.visible_keys() == []
        assert "3 rows, none matches the filter critical" in table.render_line(1).text
        table.apply_filter("pending", invert=True)
        await pilot.pause()
        assert table.visible_keys() == ["h:critical", "a:1", "a:2"]
        assert table.render_line(0).text.rstrip().endswith("/!pending  2 of 3")
        table.set_rows(COLUMNS, [("h:none", ("no alert is firing or pending", "", ""))])
        await pilot.pause()
        assert table.visible_keys() == ["h:none"], "a heading with nothing under it stays"
        assert table.render_line(0).text.rstrip().endswith("/!pending  0 of 0")


def test_stored_rows_share_repeated_cells() -> None:
    rows = [(f"k{i}", stored_row((Text("on", style="green"), f"name-{i}"))) for i in range(100)]
    assert all(isinstance(cells, StoredRow) for _, cells in rows)
    prepared = PreparedRows(rows)
    assert prepared.rows[0][1] is rows[0][1], "stored rows are taken as they are"
    assert len({id(cells[0]) for _, cells in prepared.rows}) == 1, "one object for a repeated cell"
    assert prepared.widths == (2, 7)  # "name-99"


def test_a_cell_made_directly_equals_the_stored_form_of_its_text() -> None:
    """`cell` skips the Text that `safe` makes and `_compact` undoes: the stored form must be the same for
    any value, hostile ones included, short ones shared."""
    from tui.safe import clean, safe
    from tui.widgets.table_rows import _compact, cell

    values = ["plain", "[bold]markup[/bold]", "\x1b[31mred\x1b[0m", "bell\x07 tab\t cr\r nl\n", "x" * 5000,
              b"bytes \xff", None, 42, "", "ünïcödé 全角", "–"]
    for value in values:
        for style in ("", "bold", "dim"):
            assert cell(value, style) == _compact(safe(value, style), {}), (value, style)
        assert cell(value, limit=300) == _compact(safe(value, limit=300), {})
        for justify in ("right", "center", "left", None):
            assert cell(value, "dim", justify=justify) == _compact(Text(clean(value), style="dim", justify=justify), {})
            assert cell(value, justify=justify) == _compact(Text(clean(value), justify=justify), {})
    assert cell("on", "green") is cell("on", "green"), "short cells are one object"


def test_prepared_rows_reuse_the_unchanged_rows_of_the_previous_set() -> None:
    """A refresh's rows that did not change are the previous set's objects (one copy in memory), changed and
    new rows are built, and the haystacks, index and widths follow the new set."""
    before = PreparedRows([(f"u{i}", (Text(f"user-{i}", style="bold"), "on", f"k{i}")) for i in range(50)])
    rows = [(f"u{i}", (Text(f"user-{i}", style="bold"), "off" if i == 7 else "on", f"k{i}")) for i in range(1, 50)]
    rows.append(("u99", (Text("user-99-new", style="bold"), "on", "k99")))
    after = PreparedRows(rows, before)
    assert [key for key, _ in after.rows] == [f"u{i}" for i in range(1, 50)] + ["u99"]
    assert after.index == {key: i for i, (key, _) in enumerate(after.rows)}
    unchanged = [i for i in range(1, 50) if i != 7]
    for i in unchanged:
        assert after.rows[after.index[f"u{i}"]] is before.rows[before.index[f"u{i}"]]
        assert after.lowered[after.index[f"u{i}"]] is before.lowered[before.index[f"u{i}"]]
    changed = after.rows[after.index["u7"]]
    assert changed is not before.rows[7] and changed[1][1] == "off"
    assert after.lowered[after.index["u7"]] == "user-7 off k7"
    assert after.lowered[-1] == "user-99-new on k99"
    assert after.widths == (len("user-99-new"), 3, 3)
    assert PreparedRows(rows).rows == after.rows and PreparedRows(rows).lowered == after.lowered


def test_prepared_rows_never_reuse_a_row_whose_text_differs_only_in_style() -> None:
    """Rich Text compares by text and spans, not by its own style: such rows are always built anew."""
    def spanned(style: str) -> Text:
        text = Text("abc", style=style)
        text.stylize("italic", 0, 1)  # a span: stored as a Text
        return text

    before = PreparedRows([("k", (spanned("red"), "x")), ("plain", (Text("p", style="red"), "x"))])
    after = PreparedRows([("k", (spanned("green"), "x")), ("plain", (Text("p", style="green"), "x"))], before)
    assert after.rows[0] is not before.rows[0] and after.rows[0][1][0].style == "green"
    assert after.rows[1] is not before.rows[1] and after.rows[1][1][0] == ("p", "green", None)


async def test_set_rows_with_reused_rows_filters_and_keeps_the_cursor() -> None:
    async with _running((80, 12)) as (app, pilot, table):
        first = FilterableTable.prepare([(f"r{i}", (f"row-{i}", "on")) for i in range(30)])
        table.set_rows(("name", "state"), first)
        table.move_cursor(row=12)
        second = FilterableTable.prepare([(f"r{i}", (f"row-{i}", "off" if i == 3 else "on")) for i in range(30)], first)
        table.set_rows(("name", "state"), second)
        await pilot.pause()
        assert table.cursor_key() == "r12"
        assert table.apply_filter("off") is None
        assert table.visible_keys() == ["r3"]
