"""RustFS IAM flow R1–R8: the planted lab cases through the real CLI, the clean lab, step details against
real servers (the lab's moto S3/IAM, and a local server answering like the RustFS admin API)."""

from __future__ import annotations

import base64
import hmac
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from checks.config import Config
from checks.connect_factories import SourceFactories
from checks.connect_models import S3Endpoint
from checks.errors import SourceError
from checks.flows.rustfs_access import step_policy_lint
from checks.flows.rustfs_steps import FlowCtx, step_endpoint, step_valid
from checks.rustfs_iam import AdminAccess, load_iam, try_admin
from checks.rustfs_identity import SOURCE_ADMIN, SOURCE_IAM
from tests.labtools import lab_connections, run_cli_json
from tests.servers import closed_port  # noqa: F401
from tests.test_rustfs_admin import _AUTH, KEYS, FakeRustfs, _xml_error

pytestmark = pytest.mark.lab

PLANTED = [
    ("ai-system/litellm", "S3_MISSING_BUCKET_ACTION", "R5"),
    ("ai-system/langfuse", "S3_SIGNATURE_MISMATCH", "R3"),
    ("ai-system/obot", "S3_INVALID_ACCESS_KEY", "R3"),
    ("cache/dragonfly", "S3_NO_SUCH_BUCKET", "R4"),
]
APPS = [a for a, _, _ in PLANTED] + ["monitoring/loki"]


def secrets(state: dict[str, Any]) -> list[str]:
    from lab.access import plan_of

    plan = plan_of(state)
    values = list(state["_secrets"]) + [plan["s3_admin"]["secret_key"]]
    values += [k["secret_key"] + "\n" for k in plan["s3_keys"].values()]
    return values


def assert_no_secret(text: str, values: list[str]) -> None:
    for value in values:
        for form in (value, value.strip(), base64.b64encode(value.encode()).decode()):
            assert form not in text, "a secret key leaked"


def steps(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in result["steps"]}


def triage(state: dict[str, Any], *args: str) -> tuple[int, dict[str, Any]]:
    code, result = run_cli_json(state, "triage", "rustfs", *args)
    assert_no_secret(json.dumps(result), secrets(state))
    return code, result


# -- the planted faults, through the CLI ---------------------------------------------------------------

@pytest.mark.parametrize(("app", "code", "step"), PLANTED)
def test_planted_root_causes(lab: dict[str, Any], app: str, code: str, step: str) -> None:
    exit_code, result = triage(lab, "--app", app)
    assert exit_code == 1
    assert result["root_cause"]["code"] == code and result["root_cause"]["step"] == step
    by_id = steps(result)
    assert by_id[step]["fix"], "a root cause comes with a fix"
    assert by_id["R6w"]["status"] == "skip"


def test_litellm_listbucket_on_object_arn(lab: dict[str, Any]) -> None:
    _, result = triage(lab, "--app", "ai-system/litellm")
    r5, r8 = steps(result)["R5"], steps(result)["R8"]
    assert any("arn:aws:s3:::litellm/*" in e and "litellm-storage" in e for e in r5["evidence"])
    assert '"arn:aws:s3:::litellm"' in r5["fix"] and "RustFS Console" in r5["fix"]
    assert r8["status"] == "fail" and r8["code"] == "S3_POLICY_LINT"
    assert '"s3:GetBucketLocation"' in r8["fix"] and "litellm-storage" in r8["fix"]
    assert steps(result)["R6"]["status"] == "pass" and steps(result)["R7"]["status"] == "pass"


def test_langfuse_trailing_newline_is_named(lab: dict[str, Any]) -> None:
    _, result = triage(lab, "--app", "ai-system/langfuse")
    r2, r3 = steps(result)["R2"], steps(result)["R3"]
    assert any("trailing newline" in e for e in r2["evidence"])
    assert "trailing newline" in r3["evidence"][0] and "trimmed value is accepted" in r3["evidence"][0]
    assert "ai-system/langfuse-s3" in r3["fix"] and "S3_SECRET_ACCESS_KEY" in r3["fix"]
    assert [steps(result)[s]["status"] for s in ("R4", "R5", "R6", "R7")] == ["skip"] * 4
    assert steps(result)["R8"]["status"] == "pass"


def test_obot_deleted_key(lab: dict[str, Any]) -> None:
    _, result = triage(lab, "--app", "ai-system/obot")
    r3 = steps(result)["R3"]
    assert any("no user or service account has access key" in e for e in r3["evidence"])
    assert "Identity → Users → obot → Service Accounts → Create Access Key" in r3["fix"]
    assert steps(result)["R8"]["status"] == "skip"


def test_loki_overbroad_is_a_warning(lab: dict[str, Any]) -> None:
    exit_code, result = triage(lab, "--app", "monitoring/loki")
    assert exit_code == 0 and result["root_cause"] is None
    r7 = steps(result)["R7"]
    assert r7["status"] == "warn" and r7["code"] == "S3_OVERBROAD_POLICY"
    assert "langfuse" in r7["evidence"][0] and "arn:aws:s3:::loki/*" in r7["fix"]
    assert steps(result)["R8"]["code"] == "S3_OVERBROAD_POLICY"


def test_dragonfly_bucket_never_created(lab: dict[str, Any]) -> None:
    _, result = triage(lab, "--app", "cache/dragonfly")
    assert result["subject"]["bucket"] == "dragonfly-backups"
    r4 = steps(result)["R4"]
    assert "Buckets → Create Bucket → name: dragonfly-backups" in r4["fix"]
    assert [steps(result)[s]["status"] for s in ("R5", "R6", "R6w")] == ["skip"] * 3
    assert steps(result)["R7"]["status"] == "pass" and steps(result)["R8"]["status"] == "pass"


def test_access_key_alone_finds_its_secret(lab: dict[str, Any]) -> None:
    from lab.access import plan_of

    key = plan_of(lab)["s3_keys"]["litellm"]["access_key"]
    _, result = triage(lab, "--access-key", key)
    assert result["subject"]["bucket"] == "litellm" and "ai-system/litellm" in result["subject"]["credentials"]
    assert result["root_cause"]["code"] == "S3_MISSING_BUCKET_ACTION"
    _, result = triage(lab, "--access-key", "AKIANOSUCHKEY0000000", "--bucket", "litellm")
    assert result["root_cause"]["code"] == "S3_APP_CREDENTIALS_NOT_FOUND" and len(result["steps"]) == 2


def test_error_text_prefills(lab: dict[str, Any]) -> None:
    from lab.access import plan_of

    key = plan_of(lab)["s3_keys"]["langfuse"]["access_key"]
    text = f"botocore: SignatureDoesNotMatch for access key {key}"
    code, result = run_cli_json(lab, "triage", "--error", text)
    assert code == 1 and result["flow"] == "rustfs"
    assert result["subject"]["error_code"] == "SignatureDoesNotMatch"
    assert result["root_cause"]["code"] == "S3_SIGNATURE_MISMATCH"
    assert any("matches the error the app logged" in e for e in steps(result)["R3"]["evidence"])


def test_unknown_workload(lab: dict[str, Any]) -> None:
    code, result = triage(lab, "--app", "ai-system/nothere")
    assert code == 1 and result["root_cause"]["code"] == "S3_APP_CREDENTIALS_NOT_FOUND"
    assert "nothere" in result["root_cause"]["summary"]


@pytest.mark.parametrize("app", APPS)
def test_clean_lab_has_no_root_cause(clean_lab: dict[str, Any], app: str) -> None:
    exit_code, result = triage(clean_lab, "--app", app)
    assert exit_code == 0 and result["root_cause"] is None, result
    assert [s["id"] for s in result["steps"] if s["status"] == "warn"] == []


def test_write_probe_cleans_up(scratch_lab: dict[str, Any]) -> None:
    from checks.sources.s3 import S3Source

    code, result = run_cli_json(scratch_lab, "--allow-writes", "--yes", "triage", "rustfs", "--app",
                                "ai-system/litellm")
    assert_no_secret(json.dumps(result), secrets(scratch_lab))
    r6w = steps(result)["R6w"]
    assert r6w["status"] == "pass" and any(e.startswith("DeleteObject: OK") for e in r6w["evidence"])
    ep = lab_connections(scratch_lab).rustfs_admin()
    keys = S3Source(ep.endpoint_url, ep.access_key, ep.secret_key).list_objects("litellm", 100).value
    assert not [k for k in keys if k.startswith(".clusterdeck-probe/")]


# -- a local server answering like RustFS: SigV4 verified, admin routes, ListBuckets ----------------------

S3_KEYS = {**{k: v[0] for k, v in KEYS.items()}, "disabled-app": "disabled-secret"}


class FakeRustfsS3(FakeRustfs):
    """The admin API of tests/test_rustfs_admin.py plus RustFS's S3 authentication for `GET /`."""

    def _verify(self) -> str | None:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        m = _AUTH.fullmatch(self.headers.get("Authorization", ""))
        if not m:
            self._reply(403, _xml_error("AccessDenied", "Signature V4 required"), "application/xml")
            return None
        ak = m["ak"]
        if ak not in S3_KEYS:
            self._reply(403, _xml_error("InvalidAccessKeyId", "The Access Key Id you provided does not exist in our "
                                        "records."), "application/xml")
            return None
        if m["region"] != "us-east-1":
            self._reply(400, _xml_error("AuthorizationHeaderMalformed", "the region is wrong; expecting "
                                        "'us-east-1'."), "application/xml")
            return None
        signed = m["signed"].split(";")
        req = AWSRequest(method=self.command, url=f"http://{self.headers['Host']}{self.path}",
                         headers={h: self.headers[h] for h in signed})
        req.context["timestamp"] = self.headers["x-amz-date"]
        auth = SigV4Auth(Credentials(ak, S3_KEYS[ak]), m["svc"], m["region"])
        expected = auth.signature(auth.string_to_sign(req, auth.canonical_request(req)), req)
        if not hmac.compare_digest(expected, m["sig"]):
            self._reply(403, _xml_error("SignatureDoesNotMatch", "The request signature we calculated does not "
                                        "match the signature you provided."), "application/xml")
            return None
        if ak == "disabled-app":
            self._reply(400, _xml_error("InvalidRequest", "ErrAccessKeyDisabled"), "application/xml")
            return None
        return ak

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/rustfs/admin/"):
            return super().do_GET()
        if self._verify() is not None:
            self._reply(200, b'<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult><Owner><ID>x</ID>'
                        b"</Owner><Buckets></Buckets></ListAllMyBucketsResult>", "application/xml")
        return None


@pytest.fixture(scope="module")
def rustfs() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeRustfsS3)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# -- single steps against real servers ------------------------------------------------------------------

def test_r1_scheme_mismatch_and_unreachable(lab: dict[str, Any], closed_port: int) -> None:  # noqa: F811
    conns = lab_connections(lab)
    host, port = lab["endpoints"]["rustfs-svc.storage.svc:9000"].rsplit(":", 1)
    ctx = FlowCtx(conns, endpoint=f"https://{host}:{port}")
    step = step_endpoint(ctx)
    assert step.status == "fail" and step.code == "S3_SCHEME_MISMATCH" and "http://" in step.fix
    step = step_endpoint(FlowCtx(conns, endpoint=f"http://127.0.0.1:{closed_port}"))
    assert step.code == "S3_ENDPOINT_UNREACHABLE"
    step = step_endpoint(FlowCtx(conns, endpoint="http://rustfs-svc.storage.svc.cluster.local:9000"))
    assert step.status == "pass" and any(f":{port}" in e for e in step.evidence)


def _ctx_on(url: str, access_key: str, secret: str, region: str = "us-east-1") -> FlowCtx:
    ctx = FlowCtx(_StubConns(url), access_key=access_key, secret_key=secret, region=region)
    ctx.url = url
    ctx._admin = AdminAccess(None, "no admin in this test")
    return ctx


def test_r3_codes_against_rustfs_like_server(rustfs: str) -> None:
    assert step_valid(_ctx_on(rustfs, "dragonfly-backup", KEYS["dragonfly-backup"][0], "eu-west-1")).code == \
        "S3_WRONG_REGION"
    assert step_valid(_ctx_on(rustfs, "nobody", "x")).code == "S3_INVALID_ACCESS_KEY"
    step = step_valid(_ctx_on(rustfs, "dragonfly-backup", KEYS["dragonfly-backup"][0] + "\n"))
    assert step.code == "S3_SIGNATURE_MISMATCH" and "trailing newline" in step.evidence[0]
    step = step_valid(_ctx_on(rustfs, "dragonfly-backup", "wrong-secret"))
    assert step.code == "S3_SIGNATURE_MISMATCH" and "does not belong" in step.evidence[0]
    assert step_valid(_ctx_on(rustfs, "disabled-app", "disabled-secret")).code == "S3_USER_DISABLED"
    assert step_valid(_ctx_on(rustfs, "dragonfly-backup", KEYS["dragonfly-backup"][0])).status == "pass"


class _StubConns(SourceFactories):
    """Connections pointing at the local RustFS-like server: only what the IAM reader uses."""

    def __init__(self, url: str, access_key: str = "rustfsadmin", missing: bool = False) -> None:
        self.config = Config(timeout=3)
        self.url, self.access_key, self.missing = url, access_key, missing

    def rustfs_admin(self) -> S3Endpoint:
        if self.missing:
            raise SourceError("s3", "Admin Secret missing", "Secret storage/rustfs-credentials not found",
                              kind="notfound")
        return S3Endpoint(self.url, self.access_key, KEYS[self.access_key][0], "us-east-1",
                          "rustfs-svc.storage.svc:9000")


def test_r8_through_the_rustfs_admin_api(rustfs: str) -> None:
    iam = load_iam(_StubConns(rustfs))
    assert iam.source == SOURCE_ADMIN and iam.limits == ()
    assert iam.owner_of("dragonfly-backup").user == "dragonfly-backup"
    assert ("dragonfly-storage", "group cache") in iam.policies_of("dragonfly-backup")
    ctx = FlowCtx(None, access_key="dragonfly-backup", bucket="dragonfly-backups")
    ctx._admin = AdminAccess(iam)
    step = step_policy_lint(ctx)
    assert step.status == "pass", step
    ctx = FlowCtx(None, access_key="dragonfly-backup", bucket="other-bucket")
    ctx._admin = AdminAccess(iam)
    step = step_policy_lint(ctx)
    assert step.status == "fail" and step.code == "S3_POLICY_LINT"
    assert json.loads(step.fix.split("with:\n", 1)[1]) == {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
         "Resource": ["arn:aws:s3:::other-bucket"]},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": ["arn:aws:s3:::other-bucket/*"]}]}
    ctx = FlowCtx(None, access_key="old-app", bucket="x")
    ctx._admin = AdminAccess(iam)
    step = step_policy_lint(ctx)
    assert step.code == "S3_POLICY_LINT" and any("S3_OVERBROAD_POLICY" in e for e in step.evidence)


def test_r8_skips_without_admin(rustfs: str) -> None:
    for conns, why in ((_StubConns(rustfs, missing=True), "Admin Secret missing"),
                       (_StubConns(rustfs, access_key="dragonfly-backup"), "Not admin keys")):
        access = try_admin(conns)
        assert access.iam is None and why in access.reason
        ctx = FlowCtx(conns, access_key="dragonfly-backup", bucket="dragonfly-backups")
        step = step_policy_lint(ctx)
        assert step.status == "skip" and why in step.evidence[0]


def test_iam_fallback_on_the_lab(lab: dict[str, Any]) -> None:
    access = try_admin(lab_connections(lab))
    iam = access.iam
    assert iam is not None and iam.source == SOURCE_IAM and iam.limits
    assert {"litellm", "langfuse", "obot", "loki", "dragonfly-backup"} <= {u.access_key for u in iam.users}
    assert iam.keys_of("obot") == ()
    assert iam.policies_of("loki") == (("loki-storage", "group monitoring"),)
    assert "Statement" in iam.policy("litellm-storage").document
    assert_no_secret(repr(iam) + repr(access), secrets(lab))
