"""Faults of the real servers behind the panes: Redis killed or hung (SIGSTOP), PostgreSQL stopped,
Prometheus down, wrong admin passwords. For each: the affected pane says why within the timeout + 1 s,
keys keep working, the other panes and Overview rows keep working, the pane recovers once the server
is back, and the headless commands exit 2 with the same message (no traceback).

Every test breaks the module's own `scratch_lab` and repairs it before it ends.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.faultkit import (TIMEOUT, FaultCase, assert_cli_could_not_run, cli, fast_config,
                            fast_config_file, fault_scenario, pane_text, secret_value, server_frozen,
                            server_stopped, wait_for)
from tui.app import make_app
from tui.widgets.table import FilterableTable

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def fast_cli(scratch_lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> str:
    return fast_config_file(scratch_lab, tmp_path_factory.mktemp("faults-services"))


def _redis_address(state: dict[str, Any]) -> str:
    return f"{state['redis']['host']}:{state['redis']['port']}"


async def _run(state: dict[str, Any], case: FaultCase, fault: Any) -> dict[str, float]:
    app = make_app(fast_config(state))
    async with app.run_test(size=(160, 50)) as pilot:
        return await fault_scenario(app, pilot, case, fault)


async def test_redis_killed(scratch_lab: dict[str, Any], fast_cli: str) -> None:
    addr = _redis_address(scratch_lab)
    case = FaultCase("dragonfly", rf"{addr} refused the connection",
                     others=("cnpg", "rustfs", "alerts"), overview=("dragonfly",))
    with server_stopped(scratch_lab, "redis"):
        triage = cli(scratch_lab, fast_cli, "triage", "dragonfly", "--app", "ai-system/litellm")
        check = cli(scratch_lab, fast_cli, "check", "--service", "dragonfly")
    assert_cli_could_not_run(triage, f"{addr} refused the connection")
    assert "dragonfly flow stopped at D1" in triage.stderr and "DF_UNREACHABLE" in triage.stdout  # the report too
    assert_cli_could_not_run(check, f"{addr} refused the connection")
    await _run(scratch_lab, case, lambda: server_stopped(scratch_lab, "redis"))


async def test_redis_hung(scratch_lab: dict[str, Any], fast_cli: str) -> None:
    addr = _redis_address(scratch_lab)
    case = FaultCase("dragonfly", rf"{addr} did not answer within {TIMEOUT:g}s", hang=True,
                     others=("cnpg", "alerts"), overview=("dragonfly",))
    await _run(scratch_lab, case, lambda: server_frozen(scratch_lab, "redis"))
    with server_frozen(scratch_lab, "redis"):
        triage = cli(scratch_lab, fast_cli, "triage", "dragonfly", "--app", "ai-system/litellm")
    assert_cli_could_not_run(triage, f"{addr} did not answer within {TIMEOUT:g}s")


async def test_the_overview_shows_each_system_as_it_answers(scratch_lab: dict[str, Any]) -> None:
    """A hung Dragonfly is waited on up to the timeout (8 s here): meanwhile the first Overview shows the systems
    that answered, and Dragonfly as still being checked; then Dragonfly's error. Not a whole screen held back
    by the slowest service."""
    from checks.overview import CHECKING

    app = make_app(fast_config(scratch_lab, timeout=8.0))
    with server_frozen(scratch_lab, "redis"):
        async with app.run_test(size=(160, 50)) as pilot:
            screen = app.screen
            table = screen.query_one("#systems", FilterableTable)

            def status(system: str) -> str:
                keys = table.visible_keys()
                return table.get_row_at(keys.index(system))[1].plain if system in keys else ""

            await wait_for(pilot, lambda: "pass" in status("kubernetes") and CHECKING in status("dragonfly"), 30,
                           "kubernetes shown as passing while Dragonfly is still being checked")
            # Dragonfly has not answered, so the first load is not over (its 8 s are not up)
            assert not screen._loaded_once and "waiting for its answer" in pane_text(screen)
            await wait_for(pilot, lambda: screen._loaded_once, 30, "the Overview's first load ends")
            assert "error" in status("dragonfly") and not any(CHECKING in status(k) for k in table.visible_keys())


async def test_postgres_stopped(scratch_lab: dict[str, Any], fast_cli: str) -> None:
    addr = f"{scratch_lab['postgres']['host']}:{scratch_lab['postgres']['port']}"
    # CNPG still lists its clusters from the Kubernetes API: the pane loads and says the database is not readable
    case = FaultCase("cnpg", rf"{addr} refused the connection", in_box=False,
                     others=("dragonfly", "rustfs"), overview=("cnpg",))
    await _run(scratch_lab, case, lambda: server_stopped(scratch_lab, "postgres"))
    with server_stopped(scratch_lab, "postgres"):
        triage = cli(scratch_lab, fast_cli, "triage", "cnpg", "--app", "ai-system/litellm")
        check = cli(scratch_lab, fast_cli, "check", "--service", "cnpg")
    assert_cli_could_not_run(triage, f"{addr} refused the connection")
    assert_cli_could_not_run(check, f"{addr} refused the connection")


async def test_prometheus_down(scratch_lab: dict[str, Any], fast_cli: str) -> None:
    url = scratch_lab["prometheus"]["url"]
    # Alertmanager still answers: the pane shows its alerts and says why Prometheus is missing
    case = FaultCase("alerts", rf"Prometheus at {url} refused the connection", in_box=False,
                     others=("dragonfly", "cnpg"), overview=("prometheus",))
    await _run(scratch_lab, case, lambda: server_stopped(scratch_lab, "prometheus"))
    with server_stopped(scratch_lab, "prometheus"):
        check = cli(scratch_lab, fast_cli, "check", "--service", "alerts")
    assert_cli_could_not_run(check, f"Prometheus at {url} refused the connection")


async def test_wrong_dragonfly_admin_password(scratch_lab: dict[str, Any], fast_cli: str) -> None:
    case = FaultCase("dragonfly", r"admin password from Secret cache/dragonfly-auth rejected",
                     others=("cnpg",), overview=("dragonfly",))
    wrong = lambda: secret_value(scratch_lab, "cache", "dragonfly-auth", "password", "not-the-password")  # noqa: E731
    await _run(scratch_lab, case, wrong)
    with wrong():
        triage = cli(scratch_lab, fast_cli, "triage", "dragonfly", "--app", "ai-system/litellm")
    assert_cli_could_not_run(triage, "admin password from Secret cache/dragonfly-auth rejected")
    assert "not-the-password" not in triage.stdout + triage.stderr


async def test_wrong_postgres_superuser_password(scratch_lab: dict[str, Any], fast_cli: str) -> None:
    case = FaultCase("cnpg", r"credentials for 'postgres' from .* rejected",
                     in_box=False, others=("dragonfly",), overview=("cnpg ai-system/ai-postgres",))
    wrong = lambda: secret_value(scratch_lab, "ai-system", "ai-postgres-superuser", "password", "nope")  # noqa: E731
    await _run(scratch_lab, case, wrong)
    with wrong():
        triage = cli(scratch_lab, fast_cli, "triage", "cnpg", "--app", "ai-system/litellm")
    assert_cli_could_not_run(triage, "Admin password rejected")
