"""Helpers to point clusterdeck at a given lab (from its lab.json state) in tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any


def lab_config(state: dict[str, Any]):
    from checks.config import load_config

    return load_config(state["config"]).with_overrides(kubeconfig=state["kubeconfig"])


def lab_connections(state: dict[str, Any]):
    from checks.connect import Connections

    return Connections(lab_config(state))


def lab_env(state: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    env["KUBECONFIG"] = state["kubeconfig"]
    env["CLUSTERDECK_CONFIG"] = state["config"]
    env["CLUSTERDECK_LAB_DIR"] = state["dir"]
    return env


def run_cli(state: dict[str, Any], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the real `clusterdeck` entry point in a subprocess against the lab."""
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], env=lab_env(state),
                          capture_output=True, text=True, timeout=timeout)


def run_cli_json(state: dict[str, Any], *args: str) -> tuple[int, Any]:
    proc = run_cli(state, *args, "--output", "json")
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError as exc:
        raise AssertionError(f"not JSON (exit {proc.returncode}):\nstdout={proc.stdout}\nstderr={proc.stderr}") from exc
