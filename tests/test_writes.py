"""The write path: WriteGate (refuse, confirm, audit), the R6w probe object and the D10 canary pod on a
scratch lab (always removed, checked on the servers), the CLI's --allow-writes/--yes/TTY rules, the
per-context lock, and the TUI's ConfirmWrite dialog."""

from __future__ import annotations

import base64
import json
import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from checks.config import ContextConfig, load_config
from checks.writes import WriteDeclined, WriteGate, WriteIntent, WriteRefused, gate_for
from tests.labtools import lab_config, lab_connections, run_cli, run_cli_json

CONTEXT = "clusterdeck-lab"
AUDIT_KEYS = {"who", "when", "context", "system", "action", "target", "result", "message"}
INTENT = WriteIntent("s3", "PutObject", "s3://litellm/.clusterdeck-probe/abc", ("18-byte probe object",))


# -- WriteGate, no server needed ----------------------------------------------------------------------------

def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_disabled_gate_refuses_and_runs_nothing(tmp_path: Path) -> None:
    ran: list[int] = []
    gate = WriteGate.disabled("read-only because")
    with pytest.raises(WriteRefused, match="read-only because"):
        gate.run(INTENT, lambda: ran.append(1))
    with pytest.raises(WriteRefused):
        gate.run(INTENT, lambda: ran.append(1), approved=True)  # not even a cleanup
    assert not ran and not gate.allowed


def test_declined_write_does_not_happen_nor_get_audited(tmp_path: Path) -> None:
    asked: list[WriteIntent] = []
    ran: list[int] = []
    gate = WriteGate(True, lambda i: asked.append(i) or False, tmp_path / "audit.log", "ctx", "alice")
    with pytest.raises(WriteDeclined, match="S3 PutObject s3://litellm/.clusterdeck-probe/abc"):
        gate.run(INTENT, lambda: ran.append(1))
    assert asked == [INTENT] and not ran and not (tmp_path / "audit.log").exists()


def test_confirmed_write_is_audited_append_only(tmp_path: Path) -> None:
    audit = tmp_path / "state" / "audit.log"
    gate = WriteGate(True, lambda i: True, audit, "prod-eu", "alice", secrets=["hunter2"])
    assert gate.run(INTENT, lambda: 42) == 42
    with pytest.raises(RuntimeError):
        gate.run(INTENT, lambda: (_ for _ in ()).throw(RuntimeError("boom with hunter2")), approved=True)

    class Probe:
        ok, code = False, "AccessDenied"

    gate.run(INTENT, Probe, approved=True)
    first, second, third = _lines(audit)
    assert set(first) == AUDIT_KEYS and first["who"] == "alice" and first["context"] == "prod-eu"
    assert first["when"].endswith("Z") and first["result"] == "ok"
    assert (first["system"], first["action"], first["target"]) == ("s3", "PutObject", INTENT.target)
    assert second["result"] == "error" and "boom" in second["message"] and "hunter2" not in audit.read_text()
    assert third["result"] == "error" and third["message"] == "AccessDenied"
    assert stat.S_IMODE(audit.stat().st_mode) == 0o600
    WriteGate(True, lambda i: True, audit, "prod-eu", "bob").run(INTENT, lambda: None)
    assert [e["who"] for e in _lines(audit)] == ["alice", "alice", "alice", "bob"]  # appended, never rewritten


def test_unwritable_audit_log_refuses_the_write(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    ran: list[int] = []
    gate = WriteGate(True, lambda i: True, blocker / "audit.log", "ctx")
    with pytest.raises(WriteRefused, match="audit log"):
        gate.run(INTENT, lambda: ran.append(1))
    assert not ran


# -- helpers for the lab ------------------------------------------------------------------------------------

def _secrets(state: dict[str, Any]) -> list[str]:
    from lab.access import plan_of

    plan = plan_of(state)
    return list(state["_secrets"]) + [plan["s3_admin"]["secret_key"]] + \
        [k["secret_key"] for k in plan["s3_keys"].values()]


def _assert_no_secret(text: str, secrets: list[str]) -> None:
    for value in secrets:
        assert value not in text and base64.b64encode(value.encode()).decode() not in text, "a secret leaked"


def _audit(state: dict[str, Any]) -> Path:
    return Path(load_config(state["config"]).audit_log)


def _probe_objects(state: dict[str, Any]) -> list[str]:
    from checks.sources.s3 import S3Source

    ep = lab_connections(state).rustfs_admin()
    s3 = S3Source(ep.endpoint_url, ep.access_key, ep.secret_key)
    found = []
    for bucket in s3.list_buckets().value:
        listed = s3.list_objects(bucket.name, 1000)
        found += [f"{bucket.name}/{k}" for k in (listed.value or []) if k.startswith(".clusterdeck-probe")]
    return found


def _canary_pods(state: dict[str, Any]) -> list[str]:
    from kubernetes import client

    from lab import access

    pods = client.CoreV1Api(access.kube_client(state)).list_pod_for_all_namespaces(
        label_selector="app.kubernetes.io/managed-by=clusterdeck").items
    return [f"{p.metadata.namespace}/{p.metadata.name}" for p in pods]


def _locked_config(state: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "locked.toml"
    path.write_text(Path(state["config"]).read_text() + f'\n[contexts.{CONTEXT}]\nread_only = true\n')
    return path


def _steps(result: dict[str, Any]) -> dict[str, Any]:
    return {s["id"]: s for s in result["steps"]}


# -- the CLI on a scratch lab -------------------------------------------------------------------------------

@pytest.mark.lab
def test_cli_writes_are_audited_and_cleaned_up(scratch_lab: dict[str, Any]) -> None:
    audit = _audit(scratch_lab)
    before = len(_lines(audit))
    kube_log = Path(scratch_lab["logs"]["kube_requests"])
    kube_start = kube_log.stat().st_size if kube_log.exists() else 0

    code, result = run_cli_json(scratch_lab, "triage", "rustfs", "--app", "ai-system/litellm", "--allow-writes",
                                "--yes")
    r6w = _steps(result)["R6w"]
    assert r6w["status"] == "pass", r6w
    assert any(e.startswith("DeleteObject: OK") for e in r6w["evidence"])
    assert _probe_objects(scratch_lab) == []

    code, result = run_cli_json(scratch_lab, "triage", "dragonfly", "--app", "automation/n8n", "--allow-writes",
                                "--yes")
    d10 = _steps(result)["D10"]
    assert any("probe inconclusive: pod did not run within" in e for e in d10["evidence"]), d10
    assert any(e.startswith("canary pod automation/clusterdeck-canary-") and e.endswith("deleted")
               for e in d10["evidence"]), d10
    assert d10["code"] == "DF_NETWORK_POLICY_DENIED"  # the static analysis decides; the canary is evidence only
    assert _canary_pods(scratch_lab) == []
    requests = kube_log.read_bytes()[kube_start:].decode().splitlines()
    created = [r for r in requests if " POST /api/v1/namespaces/automation/pods " in r]
    deleted = [r for r in requests if " DELETE /api/v1/namespaces/automation/pods/clusterdeck-canary-" in r]
    assert len(created) == len(deleted) == 1
    assert not [r for r in requests if r.split(" ")[1] not in ("GET",) and r not in created + deleted]

    entries = _lines(audit)[before:]
    assert [(e["system"], e["action"]) for e in entries] == [
        ("s3", "PutObject"), ("s3", "DeleteObject"), ("kubernetes", "create pod"), ("kubernetes", "delete pod")]
    for e in entries:
        assert set(e) == AUDIT_KEYS and e["result"] == "ok" and e["context"] == CONTEXT
        assert e["who"] and e["when"].endswith("Z")
    assert entries[0]["target"] == entries[1]["target"] and entries[0]["target"].startswith(
        "s3://litellm/.clusterdeck-probe/")
    assert entries[2]["target"] == entries[3]["target"] and entries[2]["target"].startswith(
        "automation/clusterdeck-canary-")
    assert stat.S_IMODE(audit.stat().st_mode) == 0o600
    _assert_no_secret(audit.read_text(), _secrets(scratch_lab))


@pytest.mark.lab
def test_cli_without_yes_and_without_tty_refuses(scratch_lab: dict[str, Any]) -> None:
    audit = _audit(scratch_lab)
    before = len(_lines(audit))
    s3_log = Path(scratch_lab["logs"]["s3_requests"])
    s3_start = s3_log.stat().st_size if s3_log.exists() else 0
    for args in (("triage", "rustfs", "--app", "ai-system/litellm", "--allow-writes"),
                 ("--allow-writes", "triage", "dragonfly", "--app", "automation/n8n")):
        proc = run_cli(scratch_lab, *args)  # stdin is not a TTY in a subprocess without one
        assert proc.returncode == 2, proc.stdout
        assert "no terminal to ask on" in proc.stderr and "--yes" in proc.stderr
    assert len(_lines(audit)) == before
    assert not [r for r in s3_log.read_bytes()[s3_start:].decode().splitlines() if " PUT " in r]


@pytest.mark.lab
def test_locked_context_refuses_allow_writes(scratch_lab: dict[str, Any], tmp_path: Path) -> None:
    locked = _locked_config(scratch_lab, tmp_path)
    audit = _audit(scratch_lab)
    before = len(_lines(audit))
    for args in (("triage", "--config", str(locked), "rustfs", "--app", "ai-system/litellm", "--allow-writes",
                  "--yes"),
                 ("--config", str(locked), "--allow-writes")):  # the TUI: refused before it starts
        proc = run_cli(scratch_lab, *args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert f"contexts.{CONTEXT}.read_only" in proc.stderr and "refused" in proc.stderr
    code, result = run_cli_json(scratch_lab, "triage", "--config", str(locked), "rustfs", "--app",
                                "ai-system/litellm")  # read-only still works in a locked context
    assert _steps(result)["R6w"]["status"] == "skip"
    assert len(_lines(audit)) == before


@pytest.mark.lab
def test_flow_with_bool_true_in_locked_context_skips(scratch_lab: dict[str, Any]) -> None:
    from checks.flows.runner import run_flow

    conns = lab_connections(scratch_lab)
    conns.config = replace(conns.config, contexts={CONTEXT: ContextConfig(read_only=True)})
    gate = gate_for(conns, True)
    assert not gate.allowed and f"contexts.{CONTEXT}.read_only" in gate.reason
    result = run_flow(conns, "rustfs", app="ai-system/litellm", allow_writes=True)
    r6w = next(s for s in result.steps if s.id == "R6w")
    assert r6w.status == "skip" and f"contexts.{CONTEXT}.read_only" in r6w.evidence[0]


# -- the TUI -----------------------------------------------------------------------------------------------

SIZE = (160, 50)


async def _wait_for(pilot: Any, predicate: Any, tries: int = 300) -> None:
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


async def _run_triage(pilot: Any, flow: str, app_ref: str) -> Any:
    from textual.widgets import Select

    app = pilot.app
    await pilot.press("6")
    await pilot.pause()
    await app.workers.wait_for_complete()
    screen = app.screen
    screen.query_one("#flow-select", Select).value = flow
    screen.query_one("#app-input").value = app_ref
    await pilot.press("ctrl+r")
    return screen


@pytest.mark.lab
async def test_tui_confirm_dialog_declines_and_confirms(scratch_lab: dict[str, Any]) -> None:
    from tui.app import make_app
    from tui.dialogs import ConfirmWrite

    audit = _audit(scratch_lab)
    before = len(_lines(audit))
    app = make_app(lab_config(scratch_lab).with_overrides(refresh_interval=0.0), allow_writes=True)
    async with app.run_test(size=SIZE) as pilot:
        assert app.badge()[0] == "WRITES ENABLED"
        screen = await _run_triage(pilot, "rustfs", "ai-system/litellm")
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmWrite))
        shown = "\n".join(str(s.render()) for s in app.screen.query("Static"))
        assert "S3 PutObject s3://litellm/.clusterdeck-probe/" in shown and CONTEXT in shown
        _assert_no_secret(app.export_screenshot(), _secrets(scratch_lab))
        await pilot.press("n")
        await app.workers.wait_for_complete()
        await pilot.pause()
        r6w = next(s for s in screen._steps if s.id == "R6w")
        assert r6w.status == "skip" and r6w.evidence[0].startswith("declined"), r6w
        assert len(_lines(audit)) == before

        await pilot.press("ctrl+r")
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmWrite))
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        r6w = next(s for s in screen._steps if s.id == "R6w")
        assert r6w.status == "pass", r6w
    entries = _lines(audit)[before:]
    assert [e["action"] for e in entries] == ["PutObject", "DeleteObject"] and entries[0]["context"] == CONTEXT
    assert _probe_objects(scratch_lab) == []


@pytest.mark.lab
async def test_tui_access_matrix_write_probes_are_confirmed_once(scratch_lab: dict[str, Any]) -> None:
    from tui.app import make_app
    from tui.dialogs import ConfirmWrite

    audit = _audit(scratch_lab)
    before = len(_lines(audit))
    app = make_app(lab_config(scratch_lab).with_overrides(refresh_interval=0.0), allow_writes=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("m")
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmWrite))
        shown = "\n".join(str(s.render()) for s in app.screen.query("Static"))
        assert "S3 PutObject+DeleteObject" in shown and "s3://litellm/.clusterdeck-probe/<random id>" in shown
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen._matrix is not None and app.screen._matrix.writes_probed
    entries = _lines(audit)[before:]
    puts = [e for e in entries if e["action"] == "PutObject" and e["result"] == "ok"]
    deletes = [e for e in entries if e["action"] == "DeleteObject"]
    assert puts and sorted(e["target"] for e in puts) == sorted(e["target"] for e in deletes)
    assert _probe_objects(scratch_lab) == []


@pytest.mark.lab
async def test_tui_badge_locked_from_the_resolved_context(scratch_lab: dict[str, Any], tmp_path: Path) -> None:
    from tui.app import make_app

    config = load_config(str(_locked_config(scratch_lab, tmp_path)))
    app = make_app(config.with_overrides(refresh_interval=0.0))
    assert app.badge()[0] == "LOCKED READ-ONLY (config)"
    # no context in the config: the kubeconfig's current context decides, once resolved
    unnamed = replace(config, context="", refresh_interval=0.0, kubeconfig=scratch_lab["kubeconfig"])
    app = make_app(unnamed, allow_writes=True)
    assert app.context_name == "" and app.badge()[0] == "WRITES ENABLED"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.context_name == CONTEXT and app.badge()[0] == "LOCKED READ-ONLY (config)"
        assert not app.allow_writes
        from tui.widgets.chrome import DeckHeader

        header = app.screen.query_one(DeckHeader).content.plain
        assert CONTEXT in header and "LOCKED READ-ONLY (config)" in header, header
    # with writes asked for in a locked context, the flows' write steps are refused (the key is named)
    app = make_app(unnamed, allow_writes=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _run_triage(pilot, "rustfs", "ai-system/litellm")
        await app.workers.wait_for_complete()
        await pilot.pause()
        r6w = next(s for s in screen._steps if s.id == "R6w")
        assert r6w.status == "skip" and f"contexts.{CONTEXT}.read_only" in r6w.evidence[0]
        assert app.badge()[0] == "LOCKED READ-ONLY (config)"


def test_audit_log_default_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from checks.config import Config
    from checks.writes import default_audit_path

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_audit_path(Config()) == tmp_path / "clusterdeck" / "audit.log"
    assert default_audit_path(Config(audit_log="~/x.log")) == Path(os.path.expanduser("~/x.log"))


async def test_confirm_dialog_enter_cancels() -> None:
    from textual.app import App

    from tui.dialogs import ConfirmWrite

    answers: list[bool] = []

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(ConfirmWrite("Write to s3", INTENT.lines()), answers.append)

    async with Host().run_test() as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
    assert answers == [False]
