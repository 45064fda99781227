"""The command line on the lab: check in every format, triage exit codes, errors exit 2 without traceback."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET

from tests.labtools import run_cli


def _no_secret(text: str, secrets: list[str]) -> None:
    for s in secrets:
        assert s not in text, "a lab secret leaked"
        assert base64.b64encode(s.encode()).decode() not in text, "a lab secret leaked (base64)"


def test_check_json_on_the_lab(lab):
    proc = run_cli(lab, "check", "--output", "json", timeout=120)
    assert proc.returncode == 1, proc.stderr  # the planted lab has failing findings
    doc = json.loads(proc.stdout)
    findings = doc["findings"]
    assert {f["system"] for f in findings} >= {"kubernetes", "dragonfly", "cnpg", "rustfs", "alerts"}
    for f in findings:
        assert set(f) == {"system", "subject", "id", "title", "status", "code", "evidence", "fix"}
        assert f["status"] in ("pass", "fail", "warn", "skip", "error")
        assert (f["code"] is None) == (f["status"] == "pass") or f["status"] in ("skip", "warn")
    codes = {(f["subject"], f["code"]) for f in findings if f["status"] == "fail"}
    assert ("ai-system/litellm", "DF_PASSWORD_MISMATCH") in codes
    assert ("ai-system/obot", "CNPG_PASSWORD_EXPIRED") in codes
    assert ("cache/dragonfly", "S3_NO_SUCH_BUCKET") in codes
    assert doc["summary"]["fail"] >= 3
    _no_secret(proc.stdout + proc.stderr, lab["_secrets"])


def test_check_junit_and_text(lab):
    proc = run_cli(lab, "check", "--service", "cnpg", "--output", "junit", timeout=120)
    assert proc.returncode == 1
    root = ET.fromstring(proc.stdout)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["clusterdeck.cnpg"]
    assert int(suites[0].get("failures")) >= 5
    text = run_cli(lab, "check", "--service", "kubernetes", timeout=60)
    assert text.returncode == 0 and "PASS kubernetes" in text.stdout
    _no_secret(proc.stdout + text.stdout, lab["_secrets"])


def test_clean_lab_check_passes_flows(clean_lab):
    proc = run_cli(clean_lab, "check", "--service", "dragonfly", "--service", "cnpg", "--service", "rustfs",
                   "--output", "json", timeout=120)
    doc = json.loads(proc.stdout)
    failing = [f for f in doc["findings"] if f["status"] in ("fail", "error")]
    assert not failing, failing
    assert proc.returncode == 0


def test_triage_exit_codes_and_text(lab, clean_lab):
    bad = run_cli(lab, "triage", "dragonfly", "--app", "ai-system/litellm")
    assert bad.returncode == 1 and "root cause: DF_PASSWORD_MISMATCH" in bad.stdout
    good = run_cli(clean_lab, "triage", "dragonfly", "--app", "ai-system/litellm")
    assert good.returncode == 0 and "root cause: none found" in good.stdout
    unknown = run_cli(lab, "triage", "--error", "segfault in libfoo")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "Unrecognised error text" in unknown.stderr


def test_config_error_exits_2(lab, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("timout = 3\n")
    proc = run_cli(lab, "--config", str(cfg), "check")
    assert proc.returncode == 2
    assert "unknown key 'timout'" in proc.stderr and "Traceback" not in proc.stderr


def test_lab_env_and_status(lab):
    env = run_cli(lab, "lab", "env")
    assert env.returncode == 0
    assert f"export KUBECONFIG={lab['kubeconfig']}" in env.stdout
    assert f"CLUSTERDECK_CONFIG={lab['config']}" in env.stdout
    status = run_cli(lab, "lab", "status")
    assert status.returncode == 0 and json.loads(status.stdout)["daemon_pid"] == lab["daemon_pid"]
    _no_secret(status.stdout, lab["_secrets"])
