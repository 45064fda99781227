"""Child process of the cold-start benchmark: start an app headless and exit right after its first paint.

`python bench/paint_child.py hello|app [CONFIG]` prints one JSON line:
`{"painted_at": <time.time() of the first painted frame>, "heavy": [client libraries already imported],
"chars": <size of the terminal output of that frame>, "text_ok": <the frame shows the expected text>}`.

The first paint is the first `App._display` outside a batch whose frame, rendered to terminal escape
sequences (what a real terminal driver would write), shows the screen: `Hello, world!` for the hello-world
app, the `clusterdeck › Overview` breadcrumbs for clusterdeck (blank frames of Textual's default screen
before the mode switch do not count).
"""

from __future__ import annotations

import json
import sys
import time

HEAVY = ("kubernetes", "boto3", "botocore", "redis", "psycopg", "prometheus_api_client", "pandas", "requests",
         "urllib3")
SIZE = (140, 45)


def main() -> None:
    mode = sys.argv[1]
    from textual.app import App
    from textual._compositor import CompositorUpdate

    out: dict = {"frames": 0}
    marker = "Hello, world!" if mode == "hello" else "READ-ONLY"
    original = App._display

    def display(self: App, screen, renderable) -> None:  # type: ignore[no-untyped-def]
        if "painted_at" not in out and renderable is not None and not self._batch_count:
            if isinstance(renderable, CompositorUpdate):
                text = renderable.render_segments(self.console)
            else:
                text = self.console._render_buffer(self.console.render(renderable))
            out["frames"] += 1
            if marker in text:
                out.update(painted_at=time.time(), heavy=[m for m in HEAVY if m in sys.modules], chars=len(text))
                print("PAINTED", file=sys.stderr, flush=True)  # marker for `-X importtime` traces
                self.exit()
        original(self, screen, renderable)

    App._display = display  # type: ignore[method-assign]
    if mode == "hello":
        from textual.widgets import Static

        class Hello(App):
            def compose(self):  # type: ignore[no-untyped-def]
                yield Static("Hello, world!")

        app: App = Hello()
    else:
        from checks.config import load_config
        from tui.app import make_app

        app = make_app(load_config(sys.argv[2]))
    app.run(headless=True, size=SIZE)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
