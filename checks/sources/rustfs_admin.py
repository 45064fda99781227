"""RustFS admin API (`/rustfs/admin/v3/…`, plain JSON, SigV4-signed like S3) and policy lint.

Requests are signed with botocore's `SigV4Auth` (service `s3`,
`x-amz-content-sha256: UNSIGNED-PAYLOAD`) and sent with `requests`; both are imported
lazily. The policy lint lives in checks.parsers.s3_policy.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from checks.errors import SourceError
from checks.redact import redact
from checks.sources import breaker
from checks.sources.http_session import session_for

SYSTEM = "s3"
ADMIN_PREFIX = "/rustfs/admin/v3/"
_AUTH_CODES = {"InvalidAccessKeyId": "Unknown access key", "SignatureDoesNotMatch": "Wrong secret key",
               "RequestTimeTooSkewed": "Clock skew", "AuthorizationHeaderMalformed": "Wrong region",
               "InvalidRequest": "Access key disabled"}


@dataclass(frozen=True)
class RustfsUser:
    """An IAM user (access key) known to RustFS."""

    access_key: str
    """The user's access key (its name)."""
    status: str
    """enabled | disabled."""
    policies: tuple[str, ...]
    """Directly attached policies (`policyName`, comma-separated on the wire)."""
    member_of: tuple[str, ...]
    """Groups the user belongs to."""
    updated_at: str = ""
    """Last change, as reported."""


@dataclass(frozen=True)
class RustfsGroup:
    """An IAM group."""

    name: str
    """Group name."""
    status: str
    """enabled | disabled."""
    members: tuple[str, ...]
    """Access keys in the group."""
    policies: tuple[str, ...]
    """Policies attached to the group."""


@dataclass(frozen=True)
class RustfsPolicy:
    """A canned policy and its document."""

    name: str
    """Policy name."""
    document: dict[str, Any] = field(default_factory=dict)
    """The IAM policy JSON."""


def _split(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(",") if p.strip())
    return tuple(str(v) for v in value)


def _user(access_key: str, body: dict[str, Any]) -> RustfsUser:
    return RustfsUser(access_key, str(body.get("status", "")), _split(body.get("policyName")),
                      _split(body.get("memberOf")), str(body.get("updatedAt", "")))


def _policy_doc(value: Any) -> dict[str, Any]:
    if isinstance(value, (bytes, str)):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return {}
    if isinstance(value, dict) and isinstance(value.get("Policy"), (dict, str)):  # info-canned-policy v2
        return _policy_doc(value["Policy"])
    return value if isinstance(value, dict) else {}


class RustfsAdmin:
    """Read-only RustFS admin client."""

    system = SYSTEM

    def __init__(self, endpoint_url: str, access_key: str, secret_key: str, region: str = "us-east-1",
                 timeout: float = 5.0) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.access_key = access_key
        self.__secret_key = secret_key
        self.region = region
        self.timeout = float(timeout)
        self._session = session_for(self.endpoint_url)  # one per client: its connections are kept

    def __repr__(self) -> str:
        return f"RustfsAdmin({self.endpoint_url}, access_key={self.access_key!r})"

    def signed_headers(self, method: str, url: str) -> dict[str, str]:
        """SigV4 headers for `method url`, computed by botocore."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        req = AWSRequest(method=method, url=url, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
        SigV4Auth(Credentials(self.access_key, self.__secret_key), "s3", self.region).add_auth(req)
        return dict(req.headers.items())

    def get(self, route: str, **params: str) -> Any:
        """GET `/rustfs/admin/v3/<route>?params` and decode the JSON answer."""
        import requests  # lazy

        url = self.endpoint_url + ADMIN_PREFIX + route.lstrip("/")
        if params:
            url += "?" + urlencode(sorted(params.items()))
        endpoint = f"s3 {self.endpoint_url}"  # the same server as S3Source's: one breaker
        breaker.check(endpoint)
        started = time.monotonic()
        try:
            resp = self._session.get(url, headers=self.signed_headers("GET", url), timeout=self.timeout)
        except requests.Timeout:
            raise breaker.failed(endpoint, SourceError(SYSTEM, "Timed out", f"{self.endpoint_url} did not answer "
                                                       f"within {self.timeout:g}s.", kind="timeout"),
                                 self.timeout, started) from None
        except requests.RequestException as exc:
            text = redact(str(exc), [self.__secret_key])
            raise SourceError(SYSTEM, "Cannot connect", f"{self.endpoint_url}: {text}",
                              kind="unreachable") from None
        breaker.answered(endpoint, started)
        body = resp.text
        code = _code(body)
        if code in _AUTH_CODES:
            raise SourceError(SYSTEM, _AUTH_CODES[code], f"GET {route}: HTTP {resp.status_code} {code} "
                              f"for access key {self.access_key!r}", kind="auth")
        if resp.status_code == 403:
            raise SourceError(SYSTEM, "Not admin keys", f"these keys are not RustFS admin keys "
                              f"(access key {self.access_key!r}, GET {route}: HTTP 403 {code})",
                              kind="forbidden")
        if resp.status_code == 404:
            raise SourceError(SYSTEM, "Not found", f"GET {route}: HTTP 404 {code}", kind="notfound")
        if resp.status_code == 401:
            raise SourceError(SYSTEM, "Request rejected", f"GET {route}: HTTP 401 {code}", kind="auth")
        if resp.status_code >= 300:
            raise SourceError(SYSTEM, "Admin API error", f"GET {route}: HTTP {resp.status_code} {code}")
        try:
            return resp.json() if body.strip() else None
        except (ValueError, RecursionError):
            raise SourceError(SYSTEM, "Unexpected answer", f"GET {route}: not JSON (is this RustFS?)") from None

    # ------------------------------------------------------------------ routes
    def list_users(self) -> tuple[RustfsUser, ...]:
        """GET list-users."""
        data = self.get("list-users") or {}
        return tuple(_user(k, v if isinstance(v, dict) else {}) for k, v in sorted(data.items()))

    def user_info(self, access_key: str) -> RustfsUser:
        """GET user-info?accessKey=…"""
        data = self.get("user-info", accessKey=access_key) or {}
        return _user(access_key, data if isinstance(data, dict) else {})

    def groups(self) -> tuple[str, ...]:
        """GET groups: group names."""
        data = self.get("groups") or []
        if isinstance(data, dict):  # tolerate {"groups": [...]} or {"name": {...}}
            data = data.get("groups", list(data))
        return tuple(str(g) for g in data)

    def group(self, name: str) -> RustfsGroup:
        """GET group?group=…"""
        d = self.get("group", group=name) or {}
        return RustfsGroup(str(d.get("name", name)), str(d.get("status", "")), _split(d.get("members")),
                           _split(d.get("policy") or d.get("policies")))

    def list_policies(self) -> tuple[RustfsPolicy, ...]:
        """GET list-canned-policies: every policy with its document."""
        data = self.get("list-canned-policies") or {}
        return tuple(RustfsPolicy(k, _policy_doc(v)) for k, v in sorted(data.items()))

    def policy(self, name: str) -> RustfsPolicy:
        """GET info-canned-policy?name=…"""
        return RustfsPolicy(name, _policy_doc(self.get("info-canned-policy", name=name)))

    def is_admin(self) -> bool:
        """GET is-admin: do these keys have admin rights? (403 → False)."""
        try:
            data = self.get("is-admin")
        except SourceError as exc:
            if exc.kind == "forbidden":
                return False
            raise
        if isinstance(data, dict):
            return any(bool(v) for k, v in data.items() if "admin" in k.lower())
        return bool(data)

    def info(self) -> dict[str, Any]:
        """GET info: server/cluster information as returned."""
        data = self.get("info")
        return data if isinstance(data, dict) else {"value": data}


def _code(body: str) -> str:
    for tag in ("Code", "code"):
        start = body.find(f"<{tag}>")
        if start >= 0:
            end = body.find(f"</{tag}>", start)
            return body[start + len(tag) + 2:end]
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    return str(data.get("Code") or data.get("code") or "") if isinstance(data, dict) else ""
