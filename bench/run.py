"""`make bench`: measure clusterdeck against its performance goals on a lab of its own.

Prints every metric with its goal, the measured value and the method; exits 1 when a goal is missed.
Options: --quick (fewer repetitions), --skip NAME[,NAME] (coldstart, roundtrips, refresh, pods, flows, tui,
scale), --keep-lab DIR (reuse/keep a lab), --json PATH (raw results), --readme (write the table into
README.md's Performance section between the bench markers).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PY, ROOT, Metric, bench_lab, log, median, ms  # noqa: E402

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def pilot(state: dict[str, Any], runs: int) -> list[dict[str, Any]]:
    """Run the pilot child `runs` times (fresh processes)."""
    out = []
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for _ in range(runs):
        proc = subprocess.run([PY, str(ROOT / "bench" / "pilot_child.py"), state["config"], state["kubeconfig"]],
                              capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=900)
        if proc.returncode != 0:
            raise RuntimeError(f"pilot child failed: {proc.stderr[-3000:]}")
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def tui_metrics(results: list[dict[str, Any]], scale: bool) -> list[Metric]:
    where = "scale data" if scale else "lab"
    stall = median([r["stall_max_s"] for r in results])
    idle = median([r["stall_idle_max_s"] for r in results])
    worst_pane = max(results[-1]["stall_pane_s"], key=lambda p: results[-1]["stall_pane_s"][p])
    per_pane = ", ".join(f"{p} {ms(median([r['stall_pane_s'][p] for r in results]))}"
                         for p in results[-1]["stall_pane_s"])
    cb = {p: max(r["callback_pane_s"][p][0] for r in results) for p in results[-1]["callback_pane_s"]}
    cb_cpu = {p: max(r["callback_pane_s"][p][1] for r in results) for p in results[-1]["callback_pane_s"]}
    cb_worst = max(cb, key=lambda p: cb[p])
    stress = median([r["stall_all_max_s"] for r in results])
    n = len(results)
    metrics = [
        Metric(f"event-loop stall while refreshing ({where})", "max ≤ 50 ms", ms(stall), stall <= 0.05,
               "pilot: each pane in turn on screen and reloading (the app refreshes only the pane on screen); worst "
               f"lateness of a 5 ms asyncio ticker, median of {n} runs of the per-run worst ({per_pane}; idle "
               f"baseline {ms(idle)}; longest single loop callback {ms(cb[cb_worst])} wall / "
               f"{ms(cb_cpu[cb_worst])} CPU, {cb_worst})",
               {"ticker": [r["stall_max_s"] for r in results], "worst_pane": worst_pane, "idle": idle,
                "callback_wall": cb, "callback_cpu": cb_cpu}),
        Metric(f"stress: all 6 panes reloading at once ({where})", "info",
               f"stall {ms(stress)}, done in {ms(median([r['refresh_s'] for r in results]))}"
               + (f", peak RSS {max(r['peak_rss_all_mb'] for r in results):.0f} MB" if scale else ""), None,
               "pilot: reload() on all 6 panes (beyond what the app does by itself) until each shows new data; "
               "ticker as above; the RSS is taken after it", None),
    ]
    if scale:
        panes = ("dragonfly", "cnpg", "rustfs", "alerts")
        for pane in ("overview", *panes, "triage"):  # each pane: the goal is for every one of them
            pop = median([r["populate_s"][pane] for r in results])
            rows = results[-1]["rows"].get(pane, 0)
            listed = [r.get("list_buckets_s", {}).get(pane) for r in results]
            value, method = ms(pop), ""
            if pane == "overview":
                first = [r.get("first_rows_s", {}).get("overview") for r in results]
                if all(t is not None for t in first):
                    value += f" (first systems shown: {ms(median(first))})"  # type: ignore[arg-type]
                method = ("; the Overview is the screen the app opens on: from its first frame, so it includes "
                          "loading the client libraries and the first logins; every system shown (the first ones "
                          "are shown as they answer, the others as 'checking')")
            if all(t is not None for t in listed):
                value += f" (ListBuckets alone: {ms(median(listed))})"  # type: ignore[arg-type]
                method += ("; ListBuckets alone: the longest S3 ListBuckets call in that visit, request to parsed "
                          "answer, nearly all of it the lab's S3 server (moto) answering; median")
            metrics.append(Metric(f"scale: {pane} pane populated ({rows} rows)", "≤ 1 s", value, pop <= 1.0,
                                  "pilot: key press to data shown, table filled and a frame computed; first visit, "
                                  f"no other pane's recent answers reused (caches forgotten first); median of {n} "
                                  f"runs{method}", {"runs": [r["populate_s"][pane] for r in results],
                                                   "list_buckets_s": listed}))
        for pane in panes:
            keys = [t for r in results for t in r["filter_s"].get(pane, [])]
            worst = max(keys) if keys else float("nan")
            metrics.append(Metric(f"scale: {pane} filter keystroke", "≤ 100 ms", f"max {ms(worst)} (median "
                                  f"{ms(median(keys))})", bool(keys) and worst <= 0.1,
                                  "pilot: key event posted to the `/` bar until the table's rows are re-rendered "
                                  "and a frame computed, 3 keys per run", {"keys": keys}))
        rss = max(r["peak_rss_mb"] for r in results)
        metrics.append(Metric("scale: peak RSS of the TUI", "≤ 250 MB", f"{rss:.0f} MB", rss <= 250,
                              "getrusage(RUSAGE_SELF).ru_maxrss in the pilot process after visiting every pane, "
                              "refreshing each and filtering (growth per phase in bench/results.json)",
                              {"after": results[-1]["peak_rss_after_mb"]}))
    else:
        pop = {p: median([r["populate_s"][p] for r in results]) for p in results[0]["populate_s"]}
        metrics.append(Metric("lab: pane populated on first visit", "info",
                              ", ".join(f"{p} {ms(v)}" for p, v in pop.items()), None,
                              "pilot: key press to data shown (includes loading the client libraries; caches "
                              "forgotten before each visit)", None))
    return metrics


def table(metrics: list[Metric]) -> str:
    lines = ["| metric | goal | measured | ok | method |", "|---|---|---|---|---|"]
    for m in metrics:
        ok = "—" if m.ok is None else ("yes" if m.ok else "**NO**")
        lines.append(f"| {m.name} | {m.goal} | {m.value} | {ok} | {m.method} |")
    return "\n".join(lines)


def write_readme(text: str) -> None:
    path = ROOT / "README.md"
    readme = path.read_text()
    if START in readme and END in readme:
        head, rest = readme.split(START, 1)
        _, tail = rest.split(END, 1)
        path.write_text(f"{head}{START}\n{text}\n{END}{tail}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip", default="")
    ap.add_argument("--keep-lab", default=None, metavar="DIR")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results.json"))
    ap.add_argument("--readme", action="store_true")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    runs = 3 if args.quick else 5
    metrics: list[Metric] = []
    raw: dict[str, Any] = {}
    from lab.state import read_state

    existing = read_state(Path(args.keep_lab)) if args.keep_lab else None
    log("starting the bench's own lab…" if existing is None else f"using the lab in {args.keep_lab}")
    import contextlib

    ctx = contextlib.nullcontext(existing) if existing else bench_lab(args.keep_lab, keep=bool(args.keep_lab))
    with ctx as state:
        if "coldstart" not in skip:
            from bench import coldstart

            log("cold start…")
            metrics += coldstart.measure(state, runs=runs + 2)
        if "roundtrips" not in skip:
            from bench import roundtrips

            log("round trips…")
            got, raw["roundtrips"] = roundtrips.measure(state)
            metrics += got
        if "refresh" not in skip:
            from bench import refresh

            log("refresh…")
            got, raw["refresh"] = refresh.measure(state, runs=runs)
            metrics += got + refresh.secret_list(state)
            log("refresh over a slow link…")
            got, raw["refresh_remote"] = refresh.measure_remote(state, runs=max(3, runs - 2))
            metrics += got
        if "pods" not in skip:
            from bench import pods

            log("a cluster with many pods…")
            got, raw["pods"] = pods.measure(state, runs=runs)
            metrics += got
        if "flows" not in skip:
            from bench import flows

            log("flows…")
            got, raw["flows"] = flows.measure(state, runs=max(1, runs - 2))
            metrics += got
        if "tui" not in skip:
            log("TUI on the lab…")
            results = pilot(state, max(3, runs - 2))
            raw["tui"] = results
            metrics += tui_metrics(results, scale=False)
        if "scale" not in skip:
            from bench import scale

            log("generating the scale data set on the lab servers…")
            raw["scale_generation_s"] = scale.generate(state)
            log("TUI on the scale data…")
            results = pilot(state, max(3, runs - 2))
            raw["scale"] = results
            metrics += tui_metrics(results, scale=True)
    text = table(metrics)
    print(text)
    missed = [m.name for m in metrics if m.ok is False]
    print(f"\n{len(metrics)} metrics, {sum(m.ok is True for m in metrics)} goals met, {len(missed)} missed"
          + (": " + "; ".join(missed) if missed else ""))
    Path(args.json).write_text(json.dumps({"metrics": [m.as_dict() for m in metrics], "raw": raw}, indent=1,
                                          default=str))
    if args.readme:
        write_readme(text)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
