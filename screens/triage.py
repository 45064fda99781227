"""Triage pane: pick a consumer or paste an error, watch the guided flow's steps arrive, copy the fix."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, DataTable, Input, Select, Static

from checks.model import FlowResult, Step
from screens.base import PaneScreen
from tui.safe import clean, safe, status_text
from tui.widgets.table import FilterableTable

FLOW_CHOICES = [("auto (from the error text)", "auto"), ("Dragonfly ACL", "dragonfly"),
                ("CNPG password rotation", "cnpg"), ("RustFS IAM", "rustfs")]


class TriageScreen(PaneScreen):
    PANE = "triage"
    TITLE = "Triage"
    AUTO_REFRESH = False
    AUTO_FOCUS = "#targets"

    BINDINGS = [
        Binding("ctrl+r", "run_flow", "Run flow", id="triage.run"),
        Binding("c", "copy_fix", "Copy fix", id="triage.copy"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.result: FlowResult | None = None
        self._steps: list[Step] = []
        self._last_run: tuple[str, str, str, str] | None = None
        """(error, app, identity, flow) as the last run had them: a field still holding its value belongs to that run's
        question, and is cleared when the user starts another one in another field (`_error_changed`)."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`p` (pause) has nothing to pause here (no auto-refresh) and `c` nothing to copy before a flow ran:
        both are off, so that these letters typed on the consumers table start the error text instead."""
        if action == "toggle_pause":
            return False
        if action == "copy_fix":
            return bool(self._steps)
        return super().check_action(action, parameters)

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="triage-form"):
            yield Input(placeholder="paste the error the app logged (WRONGPASS…, password authentication failed…, AccessDenied…)",
                        id="error-text", compact=True)
        with Horizontal(id="triage-form2"):
            yield Select(FLOW_CHOICES, value="auto", allow_blank=False, id="flow-select", compact=True)
            yield Input(placeholder="app NS/WORKLOAD", id="app-input", compact=True)
            yield Input(placeholder="user / role / access key (optional)", id="ident-input", compact=True)
            yield Button("Run (ctrl+r)", id="run", variant="primary", compact=True)
        yield Static("Consumers found in the cluster — enter runs the flows for one", classes="section-title")
        yield FilterableTable(id="targets")
        yield Static("", id="flow-title", classes="section-title")
        with Horizontal(id="flow-area"):
            yield DataTable(id="steps", cursor_type="row")
            with VerticalScroll(id="step-detail-box"):
                yield Static("", id="step-detail")

    def on_mount(self) -> None:
        super().on_mount()
        steps = self.query_one("#steps", DataTable)
        steps.add_columns("step", "status", "what", "code")

    def fetch(self) -> Any:
        from checks.targets import list_targets

        return list_targets(self.app.conns)  # type: ignore[attr-defined]

    def show_data(self, data: Any) -> None:
        table = self.query_one("#targets", FilterableTable)
        table.set_rows(("app", "dragonfly user", "postgres role", "s3 key / bucket"),
                       [(t.app, (safe(t.app, "bold"), safe(t.redis or "–"), safe(t.postgres or "–"),
                                 safe(t.s3 or "–"))) for t in data])

    def focus_on(self, subject: str = "", flow: str = "", app: str = "", run: bool = False, **_: Any) -> None:
        """Prefill the form (alert links, `:triage NS/APP`, a CNPG role's `t`). `subject` is an app when it has a
        slash, else the identity; with an app given too, both are set. A run asked from another pane (`run`) is
        a new question: the fields it does not give, and the error box, are emptied (the last run's error,
        consumer or identity would otherwise be judged with it)."""
        if "/" in subject and not app:
            app, subject = subject, ""
        if flow:
            self.query_one("#flow-select", Select).value = flow
        if run:
            self.query_one("#error-text", Input).value = ""
        for selector, value in (("#app-input", app), ("#ident-input", subject)):
            if value or run:
                self.query_one(selector, Input).value = value
        if run:
            self.action_run_flow()

    @on(FilterableTable.RowSelected, "#targets")
    def _target_chosen(self, event: FilterableTable.RowSelected) -> None:
        app = str(event.row_key.value)
        if self._holds_last_error():  # not an error given for this consumer: its flows, not that error's
            self.query_one("#error-text", Input).value = ""
        self.query_one("#app-input", Input).value = app
        self.action_run_flow()

    def _holds_last_error(self) -> bool:
        """The error box still holds the error the last run had."""
        value = self.query_one("#error-text", Input).value.strip()
        return bool(value) and self._last_run is not None and value == self._last_run[0]

    @on(Input.Changed, "#error-text")
    def _error_changed(self, event: Input.Changed) -> None:
        """Another error is another question: the app, identity and flow the last run had (e.g. the consumer picked
        before, or the CNPG flow a role's `t` ran) are cleared, else the flow would judge that app's workload
        against the new error's user, or run the last flow whatever the error names."""
        last = self._last_run
        if last is None or event.value.strip() in ("", last[0]):
            return
        cleared = []
        for selector, value, name in (("#app-input", last[1], "app"), ("#ident-input", last[2], "identity")):
            field = self.query_one(selector, Input)
            if value and field.value.strip() == value:
                field.value = ""
                cleared.append(f"{name} {value}")
        flow = self.query_one("#flow-select", Select)
        if last[3] != "auto" and flow.value == last[3]:
            flow.value = "auto"  # the flow is taken from the error text
            cleared.append(f"flow {last[3]}")
        if cleared:
            self._last_run = (last[0], "", "", "auto")
            self.notify(f"cleared the last run's {' and '.join(cleared)}: the error names its own", timeout=4)

    def on_key(self, event: events.Key) -> None:
        """A letter typed outside the text boxes (the consumers table has the focus on arrival) that no key
        binding takes goes to the error text, as a paste does (`on_paste`): the tables would drop it."""
        if not event.is_printable or event.character is None:
            return
        box = self.query_one("#error-text", Input)
        focused = self.app.focused
        if focused is not box:
            if isinstance(focused, (Input, Select)) or event.key in self.active_bindings:
                return
            if self._holds_last_error():  # typing starts another error (as the box's select-all would)
                box.value = ""
            # focused now (the next keys go to it), without the select-all of its text a focus makes: the next
            # letter would replace this one; on again once its Focus event is handled (call_later runs after it)
            box.select_on_focus = False
            self.set_focus(box)
            box.call_later(setattr, box, "select_on_focus", True)
        # else: a key of the same burst (typed text sent at once, as tmux or a fast typist does) handed to the
        # table before the focus moved: the box never saw it (it stops every letter it takes), so it goes there
        # too, bound or not
        event.stop()
        event.prevent_default()
        box.insert_text_at_cursor(event.character)

    @on(Button.Pressed, "#run")
    def _run_pressed(self) -> None:
        self.action_run_flow()

    def on_paste(self, event: events.Paste) -> None:
        """An error pasted while the consumers table has the focus (it has on arrival) goes where the first
        line asks for it, not to the table, which drops it."""
        if isinstance(self.focused, Input) or not event.text.strip():
            return
        event.stop()
        box = self.query_one("#error-text", Input)
        box.value = " ".join(event.text.split())
        box.focus()

    @on(Input.Submitted, "#error-text, #app-input, #ident-input")
    def _submitted(self) -> None:
        self.action_run_flow()

    def action_run_flow(self) -> None:
        error = self.query_one("#error-text", Input).value.strip() or None
        flow = self.query_one("#flow-select", Select).value
        app = self.query_one("#app-input", Input).value.strip() or None
        ident = self.query_one("#ident-input", Input).value.strip() or None
        flows: list[str | None]
        if flow == "auto":
            if error:
                flows = [None]
            elif app:
                flows = self._flows_for_app(app)
            else:
                self.notify("paste an error text, pick a consumer, or choose a flow", severity="warning")
                return
        else:
            flows = [str(flow)]
        self._steps = []
        self._last_run = (error or "", app or "", ident or "", str(flow))
        steps = self.query_one("#steps", DataTable)
        steps.clear()
        self.query_one("#step-detail", Static).update("")
        self.query_one("#flow-title", Static).update(Text("running…", style="bold"))
        self.refresh_bindings()  # `c` stays off until a step arrives
        self._run_worker(flows, error, app, ident)

    def _flows_for_app(self, app: str) -> list[str | None]:
        for t in self.data or []:
            if t.app == app:
                found = [f for f, v in (("dragonfly", t.redis), ("cnpg", t.postgres), ("rustfs", t.s3)) if v]
                return found or ["dragonfly", "cnpg", "rustfs"]
        return ["dragonfly", "cnpg", "rustfs"]

    @work(thread=True, exclusive=True, exit_on_error=False, group="triage-flow",
          description="run the guided flows")
    def _run_worker(self, flows: list[str | None], error: str | None, app: str | None, ident: str | None) -> list[Any]:
        from checks.errors import SourceError
        from checks.flows.runner import run_flow
        from tui.writes import app_gate

        results: list[Any] = []
        for flow in flows:
            subject = _identity_kwargs(flow, ident, error)
            try:
                result = run_flow(self.app.conns, flow, error=error, app=app,  # type: ignore[attr-defined]
                                  allow_writes=app_gate(self.app),  # confirms each write in a dialog, audits it
                                  on_step=lambda s: self.app.call_from_thread(self._add_step, s), **subject)
            except SourceError as exc:
                results.append(exc)
                continue
            results.append(result)
        self.app.call_from_thread(self._finished, results)
        return results

    def show_result(self, result: FlowResult) -> None:
        """Render a finished flow at once (replays, links, snapshots)."""
        self._steps = []
        self.query_one("#steps", DataTable).clear()
        for step in result.steps:
            self._add_step(step)
        self._finished([result])

    def _add_step(self, step: Step) -> None:
        self._steps.append(step)
        if len(self._steps) == 1:
            self.refresh_bindings()  # `c` (copy the fix) is on from the first step
        table = self.query_one("#steps", DataTable)
        table.add_row(safe(step.id, "bold"), status_text(step.status), safe(step.title),
                      safe(step.code or ""), key=f"{len(self._steps)}")
        if step.status in ("fail", "error") and len([s for s in self._steps if s.status in ("fail", "error")]) == 1:
            table.move_cursor(row=len(self._steps) - 1)
            self._show_step(step)

    def _finished(self, results: list[Any]) -> None:
        lines = Text()
        for r in results:
            if isinstance(r, FlowResult):
                self.result = r
                rc = r.root_cause
                who = next((r.subject[k] for k in ("app", "user", "role", "access_key") if r.subject.get(k)), "")
                lines.append(f"{r.flow}{' ' + clean(who) if who else ''}: ", style="bold")  # whom it checked
                if rc:
                    lines.append(f"root cause {rc.code} at {rc.step}", style="bold red")
                else:
                    warn = r.warnings
                    lines.append("no root cause found" + (f", {len(warn)} warning(s)" if warn else ""),
                                 style="yellow" if warn else "green")
            else:
                lines.append(clean(f"{r.system}: {r.title} — {r.message}"), style="bold magenta")
            lines.append("   ")
        self.query_one("#flow-title", Static).update(lines)
        self.set_crumbs(["Triage", *(r.flow for r in results if isinstance(r, FlowResult))])

    @on(DataTable.RowHighlighted, "#steps")
    def _step_highlighted(self, event: DataTable.RowHighlighted) -> None:
        idx = event.cursor_row
        if 0 <= idx < len(self._steps):
            self._show_step(self._steps[idx])

    def _show_step(self, step: Step) -> None:
        text = Text()
        text.append(f"{step.id} {clean(step.title)}\n", style="bold")
        text.append_text(status_text(step.status))
        if step.code:
            text.append(f"  {step.code}", style="bold")
        text.append("\n\n")
        for e in step.evidence:
            text.append("· " + clean(e, multiline=True) + "\n")
        if step.fix:
            text.append("\nFix (c copies):\n", style="bold")
            text.append(clean(step.fix, multiline=True) + "\n", style="cyan")
        self.query_one("#step-detail", Static).update(text)

    def action_copy_fix(self) -> None:
        table = self.query_one("#steps", DataTable)
        idx = table.cursor_row
        if 0 <= idx < len(self._steps) and self._steps[idx].fix:
            self.app.copy_to_clipboard(self._steps[idx].fix)
            self.notify(f"fix for {self._steps[idx].id} copied")
        else:
            self.notify("this step proposes no fix", severity="warning")


def _identity_kwargs(flow: str | None, ident: str | None, error: str | None = None) -> dict[str, str]:
    """The identity box as the flow's user, role or access key; with the flow on auto, the flow the error picks."""
    if not ident:
        return {}
    if flow is None and error:
        from checks.flows.classify import classify_error

        found = classify_error(error)
        flow = found.flow if found is not None else None
    return {"dragonfly": {"user": ident}, "cnpg": {"role": ident}, "rustfs": {"access_key": ident}}.get(flow or "", {})
