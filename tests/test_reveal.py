"""Revealing a secret: an explicit action (ctrl+s) on one field, a CNPG role's password, read from its Secret at
that moment, shown on screen for `reveal_seconds`, then the fingerprint again. The value is never on the pane's
data object (so never in JSON or a capture bundle), never in a notification or the clipboard."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from checks.config import Config
from tests.labtools import lab_config, lab_connections
from tui.app import make_app
from tui.widgets.reveal import SecretReveal

SIZE = (140, 45)
ROLE = "ai-system/ai-postgres/obot"
SECONDS = 1.0


def _app(lab: dict[str, Any], seconds: float = SECONDS) -> Any:
    return make_app(replace(lab_config(lab), refresh_interval=0, reveal_seconds=seconds),
                    connections=lab_connections(lab))


def _password(lab: dict[str, Any], role: str = "obot") -> str:
    from lab.access import plan_of

    return plan_of(lab)["pg"][role]["secret"]


async def _open_role(pilot: Any, key: str = ROLE) -> Any:
    await pilot.press("3")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    screen = pilot.app.screen
    screen.open_detail(key)
    await pilot.pause()
    assert screen.detail_key == key
    return screen


async def _reveal(pilot: Any) -> SecretReveal:
    await pilot.press("ctrl+s")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return pilot.app.screen.query_one("#detail-reveal", SecretReveal)


def _shown(widget: SecretReveal) -> str:
    return widget.content.plain


def _everywhere_but_the_screen(app: Any) -> str:
    """Where a revealed value must never go: the pane's data (as JSON: what a serialiser would write), the
    notifications, the clipboard."""
    from dataclasses import asdict

    data = app.screen.data
    return "\n".join([json.dumps(asdict(data), default=repr), repr(data), *(n.message for n in app._notifications),
                      app.clipboard or ""])


def _requests(lab: dict[str, Any], path: str) -> int:
    return Path(lab["logs"]["kube_requests"]).read_text().count(path)


@pytest.mark.lab
async def test_reveal_shows_the_password_for_a_while_then_the_fingerprint(lab: dict[str, Any]) -> None:
    password = _password(lab)
    app = _app(lab)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await _open_role(pilot)
        widget = screen.query_one("#detail-reveal", SecretReveal)
        masked = _shown(widget)
        assert "sha256:" in masked and "ctrl+s" in masked and password not in masked
        reads = _requests(lab, "GET /api/v1/namespaces/ai-system/secrets/obot-db ")
        widget = await _reveal(pilot)
        assert widget.revealed and password in _shown(widget), "the value shows after ctrl+s"
        assert password in app.export_screenshot().replace("&#160;", " ")
        assert _requests(lab, "GET /api/v1/namespaces/ai-system/secrets/obot-db ") > reads, "read on demand"
        assert password not in _everywhere_but_the_screen(app)
        await pilot.pause(SECONDS + 0.5)
        assert not widget.revealed and _shown(widget) == masked, "the fingerprint again after reveal_seconds"
        shot = app.export_screenshot()
        for form in (password, base64.b64encode(password.encode()).decode(), password[:12]):
            assert form not in shot and form not in _everywhere_but_the_screen(app)


@pytest.mark.lab
async def test_escape_and_leaving_hide_it_at_once(lab: dict[str, Any]) -> None:
    password = _password(lab)
    app = _app(lab, seconds=60)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await _open_role(pilot)
        widget = await _reveal(pilot)
        assert password in _shown(widget)
        await pilot.press("escape")  # first esc hides, the detail stays open
        await pilot.pause()
        assert not widget.revealed and password not in _shown(widget) and screen.detail_key == ROLE
        widget = await _reveal(pilot)
        assert password in _shown(widget)
        await pilot.press("4")  # another pane
        await pilot.pause()
        assert not widget.revealed and password not in _shown(widget)
        await pilot.press("3")
        await pilot.pause()
        assert password not in app.export_screenshot()
        widget = await _reveal(pilot)
        assert password in _shown(widget)
        screen.open_detail("ai-system/ai-postgres/litellm")  # another role: hidden, and its own fingerprint
        await pilot.pause()
        assert not widget.revealed and password not in _shown(widget) and "litellm-db" in _shown(widget)
        await pilot.press("escape")
        await pilot.pause()
        assert screen.detail_key is None
        await pilot.press("ctrl+s")  # not in the list: the action is off
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert password not in app.export_screenshot() and password not in _everywhere_but_the_screen(app)


@pytest.mark.lab
async def test_reveal_seconds_zero_turns_it_off(lab: dict[str, Any]) -> None:
    password = _password(lab)
    app = _app(lab, seconds=0)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await _open_role(pilot)
        widget = await _reveal(pilot)
        assert not widget.revealed and "reveal_seconds = 0" in _shown(widget)
        assert any("reveal_seconds = 0" in n.message for n in app._notifications)
        assert password not in app.export_screenshot() and screen.detail_key == ROLE


async def test_a_revealed_value_renders_literally_and_no_secret_needs_no_read() -> None:
    """Static data (no cluster): markup in a value stays text; a role without a Secret has nothing to reveal."""
    from tests.test_hostile import CLICK, assert_click_is_inert, assert_inert
    from tests.test_pane_cnpg import static_view

    view = static_view()
    app = make_app(Config(refresh_interval=0, reveal_seconds=30, kubeconfig="/nonexistent/reveal-test"),
                   static_data={"cnpg": view})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("3")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        other = next(r for c in view.clusters for r in c.others)
        screen.open_detail(other.key)
        await pilot.pause()
        widget = screen.query_one("#detail-reveal", SecretReveal)
        assert "no Secret" in _shown(widget)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not widget.revealed and any("no password Secret" in n.message for n in app._notifications)
        await pilot.press("escape")
        screen.open_detail("ai-system/ai-postgres/litellm")
        await pilot.pause()
        widget.reveal(f"{CLICK}\x1b[31m\x07", 30)
        await pilot.pause()
        assert_inert(app, CLICK)
        await assert_click_is_inert(pilot)
        assert CLICK not in _everywhere_but_the_screen(app)
