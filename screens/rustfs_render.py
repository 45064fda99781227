"""Rows and detail texts of the RustFS pane, built from checks.rustfs_view data (server text via safe())."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text

from checks.rustfs_matrix import AccessMatrix, AccessRow
from checks.rustfs_view import BucketRow, IdentityView, PolicyView, UserView
from tui.safe import clean, safe
from tui.widgets.table_rows import Cell, StoredRow, cell

BUCKET_COLUMNS = ("bucket", "objects", "size", "", "created", "policy", "versioning", "note")
USER_COLUMNS = ("user", "status", "groups", "policies (user + groups)", "lint", "access keys", "used by")
POLICY_COLUMNS = ("policy", "attached to", "bucket", "lint", "first issue")
BAR_WIDTH = 16
_EIGHTHS = " ▏▎▍▌▋▊▉"
MARK = {"ok": Text("✔ ok", style="green"), "lint": Text("✘ lint", style="bold red"),
        "broad": Text("▲ broad", style="yellow"), "none": Text("· none", style="dim"),
        "admin": Text("admin", style="dim")}


def lines(value: str, limit: int = 6000) -> str:
    """Multi-line server text made inert line by line (clean() alone would turn newlines into �)."""
    return "\n".join(clean(line, limit) for line in str(value).splitlines()[:400])


def human_bytes(n: int | None) -> str:
    if n is None:
        return "…"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def bar(value: int | None, top: int, width: int = BAR_WIDTH) -> Cell:
    """A horizontal bar scaled to `top` with eighth-block precision (a stored table cell)."""
    if not value or top <= 0:
        return cell(" " * width)
    eighths = max(1, round(value / top * width * 8))
    full, part = divmod(eighths, 8)
    body = "█" * full + (_EIGHTHS[part] if part else "")
    return cell(body.ljust(width), "cyan" if value < top else "bold cyan")


def bucket_rows(rows: tuple[BucketRow, ...] | list[BucketRow],
                memo: dict[str, tuple[BucketRow, int, tuple[Any, ...]]] | None = None) -> list[tuple[str, tuple[Any, ...]]]:
    """The bucket table's rows. With `memo` (bucket name -> (row, top, cells)), a bucket's cells are built once
    and reused while its row object and (when it has a size bar) the largest size are unchanged."""
    top = max((r.total_bytes or 0 for r in rows), default=0)
    out = []
    for r in rows:
        if memo is not None:
            hit = memo.get(r.name)
            if hit is not None and hit[0] is r and (hit[1] == top or not r.total_bytes):
                out.append((r.name, hit[2]))
                continue
        cells = bucket_cells(r, top)
        if memo is not None:
            memo[r.name] = (r, top, cells)
        out.append((r.name, cells))
    return out


_PENDING_TAILS: dict[str, tuple[Cell, ...]] = {}
"""Creation date -> the cells after the name of a bucket whose details are not loaded yet (all alike)."""
_DATES: dict[Any, str] = {}


def bucket_cells(r: BucketRow, top: int) -> StoredRow:
    """One bucket's cells, made in their stored form (5,000 buckets: no Text per cell); `top` = the largest
    bucket size (the bar's scale). A bucket listed but not yet counted differs from the others only by its
    name and date: its other cells are made once per date."""
    if r.objects is None and r.total_bytes is None and r.policy_present is None and r.versioning is None \
            and not r.truncated and not r.error:
        date = _date(r)
        tail = _PENDING_TAILS.get(date)
        if tail is None:
            if len(_PENDING_TAILS) > 10_000:
                _PENDING_TAILS.clear()
            tail = _PENDING_TAILS[date] = full_bucket_cells(r, top)[1:]
        return StoredRow((cell(r.name, "bold"), *tail))
    return full_bucket_cells(r, top)


def full_bucket_cells(r: BucketRow, top: int) -> StoredRow:
    """bucket_cells, every cell made anew."""
    if r.error:
        return StoredRow((cell(r.name, "bold"), cell("?"), cell(""), cell(""), cell(_date(r)), cell("?"), cell("?"),
                          cell(r.error, "red", limit=80)))
    count = "…" if r.objects is None else f"{r.objects:,}" + ("+" if r.truncated else "")
    policy = {None: "…" if r.objects is None else "?", True: "yes", False: "no"}[r.policy_present]
    return StoredRow((cell(r.name, "bold"), cell(count, justify="right"),
                      cell(human_bytes(r.total_bytes), justify="right"), bar(r.total_bytes, top), cell(_date(r)),
                      cell(policy, "yellow" if policy == "yes" else ""),
                      cell(r.versioning or ("…" if r.objects is None else "?")),
                      cell("counted up to the page limit" if r.truncated else "", "dim")))


def _date(r: BucketRow) -> str:
    if not r.created:
        return "?"
    key = (r.created, r.created.utcoffset())  # equal instants in other zones print otherwise
    text = _DATES.get(key)
    if text is None:
        if len(_DATES) > 10_000:
            _DATES.clear()
        text = _DATES[key] = r.created.strftime("%Y-%m-%d %H:%M")
    return text


def user_rows(identity: IdentityView) -> list[tuple[str, tuple[Any, ...]]]:
    out = []
    for u in identity.users:
        mark = MARK["admin"] if u.name == identity.admin_user else MARK.get(u.worst, safe(u.worst))
        status = safe(u.status, "green" if u.status == "enabled" else "bold red")
        keys = ", ".join(u.access_keys) if u.access_keys else "none"
        policies = ", ".join(p.split(" (via ")[0] for p in u.policies)
        cells = (safe(u.name, "bold"), status, safe(", ".join(u.groups) or "–"), safe(policies or "–"),
                 mark, safe(keys, "" if u.access_keys else "yellow"), safe(", ".join(u.apps) or "–"))
        out.append((u.name, cells))
    return out


def policy_mark(p: PolicyView, identity: IdentityView) -> Text:
    if identity.admin_user and p.attached_to == (f"user {identity.admin_user}",):
        return MARK["admin"]
    return MARK[p.mark]


def policy_rows(identity: IdentityView) -> list[tuple[str, tuple[Any, ...]]]:
    out = []
    for p in identity.policies:
        first = p.issues[0].message if p.issues else ""
        cells = (safe(p.name, "bold"), safe(", ".join(p.attached_to) or "not attached"), safe(p.bucket or "–"),
                 policy_mark(p, identity), safe(first, limit=90))
        out.append((p.name, cells))
    return out


def policy_detail(p: PolicyView, identity: IdentityView) -> Text:
    text = Text()
    text.append(clean(p.name), style="bold")
    text.append("  ")
    text.append_text(policy_mark(p, identity))
    text.append("\nattached to: " + clean(", ".join(p.attached_to) or "nothing") + "\n")
    if p.bucket:
        text.append("linted against bucket " + clean(p.bucket) + "\n")
    for issue in p.issues:
        text.append(("✘ " if issue.code == "S3_POLICY_LINT" else "▲ ") + clean(issue.code) + ": ",
                    style="bold red" if issue.code == "S3_POLICY_LINT" else "yellow")
        text.append(clean(issue.message) + "\n")
    text.append("\ndocument:\n", style="bold")
    text.append(lines(json.dumps(p.document, indent=2)) + "\n")
    if p.issues and p.issues[0].fix:
        text.append("\ncorrected policy (RustFS Console → Identity → Policies → Edit):\n", style="bold")
        text.append(lines(p.issues[0].fix) + "\n", style="cyan")
    return text


def user_detail(u: UserView) -> Text:
    text = Text()
    text.append(clean(u.name), style="bold")
    text.append(f"  {clean(u.status)}\n")
    text.append("groups: " + clean(", ".join(u.groups) or "none") + "\n")
    text.append("policies: " + clean(", ".join(u.policies) or "none") + "\n")
    text.append("access keys: " + clean(", ".join(u.access_keys) or "none") + "\n")
    text.append("used by: " + clean(", ".join(u.apps) or "no workload found") + "\n")
    return text


def matrix_columns(m: AccessMatrix) -> tuple[str, ...]:
    return ("app", "access key", "own bucket", *m.buckets, "flags")


def _cell(row: AccessRow, bucket: str, idx: int, writes: bool) -> Text:
    if row.auth != "ok":
        return Text("✘", style="dim red")
    cell = row.cells[idx] if idx < len(row.cells) else None
    if cell is None:
        return Text("?", style="dim")
    marks = ("L" if cell.can_list else "-") + ("R" if cell.can_read else "-")
    if writes:
        marks += "W" if cell.can_write else "-"
    if not cell.any_access:
        return Text("·" if bucket != row.own_bucket else marks, style="dim" if bucket != row.own_bucket else "bold red")
    if bucket == row.own_bucket:
        style = "bold green" if cell.can_list and cell.can_read else "bold yellow"
    else:
        style = "dim" if row.admin else "bold red reverse"
    return Text(marks, style=style)


def matrix_rows(m: AccessMatrix) -> list[tuple[str, tuple[Any, ...]]]:
    out = []
    for r in m.rows:
        flags = r.flags
        flag_style = "dim" if r.admin else ("bold red" if r.overbroad or r.auth != "ok" else "yellow")
        cells = (safe(r.app, "bold"), safe(r.access_key), safe(r.own_bucket or "–"),
                 *(_cell(r, b, i, m.writes_probed) for i, b in enumerate(m.buckets)),
                 safe("; ".join(flags) if flags else "least privilege ✔", flag_style if flags else "green"))
        out.append((r.app, cells))
    return out


def matrix_legend(m: AccessMatrix) -> Text:
    text = Text()
    text.append("L", style="bold")
    text.append(" list  ")
    text.append("R", style="bold")
    text.append(" read  ")
    text.append("W", style="bold")
    text.append(" write " + ("(probe object, deleted)  " if m.writes_probed else "(not probed: read-only)  "))
    text.append("LR", style="bold green")
    text.append(" own bucket  ")
    text.append("LR", style="bold red reverse")
    text.append(" breaks least privilege  ")
    text.append("✘", style="dim red")
    text.append(" keys rejected")
    if m.left_out:
        text.append(f"   ({m.left_out} more buckets not probed)", style="dim")
    return text


def matrix_detail(row: AccessRow, m: AccessMatrix) -> Text:
    """The highlighted application's keys, Secret, and every flag in full."""
    text = Text()
    text.append(clean(row.app), style="bold")
    text.append("  access key " + clean(row.access_key))
    if row.secret:
        text.append("  secret key in " + clean(row.secret))
    text.append("\n")
    flags = row.flags
    if not flags:
        text.append("least privilege ✔: only its own bucket is reachable\n", style="green")
    for flag in flags:
        text.append("· " + clean(flag) + "\n", style="dim" if row.admin else "yellow")
    if row.overbroad:
        text.append("fix: narrow the user's policy to arn:aws:s3:::" + clean(row.own_bucket or "<bucket>") +
                    " and /* (run `clusterdeck triage rustfs --app " + clean(row.app) + "` for the JSON)\n",
                    style="cyan")
    return text
