"""S3 (RustFS) data source on boto3, imported lazily.

S3 answers (AccessDenied, NoSuchBucket, …) come back as `S3Probe` values with the
server's code verbatim; only transport failures raise `SourceError("s3", …)`.
The secret key is used exactly as given (a trailing newline is a real-world bug we
must reproduce, not hide) and never appears in a repr or message.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from checks.errors import SourceError
from checks.redact import redact
from checks.sources import breaker
from checks.sources.s3_fast import (SignedGets, fast_listing_first, fast_timestamp, local_name, parse_bucket_listing,
                                    xml_fields)

SYSTEM = "s3"

KNOWN_CODES = ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket", "NoSuchKey",
               "RequestTimeTooSkewed", "AuthorizationHeaderMalformed", "InvalidRequest", "PermanentRedirect",
               "NoSuchBucketPolicy", "BucketAlreadyOwnedByYou", "InvalidBucketName", "AllAccessDisabled",
               "ExpiredToken", "InvalidToken", "MissingSecurityHeader", "XAmzContentSHA256Mismatch")
"""S3 error codes recognised in free text."""

ROOT_CAUSES = {
    "InvalidAccessKeyId": "S3_INVALID_ACCESS_KEY", "SignatureDoesNotMatch": "S3_SIGNATURE_MISMATCH",
    "RequestTimeTooSkewed": "S3_CLOCK_SKEW", "AuthorizationHeaderMalformed": "S3_WRONG_REGION",
    "NoSuchBucket": "S3_NO_SUCH_BUCKET", "InvalidRequest": "S3_USER_DISABLED",
}
"""S3 error code → troubleshooting-flow root cause (AccessDenied depends on the step)."""


def classify_s3_error(text: object) -> str | None:
    """The S3 error code named in `text` (`An error occurred (AccessDenied) …`, `Access Denied`), or None."""
    t = str(text or "")
    m = re.search(r"\(([A-Za-z]+)\)", t)
    if m and m[1] in KNOWN_CODES:
        return m[1]
    for code in KNOWN_CODES:
        if code in t:
            return code
    low = t.lower()
    if "access denied" in low:
        return "AccessDenied"
    if "accesskeydisabled" in low or "access key disabled" in low:
        return "InvalidRequest"
    if "signature we calculated does not match" in low:
        return "SignatureDoesNotMatch"
    if "does not exist in our records" in low:
        return "InvalidAccessKeyId"
    return None


_SESSION: Any = None
_SESSION_LOCK = threading.Lock()


def boto_client(service: str, **kwargs: Any) -> Any:
    """A botocore client from ONE process-wide boto3 Session.

    A new Session per client re-reads and parses botocore's JSON service models (80-400 ms of CPU holding
    the GIL, which stalls the TUI's event loop); from a shared Session a client costs ~5 ms. Sessions are
    not thread-safe, clients are: creation is serialised, the clients are used freely.
    """
    global _SESSION
    import boto3  # lazy: heavy client

    with _SESSION_LOCK:
        if _SESSION is None:
            session = boto3.session.Session()
            session._session.get_component("response_parser_factory").set_parser_defaults(
                timestamp_parser=fast_timestamp)
            fast_listing_first(session.events)
            _SESSION = session
        return _SESSION.client(service, **kwargs)


def one_attempt_client(service: str, endpoint_url: str, access_key: str, secret_key: str, region: str,
                       timeout: float, **config: Any) -> Any:
    """A `boto_client` bounded by `timeout` (connect and read) that makes one attempt, no retry; `config`:
    more botocore Config settings."""
    from botocore.config import Config

    settings = Config(connect_timeout=timeout, read_timeout=timeout, region_name=region,
                      retries={"total_max_attempts": 1, "mode": "standard"}, **config)
    return boto_client(service, endpoint_url=endpoint_url, aws_access_key_id=access_key,
                       aws_secret_access_key=secret_key, region_name=region, config=settings)


class FirstUseClient:
    """`one_attempt_client(...)`, made the first time it is called and then reused (made once, under a lock).
    The first client of a process costs ~0.3 s of CPU (boto3 and the service's model): the S3 and IAM sources
    send their reads of every refresh without it (ListBuckets, the bucket details, the IAM account details and
    access keys), and make it only for the other calls. The secret is never in a repr."""

    def __init__(self, service: str, endpoint_url: str, access_key: str, secret_key: str, region: str,
                 timeout: float, **config: Any) -> None:
        self._make = lambda: one_attempt_client(service, endpoint_url, access_key, secret_key, region, timeout,
                                                **config)
        self._made: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FirstUseClient(made={self.made})"

    @property
    def made(self) -> bool:
        return self._made is not None

    def __call__(self) -> Any:
        with self._lock:
            if self._made is None:
                self._made = self._make()
            return self._made


@dataclass(frozen=True)
class S3Probe:
    """Outcome of one S3 request."""

    ok: bool
    """The request succeeded."""
    code: str | None
    """Server error code verbatim (HEAD answers carry none: `NoSuchBucket`/`NoSuchKey` for 404, `Forbidden` for 403)."""
    http_status: int | None
    """HTTP status of the answer."""
    message: str
    """Server message or a summary; never a secret."""
    operation: str = ""
    """The S3 operation, e.g. ListObjectsV2."""
    value: Any = field(default=None, compare=False)
    """Payload on success (buckets, keys, summary, …)."""


@dataclass(frozen=True)
class BucketInfo:
    """A bucket from ListBuckets."""

    name: str
    """Bucket name."""
    created: datetime | None
    """CreationDate."""


@dataclass(frozen=True)
class BucketSummary:
    """Contents and settings of one bucket."""

    name: str
    """Bucket name."""
    objects: int
    """Objects counted."""
    total_bytes: int
    """Sum of object sizes counted."""
    created: datetime | None
    """CreationDate (from ListBuckets when visible)."""
    policy_present: bool | None
    """A bucket policy exists; None when it could not be read."""
    versioning: str | None
    """Enabled | Suspended | Disabled; None when it could not be read."""
    truncated: bool = False
    """Counting stopped at `max_pages` pages."""


class S3Source:
    """S3 API client for one endpoint and one key pair."""

    system = SYSTEM

    def __init__(self, endpoint_url: str, access_key: str, secret_key: str, region: str = "us-east-1",
                 timeout: float = 5.0) -> None:
        import botocore.exceptions

        self._bexc = botocore.exceptions
        self.endpoint_url = endpoint_url.rstrip("/")
        self.access_key = access_key
        self.__secret_key = secret_key
        self.region = region
        self.timeout = float(timeout)
        self._gets = SignedGets(self.endpoint_url, access_key, secret_key, region, self.timeout)
        """ListBuckets and the bucket details' reads (`bucket_summary`), off the client's generic machinery."""
        self._client = FirstUseClient(
            "s3", self.endpoint_url, access_key, secret_key, region, self.timeout, signature_version="s3v4",
            s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
            response_checksum_validation="when_required")
        """The boto3 client, for the operations other than ListBuckets and the bucket details."""

    def __repr__(self) -> str:
        return f"S3Source({self.endpoint_url}, access_key={self.access_key!r})"

    # ------------------------------------------------------------------ plumbing
    def _transport_error(self, exc: BaseException) -> SourceError:
        text = redact(str(exc), [self.__secret_key])
        b = self._bexc
        if isinstance(exc, (b.ConnectTimeoutError, b.ReadTimeoutError)):
            return SourceError(SYSTEM, "Timed out", f"{self.endpoint_url} did not answer within "
                               f"{self.timeout:g}s. Check the RustFS pod and the port-forward.", kind="timeout")
        if isinstance(exc, b.SSLError):
            return SourceError(SYSTEM, "TLS handshake failed", f"{self.endpoint_url}: {text}. The endpoint "
                               "probably speaks plain HTTP: use an http:// URL.", kind="unreachable")
        if isinstance(exc, (b.EndpointConnectionError, b.ConnectionClosedError, b.ConnectionError)):
            return SourceError(SYSTEM, "Cannot connect", f"{self.endpoint_url}: {text}. Is RustFS running and "
                               "the Service reachable? Try `kubectl -n storage port-forward svc/rustfs-svc 9000`.",
                               kind="unreachable")
        return SourceError(SYSTEM, "S3 client error", f"{self.endpoint_url}: {text}")

    def _call(self, operation: str, fn: Any, *, head_404: str = "NoSuchBucket") -> S3Probe:
        endpoint = f"s3 {self.endpoint_url}"
        breaker.check(endpoint)  # after a timeout, fail fast for `timeout` seconds
        started = time.monotonic()
        try:
            value = fn()
        except self._bexc.ClientError as exc:
            breaker.answered(endpoint, started)
            err = exc.response.get("Error", {}) or {}
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = str(err.get("Code") or "") or None
            if code and code.isdigit():  # HEAD: no body, botocore reports the status as the code
                code = {"404": head_404, "403": "Forbidden", "400": "BadRequest"}.get(code, code)
            message = redact(str(err.get("Message") or exc), [self.__secret_key])
            return S3Probe(False, code, status, message, operation)
        except self._bexc.BotoCoreError as exc:
            raise breaker.failed(endpoint, self._transport_error(exc), self.timeout, started) from None
        breaker.answered(endpoint, started)
        meta = value.get("ResponseMetadata", {}) if isinstance(value, dict) else {}
        return S3Probe(True, None, meta.get("HTTPStatusCode", 200), "OK", operation, value)

    # ------------------------------------------------------------------ endpoint
    def health(self) -> S3Probe:
        """GET /health; when that is not served (moto: 404), any HTTP answer to `/` means reachable."""
        import urllib.error
        import urllib.request

        def get(path: str) -> int:
            req = urllib.request.Request(self.endpoint_url + path, method="GET")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 (http(s) only)
                    return int(resp.status)
            except urllib.error.HTTPError as exc:
                return int(exc.code)

        try:
            status = get("/health")
            if 200 <= status < 300:
                return S3Probe(True, None, status, "healthy", "Health")
            anon = get("/")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            text = str(reason)
            if isinstance(reason, TimeoutError) or "timed out" in text.lower():
                raise SourceError(SYSTEM, "Timed out", f"{self.endpoint_url} did not answer within "
                                  f"{self.timeout:g}s.", kind="timeout") from None
            low = text.lower()
            hint = (" The server's certificate is not trusted." if "certificate" in low else
                    " The endpoint probably speaks plain HTTP: use an http:// URL." if "ssl" in low else "")
            raise SourceError(SYSTEM, "Cannot connect", f"{self.endpoint_url}: {text}.{hint}",
                              kind="unreachable") from None
        return S3Probe(True, None, anon, f"no /health endpoint (HTTP {status}); S3 answers HTTP {anon}", "Health")

    # ------------------------------------------------------------------ buckets
    def list_buckets(self) -> S3Probe:
        """ListBuckets → value: tuple[BucketInfo, …]."""
        probe = self._call("ListBuckets", self._signed_listing)
        if probe.ok:
            buckets = tuple(BucketInfo(b["Name"], b.get("CreationDate")) for b in probe.value.get("Buckets", []))
            probe = S3Probe(True, None, probe.http_status, f"{len(buckets)} buckets", probe.operation, buckets)
        return probe

    def _signed_listing(self) -> dict[str, Any]:
        """ListBuckets sent by `SignedGets` and read by `parse_bucket_listing`, as the client's answer would be;
        an answer of another shape goes to the client, whose parser reads whatever the model allows."""
        parsed = parse_bucket_listing(self._gets.get("ListBuckets", "", "", xml=False))
        if parsed is None:
            return self._client().list_buckets()  # type: ignore[no-any-return]
        parsed["ResponseMetadata"] = {"HTTPStatusCode": 200}
        return parsed

    def head_bucket(self, bucket: str) -> S3Probe:
        """HeadBucket (needs s3:ListBucket on the bucket ARN)."""
        return self._call("HeadBucket", lambda: self._client().head_bucket(Bucket=bucket))

    def list_objects(self, bucket: str, max_keys: int = 1, prefix: str = "") -> S3Probe:
        """ListObjectsV2 → value: tuple of keys."""
        probe = self._call("ListObjectsV2", lambda: self._client().list_objects_v2(
            Bucket=bucket, MaxKeys=max_keys, Prefix=prefix))
        if probe.ok:
            keys = tuple(o["Key"] for o in probe.value.get("Contents", []))
            probe = S3Probe(True, None, probe.http_status, f"{len(keys)} keys", probe.operation, keys)
        return probe

    def get_bucket_location(self, bucket: str) -> S3Probe:
        """GetBucketLocation → value: the LocationConstraint ('' for us-east-1)."""
        probe = self._call("GetBucketLocation", lambda: self._client().get_bucket_location(Bucket=bucket))
        if probe.ok:
            loc = probe.value.get("LocationConstraint") or ""
            probe = S3Probe(True, None, probe.http_status, loc or "us-east-1", probe.operation, loc)
        return probe

    def bucket_summary(self, name: str, max_pages: int = 100, created: datetime | None = None,
                       page_size: int | None = None) -> S3Probe:
        """Object count and size (paginated ListObjectsV2), creation date, policy, versioning (`SignedGets`).

        The creation date comes from ListBuckets unless the caller passes the one it already has (the pane's
        loader does: one ListBuckets of 5,000 buckets per bucket would be 5,000 of them). `page_size`: keys per
        ListObjectsV2 page (the server's default, 1000, when None)."""
        from urllib.parse import quote

        count = size = 0
        truncated = False

        def walk() -> dict[str, Any]:
            nonlocal count, size, truncated
            token: str | None = None
            for page in range(max_pages + 1):
                if page == max_pages:
                    truncated = True
                    break
                # keys URL-encoded in the answer, as botocore asks too: a key may hold characters XML cannot
                query = "encoding-type=url&list-type=2" + (f"&max-keys={int(page_size)}" if page_size else "") + (
                    f"&continuation-token={quote(token, safe='-_.~')}" if token else "")
                root = self._gets.get("ListObjectsV2", name, query)
                token, more = None, False
                for child in root:
                    tag = local_name(child.tag)
                    if tag == "Contents":
                        count += 1
                        for item in child:
                            if local_name(item.tag) == "Size":
                                size += int(item.text or 0)
                    elif tag == "IsTruncated":
                        more = (child.text or "").strip().lower() == "true"
                    elif tag == "NextContinuationToken":
                        token = child.text or None
                if not (more and token):
                    break
            return {}

        probe = self._call("ListObjectsV2", walk)
        if not probe.ok:
            return probe
        if created is None:
            listed = self.list_buckets()
            if listed.ok:
                created = next((b.created for b in listed.value if b.name == name), None)
        pol = self._call("GetBucketPolicy", lambda: self._gets.get("GetBucketPolicy", name, "policy", xml=False))
        policy = True if pol.ok else (False if pol.code == "NoSuchBucketPolicy" else None)
        ver = self._call("GetBucketVersioning", lambda: self._gets.get("GetBucketVersioning", name, "versioning"))
        versioning = None
        if ver.ok:
            versioning = xml_fields(ver.value, ("Status",)).get("Status") or "Disabled"
        summary = BucketSummary(name, count, size, created, policy, versioning, truncated)
        return S3Probe(True, None, 200, f"{count} objects, {size} bytes", "BucketSummary", summary)

    # ------------------------------------------------------------------ objects
    def head_object(self, bucket: str, key: str) -> S3Probe:
        """HeadObject (s3:GetObject on bucket/*); 404 → NoSuchKey."""
        return self._call("HeadObject", lambda: self._client().head_object(Bucket=bucket, Key=key),
                          head_404="NoSuchKey")

    def put_object(self, bucket: str, key: str, body: bytes = b"clusterdeck probe\n") -> S3Probe:
        """PutObject (write probe; callers must delete what they create)."""
        return self._call("PutObject", lambda: self._client().put_object(Bucket=bucket, Key=key, Body=body))

    def get_object(self, bucket: str, key: str) -> S3Probe:
        """GetObject → value: the body bytes."""
        def go() -> dict[str, Any]:
            resp = self._client().get_object(Bucket=bucket, Key=key)
            resp["Body"] = resp["Body"].read()
            return resp

        probe = self._call("GetObject", go)
        if probe.ok:
            probe = S3Probe(True, None, probe.http_status, f"{len(probe.value['Body'])} bytes",
                            probe.operation, probe.value["Body"])
        return probe

    def delete_object(self, bucket: str, key: str) -> S3Probe:
        """DeleteObject."""
        return self._call("DeleteObject", lambda: self._client().delete_object(Bucket=bucket, Key=key))
