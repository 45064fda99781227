"""Modal screens: help, write confirmation."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.safe import clean

HELP = """\
Panes            1 Overview  2 Dragonfly  3 CNPG  4 RustFS  5 Alerts  6 Triage
Command line     :df  :pg  :s3  :alerts  :triage  :overview  :help  :quit
Filter           /regex filters the table, /!regex inverts, esc closes
Navigation       enter opens a row, esc goes back, ctrl+p command palette
Refresh          r reloads the pane, p pauses auto-refresh
Writes           off unless started with --allow-writes; each write is confirmed and audited
Secrets          only fingerprints (sha256 prefixes); in a CNPG role's detail ctrl+s shows its password for a few s
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(Text("clusterdeck — keys", style="bold"))
            yield Static(Text(HELP))
            yield Static(Text("esc closes", style="dim"))


class ConfirmWrite(ModalScreen[bool]):
    """Names exactly what will change (secrets masked) and asks for a yes."""

    BINDINGS = [Binding("escape,n", "cancel", "Cancel"), Binding("y", "confirm", "Confirm")]
    AUTO_FOCUS = "#no"
    """Enter alone never writes: it presses Cancel; writing takes `y` or a click on Yes."""

    def __init__(self, title: str, changes: list[str]) -> None:
        super().__init__()
        self._title = title
        self._changes = changes

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Text(clean(self._title), style="bold"))
            yield Static(Text("\n".join(clean(c) for c in self._changes)))
            with Horizontal():
                yield Button("Yes, write (y)", id="yes", variant="warning")
                yield Button("Cancel (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
