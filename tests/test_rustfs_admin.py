"""RustfsAdmin against a local http.server that answers like RustFS and VERIFIES SigV4.

The server recomputes each request's signature with botocore from the secret it knows,
so a wrongly signed request fails exactly as RustFS would fail it.
"""

from __future__ import annotations

import hmac
import http.server
import json
import re
import threading
import time
from collections.abc import Iterator

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from checks.errors import SourceError
from checks.parsers.s3_policy import corrected_policy, lint_policy
from checks.sources.rustfs_admin import RustfsAdmin
from tests.servers import LOOPBACK, closed_port, silent_port  # noqa: F401

KEYS = {"rustfsadmin": ("rustfsadmin", True), "dragonfly-backup": ("backup-secret-1234", False)}
POLICY = corrected_policy("dragonfly-backups")
READWRITE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*"],
                                                    "Resource": ["arn:aws:s3:::*"]}]}
ROUTES = {
    "list-users": {"dragonfly-backup": {"policyName": "dragonfly-storage", "status": "enabled",
                                        "memberOf": ["cache"], "updatedAt": "2026-05-01T10:00:00Z"},
                   "old-app": {"policyName": "readwrite,diagnostics", "status": "disabled", "memberOf": []}},
    "user-info": {"policyName": "dragonfly-storage", "status": "enabled", "memberOf": ["cache"],
                  "updatedAt": "2026-05-01T10:00:00Z"},
    "groups": ["cache"],
    "group": {"name": "cache", "status": "enabled", "members": ["dragonfly-backup"], "policy": "dragonfly-storage",
              "updatedAt": "2026-05-01T10:00:00Z"},
    "list-canned-policies": {"dragonfly-storage": POLICY, "readwrite": READWRITE},
    "info-canned-policy": {"PolicyName": "dragonfly-storage", "Policy": POLICY,
                           "CreateDate": "2026-05-01T10:00:00Z", "UpdateDate": "2026-05-01T10:00:00Z"},
    "is-admin": {"is_admin": True},
    "info": {"mode": "online", "region": "us-east-1", "deploymentID": "0d2c…", "servers": [{"state": "online"}]},
}
_AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=(?P<ak>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<svc>[^/]+)"
                   r"/aws4_request, SignedHeaders=(?P<signed>[^,]+), Signature=(?P<sig>[0-9a-f]{64})")


def _xml_error(code: str, message: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
            "</Error>").encode()


class FakeRustfs(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def _reply(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _verify(self) -> str | None:
        """Return the verified access key, or reply with the RustFS error and return None."""
        m = _AUTH.fullmatch(self.headers.get("Authorization", ""))
        if not m:
            self._reply(403, _xml_error("AccessDenied", "Signature V4 required"), "application/xml")
            return None
        ak = m["ak"]
        if ak not in KEYS:
            self._reply(403, _xml_error("InvalidAccessKeyId", "The Access Key Id you provided does not exist "
                                        "in our records."), "application/xml")
            return None
        if m["region"] != "us-east-1":
            self._reply(400, _xml_error("AuthorizationHeaderMalformed", "the region is wrong; expecting "
                                        "'us-east-1'."), "application/xml")
            return None
        signed = m["signed"].split(";")
        assert "host" in signed and "x-amz-date" in signed and "x-amz-content-sha256" in signed
        assert self.headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
        req = AWSRequest(method=self.command, url=f"http://{self.headers['Host']}{self.path}",
                         headers={h: self.headers[h] for h in signed})
        req.context["timestamp"] = self.headers["x-amz-date"]
        auth = SigV4Auth(Credentials(ak, KEYS[ak][0]), m["svc"], m["region"])
        expected = auth.signature(auth.string_to_sign(req, auth.canonical_request(req)), req)
        if m["svc"] != "s3" or not hmac.compare_digest(expected, m["sig"]):
            self._reply(403, _xml_error("SignatureDoesNotMatch", "The request signature we calculated does not "
                                        "match the signature you provided."), "application/xml")
            return None
        return ak

    def do_GET(self) -> None:  # noqa: N802
        ak = self._verify()
        if ak is None:
            return
        path, _, query = self.path.partition("?")
        FakeRustfs.seen.append(self.path)
        route = path.removeprefix("/rustfs/admin/v3/")
        if not path.startswith("/rustfs/admin/v3/") or route not in ROUTES:
            self._reply(404, _xml_error("NoSuchResource", "unknown admin route"), "application/xml")
            return
        if not KEYS[ak][1]:
            self._reply(403, _xml_error("AccessDenied", "Access Denied."), "application/xml")
            return
        if route == "user-info" and "accessKey=ghost" in query:
            self._reply(404, json.dumps({"Code": "XRustfsAdminNoSuchUser"}).encode())
            return
        self._reply(200, json.dumps(ROUTES[route]).encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def rustfs() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), FakeRustfs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def admin(url: str, ak: str = "rustfsadmin", sk: str | None = None, region: str = "us-east-1") -> RustfsAdmin:
    return RustfsAdmin(url, ak, KEYS[ak][0] if sk is None else sk, region=region, timeout=3)


def test_routes_parse(rustfs: str) -> None:
    a = admin(rustfs)
    users = {u.access_key: u for u in a.list_users()}
    assert users["dragonfly-backup"].policies == ("dragonfly-storage",)
    assert users["dragonfly-backup"].member_of == ("cache",) and users["dragonfly-backup"].status == "enabled"
    assert users["old-app"].policies == ("readwrite", "diagnostics") and users["old-app"].status == "disabled"
    assert a.user_info("dragonfly-backup").member_of == ("cache",)
    assert a.groups() == ("cache",)
    group = a.group("cache")
    assert group.members == ("dragonfly-backup",) and group.policies == ("dragonfly-storage",)
    policies = {p.name: p for p in a.list_policies()}
    assert policies["dragonfly-storage"].document == POLICY
    assert a.policy("dragonfly-storage").document == POLICY
    assert a.is_admin() is True
    assert a.info()["mode"] == "online"
    assert "/rustfs/admin/v3/user-info?accessKey=dragonfly-backup" in FakeRustfs.seen


def test_not_found(rustfs: str) -> None:
    with pytest.raises(SourceError) as err:
        admin(rustfs).user_info("ghost")
    assert err.value.kind == "notfound"


def test_non_admin_keys_are_forbidden(rustfs: str) -> None:
    a = admin(rustfs, "dragonfly-backup")
    with pytest.raises(SourceError) as err:
        a.list_users()
    assert err.value.kind == "forbidden" and "not RustFS admin keys" in err.value.message
    assert a.is_admin() is False


def test_wrong_secret_fails_signature_check(rustfs: str) -> None:
    a = admin(rustfs, sk="rustfsadmin\n")  # trailing newline from a sloppy Secret
    with pytest.raises(SourceError) as err:
        a.list_users()
    assert err.value.kind == "auth" and "SignatureDoesNotMatch" in err.value.message
    assert "rustfsadmin\n" not in str(err.value) and "\n" not in repr(a)


def test_unknown_key_and_wrong_region(rustfs: str) -> None:
    with pytest.raises(SourceError) as err:
        RustfsAdmin(rustfs, "nobody", "x", timeout=3).groups()
    assert err.value.kind == "auth" and "InvalidAccessKeyId" in err.value.message
    with pytest.raises(SourceError) as err:
        admin(rustfs, region="eu-west-1").groups()
    assert "AuthorizationHeaderMalformed" in err.value.message


def test_closed_and_silent_ports(closed_port: int, silent_port: int) -> None:
    with pytest.raises(SourceError) as err:
        RustfsAdmin(f"http://{LOOPBACK}:{closed_port}", "a", "b", timeout=2).groups()
    assert err.value.kind == "unreachable"
    deadline = time.monotonic() + 2
    with pytest.raises(SourceError) as err:
        RustfsAdmin(f"http://{LOOPBACK}:{silent_port}", "a", "b", timeout=1).groups()
    assert err.value.kind == "timeout" and time.monotonic() < deadline


# ---------------------------------------------------------------- policy lint

def codes(issues: list) -> list[str]:
    return [i.code for i in issues]


def test_seed_pattern_is_clean() -> None:
    assert lint_policy("dragonfly-storage", POLICY, "dragonfly-backups") == []
    assert lint_policy("dragonfly-storage", json.dumps(POLICY)) == []


def test_listbucket_on_object_arn() -> None:
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject"],
         "Resource": ["arn:aws:s3:::data/*"]}]}
    issues = lint_policy("data-rw", doc, "data")
    assert set(codes(issues)) == {"S3_POLICY_LINT"}
    text = " ".join(i.message for i in issues)
    assert "s3:ListBucket is granted on arn:aws:s3:::data/*" in text
    assert "no s3:ListBucket on arn:aws:s3:::data" in text
    assert json.loads(issues[0].fix) == corrected_policy("data")


def test_object_actions_on_bucket_arn_and_missing_location() -> None:
    doc = {"Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::logs"},
                         {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs"}]}
    msgs = [i.message for i in lint_policy("logs", doc, "logs")]
    assert any("s3:GetObject is granted on arn:aws:s3:::logs" in m for m in msgs)
    assert any("s3:GetBucketLocation is missing" in m for m in msgs)
    assert any("no object actions" in m for m in msgs)


def test_overbroad() -> None:
    issues = lint_policy("readwrite", READWRITE, "dragonfly-backups")
    assert codes(issues).count("S3_OVERBROAD_POLICY") == 2
    assert "S3_POLICY_LINT" not in codes(issues)


def test_garbage_documents() -> None:
    assert codes(lint_policy("x", "{not json")) == ["S3_POLICY_LINT"]
    assert codes(lint_policy("x", [1, 2])) == ["S3_POLICY_LINT"]
    assert "S3_POLICY_LINT" in codes(lint_policy("x", {"Statement": "nonsense"}))
