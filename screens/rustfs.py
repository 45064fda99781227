"""RustFS pane: buckets (names first, counts loaded lazily), identity with policy lint, access matrix."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from checks.rustfs_view import BucketRow, RustfsData
from screens.base import TYPING_QUIET, PaneScreen
from screens.rustfs_render import (BUCKET_COLUMNS, POLICY_COLUMNS, USER_COLUMNS, bucket_rows, matrix_columns,
                                   matrix_detail, matrix_legend, matrix_rows, policy_detail, policy_rows, user_detail,
                                   user_rows)
from tui.safe import clean, safe
from tui.widgets.chrome import show_text
from tui.widgets.table import FilterableTable

TABS = {"buckets": "tab-buckets", "identity": "tab-identity", "matrix": "tab-matrix"}
DETAILS_CHUNK = 25
"""Buckets whose details one second-pass step loads before the table is updated."""
DETAILS_WORKERS = 4
"""Parallel bucket-detail loads: enough to hide the S3 latency, few enough to leave the UI thread the GIL."""
PREPARE_INLINE = 500
"""Up to this many buckets the table's cells are made on the UI thread (at once); more are made in a thread."""
DETAILS_TTL = 60.0
"""Seconds a bucket's loaded details are reused across refreshes."""
RENDER_EVERY = 1.0
"""While details load in the background, the bucket table is re-rendered at most once per this many seconds
(5,000 buckets arrive in 200 chunks; the last chunk renders at once)."""


class RustfsScreen(PaneScreen):
    PANE = "rustfs"
    TITLE = "RustFS"
    CSS_PATH = "rustfs.tcss"

    BINDINGS = [
        Binding("b", "tab('buckets')", "Buckets", id="rustfs.buckets"),
        Binding("i", "tab('identity')", "Identity", id="rustfs.identity"),
        Binding("m", "tab('matrix')", "Access matrix", id="rustfs.matrix"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._details: dict[str, tuple[BucketRow, float]] = {}
        """Bucket name -> (row with details, monotonic time loaded)."""
        self._bucket_names: list[BucketRow] = []
        self._matrix: Any = None
        self._matrix_running = False
        self._shown_matrix: Any = None
        self._details_running = False
        self._first_identity = True
        self._bucket_cells: dict[str, Any] = {}
        """Bucket name -> (row, bar scale, cells): each bucket is formatted once (rustfs_render.bucket_rows)."""
        self._rendered_at = 0.0
        self._render_timer: Any = None
        self._ready: tuple[list[BucketRow], Any] | None = None
        """Rows and their prepared table rows, made by `fetch` in its thread for the render that follows."""

    def compose_body(self) -> ComposeResult:
        yield Static("", id="s3-summary")
        with TabbedContent(id="s3-tabs", initial="tab-buckets"):
            with TabPane("Buckets", id="tab-buckets"):
                yield FilterableTable(id="buckets")
                yield Static("", id="buckets-note")
            with TabPane("Identity", id="tab-identity"):
                yield Static("Users", classes="section-title")
                yield FilterableTable(id="users")
                with Horizontal(id="identity-area"):
                    with Vertical(id="identity-lists"):
                        yield Static("Policies (linted against the per-application pattern)", classes="section-title")
                        yield FilterableTable(id="policies")
                    with VerticalScroll(id="identity-detail-box"):
                        yield Static("", id="identity-detail")
            with TabPane("Access matrix", id="tab-matrix"):
                yield Static("", id="matrix-legend")
                yield FilterableTable(id="matrix")
                yield Static("", id="matrix-detail")

    # -- data -----------------------------------------------------------------------------------
    def _static(self) -> bool:
        static = self.app.static_data  # type: ignore[attr-defined]
        return static is not None and self.PANE in static

    def fetch(self) -> Any:
        from checks.rustfs_view import collect_rustfs

        data = collect_rustfs(self.app.conns)  # type: ignore[attr-defined]
        if len(data.buckets.buckets) > PREPARE_INLINE:  # the table's rows made here, in the fetch's thread: the
            rows = [self._row(r) for r in data.buckets.buckets]  # render swaps them in (unless details came since)
            self._ready = (rows, FilterableTable.prepare(bucket_rows(rows, self._bucket_cells)))
        return data

    def show_data(self, data: RustfsData) -> None:
        self._bucket_names = list(data.buckets.buckets)
        now = time.monotonic()
        pending = []
        for row in data.buckets.buckets:
            if row.loaded:
                self._details[row.name] = (row, now)
            elif row.name not in self._details or now - self._details[row.name][1] > DETAILS_TTL:
                pending.append(row)
        self._render_buckets()
        self._show_identity(data)
        if data.matrix is not None:
            self._show_matrix(data.matrix)
        elif self._matrix is not None:
            self._show_matrix(self._matrix)
        else:
            show_text(self.query_one("#matrix-legend", Static),
                      Text("the matrix probes every application's keys against every bucket: open this tab (m) to "
                           "run it", style="dim"))
            if self._active_tab() == TABS["matrix"]:
                self._start_matrix()
        if pending and not self._static():
            self._details_running = True
            self._details_worker(pending)

    def _summary(self, loaded: int) -> Text:
        """The summary line; `loaded`: how many buckets have their counts."""
        data: RustfsData | None = self.data
        text = Text()
        if data is None:
            return text
        text.append("RustFS ", style="bold")
        text.append(clean(data.endpoint))
        text.append(f"  ·  {len(self._bucket_names)} buckets ({loaded} with counts)")
        ident = data.identity
        if ident.error:
            text.append("  ·  identity: ", style="bold")
            text.append(clean(ident.error), style="yellow")
        else:
            text.append(f"  ·  {len(ident.users)} users, {len(ident.groups)} groups, {len(ident.policies)} policies "
                        "via ")
            text.append(clean(ident.source), style="dim")
        if data.buckets.error:
            text.append("\nbuckets: ", style="bold")
            text.append(clean(data.buckets.error), style="yellow")
        return text

    def _row(self, row: BucketRow) -> BucketRow:
        cached = self._details.get(row.name)
        return cached[0] if cached else row

    def _render_buckets(self) -> None:
        if self._render_timer is not None:
            self._render_timer.stop()
            self._render_timer = None
        self._rendered_at = time.monotonic()
        rows = [self._row(r) for r in self._bucket_names]
        if len(self._bucket_cells) > 2 * len(rows) + 100:  # buckets that are gone
            self._bucket_cells.clear()
        ready, self._ready = self._ready, None
        if len(rows) > PREPARE_INLINE:  # thousands of buckets: their cells are made in a thread
            if ready is not None and len(ready[0]) == len(rows) and all(a is b for a, b in zip(ready[0], rows)):
                self.workers.cancel_group(self, "rustfs-render")  # an older render's rows must not come after
                self.query_one("#buckets", FilterableTable).set_rows(BUCKET_COLUMNS, ready[1])  # the fetch's
            else:
                self._prepare_buckets(rows)
        else:
            self.query_one("#buckets", FilterableTable).set_rows(BUCKET_COLUMNS, bucket_rows(rows, self._bucket_cells))
        missing = len(rows) - sum(r.loaded for r in rows)
        if missing and self._details_running:
            note = f"loading counts of {missing} buckets in the background… (enter loads the selected one now)"
        elif missing:
            note = f"{missing} buckets without counts yet (enter loads the selected one)"
        else:
            note = "counts: paginated ListObjectsV2 with the admin keys (+ = more than counted)"
        show_text(self.query_one("#buckets-note", Static), Text(note, style="dim"))
        show_text(self.query_one("#s3-summary", Static), self._summary(len(rows) - missing))

    @work(thread=True, exclusive=True, exit_on_error=False, group="rustfs-render",
          description="prepare the bucket rows")
    def _prepare_buckets(self, rows: list[BucketRow]) -> None:
        prepared = FilterableTable.prepare(bucket_rows(rows, self._bucket_cells))
        if not get_current_worker().is_cancelled:  # a newer render replaced this one
            self.app.call_from_thread(self.query_one("#buckets", FilterableTable).set_rows, BUCKET_COLUMNS, prepared)

    def _merge_details(self, rows: list[BucketRow], last: bool = False, now_: bool = False) -> None:
        """Keep loaded details; render now when `last`/`now_` or RENDER_EVERY has passed, else once later."""
        if last:
            self._details_running = False
        now = time.monotonic()
        for r in rows:
            if r.loaded:  # (a bucket skipped because the pane was left is loaded on the next visit)
                self._details[r.name] = (r, now if not r.error else now - DETAILS_TTL)  # a failed load: next refresh
        if last or now_ or (now - self._rendered_at >= RENDER_EVERY and not self.user_typing()):
            self._render_buckets()
        elif self._render_timer is None:
            self._render_timer = self.set_timer(max(RENDER_EVERY - (now - self._rendered_at), 0.05), self._render_later)

    def _render_later(self) -> None:
        """The periodic re-render while counts load; put off while the user types (a keystroke comes first)."""
        self._render_timer = None
        if self.user_typing():
            self._render_timer = self.set_timer(TYPING_QUIET, self._render_later)
        else:
            self._render_buckets()

    def _wait_turn(self) -> bool:
        """Called by the detail loader's threads before each bucket: wait while the user types in a bar (the
        loader's threads would take the GIL from each keystroke's redraw); False once the pane is left (the
        bucket is not loaded now: the pane opened instead gets the machine, the next visit loads the rest)."""
        while self._visible and self.user_typing():
            time.sleep(0.05)
        return self._visible

    @work(thread=True, exclusive=True, exit_on_error=False, group="rustfs-details",
          description="read each bucket's details")
    def _details_worker(self, rows: list[BucketRow]) -> None:
        from checks.errors import SourceError
        from checks.rustfs_view import admin_s3, load_bucket_details

        worker = get_current_worker()
        try:
            s3 = admin_s3(self.app.conns)  # type: ignore[attr-defined]
            for start in range(0, len(rows), DETAILS_CHUNK):
                if worker.is_cancelled:
                    return
                if not self._visible:  # another pane is open: stop loading; the next visit resumes with the rest
                    self.app.call_from_thread(self._merge_details, [], True)
                    return
                loaded = load_bucket_details(s3, rows[start:start + DETAILS_CHUNK], workers=DETAILS_WORKERS,
                                             wait_turn=self._wait_turn)
                last = start + DETAILS_CHUNK >= len(rows)
                self.app.call_from_thread(self._merge_details, loaded, last)
        except SourceError as exc:
            self.app.call_from_thread(self._merge_details, [], True)
            self.app.call_from_thread(self.notify, f"{exc.title}: {exc.message}", title="bucket details",
                                      severity="error")

    @on(FilterableTable.RowSelected, "#buckets")
    def _bucket_chosen(self, event: FilterableTable.RowSelected) -> None:
        name = str(event.row_key.value)
        row = next((r for r in self._bucket_names if r.name == name), None)
        if row is not None and not self._static():
            self._one_bucket_worker(row)

    @work(thread=True, exit_on_error=False, group="rustfs-one",
          description="read one bucket's details")
    def _one_bucket_worker(self, row: BucketRow) -> None:
        from checks.errors import SourceError
        from checks.rustfs_view import admin_s3, load_bucket_details

        try:
            loaded = load_bucket_details(admin_s3(self.app.conns), [row], workers=1)  # type: ignore[attr-defined]
        except SourceError as exc:
            self.app.call_from_thread(self.notify, f"{exc.title}: {exc.message}", severity="error")
            return
        self.app.call_from_thread(self._merge_details, loaded, now_=True)

    # -- identity -------------------------------------------------------------------------------
    def _show_identity(self, data: RustfsData) -> None:
        ident = data.identity
        self.query_one("#users", FilterableTable).set_rows(USER_COLUMNS, user_rows(ident))
        policies = self.query_one("#policies", FilterableTable)
        policies.set_rows(POLICY_COLUMNS, policy_rows(ident))
        worst = next((i for i, p in enumerate(ident.policies) if p.mark == "lint"), None)
        if worst is not None and self._first_identity:
            self._first_identity = False
            policies.move_cursor(row=worst)
        if ident.error:
            detail = safe("No admin access, so identity cannot be read: " + ident.error, "yellow")
        elif ident.policies:
            worst = next((p for p in ident.policies if p.mark == "lint"), ident.policies[0])
            detail = policy_detail(worst, ident)
        else:
            detail = Text("no policies", style="dim")
        if ident.limits:
            detail.append("\nlimits of this source:\n", style="bold dim")
            for limit in ident.limits:
                detail.append("· " + clean(limit) + "\n", style="dim")
        show_text(self.query_one("#identity-detail", Static), detail)

    @on(FilterableTable.RowHighlighted, "#policies")
    def _policy_highlighted(self, event: FilterableTable.RowHighlighted) -> None:
        data: RustfsData | None = self.data
        if data is None or event.row_key is None:
            return
        pol = next((p for p in data.identity.policies if p.name == str(event.row_key.value)), None)
        if pol is not None:
            self.query_one("#identity-detail", Static).update(policy_detail(pol, data.identity))

    @on(FilterableTable.RowHighlighted, "#users")
    def _user_highlighted(self, event: FilterableTable.RowHighlighted) -> None:
        data: RustfsData | None = self.data
        if data is None or event.row_key is None or self.app.focused is not event.data_table:
            return
        user = next((u for u in data.identity.users if u.name == str(event.row_key.value)), None)
        if user is not None:
            self.query_one("#identity-detail", Static).update(user_detail(user))

    # -- access matrix --------------------------------------------------------------------------
    def _active_tab(self) -> str:
        return str(self.query_one("#s3-tabs", TabbedContent).active)

    @on(TabbedContent.TabActivated, "#s3-tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == TABS["matrix"] and self._matrix is None and self.data is not None and \
                self.data.matrix is None:
            self._start_matrix()

    def _start_matrix(self) -> None:
        if self._static() or self._matrix_running:
            return
        self._matrix_running = True
        self.query_one("#matrix-legend", Static).update(Text("probing every application's keys against every "
                                                             "bucket…", style="bold"))
        self._matrix_worker(bool(self.app.allow_writes))  # type: ignore[attr-defined]

    @work(thread=True, exclusive=True, exit_on_error=False, group="rustfs-matrix",
          description="probe the access matrix")
    def _matrix_worker(self, allow_writes: bool) -> None:
        from checks.errors import SourceError
        from checks.rustfs_matrix import AccessMatrix, build_matrix

        try:
            from tui.writes import app_gate  # the write probes are confirmed in a dialog and audited

            gate = app_gate(self.app) if allow_writes else False
            matrix = build_matrix(self.app.conns, gate)  # type: ignore[attr-defined]
        except SourceError as exc:
            matrix = AccessMatrix(error=f"{exc.title}: {exc.message}")
        self.app.call_from_thread(self._matrix_done, matrix)

    def _matrix_done(self, matrix: Any) -> None:
        self._matrix_running = False
        self._matrix = matrix
        self._show_matrix(matrix)

    def _show_matrix(self, matrix: Any) -> None:
        legend = self.query_one("#matrix-legend", Static)
        if matrix.error:
            show_text(legend, safe("access matrix unavailable: " + matrix.error, "yellow"))
            return
        show_text(legend, matrix_legend(matrix))
        self._shown_matrix = matrix
        table = self.query_one("#matrix", FilterableTable)
        table.set_rows(matrix_columns(matrix), matrix_rows(matrix))
        flagged = next((i for i, r in enumerate(matrix.rows) if r.overbroad), None)
        if flagged is not None:
            table.move_cursor(row=flagged)

    @on(FilterableTable.RowHighlighted, "#matrix")
    def _matrix_highlighted(self, event: FilterableTable.RowHighlighted) -> None:
        matrix = self._shown_matrix
        if matrix is None or event.row_key is None:
            return
        row = next((r for r in matrix.rows if r.app == str(event.row_key.value)), None)
        if row is not None:
            self.query_one("#matrix-detail", Static).update(matrix_detail(row, matrix))

    # -- actions --------------------------------------------------------------------------------
    def action_tab(self, name: str) -> None:
        self.query_one("#s3-tabs", TabbedContent).active = TABS[name]
        table = {"buckets": "#buckets", "identity": "#users", "matrix": "#matrix"}[name]
        self.query_one(table, FilterableTable).focus()

    def action_reload(self) -> None:
        if self._active_tab() == TABS["matrix"] and not self._static():
            self._matrix = None
            self._start_matrix()
        super().action_reload()

    def focus_on(self, subject: str = "", tab: str = "", **_: Any) -> None:
        """Open a tab (buckets/identity/matrix) and filter it by `subject` (a bucket, user or app)."""
        name = tab if tab in TABS else "buckets"
        self.action_tab(name)
        if subject:
            table = {"buckets": "#buckets", "identity": "#users", "matrix": "#matrix"}[name]
            self.query_one(table, FilterableTable).apply_filter(subject)
