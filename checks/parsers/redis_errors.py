"""Classify Redis/Dragonfly error texts (service-facts §3.7), with or without the `-CODE` prefix.

redis-py strips the code from some exceptions (`AuthenticationError` says only
`invalid username-password pair or user is disabled.`), so the text alone must do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NOPERM_72_CMD = re.compile(r"user (?P<user>\S+) has no permissions to run the '(?P<cmd>[^']*)' command", re.I)
_NOPERM_70_CMD = re.compile(r"this user has no permissions to run the '(?P<cmd>[^']*)' command", re.I)
_NOPERM_DRY_KEY = re.compile(r"this user has no permissions to access the '(?P<key>[^']*)' key", re.I)
_NOPERM_DRY_CHAN = re.compile(r"this user has no permissions to access the '(?P<chan>[^']*)' channel", re.I)
# (?<!\S): a match starts only where a word starts (the leftmost match did anyway), so a long word costs
# linear time (1 MB without a space took minutes: every offset re-scanned the rest of the word)
_NOPERM_DF = re.compile(r"(?<!\S)(?:NOPERM\s+)?(?P<user>\S+) has no ACL permissions", re.I)


@dataclass(frozen=True)
class RedisErrorInfo:
    """What an error text from Redis or Dragonfly means."""

    code: str | None
    """WRONGPASS | NOAUTH | NOPERM | OOM | None when not one of these."""
    noperm: str | None = None
    """For NOPERM: command | key | channel | generic (Dragonfly's single text)."""
    username: str | None = None
    """User named in the text (Redis 7.2+ command denials, Dragonfly)."""
    command: str | None = None
    """Command named in the text, lower-cased."""
    key: str | None = None
    """Key or channel named in the text (ACL DRYRUN answers only)."""

    @property
    def flow_step(self) -> str | None:
        """Where the Dragonfly flow starts for this error (troubleshooting-flows §5)."""
        return {"WRONGPASS": "D3", "NOAUTH": "D2", "NOPERM": "D5", "OOM": "D11"}.get(self.code or "")


def classify_redis_error(text: object) -> RedisErrorInfo:
    """Classify an error reply or exception text; unknown texts give `code=None`."""
    t = str(text or "").strip()
    if t.startswith("-"):
        t = t[1:]
    low = t.lower()
    if "wrongpass" in low or "invalid username-password pair" in low or "invalid password" in low:
        return RedisErrorInfo("WRONGPASS")
    if low.startswith("noauth") or "authentication required" in low or "already authenticated" in low:
        return RedisErrorInfo("NOAUTH")
    if low.startswith("oom") or "out of memory" in low or "oom command not allowed" in low:
        return RedisErrorInfo("OOM")
    m = _NOPERM_72_CMD.search(t)
    if m and m["user"].lower() != "this":
        return RedisErrorInfo("NOPERM", "command", username=m["user"], command=m["cmd"].lower())
    m = _NOPERM_70_CMD.search(t)
    if m:
        return RedisErrorInfo("NOPERM", "command", command=m["cmd"].lower())
    m = _NOPERM_DRY_KEY.search(t)
    if m:
        return RedisErrorInfo("NOPERM", "key", key=m["key"])
    m = _NOPERM_DRY_CHAN.search(t)
    if m:
        return RedisErrorInfo("NOPERM", "channel", key=m["chan"])
    if "no permissions to access a key" in low or "access one of the keys" in low:
        return RedisErrorInfo("NOPERM", "key")
    if "no permissions to access a channel" in low or "access one of the channels" in low:
        return RedisErrorInfo("NOPERM", "channel")
    m = _NOPERM_DF.search(t)
    if m:
        user = m["user"]
        return RedisErrorInfo("NOPERM", "generic", username=None if user.upper() == "NOPERM" else user)
    if low.startswith("noperm") or "no permissions" in low:
        return RedisErrorInfo("NOPERM", "generic")
    return RedisErrorInfo(None)
