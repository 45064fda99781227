"""S3Source against a moto server with IAM enforcement (tests/servers.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from checks.errors import SourceError
from checks.sources.s3 import S3Source, classify_s3_error
from tests.servers import BUCKET, LOOPBACK, OTHER_BUCKET, MotoServer, closed_port, moto_server, silent_port  # noqa: F401


def admin_client(srv: MotoServer, service: str) -> Any:
    """A plain boto3 client of `service` ("s3", "iam") with the admin user's keys, to set a case up."""
    import boto3

    ak, sk = srv.keys["admin"]
    return boto3.session.Session().client(service, endpoint_url=srv.endpoint, aws_access_key_id=ak,
                                          aws_secret_access_key=sk, region_name="us-east-1")


def s3(srv: MotoServer, user: str, secret_suffix: str = "") -> S3Source:
    ak, sk = srv.keys[user]
    return S3Source(srv.endpoint, ak, sk + secret_suffix, timeout=5)


def test_health_falls_back_to_any_http_answer(moto_server: MotoServer) -> None:
    probe = s3(moto_server, "good").health()
    assert probe.ok and probe.http_status is not None


def test_good_policy_can_do_everything_on_its_bucket(moto_server: MotoServer) -> None:
    src = s3(moto_server, "good")
    # moto authorises HeadBucket as a non-existent "s3:HeadBucket" action (AWS and RustFS use
    # s3:ListBucket), so with moto it is only checked with the admin key
    assert s3(moto_server, "admin").head_bucket(BUCKET).ok
    listed = src.list_objects(BUCKET, max_keys=1)
    assert listed.ok and len(listed.value) == 1
    assert src.get_bucket_location(BUCKET).ok
    assert src.head_object(BUCKET, "snapshots/dump-0.dfs").ok
    missing = src.head_object(BUCKET, "absent-key")
    assert not missing.ok and missing.code == "NoSuchKey" and missing.http_status == 404
    key = "clusterdeck-probe/test"
    assert src.put_object(BUCKET, key, b"hello").ok
    got = src.get_object(BUCKET, key)
    assert got.ok and got.value == b"hello"
    assert src.delete_object(BUCKET, key).ok


def test_good_policy_is_denied_other_buckets(moto_server: MotoServer) -> None:
    probe = s3(moto_server, "good").list_objects(OTHER_BUCKET)
    assert not probe.ok and probe.code == "AccessDenied" and probe.http_status == 403


def test_listbucket_on_object_arn_is_access_denied(moto_server: MotoServer) -> None:
    src = s3(moto_server, "wrongarn")
    listed = src.list_objects(BUCKET)
    assert not listed.ok and listed.code == "AccessDenied" and listed.http_status == 403
    loc = src.get_bucket_location(BUCKET)
    assert not loc.ok and loc.http_status == 403
    head = src.head_bucket(BUCKET)
    assert not head.ok and head.code == "Forbidden" and head.http_status == 403
    assert src.head_object(BUCKET, "snapshots/dump-0.dfs").ok  # object actions still work


def test_invalid_access_key(moto_server: MotoServer) -> None:
    probe = S3Source(moto_server.endpoint, "AKIANOTAREALKEY00000", "x" * 40, timeout=5).list_objects(BUCKET)
    assert not probe.ok and probe.code == "InvalidAccessKeyId" and probe.http_status == 403


def test_trailing_newline_secret_is_signature_mismatch(moto_server: MotoServer) -> None:
    src = s3(moto_server, "good", secret_suffix="\n")
    probe = src.list_objects(BUCKET)
    assert not probe.ok and probe.code == "SignatureDoesNotMatch" and probe.http_status == 403
    assert moto_server.keys["good"][1] not in repr(src)


def test_no_such_bucket(moto_server: MotoServer) -> None:
    src = s3(moto_server, "admin")
    probe = src.list_objects("no-such-bucket")
    assert not probe.ok and probe.code == "NoSuchBucket" and probe.http_status == 404
    head = src.head_bucket("no-such-bucket")
    assert not head.ok and head.code == "NoSuchBucket" and head.http_status == 404


def test_list_buckets_and_summary(moto_server: MotoServer) -> None:
    src = s3(moto_server, "admin")
    buckets = src.list_buckets()
    assert buckets.ok and {b.name for b in buckets.value} >= {BUCKET, OTHER_BUCKET}
    summary = src.bucket_summary(BUCKET)
    assert summary.ok
    s = summary.value
    assert s.objects == 3 and s.total_bytes == 600 and s.created is not None
    assert s.policy_present is False and s.versioning == "Disabled" and not s.truncated
    denied = s3(moto_server, "good").list_buckets()
    assert not denied.ok and denied.code == "AccessDenied"


def test_bucket_details_wait_their_turn_before_each_bucket(moto_server: MotoServer) -> None:
    """The background detail loader calls `wait_turn` before each bucket's requests (the TUI waits there while
    the user types); the answers are those of a load without it."""
    import threading

    from checks.rustfs_view import BucketRow, load_bucket_details

    src = s3(moto_server, "admin")
    rows = [BucketRow(BUCKET, None), BucketRow(OTHER_BUCKET, None)]
    turns: list[str] = []
    lock = threading.Lock()

    def wait_turn() -> None:
        with lock:
            turns.append(threading.current_thread().name)

    got = load_bucket_details(src, rows, workers=2, wait_turn=wait_turn)
    assert len(turns) == 2
    assert got == load_bucket_details(src, rows, workers=2)
    assert got[0].objects == 3 and got[0].total_bytes == 600
    # a bucket whose turn answers False (the pane was left) is not read: handed back as it was, not loaded
    skipped = load_bucket_details(src, rows, workers=2, wait_turn=lambda: False)
    assert skipped == rows and not any(r.loaded for r in skipped)


def test_closed_port_is_unreachable(closed_port: int) -> None:
    src = S3Source(f"http://{LOOPBACK}:{closed_port}", "ak", "sk", timeout=2)
    with pytest.raises(SourceError) as err:  # "unreachable", not "timeout": a refusal is not waited out
        src.list_buckets()
    assert err.value.kind == "unreachable" and err.value.system == "s3"
    with pytest.raises(SourceError) as err:
        src.health()
    assert err.value.kind == "unreachable"


def test_silent_port_times_out(silent_port: int) -> None:
    timeout = 1.0
    src = S3Source(f"http://{LOOPBACK}:{silent_port}", "ak", "sk", timeout=timeout)
    deadline = time.monotonic() + timeout + 1
    with pytest.raises(SourceError) as err:
        src.list_objects(BUCKET)
    assert err.value.kind == "timeout" and time.monotonic() < deadline
    deadline = time.monotonic() + timeout + 1
    with pytest.raises(SourceError) as err:
        src.health()
    assert err.value.kind == "timeout" and time.monotonic() < deadline


def test_a_listing_from_a_silent_port_times_out(silent_port: int) -> None:
    """ListBuckets is sent without the client (SignedGets): bounded by the same timeout, the same error."""
    src = S3Source(f"http://{LOOPBACK}:{silent_port}", "ak", "sk", timeout=1.0)
    deadline = time.monotonic() + 2
    with pytest.raises(SourceError) as err:
        src.list_buckets()
    assert err.value.kind == "timeout" and "did not answer within 1s" in err.value.message
    assert time.monotonic() < deadline


@pytest.mark.parametrize("text,code", [
    ("An error occurred (AccessDenied) when calling the ListObjectsV2 operation: Access Denied", "AccessDenied"),
    ("S3 error: Access Denied", "AccessDenied"),
    ("The AWS Access Key Id you provided does not exist in our records.", "InvalidAccessKeyId"),
    ("SignatureDoesNotMatch: The request signature we calculated does not match", "SignatureDoesNotMatch"),
    ("RequestTimeTooSkewed", "RequestTimeTooSkewed"),
    ("AuthorizationHeaderMalformed: the region is wrong; expecting 'us-east-1'.", "AuthorizationHeaderMalformed"),
    ("InvalidRequest ErrAccessKeyDisabled", "InvalidRequest"),
    ("botocore.errorfactory.NoSuchBucket: The specified bucket does not exist", "NoSuchBucket"),
    ("nothing to see", None),
])
def test_classify_s3_error(text: str, code: str | None) -> None:
    assert classify_s3_error(text) == code


def test_https_to_plain_http_endpoint(moto_server: MotoServer) -> None:
    https = moto_server.endpoint.replace("http://", "https://")
    ak, sk = moto_server.keys["good"]
    with pytest.raises(SourceError) as err:
        S3Source(https, ak, sk, timeout=3).list_objects(BUCKET)
    assert err.value.kind == "unreachable" and "http://" in err.value.message
    with pytest.raises(SourceError) as err:
        S3Source(https, ak, sk, timeout=3).health()
    assert "plain HTTP" in err.value.message


# -- ListBuckets parsed without botocore's generic parser ------------------------------------------------------

NS = ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
LISTINGS = {
    "moto": f'<?xml version="1.0" encoding="utf-8"?>\n<ListAllMyBucketsResult{NS}><Buckets><Bucket><Name>loki</Name>'
            '<CreationDate>2026-11-25T03:27:06.000Z</CreationDate></Bucket><Bucket><Name>bench-b00001</Name>'
            '<CreationDate>2026-11-25T03:27:14.000Z</CreationDate></Bucket></Buckets><Owner>'
            '<ID>bcaf1ffd86f41161ca5fb16fd081034f</ID><DisplayName>webfile</DisplayName></Owner>'
            '</ListAllMyBucketsResult>',
    "no namespace, escapes, no date": '<ListAllMyBucketsResult><Buckets><Bucket><Name>a&amp;b&lt;c&gt;</Name></Bucket>'
                                      '<Bucket><Name>x</Name><CreationDate>2024-01-02T03:04:05Z</CreationDate>'
                                      '</Bucket></Buckets></ListAllMyBucketsResult>',
    "empty": f'<ListAllMyBucketsResult{NS}><Owner><ID>1</ID></Owner><Buckets></Buckets></ListAllMyBucketsResult>',
    "no buckets element": f'<ListAllMyBucketsResult{NS}><Owner><ID>1</ID></Owner></ListAllMyBucketsResult>',
    "paginated, regions, offset date": f'<ListAllMyBucketsResult{NS}><Buckets><Bucket><Name>b</Name><BucketRegion>'
                                       'eu-west-1</BucketRegion><CreationDate>2024-01-02T03:04:05.123+02:00'
                                       '</CreationDate><Unknown>?</Unknown></Bucket></Buckets><ContinuationToken>'
                                       'tok</ContinuationToken><Prefix>b</Prefix></ListAllMyBucketsResult>',
}


def _botocore_parse(body: bytes) -> dict:
    import botocore.session
    from botocore.parsers import RestXMLParser

    from checks.sources.s3_fast import fast_timestamp

    shape = botocore.session.get_session().get_service_model("s3").operation_model("ListBuckets").output_shape
    parsed = RestXMLParser(timestamp_parser=fast_timestamp).parse(
        {"status_code": 200, "headers": {}, "body": body}, shape)
    parsed.pop("ResponseMetadata", None)
    return parsed


@pytest.mark.parametrize("name", LISTINGS)
def test_bucket_listing_parses_as_botocore_does(name: str) -> None:
    from checks.sources.s3_fast import parse_bucket_listing

    body = LISTINGS[name].encode()
    assert parse_bucket_listing(body) == _botocore_parse(body)


@pytest.mark.parametrize("body", [b"not xml", b"<Error><Code>AccessDenied</Code></Error>",
                                  f"<ListAllMyBucketsResult{NS}><Buckets><Oops/></Buckets></ListAllMyBucketsResult>"
                                  .encode(), b"<ListAllMyBucketsResult><Buckets>"])
def test_unexpected_listings_are_left_to_botocore(body: bytes) -> None:
    from checks.sources.s3_fast import fast_list_buckets, parse_bucket_listing

    assert parse_bucket_listing(body) is None
    response, custom = {"status_code": 200, "body": body}, {}
    fast_list_buckets(response, custom)
    assert response["body"] == body and custom == {}


def test_list_buckets_takes_the_fast_parse_with_the_same_answer(moto_server: MotoServer,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Through a real server: the answer is parsed by parse_bucket_listing, and equals what botocore alone makes
    of the same request; an error answer still comes back as the server's code."""
    import boto3

    from checks.sources import s3 as s3mod
    from checks.sources import s3_fast

    calls: list[int] = []
    original = s3_fast.parse_bucket_listing
    counted = lambda body: calls.append(1) or original(body)  # noqa: E731
    monkeypatch.setattr(s3_fast, "parse_bucket_listing", counted)  # the client's before-parse hook's
    monkeypatch.setattr(s3mod, "parse_bucket_listing", counted)  # the signed GET's
    src = s3(moto_server, "admin")
    fast = src.list_buckets()
    assert fast.ok and calls == [1]
    assert not src._client.made, "ListBuckets is sent without the boto3 client (made on first use)"
    ak, sk = moto_server.keys["admin"]
    plain = boto3.session.Session().client("s3", endpoint_url=moto_server.endpoint, aws_access_key_id=ak,
                                           aws_secret_access_key=sk, region_name="us-east-1")
    assert fast.value == tuple(s3mod.BucketInfo(b["Name"], b.get("CreationDate"))
                               for b in plain.list_buckets()["Buckets"])
    assert len(fast.value) >= 2
    denied = s3(moto_server, "good").list_buckets()
    assert not denied.ok and denied.code == "AccessDenied" and len(calls) == 1


def test_a_listing_is_parsed_once_and_errors_sent_with_200_are_still_caught() -> None:
    """botocore checks every S3 answer for an error sent with status 200 by parsing it into a tree; a listing
    the fast parse takes skips that second parse, and anything else still gets the check (status -> 500)."""
    from checks.sources.s3 import boto_client

    client = boto_client("s3", endpoint_url=f"http://{LOOPBACK}:1", aws_access_key_id="a",
                         aws_secret_access_key="b", region_name="us-east-1")
    model = client.meta.service_model
    error = b'<?xml version="1.0"?><Error><Code>InternalError</Code><Message>x</Message></Error>'

    def emit(operation: str, body: bytes) -> tuple[dict, dict]:
        response, custom = {"status_code": 200, "headers": {}, "body": body}, {}
        client.meta.events.emit(f"before-parse.s3.{operation}", operation_model=model.operation_model(operation),
                                response_dict=response, customized_response_dict=custom)
        return response, custom

    response, custom = emit("ListBuckets", LISTINGS["moto"].encode())
    assert response["status_code"] == 200 and [b["Name"] for b in custom["Buckets"]] == ["loki", "bench-b00001"]
    for operation in ("ListBuckets", "ListObjectsV2", "GetBucketVersioning"):
        response, custom = emit(operation, error)
        assert response["status_code"] == 500 and response["body"] == error and custom == {}, operation


# -- bucket details by signed GETs (checks.sources.s3_fast.SignedGets) ------------------------------------------------------

def test_bucket_summary_pages_policy_versioning_and_errors(moto_server: MotoServer) -> None:
    """The details the pane's loader reads, through moto: counts over pages, the page limit, a policy and
    versioning set, the server's error codes; the counts equal what boto3's own client lists."""
    import json
    from urllib.parse import unquote

    admin = admin_client(moto_server, "s3")
    name = "details-probe"
    admin.create_bucket(Bucket=name)
    try:
        for i in range(5):  # one key XML 1.0 cannot hold unless URL-encoded (ESC)
            admin.put_object(Bucket=name, Key=f"k/{i}" + ("\x1b[31m<&>" if i == 4 else ""), Body=b"x" * (10 + i))
        src = s3(moto_server, "admin")
        plain = src.bucket_summary(name, created=None)
        assert plain.ok and (plain.value.objects, plain.value.total_bytes) == (5, 60)
        assert plain.value.policy_present is False and plain.value.versioning == "Disabled"
        assert plain.value.created is not None and not plain.value.truncated
        listed = admin.list_objects_v2(Bucket=name)["Contents"]
        assert plain.value.total_bytes == sum(o["Size"] for o in listed)
        paged = src.bucket_summary(name, page_size=2)
        assert (paged.value.objects, paged.value.total_bytes, paged.value.truncated) == (5, 60, False)
        cut = src.bucket_summary(name, max_pages=2, page_size=2)
        assert (cut.value.objects, cut.value.total_bytes, cut.value.truncated) == (4, 46, True)
        admin.create_bucket(Bucket="details-settings")
        admin.put_bucket_versioning(Bucket="details-settings", VersioningConfiguration={"Status": "Enabled"})
        admin.put_bucket_policy(Bucket="details-settings", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::details-settings/*"}]}))
        settings = src.bucket_summary("details-settings").value
        assert settings.policy_present is True and settings.versioning == "Enabled" and settings.objects == 0
    finally:
        for bucket in (name, "details-settings"):
            for o in admin.list_objects_v2(Bucket=bucket, EncodingType="url").get("Contents", []):
                admin.delete_object(Bucket=bucket, Key=unquote(o["Key"]))
            admin.delete_bucket(Bucket=bucket)
    denied = s3(moto_server, "good").bucket_summary(OTHER_BUCKET)
    assert not denied.ok and denied.code == "AccessDenied" and denied.http_status == 403
    assert denied.operation == "ListObjectsV2"
    missing = s3(moto_server, "admin").bucket_summary("no-such-bucket")
    assert not missing.ok and missing.code == "NoSuchBucket" and missing.http_status == 404


def test_bucket_summary_transport_failures(closed_port: int, silent_port: int) -> None:
    with pytest.raises(SourceError) as err:
        S3Source(f"http://{LOOPBACK}:{closed_port}", "ak", "sk", timeout=2).bucket_summary("b")
    assert err.value.kind == "unreachable" and err.value.system == "s3"
    with pytest.raises(SourceError) as err:
        S3Source(f"http://{LOOPBACK}:{silent_port}", "ak", "sk", timeout=1).bucket_summary("b")
    assert err.value.kind == "timeout" and "did not answer within 1s" in err.value.message


# -- IAM access keys by signed POSTs (checks.sources.s3_fast.SignedQueries) -----------------------------------

def test_access_keys_by_signed_posts_equal_the_clients_answer(moto_server: MotoServer) -> None:
    """Through moto: every key with its status, equal to what boto3's client lists; an unknown user
    is the server's NoSuchEntity with the message the client path gives; a wrong secret is refused."""

    from checks.rustfs_iam_api import IamApiAdapter

    ak, sk = moto_server.keys["admin"]
    admin = admin_client(moto_server, "iam")
    user = "keys-probe"
    admin.create_user(UserName=user)
    try:
        made = [admin.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"] for _ in range(2)]
        admin.update_access_key(UserName=user, AccessKeyId=made[1], Status="Inactive")
        iam = IamApiAdapter(moto_server.endpoint, ak, sk, timeout=5)
        listed = admin.list_access_keys(UserName=user)["AccessKeyMetadata"]
        expected = sorted((m["AccessKeyId"], "enabled" if m["Status"] == "Active" else "disabled") for m in listed)
        assert sorted((k.access_key, k.status) for k in iam.access_keys(user)) == expected
        assert {k.user for k in iam.access_keys(user)} == {user} and len(expected) == 2

        with pytest.raises(SourceError) as fast:
            iam.access_keys("no-such-user")
        with pytest.raises(SourceError) as client:
            iam._call("list_access_keys", UserName="no-such-user")
        assert fast.value.kind == "notfound" and "NoSuchEntity" in fast.value.message
        assert fast.value.message == client.value.message

        with pytest.raises(SourceError) as refused:
            IamApiAdapter(moto_server.endpoint, ak, sk + "x", timeout=5).access_keys(user)
        assert refused.value.kind in ("forbidden", "error") and sk not in refused.value.message
    finally:
        for key in admin.list_access_keys(UserName=user)["AccessKeyMetadata"]:
            admin.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
        admin.delete_user(UserName=user)


def test_access_keys_transport_failures(closed_port: int, silent_port: int) -> None:
    from checks.rustfs_iam_api import IamApiAdapter

    for port, timeout in ((closed_port, 2), (silent_port, 1)):
        with pytest.raises(SourceError) as err:
            IamApiAdapter(f"http://{LOOPBACK}:{port}", "ak", "sk-secret", timeout=timeout).access_keys("u")
        assert err.value.kind == "unreachable" and err.value.title == "IAM API unreachable"
        assert "sk-secret" not in err.value.message


def test_access_keys_follow_the_markers_of_a_paged_answer() -> None:
    """moto answers ListAccessKeys in one page whatever MaxItems says; a server that pages (IAM's own answer
    shape, two pages joined by a Marker) is followed to the end, and MaxItems is sent."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs

    from checks.rustfs_iam_api import IamApiAdapter

    ns = "https://iam.amazonaws.com/doc/2010-05-08/"
    asked: list[dict[str, list[str]]] = []

    def page(keys: list[tuple[str, str]], marker: str) -> bytes:
        members = "".join(f"<member><UserName>u</UserName><AccessKeyId>{k}</AccessKeyId><Status>{s}</Status>"
                          "<CreateDate>2026-11-24T17:30:24Z</CreateDate></member>" for k, s in keys)
        more = f"<IsTruncated>true</IsTruncated><Marker>{marker}</Marker>" if marker else "<IsTruncated>false</IsTruncated>"
        return (f'<ListAccessKeysResponse xmlns="{ns}"><ListAccessKeysResult><UserName>u</UserName>'
                f"<AccessKeyMetadata>{members}</AccessKeyMetadata>{more}</ListAccessKeysResult>"
                "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListAccessKeysResponse>").encode()

    class Paged(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            asked.append(form)
            body = (page([("AKIAONE", "Active")], "next-page") if "Marker" not in form
                    else page([("AKIATWO", "Inactive")], ""))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer((LOOPBACK, 0), Paged)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        iam = IamApiAdapter(f"http://{LOOPBACK}:{server.server_address[1]}", "ak", "sk", timeout=5)
        keys = iam.access_keys("u", page_size=1)
        assert [(k.access_key, k.status) for k in keys] == [("AKIAONE", "enabled"), ("AKIATWO", "disabled")]
        assert [q.get("Marker") for q in asked] == [None, ["next-page"]]
        assert all(q["Action"] == ["ListAccessKeys"] and q["MaxItems"] == ["1"] and q["UserName"] == ["u"]
                   for q in asked)
    finally:
        server.shutdown()
        server.server_close()


def test_signed_requests_keep_the_socket_options_of_a_botocore_client() -> None:
    """TCP_NODELAY, as a botocore client's HTTP session has it (botocore's URLLib3Session alone sets none):
    without it a signed POST, its body sent after its headers, waited ~40 ms for the server's delayed ACK."""
    import socket

    from checks.sources.s3 import boto_client
    from checks.sources.s3_fast import SignedGets, SignedQueries

    endpoint = f"http://{LOOPBACK}:1"
    client = boto_client("iam", endpoint_url=endpoint, aws_access_key_id="a", aws_secret_access_key="b",
                         region_name="us-east-1")
    expected = client._endpoint.http_session._socket_options
    assert (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1) in expected
    for signed in (SignedQueries(endpoint, "a", "b", "us-east-1", 1.0), SignedGets(endpoint, "a", "b", "us-east-1", 1.0)):
        assert signed._signer_and_session()[1]._socket_options == expected


def test_account_details_read_as_botocore_reads_them(moto_server: MotoServer) -> None:
    """moto's GetAccountAuthorizationDetails, read by a signed POST and `query_value`, equals botocore's parse of
    the same request on every field the identity snapshot reads (users' groups and policies, groups' policies,
    policies' versions and documents, the page flag). moto leaves PolicyName out of the policies: their ARN
    names them, as the snapshot reads them (`_policy_name`)."""
    import json

    from checks.rustfs_iam_api import IamApiAdapter, _doc, _policy_name

    ak, sk = moto_server.keys["admin"]
    admin = admin_client(moto_server, "iam")
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                   "Resource": "arn:aws:s3:::b/<&>*"}]}
    arn = admin.create_policy(PolicyName="details-probe", PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
    second = {**doc, "Statement": [{**doc["Statement"][0], "Action": "s3:PutObject"}]}
    admin.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(second), SetAsDefault=True)
    admin.create_group(GroupName="details-group")
    admin.attach_group_policy(GroupName="details-group", PolicyArn=arn)
    admin.create_user(UserName="details-user")
    admin.add_user_to_group(GroupName="details-group", UserName="details-user")
    admin.attach_user_policy(UserName="details-user", PolicyArn=arn)
    try:
        def view(d: dict) -> tuple:
            users = sorted((u["UserName"], tuple(u.get("GroupList") or ()),
                            tuple(p["PolicyName"] for p in u.get("AttachedManagedPolicies") or ()))
                           for u in d.get("UserDetailList") or ())
            groups = sorted((g["GroupName"], tuple(p["PolicyName"] for p in g.get("AttachedManagedPolicies") or ()))
                            for g in d.get("GroupDetailList") or ())
            policies = sorted((_policy_name(p), p["Arn"], tuple(sorted(
                (v["VersionId"], v["IsDefaultVersion"], json.dumps(_doc(v["Document"]), sort_keys=True))
                for v in p.get("PolicyVersionList") or ()))) for p in d.get("Policies") or ())
            return users, groups, policies, d.get("IsTruncated")

        fast = IamApiAdapter(moto_server.endpoint, ak, sk, timeout=5).account_details()
        slow = admin.get_account_authorization_details(Filter=["User", "Group", "LocalManagedPolicy"])
        assert view(fast) == view(slow)
        assert ("details-user", ("details-group",), ("details-probe",)) in view(fast)[0]
        assert any(name == "details-probe" and len(versions) == 2 for name, _, versions in view(fast)[2])
    finally:
        admin.detach_user_policy(UserName="details-user", PolicyArn=arn)
        admin.remove_user_from_group(GroupName="details-group", UserName="details-user")
        admin.delete_user(UserName="details-user")
        admin.detach_group_policy(GroupName="details-group", PolicyArn=arn)
        admin.delete_group(GroupName="details-group")
        for v in admin.list_policy_versions(PolicyArn=arn)["Versions"]:
            if not v["IsDefaultVersion"]:
                admin.delete_policy_version(PolicyArn=arn, VersionId=v["VersionId"])
        admin.delete_policy(PolicyArn=arn)


def test_inline_policies_are_read_by_both_snapshot_paths(moto_server: MotoServer) -> None:
    """Inline policies (embedded in a user or a group: the test server's users have nothing else) are in the
    IAM fallback's snapshot, named by their owner, with their documents, whichever path read it; before, a
    user with inline policies only showed no policy, and R8 said "no policy is attached"."""
    import json

    from checks.rustfs_iam_api import IamApiAdapter, _iam_snapshot_calls, _iam_snapshot_details, inline_name

    ak, sk = moto_server.keys["admin"]
    admin = admin_client(moto_server, "iam")
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket",
                                                   "Resource": "arn:aws:s3:::inline-<&>"}]}
    admin.create_group(GroupName="inline-group")
    admin.put_group_policy(GroupName="inline-group", PolicyName="group-read", PolicyDocument=json.dumps(doc))
    admin.add_user_to_group(GroupName="inline-group", UserName="good")
    try:
        iam = IamApiAdapter(moto_server.endpoint, ak, sk, timeout=5)
        details, calls = _iam_snapshot_details(iam), _iam_snapshot_calls(iam)
        assert details == calls
        good = details.user("good")
        assert good is not None and inline_name("good", "good-policy") in good.policies
        policy = details.policy(inline_name("good", "good-policy"))
        assert policy is not None and any("s3:" in json.dumps(st) for st in policy.document.get("Statement", []))
        group = details.group("inline-group")
        assert group is not None and group.policies == (inline_name("inline-group", "group-read"),)
        assert details.policy(inline_name("inline-group", "group-read")).document == doc
        assert [name for name, _ in details.policies_of("good")] == [inline_name("good", "good-policy"),
                                                                     inline_name("inline-group", "group-read")]
    finally:
        admin.remove_user_from_group(GroupName="inline-group", UserName="good")
        admin.delete_group_policy(GroupName="inline-group", PolicyName="group-read")
        admin.delete_group(GroupName="inline-group")


def test_query_answers_of_unexpected_shape_do_not_break_the_snapshot() -> None:
    import xml.etree.ElementTree as ET

    from checks.rustfs_iam_api import _names, _records
    from checks.sources.s3_fast import query_value

    page = query_value(ET.fromstring(
        "<R><IsTruncated>maybe</IsTruncated><UserDetailList><member>just text</member><member><UserName>u"
        "</UserName><GroupList><member><x/></member><member>g</member></GroupList></member></UserDetailList>"
        "<IsDefaultVersion>true</IsDefaultVersion></R>"))
    assert page["IsTruncated"] == "maybe" and page["IsDefaultVersion"] is True
    assert _records(page["UserDetailList"]) == [{"UserName": "u", "GroupList": [{"x": ""}, "g"]}]
    assert _names(page["UserDetailList"][1]["GroupList"]) == ("g",) and _records("text") == [] and _names(None) == ()
    deep = "<a>" * 40 + "x" + "</a>" * 40
    with pytest.raises(ValueError):
        query_value(ET.fromstring(deep))
