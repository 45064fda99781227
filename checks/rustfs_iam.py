"""RustFS identity (users, groups, policies, which user owns an access key) read with the admin keys.

Primary source: the RustFS admin API (`checks.sources.rustfs_admin.RustfsAdmin`). When that answers
404 (the lab's moto server, or an S3 server without it), the same admin keys read the AWS IAM API
instead (checks.rustfs_iam_api), which returns the same snapshot (checks.rustfs_identity) with its limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from checks.connect_factories import read_ahead, shared_read
from checks.errors import SourceError
from checks.rustfs_iam_api import iam_snapshot
from checks.rustfs_identity import SOURCE_ADMIN, AccessKeyInfo, IamSnapshot
from checks.sources.rustfs_admin import RustfsAdmin, RustfsUser
from checks.tasks import Tasks

R = TypeVar("R")

def admin_users(conns: Any, ep: Any, admin: RustfsAdmin | None = None) -> tuple[RustfsUser, ...]:
    """The admin API's list-users with the keys of `ep`, shared by the Overview's permission probe and the
    identity snapshot of one refresh (`Connections.recent`), its failure too (an S3 server without the RustFS
    admin API answers 404 to both)."""
    if admin is None:
        admin = conns.rustfs_admin_client(ep.endpoint_url, ep.access_key, ep.secret_key, ep.region,
                                          float(getattr(conns.config, "timeout", 5.0)))

    def load() -> tuple[str, Any]:
        try:
            return "ok", admin.list_users()
        except SourceError as exc:
            return "error", exc

    outcome, value = shared_read(conns, ("rustfs-admin-users", ep.endpoint_url, ep.access_key, ep.secret_key,
                                         ep.region), load)
    if outcome == "error":
        raise value
    return value


def _admin_snapshot(admin: RustfsAdmin, users: tuple[RustfsUser, ...] | None = None) -> IamSnapshot:
    users = admin.list_users() if users is None else users
    names = admin.groups()
    with Tasks(max_workers=8) as pool:
        groups = tuple(pool.map(admin.group, names))
        accounts = list(pool.map(lambda u: _service_accounts(admin, u.access_key), users))
    keys = [AccessKeyInfo(u.access_key, u.access_key, u.status or "enabled", "user") for u in users]
    for found in accounts:
        keys += found
    return IamSnapshot(SOURCE_ADMIN, users, groups, admin.list_policies(), tuple(keys), (), admin.access_key)


def _service_accounts(admin: RustfsAdmin, user: str) -> list[AccessKeyInfo]:
    try:
        data = admin.get("list-service-accounts", user=user) or {}
    except SourceError as exc:
        if exc.kind in ("notfound", "forbidden", "auth"):
            return []
        raise
    rows = data.get("accounts", []) if isinstance(data, dict) else data
    out = []
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and row.get("accessKey"):
            status = "disabled" if str(row.get("accountStatus", "on")).lower() in ("off", "disabled") else "enabled"
            out.append(AccessKeyInfo(str(row["accessKey"]), str(row.get("parentUser") or user), status,
                                     "service-account"))
    return out


def load_iam(conns: Any, endpoint: Any = None) -> IamSnapshot:
    """Read RustFS identity with the admin Secret's keys; SourceError when there is no admin access.

    The snapshot is kept for a few seconds per Connections (`Connections.recent`: single-flight, so the panes
    and flows of one refresh share one load of ~35 requests; forgotten after any write and on an explicit
    reload)."""
    ep = endpoint or conns.rustfs_admin()
    return shared_read(conns, ("iam-snapshot", ep.endpoint_url, ep.access_key, ep.secret_key, ep.region),
                       lambda: _load_iam(conns, ep))


def _load_iam(conns: Any, ep: Any) -> IamSnapshot:
    """By the RustFS admin API when the server has it (its list-users answers), else by the IAM API. From the
    second time on, the snapshot does not wait for list-users: it is made with the API (and the users) that
    answered last while list-users is asked again, and made again if that answer changed
    (`Connections.ahead`)."""
    timeout = float(getattr(conns.config, "timeout", 5.0))
    admin = conns.rustfs_admin_client(ep.endpoint_url, ep.access_key, ep.secret_key, ep.region, timeout)

    def api() -> tuple[str, tuple[RustfsUser, ...]]:
        try:
            return "admin", admin_users(conns, ep, admin)
        except SourceError as exc:
            if exc.kind != "notfound":
                raise
        return "iam", ()

    def snapshot(answer: tuple[str, tuple[RustfsUser, ...]]) -> IamSnapshot:
        kind, users = answer
        if kind == "admin":
            return _admin_snapshot(admin, users)
        return iam_snapshot(conns.iam(ep.endpoint_url, ep.access_key, ep.secret_key, ep.region, timeout), conns)

    return read_ahead(conns, ("rustfs-identity-api", ep.endpoint_url, ep.access_key), api, snapshot)


@dataclass(frozen=True)
class AdminAccess:
    """Admin data for the flow and the pane, or why there is none."""

    iam: IamSnapshot | None = None
    """The identity snapshot, None when it could not be read."""
    reason: str = ""
    """Why there is no (identity) admin access, naming the Secret / config keys."""
    s3: Any = field(default=None, repr=False, compare=False)
    """An S3Source signed with the admin keys (None without the admin Secret)."""


def admin_endpoint(conns: Any) -> Any:
    """`conns.rustfs_admin()`, or the SourceError saying why there is no admin access (returned, not raised)."""
    try:
        return conns.rustfs_admin()
    except SourceError as exc:
        return exc


def with_admin_endpoint(conns: Any, run: Callable[[Any], R]) -> R:
    """`run(admin_endpoint(conns))`. From the second time on, `run` does not wait for the admin Secret and
    Service to be read again: it starts with the last endpoint while they are read, and is made again if they
    changed (`Connections.ahead`). The RustFS pane and the Overview's probe share that last endpoint."""
    return read_ahead(conns, ("rustfs-admin",), lambda: admin_endpoint(conns), run)


def try_admin(conns: Any, with_s3: Callable[[Any, Any], None] | None = None, endpoint: Any = None) -> AdminAccess:
    """The admin S3 client and identity snapshot; never raises for missing/insufficient admin access.

    `with_s3(s3, endpoint)` is called with the admin S3 client as soon as it exists, before identity is read (the pane
    lists the buckets meanwhile). `endpoint`: what `admin_endpoint` answered, when the caller has it."""
    ep = admin_endpoint(conns) if endpoint is None else endpoint
    if isinstance(ep, SourceError):
        return AdminAccess(None, f"{ep.title}: {ep.message}")
    timeout = float(getattr(conns.config, "timeout", 5.0))
    s3 = conns.s3(ep.endpoint_url, ep.access_key, ep.secret_key, ep.region, timeout)
    if with_s3 is not None:
        with_s3(s3, ep)
    try:
        return AdminAccess(load_iam(conns, ep), "", s3)
    except SourceError as exc:
        return AdminAccess(None, f"{exc.title}: {exc.message}", s3)
