"""Pick the right flow, starting step and subject from an error text an application logged."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# (pattern, flow, starting step); order matters: the first match wins.
_RULES: tuple[tuple[str, str, str], ...] = (
    (r"WRONGPASS|invalid username-password pair", "dragonfly", "D3"),
    (r"NOAUTH", "dragonfly", "D2"),
    (r"NOPERM|no permissions to|has no ACL permissions", "dragonfly", "D5"),
    (r"OOM command not allowed|Out of memory", "dragonfly", "D11"),
    (r"password authentication failed for user", "cnpg", "C1"),
    (r"is not permitted to log in", "cnpg", "C2"),
    (r"too many connections for role", "cnpg", "C5"),
    (r"no pg_hba\.conf entry", "cnpg", "C6"),
    (r"InvalidAccessKeyId|SignatureDoesNotMatch|RequestTimeTooSkewed|AuthorizationHeaderMalformed", "rustfs", "R3"),
    (r"AccessDenied|Access Denied", "rustfs", "R3"),
    (r"NoSuchBucket", "rustfs", "R4"),
)

_SUBJECT_PATTERNS: tuple[tuple[str, str], ...] = (
    (r'for (?:user|role) "([^"]+)"', "role"),
    (r'role "([^"]+)"', "role"),
    (r"NOPERM (?:User )?([A-Za-z0-9_.:-]+) has no", "user"),
    (r"NOPERM User ([A-Za-z0-9_.:-]+)", "user"),
    (r"<AWSAccessKeyId>([^<]+)</AWSAccessKeyId>", "access_key"),
    (r"[Aa]ccess [Kk]ey (?:Id )?['\"]?([A-Z0-9]{16,128})", "access_key"),
    (r"<BucketName>([^<]+)</BucketName>", "bucket"),
    (r"[Bb]ucket[ :=]+['\"]?([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])", "bucket"),
    (r'user "([^"]+)"', "user"),
)


@dataclass(frozen=True)
class Classification:
    """Which flow explains an error text."""

    flow: str
    """dragonfly | cnpg | rustfs."""
    start_step: str
    """The step the spec says to start from."""
    matched: str
    """The fragment of the text that decided it."""
    subject: dict[str, str] = field(default_factory=dict)
    """Identity pulled from the text: user (Dragonfly), role (CNPG), access_key/bucket (S3)."""


def classify_error(text: str) -> Classification | None:
    """Return the flow for an error text, or None when nothing in it is recognised."""
    for pattern, flow, step in _RULES:
        m = re.search(pattern, text)
        if m:
            return Classification(flow, step, m.group(0), _extract_subject(text, flow))
    return None


def _extract_subject(text: str, flow: str) -> dict[str, str]:
    subject: dict[str, str] = {}
    for pattern, kind in _SUBJECT_PATTERNS:
        m = re.search(pattern, text)
        if not m:
            continue
        if flow == "dragonfly" and kind == "role":
            kind = "user"
        if flow == "cnpg" and kind == "user":
            kind = "role"
        if flow != "rustfs" and kind in ("access_key", "bucket"):
            continue
        if flow == "rustfs" and kind in ("user", "role"):
            continue
        subject.setdefault(kind, m.group(1))
    return subject
