"""The TUI's WriteGate: writes happen in pane workers (threads); each is confirmed in the ConfirmWrite
modal on the UI thread while the worker waits for the answer, then audited by checks.writes."""

from __future__ import annotations

import threading
from typing import Any

from checks.writes import (WriteGate, WriteIntent, default_audit_path, kube_context_of, locked_reason,
                           writes_impossible)


def app_gate(app: Any) -> WriteGate:
    """The gate for a write from a worker thread of `app` (refusing when writes are off or the REAL kube
    context, resolved now, is locked by `contexts.<name>.read_only`)."""
    if impossible := writes_impossible(app.conns):  # a replayed bundle: say so, not "start with --allow-writes"
        return WriteGate.disabled(impossible)
    if not app.allow_writes:
        if app.locked_read_only:
            return WriteGate.disabled(locked_reason(app.config, app.context_name))
        return WriteGate.disabled("read-only mode: start clusterdeck with --allow-writes to enable writes "
                                  "(each is confirmed and audited)")
    context = kube_context_of(app.conns)
    locked = locked_reason(app.config, context)
    if locked:
        app.call_from_thread(app.note_context, context)  # the header shows LOCKED, allow_writes goes off
        return WriteGate.disabled(locked)
    return WriteGate(True, lambda intent: confirm_in_app(app, intent, context), default_audit_path(app.config),
                     context)


def confirm_in_app(app: Any, intent: WriteIntent, context: str) -> bool:
    """Show ConfirmWrite for `intent` and block this (worker) thread until the user answers; False when the
    app exits or the worker is cancelled meanwhile."""
    from textual.worker import get_current_worker

    from tui.dialogs import ConfirmWrite

    answered = threading.Event()
    answer: list[bool] = [False]

    def done(result: bool | None) -> None:
        answer[0] = bool(result)
        answered.set()

    title = f"Write to {intent.system} in context {context or '?'} — confirm (y) or cancel (n)"
    app.call_from_thread(app.push_screen, ConfirmWrite(title, intent.lines()), done)
    try:
        worker = get_current_worker()
    except Exception:  # noqa: BLE001 - not in a Textual worker: wait for the answer or the app's end only
        worker = None
    while not answered.wait(0.1):
        if not app.is_running or (worker is not None and worker.is_cancelled):
            return False
    return answer[0]
