"""Capture the planted lab to a bundle, stop the lab, replay: the same findings, no secrets, no network.

The reference is what the capture itself computed (`results` in the bundle): two live runs never agree
byte for byte (PING latency, server uptime, the ACL LOG entries the flows' own AUTH probes add), so the
only "live JSON" a replay can equal is the one computed from the same answers at the same instant.
A separate live `check` before the capture must agree with it on every verdict (status and code).
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from tests.labtools import run_cli, run_cli_json

PLANTED = {
    "dragonfly": ("ai-system/litellm", "ai-system/langfuse", "default/appcache", "identity/keycloak", "automation/n8n"),
    "cnpg": ("ai-system/litellm", "ai-system/langfuse", "ai-system/obot", "ai-system/analytics-worker",
             "identity/keycloak"),
    "rustfs": ("ai-system/litellm", "ai-system/langfuse", "ai-system/obot", "monitoring/loki", "cache/dragonfly"),
}
PANES = ("overview", "dragonfly", "cnpg", "rustfs", "alerts", "triage")


def _verdicts(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(f["system"], f["subject"], f["id"], f["status"], f["code"]) for f in doc["findings"]]


@pytest.fixture(scope="module")
def captured(scratch_lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Capture the scratch lab (planted faults) through the CLI, then stop the lab: nothing answers after."""
    from lab import manager

    state = scratch_lab
    path = tmp_path_factory.mktemp("bundle") / "incident.json.gz"
    live_rc, live = run_cli_json(state, "check")
    proc = run_cli(state, "capture", "-o", str(path), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "secrets replaced" in proc.stdout
    manager.down(Path(state["dir"]))
    doc = json.loads(gzip.decompress(path.read_bytes()))
    return {"path": path, "doc": doc, "live": live, "live_rc": live_rc, "state": state}


def _replay_env(captured: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    """A config whose endpoints are closed ports and a kubeconfig that does not exist: no way to the lab."""
    import os

    config = tmp_path / "config.toml"
    config.write_text('timeout = 1.0\nkubeconfig = "/nonexistent/kubeconfig"\n[endpoints]\n'
                      '"dragonfly.cache.svc:6379" = "127.0.0.1:9"\n"rustfs-svc.storage.svc:9000" = "127.0.0.1:9"\n')
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "CLUSTERDECK_LAB_DIR")}
    env.update(CLUSTERDECK_CONFIG=str(config), KUBECONFIG="/nonexistent/kubeconfig",
               CLUSTERDECK_LAB_DIR=str(tmp_path / "no-lab"))
    return env


def _cli(env: dict[str, str], *args: str) -> Any:
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "tui.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_capture_covers_every_planted_case(captured):
    triage = captured["doc"]["results"]["triage"]
    for flow, apps in PLANTED.items():
        for app in apps:
            assert app in triage.get(flow, {}), (flow, app, sorted(triage.get(flow, {})))
            assert "steps" in triage[flow][app], triage[flow][app]
    assert captured["doc"]["notes"] == [], captured["doc"]["notes"]


def test_capture_agrees_with_a_live_check(captured):
    """Same verdicts as a plain `check` run just before (alerts aside: a fresh lab's Prometheus is still
    scraping its first samples, so rules and alerts change state from one minute to the next)."""
    def steady(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [v for v in _verdicts(doc) if v[0] != "alerts"]

    assert steady(captured["doc"]["results"]["check"]) == steady(captured["live"])
    assert len(steady(captured["live"])) > 100


def test_replayed_check_is_identical(captured, tmp_path):
    env = _replay_env(captured, tmp_path)
    proc = _cli(env, "check", "--from", str(captured["path"]), "--output", "json")
    assert json.loads(proc.stdout) == captured["doc"]["results"]["check"]
    assert proc.returncode == captured["live_rc"] == 1, proc.stderr  # planted faults: failing findings


@pytest.mark.parametrize("flow,app", [(f, a) for f, apps in PLANTED.items() for a in apps])
def test_replayed_triage_is_identical(captured, tmp_path, flow, app):
    env = _replay_env(captured, tmp_path)
    proc = _cli(env, "triage", "--from", str(captured["path"]), flow, "--app", app, "--output", "json")
    want = captured["doc"]["results"]["triage"][flow][app]
    assert json.loads(proc.stdout) == want, proc.stderr
    assert proc.returncode == (1 if want["root_cause"] else 0), proc.stderr  # loki's s3:* is a warning


def test_bundle_holds_no_lab_secret(captured):
    text = gzip.decompress(captured["path"].read_bytes()).decode("utf-8")
    secrets = captured["state"]["_secrets"]
    assert len(secrets) >= 20
    for secret in secrets:
        for form in (secret, base64.b64encode(secret.encode()).decode(), base64.b64encode((secret + "\n").encode())
                     .decode()):
            assert form not in text, f"a lab secret ({secret[:3]}…) is in the bundle"
    assert captured["doc"]["secrets"] >= 15  # those in Secrets, the ACL source and URLs (not DB-only passwords)


def test_replay_refuses_writes(captured, tmp_path):
    env = _replay_env(captured, tmp_path)
    proc = _cli(env, "triage", "--from", str(captured["path"]), "--allow-writes", "rustfs", "--app",
                "ai-system/litellm")
    assert proc.returncode == 2 and "replaying a bundle: writes are impossible" in proc.stderr
    from checks.errors import SourceError
    from checks.replay import open_bundle

    conns = open_bundle(captured["path"])
    try:
        s3 = conns.s3("http://127.0.0.1:1", "AKIA", "x")
        with pytest.raises(SourceError, match="writes are impossible"):
            s3.put_object("litellm", "probe")
        with pytest.raises(SourceError, match="not in the bundle"):
            s3.list_buckets()
    finally:
        conns.close()


def test_newer_and_tampered_bundles_are_refused(captured, tmp_path):
    env = _replay_env(captured, tmp_path)
    doc = captured["doc"]
    newer = tmp_path / "newer.json.gz"
    newer.write_bytes(gzip.compress(json.dumps({**doc, "version": 99}).encode()))
    proc = _cli(env, "check", "--from", str(newer))
    assert proc.returncode == 2
    assert "bundle version 99 is newer than this clusterdeck supports (1)" in proc.stderr
    older = tmp_path / "older.json"
    older.write_text(json.dumps({**doc, "version": 0}))
    proc = _cli(env, "check", "--from", str(older))
    assert proc.returncode == 2 and "bundle version 0 is older" in proc.stderr
    tampered = json.loads(json.dumps(doc))
    call = next(c for c in tampered["calls"] if isinstance(c.get("result"), dict) and "$dc" in c["result"])
    call["result"]["$dc"] = "os.system"
    bad = tmp_path / "tampered.json.gz"
    bad.write_bytes(gzip.compress(json.dumps(tampered).encode()))
    proc = _cli(env, "check", "--from", str(bad))
    assert proc.returncode == 2
    assert "'os.system', which is not an allowed bundle type" in proc.stderr


async def test_tui_replays_every_pane(captured):
    from checks.replay import open_bundle
    from tui.app import make_app

    conns = open_bundle(captured["path"])
    app = make_app(conns.config, connections=conns, context_name=conns.bundle.context)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            for i, pane in enumerate(PANES, start=1):
                await pilot.press(str(i))
                await pilot.pause()
                await app.workers.wait_for_complete()
                await pilot.pause()
                assert app.current_mode == pane
                screen = app.screen
                assert screen.error is None, f"{pane}: {screen.error}"
                assert screen.data, pane
                header = str(screen.query_one("#deck-header").render())
                assert f"REPLAY {captured['path'].name} captured {captured['doc']['captured_at'][:10]}" in header
            assert app.allow_writes is False
            from tui.writes import app_gate

            gate = app_gate(app)
            assert not gate.allowed and gate.reason == "replaying a bundle: writes are impossible"
            shot = app.export_screenshot()
            for secret in captured["state"]["_secrets"]:
                assert secret not in shot
    finally:
        conns.close()
