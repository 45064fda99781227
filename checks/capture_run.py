"""`clusterdeck capture`: run every pane's fetch, every check and every flow against recording
Connections, then write the bundle (secrets removed).

The bundle also keeps what the capture itself computed (`results`: the `check --output json` document
and every flow's JSON): the findings the on-call saw, and the reference a replay must reproduce.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from checks import clock
from checks.bundle import FORMAT, VERSION, encode, write_bundle
from checks.bundle_calls import SECRET_PARAMS, call_key
from checks.bundle_secrets import SecretBook
from checks.capture import RecordingConnections
from checks.config import Config
from checks.errors import SourceError
from checks.redact import set_digest_observer


@dataclass(frozen=True)
class CaptureSummary:
    """What a capture wrote."""

    path: str
    """The bundle file."""
    calls: int
    """Recorded source answers."""
    secrets: int
    """Distinct secrets replaced by tokens."""
    findings: int
    """Findings of the check run."""
    flows: int
    """Flow runs recorded."""
    notes: tuple[str, ...]
    """What could not be captured."""


def clusterdeck_version() -> str:
    try:
        from importlib.metadata import version

        return version("clusterdeck")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        return "unknown"


def _pane_fetches(conns: Any) -> list[tuple[str, Callable[[], Any]]]:
    from checks.alerts import load_alerts
    from checks.cnpg_view import load_cnpg_view
    from checks.dragonfly_view import collect_view
    from checks.overview import collect_overview
    from checks.rustfs_matrix import build_matrix
    from checks.rustfs_view import admin_s3, collect_rustfs, load_bucket_details
    from checks.targets import list_targets

    def rustfs() -> Any:
        data = collect_rustfs(conns)
        rows = list(data.buckets.buckets)
        if rows:
            load_bucket_details(admin_s3(conns), rows)
            for row in rows:  # the pane's "enter" on one bucket asks again with one worker
                load_bucket_details(admin_s3(conns), [row], workers=1)
        return data

    return [("overview", lambda: collect_overview(conns)), ("dragonfly", lambda: collect_view(conns)),
            ("cnpg", lambda: load_cnpg_view(conns)), ("rustfs", rustfs),
            ("rustfs matrix", lambda: build_matrix(conns, False)), ("alerts", lambda: load_alerts(conns)),
            ("triage targets", lambda: list_targets(conns))]


def run_everything(conns: Any, services: Iterable[str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Every pane fetch, `check` and every flow of every consumer; (results, notes)."""
    from checks import report
    from checks.checkrun import run_checks
    from checks.flows.runner import run_flow
    from checks.targets import list_targets

    notes: list[str] = []
    for pane, fetch in _pane_fetches(conns):
        try:
            fetch()
        except SourceError as exc:
            notes.append(f"{pane} pane: {exc.system}: {exc.title}: {exc.message}")
    results: dict[str, Any] = {"check": None, "triage": {}}
    chosen = tuple(services) if services else None
    try:
        findings = run_checks(conns, services=chosen)
        results["check"] = json.loads(report.findings_json(findings))
    except SourceError as exc:
        notes.append(f"check: {exc.system}: {exc.title}: {exc.message}")
    try:
        targets = list_targets(conns)
    except SourceError as exc:
        targets = []
        notes.append(f"triage targets: {exc.title}: {exc.message}")
    for t in targets:
        for flow in t.flows:
            if chosen and flow not in chosen:
                continue
            try:
                out = json.loads(report.flow_json(run_flow(conns, flow, app=t.app)))
            except SourceError as exc:
                out = {"error": exc.as_dict()}
            results["triage"].setdefault(flow, {})[t.app] = out
    return results, notes


def capture(config: Config, path: str | Path, *, context: str | None = None,
            services: Iterable[str] | None = None) -> CaptureSummary:
    """Capture everything the panes, `check` and the flows read, and write the bundle to `path`."""
    captured_at = datetime.now(UTC).replace(microsecond=0)
    observed: list[tuple[str, bytes, str]] = []
    lock = threading.Lock()

    def observe(algorithm: str, data: bytes, value: str) -> None:
        with lock:
            observed.append((algorithm, data, value))

    previous = clock.frozen()
    clock.freeze(captured_at)
    set_digest_observer(observe)
    conns = RecordingConnections(config, context)
    try:
        results, notes = run_everything(conns, services)
        try:
            context_name = str(conns.kube.context_name)
        except SourceError:
            context_name = conns.context or config.context
    finally:
        set_digest_observer(None)
        clock.freeze(previous)
        conns.close()
    doc = build_document(conns, config, captured_at, context_name, results, notes, observed)
    write_bundle(path, doc)
    flows = sum(len(v) for v in results["triage"].values())
    findings = len((results.get("check") or {}).get("findings", []))
    return CaptureSummary(str(path), len(doc["calls"]), doc["secrets"], findings, flows, tuple(notes))


def build_document(conns: RecordingConnections, config: Config, captured_at: datetime, context: str,
                   results: dict[str, Any], notes: list[str], observed: list[tuple[str, bytes, str]]) -> dict[str, Any]:
    """The bundle document: learn every secret first, then encode everything through the redaction."""
    book = SecretBook()
    entries = [e for e in conns.recorder.entries.values() if e.crash is None]
    skipped = len(conns.recorder.entries) - len(entries)
    for e in entries:
        for params in (e.identity, e.args or {}):
            plain = {v for k, v in params.items() if k not in SECRET_PARAMS and isinstance(v, str)}
            for k, v in params.items():
                if k in SECRET_PARAMS and isinstance(v, (str, bytes)) and v not in plain:
                    book.learn(v)
        book.scan(e.value)
        if e.error is not None:
            book.learn_from_text(e.error.message)
    text = book.rewrite
    calls = []
    for e in entries:
        try:
            outcome = ({"error": encode(e.error, text)} if e.error is not None
                       else {"result": encode(e.value, text, book.redact_object)})
        except Exception as exc:  # noqa: BLE001 - a value with no bundle form: the replay will say so
            if e.args is not None:  # attributes holding local objects (a client's configuration) are no answers
                skipped += 1
                notes.append(f"{e.kind}.{e.name}: not recordable ({exc})")
            continue
        item = {"source": e.kind, "identity": encode(e.identity, text), "name": e.name}
        if e.args is not None:
            item["args"] = encode(e.args, text)
        calls.append({**item, **outcome})
    calls.sort(key=lambda c: call_key(c["source"], c["identity"], c["name"], c.get("args")))
    if skipped:
        notes.append(f"{skipped} answers could not be recorded (they replay as 'not in the bundle')")
    return {
        "format": FORMAT, "version": VERSION, "captured_at": captured_at.isoformat(), "context": text(context),
        "clusterdeck_version": clusterdeck_version(),
        "config": encode(config, text), "calls": calls, "digests": book.digests(observed),
        "results": encode(results, text), "secrets": book.count, "notes": [text(n) for n in notes],
    }
