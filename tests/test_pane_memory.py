"""A pane's memory across refreshes: the data a refresh replaces is freed at once (reference counting), not
when the cyclic collector gets round to it (screens/base.py `_Handoff`)."""

from __future__ import annotations

import dataclasses
import gc
import weakref

from checks.config import Config
from tests.test_app_shell import _overview
from tui.app import make_app


async def test_a_refresh_frees_the_previous_data_without_the_cyclic_collector():
    """A finished fetch Worker lives until a full collection (it is in reference cycles), and the first load's
    worker is frozen by gcpolicy: what it returned must not stay reachable from it."""
    first = _overview()
    static = {"overview": first}
    app = make_app(Config(refresh_interval=0), context_name="clusterdeck-lab", static_data=static)
    enabled = gc.isenabled()
    async with app.run_test(size=(140, 34)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert screen.data is first
        gone = weakref.ref(first)
        gc.disable()  # only reference counting from here: the old Worker objects stay around
        try:
            second = dataclasses.replace(first, context="clusterdeck-lab-2")
            static["overview"] = second
            del first
            screen.reload()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert screen.data is second
            assert gone() is None, [type(r).__name__ for r in gc.get_referrers(gone())]
            del second
        finally:
            if enabled:
                gc.enable()
