"""Shared pane behaviour: header, breadcrumbs, threaded loading, re-armed refresh, `/` filter, `:` line."""

from __future__ import annotations

import contextvars
import threading
import time
from concurrent.futures import Future
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.lazy import Lazy
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from tui import gcpolicy
from tui.safe import safe
from tui.widgets.chrome import Breadcrumbs, DeckHeader, KeyBar, PromptBar, in_view
from tui.widgets.table import FilterableTable

FIRST_PAINT_WAIT = 2.0
"""Seconds a pane's first fetch waits for the app's first painted frame (see `_fetch_worker`)."""
TYPING_QUIET = 0.6
"""Seconds after the `/` or `:` bar opens or its text changes during which a pane's background loads step
aside (`user_typing`): their threads would otherwise take the GIL from each keystroke's redraw."""


class _Handoff:
    """A fetch worker's answer, handed to the UI thread once (`take`).

    Textual keeps a finished Worker's result for as long as the Worker object lives, and a Worker is in
    reference cycles (its task and coroutine), so it lives until a full cyclic collection: the worker of
    the previous refresh kept the whole previous data set alive next to the new one, and the first load's
    worker was frozen by `gcpolicy.freeze_once` with its data, for good (at scale: +80 MB of peak RSS over
    a refresh of each pane). Emptied by `take`, the box left in the worker holds nothing."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def take(self) -> Any:
        value, self.value = self.value, None
        return value


class PaneScreen(Screen):
    """A pane: subclasses implement `compose_body`, `fetch` (thread, headless) and `show_data`."""

    PANE = "overview"
    TITLE = "Overview"
    AUTO_REFRESH = True

    BINDINGS = [
        Binding("r", "reload", "Refresh", id="pane.refresh"),
        # priority: acted on as the app reads the key, before the keys after it are handed to the focused
        # widget (`/watch` pasted in a terminal is one burst: the bar must have the focus for the `w`)
        Binding("slash", "open_filter", "Filter", key_display="/", id="pane.filter", priority=True),
        Binding("colon", "open_command", "Command", key_display=":", id="pane.command", priority=True),
        Binding("p", "toggle_pause", "Pause", id="pane.pause"),
        Binding("escape", "back", "Back", id="pane.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data: Any = None
        self.error: Any = None
        self.paused = False
        self._timer: Timer | None = None
        self._visible = False
        self._loaded_once = False
        self.crumbs: list[str] = [self.TITLE]
        self._filter_table: FilterableTable | None = None
        self._fetch: Worker | None = None
        self._early: Future[Any] | None = None
        self._typed_at = 0.0
        self._bars_pending = False

    # -- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield DeckHeader(id="deck-header")
        yield Breadcrumbs(id="crumbs")
        yield Static("", id="pane-error", classes="pane-error")
        with Vertical(id="pane-body"):
            yield from self.compose_body()
        # the hidden bars and the key bar come after the first frame: their CSS and the footer's ~15 key widgets
        # would otherwise delay it. The app's first frame mounts them (`mount_after_paint`: Textual's Lazy mounts
        # after a refresh, which comes before the first frame is written); later panes use Lazy.
        painted = getattr(self.app, "first_paint", None)
        if painted is not None and not painted.is_set():
            self._bars_pending = True
        else:
            yield from (Lazy(widget) for widget in self._bars())

    def _bars(self) -> list[Widget]:
        return [PromptBar(placeholder="filter regex  (/!regex inverts, esc closes)", id="filter-bar"),
                PromptBar(placeholder=":df :pg :s3 :alerts :triage :overview :help :quit", id="command-bar"),
                KeyBar()]

    async def mount_after_paint(self) -> None:
        """Called by the app once its first frame is on screen."""
        if self._bars_pending and self.is_mounted:
            self._bars_pending = False
            await self.mount_all(self._bars())
            self.refresh_bindings()  # the footer shows the keys when the bindings next change: now

    def compose_body(self) -> ComposeResult:
        yield Static("")

    def on_mount(self) -> None:
        self.app.paint_header(self)  # type: ignore[attr-defined]
        self.set_crumbs(self.crumbs)
        self.query_one("#pane-error").display = False
        if not self._loaded_once:  # here rather than at the resume's reload: in the pane's first frame
            self.query_one("#pane-body").loading = True

    def set_crumbs(self, crumbs: list[str]) -> None:
        self.crumbs = crumbs
        self.query_one(Breadcrumbs).show(["clusterdeck", *crumbs])

    # -- loading and refresh ----------------------------------------------------------------
    def on_screen_resume(self) -> None:
        self._visible = True
        self.app.paint_header(self)  # type: ignore[attr-defined]
        if self._fetch is not None and not self._fetch.is_finished:
            return  # e.g. help closed while a fetch waits on a slow server: a reload would restart the wait
        if not self._loaded_once or self._timer is None:
            self.reload()

    def on_screen_suspend(self) -> None:
        self._visible = False
        self._cancel_timer()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def fetch_early(self) -> None:
        """Start the first fetch now, as the screen is made on its first visit, rather than once Textual has
        composed and mounted it and painted its first frame (~100-200 ms later at scale). The first reload
        takes this answer (or its error) instead of reading again. Not before the app's first frame, when the
        fetch would load the client libraries under the GIL the UI thread needs; not for static data."""
        static = self.app.static_data  # type: ignore[attr-defined]
        painted = getattr(self.app, "first_paint", None)
        if (static is not None and self.PANE in static) or painted is None or not painted.is_set():
            return
        future: Future[Any] = Future()
        context = contextvars.copy_context()  # `self.app` in fetch() is Textual's context variable

        def run() -> None:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(_Handoff(self.fetch()))
                except BaseException as exc:  # handed to the worker, which reports it as its own
                    future.set_exception(exc)

        threading.Thread(target=context.run, args=(run,), name=f"{self.PANE}-first-fetch", daemon=True).start()
        self._early = future

    def reload(self) -> None:
        self._cancel_timer()  # until the first load, the body shows the loading indicator on_mount set
        early, self._early = self._early, None  # only the first reload takes the early fetch
        self._fetch = self._fetch_worker(early)

    @work(thread=True, exclusive=True, exit_on_error=False, group="pane-fetch",
          description="fetch the pane's data")
    def _fetch_worker(self, early: Future[Any] | None = None) -> Any:
        if early is not None:
            return early.result()
        static = self.app.static_data  # type: ignore[attr-defined]
        if static is not None and self.PANE in static:
            return _Handoff(static[self.PANE])
        # fetching imports the client libraries (kubernetes, redis, psycopg, boto3: ~2 s of CPU under the GIL):
        # let the UI thread paint the first frame before that starts
        painted = getattr(self.app, "first_paint", None)
        if painted is not None:
            painted.wait(FIRST_PAINT_WAIT)
        return _Handoff(self.fetch())

    def fetch(self) -> Any:
        """Runs in a thread: read the sources, return a headless data object."""
        return None

    def show_data(self, data: Any) -> None:
        """Runs on the UI thread with what `fetch` returned."""

    def show_error(self, exc: BaseException) -> None:
        from checks.errors import SourceError

        box = self.query_one("#pane-error", Static)
        if isinstance(exc, SourceError):
            text = safe(f"{exc.system}: {exc.title} — {exc.message}", style="bold")
        else:
            text = safe(f"{type(exc).__name__}: {exc}", style="bold")
        box.update(text)
        box.display = True

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "pane-fetch":
            return
        state = event.state
        if state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        self.query_one("#pane-body").loading = False
        self._loaded_once = True
        if state == WorkerState.SUCCESS:
            self.query_one("#pane-error").display = False
            self.data, self.error = event.worker.result.take(), None
            self.show_data(self.data)
            gcpolicy.freeze_once(self.PANE)  # its client library is loaded now: never scan it again
        else:
            self.error = event.worker.error
            self.show_error(self.error)
        self._arm_timer()

    def _arm_timer(self) -> None:
        interval = self.app.config.refresh_interval  # type: ignore[attr-defined]
        if self.AUTO_REFRESH and interval > 0 and self._visible and not self.paused:
            self._cancel_timer()
            self._timer = self.set_timer(interval, self.reload)

    # -- actions --------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`/` and `:` (priority keys) are text, not bars, while a text box has the focus (a regex, a URL in an
        error, a DRYRUN command); shown dimmed then."""
        if action in ("open_filter", "open_command") and isinstance(self.app.focused, Input):
            return None
        return True

    def action_reload(self) -> None:
        forget = getattr(getattr(self.app, "conns", None), "forget_cached", None)
        if forget is not None:  # `r` reads the cluster again, not the kube lists another pane just read
            forget()
        self.reload()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self._cancel_timer()
            self.notify("auto-refresh paused (p resumes)")
        else:
            self.notify("auto-refresh resumed")
            self._arm_timer()
        self.app.paint_header(self)  # type: ignore[attr-defined]

    def action_open_filter(self) -> None:
        self._filter_table = self.target_table()  # the table in view now, not one filtered before `esc`
        self._open_bar("#filter-bar")

    def action_open_command(self) -> None:
        self._open_bar("#command-bar")

    def _open_bar(self, selector: str) -> None:
        bar = self.query(selector).first(PromptBar) if self.query(selector) else None
        if bar is not None:  # None only in the first frame, before the Lazy bars are mounted
            self._typed_at = time.monotonic()
            bar.open()

    def user_typing(self) -> bool:
        """Whether the user opened a bar or typed in it within the last TYPING_QUIET seconds (any thread)."""
        return time.monotonic() - self._typed_at < TYPING_QUIET

    def _close_bars(self) -> bool:
        table, self._filter_table = self._filter_table, None
        closed = False
        for bar in self.query(PromptBar):
            closed = bar.close() or closed
        if closed:
            self._focus_table(table)
        return closed

    def _focus_table(self, table: FilterableTable | None = None) -> None:
        """Focus `table` (the one just filtered), else the first table in view: focusing a table in a tab not
        shown would switch to that tab."""
        table = table or self.target_table()
        if table is not None:
            table.focus()

    def action_back(self) -> None:
        if self._close_bars():
            return
        if self.go_back():
            return
        self.app.action_go_back()  # type: ignore[attr-defined]

    def go_back(self) -> bool:
        """Pane-level back (e.g. leave a detail view); True when handled."""
        return False

    def target_table(self) -> FilterableTable | None:
        focused = self.app.focused
        if isinstance(focused, FilterableTable):
            return focused
        tables = [t for t in self.query(FilterableTable) if in_view(t)]
        return tables[0] if tables else None

    @on(Input.Changed, "#filter-bar")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._typed_at = time.monotonic()
        value = event.value
        invert = value.startswith("!")
        table = self._filter_table or self.target_table()
        self._filter_table = table
        if table is not None:
            err = table.apply_filter(value[1:] if invert else value, invert)
            event.input.set_class(err is not None, "-invalid")

    @on(Input.Submitted, "#filter-bar")
    def _filter_done(self, event: Input.Submitted) -> None:
        self._close_bars()  # the filter stays on; the table filtered gets the focus back

    @on(Input.Submitted, "#command-bar")
    def _command_done(self, event: Input.Submitted) -> None:
        self.query_one("#command-bar", PromptBar).close()
        command = event.value.strip().lstrip(":")
        event.input.value = ""
        self.app.run_command_line(command)  # type: ignore[attr-defined]
