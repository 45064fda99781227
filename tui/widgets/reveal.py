"""One secret field that can be revealed on screen for a few seconds, then masked again.

The masked form is a fingerprint (sha256 prefix). `reveal_secret()` reads the value from its Kubernetes
Secret at that moment (in a worker) and shows it; it lives only in this widget's rendered content until the
timer fires. It is never stored on a pane's data object (so never serialised into JSON or a capture bundle),
never put in a notification, a log or the clipboard.
"""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static

from tui.safe import clean, safe

DEFAULT_SECONDS = 5.0
"""Seconds a revealed value stays on screen when the config does not say (`reveal_seconds`)."""


class SecretReveal(Static):
    """`label: fingerprint · hint`; `reveal_secret(...)` shows the Secret's value, `hide()` masks it again."""

    DEFAULT_CSS = """
    SecretReveal { height: auto; padding: 0 1; }
    SecretReveal.-revealed { background: $warning 25%; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self._label = ""
        self._masked = ""
        self._hint = ""
        self._subject: tuple[str, str, str] | None = None
        self._timer: Timer | None = None
        self.revealed = False
        """True while a value is on screen (the flag is kept, never the value)."""

    def set_masked(self, label: str, masked: str, hint: str = "") -> None:
        """What the field shows when masked. A new label (another subject) hides a revealed value."""
        changed = label != self._label
        self._label, self._masked, self._hint = label, masked, hint
        if changed:
            self._subject = None
        if changed or not self.revealed:
            self.hide()

    def reveal_secret(self, namespace: str, name: str, key: str, seconds: float = DEFAULT_SECONDS) -> None:
        """Read `key` of Secret `namespace/name` now (worker thread, `app.conns.kube`) and show it for `seconds`."""
        self._subject = (namespace, name, key)
        self.run_worker(partial(self._read, namespace, name, key, seconds), thread=True, exclusive=True,
                        group="secret-reveal", exit_on_error=False)

    def _read(self, namespace: str, name: str, key: str, seconds: float) -> None:
        from checks.errors import SourceError

        where = f"Secret {clean(namespace)}/{clean(name)}"
        try:
            secret = self.app.conns.kube.get_secret(namespace, name)  # type: ignore[attr-defined]
        except SourceError as exc:
            self.app.call_from_thread(self.app.notify, f"cannot read {where}: {exc.title}", severity="error")
            return
        value = secret.text(key) if secret is not None else None
        if value is None:
            self.app.call_from_thread(self.app.notify, f"{where} has no key {clean(key)}" if secret is not None
                                      else f"{where} not found", severity="warning")
            return
        self.app.call_from_thread(self._show, (namespace, name, key), value, seconds)

    def _show(self, subject: tuple[str, str, str], value: str, seconds: float) -> None:
        if subject == self._subject and self.is_attached:  # not when the detail moved on meanwhile
            self.reveal(value, seconds)

    def reveal(self, value: str, seconds: float = DEFAULT_SECONDS) -> None:
        """Show `value` literally for `seconds`, then the fingerprint again."""
        self._cancel()
        if seconds <= 0:
            self.hide()
            return
        text = Text()
        text.append(f"{clean(self._label)}: ", style="bold")
        text.append_text(safe(value, "bold reverse", limit=1000))
        text.append(f"   hidden again in {seconds:g} s (esc hides it now)", style="dim")
        self.revealed = True
        self.add_class("-revealed")
        self.update(text)
        self._timer = self.set_timer(seconds, self.hide)

    def hide(self) -> None:
        """Mask the field (the fingerprint again)."""
        self._cancel()
        self.revealed = False
        self.remove_class("-revealed")
        text = Text()
        if self._label:
            text.append(f"{clean(self._label)}: ", style="bold")
            text.append(clean(self._masked) or "(none)")
            if self._hint:
                text.append(f"   {self._hint}", style="dim")
        self.update(text)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def on_unmount(self) -> None:
        self._cancel()
