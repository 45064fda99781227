"""Cold start to the first painted screen: clusterdeck on the lab vs a hello-world Textual app.

Each run is a fresh `python bench/paint_child.py` process; the parent notes the wall clock before the
spawn, the child prints the wall clock of its first painted frame. Runs alternate hello/app so that the
machine's noise hits both alike; the reported ratio is the median of the per-pair ratios.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

from bench.common import PY, ROOT, Metric, median, ms

CHILD = str(ROOT / "bench" / "paint_child.py")
CLIENTS = ("kubernetes", "boto3", "redis", "psycopg")


def _one(mode: str, config: str, env: dict[str, str], importtime: bool = False) -> dict[str, Any]:
    args = [PY, *(["-X", "importtime"] if importtime else []), CHILD, mode, config]
    start = time.time()
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=60)
    end = time.time()
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"paint child {mode} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["paint_s"] = out["painted_at"] - start
    out["exit_s"] = end - start
    out["stderr"] = proc.stderr if importtime else ""
    return out


def imported_before_paint(stderr: str) -> list[str]:
    """Top-level packages that `-X importtime` shows imported before the child's PAINTED marker."""
    before = stderr.split("PAINTED", 1)[0]
    names = set()
    for line in before.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return sorted(names)


PACKAGES = ("checks", "tui", "screens")


def compile_bytecode() -> None:
    """Write the project's bytecode as `pip install` does: in an editable checkout with
    PYTHONDONTWRITEBYTECODE set (as on these machines) every run would compile our modules from source
    while the libraries load theirs from `.pyc`, which is not what a user's install does."""
    subprocess.run([PY, "-m", "compileall", "-q", *(str(ROOT / p) for p in PACKAGES)], check=True,
                   capture_output=True, cwd=str(ROOT))


def measure(state: dict[str, Any], runs: int = 7) -> list[Metric]:
    env = dict(os.environ, KUBECONFIG=state["kubeconfig"], PYTHONPATH=str(ROOT))
    config = state["config"]
    compile_bytecode()
    for mode in ("hello", "app"):  # warm the OS file cache and the bytecode caches
        _one(mode, config, env)
    hello, app, ratios, heavy = [], [], [], set()
    for _ in range(runs):
        h = _one("hello", config, env)
        a = _one("app", config, env)
        hello.append(h["paint_s"])
        app.append(a["paint_s"])
        ratios.append(a["paint_s"] / h["paint_s"])
        heavy.update(a["heavy"])
    ratio = median(ratios)
    trace = _one("app", config, env, importtime=True)
    early = [m for m in imported_before_paint(trace["stderr"]) if m in CLIENTS]
    loaded = sorted(m for m in heavy if m in CLIENTS)
    return [
        Metric("cold start to first painted screen", "≤ 1.3× hello-world",
               f"{ratio:.2f}× ({ms(median(app))} vs {ms(median(hello))})", ratio <= 1.3,
               f"{runs} alternating subprocess pairs, headless 140x45, wall clock from spawn to the first frame "
               "showing the screen (rendered to terminal sequences); median of per-pair ratios; the project's "
               "bytecode compiled first, as an install does",
               {"ratios": ratios, "app_s": app, "hello_s": hello}),
        Metric("client libraries imported before first paint", "none of " + "/".join(CLIENTS),
               ", ".join(sorted(set(loaded) | set(early))) or "none", not loaded and not early,
               "sys.modules at the first frame in every run, and `python -X importtime` lines before the frame",
               {"sys_modules": loaded, "importtime": early}),
    ]
