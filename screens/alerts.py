"""Alerts pane: firing/pending alerts grouped by severity, each one key away from the pane that explains
it; the Rules tab with every rule's health and the "can never fire" lint."""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Input, Static, TabbedContent, TabPane

from checks.alerts import SEVERITY_GROUPS, AlertsData, AlertView
from checks.alerts_lint import RuleLint
from screens.alerts_render import (GROUP_STYLE, alert_detail, alert_row, rule_detail, rule_rows, rules_summary,
                                   summary_line)
from screens.base import PaneScreen
from screens.prepared import Prepared
from tui.widgets.chrome import PromptBar, show_text
from tui.widgets.table import FilterableTable

ALERT_COLUMNS = ("severity", "state", "alert", "age", "value", "enter opens", "summary", "labels")
RULE_COLUMNS = ("group / rule", "type", "state", "health", "lint", "last eval", "took", "last error · file")


def _label(tab: Any, text: str) -> None:
    """Set a tab's label when it changes: setting it, even unchanged, lays out the screen."""
    if tab.label.plain != text:
        tab.label = text


class AlertsScreen(PaneScreen):
    PANE = "alerts"
    TITLE = "Alerts"
    CSS_PATH = "alerts.tcss"
    AUTO_FOCUS = "#alerts-table"

    BINDINGS = [
        Binding("g", "follow_link", "Open linked pane", id="alerts.follow"),
        Binding("i", "show_detail", "Details", id="alerts.detail"),
        Binding("t", "toggle_tab", "Alerts/Rules", id="alerts.tab"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data: AlertsData | None = None
        self._alerts: dict[str, AlertView] = {}
        self._rules: dict[str, tuple[Any, Any, RuleLint | None]] = {}
        self._detail_open = False
        self._prepared = Prepared()

    # -- layout ---------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        with TabbedContent(id="alerts-tabs", initial="tab-alerts"):
            with TabPane("Alerts", id="tab-alerts"):
                yield Static("", id="alerts-summary", classes="summary")
                yield FilterableTable(id="alerts-table", headings="h:")
                with VerticalScroll(id="alert-detail-box", classes="detail-box"):
                    yield Static("", id="alert-detail")
            with TabPane("Rules", id="tab-rules"):
                yield Static("", id="rules-summary", classes="summary")
                yield FilterableTable(id="rules-table")
                with VerticalScroll(id="rule-detail-box", classes="detail-box"):
                    yield Static("", id="rule-detail")
        with VerticalScroll(id="full-detail"):
            yield Static("", id="full-detail-text")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#full-detail").display = False

    # -- data -----------------------------------------------------------------------------
    def fetch(self) -> Any:
        from checks.alerts import load_alerts

        data = load_alerts(self.app.conns)  # type: ignore[attr-defined]
        data.counts  # counted here, not on the UI thread  # noqa: B018
        return self._prepared.put(data, self._tables(data))  # the cells are built here, not on the UI thread

    @staticmethod
    def _tables(data: AlertsData) -> dict[str, Any]:
        """The alerts table's rows, and the rules table's rows with their index, prepared (any thread)."""
        rows: list[tuple[str, tuple[Any, ...]]] = []
        for group in SEVERITY_GROUPS:
            members = [a for a in data.alerts if a.group == group]
            if not members:
                continue
            head = Text(f"━ {group.upper()} ({len(members)})", style=f"bold {GROUP_STYLE[group]}")
            rows.append((f"h:{group}", (head, *[Text("")] * (len(ALERT_COLUMNS) - 1))))
            rows += [(f"a:{a.key}", alert_row(a, data.fetched_at)) for a in members]
        if not rows:
            rows.append(("h:none", (Text("no alert is firing or pending", style="dim"),
                                    *[Text("")] * (len(ALERT_COLUMNS) - 1))))
        rules, index = rule_rows(data)
        return {"alerts": FilterableTable.prepare(rows), "rules": (FilterableTable.prepare(rules), index)}

    def show_data(self, data: Any) -> None:
        self.data = data
        tables = self._prepared.get(data, self._tables)
        self._show_alerts(data, tables["alerts"])
        self._show_rules(data, tables["rules"])

    def _show_alerts(self, data: AlertsData, rows: Any) -> None:
        self._alerts = {f"a:{a.key}": a for a in data.alerts}
        table = self.query_one("#alerts-table", FilterableTable)
        table.set_rows(ALERT_COLUMNS, rows)
        current = self._current("#alerts-table")
        if current and current.startswith("h:") and table.row_count > 1:
            table.move_cursor(row=table.cursor_row + 1)  # onto the first alert, not its severity header
        show_text(self.query_one("#alerts-summary", Static), summary_line(data))
        c = data.counts
        tabs = self.query_one("#alerts-tabs", TabbedContent)
        _label(tabs.get_tab("tab-alerts"), f"Alerts ({c.firing} firing, {c.pending} pending)")
        self._update_alert_detail()

    def _show_rules(self, data: AlertsData, prepared: Any) -> None:
        rows, self._rules = prepared
        self.query_one("#rules-table", FilterableTable).set_rows(RULE_COLUMNS, rows)
        show_text(self.query_one("#rules-summary", Static), rules_summary(data))
        broken = sum(1 for x in data.lints if x.status == "fail")
        tabs = self.query_one("#alerts-tabs", TabbedContent)
        _label(tabs.get_tab("tab-rules"), f"Rules ({broken} broken)" if broken else "Rules")
        self._update_rule_detail()

    # -- selection and detail -----------------------------------------------------------------
    def _current(self, table_id: str) -> str | None:
        return self.query_one(table_id, FilterableTable).cursor_key()

    def current_alert(self) -> AlertView | None:
        """The alert under the cursor (None on a severity header)."""
        key = self._current("#alerts-table")
        return self._alerts.get(key) if key else None

    def _update_alert_detail(self) -> None:
        alert, data = self.current_alert(), self.data
        text = alert_detail(alert, data.fetched_at) if alert and data else Text(
            "Move to an alert: its labels, annotations and the pane that explains it show here.", style="dim")
        show_text(self.query_one("#alert-detail", Static), text)

    def _update_rule_detail(self) -> None:
        key = self._current("#rules-table")
        entry = self._rules.get(key) if key else None
        text = rule_detail(*entry) if entry else Text("Move to a rule: its expression and lint show here.",
                                                      style="dim")
        show_text(self.query_one("#rule-detail", Static), text)

    @on(FilterableTable.RowHighlighted, "#alerts-table")
    def _alert_highlighted(self) -> None:
        self._update_alert_detail()

    @on(FilterableTable.RowHighlighted, "#rules-table")
    def _rule_highlighted(self) -> None:
        self._update_rule_detail()

    @on(FilterableTable.RowSelected, "#alerts-table")
    def _alert_selected(self, event: FilterableTable.RowSelected) -> None:
        event.stop()
        self.action_follow_link()

    @on(FilterableTable.RowSelected, "#rules-table")
    def _rule_selected(self, event: FilterableTable.RowSelected) -> None:
        """Enter on a rule: its alerts, in the Alerts tab."""
        event.stop()
        entry = self._rules.get(str(event.row_key.value))
        if entry and entry[1] is not None:
            self.focus_on(tab="alerts", alert=entry[1].name)

    def _on_alerts_tab(self) -> bool:
        return self.query_one("#alerts-tabs", TabbedContent).active == "tab-alerts" and not self._detail_open

    # -- actions ----------------------------------------------------------------------------
    def action_follow_link(self) -> None:
        """One key from an alert to the pane and flow that explain it (unknown alerts: detail view)."""
        alert = self.current_alert() if self._on_alerts_tab() else None
        if alert is None:
            return
        if not alert.link.known:
            self.action_show_detail()
            return
        pane, kwargs = alert.link.pane, alert.link.kwargs
        self.app.open_pane(pane)  # type: ignore[attr-defined]
        # A pane visited for the first time composes after the switch: focus it once it has.
        self.app.call_after_refresh(_focus_pane, self.app, pane, kwargs)

    def action_show_detail(self) -> None:
        """Full-screen view of the alert's labels and annotations (esc goes back)."""
        alert = self.current_alert() if self._on_alerts_tab() else None
        if alert is None or self.data is None:
            return
        self.query_one("#full-detail-text", Static).update(alert_detail(alert, self.data.fetched_at, full=True))
        self.query_one("#alerts-tabs").display = False
        self.query_one("#full-detail").display = True
        self.query_one("#full-detail").focus()
        self._detail_open = True
        self.set_crumbs([self.TITLE, alert.name])

    def go_back(self) -> bool:
        if not self._detail_open:
            return False
        self._detail_open = False
        self.query_one("#full-detail").display = False
        self.query_one("#alerts-tabs").display = True
        self.set_crumbs([self.TITLE])
        self.query_one("#alerts-table").focus()
        return True

    def action_toggle_tab(self) -> None:
        tabs = self.query_one("#alerts-tabs", TabbedContent)
        self.show_tab("rules" if tabs.active == "tab-alerts" else "alerts")

    def show_tab(self, tab: str) -> None:
        """Switch to the 'alerts' or 'rules' tab and focus its table."""
        if self._detail_open:
            self.go_back()
        self.query_one("#alerts-tabs", TabbedContent).active = f"tab-{tab}"
        self.query_one(f"#{tab}-table").focus()

    def target_table(self) -> FilterableTable | None:
        tabs = self.query_one("#alerts-tabs", TabbedContent)
        return self.query_one("#rules-table" if tabs.active == "tab-rules" else "#alerts-table", FilterableTable)

    def focus_on(self, tab: str = "", alert: str = "", subject: str = "", **_: Any) -> None:
        """Links from other panes: `tab` = alerts|rules, `alert` = an alert name, `subject` = filter text."""
        if tab in ("alerts", "rules"):
            self.show_tab(tab)
        name = alert or subject
        table = self.target_table()
        if name and table is not None:
            pattern = re.escape(name)
            table.apply_filter(pattern)
            self._prefill_filter(pattern)

    def _prefill_filter(self, pattern: str, retry: bool = True) -> None:
        """Put the pattern in the `/` bar (so it can be seen and cleared); the bar is mounted lazily, after the
        pane's first frame: a link that arrives before then (`:alerts NAME`) fills it one refresh later."""
        bars = self.query("#filter-bar")
        if not bars:
            if retry:
                self.call_after_refresh(self._prefill_filter, pattern, False)
            return
        bar = bars.first(PromptBar)
        with bar.prevent(Input.Changed):
            bar.value = pattern


def _focus_pane(app: Any, pane: str, kwargs: dict[str, Any]) -> None:
    focus = getattr(app.screen, "focus_on", None)
    if app.current_mode == pane and focus is not None and kwargs:
        focus(**kwargs)
