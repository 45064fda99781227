"""The Triage pane: consumers from the lab, a flow run live, root cause, evidence, copyable fix."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from checks.config import Config
from checks.model import FlowResult, Step
from tests.labtools import lab_config
from tui.app import make_app


def _no_secret(text: str, secrets: list[str]) -> None:
    for s in secrets:
        assert s not in text and base64.b64encode(s.encode()).decode() not in text


@asynccontextmanager
async def _triage(lab: Any) -> AsyncIterator[tuple[Any, Any, Any]]:
    """The app on the lab, on the Triage pane with its consumers loaded: (app, pilot, screen)."""
    app = make_app(lab_config(lab).with_overrides(refresh_interval=0.0))
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("6")
        await app.workers.wait_for_complete()
        await pilot.pause()
        yield app, pilot, app.screen


async def _run(pilot: Any, fields: dict[str, str]) -> None:
    """Fill the Triage form's fields (selector -> value), run the flow with ctrl+r and wait for it."""
    for selector, value in fields.items():
        pilot.app.screen.query_one(selector).value = value
    await pilot.press("ctrl+r")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_pick_consumer_and_run_all_its_flows(lab):
    async with _triage(lab) as (app, pilot, screen):
        targets = screen.query_one("#targets")
        assert "ai-system/litellm" in targets.visible_keys()
        assert "cache/dragonfly" in targets.visible_keys()  # the StatefulSet with the backup S3 keys
        targets.move_cursor(row=targets.visible_keys().index("ai-system/litellm"))
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        codes = {s.code for s in screen._steps if s.status == "fail"}
        assert "DF_PASSWORD_MISMATCH" in codes and "CNPG_RELOAD_LABEL_MISSING" in codes
        title = str(screen.query_one("#flow-title").render())
        assert "DF_PASSWORD_MISMATCH" in title and "S3_MISSING_BUCKET_ACTION" in title
        detail = str(screen.query_one("#step-detail").render())
        assert "Fix" in detail
        await pilot.press("c")  # copy the highlighted step's fix
        await pilot.pause()
        assert app.clipboard and app.clipboard == screen._steps[screen.query_one("#steps").cursor_row].fix
        _no_secret(app.export_screenshot(), lab["_secrets"])


async def test_pasted_error_picks_the_flow(lab):
    async with _triage(lab) as (app, pilot, screen):
        await _run(pilot, {"#error-text": 'FATAL:  password authentication failed for user "obot"',
                           "#app-input": "ai-system/obot"})
        assert screen.result is not None and screen.result.flow == "cnpg"
        assert screen.result.root_cause.code == "CNPG_PASSWORD_EXPIRED"


async def test_the_identity_box_counts_with_the_flow_on_auto(lab):
    """A WRONGPASS (no user in it) with `litellm` in the identity box: the flow the error picks checks litellm,
    and the app that authenticates as it, not the user the server refused last."""
    async with _triage(lab) as (app, pilot, screen):
        await _run(pilot, {"#error-text": "WRONGPASS invalid username-password pair", "#ident-input": "litellm"})
        assert screen.result.subject["user"] == "litellm" and screen.result.subject["app"] == "ai-system/litellm"
        assert screen.result.root_cause.code == "DF_PASSWORD_MISMATCH"
        assert "dragonfly ai-system/litellm: root cause DF_PASSWORD_MISMATCH" in str(
            screen.query_one("#flow-title").render())


async def test_a_flow_chosen_with_nothing_to_check_says_what_to_name(lab):
    async with _triage(lab) as (app, pilot, screen):
        await _run(pilot, {"#flow-select": "cnpg"})
        title = str(screen.query_one("#flow-title").render())
        assert "Nothing to triage" in title and "name the role" in title and "or the app" in title


async def test_error_pasted_on_arrival_lands_in_the_error_box(lab):
    """Triage opens with the consumers table focused; a pasted error goes to the error box (the table would
    drop it), then Enter runs the flow it names."""
    from textual import events

    async with _triage(lab) as (app, pilot, screen):
        assert app.focused is screen.query_one("#targets")
        app.focused.post_message(events.Paste('WRONGPASS invalid username-password pair\nor user is disabled.'))
        await pilot.pause()
        box = screen.query_one("#error-text")
        assert box.value == "WRONGPASS invalid username-password pair or user is disabled." and app.focused is box
        screen.query_one("#app-input").value = "ai-system/litellm"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.result is not None and screen.result.flow == "dragonfly"


async def test_letters_typed_on_arrival_start_the_error_text(lab):
    """Typed (not pasted) on arrival, an error's letters go to the error box, not to key bindings: `p` pauses
    nothing here and `c` has nothing to copy yet, so "password…" is text; the pane's other keys still work."""
    from textual import events

    async with _triage(lab) as (app, pilot, screen):
        assert app.focused is screen.query_one("#targets")
        await pilot.press(*"password")
        await pilot.pause()
        box = screen.query_one("#error-text")
        assert box.value == "password" and app.focused is box and not screen.paused
        box.value = ""
        screen.query_one("#targets").focus()
        await pilot.pause()
        await pilot.press(*"connection")
        await pilot.pause()
        assert box.value == "connection", "c copies a fix only once a flow ran"
        screen.query_one("#targets").focus()
        await pilot.pause()
        await pilot.press("slash")
        await pilot.pause()
        assert app.focused is screen.query_one("#filter-bar"), "a key bound on the pane keeps its binding"
        await pilot.press("escape")
        screen.query_one("#steps").focus()
        await pilot.pause()
        await pilot.press(*"WRONGPASS")
        await pilot.pause()
        assert box.value == "connectionWRONGPASS", "typed on the steps table too"
        box.value = ""
        screen.query_one("#targets").focus()
        await pilot.pause()
        for char in "password for obot":  # sent at once (tmux, a fast typist): all queued before any is handled
            app.post_message(events.Key("space" if char == " " else char, char))
        await pilot.pause()
        assert box.value == "password for obot" and not screen.paused, "r and c of one burst are text too"


async def test_another_error_after_a_consumer_run_drops_that_consumer(lab):
    """A consumer picked, its flows run; then an error pasted for another user: the app field held the last
    run's consumer and is cleared, so that the flow does not judge that workload against the error's role.
    Picking a consumer after an error's run drops the error in turn (its flows, not that error's)."""
    from textual import events

    async with _triage(lab) as (app, pilot, screen):
        targets = screen.query_one("#targets")
        targets.move_cursor(row=targets.visible_keys().index("ai-system/langfuse"))
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.query_one("#app-input").value == "ai-system/langfuse"
        targets.focus()
        await pilot.pause()
        targets.post_message(events.Paste('FATAL:  password authentication failed for user "obot"'))
        await pilot.pause()
        assert screen.query_one("#app-input").value == "", "the last run's consumer is not this error's app"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        result = screen.result
        assert result is not None and result.flow == "cnpg" and result.subject.get("role") == "obot"
        assert "langfuse" not in str(result.subject)
        assert not any(s.code == "CNPG_APP_USES_OTHER_SECRET" for s in result.steps)
        targets.move_cursor(row=targets.visible_keys().index("ai-system/litellm"))
        targets.focus()
        await pilot.pause()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.query_one("#error-text").value == ""
        assert "DF_PASSWORD_MISMATCH" in str(screen.query_one("#flow-title").render()), "litellm's own flows ran"
        box = screen.query_one("#error-text")
        box.value = 'FATAL:  password authentication failed for user "obot"'
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        targets.focus()
        await pilot.pause()
        await pilot.press(*"NOAUTH")
        await pilot.pause()
        assert box.value == "NOAUTH", "letters typed after a run start another error, not appended to that one"


async def test_another_error_after_a_chosen_flow_runs_the_flow_it_names(lab):
    """A role's `t` on the CNPG pane runs the CNPG flow (the flow chosen, the app filled in); an error pasted
    after it names its own flow: the choice goes back to auto, else a WRONGPASS ran the CNPG flow ("nothing
    to triage")."""
    from textual import events

    async with _triage(lab) as (app, pilot, screen):
        screen.focus_on(flow="cnpg", app="ai-system/langfuse", run=True)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.result is not None and screen.result.flow == "cnpg"
        screen.query_one("#targets").post_message(events.Paste("WRONGPASS invalid username-password pair"))
        await pilot.pause()
        assert screen.query_one("#flow-select").value == "auto" and screen.query_one("#app-input").value == ""
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.result.flow == "dragonfly"


def _finished_flow() -> FlowResult:
    steps = (
        Step("D1", "server reachable", "pass"),
        Step("D2", "app credentials located", "pass",
             evidence=("REDIS_USERNAME=litellm (literal)", "password: env LITELLM_REDIS_PASSWORD ← secret ai-system/litellm-env")),
        Step("D3", "user exists and is on", "pass"),
        Step("D4", "password accepted", "fail", "DF_PASSWORD_MISMATCH",
             ("AUTH litellm with the app's password (sha256:5d41402a) → WRONGPASS",
              "live ACL hash sha256:e3b0c442 = ACL source hash: the app Secret is the stale side"),
             "kubectl -n ai-system edit secret litellm-env   # set key LITELLM_REDIS_PASSWORD to the live ACL's\n"
             "kubectl -n ai-system rollout restart deploy/litellm"),
        Step("D5", "key prefix allowed", "pass"),
        Step("D6", "commands allowed", "pass"),
        Step("D7", "recent denials", "warn", evidence=("2 AUTH denials for litellm in ACL LOG, last 3m ago",)),
        Step("D8", "ACL source matches live", "pass"),
        Step("D9", "app restarted after rotation", "pass"),
        Step("D10", "network path open", "pass"),
        Step("D11", "memory headroom", "pass"),
    )
    return FlowResult("dragonfly", {"user": "litellm", "app": "ai-system/litellm"}, steps)


def test_snapshot_finished_flow(snap_compare):
    app = make_app(Config(refresh_interval=0), context_name="clusterdeck-lab", static_data={"triage": []})

    async def run_before(pilot):
        await pilot.press("6")
        await pilot.app.workers.wait_for_complete()
        pilot.app.screen.show_result(_finished_flow())
        await pilot.pause()

    assert snap_compare(app, terminal_size=(150, 42), run_before=run_before)
