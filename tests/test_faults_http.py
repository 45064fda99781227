"""Faults injected per request by the lab daemon (faults.json): S3 answering 500 or hanging, the Kubernetes
API answering 403, 500 or too slowly. Same promises as tests/test_faults_services.py: a clear message in
the pane within the timeout + 1 s, keys handled meanwhile, other panes / Overview rows unaffected where
they do not depend on the broken API, recovery, and exit 2 with the same message on the command line.

Every test breaks the module's own `scratch_lab` and repairs it before it ends.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.faultkit import (BOUND, PANE_KEYS, TIMEOUT, FaultCase, api_fault, assert_cli_could_not_run,
                            assert_healthy, cli, fast_config, fast_config_file, fault_scenario, fetching,
                            pane_shows, pane_text, recover, secret_value, wait_for)
from tui.app import make_app
from tui.dialogs import HelpScreen

pytestmark = pytest.mark.lab
PANES = tuple(PANE_KEYS)


@pytest.fixture(scope="module")
def fast_cli(scratch_lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> str:
    return fast_config_file(scratch_lab, tmp_path_factory.mktemp("faults-http"))


async def _run(state: dict[str, Any], case: FaultCase, fault: Any) -> None:
    app = make_app(fast_config(state))
    async with app.run_test(size=(160, 50)) as pilot:
        await fault_scenario(app, pilot, case, fault)


def _s3_url(state: dict[str, Any]) -> str:
    return state["s3"]["url"]


async def test_s3_answers_500(scratch_lab: dict[str, Any], fast_cli: str) -> None:
    # the RustFS pane still opens (names come from the cluster); it says what the S3 API answered
    case = FaultCase("rustfs", r"ListBuckets with the admin keys: InternalError", in_box=False,
                     others=("dragonfly", "cnpg", "alerts"), overview=("rustfs",), row=r"InternalError")
    await _run(scratch_lab, case, lambda: api_fault(scratch_lab, s3="500"))
    with api_fault(scratch_lab, s3="500"):
        triage = cli(scratch_lab, fast_cli, "triage", "rustfs", "--app", "ai-system/litellm")
        check = cli(scratch_lab, fast_cli, "check", "--service", "rustfs")
    assert_cli_could_not_run(triage, "InternalError (HTTP 500)")
    assert "rustfs flow stopped at R3" in triage.stderr
    assert_cli_could_not_run(check, "InternalError (HTTP 500)")


async def test_s3_hangs(scratch_lab: dict[str, Any], fast_cli: str) -> None:
    url = _s3_url(scratch_lab)
    # (the pane's own summary line; per-bucket detail rows that timed out are cached by the pane for a while)
    case = FaultCase("rustfs", rf"buckets: Timed out: {url} did not answer within {TIMEOUT:g}s", in_box=False,
                     hang=True, others=("dragonfly", "alerts"), overview=("rustfs",),
                     row=rf"{url} did not answer within {TIMEOUT:g}s")
    await _run(scratch_lab, case, lambda: api_fault(scratch_lab, s3="hang"))
    with api_fault(scratch_lab, s3="hang"):
        triage = cli(scratch_lab, fast_cli, "triage", "rustfs", "--app", "ai-system/litellm")
    assert_cli_could_not_run(triage, f"{url} did not answer within {TIMEOUT:g}s")


async def test_wrong_rustfs_admin_secret_key(scratch_lab: dict[str, Any], fast_cli: str) -> None:
    # the pane and the Overview say the admin keys are wrong; an app's flow still runs on the app's own keys
    case = FaultCase("rustfs", r"Wrong secret key: GET list-users: HTTP 403 SignatureDoesNotMatch", in_box=False,
                     others=("dragonfly",), overview=("rustfs",), row=r"SignatureDoesNotMatch")
    wrong = lambda: secret_value(scratch_lab, "storage", "rustfs-credentials", "RUSTFS_SECRET_KEY",  # noqa: E731
                                 "not-the-secret-key")
    await _run(scratch_lab, case, wrong)
    with wrong():
        triage = cli(scratch_lab, fast_cli, "triage", "rustfs", "--app", "ai-system/litellm")
    assert triage.code == 1 and "S3_MISSING_BUCKET_ACTION" in triage.stdout, triage.stderr  # the planted fault
    assert "Traceback" not in triage.stderr and "not-the-secret-key" not in triage.stdout + triage.stderr


async def _kube_fault_everywhere(state: dict[str, Any], pattern: str, hang: bool, **fault: Any) -> dict[str, float]:
    """Every pane needs the Kubernetes API: each one must say why within the bound, none may hang the UI,
    and each recovers once the API answers again."""
    app = make_app(fast_config(state))
    took: dict[str, float] = {}
    async with app.run_test(size=(160, 50)) as pilot:
        for pane in PANES:  # baseline: every pane built and loaded
            await assert_healthy(pilot, pane)
        with api_fault(state, **fault):
            for pane in PANES:
                t0 = time.monotonic()
                await pilot.press(PANE_KEYS[pane])  # coming back to a pane reloads it
                assert app.current_mode == pane
                screen = app.screen
                if hang and fetching(app, screen):
                    await pilot.press("question_mark")
                    assert isinstance(app.screen, HelpScreen), f"? handled while {pane} waits on the API"
                    await pilot.press("escape")
                left = BOUND - (time.monotonic() - t0)
                await wait_for(pilot, lambda: pane_shows(screen, pattern) and not fetching(app, screen),
                               max(left, 0.0), f"{pane} shows /{pattern}/:\nerror={screen.error!r}\n"
                               f"{pane_text(screen)[:2000]}")
                took[pane] = time.monotonic() - t0
                assert "Traceback" not in pane_text(screen)
        for pane in PANES:
            await recover(pilot, FaultCase(pane, pattern, in_box=False))
    return took


async def test_kube_api_forbidden(scratch_lab: dict[str, Any], fast_cli: str) -> None:
    pattern = r'needs RBAC verb "(get|list)" on "[a-z.]+"'
    await _kube_fault_everywhere(scratch_lab, pattern, False, kube="403")
    with api_fault(scratch_lab, kube="403"):
        check = cli(scratch_lab, fast_cli, "check")
        triage = cli(scratch_lab, fast_cli, "triage", "dragonfly", "--app", "ai-system/litellm")
    assert_cli_could_not_run(check, 'cannot list deployments.apps cluster-wide (needs RBAC verb "list" on '
                                    '"deployments.apps")')
    assert_cli_could_not_run(triage, 'cannot get secrets in namespace "cache" (needs RBAC verb "get" on "secrets")')


async def test_kube_api_500(scratch_lab: dict[str, Any], fast_cli: str) -> None:
    pattern = r"Kubernetes API answered HTTP 500 \(Internal Server Error\) to (get|list) "
    await _kube_fault_everywhere(scratch_lab, pattern, False, kube="500")
    with api_fault(scratch_lab, kube="500"):
        check = cli(scratch_lab, fast_cli, "check")
    assert_cli_could_not_run(check, "Kubernetes API answered HTTP 500 (Internal Server Error) to list")
    assert "etcdserver: request timed out" in check.stderr


async def test_kube_api_slow(scratch_lab: dict[str, Any], fast_cli: str) -> None:
    url = scratch_lab["kube"]["url"]
    pattern = rf"Kubernetes API at {url} did not answer within {TIMEOUT:g}s"
    await _kube_fault_everywhere(scratch_lab, pattern, True, kube="slow")
    with api_fault(scratch_lab, kube="slow"):
        check = cli(scratch_lab, fast_cli, "check")
        triage = cli(scratch_lab, fast_cli, "triage", "cnpg", "--app", "ai-system/litellm")
    assert_cli_could_not_run(check, f"Kubernetes API at {url} did not answer within {TIMEOUT:g}s")
    assert_cli_could_not_run(triage, f"Kubernetes API at {url} did not answer within {TIMEOUT:g}s")


def test_fail_fast_window_after_a_timeout() -> None:
    """The breaker behind "one hung server costs one timeout": only timeouts open it, for `window` seconds;
    an answer to a call sent after the timeout closes it, an answer to an older call does not."""
    from checks.errors import SourceError
    from checks.sources import breaker

    endpoint = f"test {time.monotonic_ns()}"
    hung = SourceError("s3", "Timed out", "http://x did not answer within 2s.", kind="timeout")
    sent_before = time.monotonic()
    breaker.failed(endpoint, hung, 5.0, sent_before)
    with pytest.raises(SourceError) as err:
        breaker.check(endpoint)
    assert (err.value.kind, err.value.title, err.value.message) == ("timeout", hung.title, hung.message)
    breaker.answered(endpoint, sent_before)  # sent before the timeout was seen: proves nothing
    with pytest.raises(SourceError):
        breaker.check(endpoint)
    breaker.answered(endpoint, time.monotonic())
    breaker.check(endpoint)  # closed
    breaker.failed(endpoint, hung, 0.2, time.monotonic())
    time.sleep(0.25)
    breaker.check(endpoint)  # the window is over: the next call tries the server again
    refused = SourceError("s3", "Cannot connect", "http://x refused the connection.", kind="unreachable")
    breaker.failed(endpoint, refused, 5.0, time.monotonic())
    breaker.check(endpoint)  # a refusal is instant anyway: no window


@pytest.mark.parametrize("fault", ["500", "slow"])
def test_overview_probes_the_api_live_while_its_lists_are_cached(scratch_lab: dict[str, Any], fault: str) -> None:
    """Lists read a moment ago by another pane are shared, but the Overview's `/version` probe is always asked:
    a visit right after the API stops answering says so."""
    from checks.connect import Connections
    from checks.overview import collect_overview

    conns = Connections(fast_config(scratch_lab))
    try:
        assert next(s for s in collect_overview(conns).systems if s.system == "kubernetes").status == "pass"
        with api_fault(scratch_lab, kube=fault):  # the lists above are still in the 2 s cache
            row = next(s for s in collect_overview(conns).systems if s.system == "kubernetes")
        assert row.status == "error", row
        assert ("HTTP 500" in row.detail) if fault == "500" else ("did not answer within" in row.detail)
    finally:
        conns.close()
