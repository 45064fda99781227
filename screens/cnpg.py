"""CNPG pane: every Cluster with its roles correlated across spec, status, Secret, database and consumers;
enter opens a role's five sources side by side with the flow's verdict and fix."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Static

from screens import cnpg_render as render
from screens.base import PaneScreen
from screens.prepared import Prepared
from tui.safe import clean
from tui.widgets.chrome import set_display, show_text
from tui.widgets.reveal import SecretReveal
from tui.widgets.table import FilterableTable

PANELS = (("spec", render.panel_spec), ("status", render.panel_status), ("secret", render.panel_secret),
          ("pg", render.panel_pg), ("consumers", render.panel_consumers))


class CnpgScreen(PaneScreen):
    PANE = "cnpg"
    TITLE = "CNPG"
    CSS_PATH = "cnpg.tcss"

    BINDINGS = [
        Binding("t", "triage_role", "Triage role", id="cnpg.triage"),
        Binding("c", "copy_fix", "Copy fix", id="cnpg.copy"),
        Binding("ctrl+s", "reveal_secret", "Reveal password", id="cnpg.reveal"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.detail_key: str | None = None
        """Row key of the role whose detail is open."""
        self._sections: dict[str, tuple[Static, FilterableTable, Static, FilterableTable]] = {}
        self._pending_focus: dict[str, Any] | None = None
        self._prepared = Prepared()

    def compose_body(self) -> ComposeResult:
        yield Static("", id="cnpg-summary")
        yield VerticalScroll(id="cnpg-clusters")
        with Vertical(id="cnpg-detail"):
            yield Static("", id="detail-title")
            yield SecretReveal(id="detail-reveal")
            with Horizontal(id="detail-sources"):
                for name, _ in PANELS:
                    yield Static("", id=f"src-{name}", classes="source")
            with VerticalScroll(id="detail-verdict-box"):
                yield Static("", id="detail-verdict")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#cnpg-detail").display = False

    # -- data ---------------------------------------------------------------------------------
    def fetch(self) -> Any:
        from checks.cnpg_view import load_cnpg_view

        data = load_cnpg_view(self.app.conns)  # type: ignore[attr-defined]
        return self._prepared.put(data, self._tables(data))  # the cells are built here, not on the UI thread

    @staticmethod
    def _tables(data: Any) -> dict[str, tuple[Any, Any]]:
        """Cluster ref -> (managed roles, other roles) rows, prepared (any thread)."""
        prepare = FilterableTable.prepare
        return {c.ref: (prepare(((r.key, render.role_cells(r)) for r in c.roles)),
                        prepare(((r.key, render.other_cells(r)) for r in c.others))) for c in data.clusters}

    def show_data(self, data: Any) -> None:
        if data.context:
            self.app.note_context(data.context)  # type: ignore[attr-defined]
        show_text(self.query_one("#cnpg-summary", Static), self._summary(data))
        refs = [c.ref for c in data.clusters]
        if refs != list(self._sections):
            self._build_sections(refs)
        tables = self._prepared.get(data, self._tables)
        for c in data.clusters:
            header, roles, others_title, others = self._sections[c.ref]
            show_text(header, render.cluster_header(c))
            role_rows, other_rows = tables[c.ref]
            roles.set_rows(render.ROLE_COLUMNS, role_rows)
            others.set_rows(render.OTHER_COLUMNS, other_rows)
            set_display(others_title, bool(c.others))
            set_display(others, bool(c.others))
        if self.detail_key is not None:
            self._fill_detail(self.detail_key)
        elif not isinstance(self.focused, (FilterableTable, Input)) and self._sections:  # not the `/` bar's focus
            first = next(iter(self._sections.values()))[1]
            self.call_after_refresh(first.focus)
        if self._pending_focus is not None:
            pending, self._pending_focus = self._pending_focus, None
            self.call_after_refresh(lambda: self.focus_on(**pending))

    def _summary(self, data: Any) -> Text:
        rows = [r for c in data.clusters for r in c.roles]
        text = Text()
        text.append(f"{len(data.clusters)} cluster(s), {len(rows)} managed role(s): ", style="bold")
        failing = sum(1 for r in rows if r.severity == "fail")
        warning = sum(1 for r in rows if r.severity == "warn")
        text.append(f"{failing} failing", style="bold red" if failing else "green")
        text.append(", ")
        text.append(f"{warning} warning", style="yellow" if warning else "green")
        text.append("   enter: details · t: run the C1–C7 flow · /: filter", style="dim")
        for p in data.problems:
            text.append("\n" + clean(p, 300), style="magenta")
        return text

    def _build_sections(self, refs: list[str]) -> None:
        box = self.query_one("#cnpg-clusters", VerticalScroll)
        box.remove_children()
        self._sections = {}
        widgets = []
        for ref in refs:
            section = (Static("", classes="cluster-header"), FilterableTable(classes="roles"),
                       Static(Text("not managed / reserved", style="dim italic"), classes="others-title"),
                       FilterableTable(classes="others", zebra_stripes=False))
            self._sections[ref] = section
            widgets.extend(section)
        box.mount_all(widgets)

    # -- detail -------------------------------------------------------------------------------
    @on(FilterableTable.RowSelected)
    def _row_selected(self, event: FilterableTable.RowSelected) -> None:
        if event.row_key.value:  # only FilterableTables post this message
            self.open_detail(str(event.row_key.value))

    def open_detail(self, key: str) -> None:
        """Show one role's five sources and verdict (key: `namespace/cluster/role`)."""
        if self.data is None or self.data.role(key) is None:
            return
        self.detail_key = key
        self._fill_detail(key)
        self.query_one("#cnpg-clusters").display = False
        self.query_one("#cnpg-summary").display = False
        self.query_one("#cnpg-detail").display = True
        self.query_one("#detail-verdict-box").scroll_home(animate=False)
        ns, cluster, role = key.split("/", 2)
        self.set_crumbs(["CNPG", f"{ns}/{cluster}", role])
        self.refresh_bindings()

    def _fill_detail(self, key: str) -> None:
        row = self.data.role(key) if self.data is not None else None
        if row is None:
            return
        title = Text()
        title.append(f"{render.STATUS_MARK.get(row.severity, '?')} ", style=render.SEV_STYLE[row.severity])
        title.append(clean(row.name), style="bold")
        title.append(f"  in {clean(row.cluster)}  ({clean(row.category)})", style="dim")
        if row.code:
            title.append(f"   {row.code}", style="bold")
            title.append(f" — {clean(row.reason)}", style=render.SEV_STYLE[row.severity])
        self.query_one("#detail-title", Static).update(title)
        for name, fn in PANELS:
            self.query_one(f"#src-{name}", Static).update(fn(row))
        self._mask_password(row)
        verdict = render.verdict(row.steps) if row.steps else Text(clean(row.reason), style="dim")
        verdict.append("\nesc: back · t: run the full flow (real login) · c: copy the fix", style="dim")
        self.query_one("#detail-verdict", Static).update(verdict)

    # -- the one secret that can be revealed: the role's password, read from its Secret on demand ----------
    def _mask_password(self, row: Any) -> None:
        s = row.secret
        if s is None or not s.name or not s.exists:
            self.query_one("#detail-reveal", SecretReveal).set_masked("password", "no Secret to read it from")
            return
        seconds = self.app.config.reveal_seconds  # type: ignore[attr-defined]
        hint = f"ctrl+s shows it for {seconds:g} s" if seconds > 0 else "revealing is off (reveal_seconds = 0)"
        self.query_one("#detail-reveal", SecretReveal).set_masked(
            f"password in Secret {row.cluster.split('/', 1)[0]}/{s.name}", s.password, hint)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reveal_secret":
            return self.detail_key is not None  # only in a role's detail (and only there in the key bar)
        return super().check_action(action, parameters)

    def action_reveal_secret(self) -> None:
        """Show the open role's password for `reveal_seconds`, read from its Secret now; never stored."""
        row = self.data.role(self.detail_key) if self.data is not None and self.detail_key else None
        seconds = self.app.config.reveal_seconds  # type: ignore[attr-defined]
        if row is None:
            return
        if seconds <= 0:
            self.notify("revealing secrets is off (reveal_seconds = 0 in the config)", severity="warning")
            return
        s = row.secret
        if s is None or not s.name or not s.exists:
            self.notify("this role has no password Secret", severity="warning")
            return
        self.query_one("#detail-reveal", SecretReveal).reveal_secret(
            row.cluster.split("/", 1)[0], s.name, self.app.config.cnpg.password_key, seconds)  # type: ignore[attr-defined]

    def on_screen_suspend(self) -> None:  # PaneScreen's handler runs too (Textual dispatches along the MRO)
        self.query_one("#detail-reveal", SecretReveal).hide()  # leaving the pane hides a revealed password

    def go_back(self) -> bool:
        if self.detail_key is None:
            return False
        reveal = self.query_one("#detail-reveal", SecretReveal)
        if reveal.revealed:  # esc first hides a revealed password
            reveal.hide()
            return True
        reveal.set_masked("", "")
        key, self.detail_key = self.detail_key, None
        self.refresh_bindings()
        self.query_one("#cnpg-detail").display = False
        self.query_one("#cnpg-clusters").display = True
        self.query_one("#cnpg-summary").display = True
        self.set_crumbs(["CNPG"])
        self._focus_row(key)
        return True

    def _focus_row(self, key: str) -> None:
        for _, roles, _, others in self._sections.values():
            for table in (roles, others):
                if key in table.visible_keys():
                    table.focus()
                    table.move_cursor(row=table.get_row_index(key))
                    return

    # -- links and actions ----------------------------------------------------------------------
    def focus_on(self, subject: str = "", role: str = "", **_: Any) -> None:
        """`ns/cluster` focuses a cluster, `ns/cluster/role` or a bare role name opens that role."""
        if self.data is None:
            self._pending_focus = {"subject": subject, "role": role}
            return
        target = (subject or role).strip()
        if target.count("/") >= 2 and self.data.role(target):
            self.open_detail(target)
            return
        for c in self.data.clusters:
            if target in (c.ref, c.name) and c.ref in self._sections:
                self.go_back()
                table = self._sections[c.ref][1]
                table.focus()
                table.scroll_visible()
                return
        name = target.rsplit("/", 1)[-1]
        for c in self.data.clusters:
            for r in c.roles:
                if r.name == name:
                    self.open_detail(r.key)
                    return
        self.notify(f"no CNPG cluster or role {clean(target)!r}", severity="warning")

    def _current_row(self) -> Any:
        if self.data is None:
            return None
        if self.detail_key is not None:
            return self.data.role(self.detail_key)
        table = self.target_table()
        key = table._current_key() if table is not None else None
        return self.data.role(key) if key else None

    def action_triage_role(self) -> None:
        row = self._current_row()
        if row is None:
            self.notify("select a role first", severity="warning")
            return
        ns = row.cluster.split("/", 1)[0]
        consumer = f"{ns}/{row.consumers[0].workload}" if row.consumers else ""
        self.app.open_pane("triage", flow="cnpg", app=consumer, subject=row.name, run=True)  # type: ignore[attr-defined]

    def action_copy_fix(self) -> None:
        row = self._current_row()
        step = row.problem if row is not None else None
        if step is None or not step.fix:
            self.notify("no fix proposed for this role", severity="warning")
            return
        self.app.copy_to_clipboard(step.fix)
        self.notify(f"fix for {row.name} ({step.id}) copied")
