"""The bundle codec, versions and secret tokens, without a lab."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from checks.bundle import BundleError, check_types, decode, encode, upgrade
from checks.bundle_secrets import SecretBook
from checks.errors import SourceError
from checks.redact import digest, fingerprint, load_recorded_digests
from checks.sources.kube_models import EnvVar, KubeSecret


def test_codec_round_trips_results_through_json():
    secret = KubeSecret(kind="Secret", name="s", namespace="ns", data={"password": b"pw\n", "bin": b"\xff\x00"},
                        created=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC), labels={"a": "b"})
    value = {"t": (1, 2.5, None), "l": [secret], "s": frozenset({"x"}), "$weird": {1: "one"},
             "e": SourceError("s3", "Timed out", "no answer", kind="timeout")}
    back = decode(json.loads(json.dumps(encode(value))))
    assert back["t"] == (1, 2.5, None) and back["s"] == frozenset({"x"}) and back["$weird"] == {1: "one"}
    assert back["l"][0] == secret and back["l"][0].data == secret.data
    assert isinstance(back["e"], SourceError) and back["e"].as_dict() == value["e"].as_dict()


def test_only_allowed_types_are_encoded_or_decoded():
    class Local:
        pass

    with pytest.raises(BundleError, match="no bundle form"):
        encode(Local())
    with pytest.raises(BundleError, match="not an allowed bundle type"):
        decode({"$dc": "subprocess.Popen", "fields": {"args": "true"}})
    with pytest.raises(BundleError, match="not an allowed bundle type"):
        check_types([{"a": [{"$dc": "checks.writes.WriteGate", "fields": {}}]}])


def test_a_type_that_moved_module_still_loads_from_an_older_bundle():
    """Identity records were `checks.rustfs_iam.*` in bundles written before they moved to rustfs_identity."""
    from checks.rustfs_identity import AccessKeyInfo

    key = AccessKeyInfo("AKIAOLD", "loki", "enabled", "iam-key")
    written = encode(key)
    assert written["$dc"] == "checks.rustfs_identity.AccessKeyInfo"
    older = {**written, "$dc": "checks.rustfs_iam.AccessKeyInfo"}
    check_types([older])
    assert decode(json.loads(json.dumps(older))) == key


def test_versions():
    assert upgrade({"version": 1})["version"] == 1
    with pytest.raises(BundleError, match=r"bundle version 99 is newer than this clusterdeck supports \(1\)"):
        upgrade({"version": 99})
    with pytest.raises(BundleError, match="bundle version 0 is older"):
        upgrade({"version": 0})
    with pytest.raises(BundleError, match="no valid"):
        upgrade({"version": "1"})


def test_tokens_keep_length_whitespace_and_equality_only():
    book = SecretBook()
    book.scan(KubeSecret(kind="Secret", name="a", data={"password": b"Sup3rSecretValue\n", "username": b"litellm",
                                                        "url": b"redis://u:p%40ss-word-1@h.ns.svc:6379/0"}))
    book.scan(EnvVar("REDIS_PASSWORD", "Sup3rSecretValue"))
    book.scan(EnvVar("STAKATER_LITELLM_DB_SECRET", "0123456789abcdef0123456789abcdef01234567"))
    full = book.rewrite("Sup3rSecretValue\n")
    assert full != "Sup3rSecretValue\n" and len(full) == 17 and full.endswith("\n")
    assert book.rewrite("Sup3rSecretValue") == full.strip()  # same value, same token
    assert book.rewrite("litellm") == "litellm"  # a username is no secret
    assert book.rewrite("0123456789abcdef0123456789abcdef01234567").startswith("0123")  # Reloader hash kept
    url = book.rewrite("redis://u:p%40ss-word-1@h.ns.svc:6379/0")
    assert url.startswith("redis://u:") and url.endswith("@h.ns.svc:6379/0") and "p%40ss" not in url
    b64 = base64.b64encode(b"Sup3rSecretValue\n").decode()
    assert "Sup3rSecret" not in book.rewrite(f"data: {b64}") and b64 not in book.rewrite(f"data: {b64}")
    assert book.rewrite("... password=Sup3rSecretValue ...") == f"... password={full.strip()} ..."


def test_digests_of_tokens_stand_for_the_real_values():
    book = SecretBook()
    book.learn("Sup3rSecretValue\n")
    seen = [("sha1", b"password=Sup3rSecretValue\n;username=x", digest("sha1", b"password=Sup3rSecretValue\n;username=x"))]
    table = book.digests(seen)
    token = book.rewrite("Sup3rSecretValue\n")
    real_fp, real_sha1 = fingerprint("Sup3rSecretValue\n"), seen[0][2]
    load_recorded_digests({(a, k): v for a, t in table.items() for k, v in t.items()})
    assert fingerprint(token) == real_fp
    assert fingerprint(token.strip()) == fingerprint("Sup3rSecretValue")
    assert digest("sha1", b"password=" + token.encode() + b";username=x") == real_sha1


def test_short_unnamed_secret_values_are_tokenized_in_their_secret_only():
    book = SecretBook()
    secret = KubeSecret(kind="Secret", name="a", data={"mode": b"abc", "SESSION_KEY_X": b"longer-opaque-value"})
    book.scan(secret)
    redacted = book.redact_object(secret)
    assert redacted.data["mode"] != b"abc" and len(redacted.data["mode"].decode()) == 3
    assert book.rewrite("abc") == "abc"  # an ordinary 3-letter word elsewhere stays
    assert "longer-opaque-value" not in book.rewrite("x longer-opaque-value y")  # long enough: everywhere
