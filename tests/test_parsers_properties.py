"""Property tests: every parser and classifier takes arbitrary input (markup, control characters, bad UTF-8,
deep nesting, a megabyte of text) without crashing or slowing to a crawl, and never shows a secret."""

from __future__ import annotations

import base64
import json
import re
import time
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.alerts_lint import parse_selector
from checks.appcreds import expand, parse_workload_ref
from checks.appcreds_detect import classify_name, dragonfly_s3_args, parse_bool, parse_url, split_host_port, url_kind
from checks.errors import SourceError
from checks.flows.classify import classify_error
from checks.parsers import (acl_user_from_getuser, classify_redis_error, command_decision, diff_acl, glob_match,
                            key_allowed, normalise_epoch, parse_acl_file, parse_acl_list, parse_acl_log,
                            parse_client_info, parse_info, parse_slowlog, password_matches)
from checks.parsers.promql import extract_selectors
from checks.parsers.s3_policy import lint_policy
from checks.redact import describe_secret, fingerprint, redact, redact_urls
from checks.sources import kube_parse
from checks.sources.postgres import classify_pg_error, connection_failure_kind, transport_reason
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


# -- the parsers the tests above did not cover (appcreds, classify_error, kube objects, alerts, globs) -------------

HOST = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z0-9-]{1,10}){0,3}", fullmatch=True)
SECRETISH = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["redis", "rediss", "postgresql", "postgres", "s3", "http", "jdbc:postgresql"]),
       st.text(alphabet="abcXYZ019_.-", min_size=1, max_size=12), SECRETISH, HOST,
       st.one_of(st.none(), st.integers(1, 65535)), st.text(alphabet="abc019_-", max_size=10))
def test_parse_url_round_trip_and_hidden_password(scheme: str, user: str, password: str, host: str,
                                                  port: int | None, path: str) -> None:
    """Any password, percent-encoded or with raw `/` and `@`, lands in `password` and never in host/port/path."""
    for written in (quote(password, safe=""), password.replace("%", "%25")):
        if any(c in written for c in "?#") or any(c.isspace() for c in written):
            continue
        url = f"{scheme}://{user}:{written}@{host}{f':{port}' if port else ''}{f'/{path}' if path else ''}"
        parsed = parse_url(url)
        assert parsed is not None, url
        assert parsed.host == host and parsed.port == port and parsed.username == user
        assert (parsed.path or "") == path
        if written == quote(password, safe=""):
            assert parsed.password == password
        assert "<set>" in repr(parsed)
        if len(password) >= 4 and password not in f"{scheme}{user}{host}{port}{path}":
            assert password not in repr(parsed)


@settings(max_examples=300, deadline=None)
@given(TEXT, st.integers(0, 70000))
def test_url_and_env_helpers_never_crash(text: str, default: int) -> None:
    parsed = parse_url(text)
    if parsed is not None:
        assert parsed.port is None or 0 < parsed.port < 65536
        repr(parsed)
        parsed.param("sslmode", "ssl")
    host, port = split_host_port(text, default)
    assert isinstance(host, str) and (port is None or isinstance(port, int))
    assert parse_bool(text) in (True, False, None)
    assert url_kind(text) in ("redis", "postgres", None)
    for kind in ("redis", "postgres", "s3"):
        found = classify_name(text, kind)
        assert found is None or (isinstance(found[0], str) and isinstance(found[1], str))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(TEXT, st.sampled_from(["--dir=s3://b/p", "--s3_endpoint", "--s3_use_https=false", "--"])),
                max_size=12))
def test_dragonfly_s3_args_never_crash(args: list[str]) -> None:
    out = dragonfly_s3_args(args)
    assert set(out) <= {"bucket", "endpoint", "use_https"}


@settings(max_examples=300, deadline=None)
@given(TEXT, st.dictionaries(st.from_regex(r"[A-Z_]{1,8}", fullmatch=True), st.one_of(st.none(), TEXT), max_size=4))
def test_env_expansion(text: str, values: dict[str, str | None]) -> None:
    from checks.appcreds import EnvValue

    lookup = {k: EnvValue(k, v, "literal", "c") for k, v in values.items()}
    out, used = expand(text, lookup)
    assert isinstance(out, str) and all(u.name in values for u in used)
    if "$" not in text:
        assert out == text and not used
    assert expand(text.replace("$", "$$"), lookup)[0] == text  # `$$` escapes


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_workload_ref_parses_or_names_the_kind(ref: str) -> None:
    try:
        kind, name = parse_workload_ref(ref)
    except SourceError as exc:
        assert exc.title == "Unknown workload kind"
        return
    assert kind in (None, "Deployment", "StatefulSet", "Dragonfly") or isinstance(kind, str)
    assert isinstance(name, str)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_classify_error_never_crashes(text: str) -> None:
    found = classify_error(text)
    if found is not None:
        assert found.flow in ("dragonfly", "cnpg", "rustfs") and found.matched in text
        assert all(isinstance(v, str) for v in found.subject.values())
    assert connection_failure_kind(text) is None or isinstance(connection_failure_kind(text), str)
    assert isinstance(transport_reason(text), str)
    name, matchers = parse_selector(text)
    assert isinstance(name, str) and all(len(m) == 3 for m in matchers)


@settings(max_examples=300, deadline=None)
@given(TEXT, NESTED)
def test_getuser_client_info_and_epochs_never_crash(name: str, reply: object) -> None:
    user = acl_user_from_getuser(name, reply)
    assert user is None or user.name == name
    assert isinstance(parse_client_info(name), dict)
    assert isinstance(parse_client_info(reply), dict)
    epoch = normalise_epoch(reply)
    assert epoch is None or isinstance(epoch, float)


def _reference_glob(pattern: str) -> re.Pattern[str] | None:
    """Redis globs translated to a backtracking regex (what glob_match used to do): the reference."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[":
            j = i + 1
            neg = j < n and pattern[j] == "^"
            j += neg
            body: list[str] = []
            while j < n and pattern[j] != "]":
                if pattern[j] == "\\" and j + 1 < n:
                    j += 1
                    body.append(re.escape(pattern[j]))
                elif j + 2 < n and pattern[j + 1] == "-" and pattern[j + 2] != "]":
                    lo, hi = sorted((pattern[j], pattern[j + 2]))
                    body.append(f"{re.escape(lo)}-{re.escape(hi)}")
                    j += 2
                else:
                    body.append(re.escape(pattern[j]))
                j += 1
            out.append(("(?!)" if not neg else ".") if not body else ("[^" if neg else "[") + "".join(body) + "]")
            i = j
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error:
        return None


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="ab*?[]^-\\x\n", max_size=12), st.text(alphabet="ab-x]\\\n[", max_size=12))
def test_glob_match_agrees_with_the_regex_reference(pattern: str, text: str) -> None:
    ref = _reference_glob(pattern)
    assert glob_match(pattern, text) == (ref is not None and ref.fullmatch(text) is not None)
    if not set(pattern) & set("*?[\\"):
        assert glob_match(pattern, pattern)
    assert glob_match("*", text)


def test_glob_match_is_not_exponential(monkeypatch: pytest.MonkeyPatch) -> None:
    """The matcher backs up only to the last `*`: at most len(text) × len(pattern) character tests, where a
    backtracking regex makes ~len(text)^stars. Counted, not timed."""
    from checks.parsers import acl_rules

    tests = [0]

    class Counting:
        def __init__(self, rx: re.Pattern[str]) -> None:
            self.rx = rx

        def fullmatch(self, ch: str) -> object:
            tests[0] += 1
            return self.rx.fullmatch(ch)

    tokens = acl_rules._glob_tokens.__wrapped__
    monkeypatch.setattr(acl_rules, "_glob_tokens",
                        lambda pattern: tuple(t if t is acl_rules._STAR else Counting(t) for t in tokens(pattern)))
    for pattern, text, matches in (("*a" * 40 + "b", "a" * 5000, False), ("*a" * 40 + "*", "ab" * 5000, True),
                                   ("a*b*c", "a" + "x" * 3000 + "b" + "y" * 3000 + "c", True)):
        tests[0] = 0
        assert glob_match(pattern, text) is matches
        assert 0 < tests[0] <= len(text) * len(pattern), (pattern[:12], tests[0])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=10), st.binary(min_size=8, max_size=40), min_size=1, max_size=4),
       NESTED)
def test_parsed_secret_never_shows_its_values(data: dict[str, bytes], noise: object) -> None:
    """A Secret's repr and its raw copy (what gets logged or serialised) hold fingerprints, never values."""
    obj = {"kind": "Secret", "metadata": {"name": "s", "namespace": "n", "annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": repr(data)}, "labels": noise},
        "data": {k: base64.b64encode(v).decode() for k, v in data.items()}, "stringData": {"x": repr(data)}}
    secret = kube_parse.secret_from(obj)
    assert secret.data == data
    shown = repr(secret) + repr(secret.raw)
    for value in data.values():
        assert base64.b64encode(value).decode() not in shown
        text = value.decode("utf-8", "replace")
        if len(text) >= 8 and text.isprintable() and text not in repr(noise):
            assert text not in shown
    for m in re.finditer(r"sha256:([0-9a-f]+)", shown):
        assert len(m.group(1)) <= 12


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(min_size=1), st.binary(min_size=1)))
def test_fingerprints_show_at_most_twelve_hex(value: object) -> None:
    assert re.fullmatch(r"sha256:[0-9a-f]{1,12}", fingerprint(value))
    described = describe_secret(value)
    assert re.match(r"sha256:[0-9a-f]{1,12},", described)


BIG = 1_000_000
ADVERSARIAL = ["a" * BIG, "[" * BIG, "a://" * (BIG // 4) + "@", "{" * BIG, '"' * BIG, "\\" * BIG, "x=" * (BIG // 2),
               "a:@" * (BIG // 3), " " * BIG, "a\n" * (BIG // 2), "$(" * (BIG // 2), "*" * BIG, "user " * (BIG // 5)]


def test_every_parser_takes_a_megabyte_in_linear_time() -> None:
    """1 MB of repetitive server text (a slowlog value, an error message, an ACL file) is handled in seconds:
    no regex backtracks quadratically on it."""
    parsers = {"acl list": parse_acl_list, "acl file": parse_acl_file, "info": parse_info,
               "redis error": classify_redis_error, "promql": extract_selectors, "pg error": classify_pg_error,
               "s3 error": classify_s3_error, "classify_error": classify_error, "url": parse_url,
               "host:port": lambda t: split_host_port(t, 6379), "env name": lambda t: classify_name(t, "redis"),
               "expand": lambda t: expand(t, {}), "selector": parse_selector, "redact_urls": redact_urls,
               "client info": parse_client_info, "connection failure": connection_failure_kind,
               "policy lint": lambda t: lint_policy("p", t, "b"), "acl log": lambda t: parse_acl_log(
                   [["reason", "key", "object", t, "username", t, "client-info", t]]),
               "slowlog": lambda t: [e.redacted_args() for e in parse_slowlog([[1, 2, 3, ["SET", t, t]]])]}
    slow = []
    for name, fn in parsers.items():
        for text in ADVERSARIAL:
            start = time.monotonic()
            fn(text)
            took = time.monotonic() - start
            if took > 5:
                slow.append(f"{name} on {text[:6]!r}…: {took:.1f}s")
    assert not slow, slow


def test_deeply_nested_json_from_servers_is_not_a_crash() -> None:
    """`[[[[…` 100,000 deep raises RecursionError (not ValueError) in json.loads: every reader of server JSON
    treats it as malformed (a policy document, a Reloader annotation on a workload, an API error body)."""
    from checks.rustfs_iam_api import _doc
    from checks.sources.kube_errors import _status_message
    from checks.sources.rustfs_admin import _policy_doc
    from checks.workloads import RELOADER_LAST_RELOADED, _template_hash

    deep = "[" * 100_000
    assert lint_policy("p", deep, "b")[0].code == "S3_POLICY_LINT"
    assert _doc(deep) == {} and _policy_doc(deep) == {}
    assert isinstance(_status_message(deep), str)
    workload = kube_parse.workload_from({"kind": "Deployment", "metadata": {"name": "w", "namespace": "n"}, "spec": {
        "template": {"metadata": {"annotations": {RELOADER_LAST_RELOADED: deep}}, "spec": {"containers": []}}}},
        "Deployment")
    secret = kube_parse.secret_from({"kind": "Secret", "metadata": {"name": "s", "namespace": "n"}, "data": {}})
    assert _template_hash(workload.template, secret) == ("", "")
