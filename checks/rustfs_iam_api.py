"""RustFS identity by the AWS IAM API, read with the admin keys: the fallback when the endpoint has no RustFS
admin API (the lab's moto server, or another S3 server). `IamApiAdapter` answers like RustfsAdmin; the snapshot
comes from GetAccountAuthorizationDetails plus each user's access keys. Limits (IAM_LIMITS): IAM users have no
enabled/disabled status (reported as `enabled` unless all their access keys are inactive) and groups have no
status either.
"""

from __future__ import annotations

import json
from typing import Any, Callable, TypeVar
from urllib.parse import unquote

from checks.connect_factories import read_ahead
from checks.errors import SourceError
from checks.redact import redact
from checks.rustfs_identity import IAM_LIMITS, SOURCE_IAM, AccessKeyInfo, IamSnapshot
from checks.sources.rustfs_admin import RustfsGroup, RustfsPolicy, RustfsUser
from checks.sources.s3_fast import SignedQueries, query_value
from checks.tasks import Tasks

T = TypeVar("T")


class IamApiAdapter:
    """AWS IAM API read with the admin keys, answering like RustfsAdmin (fallback data source)."""

    system = "s3"

    def __init__(self, endpoint_url: str, access_key: str, secret_key: str, region: str = "us-east-1",
                 timeout: float = 5.0) -> None:
        import botocore.exceptions  # lazy

        from checks.sources.s3 import FirstUseClient  # one shared Session: no per-call model parsing

        self._bexc = botocore.exceptions
        self.endpoint_url = endpoint_url.rstrip("/")
        self.access_key = access_key
        self.__secret_key = secret_key
        self.timeout = float(timeout)
        self._queries = SignedQueries(self.endpoint_url, access_key, secret_key, region, self.timeout)
        self._iam_client = FirstUseClient("iam", self.endpoint_url, access_key, secret_key, region, self.timeout)

    def __repr__(self) -> str:
        return f"IamApiAdapter({self.endpoint_url}, access_key={self.access_key!r})"

    def _guard(self, operation: str, request: Callable[[], T]) -> T:
        """`request()`, its botocore errors as SourceError (the server's code and message, or the transport)."""
        try:
            return request()
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

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        return self._guard(operation, lambda: getattr(self._iam_client(), operation)(**kwargs))

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

    def access_keys(self, user: str, page_size: int | None = None) -> tuple[AccessKeyInfo, ...]:
        """ListAccessKeys, every page (`page_size`: keys per page, the server's default when None). Asked on every
        refresh for every user, so by signed POSTs (`query`), not the client."""
        out: list[AccessKeyInfo] = []
        marker = None
        for _ in range(100):
            page = self.query("ListAccessKeys", "list_access_keys", UserName=user,
                              **({"Marker": marker} if marker else {}),
                              **({"MaxItems": str(int(page_size))} if page_size else {}))
            for key in _records(page.get("AccessKeyMetadata")):
                if key.get("AccessKeyId") and isinstance(key["AccessKeyId"], str):
                    out.append(AccessKeyInfo(key["AccessKeyId"], user,
                                             "enabled" if key.get("Status") == "Active" else "disabled", "iam-key"))
            marker = page.get("Marker") if isinstance(page.get("Marker"), str) else None
            if page.get("IsTruncated") is not True or not marker:
                break
        return tuple(out)

    def account_details(self, marker: str | None = None) -> dict[str, Any]:
        """One page of GetAccountAuthorizationDetails (users, groups, local policies) by a signed POST
        (`query`): asked on every refresh, ~4 ms of CPU through the client's generic parser."""
        return self.query("GetAccountAuthorizationDetails", "get_account_authorization_details",
                          **{"Filter.member.1": "User", "Filter.member.2": "Group",
                             "Filter.member.3": "LocalManagedPolicy", **({"Marker": marker} if marker else {})})

    def query(self, action: str, operation: str, **params: str) -> dict[str, Any]:
        """One Query-protocol call by a signed POST (`SignedQueries`), its `<ActionResult>` as plain data
        (`query_value`); errors as `_call`'s, named `operation`."""
        def read() -> dict[str, Any]:
            result = self._queries.call(action, **params)
            try:
                page = query_value(result)
            except (ValueError, RecursionError):
                page = None
            if not isinstance(page, dict):
                raise SourceError("s3", "IAM API error", f"{action}: not an IAM answer")
            return page

        return self._guard(operation, read)

    def user_record(self, name: str, keys: tuple[AccessKeyInfo, ...],
                    inline: tuple[RustfsPolicy, ...] | None = None) -> RustfsUser:
        """The user with its groups and policies; `inline`: its inline policies when already read (else their
        names are asked for)."""
        groups = tuple(g["GroupName"] for g in self._pages("list_groups_for_user", "Groups", UserName=name))
        pols = tuple(p["PolicyName"] for p in self._pages("list_attached_user_policies", "AttachedPolicies",
                                                          UserName=name))
        status = "disabled" if keys and all(k.status == "disabled" for k in keys) else "enabled"
        return RustfsUser(name, status, pols + self._inline_named("user", name, inline), groups)

    def _inline_named(self, kind: str, name: str, inline: tuple[RustfsPolicy, ...] | None) -> tuple[str, ...]:
        """The snapshot names of a user's or group's inline policies: of `inline` when read, else asked for."""
        if inline is not None:
            return tuple(p.name for p in inline)
        return tuple(inline_name(name, n) for n in self._inline_names(kind, name))

    def _inline_names(self, kind: str, name: str) -> list[str]:
        """The names of a user's or group's inline policies (ListUserPolicies / ListGroupPolicies)."""
        return sorted(str(n) for n in self._pages(f"list_{kind}_policies", "PolicyNames", **{_OWNER[kind]: name}))

    def inline_policies(self, kind: str, name: str) -> tuple[RustfsPolicy, ...]:
        """A user's or group's inline policies with their documents, named by `inline_name`."""
        def one(policy: str) -> RustfsPolicy:
            got = self._call(f"get_{kind}_policy", **{_OWNER[kind]: name}, PolicyName=policy)
            return RustfsPolicy(inline_name(name, policy), _doc(got.get("PolicyDocument")))

        return tuple(one(n) for n in self._inline_names(kind, name))

    def list_users(self) -> tuple[RustfsUser, ...]:
        names = sorted(u["UserName"] for u in self._pages("list_users", "Users"))
        return tuple(self.user_record(n, self.access_keys(n)) for n in names)

    def groups(self) -> tuple[str, ...]:
        return tuple(sorted(g["GroupName"] for g in self._pages("list_groups", "Groups")))

    def group(self, name: str, inline: tuple[RustfsPolicy, ...] | None = None) -> RustfsGroup:
        """The group with its members and policies; `inline` as for `user_record`."""
        members = tuple(u["UserName"] for u in self._call("get_group", GroupName=name).get("Users", []))
        pols = tuple(p["PolicyName"] for p in self._pages("list_attached_group_policies", "AttachedPolicies",
                                                          GroupName=name))
        return RustfsGroup(name, "enabled", members, pols + self._inline_named("group", name, inline))

    def list_policies(self) -> tuple[RustfsPolicy, ...]:
        def one(p: dict[str, Any]) -> RustfsPolicy:
            ver = self._call("get_policy_version", PolicyArn=p["Arn"], VersionId=p["DefaultVersionId"])
            return RustfsPolicy(p["PolicyName"], _doc(ver.get("PolicyVersion", {}).get("Document")))

        listed = self._pages("list_policies", "Policies", Scope="Local")
        with Tasks(max_workers=8) as pool:  # one request per policy: concurrently
            out = list(pool.map(one, listed))
        return tuple(sorted(out, key=lambda p: p.name))


_OWNER = {"user": "UserName", "group": "GroupName"}
"""The IAM parameter naming the owner of an inline policy, by kind of owner."""


def inline_name(owner: str, policy: str) -> str:
    """How an inline policy (embedded in a user or group, with no ARN of its own) is named among the snapshot's
    policies: by its owner and its name, so that it cannot be taken for a managed policy of the same name."""
    return f"{owner}/{policy} (inline)"


def _inline(owner: str, value: Any) -> list[RustfsPolicy]:
    """The inline policies of a GetAccountAuthorizationDetails user or group (`UserPolicyList` /
    `GroupPolicyList`), sorted by name."""
    found = [(str(p.get("PolicyName") or ""), p.get("PolicyDocument")) for p in _records(value)]
    return [RustfsPolicy(inline_name(owner, n), _doc(d)) for n, d in sorted(found, key=lambda x: x[0]) if n]


def _doc(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(unquote(value))
        except (ValueError, RecursionError):
            return {}
    return value if isinstance(value, dict) else {}


def iam_snapshot(iam: IamApiAdapter, conns: Any = None) -> IamSnapshot:
    """The snapshot from GetAccountAuthorizationDetails (users with their groups and policies, groups, every
    local policy with its document: one paginated request instead of ~3 per user, 2 per group and 1 per
    policy) plus each user's access keys; by the single List/Get calls when that call is refused or lacking.
    `conns`: the Connections whose last answer lets the keys be asked early (`_iam_snapshot_details`)."""
    try:
        return _iam_snapshot_details(iam, conns)
    except SourceError as exc:
        if exc.kind in ("unreachable", "timeout", "auth"):
            raise
    return _iam_snapshot_calls(iam)


def _policy_name(p: dict[str, Any]) -> str:
    if p.get("PolicyName"):
        return str(p["PolicyName"])
    return str(p.get("Arn") or "").rpartition("/")[2]  # arn:aws:iam::ACCOUNT:policy/PATH/NAME


Details = tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]
"""GetAccountAuthorizationDetails' users, groups and local policies, all pages."""


def _account_details(iam: IamApiAdapter) -> Details:
    users: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    policies: list[dict[str, Any]] = []
    marker = None
    for _ in range(100):
        resp = iam.account_details(marker)
        for found, key in ((users, "UserDetailList"), (groups, "GroupDetailList"), (policies, "Policies")):
            listed = resp.get(key) or []
            if not isinstance(listed, list) or not all(isinstance(x, dict) for x in listed):
                raise SourceError("s3", "IAM API error", f"GetAccountAuthorizationDetails: {key} is not a list")
            found += listed
        marker = resp.get("Marker") or None
        if resp.get("IsTruncated") is not True or marker is None:
            break
    else:
        raise SourceError("s3", "IAM API error", "GetAccountAuthorizationDetails: too many pages", kind="error")
    if any(not isinstance(u.get("UserName"), str) for u in users):
        raise SourceError("s3", "IAM API error", "GetAccountAuthorizationDetails: a user without a name")
    return tuple(users), tuple(groups), tuple(policies)


def _records(value: Any) -> list[dict[str, Any]]:
    """The records of a list in an answer (anything else in it, or a value that is no list, is left out)."""
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _names(value: Any) -> tuple[str, ...]:
    """The names of a list of names in an answer."""
    return tuple(x for x in value if isinstance(x, str)) if isinstance(value, list) else ()


def _iam_snapshot_details(iam: IamApiAdapter, conns: Any = None) -> IamSnapshot:
    """GetAccountAuthorizationDetails, then each user's access keys. From the second time on, the keys of the
    last answer's users are asked for while GetAccountAuthorizationDetails is read again, and asked for again
    if that answer changed (`Connections.ahead`): the snapshot is one round of requests, not two, and every key
    shown is read now."""
    def with_keys(details: Details) -> tuple[Details, list[str], list[tuple[AccessKeyInfo, ...]]]:
        names = sorted(u["UserName"] for u in details[0])
        with Tasks(max_workers=8) as pool:
            return details, names, list(pool.map(iam.access_keys, names))

    (users, groups, policies), names, keys_per_user = read_ahead(
        conns, ("iam-account-details", iam.endpoint_url, iam.access_key), lambda: _account_details(iam), with_keys)
    by_name = {u["UserName"]: u for u in users}
    members: dict[str, list[str]] = {}
    for u in users:  # in the server's order, as GetGroup lists a group's users
        for g in _names(u.get("GroupList")):
            members.setdefault(g, []).append(u["UserName"])
    records = []
    docs: list[RustfsPolicy] = []
    for name, keys in zip(names, keys_per_user):
        u = by_name[name]
        member_of = _names(u.get("GroupList"))
        inline = _inline(name, u.get("UserPolicyList"))
        docs += inline
        pols = tuple(str(p.get("PolicyName") or "") for p in _records(u.get("AttachedManagedPolicies")))
        status = "disabled" if keys and all(k.status == "disabled" for k in keys) else "enabled"
        records.append(RustfsUser(name, status, pols + tuple(p.name for p in inline), member_of))
    group_records = []
    for g in sorted(groups, key=lambda g: str(g.get("GroupName"))):
        gname = str(g.get("GroupName"))
        inline = _inline(gname, g.get("GroupPolicyList"))
        docs += inline
        group_records.append(RustfsGroup(
            gname, "enabled", tuple(members.get(gname, ())),
            tuple(str(p.get("PolicyName") or "") for p in _records(g.get("AttachedManagedPolicies")))
            + tuple(p.name for p in inline)))
    for p in policies:
        version = next((v for v in _records(p.get("PolicyVersionList")) if v.get("IsDefaultVersion") is True), None)
        if version is None:
            raise SourceError("s3", "IAM API error", f"GetAccountAuthorizationDetails: policy {_policy_name(p)} "
                              "without its default version")
        docs.append(RustfsPolicy(_policy_name(p), _doc(version.get("Document"))))
    keys = tuple(k for ks in keys_per_user for k in ks)
    return IamSnapshot(SOURCE_IAM, tuple(records), tuple(group_records), tuple(sorted(docs, key=lambda p: p.name)),
                       keys, IAM_LIMITS, iam.access_key)


def _iam_snapshot_calls(iam: IamApiAdapter) -> IamSnapshot:
    with Tasks(max_workers=8) as pool:  # the policies and the groups while the users are read
        policies = pool.submit(iam.list_policies)
        group_names = pool.submit(iam.groups)
        names = sorted(u["UserName"] for u in iam._pages("list_users", "Users"))
        keys_per_user = list(pool.map(iam.access_keys, names))
        user_inline = list(pool.map(lambda n: iam.inline_policies("user", n), names))
        users = tuple(pool.map(iam.user_record, names, keys_per_user, user_inline))
        group_inline = list(pool.map(lambda g: iam.inline_policies("group", g), group_names.result()))
        groups = tuple(pool.map(iam.group, group_names.result(), group_inline))
        keys = tuple(k for ks in keys_per_user for k in ks)
        inline = [p for ps in (*user_inline, *group_inline) for p in ps]
        docs = tuple(sorted((*policies.result(), *inline), key=lambda p: p.name))
        return IamSnapshot(SOURCE_IAM, users, groups, docs, keys, IAM_LIMITS, iam.access_key)


