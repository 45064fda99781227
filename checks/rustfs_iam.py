"""RustFS identity (users, groups, policies, which user owns an access key) read with the admin keys.

Primary source: the RustFS admin API (`checks.sources.rustfs_admin.RustfsAdmin`). When that answers
404 (the lab's moto server, or an S3 server without it), the same admin keys read the AWS IAM API
instead (`IamApiAdapter`), which returns the same dataclasses. Limit of that fallback: IAM users have
no enabled/disabled status (reported as `enabled`; access-key status is used instead) and groups have
no status either.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import unquote

from checks.connect_factories import read_ahead, shared_read
from checks.errors import SourceError
from checks.redact import redact
from checks.sources.rustfs_admin import RustfsAdmin, RustfsGroup, RustfsPolicy, RustfsUser
from checks.tasks import Tasks

SOURCE_ADMIN = "RustFS admin API"
SOURCE_IAM = "IAM API (fallback: the endpoint has no RustFS admin API)"
IAM_LIMITS = ("the IAM API has no user status: users show as enabled unless all their access keys are inactive",
              "groups have no status in the IAM API")


@dataclass(frozen=True)
class AccessKeyInfo:
    """One access key and the user it belongs to."""

    access_key: str
    """Access key id (safe to show)."""
    user: str
    """Owning user (the parent user for a RustFS service account)."""
    status: str
    """enabled | disabled (IAM: Active → enabled)."""
    kind: str = "user"
    """user (the key is the user itself, RustFS) | service-account | iam-key."""


@dataclass(frozen=True)
class IamSnapshot:
    """Everything the admin keys can see of RustFS identity."""

    source: str
    """Which API answered (SOURCE_ADMIN or SOURCE_IAM)."""
    users: tuple[RustfsUser, ...] = ()
    """Users with status, direct policies and groups."""
    groups: tuple[RustfsGroup, ...] = ()
    """Groups with members and policies."""
    policies: tuple[RustfsPolicy, ...] = ()
    """Every policy with its document."""
    keys: tuple[AccessKeyInfo, ...] = ()
    """Every access key found and its owner."""
    limits: tuple[str, ...] = ()
    """What this source cannot tell."""
    admin_access_key: str = ""
    """The admin access key used (never the secret)."""

    def owner_of(self, access_key: str) -> AccessKeyInfo | None:
        """The key's record, or None when no user owns it (deleted or never created)."""
        return next((k for k in self.keys if k.access_key == access_key), None)

    def user(self, name: str) -> RustfsUser | None:
        return next((u for u in self.users if u.access_key == name), None)

    def group(self, name: str) -> RustfsGroup | None:
        return next((g for g in self.groups if g.name == name), None)

    def policy(self, name: str) -> RustfsPolicy | None:
        return next((p for p in self.policies if p.name == name), None)

    def groups_of(self, user: str) -> tuple[str, ...]:
        u = self.user(user)
        listed = set(u.member_of) if u else set()
        listed |= {g.name for g in self.groups if user in g.members}
        return tuple(sorted(listed))

    def policies_of(self, user: str) -> tuple[tuple[str, str], ...]:
        """(policy name, attached via: 'user' or 'group NAME') for a user."""
        u = self.user(user)
        out = [(p, "user") for p in (u.policies if u else ())]
        for g in self.groups_of(user):
            grp = self.group(g)
            out += [(p, f"group {g}") for p in (grp.policies if grp else ())]
        return tuple(dict.fromkeys(out))

    def keys_of(self, user: str) -> tuple[AccessKeyInfo, ...]:
        return tuple(k for k in self.keys if k.user == user)


class IamApiAdapter:
    """AWS IAM API read with the admin keys, answering like RustfsAdmin (fallback data source)."""

    system = "s3"

    def __init__(self, endpoint_url: str, access_key: str, secret_key: str, region: str = "us-east-1",
                 timeout: float = 5.0) -> None:
        import botocore.exceptions  # lazy
        from botocore.config import Config

        self._bexc = botocore.exceptions
        self.endpoint_url = endpoint_url.rstrip("/")
        self.access_key = access_key
        self.__secret_key = secret_key
        self.timeout = float(timeout)
        config = Config(connect_timeout=self.timeout, read_timeout=self.timeout,
                        retries={"total_max_attempts": 1, "mode": "standard"}, region_name=region)
        from checks.sources.s3 import boto_client  # one shared Session: no per-call model parsing

        self._iam = boto_client("iam", endpoint_url=self.endpoint_url, aws_access_key_id=access_key,
                                aws_secret_access_key=secret_key, region_name=region, config=config)

    def __repr__(self) -> str:
        return f"IamApiAdapter({self.endpoint_url}, access_key={self.access_key!r})"

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self._iam, operation)(**kwargs)
        except self._bexc.ClientError as exc:
            err = exc.response.get("Error", {}) or {}
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = str(err.get("Code") or "")
            kind = {403: "forbidden", 404: "notfound"}.get(status or 0, "error")
            msg = redact(str(err.get("Message") or exc), [self.__secret_key])
            raise SourceError("s3", "IAM API error", f"{operation}: HTTP {status} {code}: {msg}", kind=kind) from None
        except self._bexc.BotoCoreError as exc:
            text = redact(str(exc), [self.__secret_key])
            raise SourceError("s3", "IAM API unreachable", f"{self.endpoint_url}: {text}", kind="unreachable") from None

    def _pages(self, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        marker = None
        for _ in range(100):
            resp = self._call(operation, **kwargs, **({"Marker": marker} if marker else {}))
            out += resp.get(key, [])
            if not resp.get("IsTruncated"):
                break
            marker = resp.get("Marker")
        return out

    def access_keys(self, user: str) -> tuple[AccessKeyInfo, ...]:
        meta = self._pages("list_access_keys", "AccessKeyMetadata", UserName=user)
        return tuple(AccessKeyInfo(m["AccessKeyId"], user, "enabled" if m.get("Status") == "Active" else "disabled",
                                   "iam-key") for m in meta)

    def user_record(self, name: str, keys: tuple[AccessKeyInfo, ...]) -> RustfsUser:
        groups = tuple(g["GroupName"] for g in self._pages("list_groups_for_user", "Groups", UserName=name))
        pols = tuple(p["PolicyName"] for p in self._pages("list_attached_user_policies", "AttachedPolicies",
                                                          UserName=name))
        status = "disabled" if keys and all(k.status == "disabled" for k in keys) else "enabled"
        return RustfsUser(name, status, pols, groups)

    def list_users(self) -> tuple[RustfsUser, ...]:
        names = sorted(u["UserName"] for u in self._pages("list_users", "Users"))
        return tuple(self.user_record(n, self.access_keys(n)) for n in names)

    def groups(self) -> tuple[str, ...]:
        return tuple(sorted(g["GroupName"] for g in self._pages("list_groups", "Groups")))

    def group(self, name: str) -> RustfsGroup:
        members = tuple(u["UserName"] for u in self._call("get_group", GroupName=name).get("Users", []))
        pols = tuple(p["PolicyName"] for p in self._pages("list_attached_group_policies", "AttachedPolicies",
                                                          GroupName=name))
        return RustfsGroup(name, "enabled", members, pols)

    def list_policies(self) -> tuple[RustfsPolicy, ...]:
        def one(p: dict[str, Any]) -> RustfsPolicy:
            ver = self._call("get_policy_version", PolicyArn=p["Arn"], VersionId=p["DefaultVersionId"])
            return RustfsPolicy(p["PolicyName"], _doc(ver.get("PolicyVersion", {}).get("Document")))

        listed = self._pages("list_policies", "Policies", Scope="Local")
        with Tasks(max_workers=8) as pool:  # one request per policy: concurrently
            out = list(pool.map(one, listed))
        return tuple(sorted(out, key=lambda p: p.name))


def _doc(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(unquote(value))
        except (ValueError, RecursionError):
            return {}
    return value if isinstance(value, dict) else {}


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


def _iam_snapshot(iam: IamApiAdapter) -> IamSnapshot:
    """The snapshot from GetAccountAuthorizationDetails (users with their groups and policies, groups, every
    local policy with its document: one paginated request instead of ~3 per user, 2 per group and 1 per
    policy) plus each user's access keys; by the single List/Get calls when that call is refused or lacking."""
    try:
        return _iam_snapshot_details(iam)
    except SourceError as exc:
        if exc.kind in ("unreachable", "timeout", "auth"):
            raise
    return _iam_snapshot_calls(iam)


def _policy_name(p: dict[str, Any]) -> str:
    if p.get("PolicyName"):
        return str(p["PolicyName"])
    return str(p.get("Arn") or "").rpartition("/")[2]  # arn:aws:iam::ACCOUNT:policy/PATH/NAME


_LAST_USERS: weakref.WeakKeyDictionary[Any, tuple[str, ...]] = weakref.WeakKeyDictionary()
"""IAM adapter -> the user names of its last snapshot (kept beside it, not on it: a capture records what is
asked of a source)."""


def _iam_snapshot_details(iam: IamApiAdapter) -> IamSnapshot:
    """GetAccountAuthorizationDetails, then each user's access keys. The keys of the users of the last snapshot
    are asked for while GetAccountAuthorizationDetails is read (every key is read now; a user that is new is
    asked for after it, one that is gone is dropped): the snapshot is one round of requests, not two."""
    users: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    policies: list[dict[str, Any]] = []
    try:
        guess = _LAST_USERS.get(iam, ())
    except TypeError:  # not weak-referenceable
        guess = ()
    with Tasks(max_workers=8) as pool:
        early = {name: pool.submit(iam.access_keys, name) for name in guess}
        marker = None
        for _ in range(100):
            resp = iam._call("get_account_authorization_details", Filter=["User", "Group", "LocalManagedPolicy"],
                             **({"Marker": marker} if marker else {}))
            users += resp.get("UserDetailList", [])
            groups += resp.get("GroupDetailList", [])
            policies += resp.get("Policies", [])
            if not resp.get("IsTruncated"):
                break
            marker = resp.get("Marker")
        else:
            raise SourceError("s3", "IAM API error", "GetAccountAuthorizationDetails: too many pages", kind="error")
        if any(not isinstance(u.get("UserName"), str) for u in users):
            raise SourceError("s3", "IAM API error", "GetAccountAuthorizationDetails: a user without a name")
        names = sorted(u["UserName"] for u in users)
        later = {name: pool.submit(iam.access_keys, name) for name in names if name not in early}
        keys_per_user = [(early.get(name) or later[name]).result() for name in names]
    try:
        _LAST_USERS[iam] = tuple(names)
    except TypeError:
        pass
    by_name = {u["UserName"]: u for u in users}
    members: dict[str, list[str]] = {}
    for u in users:  # in the server's order, as GetGroup lists a group's users
        for g in u.get("GroupList") or ():
            members.setdefault(str(g), []).append(u["UserName"])
    records = []
    for name, keys in zip(names, keys_per_user):
        u = by_name[name]
        member_of = tuple(str(g) for g in u.get("GroupList") or ())
        pols = tuple(str(p.get("PolicyName") or "") for p in u.get("AttachedManagedPolicies") or ())
        status = "disabled" if keys and all(k.status == "disabled" for k in keys) else "enabled"
        records.append(RustfsUser(name, status, pols, member_of))
    group_records = tuple(
        RustfsGroup(str(g.get("GroupName")), "enabled", tuple(members.get(str(g.get("GroupName")), ())),
                    tuple(str(p.get("PolicyName") or "") for p in g.get("AttachedManagedPolicies") or ()))
        for g in sorted(groups, key=lambda g: str(g.get("GroupName"))))
    docs = []
    for p in policies:
        version = next((v for v in p.get("PolicyVersionList") or () if v.get("IsDefaultVersion")), None)
        if version is None:
            raise SourceError("s3", "IAM API error", f"GetAccountAuthorizationDetails: policy {_policy_name(p)} "
                              "without its default version")
        docs.append(RustfsPolicy(_policy_name(p), _doc(version.get("Document"))))
    keys = tuple(k for ks in keys_per_user for k in ks)
    return IamSnapshot(SOURCE_IAM, tuple(records), group_records, tuple(sorted(docs, key=lambda p: p.name)), keys,
                       IAM_LIMITS, iam.access_key)


def _iam_snapshot_calls(iam: IamApiAdapter) -> IamSnapshot:
    with Tasks(max_workers=8) as pool:  # the policies and the groups while the users are read
        policies = pool.submit(iam.list_policies)
        group_names = pool.submit(iam.groups)
        names = sorted(u["UserName"] for u in iam._pages("list_users", "Users"))
        keys_per_user = list(pool.map(iam.access_keys, names))
        users = tuple(pool.map(iam.user_record, names, keys_per_user))
        groups = tuple(pool.map(iam.group, group_names.result()))
        keys = tuple(k for ks in keys_per_user for k in ks)
        return IamSnapshot(SOURCE_IAM, users, groups, policies.result(), keys, IAM_LIMITS, iam.access_key)


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
        return _iam_snapshot(conns.iam(ep.endpoint_url, ep.access_key, ep.secret_key, ep.region, timeout))

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
