"""Access matrix: for every application Secret holding S3 keys, which buckets those keys can list and
read (and, with writes allowed, write), flagged where it breaks least privilege."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from checks.errors import SourceError
from checks.tasks import Tasks
from checks.writes import WriteDeclined, WriteGate, WriteIntent, WriteRefused, gate_for

MAX_MATRIX_BUCKETS = 40
"""Buckets probed per application (the matrix says how many were left out)."""
AUTH_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "RequestTimeTooSkewed", "AuthorizationHeaderMalformed",
              "InvalidRequest")


@dataclass(frozen=True)
class AccessCell:
    """What one application's keys may do on one bucket (None = not probed / unknown)."""

    bucket: str
    """Bucket name."""
    can_list: bool | None = None
    """ListObjectsV2 allowed."""
    can_read: bool | None = None
    """HeadObject of an absent key answered 404 (allowed) rather than 403."""
    can_write: bool | None = None
    """PutObject of a probe object allowed (only probed with writes allowed; the probe is deleted)."""

    @property
    def any_access(self) -> bool:
        return bool(self.can_list or self.can_read or self.can_write)


@dataclass(frozen=True)
class AccessRow:
    """One application's keys against every bucket."""

    app: str
    """`namespace/name` of the workload."""
    access_key: str
    """Access key id."""
    secret: str
    """`namespace/name key KEY` of the Secret holding the secret key ('' when literal)."""
    own_bucket: str
    """The bucket the app is configured for."""
    auth: str = "ok"
    """ok, or the S3 error code that rejected the keys (then no cell is probed)."""
    cells: tuple[AccessCell, ...] = ()
    """One per probed bucket, in AccessMatrix.buckets order."""
    admin: bool = False
    """These are the RustFS admin keys (the server's own workload): full access is expected."""

    @property
    def overbroad(self) -> tuple[str, ...]:
        """Other buckets these keys can reach: breaks least privilege (never flagged for the admin keys)."""
        if self.admin:
            return ()
        return tuple(c.bucket for c in self.cells if c.bucket != self.own_bucket and c.any_access)

    @property
    def flags(self) -> tuple[str, ...]:
        """Human flags: overbroad access, own bucket unusable, rejected keys."""
        out = ["RustFS admin keys: full access expected"] if self.admin else []
        if self.auth != "ok":
            out.append(f"keys rejected: {self.auth}")
        if self.overbroad:
            out.append(f"reaches other buckets: {', '.join(self.overbroad)}")
        own = next((c for c in self.cells if c.bucket == self.own_bucket), None)
        if own is not None and own.can_list is False:
            out.append("cannot list its own bucket")
        if own is not None and own.can_read is False:
            out.append("cannot read its own bucket")
        if self.auth == "ok" and self.own_bucket and own is None and self.cells:
            out.append(f"its bucket {self.own_bucket} does not exist")
        return tuple(out)


@dataclass(frozen=True)
class AccessMatrix:
    """Rows of applications × columns of buckets."""

    buckets: tuple[str, ...] = ()
    """Probed buckets (columns)."""
    rows: tuple[AccessRow, ...] = ()
    """One per application with S3 keys."""
    writes_probed: bool = False
    """Write access was probed (writes allowed)."""
    left_out: int = 0
    """Buckets not probed (beyond MAX_MATRIX_BUCKETS)."""
    error: str = ""
    """Why the matrix could not be built."""


def _probe_cell(client: Any, bucket: str, gate: Any) -> tuple[AccessCell, str]:
    listed = client.list_objects(bucket, 1)
    if listed.code in AUTH_CODES:
        return AccessCell(bucket), listed.code
    from checks.flows.rustfs_access import ABSENT_KEY

    head = client.head_object(bucket, ABSENT_KEY)
    key = f".clusterdeck-probe/{uuid.uuid4().hex}"
    can_read = True if head.http_status == 404 else (False if head.http_status == 403 else None)
    can_write = None
    if gate is not None:  # writes approved once for the whole matrix; each one is audited
        target = f"s3://{bucket}/{key}"
        try:
            put = gate.run(WriteIntent("s3", "PutObject", target), lambda: client.put_object(bucket, key),
                           approved=True)
        except WriteRefused:
            put = None
        try:
            can_write = put.ok if put is not None and (put.ok or put.code == "AccessDenied") else None
        finally:
            if put is not None and put.ok:
                gate.run(WriteIntent("s3", "DeleteObject", target), lambda: client.delete_object(bucket, key),
                         approved=True)
    can_list = True if listed.ok else (False if listed.code == "AccessDenied" else None)
    return AccessCell(bucket, can_list, can_read, can_write), ""


def _row(conns: Any, app: Any, buckets: tuple[str, ...], writes: Any, fallback_url: str,
         admin_key: str) -> AccessRow:
    from checks.rustfs_apps import reachable_url

    ref = app.secret_ref
    secret = f"{ref.namespace}/{ref.name} key {ref.key}" if ref else ""
    base = dict(app=app.app, access_key=app.access_key, secret=secret, own_bucket=app.bucket,
                admin=app.access_key == admin_key)
    if app.creds.secret_key is None:
        return AccessRow(**base, auth="no secret key found")
    try:
        url = reachable_url(conns, app.creds.endpoint) if app.creds.endpoint else fallback_url
        client = conns.s3(url, app.access_key, app.creds.secret_key, app.creds.region or conns.config.rustfs.region,
                          float(conns.config.timeout))
        cells = []
        for bucket in buckets:
            cell, auth = _probe_cell(client, bucket, writes)
            if auth:
                return AccessRow(**base, auth=auth)
            cells.append(cell)
    except SourceError as exc:
        return AccessRow(**base, auth=f"{exc.title}")
    return AccessRow(**base, cells=tuple(cells))


def build_matrix(conns: Any, allow_writes: bool | WriteGate = False) -> AccessMatrix:
    """Probe every app's keys against every bucket the admin keys list (read-only unless allow_writes: then
    the write probes are confirmed once for the whole matrix through the WriteGate, and each is audited)."""
    from checks.rustfs_apps import find_s3_apps
    from checks.rustfs_view import admin_s3

    try:
        s3 = admin_s3(conns)
        listed = s3.list_buckets()
    except SourceError as exc:
        return AccessMatrix(error=f"{exc.title}: {exc.message}")
    if not listed.ok:
        return AccessMatrix(error=f"ListBuckets with the admin keys: {listed.code}")
    names = sorted(b.name for b in listed.value)
    apps = find_s3_apps(conns)
    own = [a.bucket for a in apps if a.bucket in names]
    ordered = tuple(sorted(tuple(dict.fromkeys([*sorted(own), *names]))[:MAX_MATRIX_BUCKETS]))
    gate = _approved_gate(conns, allow_writes, ordered, apps)
    with Tasks(max_workers=6) as pool:
        rows = list(pool.map(lambda a: _row(conns, a, ordered, gate, s3.endpoint_url, s3.access_key), apps))
    return AccessMatrix(ordered, tuple(rows), gate is not None, max(0, len(names) - len(ordered)))


def _approved_gate(conns: Any, allow_writes: bool | WriteGate, buckets: tuple[str, ...], apps: list[Any]) -> Any:
    """The WriteGate when writes are allowed and the user approved the probes (one question for all), else None."""
    gate = gate_for(conns, allow_writes)
    if not gate.allowed or not apps or not buckets:
        return None
    batch = WriteIntent("s3", "PutObject+DeleteObject", f"a probe object .clusterdeck-probe/<random id> in each of "
                        f"{len(buckets)} buckets, with the keys of each of {len(apps)} applications", (
                            *(f"s3://{b}/.clusterdeck-probe/<random id>" for b in buckets),
                            "keys of: " + ", ".join(sorted(a.app for a in apps)),
                            "each probe object is deleted right after it is written"))
    try:
        gate.approve(batch)
    except (WriteDeclined, WriteRefused):
        return None
    return gate
