"""Property tests: every parser and classifier takes arbitrary input without crashing."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from checks.parsers import (classify_redis_error, command_decision, diff_acl, key_allowed, parse_acl_file,
                            parse_acl_list, parse_acl_log, parse_info, parse_slowlog, password_matches)
from checks.parsers.promql import extract_selectors
from checks.parsers.s3_policy import lint_policy
from checks.redact import describe_secret, fingerprint, redact, redact_urls
from checks.sources.postgres import classify_pg_error
from checks.sources.s3 import classify_s3_error

# text with markup, control characters and bytes that are not UTF-8 (decoded with errors='replace')
MARKUP = st.sampled_from(["[bold]", "[/]", "[red]x[/red]", "\x1b[31m", "\x00", "\r\n", "\t", "#", ">", "~",
                          "%R~", "&", "$", "(", ")", "{", "}", "[", "]", "\"", "'", "`", "user ", "USER ",
                          "on ", "off ", "nopass ", "+@all ", "-@dangerous ", "... (3 more bytes)", ":", "="])
RAW_BYTES = st.binary(max_size=200).map(lambda b: b.decode("utf-8", "replace"))
TEXT = st.one_of(st.text(max_size=300), RAW_BYTES,
                 st.lists(st.one_of(MARKUP, st.text(max_size=20)), max_size=30).map("".join))
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT, st.binary(max_size=50))
NESTED = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=8),
                                                        st.dictionaries(TEXT, inner, max_size=6)), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_acl_parsers_never_crash(text: str) -> None:
    for listing in (parse_acl_list(text), parse_acl_file(text), parse_acl_list(text.splitlines())):
        for user in listing.users:
            repr(user)
            password_matches(user, text)
            key_allowed(user, text)
            key_allowed(user, text, "rw")
            command_decision(user, text)
        diff_acl(listing, parse_acl_list(text))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(TEXT, st.binary(max_size=50)), max_size=10))
def test_acl_list_of_lines_with_bytes(lines: list) -> None:
    parse_acl_list(lines)


@settings(max_examples=300, deadline=None)
@given(st.one_of(TEXT, st.binary(max_size=300), NESTED))
def test_info_never_crashes(data: object) -> None:
    info = parse_info(data)
    assert info.flavor in ("dragonfly", "redis")


@settings(max_examples=300, deadline=None)
@given(NESTED)
def test_acl_log_and_slowlog_never_crash(data: object) -> None:
    for entry in parse_acl_log(data):
        assert isinstance(entry.reason, str)
    for entry in parse_slowlog(data):
        entry.redacted_args()
    parse_acl_log([data])
    parse_slowlog([data])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(), st.integers(), st.integers(), st.lists(TEXT, max_size=35), TEXT, TEXT),
                max_size=5))
def test_slowlog_entries(entries: list) -> None:
    for e in parse_slowlog([list(x) for x in entries]):
        red = e.redacted_args()
        assert red[0] == e.command and len(red) == len(e.args) + 1


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_classifiers_and_tokenizer_never_crash(text: str) -> None:
    classify_redis_error(text)
    assert classify_pg_error(text).startswith("CNPG_")
    classify_s3_error(text)
    for sel in extract_selectors(text):
        assert sel


@settings(max_examples=200, deadline=None)
@given(st.one_of(TEXT, NESTED, NESTED.map(lambda x: json.dumps(x, default=str))), st.one_of(st.none(), TEXT))
def test_lint_policy_never_crashes(doc: object, bucket: str | None) -> None:
    for issue in lint_policy("p", doc, bucket):
        assert issue.code in ("S3_POLICY_LINT", "S3_OVERBROAD_POLICY")


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), TEXT, st.binary(max_size=50)), TEXT)
def test_redaction_hides_secret(secret: object, text: str) -> None:
    fingerprint(secret)
    describe_secret(secret)
    redact_urls(text)
    if isinstance(secret, str) and len(secret) >= 4:
        assert secret not in redact(text + secret + text, [secret])
