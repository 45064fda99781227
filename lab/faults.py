"""Fault injection and request logs shared by the daemon's servers.

`DIR/faults.json` is read on every request, so a test can switch faults on and off while the
lab runs: `{"kube": "403"|"401"|"500"|"slow"|null, "kube_match": "substring of path?query",
"s3": "500"|"slow"|"hang"|null, "s3_match": "..."}`.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

FAULTS_FILE = "faults.json"
_log_lock = threading.Lock()


def read_faults(directory: Path) -> dict[str, Any]:
    try:
        data = json.loads((directory / FAULTS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_faults(directory: Path, **faults: Any) -> None:
    """Set faults (None values clear them); written atomically."""
    current = read_faults(directory)
    current.update(faults)
    current = {k: v for k, v in current.items() if v is not None}
    tmp = directory / (FAULTS_FILE + ".tmp")
    tmp.write_text(json.dumps(current))
    tmp.replace(directory / FAULTS_FILE)


def clear_faults(directory: Path) -> None:
    (directory / FAULTS_FILE).unlink(missing_ok=True)


def log_line(path: Path, text: str) -> None:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with _log_lock, open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{stamp} {text}\n")
