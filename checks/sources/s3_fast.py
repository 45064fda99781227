"""The S3 and IAM sources' fast reads: ListBuckets parsed by ElementTree inside botocore, signed GETs (bucket
details) and signed Query-protocol POSTs (IAM access keys and account details).

botocore's generic, model-driven machinery costs milliseconds of CPU per request, which the UI thread waits
for under the GIL. Three reads are hot: ListBuckets of thousands of buckets (each refresh), every bucket's
details (~15,000 requests for 5,000 buckets in the pane's background), and the IAM account details and every
IAM user's access keys (each refresh). They are read here with ElementTree; requests still go through
botocore's signer and HTTP session, so timeouts and transport errors are botocore's, and errors come back as
botocore's ClientError.
"""

from __future__ import annotations

import socket
import threading
from datetime import datetime
from typing import Any

_EMPTY_LISTING = b'<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>'
_LISTING_FIELDS = {"Name": "Name", "CreationDate": "CreationDate", "BucketRegion": "BucketRegion",
                   "BucketArn": "BucketArn"}


def local_name(tag: str) -> str:
    """An element's tag without its XML namespace (`{http://s3…}Bucket` → `Bucket`)."""
    return tag.rpartition("}")[2]


def xml_fields(node: Any, names: tuple[str, ...] | None = None) -> dict[str, str]:
    """The text of `node`'s children by local name (only `names` when given); a missing text is ''."""
    return {local_name(e.tag): e.text or "" for e in node if names is None or local_name(e.tag) in names}


def fast_timestamp(value: Any) -> Any:
    """botocore's timestamp parsing, with a fast path for the ISO 8601 UTC form S3 and IAM answer in
    (`2026-11-24T17:30:24.000Z`): botocore's own goes through dateutil's generic parser, ~0.1 ms a value,
    i.e. most of the CPU of a ListBuckets of thousands of buckets. Same value and tzinfo (dateutil's UTC)."""
    from botocore.utils import parse_timestamp

    if isinstance(value, str) and len(value) > 19 and value[10] == "T" and value[-1] == "Z" and value[4] == "-":
        try:
            parsed = datetime.fromisoformat(value[:-1])
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is None:
            from dateutil.tz import tzutc

            return parsed.replace(tzinfo=tzutc())
    return parse_timestamp(value)


def parse_bucket_listing(body: bytes) -> dict[str, Any] | None:
    """A ListBuckets answer (`ListAllMyBucketsResult`) as botocore parses it, by ElementTree alone: ~15 ms for
    5,000 buckets where botocore's generic, model-driven parser takes ~170 ms. None when the body is not such
    an answer (botocore then parses it, and reports whatever is wrong, as before)."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body)
    except (ET.ParseError, ValueError):
        return None
    if local_name(root.tag) != "ListAllMyBucketsResult":
        return None
    out: dict[str, Any] = {}
    dates: dict[str, Any] = {}  # thousands of buckets share a few creation seconds: each is parsed once
    for child in root:
        name = local_name(child.tag)
        if name == "Buckets":
            buckets = []
            for node in child:
                if local_name(node.tag) != "Bucket":
                    return None
                bucket: dict[str, Any] = {}
                for item in node:
                    key = _LISTING_FIELDS.get(local_name(item.tag))
                    if key is None:
                        continue
                    text = item.text or ""
                    if key == "CreationDate":
                        date = dates.get(text)
                        if date is None:
                            date = dates[text] = fast_timestamp(text)
                        bucket[key] = date
                    else:
                        bucket[key] = text
                buckets.append(bucket)
            out["Buckets"] = buckets
        elif name == "Owner":
            out["Owner"] = xml_fields(child, ("DisplayName", "ID"))
        elif name in ("ContinuationToken", "Prefix"):
            out[name] = child.text or ""
    return out


def fast_list_buckets(response_dict: dict[str, Any], customized_response_dict: dict[str, Any],
                      **_: Any) -> bool:
    """botocore's `before-parse.s3.ListBuckets` hook: a successful answer is parsed by `parse_bucket_listing`
    and botocore is left an empty listing to parse (its result is updated with ours). Errors and anything
    unexpected go through botocore untouched. True when the answer was taken."""
    if response_dict.get("status_code") != 200 or not isinstance(response_dict.get("body"), bytes):
        return False
    parsed = parse_bucket_listing(response_dict["body"])
    if parsed is None:
        return False
    customized_response_dict.update(parsed)
    response_dict["body"] = _EMPTY_LISTING
    return True


def fast_listing_first(events: Any) -> None:
    """Hook `fast_list_buckets` in ahead of botocore's check for an S3 error sent with status 200, which
    parses every S3 answer into an element tree only to look at its root (5,000 buckets: a second parse of
    ~475 KB): a listing that `parse_bucket_listing` takes is not an error; any other answer, and every other
    operation, still gets botocore's check first."""
    from botocore import handlers

    check = getattr(handlers, "_handle_200_error", None)
    if check is None:  # another botocore: the fast parse after its own handlers
        events.register("before-parse.s3.ListBuckets", fast_list_buckets)
        return

    def before_parse(operation_model: Any, response_dict: dict[str, Any],
                     customized_response_dict: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if (operation_model.name == "ListBuckets" and customized_response_dict is not None
                and fast_list_buckets(response_dict, customized_response_dict)):
            return
        check(operation_model=operation_model, response_dict=response_dict, **kwargs)

    events.unregister("before-parse.s3.*", check)
    events.register_first("before-parse.s3.*", before_parse)


SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
"""What a botocore client gives its HTTP session (`_compute_socket_options`; URLLib3Session alone sets none):
without TCP_NODELAY a request whose body is sent after its headers (a POST) waits ~40 ms for the server's
delayed ACK (Nagle's algorithm)."""


class _Signed:
    """botocore's SigV4 signer (`signer`: its class) and HTTP session (the client's timeouts, one attempt), made
    on first use, for requests sent without a botocore client; the secret is never in a repr."""

    signer: Any = None

    def __init__(self, endpoint_url: str, access_key: str, secret_key: str, region: str, timeout: float,
                 service: str) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self._made: tuple[Any, Any] | None = None
        self._lock = threading.Lock()
        self.__keys = (access_key, secret_key, region, timeout, service)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.endpoint_url}, access_key={self.__keys[0]!r})"

    def _signer_and_session(self) -> tuple[Any, Any]:
        with self._lock:
            if self._made is None:
                from botocore import auth
                from botocore.credentials import Credentials
                from botocore.httpsession import URLLib3Session

                access_key, secret_key, region, timeout, service = self.__keys
                signer = getattr(auth, self.signer)
                self._made = (signer(Credentials(access_key, secret_key), service, region),
                              URLLib3Session(timeout=(timeout, timeout), max_pool_connections=16,
                                             socket_options=SOCKET_OPTIONS))
            return self._made

    def _send(self, request: Any) -> Any:
        signer, http = self._signer_and_session()
        signer.add_auth(request)
        return http.send(request.prepare())


def error_or_root(response: Any, operation: str) -> Any:
    """The XML root of a success; for an error answer (status >= 300, S3's `<Error>` or the Query protocol's
    `<ErrorResponse><Error>`, or a body that is not XML) botocore's ClientError with the server's Code and
    Message, as a botocore client raises it."""
    import xml.etree.ElementTree as ET

    from botocore.exceptions import ClientError

    try:
        root = ET.fromstring(response.content) if response.content else None
    except ET.ParseError:
        root = None
    error = root
    if root is not None and local_name(root.tag) == "ErrorResponse":
        error = next((e for e in root if local_name(e.tag) == "Error"), root)
    if response.status_code >= 300 or root is None or local_name(error.tag) == "Error":
        fields = xml_fields(error, ("Code", "Message")) if error is not None else {}
        code = fields.get("Code") or str(response.status_code)
        raise ClientError({"Error": {"Code": code, "Message": fields.get("Message", "")},
                           "ResponseMetadata": {"HTTPStatusCode": response.status_code}}, operation)
    return root


def query_value(node: Any, depth: int = 0) -> Any:
    """An AWS Query-protocol answer element as plain data, as botocore's parser shapes it for the fields read
    here: a list for `<member>` children, a dict of the children by name otherwise, a leaf's text ('true' and
    'false' of an `Is…` field as a bool; dates and numbers stay text). ValueError past 32 levels (no answer
    nests that deep)."""
    if depth > 32:
        raise ValueError("answer nested too deep")
    children = list(node)
    if not children:
        text = node.text or ""
        if local_name(node.tag).startswith("Is") and text in ("true", "false"):
            return text == "true"
        return text
    if all(local_name(c.tag) == "member" for c in children):
        return [query_value(c, depth + 1) for c in children]
    return {local_name(c.tag): query_value(c, depth + 1) for c in children}


class SignedGets(_Signed):
    """`GET /bucket?query` signed by botocore's S3 SigV4 signer and sent by botocore's HTTP session. For the
    reads of every bucket's details: the client's generic machinery (events, an endpoint ruleset evaluated anew
    for each bucket name, model-driven parsing) made ~3 ms of CPU per request; this ~1 ms."""

    signer = "S3SigV4Auth"

    def __init__(self, endpoint_url: str, access_key: str, secret_key: str, region: str, timeout: float) -> None:
        super().__init__(endpoint_url, access_key, secret_key, region, timeout, "s3")

    def get(self, operation: str, bucket: str, query: str, xml: bool = True) -> Any:
        """The answer's XML root (`xml=False`: a success's body as it is, e.g. a policy's JSON); an error answer
        raises botocore's ClientError with the server's Code and Message, as the client would. `query` is
        already percent-encoded as SigV4 signs it."""
        from urllib.parse import quote

        from botocore.awsrequest import AWSRequest

        url = f"{self.endpoint_url}/{quote(bucket, safe='-_.~')}" + (f"?{query}" if query else "")
        response = self._send(AWSRequest("GET", url))
        if not xml and response.status_code < 300:
            return response.content
        return error_or_root(response, operation)


class SignedQueries(_Signed):
    """AWS Query-protocol requests (IAM: `POST /` with `Action=…&Version=…`) signed by botocore's SigV4 signer
    and sent by botocore's HTTP session, the answer read by ElementTree. For the requests made on every
    refresh (ListAccessKeys, one per user): through the boto3 client each cost ~3 ms of CPU, most of it
    botocore's generic event and parsing machinery."""

    signer = "SigV4Auth"

    def __init__(self, endpoint_url: str, access_key: str, secret_key: str, region: str, timeout: float,
                 service: str = "iam", version: str = "2010-05-08") -> None:
        super().__init__(endpoint_url, access_key, secret_key, region, timeout, service)
        self.version = version

    def call(self, action: str, **params: str) -> Any:
        """The answer's `<ActionResult>` element; an error answer raises botocore's ClientError."""
        from urllib.parse import urlencode

        from botocore.awsrequest import AWSRequest

        body = urlencode({"Action": action, "Version": self.version, **params}).encode()
        response = self._send(AWSRequest("POST", f"{self.endpoint_url}/", data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}))
        root = error_or_root(response, action)
        return next((e for e in root if local_name(e.tag) == f"{action}Result"), root)
