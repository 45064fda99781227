"""Helpers for the fault tests: break one part of a scratch lab, drive the TUI with the pilot while it is
broken, read what a pane shows, run the CLI with a short timeout, and bring the lab back.

Faults are real: servers are killed / SIGSTOPped / restarted (lab.manager), the lab's Kubernetes API and
S3 answer 403/500/slowly through its faults.json, and admin Secrets are patched through the lab's API.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.widgets import DataTable, Static

from tui.widgets.table import FilterableTable

from tests.labtools import lab_config, run_cli

PANE_KEYS = {"overview": "1", "dragonfly": "2", "cnpg": "3", "rustfs": "4", "alerts": "5", "triage": "6"}
TIMEOUT = 2.0
"""Config.timeout of every fault test: the error must show within TIMEOUT + 1 s."""
BOUND = TIMEOUT + 1.0


def fast_config(state: dict[str, Any], timeout: float = TIMEOUT) -> Any:
    return lab_config(state).with_overrides(timeout=timeout, refresh_interval=0.0)


def fast_config_file(state: dict[str, Any], directory: Path, timeout: float = TIMEOUT) -> str:
    """The lab's config.toml with a short timeout, for the CLI (`--config`)."""
    text = Path(state["config"]).read_text()
    lines = [f"timeout = {timeout}" if line.startswith("timeout =") else line for line in text.splitlines()]
    path = directory / f"fast-{timeout:g}.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


# --- reading the TUI -----------------------------------------------------------------------------

def pane_text(screen: Any) -> str:
    """Everything a screen shows as plain text: Static contents and every DataTable row."""
    out: list[str] = []
    for widget in screen.query("*"):
        if not widget.display:
            continue
        if isinstance(widget, (DataTable, FilterableTable)):
            for i in range(widget.row_count):
                out.append(" | ".join(getattr(c, "plain", str(c)) for c in widget.get_row_at(i)))
        elif isinstance(widget, Static):
            content = widget.content
            out.append(getattr(content, "plain", str(content)))
    return "\n".join(line for line in out if line.strip())


def error_box(screen: Any) -> str:
    """The text of the pane's `#pane-error` box, '' while it is hidden."""
    box = screen.query_one("#pane-error", Static)
    return getattr(box.content, "plain", str(box.content)) if box.display else ""


def fetching(app: Any, screen: Any) -> bool:
    """A pane-fetch worker of `screen` is still running."""
    return any(w.group == "pane-fetch" and w.node is screen and not w.is_finished for w in app.workers)


async def wait_for(pilot: Any, check: Callable[[], Any], timeout: float, what: str) -> float:
    """Poll `check` (pausing the pilot) until it is truthy; seconds it took. AssertionError at the deadline."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        if check():
            return time.monotonic() - start
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout:g}s: {what}")
        await pilot.pause(0.05)


async def open_pane(pilot: Any, pane: str, timeout: float = 30.0) -> Any:
    """Switch to a pane with its digit and wait until its first load finished; the screen."""
    app = pilot.app
    await pilot.press(PANE_KEYS[pane])
    await wait_for(pilot, lambda: app.current_mode == pane, 2.0, f"digit {PANE_KEYS[pane]} switches to {pane}")
    screen = app.screen
    await wait_for(pilot, lambda: screen._loaded_once and not fetching(app, screen), timeout, f"{pane} loads")
    await pilot.pause()
    return screen


async def reload_pane(pilot: Any, screen: Any) -> float:
    """Press r on the current pane; monotonic time of the press (before the key is sent)."""
    t0 = time.monotonic()
    await pilot.press("r")
    return t0


async def assert_healthy(pilot: Any, pane: str, timeout: float = 30.0) -> Any:
    """The pane loads (or reloads) without an error box."""
    screen = await open_pane(pilot, pane, timeout)
    if screen.error is not None:
        await reload_pane(pilot, screen)
        await wait_for(pilot, lambda: screen.error is None and not fetching(pilot.app, screen), timeout,
                       f"{pane} reloads without error (last: {screen.error})")
    assert screen.error is None, f"{pane}: {screen.error}"
    assert error_box(screen) == "", pane
    return screen


# --- the CLI ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CliRun:
    code: int
    stdout: str
    stderr: str


def cli(state: dict[str, Any], config: str, *args: str) -> CliRun:
    """`clusterdeck <args>` against the lab with the short-timeout config (inserted after the command)."""
    command, *rest = args
    proc = run_cli(state, command, "--config", config, *rest, timeout=120)
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


def assert_cli_could_not_run(run: CliRun, needle: str) -> None:
    """Exit 2, the cause on stderr, no traceback."""
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout, run.stderr
    assert run.code == 2, f"exit {run.code}\nstderr={run.stderr}\nstdout={run.stdout[-2000:]}"
    assert needle in run.stderr, f"{needle!r} not in stderr:\n{run.stderr}"


# --- breaking the lab ------------------------------------------------------------------------------

@contextmanager
def server_stopped(state: dict[str, Any], name: str) -> Iterator[None]:
    from lab import manager

    manager.stop_server(state, name)
    try:
        yield
    finally:
        manager.restart_server(state, name)


@contextmanager
def server_frozen(state: dict[str, Any], name: str) -> Iterator[None]:
    from lab import manager

    manager.freeze_server(state, name)
    try:
        yield
    finally:
        manager.thaw_server(state, name)


@contextmanager
def api_fault(state: dict[str, Any], **faults: Any) -> Iterator[None]:
    """faults.json of the lab daemon: kube=403|500|slow, s3=500|hang, kube_match/s3_match=path substring."""
    from lab.faults import clear_faults, write_faults

    write_faults(Path(state["dir"]), **faults)
    try:
        yield
    finally:
        clear_faults(Path(state["dir"]))


@contextmanager
def secret_value(state: dict[str, Any], namespace: str, name: str, key: str, value: str) -> Iterator[None]:
    """Patch one key of a Secret in the lab's Kubernetes API; the old value is put back afterwards."""
    from kubernetes import client

    from lab import access

    api = access.kube_client(state)
    core = client.CoreV1Api(api)
    old = core.read_namespaced_secret(name, namespace).data[key]
    core.patch_namespaced_secret(name, namespace, {"data": {key: base64.b64encode(value.encode()).decode()}})
    try:
        yield
    finally:
        core.patch_namespaced_secret(name, namespace, {"data": {key: old}})
        api.close()


# --- the scenario every fault goes through -----------------------------------------------------------

@dataclass(frozen=True)
class FaultCase:
    """What one fault must look like in the TUI."""

    pane: str
    """The affected pane."""
    expect: str
    """Regex the affected pane must show (in its error box, or anywhere in it when `in_box` is False)."""
    in_box: bool = True
    """The pane cannot load at all: `screen.error` is set and `#pane-error` shows the message."""
    hang: bool = False
    """The fault makes calls wait out the timeout (a hung server) rather than fail at once."""
    others: tuple[str, ...] = ()
    """Panes that must keep working while the fault lasts."""
    overview: tuple[str, ...] = ()
    """Overview rows (system prefixes) that must turn `error` and show `row`; every other row must pass."""
    row: str = ""
    """Regex for those Overview rows' detail (default: `expect`)."""


def pane_shows(screen: Any, pattern: str) -> bool:
    """The pane shows `pattern` in its error box or anywhere in its content."""
    import re

    return re.search(pattern, error_box(screen)) is not None or re.search(pattern, pane_text(screen)) is not None


def shows(screen: Any, case: FaultCase) -> bool:
    import re

    if case.in_box:  # "<system>: <title> — <message>" in the box
        return screen.error is not None and re.search(case.expect, error_box(screen)) is not None
    return re.search(case.expect, pane_text(screen)) is not None


async def fault_scenario(app: Any, pilot: Any, case: FaultCase, fault: Callable[[], Any]) -> dict[str, float]:
    """Baseline, fault (message within the bound, keys handled, other panes and Overview rows), recovery.
    Returns timings for the report of a failure."""
    from tui.dialogs import HelpScreen

    timings: dict[str, float] = {}
    screen = await assert_healthy(pilot, case.pane)
    with fault():
        t0 = await reload_pane(pilot, screen)
        if case.hang:  # the fetch now waits on the hung server: keys must still work at once
            assert fetching(app, screen), "the reload should be waiting on the hung server"
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen), "? is handled while the pane's fetch hangs"
            assert fetching(app, screen), "help opened before the fetch ended"
            await pilot.press("escape")
            assert app.screen is screen
        left = BOUND - (time.monotonic() - t0)
        await wait_for(pilot, lambda: shows(screen, case), max(left, 0.0),
                       f"{case.pane} shows /{case.expect}/ within {BOUND:g}s; it shows:\n"
                       f"error={screen.error!r}\n{pane_text(screen)[:3000]}")
        timings["message"] = time.monotonic() - t0
        assert "Traceback" not in pane_text(screen)
        for other in case.others:
            if case.hang:  # (re)load the hung pane, then leave it at once (the fetch may still wait, or fail
                # fast: right after a timeout the sources do not wait again for the same server)
                await pilot.press("r" if app.current_mode == case.pane else PANE_KEYS[case.pane])
                t1 = time.monotonic()
                await pilot.press(PANE_KEYS[other])
                assert app.current_mode == other, f"digit {PANE_KEYS[other]} handled while {case.pane} hangs"
                timings[f"switch to {other}"] = time.monotonic() - t1
            await assert_healthy(pilot, other)
        if case.overview:
            await check_overview(pilot, case)
    await recover(pilot, case)
    return timings


async def check_overview(pilot: Any, case: FaultCase) -> None:
    """The Overview's rows: the broken system's row says why; the other rows pass (probes are concurrent)."""
    import re

    t0 = time.monotonic()
    screen = await open_pane(pilot, "overview", timeout=BOUND + 5)
    elapsed = time.monotonic() - t0
    assert screen.error is None, screen.error
    rows = {s.system: s for s in screen.data.systems}
    broken = [s for name, s in rows.items() if name.split()[0] in case.overview or name in case.overview]
    assert broken, rows
    for s in broken:
        assert s.status == "error" and re.search(case.row or case.expect, s.detail), s
    if "kubernetes" not in case.overview:
        for name, s in rows.items():
            if s not in broken:
                assert s.status == "pass", f"{name} should keep passing while {case.overview} is broken: {s}"
    # one hung service does not hold the others back: the Overview needs one timeout, not one per system
    assert elapsed < BOUND + 3, f"Overview took {elapsed:.1f}s"


async def recover(pilot: Any, case: FaultCase, timeout: float = 40.0) -> Any:
    """After the fault: the pane reloads cleanly (r until it does: a fail-fast window may still be open, a
    restarted server may need a moment) and no longer shows the fault's message."""
    app = pilot.app
    screen = await open_pane(pilot, case.pane, timeout)
    deadline = time.monotonic() + timeout
    while True:
        await reload_pane(pilot, screen)
        await wait_for(pilot, lambda: screen._loaded_once and not fetching(app, screen), TIMEOUT * 4 + 5,
                       f"{case.pane} reload ends")
        await pilot.pause()
        if screen.error is None and not error_box(screen) and not shows(screen, case):
            return screen
        assert time.monotonic() < deadline, f"{case.pane} did not recover: {screen.error}\n{pane_text(screen)[:2000]}"
        await pilot.pause(0.5)
