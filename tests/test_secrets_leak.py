"""No password or secret key the lab created reaches anything clusterdeck produces.

On the planted lab: every pane piloted (each Dragonfly user's detail with a DRYRUN, each CNPG role's detail,
the three RustFS tabs, both Alerts tabs and a detail, every flow for every consumer in Triage), every CLI
command in every output format, a capture bundle and its replay, the files clusterdeck wrote (XDG dirs,
audit log), the snapshots, and what clusterdeck's requests left in the servers' logs (kube and S3 request
lines, PostgreSQL's statement log, Redis's SLOWLOG / ACL LOG / CLIENT LIST). Each secret is searched plain,
stripped, base64 (standard and URL-safe, with and without padding) and, when 12 characters or longer, by its
first 12 characters; a fingerprint never shows more than 12 hex digits of a secret's SHA-256.

Assertion messages never quote a secret: they name the output and which form of which secret was found.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.labtools import lab_config, lab_connections, run_cli
from tui.app import make_app

pytestmark = pytest.mark.lab

SIZE = (150, 48)
FLOWS = ("dragonfly", "cnpg", "rustfs")
ERRORS = ("WRONGPASS invalid username-password pair or user is disabled.",
          "NOPERM User litellm has no permissions to access the 'other:key' key",
          'FATAL:  password authentication failed for user "obot"',
          "An error occurred (AccessDenied) when calling the ListObjectsV2 operation: Access Denied",
          "An error occurred (InvalidAccessKeyId) when calling the GetObject operation")
LOGS = ("kube_requests", "s3_requests", "postgres", "redis", "daemon")
"""The lab's logs that record what clusterdeck sent (request lines, statements, server log)."""


# -- the search --------------------------------------------------------------------------------------------

def forms(secret: str) -> dict[str, str]:
    """Every form of a secret that must not appear: name -> text."""
    out: dict[str, str] = {}
    for label, value in (("plain", secret), ("stripped", secret.strip())):
        if len(value) < 4:
            continue
        out[label] = value
        raw = value.encode()
        for enc_label, enc in (("base64", base64.b64encode(raw)), ("urlsafe-base64", base64.urlsafe_b64encode(raw))):
            text = enc.decode()
            out[f"{enc_label} of {label}"] = text
            out[f"unpadded {enc_label} of {label}"] = text.rstrip("=")
        if len(value) >= 12:
            out[f"first 12 chars of {label}"] = value[:12]
    return out


def hash_prefixes(secret: str) -> set[str]:
    """13 hex digits of the SHA-256 of a secret: one more than a fingerprint may show."""
    return {hashlib.sha256(v.encode()).hexdigest()[:13] for v in {secret, secret.strip()} if v}


class Outputs:
    """Everything collected, by where it came from."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, where: str, text: str | bytes | None) -> None:
        if text is None:
            return
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.items.append((where, text))

    def text(self) -> str:
        return "\n".join(t for _, t in self.items)

    def assert_shows(self, *needles: str) -> None:
        """The collection holds real content (a blank screen would pass the leak search too)."""
        text = self.text()
        missing = [n for n in needles if n not in text]
        assert not missing, f"expected in the collected outputs: {missing}"

    def assert_clean(self, secrets: Iterable[str]) -> None:
        secrets = [s for s in secrets if s]
        assert secrets, "the lab reported no secrets"
        assert self.items, "nothing was collected"
        found = []
        for where, text in self.items:
            lower = text.lower()
            for i, secret in enumerate(secrets):
                for label, form in forms(secret).items():
                    if form in text:
                        found.append(f"{where}: {label} of lab secret #{i}")
                for prefix in hash_prefixes(secret):
                    if prefix in lower:
                        found.append(f"{where}: more than 12 hex of the SHA-256 of lab secret #{i}")
            for m in re.finditer(r"sha256:([0-9a-fA-F]+)", text):
                if len(m.group(1)) > 12:
                    found.append(f"{where}: a fingerprint with {len(m.group(1))} hex digits")
        assert not found, "secrets leaked:\n" + "\n".join(sorted(set(found))[:50])


def dump(app: Any, where: str, out: Outputs) -> None:
    """The screenshot, plus every text of the current screen (hidden widgets, rows scrolled away), the
    notifications and the clipboard."""
    from textual.widgets import DataTable, Input, Static

    from tui.widgets.table import FilterableTable

    out.add(f"{where} screenshot", app.export_screenshot())
    parts = []
    for widget in app.screen.query("*"):
        if isinstance(widget, Static):
            content = widget.content
            parts.append(getattr(content, "plain", None) or str(content))
        elif isinstance(widget, FilterableTable):  # every row of the set, also those a filter hides
            parts += [label.plain for label in widget._labels]
            for key, _ in widget._all_rows:
                parts += [cell.plain for cell in widget.get_row(key)]
        elif isinstance(widget, DataTable):
            parts += [str(c.label) for c in widget.columns.values()]
            for key in list(widget.rows):
                parts += [getattr(cell, "plain", str(cell)) for cell in widget.get_row(key)]
        elif isinstance(widget, Input):
            parts.append(widget.value)
    parts += [n.message for n in app._notifications]
    parts.append(app.clipboard or "")
    out.add(f"{where} widgets", "\n".join(parts))


async def settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


# -- fixtures -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def log_offsets(lab: dict[str, Any]) -> dict[str, int]:
    """Size of each lab log before this module ran: what is appended after is clusterdeck's doing."""
    sizes = {}
    for name in LOGS:
        path = Path(lab["logs"].get(name, "/nonexistent"))
        sizes[name] = path.stat().st_size if path.exists() else 0
    return sizes


@pytest.fixture
def own_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """XDG state/cache/data dirs of their own (inherited by the CLI subprocesses): any file clusterdeck
    writes lands there and is scanned."""
    for var in ("XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        path = tmp_path / var.lower()
        path.mkdir()
        monkeypatch.setenv(var, str(path))
    return tmp_path


def scan_files(root: Path, out: Outputs, label: str) -> int:
    n = 0
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            out.add(f"{label} {path.relative_to(root)}", data)
            n += 1
    return n


def targets(lab: dict[str, Any]) -> list[Any]:
    from checks.targets import list_targets

    found = list_targets(lab_connections(lab))
    assert len(found) >= 8, found
    return found


# -- the TUI ------------------------------------------------------------------------------------------------

def _app(lab: dict[str, Any]) -> Any:
    return make_app(replace(lab_config(lab), refresh_interval=0), connections=lab_connections(lab))


async def test_tui_every_pane_leaks_nothing(lab: dict[str, Any], log_offsets: dict[str, int], own_dirs: Path) -> None:
    from tui.widgets.table import FilterableTable

    out = Outputs()
    app = _app(lab)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        dump(app, "overview", out)
        # Dragonfly: every user's detail with a DRYRUN, then memory, slowlog (values shown too), config
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        assert screen.error is None, screen.error
        dump(app, "dragonfly users", out)
        users = screen.query_one("#users", FilterableTable).visible_keys()
        assert {"default", "litellm", "appcache"} <= set(users)
        for name in users:
            screen.open_user(name)
            await pilot.pause()
            screen.query_one("#dryrun-input").value = ""
            await pilot.press(*f"GET {name}:x", "enter")
            await settle(pilot)
            dump(app, f"dragonfly user {name}", out)
            await pilot.press("escape")
            await pilot.pause()
        for key in ("m", "s", "v", "c"):
            await pilot.press(key)
            await pilot.pause()
            dump(app, f"dragonfly tab {key}", out)
        # CNPG: every role's detail (managed and others)
        await pilot.press("3")
        await settle(pilot)
        screen = app.screen
        assert screen.error is None, screen.error
        dump(app, "cnpg", out)
        keys = [r.key for c in screen.data.clusters for r in (*c.roles, *c.others)]
        assert len(keys) >= 5
        for key in keys:
            screen.open_detail(key)
            await pilot.pause()
            dump(app, f"cnpg role {key}", out)
            await pilot.press("c")  # copy the fix (clipboard and notification are dumped)
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
        # RustFS: the three tabs, every identity row highlighted
        await pilot.press("4")
        await settle(pilot)
        screen = app.screen
        for tab in ("b", "i", "m"):
            await pilot.press(tab)
            await settle(pilot)
            await settle(pilot)
            dump(app, f"rustfs tab {tab}", out)
        await pilot.press("i")
        await pilot.pause()
        for table_id in ("#users", "#policies"):
            table = screen.query_one(table_id, FilterableTable)
            table.focus()
            for row in range(table.row_count):
                table.move_cursor(row=row)
                await pilot.pause()
                dump(app, f"rustfs {table_id} row {row}", out)
        # Alerts: both tabs and an alert's detail
        await pilot.press("5")
        await settle(pilot)
        screen = app.screen
        dump(app, "alerts", out)
        await pilot.press("i")
        await pilot.pause()
        dump(app, "alerts detail", out)
        await pilot.press("escape", "t")
        await pilot.pause()
        dump(app, "alerts rules", out)
    out.assert_shows("sha256:", "DRYRUN GET litellm:x", "litellm-db", "NO LABEL", "% of maxmemory", "Watchdog",
                     "access key", "least privilege")
    _scan_own_files(own_dirs, out)
    out.assert_clean(lab["_secrets"])


async def test_tui_every_flow_for_every_consumer_leaks_nothing(lab: dict[str, Any], log_offsets: dict[str, int],
                                                               own_dirs: Path) -> None:
    from textual.widgets import DataTable, Input, Select

    out = Outputs()
    apps = [t.app for t in targets(lab)]
    app = _app(lab)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("6")
        await settle(pilot)
        screen = app.screen
        assert set(apps) <= set(screen.query_one("#targets").visible_keys())
        runs = [(flow, target, "") for target in apps for flow in FLOWS]
        runs += [("auto", "", error) for error in ERRORS] + [("auto", "ai-system/litellm", ERRORS[0])]
        for flow, target, error in runs:
            screen.query_one("#flow-select", Select).value = flow
            screen.query_one("#app-input", Input).value = target
            screen.query_one("#error-text", Input).value = error
            screen.action_run_flow()
            await settle(pilot)
            where = f"triage {flow} {target or error[:20]}"
            dump(app, where, out)
            steps = screen.query_one("#steps", DataTable)
            steps.focus()
            for row in range(steps.row_count):
                steps.move_cursor(row=row)
                await pilot.pause()
                out.add(f"{where} step {row}", str(screen.query_one("#step-detail").content))
            await pilot.press("c")
            await pilot.pause()
            out.add(f"{where} clipboard", app.clipboard)
        dump(app, "triage end", out)
    out.assert_shows("DF_PASSWORD_MISMATCH", "CNPG_PASSWORD_EXPIRED", "CNPG_RELOAD_LABEL_MISSING",
                     "S3_OVERBROAD_POLICY", "Fix (c copies)")
    _scan_own_files(own_dirs, out)
    out.assert_clean(lab["_secrets"])


def _scan_own_files(root: Path, out: Outputs) -> None:
    for var in ("xdg_state_home", "xdg_cache_home", "xdg_data_home"):
        scan_files(root / var, out, var)


# -- the CLI ------------------------------------------------------------------------------------------------

def _cli_runs(consumers: list[str]) -> list[tuple[str, ...]]:
    runs: list[tuple[str, ...]] = [("check", "--output", o) for o in ("text", "json", "junit")]
    for target in consumers:
        for flow in FLOWS:
            for output in ("text", "json"):
                runs.append(("triage", flow, "--app", target, "--output", output))
    for error in ERRORS:
        for output in ("text", "json"):
            runs.append(("triage", "--error", error, "--output", output))
    runs += [("triage", "--error", ERRORS[0], "--app", "ai-system/litellm"), ("lab", "status"), ("lab", "env")]
    return runs


def test_cli_every_command_and_format_leaks_nothing(lab: dict[str, Any], log_offsets: dict[str, int],
                                                    own_dirs: Path) -> None:
    out = Outputs()
    runs = _cli_runs([t.app for t in targets(lab)])
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = list(pool.map(lambda args: (args, run_cli(lab, *args, timeout=120)), runs))
    for args, proc in procs:
        assert proc.returncode in (0, 1, 2), (args, proc.returncode)
        out.add(f"clusterdeck {' '.join(args)} stdout", proc.stdout)
        out.add(f"clusterdeck {' '.join(args)} stderr", proc.stderr)
    assert sum(1 for args, p in procs if "json" in args and p.returncode in (0, 1) and p.stdout.startswith("{")) > 20
    out.assert_shows("DF_PASSWORD_MISMATCH", "CNPG_USERNAME_MISMATCH", "<testsuites>", "export KUBECONFIG=")
    _scan_own_files(own_dirs, out)
    out.assert_clean(lab["_secrets"])


def test_capture_bundle_and_replay_leak_nothing(lab: dict[str, Any], log_offsets: dict[str, int], own_dirs: Path,
                                                tmp_path: Path) -> None:
    probe = run_cli(lab, "capture", "--help")
    if probe.returncode != 0:
        pytest.skip("no `clusterdeck capture` command in this version: nothing to scan")
    bundle = tmp_path / "bundle.json.gz"
    proc = run_cli(lab, "capture", "-o", str(bundle), timeout=300)
    assert proc.returncode in (0, 2), proc.stderr
    assert bundle.exists(), proc.stderr
    out = Outputs()
    out.add("capture stdout", proc.stdout)
    out.add("capture stderr", proc.stderr)
    raw = gzip.decompress(bundle.read_bytes())
    doc = json.loads(raw)
    assert doc["calls"], "an empty bundle proves nothing"
    # a bundle keeps full digests of secrets on purpose (docs/bundle-format.md, "Digests"): search it for the
    # secrets themselves in every form, not for hash prefixes
    bundle_out = Outputs()
    bundle_out.add("bundle", raw)
    _assert_values_absent(bundle_out, lab["_secrets"])
    for args in (("check", "--output", "json"), ("triage", "dragonfly", "--app", "ai-system/litellm", "--output",
                                                  "json"), ("triage", "rustfs", "--app", "ai-system/langfuse")):
        replayed = run_cli(lab, "--from", str(bundle), *args, timeout=120)
        out.add(f"replay {' '.join(args)}", replayed.stdout + replayed.stderr)
    _scan_own_files(own_dirs, out)
    out.assert_clean(lab["_secrets"])


def _assert_values_absent(out: Outputs, secrets: list[str]) -> None:
    found = [f"{where}: {label} of lab secret #{i}" for where, text in out.items for i, s in enumerate(secrets)
             for label, form in forms(s).items() if form in text]
    assert not found, "secrets leaked:\n" + "\n".join(found[:50])


# -- files: snapshots, the servers' logs, what Redis kept ------------------------------------------------------

def test_snapshots_hold_no_secret(lab: dict[str, Any]) -> None:
    out = Outputs()
    root = Path(__file__).resolve().parent.parent / "snapshots"
    assert scan_files(root, out, "snapshots") >= 10
    fixture_secrets = ["not-a-real-password", "value-that-must-not-show"]
    try:
        from tests.test_pane_cnpg import FAKE_PASSWORDS

        fixture_secrets += list(FAKE_PASSWORDS.values())
    except ImportError:
        pass
    out.assert_clean([*lab["_secrets"], *fixture_secrets])


def test_server_logs_hold_no_secret_sent_by_clusterdeck(lab: dict[str, Any], log_offsets: dict[str, int]) -> None:
    """The request lines and statements clusterdeck caused (in this module, and the runs below), and Redis's own
    records of the commands it sent."""
    for args in (("check", "--output", "json"), ("triage", "dragonfly", "--app", "ai-system/litellm"),
                 ("triage", "cnpg", "--app", "ai-system/analytics-worker"), ("triage", "rustfs", "--app", "ai-system/langfuse")):
        assert run_cli(lab, *args, timeout=120).returncode in (0, 1), args
    out = Outputs()
    grew = 0
    for name, start in log_offsets.items():
        path = Path(lab["logs"].get(name, "/nonexistent"))
        if not path.exists():
            continue
        with path.open("rb") as fh:
            fh.seek(start)
            data = fh.read()
        grew += bool(data)
        out.add(f"lab log {name} (appended)", data)
    assert grew >= 2, "clusterdeck's requests should have reached the kube and S3 request logs"
    audit = Path(lab["dir"]) / "audit.log"
    if audit.exists():
        out.add("audit log", audit.read_bytes())
    out.add("redis records", _redis_records(lab))
    out.assert_clean(lab["_secrets"])


def _redis_records(lab: dict[str, Any]) -> str:
    """SLOWLOG, ACL LOG and CLIENT LIST as the lab's Redis keeps them (what clusterdeck's commands left)."""
    import redis

    from lab.access import plan_of

    admin = plan_of(lab)["redis"]["default"]["live"]
    client = redis.Redis(host=lab["redis"]["host"], port=lab["redis"]["port"], username="default", password=admin,
                         socket_timeout=5)
    try:
        parts = [repr(client.execute_command("SLOWLOG", "GET", "1000")),
                 repr(client.execute_command("ACL", "LOG", "1000")), repr(client.execute_command("CLIENT", "LIST"))]
    finally:
        client.close()
    return "\n".join(parts)


# -- the audit log, on a lab of its own (write probes) ------------------------------------------------------------

def test_write_probes_and_audit_log_leak_nothing(scratch_lab: dict[str, Any], own_dirs: Path) -> None:
    out = Outputs()
    runs = [("triage", "rustfs", "--app", app, "--allow-writes", "--yes", "--output", o)
            for app in ("ai-system/litellm", "monitoring/loki", "cache/dragonfly") for o in ("text", "json")]
    runs += [("triage", "dragonfly", "--app", "automation/n8n", "--allow-writes", "--yes")]
    for args in runs:
        proc = run_cli(scratch_lab, *args, timeout=180)
        assert proc.returncode in (0, 1, 2), (args, proc.stderr)
        out.add(f"clusterdeck {' '.join(args)}", proc.stdout + proc.stderr)
    audit = Path(scratch_lab["dir"]) / "audit.log"
    assert audit.exists() and audit.read_text().strip(), "the write probes should have been audited"
    out.add("audit log", audit.read_bytes())
    _scan_own_files(own_dirs, out)
    out.assert_clean(scratch_lab["_secrets"])


# -- a crash report -----------------------------------------------------------------------------------------------

async def test_a_crash_report_shows_no_local_variables() -> None:
    """Textual reports a crash with every frame's locals; a frame holding a secret must not reach that report
    (it is printed to the terminal, often a CI log)."""
    from rich.console import Console
    from textual.app import App

    from checks.config import Config
    from checks.overview import Overview

    import secrets

    marker = "crash-" + secrets.token_hex(12)  # made at run time: the report quotes source lines

    def compare(password: str) -> None:
        raise RuntimeError("comparison failed")

    async def report(fatal: Any) -> str:
        app = make_app(Config(refresh_interval=0, kubeconfig="/nonexistent/crash-test"),
                       static_data={"overview": Overview("ctx", (), ())})
        async with app.run_test(size=SIZE):
            try:
                compare(marker)
            except RuntimeError:
                fatal(app)
                rendered = list(app._exit_renderables)
                app._exit_renderables.clear()
        console = Console(record=True, width=150, file=open("/dev/null", "w"))
        for renderable in rendered:
            console.print(renderable)
        return console.export_text()

    assert marker in await report(App._fatal_error), "Textual's own report shows locals: the test can tell"
    text = await report(lambda app: app._fatal_error())
    assert "comparison failed" in text and "compare" in text
    assert marker not in text and marker[:12] not in text
