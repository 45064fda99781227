"""Shared helpers of the benchmark: metric records, medians, the bench's own lab."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


@dataclass
class Metric:
    """One line of the benchmark table."""

    name: str
    """What is measured."""
    goal: str
    """The goal, as a human reads it."""
    value: str
    """The measured value."""
    ok: bool | None
    """Goal met; None = informational (no goal)."""
    method: str
    """How it was measured."""
    data: dict[str, Any] | None = None
    """Raw numbers (results JSON)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def lab_config(state: dict[str, Any], **overrides: Any) -> Any:
    """The parsed clusterdeck config of a lab."""
    from checks.config import load_config

    return load_config(state["config"]).with_overrides(kubeconfig=state["kubeconfig"], **overrides)


def lab_conns(state: dict[str, Any], **overrides: Any) -> Any:
    from checks.connect import Connections

    return Connections(lab_config(state, **overrides))


@contextmanager
def bench_lab(directory: str | None = None, keep: bool = False) -> Iterator[dict[str, Any]]:
    """A planted lab of the bench's own (never another developer's), always brought down."""
    from lab import manager

    d = Path(directory or f"/tmp/clusterdeck-bench-{os.getpid()}")
    state = manager.up(d, clean=False)
    try:
        yield state
    finally:
        if not keep:
            manager.down(d)


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)
