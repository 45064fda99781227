"""Secret fingerprints and redaction shared by every source and check.

A secret is never shown, logged or put into an exception. What may be shown is a
*fingerprint*: the first hex digits of its SHA-256, enough to tell two values apart
("the Secret and the ACL file hold different passwords") without revealing either.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable

REDACTED = "‹redacted›"
"""Placeholder shown instead of a secret value."""

FINGERPRINT_LEN = 8
"""Hex digits of SHA-256 shown in a fingerprint."""


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


_RECORDED: dict[tuple[str, str], str] = {}
"""(algorithm, sha256 hex of the hashed bytes) -> digest of the original bytes, from a replayed bundle:
there secrets are opaque tokens, and a digest of a token stands for the digest of the value it replaced."""
_observer: Callable[[str, bytes, str], None] | None = None


def digest(algorithm: str, value: str | bytes) -> str:
    """Hex digest (sha256, sha1) of a value that may hold a secret: the one place checks hash secrets.

    While capturing a bundle every call is reported to the observer (checks.capture), which stores the
    digests of secret-bearing inputs keyed by their redacted form; while replaying, those digests are
    returned for the redacted inputs (see docs/bundle-format.md, "Secrets")."""
    data = _as_bytes(value)
    if _RECORDED:
        recorded = _RECORDED.get((algorithm, hashlib.sha256(data).hexdigest()))
        if recorded is not None:
            return recorded
    out = hashlib.new(algorithm, data).hexdigest()
    if _observer is not None:
        _observer(algorithm, data, out)
    return out


def set_digest_observer(fn: Callable[[str, bytes, str], None] | None) -> None:
    """Capture: report every `digest` call as (algorithm, input bytes, hex digest); None stops it."""
    global _observer
    _observer = fn


def load_recorded_digests(entries: dict[tuple[str, str], str]) -> None:
    """Replay: digests of redacted inputs, keyed by (algorithm, sha256 hex of the redacted bytes)."""
    _RECORDED.update(entries)


def sha256_hex(value: str | bytes) -> str:
    """Full lower-case SHA-256 hex of a secret (what Redis/Dragonfly store for `>password`)."""
    return digest("sha256", value)


def fingerprint(value: str | bytes | None) -> str:
    """Short, display-safe identifier of a secret: `sha256:1a2b3c4d`, or `(none)`/`(empty)`."""
    if value is None:
        return "(none)"
    if len(value) == 0:
        return "(empty)"
    return "sha256:" + sha256_hex(value)[:FINGERPRINT_LEN]


def hash_fingerprint(hex_hash: str) -> str:
    """Display form of an already-hashed password (full or Dragonfly 15-hex prefix)."""
    return "sha256:" + hex_hash.lower()[:FINGERPRINT_LEN]


def describe_secret(value: str | bytes | None) -> str:
    """Fingerprint plus the properties that commonly break logins, never the value.

    e.g. `sha256:1a2b3c4d, 17 chars, trailing newline`.
    """
    if value is None:
        return "(none)"
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    notes = [fingerprint(value), f"{len(text)} chars"]
    if text != text.rstrip("\r\n"):
        notes.append("trailing newline")
    elif text != text.strip():
        notes.append("surrounding whitespace")
    return ", ".join(notes)


def redact(text: str, secrets: Iterable[str | bytes | None]) -> str:
    """Replace every occurrence of each non-empty secret in `text` by its fingerprint.

    Longest secrets first, so a secret containing another is replaced whole.
    """
    items = []
    for s in secrets:
        if not s:
            continue
        items.append(s.decode("utf-8", "replace") if isinstance(s, bytes) else s)
    for s in sorted(set(items), key=len, reverse=True):
        stripped = s.strip()
        text = text.replace(s, f"‹{fingerprint(s)}›")
        if stripped and stripped != s and len(stripped) >= 4:
            text = text.replace(stripped, f"‹{fingerprint(stripped)}›")
    return text


# bounded repetitions: each match attempt looks at a bounded stretch of text, so a megabyte of server text
# without `://` or `@` (a slowlog value) costs linear time, not quadratic
_URL_PASSWORD = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]{0,31}://)(?P<user>[^:/@\s]{0,256}):(?P<pw>[^@\s]{0,512})@")
_KV_SECRET = re.compile(
    r"(?i)(?P<key>password|passwd|pwd|secret|secret_key|secretkey|token|requirepass)(?P<sep>\s*[=:]\s*)(?P<val>[^\s,;&]+)")


def redact_urls(text: str) -> str:
    """Hide passwords embedded in URLs (`redis://u:pw@host`) and `password=…` pairs."""
    if "://" in text and "@" in text:
        text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
    return _KV_SECRET.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}", text)
