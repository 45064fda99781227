"""Child process of the TUI benchmarks: clusterdeck in a headless pilot on a lab.

`python bench/pilot_child.py CONFIG KUBECONFIG` prints one JSON object:
- `populate_s`: per pane, seconds from the key press that opens it until its data is shown (screen.data set
  and its main table filled) and painted; the short-lived caches are forgotten before each key press, so that
  no pane is served another's recent answers (the worst case, the same in every run);
- `stall_pane_s` / `refresh_pane_s` / `callback_pane_s`: each pane in turn on screen and reloading (what
  the app does: only the pane on screen refreshes), the worst lateness of a 5 ms ticker on the event loop
  meanwhile, the reload's wall time, and the longest single loop callback (wall, UI-thread CPU);
  `stall_max_s` is the worst of them (also `stall_first_max_s` for the first visits, when the client
  libraries load);
- `list_buckets_s`: per pane whose first visit listed buckets, the longest S3 ListBuckets call in it (request,
  the lab's server answering, our parse);
- `first_rows_s`: the Overview's first systems shown (it shows each as it answers), from its first frame;
- `filter_s`: per pane, seconds from each filter keystroke to the table re-rendered (`/` then 3 keys);
- `peak_rss_mb`: the process's peak RSS (getrusage) after all that;
- stress, after `peak_rss_mb` is taken: every pane reloading at once (`refresh_s`, `stall_all_max_s`,
  `callback_all_s`, `peak_rss_all_mb`);
- `peak_rss_after_mb`: the peak RSS after each phase (where memory grows).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any

KEYS = {"dragonfly": "2", "cnpg": "3", "rustfs": "4", "alerts": "5", "triage": "6"}
MAIN_TABLE = {"overview": "#systems", "dragonfly": "#users", "cnpg": ".roles", "rustfs": "#buckets",
              "alerts": "#alerts-table", "triage": "#targets"}
FILTER = {"dragonfly": "u099", "cnpg": "r19", "rustfs": "b049", "alerts": "a09"}
"""Typed into each pane's `/` bar one key at a time; each matches some of the scale data set's names."""


class LoopMonitor:
    """The longest single event-loop callback (wall and UI-thread CPU) while `active`."""

    def __init__(self) -> None:
        self.active = False
        self.wall = self.cpu = 0.0
        handle = asyncio.events.Handle
        original = handle._run
        monitor = self

        def _run(h: Any) -> None:
            if not monitor.active:
                return original(h)
            w, c = time.perf_counter(), time.thread_time()
            try:
                return original(h)
            finally:
                monitor.wall = max(monitor.wall, time.perf_counter() - w)
                monitor.cpu = max(monitor.cpu, time.thread_time() - c)

        handle._run = _run  # type: ignore[method-assign]

    def start(self) -> None:
        self.wall = self.cpu = 0.0
        self.active = True

    def stop(self) -> tuple[float, float]:
        self.active = False
        return self.wall, self.cpu


class Ticker:
    """Measures how late a 5 ms sleep on the event loop wakes up."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, loop.time() - start - 0.005)

    def start(self) -> None:
        self.worst = 0.0
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
        return self.worst


def main_table(screen: Any) -> Any:
    from tui.widgets.table import FilterableTable

    tables = list(screen.query(MAIN_TABLE[screen.PANE]).results(FilterableTable))
    return max(tables, key=lambda t: len(t._all_rows)) if tables else None


def shown(screen: Any) -> bool:
    """The pane's data is shown. Polled every millisecond on the app's own event loop: the tables are looked up
    (a walk of the screen's DOM, ~0.3 ms at scale) only once the data is in, not on every poll before."""
    if screen.error is not None:
        return True
    if screen.data is None:
        return False
    table = main_table(screen)
    return table is not None and table.row_count > 0


FRAMES: list[float] = []
"""perf_counter() of every frame the app computed (App._display with an update)."""


def hook_frames() -> None:
    from textual.app import App

    original = App._display

    def display(self: App, screen: Any, renderable: Any) -> None:
        if renderable is not None and not self._batch_count:
            FRAMES.append(time.perf_counter())
        original(self, screen, renderable)

    App._display = display  # type: ignore[method-assign]


async def until(cond: Any, timeout: float = 120.0, frame: bool = True) -> float:
    """Poll (1 ms) until `cond()`, then until a frame was computed after that; returns that frame's time.
    (No pilot.pause(): it waits for the whole process to be idle, in 20 ms steps.)"""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.001)
    done = time.perf_counter()
    if not frame:
        return done
    while not FRAMES or FRAMES[-1] < done:
        if time.monotonic() > deadline:
            raise TimeoutError("no frame")
        await asyncio.sleep(0.001)
    return FRAMES[-1]


def time_list_buckets() -> list[float]:
    """Seconds each S3Source.list_buckets call took (the request, the lab's S3 server answering, our parse):
    the part of the RustFS pane's first visit that is the server's."""
    from checks.sources.s3 import S3Source

    took: list[float] = []
    original = S3Source.list_buckets

    def list_buckets(self: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self)
        finally:
            took.append(time.perf_counter() - start)

    S3Source.list_buckets = list_buckets  # type: ignore[method-assign]
    return took


def key(app: Any, name: str, char: str | None = None) -> None:
    """Deliver one key press as the terminal driver does."""
    from textual import events

    app.post_message(events.Key(name, char))


async def run(config_path: str, kubeconfig: str) -> dict[str, Any]:
    from checks.config import load_config
    from tui.app import make_app

    config = load_config(config_path).with_overrides(kubeconfig=kubeconfig, refresh_interval=0)
    app = make_app(config)
    out: dict[str, Any] = {"populate_s": {}, "filter_s": {}, "rows": {}, "errors": {}, "peak_rss_after_mb": {}}

    def mark(phase: str) -> None:  # where the peak RSS grows
        out["peak_rss_after_mb"][phase] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ticker = Ticker()
    monitor = LoopMonitor()
    hook_frames()
    listings = time_list_buckets()
    out["list_buckets_s"] = {}
    async with app.run_test(size=(140, 45)) as pilot:
        ticker.start()
        screens = {"overview": app.screen}
        start = time.perf_counter()

        def first_rows() -> bool:  # the Overview shows each system as it answers (the others "checking")
            table = main_table(screens["overview"])
            return screens["overview"].error is not None or (table is not None and table.row_count > 0)

        out["first_rows_s"] = {"overview": await until(first_rows) - start}
        out["populate_s"]["overview"] = await until(lambda: shown(screens["overview"])) - start
        if listings:
            out["list_buckets_s"]["overview"] = max(listings)
        await pilot.pause()
        mark("overview")
        for pane, k in KEYS.items():
            # each first visit reads the cluster afresh: answers another pane read within the last seconds
            # (e.g. the Overview's ListBuckets of 5,000 buckets) are otherwise reused or not, by timing alone
            app.conns.forget_cached()
            listings.clear()
            start = time.perf_counter()
            key(app, k, k)
            await until(lambda: getattr(app.screen, "PANE", "") == pane)
            screens[pane] = app.screen
            out["populate_s"][pane] = await until(lambda: shown(screens[pane])) - start
            if listings:
                out["list_buckets_s"][pane] = max(listings)
            await pilot.pause()
            mark(pane)
        out["stall_first_max_s"] = ticker.stop()
        for pane, screen in screens.items():
            table = main_table(screen)
            out["rows"][pane] = len(table._all_rows) if table is not None else 0
            if screen.error is not None:
                out["errors"][pane] = str(screen.error)
        await pilot.pause()
        # the same time with nothing to do: the machine's own scheduling noise on the ticker
        ticker.start()
        await asyncio.sleep(1.0)
        out["stall_idle_max_s"] = ticker.stop()
        # the refresh the app makes: the pane on screen reloads (auto-refresh or `r`; hidden panes never refresh)
        out["stall_pane_s"], out["refresh_pane_s"], out["callback_pane_s"] = {}, {}, {}
        for pane in ("overview", *KEYS):
            key(app, KEYS.get(pane, "1"), KEYS.get(pane, "1"))
            await until(lambda: app.screen is screens[pane], frame=False)
            screen = screens[pane]
            await until(lambda: screen._fetch is None or screen._fetch.is_finished, frame=False)  # its resume reload
            await pilot.pause()
            before = screen.data
            ticker.start()
            monitor.start()
            start = time.perf_counter()
            screen.reload()
            out["refresh_pane_s"][pane] = await until(  # new data may paint the same screen: no frame to wait for
                lambda: screen.data is not before or screen.error is not None, frame=False) - start
            await pilot.pause()
            out["stall_pane_s"][pane] = ticker.stop()
            out["callback_pane_s"][pane] = monitor.stop()
        out["stall_max_s"] = max(out["stall_pane_s"].values())
        mark("refresh of each pane")
        # filter keystrokes
        for pane, text in FILTER.items():
            await pilot.press(KEYS[pane])
            await pilot.pause()
            table = main_table(app.screen)
            if table is None or not table.row_count:
                continue
            table.focus()
            await pilot.press("slash")
            await pilot.pause()
            times = []
            rendered: list[float] = []
            original = table._render_rows

            def render_rows(keep: Any, original: Any = original) -> None:
                original(keep)
                rendered.append(time.perf_counter())

            table._render_rows = render_rows  # this instance only: note when the filtered rows are in
            bar = app.screen.query_one("#filter-bar")
            if not bar.has_focus:
                out["errors"][f"{pane} filter"] = "the filter bar did not take the focus"
                continue
            for ch in text:
                start = time.perf_counter()
                key(app, ch, ch)
                times.append(await until(lambda: bool(rendered) and rendered[-1] > start, timeout=10) - start)
                await pilot.pause()
            out["filter_s"][pane] = times
            out["rows"][f"{pane} after filter {text!r}"] = table.row_count
            await pilot.press("escape")
            await pilot.pause()
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # stress, beyond what the app does by itself: every pane reloads at once
        await pilot.press("1")
        await pilot.pause()
        await until(lambda: all(s._fetch is None or s._fetch.is_finished for s in screens.values()), frame=False)
        before_all = {pane: s.data for pane, s in screens.items()}
        ticker.start()
        monitor.start()
        start = time.perf_counter()
        for screen in screens.values():
            screen.reload()
        done = await until(lambda: all(s.data is not before_all[p] or s.error is not None
                                       for p, s in screens.items()), frame=False)  # hidden panes do not paint
        out["refresh_s"] = done - start
        out["stall_all_max_s"] = ticker.stop()
        out["callback_all_s"] = monitor.stop()
        await pilot.pause()
        mark("refresh of all panes at once")
        out["peak_rss_all_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        app.exit()
    return out


def main() -> None:
    result = asyncio.run(run(sys.argv[1], sys.argv[2]))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
