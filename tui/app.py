"""The clusterdeck App: modes (one per pane), bindings, command palette, `:` command line."""

from __future__ import annotations

import threading
from importlib import import_module
from typing import TYPE_CHECKING, Any, Callable

from textual.app import App
from textual.binding import Binding
from textual.css.stylesheet import Stylesheet

from screens.base import PaneScreen
from screens.overview import OverviewScreen
from tui import gcpolicy
from tui.commands import PaneCommands

if TYPE_CHECKING:
    from textual.screen import Screen

    from checks.config import Config

PANES: dict[str, tuple[str, str]] = {
    # mode: (title, key)
    "overview": ("Overview", "1"),
    "dragonfly": ("Dragonfly", "2"),
    "cnpg": ("CNPG", "3"),
    "rustfs": ("RustFS", "4"),
    "alerts": ("Alerts", "5"),
    "triage": ("Triage", "6"),
}

ALIASES: dict[str, str] = {
    "overview": "overview", "home": "overview", "ov": "overview",
    "df": "dragonfly", "dragonfly": "dragonfly", "redis": "dragonfly", "cache": "dragonfly",
    "pg": "cnpg", "cnpg": "cnpg", "postgres": "cnpg", "db": "cnpg",
    "s3": "rustfs", "rustfs": "rustfs", "storage": "rustfs",
    "alerts": "alerts", "al": "alerts", "prom": "alerts", "prometheus": "alerts",
    "triage": "triage", "tr": "triage", "flow": "triage",
}


def _lazy_screen(module: str, name: str) -> Callable[[], Screen]:
    """A MODES entry that imports its pane on first visit: only the Overview is loaded before the first paint."""

    def make() -> Screen:
        screen = getattr(import_module(module), name)()
        early = getattr(screen, "fetch_early", None)
        if early is not None:
            early()  # reading starts while Textual composes, mounts and paints the new screen
        return screen

    make.__qualname__ = make.__name__ = name
    return make


class _CachedStylesheet(Stylesheet):
    """Textual's stylesheet, except that a refresh with unchanged variables keeps the parsed rules.

    Textual refreshes the CSS whenever a mode's screen is shown for the first time (the Overview at start-up,
    then each pane): `set_variables` empties the parse cache and `reparse` parses every source in a new
    stylesheet, so every stylesheet was parsed twice more (10-15 ms before the first frame). Parsing depends
    only on the sources and the variables; the per-source cache is still emptied when the variables change
    (a new theme), and sources added since are parsed as before."""

    def set_variables(self, variables: dict[str, str]) -> None:
        if variables != self._variables:
            super().set_variables(variables)

    def reparse(self) -> None:
        self.parse()  # through the per-source parse cache


class ClusterDeck(App):
    """Textual app: data comes from `checks` through each pane's worker; nothing here does I/O."""

    CSS_PATH = "app.tcss"
    TITLE = "clusterdeck"
    MODES = {
        "overview": OverviewScreen,
        "dragonfly": _lazy_screen("screens.dragonfly", "DragonflyScreen"),
        "cnpg": _lazy_screen("screens.cnpg", "CnpgScreen"),
        "rustfs": _lazy_screen("screens.rustfs", "RustfsScreen"),
        "alerts": _lazy_screen("screens.alerts", "AlertsScreen"),
        "triage": _lazy_screen("screens.triage", "TriageScreen"),
    }
    DEFAULT_MODE = "overview"
    COMMANDS = App.COMMANDS | {PaneCommands}
    BINDINGS = [
        *(Binding(key, f"goto('{mode}')", title, id=f"goto.{mode}") for mode, (title, key) in PANES.items()),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, config: Config, *, allow_writes: bool = False, connections: Any = None,
                 context_name: str | None = None, static_data: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.stylesheet = _CachedStylesheet(variables=self.get_css_variables())
        self.static_data = static_data
        """Pane name -> data object shown instead of fetching (snapshots with fixed data)."""
        self.config = config
        self._conns = connections
        self.context_name = context_name or config.context or ""
        self.locked_read_only = config.context_read_only(self.context_name) if self.context_name else False
        self.allow_writes = allow_writes and not self.locked_read_only and not getattr(connections, "replaying", False)
        self.history: list[str] = []
        self.first_paint = threading.Event()
        """Set once a pane has been painted: pane workers wait for it before loading the client libraries."""
        gcpolicy.tune()
        if config.keymap:
            self.set_keymap(config.keymap)

    def _display(self, screen: Screen, renderable: Any) -> None:
        first = (renderable is not None and not self._batch_count and not self.first_paint.is_set()
                 and isinstance(screen, PaneScreen) and screen is self.screen)
        if first:
            # Textual computes the start-up screen's first full frame inside its start-up batch and drops it
            # (nothing is written in a batch), so the first frame written is only what changed since: the body,
            # without the header. Write the whole screen instead (it is what the dropped frame held).
            renderable = screen._compositor.render_update(full=True, screen_stack=self._background_screens)
        super()._display(screen, renderable)
        if first:  # the first frame actually written (Textual also calls this with nothing, or in a batch)
            gcpolicy.limit_malloc_arenas()  # before the pane workers load anything (they wait for this event)
            self.first_paint.set()
            self.call_later(screen.mount_after_paint)

    def notify(self, message: str, *, title: str = "", severity: Any = "information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Notifications are plain text: they carry server data (user, role and bucket names, error messages),
        and Textual would parse them as markup (`[/]` raised MarkupError, `[@click=…]` made an action)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def _fatal_error(self) -> None:
        """Textual's crash report without local variables (Textual prints them by default): a frame may hold
        a password being compared, probed or revealed, and the report lands in a terminal or a CI log."""
        import rich
        from rich.segment import Segments
        from rich.traceback import Traceback

        self.bell()
        report = Traceback(show_locals=False, width=None, suppress=[rich])
        self._exit_renderables.append(Segments(self.console.render(report, self.console.options)))
        self._close_messages_no_wait()

    # -- shared state -------------------------------------------------------------------
    @property
    def conns(self) -> Any:
        """The headless connection layer, built on first use (inside a worker thread)."""
        if self._conns is None:
            from checks.connect import Connections

            self._conns = Connections(self.config, context=self.config.context or None)
        return self._conns

    def note_context(self, name: str) -> None:
        """Called by panes once the kube context is known (resolved off the UI thread)."""
        if name and name != self.context_name:
            self.context_name = name
            self.locked_read_only = self.config.context_read_only(name)
            if self.locked_read_only:
                self.allow_writes = False
            self.paint_header(self.screen)

    def badge(self) -> tuple[str, str]:
        replay = getattr(self._conns, "replay_badge", "")  # checks.replay: `REPLAY <bundle> captured <time>`
        if replay:
            return replay, "bold black on cyan"
        if self.locked_read_only:
            return "LOCKED READ-ONLY (config)", "bold white on dark_red"
        if self.allow_writes:
            return "WRITES ENABLED", "bold black on yellow"
        return "READ-ONLY", "bold white on dark_green"

    def paint_header(self, screen: Any) -> None:
        from tui.widgets.chrome import DeckHeader

        try:
            header = screen.query_one(DeckHeader)
        except Exception:
            return
        badge, style = self.badge()
        extra = "refresh paused" if getattr(screen, "paused", False) else ""
        header.show(self.context_name, badge, style, extra)

    # -- navigation -----------------------------------------------------------------------
    def action_goto(self, mode: str) -> None:
        if mode == self.current_mode:
            return
        self.history.append(self.current_mode)
        self.switch_mode(mode)

    def action_go_back(self) -> None:
        if self.history:
            self.switch_mode(self.history.pop())

    def open_pane(self, mode: str, **kwargs: Any) -> None:
        """Switch to a pane and ask it to focus something (used by alert links)."""
        self.action_goto(mode)
        if not kwargs:
            return
        screen = self.screen

        def focus() -> None:  # after the first refresh: a pane visited for the first time is built by then
            fn = getattr(screen, "focus_on", None)
            if fn is not None:
                fn(**kwargs)

        self.call_after_refresh(focus)

    def run_command_line(self, command: str) -> None:
        word, _, rest = command.partition(" ")
        word = word.lower()
        if word in ("q", "quit", "exit"):
            self.exit()
        elif word in ("help", "h", "?"):
            self.action_help()
        elif word in ALIASES:
            self.open_pane(ALIASES[word], **({"subject": rest.strip()} if rest.strip() else {}))
        elif word:
            self.notify(f"unknown command ':{word}' — try :df :pg :s3 :alerts :triage :help", severity="warning")

    def action_help(self) -> None:
        from tui.dialogs import HelpScreen

        self.push_screen(HelpScreen())


def make_app(config: Config, *, allow_writes: bool = False, connections: Any = None,
             context_name: str | None = None, static_data: dict[str, Any] | None = None) -> ClusterDeck:
    """The one factory the CLI and the tests use."""
    return ClusterDeck(config, allow_writes=allow_writes, connections=connections, context_name=context_name,
                       static_data=static_data)
