"""Rich Text for the CNPG pane: cluster headers, role rows, the five source panels and the verdict.

Every server-provided string goes through `clean`/`safe`; nothing here builds markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from rich.text import Text

from checks.cnpg_view import ClusterView, RoleRow
from checks.model import Step
from tui.safe import STATUS_MARK, STATUS_STYLE, clean
from tui.widgets.table_rows import Cell, StoredRow, cell

SEV_STYLE = {"fail": "bold red", "warn": "yellow", "pass": "green"}
ROLE_COLUMNS = ("", "role", "why", "operator", "password Secret", "database", "consumers")
OTHER_COLUMNS = ("role", "status", "database", "note")
BAD, OK, DIM = "red", "green", "dim"


def _day(t: datetime | None) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%d") if t else "?"


def _stamp(t: datetime | None) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if t else "unknown"


def _join(parts: Sequence[tuple[str, str]]) -> Cell:
    """Parts joined by spaces, each in its style: a stored cell (`cell`) when they share one style, which most
    cells of 2,000 roles do, else a Text."""
    if not parts:
        return ""
    if all(style == parts[0][1] for _, style in parts):
        return cell(" ".join(text for text, _ in parts), parts[0][1])
    out = Text()
    for i, (text, style) in enumerate(parts):
        if i:
            out.append(" ")
        out.append(clean(text), style=style)
    return out


def cluster_header(c: ClusterView) -> Text:
    text = Text()
    text.append(STATUS_MARK.get(c.severity, "?") + " ", style=SEV_STYLE[c.severity])
    text.append(clean(c.ref), style="bold")
    text.append("  ")
    text.append(clean(c.phase or "no phase"), style=OK if c.healthy else "bold yellow")
    text.append(f"  · primary {clean(c.primary or '?')} · {c.ready_instances}/{c.instances} instances ready",
                style="" if c.ready_instances >= c.instances else "yellow")
    failing = sum(1 for r in c.roles if r.severity == "fail")
    warning = sum(1 for r in c.roles if r.severity == "warn")
    text.append(f"  · {len(c.roles)} managed roles", style=DIM)
    if failing:
        text.append(f", {failing} failing", style=BAD)
    if warning:
        text.append(f", {warning} warning", style="yellow")
    if c.pg_error:
        text.append("\n  database not readable: ", style="bold magenta")
        text.append(clean(c.pg_error, 300))
    for p in c.problems:
        text.append("\n  " + clean(p, 300), style="magenta")
    return text


def _operator(r: RoleRow) -> Cell:
    if r.cannot_reconcile:
        return cell("cannot", "bold red")
    short = {"pending-reconciliation": "pending", "": "unlisted"}.get(r.bucket, r.bucket)
    parts = [(short, OK if r.bucket == "reconciled" else "yellow")]
    s = r.secret
    if s is not None and s.exists and s.applied_version and s.applied_version != s.resource_version:
        parts.append(("rv≠", BAD))
    return _join(parts)


def _secret(r: RoleRow) -> Cell:
    s = r.secret
    if s is None or not s.name:
        return cell("none declared", BAD)
    if not s.exists:
        return _join([(s.name, BAD), ("missing", "bold red")])
    parts = [(s.name, "")]
    if not s.username_matches:
        parts.append(("user≠", BAD))
    if not s.reload_label:
        parts.append(("no-reload", BAD))
    if "newline" in s.password or "whitespace" in s.password:
        parts.append(("\\n", BAD))
    return _join(parts)


def _database(r: RoleRow) -> Cell:
    pg = r.pg
    if pg is None:
        return cell("?", DIM)
    if not pg.exists:
        return cell("missing", "bold red")
    if pg.expired:
        return cell(f"expired {_day(pg.valid_until)}", BAD)
    parts = [("login", OK) if pg.can_login else ("NOLOGIN", BAD)]
    if pg.valid_until is not None:
        parts.append((f"→{_day(pg.valid_until)}", "yellow"))
    limit = "∞" if pg.conn_limit < 0 else str(pg.conn_limit)
    full = pg.conn_limit >= 0 and pg.connections >= pg.conn_limit and not pg.superuser
    parts.append((f"{pg.connections}/{limit}", BAD if full else DIM))
    return _join(parts)


def _consumers(r: RoleRow) -> Cell:
    if not r.consumers:
        return cell("none", DIM)
    parts: list[tuple[str, str]] = []
    for c in r.consumers[:2]:
        name = c.workload.split("/", 1)[-1]
        if c.stale:
            parts.append((f"{name} stale", BAD))
        elif c.read_at_start and not c.reloader_watches:
            parts.append((f"{name} ▲", "yellow"))
        else:
            parts.append((name, ""))
    if len(r.consumers) > 2:
        parts.append((f"+{len(r.consumers) - 2}", DIM))
    return _join(parts)


def role_cells(r: RoleRow) -> StoredRow:
    """A managed role's row, its cells in their stored form (2,000 roles: a Text only where styles mix)."""
    style = SEV_STYLE[r.severity]
    return StoredRow((cell(STATUS_MARK.get(r.severity, "?"), style), cell(r.name, "bold"),
                      cell(r.reason or "ok", style if r.severity != "pass" else DIM, limit=40), _operator(r),
                      _secret(r), _database(r), _consumers(r)))


def other_cells(r: RoleRow) -> StoredRow:
    return StoredRow((cell(r.name, DIM), cell(r.category, DIM), _database(r) if r.pg else cell("?", DIM),
                      cell(r.reason, DIM)))


# -- detail ---------------------------------------------------------------------------------------

def _kv(text: Text, key: str, value: str, style: str = "") -> None:
    text.append(f"{key:<11}", style=DIM)
    text.append(clean(value) + "\n", style=style)


def _yes(flag: bool, yes: str = "yes", no: str = "no") -> tuple[str, str]:
    return (yes, OK) if flag else (no, BAD)


def panel_spec(r: RoleRow) -> Text:
    t = Text("Spec\n", style="bold")
    s = r.spec
    if s is None:
        t.append(f"not in spec.managed.roles\n({r.category})\n", style="yellow")
        return t
    _kv(t, "ensure", s.ensure, OK if s.ensure == "present" else BAD)
    _kv(t, "login", *_yes(s.login, "true", "false"))
    _kv(t, "secret", s.password_secret or "(none)", "" if s.password_secret else BAD)
    _kv(t, "validUntil", s.valid_until or "never")
    _kv(t, "connLimit", str(s.connection_limit))
    _kv(t, "inRoles", ", ".join(s.in_roles) or "–")
    if s.disable_password:
        _kv(t, "password", "disabled", "yellow")
    return t


def panel_status(r: RoleRow) -> Text:
    t = Text("Operator status\n", style="bold")
    _kv(t, "bucket", r.bucket or "(not listed)", OK if r.bucket == "reconciled" else "yellow")
    s = r.secret
    _kv(t, "applied", (s.applied_version if s else "") or "–")
    _kv(t, "txid", str(r.transaction_id or "–"))
    if r.cannot_reconcile:
        t.append("cannotReconcile\n", style="bold red")
        for line in r.cannot_reconcile:
            t.append("· " + clean(line, 400) + "\n", style=BAD)
    return t


def panel_secret(r: RoleRow) -> Text:
    s = r.secret
    t = Text("Password Secret\n", style="bold")
    if s is None or not s.name:
        t.append("none declared\n", style=BAD if r.category == "managed" else DIM)
        return t
    _kv(t, "name", s.name)
    if not s.exists:
        t.append("not found\n", style="bold red")
        return t
    _kv(t, "type", s.type.replace("kubernetes.io/", ""), OK if s.type == "kubernetes.io/basic-auth" else "yellow")
    _kv(t, "username", s.username, OK if s.username_matches else BAD)
    _kv(t, "reload", *_yes(s.reload_label, "labelled", "NO LABEL"))
    synced = not s.applied_version or s.applied_version == s.resource_version
    _kv(t, "rv now", s.resource_version, OK if synced else BAD)
    _kv(t, "changed", _stamp(s.last_changed))
    _kv(t, "password", s.password, BAD if "newline" in s.password or "whitespace" in s.password else "")
    return t


def panel_pg(r: RoleRow) -> Text:
    t = Text("PostgreSQL\n", style="bold")
    pg = r.pg
    if pg is None:
        t.append("catalog not read\n", style=DIM)
        return t
    if not pg.exists:
        t.append("role missing\n", style="bold red")
        return t
    _kv(t, "login", *_yes(pg.can_login, "LOGIN", "NOLOGIN"))
    _kv(t, "valid", _stamp(pg.valid_until) if pg.valid_until else "never", BAD if pg.expired else "")
    limit = "∞" if pg.conn_limit < 0 else str(pg.conn_limit)
    _kv(t, "sessions", f"{pg.connections} / {limit}")
    _kv(t, "member of", ", ".join(pg.member_of) or "–")
    if pg.xmin is not None:
        drift = bool(r.transaction_id) and pg.xmin != r.transaction_id
        _kv(t, "xmin", f"{pg.xmin}" + (" ≠ txid" if drift else ""), BAD if drift else "")
    if pg.has_password is False:
        _kv(t, "password", "NULL", BAD)
    return t


def panel_consumers(r: RoleRow) -> Text:
    t = Text("Consumers\n", style="bold")
    if not r.consumers:
        t.append("no workload reads the Secret\n", style=DIM)
    for c in r.consumers:
        t.append(clean(c.workload) + "\n", style="bold red" if c.stale else "bold")
        _kv(t, " pods", f"{len(c.pods)}, {len(c.stale)} stale" if c.stale else str(len(c.pods)),
            BAD if c.stale else "")
        _kv(t, " started", _stamp(c.oldest_start))
        _kv(t, " reloader", *_yes(c.reloader_watches))
        _kv(t, " hash", c.hash_state, BAD if c.hash_state == "mismatch" else "")
    return t


def verdict(steps: Sequence[Step]) -> Text:
    """Steps as a checklist, then the evidence and exact fix of each problem."""
    t = Text()
    for s in steps:
        t.append(f"{STATUS_MARK.get(s.status, '?')} {s.id} ", style=STATUS_STYLE.get(s.status, ""))
        t.append(clean(s.title))
        if s.code:
            t.append(f"  {s.code}", style="bold")
        t.append("\n")
    for s in steps:
        if s.status not in ("fail", "warn", "error"):
            continue
        t.append(f"\n{s.id} {clean(s.title)}\n", style="bold " + STATUS_STYLE.get(s.status, ""))
        for e in s.evidence:
            t.append("· " + clean(e, 600) + "\n")
        if s.fix:
            t.append("fix:\n", style="bold")
            t.append(clean_block(s.fix) + "\n", style="cyan")
    return t


def clean_block(text: str) -> str:
    """Multi-line fix text, each line cleaned."""
    return "\n".join(clean(line, 400) for line in text.splitlines())
