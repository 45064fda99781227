"""Headless data of the RustFS pane: buckets (names first, details loaded lazily), identity with policy
lint, and (in checks.rustfs_matrix) the access matrix of every application's keys."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from checks.connect_factories import shared_read
from checks.errors import SourceError
from checks.parsers.s3_policy import PolicyLintIssue, lint_policy
from checks.sources.rustfs_admin import RustfsGroup
from checks.tasks import Tasks

if TYPE_CHECKING:
    from checks.rustfs_apps import S3App
    from checks.rustfs_identity import IamSnapshot
    from checks.rustfs_matrix import AccessMatrix
    from checks.sources.s3 import S3Source

SUMMARY_MAX_PAGES = 20
"""Object counting stops after this many ListObjectsV2 pages (1000 keys each) per bucket."""


@dataclass(frozen=True)
class BucketRow:
    """One bucket; the detail fields are None until its second-pass load."""

    name: str
    """Bucket name."""
    created: datetime | None = None
    """CreationDate from ListBuckets."""
    objects: int | None = None
    """Objects counted (None = not loaded yet)."""
    total_bytes: int | None = None
    """Sum of object sizes (None = not loaded yet)."""
    policy_present: bool | None = None
    """A bucket policy exists (None = unknown)."""
    versioning: str | None = None
    """Enabled | Suspended | Disabled (None = unknown)."""
    truncated: bool = False
    """Counting stopped at SUMMARY_MAX_PAGES pages: the counts are lower bounds."""
    error: str = ""
    """Why the details could not be read."""

    @property
    def loaded(self) -> bool:
        return self.objects is not None or bool(self.error)


@dataclass(frozen=True)
class BucketsView:
    """Every bucket the admin keys can list."""

    buckets: tuple[BucketRow, ...] = ()
    """Buckets sorted by name."""
    error: str = ""
    """Why the buckets could not be listed ('' when they were)."""


@dataclass(frozen=True)
class PolicyView:
    """A policy, where it is attached, and its lint."""

    name: str
    """Policy name."""
    document: dict[str, Any] = field(default_factory=dict)
    """The policy JSON."""
    attached_to: tuple[str, ...] = ()
    """`user NAME` / `group NAME` entries."""
    bucket: str = ""
    """The application bucket it was linted against ('' = inferred from the document)."""
    issues: tuple[PolicyLintIssue, ...] = ()
    """Lint findings (empty = follows the pattern)."""

    @property
    def mark(self) -> str:
        """ok | lint | broad: the worst kind of issue."""
        if any(i.code == "S3_POLICY_LINT" for i in self.issues):
            return "lint"
        return "broad" if self.issues else "ok"


@dataclass(frozen=True)
class UserView:
    """A RustFS user with everything that decides its access."""

    name: str
    """User name (the access key for RustFS users)."""
    status: str
    """enabled | disabled."""
    groups: tuple[str, ...] = ()
    """Groups it belongs to."""
    policies: tuple[str, ...] = ()
    """`policy (via user|group G)` entries."""
    access_keys: tuple[str, ...] = ()
    """Access key ids it owns (ids only)."""
    apps: tuple[str, ...] = ()
    """Workloads whose Secrets hold one of its keys."""
    worst: str = "ok"
    """Worst lint mark among its policies: ok | lint | broad | none (no policy)."""


@dataclass(frozen=True)
class IdentityView:
    """Users, groups and policies read with the admin keys."""

    source: str = ""
    """Which API answered."""
    users: tuple[UserView, ...] = ()
    """Users."""
    groups: tuple[RustfsGroup, ...] = ()
    """Groups."""
    policies: tuple[PolicyView, ...] = ()
    """Policies with lint."""
    limits: tuple[str, ...] = ()
    """What the source cannot tell."""
    error: str = ""
    """Why identity could not be read (no admin Secret, not admin keys, …)."""
    admin_user: str = ""
    """The user owning the admin keys clusterdeck uses (its broad policy is expected)."""


@dataclass(frozen=True)
class RustfsData:
    """Everything the RustFS pane shows."""

    buckets: BucketsView
    """Buckets tab."""
    identity: IdentityView
    """Identity tab."""
    matrix: AccessMatrix | None = None
    """Access-matrix tab (None until computed: it probes every app × bucket)."""
    endpoint: str = ""
    """In-cluster Service the data came from."""


def admin_s3(conns: Any) -> S3Source:
    """An S3 client signed with the admin Secret's keys."""
    ep = conns.rustfs_admin()
    return conns.s3(ep.endpoint_url, ep.access_key, ep.secret_key, ep.region, float(conns.config.timeout))


def recent_buckets(conns: Any, ep: Any) -> Any:
    """ListBuckets with the admin keys of `ep` (an S3Probe), shared by the panes of one refresh: the Overview
    counts the buckets the RustFS pane lists, one ListBuckets of thousands of buckets, not two
    (`Connections.recent`). Always through the same source (arguments), so a replay finds the call whichever
    pane made it."""
    s3 = conns.s3(ep.endpoint_url, ep.access_key, ep.secret_key, ep.region, float(conns.config.timeout))
    return shared_read(conns, ("list-buckets", ep.endpoint_url, ep.access_key, ep.secret_key, ep.region),
                       s3.list_buckets)


def list_bucket_rows(s3: S3Source, listed: Any = None) -> BucketsView:
    """First pass: names and creation dates only (one ListBuckets call; `listed()` makes it when given)."""
    try:
        probe = listed() if listed is not None else s3.list_buckets()
    except SourceError as exc:
        return BucketsView((), f"{exc.title}: {exc.message}")
    if not probe.ok:
        return BucketsView((), f"ListBuckets with the admin keys: {probe.code} {probe.message}")
    return BucketsView(tuple(BucketRow(b.name, b.created) for b in sorted(probe.value, key=lambda b: b.name)))


def load_bucket_details(s3: S3Source, rows: list[BucketRow] | tuple[BucketRow, ...],
                        workers: int = 8, wait_turn: Callable[[], bool | None] | None = None) -> list[BucketRow]:
    """Second pass: object count, size, policy and versioning for `rows` (in parallel). `wait_turn()` is called
    before each bucket's requests: a background load waits there while the user types (the TUI), and a bucket
    is left as it is (not loaded) when it answers False (the pane was left)."""
    def one(row: BucketRow) -> BucketRow:
        if wait_turn is not None and wait_turn() is False:
            return row
        try:
            probe = s3.bucket_summary(row.name, max_pages=SUMMARY_MAX_PAGES, created=row.created)
        except SourceError as exc:
            return BucketRow(row.name, row.created, error=f"{exc.title}: {exc.message}")
        if not probe.ok:
            return BucketRow(row.name, row.created, error=f"{probe.operation}: {probe.code}")
        s = probe.value
        return BucketRow(row.name, row.created or s.created, s.objects, s.total_bytes, s.policy_present, s.versioning,
                         s.truncated)

    with Tasks(max_workers=workers) as pool:
        return list(pool.map(one, rows))


def _policy_buckets(iam: IamSnapshot, apps: list[S3App]) -> dict[str, set[str]]:
    """Policy name -> buckets of the apps whose users it is attached to."""
    out: dict[str, set[str]] = {}
    for app in apps:
        owner = iam.owner_of(app.access_key)
        if owner is None or not app.bucket:
            continue
        for pol, _ in iam.policies_of(owner.user):
            out.setdefault(pol, set()).add(app.bucket)
    return out


def identity_view(iam: IamSnapshot, apps: list[S3App]) -> IdentityView:
    """Users, groups and linted policies; apps link keys to workloads."""
    targets = _policy_buckets(iam, apps)
    attached: dict[str, list[str]] = {}
    for u in iam.users:
        for p in u.policies:
            attached.setdefault(p, []).append(f"user {u.access_key}")
    for g in iam.groups:
        for p in g.policies:
            attached.setdefault(p, []).append(f"group {g.name}")
    policies = []
    for p in iam.policies:
        buckets = sorted(targets.get(p.name, ()))
        bucket = buckets[0] if len(buckets) == 1 else ""
        policies.append(PolicyView(p.name, p.document, tuple(attached.get(p.name, ())), bucket,
                                   tuple(lint_policy(p.name, p.document, bucket or None))))
    marks = {p.name: p.mark for p in policies}
    rank = {"lint": 3, "broad": 2, "ok": 1}
    users = []
    for u in iam.users:
        pols = iam.policies_of(u.access_key)
        worst = max((marks.get(n, "ok") for n, _ in pols), key=lambda m: rank[m], default="none")
        keys = tuple(k.access_key for k in iam.keys_of(u.access_key))
        users.append(UserView(u.access_key, u.status or "enabled", iam.groups_of(u.access_key),
                              tuple(f"{n} (via {v})" for n, v in pols), keys,
                              tuple(sorted(a.app for a in apps if a.access_key in keys)), worst))
    owner = iam.owner_of(iam.admin_access_key)
    return IdentityView(iam.source, tuple(users), iam.groups, tuple(policies), iam.limits, "",
                        owner.user if owner else "")


def collect_rustfs(conns: Any) -> RustfsData:
    """First pass of the pane: bucket names, identity; details and the matrix come later. From the second
    time on, the S3 requests do not wait for the admin Secret and Service to be read again: they start with
    the last ones while these are read, and are made again if they changed (`Connections.ahead`)."""
    from checks.rustfs_iam import with_admin_endpoint

    return with_admin_endpoint(conns, lambda ep: _collect_rustfs(conns, ep))


def _collect_rustfs(conns: Any, endpoint: Any) -> RustfsData:
    from checks.rustfs_apps import find_s3_apps
    from checks.rustfs_iam import try_admin

    def apps_or_none() -> list[S3App]:
        try:
            return find_s3_apps(conns)
        except SourceError:
            return []

    # buckets, identity and the apps' keys are read concurrently: the slowest of the three is the pane's time
    with Tasks(max_workers=2) as pool:
        apps_future = pool.submit(apps_or_none)
        listing: list[Future[BucketsView]] = []
        admin = try_admin(conns, lambda s3, ep: listing.append(
            pool.submit(list_bucket_rows, s3, lambda: recent_buckets(conns, ep))), endpoint)
        buckets = listing[0].result() if listing else BucketsView((), admin.reason)
        if admin.iam is None:
            identity = IdentityView(error=admin.reason)
        else:
            identity = identity_view(admin.iam, apps_future.result())
    return RustfsData(buckets, identity, None, conns.config.rustfs.service)
