"""Lint an S3/RustFS IAM policy against the seed's per-application pattern (flow step R8).

Pure functions. The pattern: bucket-level actions on `arn:aws:s3:::<bucket>`, object
actions on `arn:aws:s3:::<bucket>/*`, `s3:GetBucketLocation` present, no `s3:*` and no
`arn:aws:s3:::*`.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from typing import Any

BUCKET_ACTIONS = ("s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads",
                  "s3:ListBucketVersions")
"""Actions whose resource is the bucket ARN."""
OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                  "s3:ListMultipartUploadParts", "s3:GetObjectVersion", "s3:DeleteObjectVersion")
"""Actions whose resource is `bucket/*`."""
_ARN = "arn:aws:s3:::"


@dataclass(frozen=True)
class PolicyLintIssue:
    """One problem found in a policy document."""

    code: str
    """S3_POLICY_LINT (will break access) or S3_OVERBROAD_POLICY (grants too much)."""
    message: str
    """What is wrong, naming the action and resource."""
    fix: str
    """The corrected policy JSON or the statement to change."""
    policy: str = ""
    """Name of the policy the issue is in."""


def corrected_policy(bucket: str) -> dict[str, Any]:
    """The seed's policy pattern for one application bucket."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
         "Resource": [f"{_ARN}{bucket}"]},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": [f"{_ARN}{bucket}/*"]}]}


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def _expand(actions: list[str]) -> set[str]:
    out: set[str] = set()
    for act in actions:
        for known in (*BUCKET_ACTIONS, *OBJECT_ACTIONS):
            if fnmatch.fnmatchcase(known.lower(), act.lower()):
                out.add(known)
    return out


def _buckets_in(resources: list[str]) -> set[str]:
    return {r[len(_ARN):].split("/", 1)[0] for r in resources if r.startswith(_ARN) and len(r) > len(_ARN)}


def lint_policy(name: str, document: Any, bucket: str | None = None) -> list[PolicyLintIssue]:
    """Issues in `document` (dict or JSON text); `bucket` is the application's bucket when known."""
    if isinstance(document, (bytes, str)):
        try:
            document = json.loads(document)
        except (ValueError, RecursionError) as exc:
            return [PolicyLintIssue("S3_POLICY_LINT", f"policy {name!r} is not valid JSON: {exc}", "", name)]
    if not isinstance(document, dict):
        return [PolicyLintIssue("S3_POLICY_LINT", f"policy {name!r} is not a JSON object", "", name)]
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        statements = []
    allows = [s for s in statements if isinstance(s, dict) and str(s.get("Effect", "")).lower() == "allow"]
    seen: set[str] = set()
    for s in allows:
        seen |= _buckets_in(_list(s.get("Resource")))
    target = bucket or (sorted(b for b in seen if "*" not in b) or ["<bucket>"])[0]
    fix = json.dumps(corrected_policy(target), indent=2)
    issues: list[PolicyLintIssue] = []

    def add(code: str, message: str) -> None:
        issue = PolicyLintIssue(code, message, fix, name)
        if issue not in issues:
            issues.append(issue)

    granted: dict[str, set[str]] = {}
    for s in allows:
        acts, res = _list(s.get("Action")), _list(s.get("Resource"))
        if "NotAction" in s or "NotResource" in s:
            add("S3_OVERBROAD_POLICY", f"{name}: a statement uses NotAction/NotResource, which grants "
                "everything not listed")
        for a in acts:
            if a in ("*", "s3:*"):
                add("S3_OVERBROAD_POLICY", f"{name}: action {a!r} grants every S3 action; list the actions")
        for r in res:
            if r in ("*", f"{_ARN}*", f"{_ARN}*/*"):
                add("S3_OVERBROAD_POLICY", f"{name}: resource {r!r} covers every bucket; "
                    f"use {_ARN}{target} and {_ARN}{target}/*")
        bucket_arns = [r for r in res if r == "*" or (r.startswith(_ARN) and "/" not in r[len(_ARN):])]
        # a trailing `*` in the bucket part (`arn:aws:s3:::*`) also matches `bucket/key`
        object_arns = [r for r in res if r == "*" or (r.startswith(_ARN) and ("/" in r[len(_ARN):]
                                                                             or r.endswith("*")))]
        for act in sorted(_expand(acts)):
            if act in BUCKET_ACTIONS and not bucket_arns and res:
                add("S3_POLICY_LINT", f"{name}: {act} is granted on {', '.join(res)}, but it applies to the "
                    f"bucket ARN {_ARN}{target} (not objects): ListObjects/HeadBucket get AccessDenied")
            if act in OBJECT_ACTIONS and not object_arns and res:
                add("S3_POLICY_LINT", f"{name}: {act} is granted on {', '.join(res)}, but it applies to "
                    f"objects: use {_ARN}{target}/*")
            for r in (bucket_arns if act in BUCKET_ACTIONS else object_arns):
                granted.setdefault(act, set()).add(r)
    all_acts = set(granted)
    if not any(a in ("*", "s3:*") for s in allows for a in _list(s.get("Action"))):
        if "s3:GetBucketLocation" not in all_acts:
            add("S3_POLICY_LINT", f"{name}: s3:GetBucketLocation is missing; clients that do not pass a "
                "region (minio-py, some SDKs) call GET /bucket?location first and get AccessDenied")
        if bucket:
            def covers(act: str, arn: str) -> bool:
                return any(fnmatch.fnmatchcase(arn, r) for r in granted.get(act, ()))

            if not covers("s3:ListBucket", f"{_ARN}{bucket}"):
                add("S3_POLICY_LINT", f"{name}: no s3:ListBucket on {_ARN}{bucket}")
            if not any(covers(a, f"{_ARN}{bucket}/probe") for a in ("s3:GetObject", "s3:PutObject")):
                add("S3_POLICY_LINT", f"{name}: no object actions on {_ARN}{bucket}/*")
    return issues
