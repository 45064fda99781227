"""checks.redact: fingerprints and redaction."""

from __future__ import annotations

import hashlib

from checks.redact import describe_secret, fingerprint, hash_fingerprint, redact, redact_urls, sha256_hex


def test_fingerprint() -> None:
    assert sha256_hex("mypass") == hashlib.sha256(b"mypass").hexdigest()
    assert fingerprint("mypass") == "sha256:ea71c25a" and fingerprint(b"mypass") == "sha256:ea71c25a"
    assert fingerprint(None) == "(none)" and fingerprint("") == "(empty)"
    assert hash_fingerprint("EA71C25A7A60224") == "sha256:ea71c25a"


def test_describe_secret() -> None:
    assert describe_secret("pw\n") == f"{fingerprint('pw' + chr(10))}, 3 chars, trailing newline"
    assert describe_secret(" pw") .endswith("surrounding whitespace")
    assert describe_secret(None) == "(none)"


def test_redact() -> None:
    out = redact("login with hunter2 failed; hunter2\n", ["hunter2", None, ""])
    assert "hunter2" not in out and "sha256:" in out
    assert "topsecret" not in redact("x topsecret y", ["topsecret\n"])  # stripped form too
    assert redact_urls("redis://litellm:pa55@dragonfly:6379/0") == "redis://litellm:‹redacted›@dragonfly:6379/0"
    assert redact_urls("password=abc; user=x") == "password=‹redacted›; user=x"
