"""Where a running lab keeps its state, and how other code finds it (no heavy imports here)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def lab_dir() -> Path:
    """$CLUSTERDECK_LAB_DIR, else <tmp>/clusterdeck-lab-<uid>."""
    env = os.environ.get("CLUSTERDECK_LAB_DIR")
    if env:
        return Path(env)
    return Path(tempfile.gettempdir()) / f"clusterdeck-lab-{os.getuid()}"


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def read_state(directory: Path | None = None) -> dict[str, Any] | None:
    """The lab.json of a running lab, or None when no lab runs there."""
    path = (directory or lab_dir()) / "lab.json"
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    pid = state.get("daemon_pid")
    if not isinstance(pid, int) or not pid_alive(pid):
        return None
    return state


def running_lab_config(directory: Path | None = None) -> Path | None:
    state = read_state(directory)
    if state is None:
        return None
    cfg = Path(state.get("config", ""))
    return cfg if cfg.is_file() else None


def running_lab_kubeconfig(directory: Path | None = None) -> Path | None:
    state = read_state(directory)
    if state is None:
        return None
    cfg = Path(state.get("kubeconfig", ""))
    return cfg if cfg.is_file() else None
