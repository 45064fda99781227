"""ACL LIST / ACL file parsing, evaluation and drift (service-facts §3.3 verbatim payloads)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.parsers import (acl_user_from_getuser, command_allowed, command_decision, diff_acl, glob_match,
                            key_allowed, parse_acl_file, parse_acl_list, password_matches)
from checks.parsers.acl import AclUser
from checks.parsers.acl_categories import ALL_KNOWN, categories_of
from checks.parsers.acl_rules import allowed_commands, channel_allowed, command_differences, commands_equivalent

DRAGONFLY_ACL_LIST = [
    "user default on nopass ~* &* +@all $all",
    "user roy on #ea71c25a7a60224 resetchannels -@all +@string +hset $1",
    "user vlad off ~foo ~bar* resetchannels -@all +@string $3",
    "user kostas off resetchannels -@all $all",
]
REDIS_ACL_LIST = ["user default on nopass ~* &* +@all"]
# captured live from redis-server 7.0.15 after `ACL SETUSER litellm on >litellm-pw ~litellm:* resetchannels
# -@all +@read +@write -@dangerous`: 7.0 rewrites the categories
REDIS70_LITELLM = (
    "user litellm on #b1df1a2d964fb9c0503e817dc05b6d62f41b9801e1b64d78ad809f2adb5422f1 ~litellm:* resetchannels "
    "-@all +@string +@hash +@geo +@blocking +@bitmap +@set +@hyperloglog +@stream +@sortedset +@list +@keyspace "
    "-keys -flushall -xinfo|help +lolwut -object|help -sort_ro +memory|usage -flushdb -restore -swapdb "
    "-pfselftest -xgroup|help -sort -migrate -pfdebug +function|flush +function|load +function|delete "
    "+function|restore -restore-asking")
ACL_FILE_LINE = ("USER MrFoo ON #a6864eb339b0e1f6e00d75293a8840abf069a2c0fe82e6e53af6ac099793c1d5 >mypass "
                 "&bar &r*nd")
CONFIGMAP = """\
# Dragonfly ACL for the shared cache (ConfigMap cache/dragonfly-acl, key acl.conf)
user default on >admin-secret ~* +@all
user keycloak on >kc-secret ~keycloak:* +@read +@write -@dangerous

user appcache on >cache-secret ~cache:* +@read +GET +SET +DEL +EXPIRE -@dangerous
# user litellm is managed elsewhere
"""


def test_dragonfly_acl_list() -> None:
    listing = parse_acl_list(DRAGONFLY_ACL_LIST)
    assert listing.problems == () and listing.names == ("default", "roy", "vlad", "kostas")
    default = listing.get("default")
    assert default.enabled and default.nopass and default.key_patterns == ("~*",)
    assert default.channel_patterns == ("&*",) and default.commands == ("+@all",) and default.db == "$all"
    roy = listing.get("roy")
    assert roy.enabled and not roy.nopass and roy.password_hashes == ("ea71c25a7a60224",)
    assert roy.key_patterns == () and roy.channel_patterns == () and roy.db == "$1"
    assert roy.commands == ("-@all", "+@string", "+hset")
    vlad = listing.get("vlad")
    assert not vlad.enabled and vlad.key_patterns == ("~foo", "~bar*") and vlad.db == "$3"
    assert listing.get("kostas").commands == ("-@all",) and listing.get("nobody") is None


def test_redis_acl_list() -> None:
    listing = parse_acl_list(REDIS_ACL_LIST + [REDIS70_LITELLM])
    assert listing.get("default").db is None and listing.get("default").nopass
    litellm = listing.get("litellm")
    assert litellm.password_hashes == (hashlib.sha256(b"litellm-pw").hexdigest(),)
    assert password_matches(litellm, "litellm-pw") and not password_matches(litellm, "litellm-pw\n")
    assert command_allowed(litellm, "get") and command_allowed(litellm, "MEMORY USAGE")
    assert not command_allowed(litellm, "keys") and not command_allowed(litellm, "flushall")
    assert not command_allowed(litellm, "memory|doctor") and not command_allowed(litellm, "publish")


def test_password_matches_dragonfly_prefix() -> None:
    roy = parse_acl_list(DRAGONFLY_ACL_LIST).get("roy")
    assert password_matches(roy, "mypass")  # sha256("mypass") starts with ea71c25a7a60224
    assert not password_matches(roy, "mypass ")
    assert password_matches(parse_acl_list(DRAGONFLY_ACL_LIST).get("default"), "anything")


def test_acl_file_line_and_configmap() -> None:
    listing = parse_acl_file(ACL_FILE_LINE)
    foo = listing.get("MrFoo")
    assert foo.enabled and len(foo.password_hashes) == 2 and password_matches(foo, "mypass")
    assert foo.channel_patterns == ("&bar", "&r*nd")
    assert "mypass" not in foo.raw and "mypass" not in repr(foo) and "a6864eb3" not in repr(foo)
    assert foo.fingerprints[0] == "sha256:a6864eb3"
    cm = parse_acl_file(CONFIGMAP)
    assert cm.problems == () and cm.names == ("default", "keycloak", "appcache")
    appcache = cm.get("appcache")
    assert appcache.commands == ("+@read", "+get", "+set", "+del", "+expire", "-@dangerous")
    assert password_matches(appcache, "cache-secret") and key_allowed(appcache, "cache:x")
    assert "cache-secret" not in repr(cm)


def test_malformed_lines_become_problems() -> None:
    listing = parse_acl_file("user\nfoo bar\nuser ok on #nothex >pw ~a\nuser ok on >secret2\n")
    msgs = [(p.line_no, p.message) for p in listing.problems]
    assert (1, "user line without a user name; skipped") in msgs
    assert (2, "not a 'user' line; skipped") in msgs
    assert any(no == 3 and "SHA-256" in m for no, m in msgs)
    assert any(no == 4 and "twice" in m for no, m in msgs)
    assert all("secret2" not in p.text and ">pw" not in p.text for p in listing.problems)
    assert parse_acl_file("user ok on #nothex").get("ok").other == ("#nothex",)
    assert parse_acl_list(b"user x on\xff ~k").get("x") is not None
    assert parse_acl_list(None).users == () and parse_acl_list("").users == ()


def test_rule_tokens() -> None:
    u = parse_acl_file("user u ON allkeys allchannels allcommands %R~ro:* %W~wo:* resetpass >a >b <a "
                       "(~sel:* +get) sanitize-payload").get("u")
    assert u.key_patterns == ("~*", "%R~ro:*", "%W~wo:*") and u.channel_patterns == ("&*",)
    assert u.commands == ("allcommands",) and command_allowed(u, "flushall")
    assert u.password_hashes == (hashlib.sha256(b"b").hexdigest(),)
    assert u.selectors == ("(~sel:* +get)",) and u.other == ("sanitize-payload",)
    r = parse_acl_file("user r on nopass ~a:* reset resetkeys ~b:* nocommands").get("r")
    assert not r.enabled and not r.nopass and r.key_patterns == ("~b:*",) and r.commands == ("nocommands",)


@pytest.mark.parametrize("pattern,key,ok", [
    ("*", "anything", True), ("cache:*", "cache:1", True), ("cache:*", "keycloak:1", False),
    ("h?llo", "hello", True), ("h[ae]llo", "hallo", True), ("h[^e]llo", "hello", False),
    ("h[a-c]llo", "hbllo", True), ("a\\*b", "a*b", True), ("a\\*b", "axb", False), ("[", "[", False),
    ("foo", "foo", True), ("foo", "foobar", False), ("bar*", "bar", True),
])
def test_glob_match(pattern: str, key: str, ok: bool) -> None:
    assert glob_match(pattern, key) is ok


def test_key_and_channel_access() -> None:
    u = parse_acl_file("user u on %R~ro:* %W~wo:* ~rw:* &news.*").get("u")
    assert key_allowed(u, "ro:1") and key_allowed(u, "ro:1", "read") and not key_allowed(u, "ro:1", "write")
    assert key_allowed(u, "wo:1", "write") and not key_allowed(u, "wo:1", "rw")
    assert key_allowed(u, "rw:1", "rw") and not key_allowed(u, "zz")
    assert channel_allowed(u, "news.eu") and not channel_allowed(u, "sports")


def test_command_decision() -> None:
    kc = parse_acl_file(CONFIGMAP).get("keycloak")
    d = command_decision(kc, "FLUSHALL")
    assert not d.allowed and d.rule == "-@dangerous" and d.certain and d.dangerous
    assert command_decision(kc, "get").rule == "+@read"
    assert command_decision(kc, "evalsha").allowed is False
    odd = parse_acl_file("user o on +@nosuchcategory +get").get("o")
    d = command_decision(odd, "set")
    assert not d.allowed and not d.certain
    unknown = command_decision(kc, "dfly")
    assert not unknown.certain
    assert categories_of("GET") == ("@fast", "@read", "@string")


def test_diff_acl_redis70_expansion_is_equivalent() -> None:
    src = parse_acl_file("user litellm on >litellm-pw ~litellm:* +@read +@write -@dangerous")
    assert diff_acl(src, parse_acl_list([REDIS70_LITELLM])).clean


def test_diff_acl_missing_extra_different() -> None:
    src = parse_acl_file("user default on nopass ~* &* +@all\n"
                         "user roy on >newpass ~* +@string +hset\n"
                         "user vlad on >x ~foo ~bar* +@string\n"
                         "user newbie on >n ~n:* +get\n")
    diff = diff_acl(src, parse_acl_list(DRAGONFLY_ACL_LIST))
    assert diff.missing == ("newbie",) and diff.extra == ("kostas",)
    by = {d.name: d for d in diff.different}
    assert set(by) == {"roy", "vlad"}
    assert by["roy"].fields == ("password", "keys")
    assert "sha256:ea71c25a" in by["roy"].details[0] and "newpass" not in by["roy"].details[0]
    assert by["vlad"].fields == ("enabled", "password")
    same = parse_acl_file("user roy on >mypass resetchannels +@string +HSET $1")
    assert diff_acl(same, [parse_acl_list(DRAGONFLY_ACL_LIST).get("roy")]).clean


def test_acl_getuser_reply() -> None:
    # redis-server 7.0.15 RESP2 reply to ACL GETUSER bob (captured)
    reply = ["flags", ["on"], "passwords", ["30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4"],
             "commands", "-@all +get", "keys", "~a:*", "channels", "", "selectors", []]
    u = acl_user_from_getuser("bob", reply)
    assert u.enabled and password_matches(u, "pw") and u.key_patterns == ("~a:*",)
    assert command_allowed(u, "get") and not command_allowed(u, "set")
    assert acl_user_from_getuser("x", None) is None and acl_user_from_getuser("x", 5) is None
    assert acl_user_from_getuser("x", {"flags": ["off", "nopass"]}).nopass


# rule words that exercise every branch of command_decision: categories known and unknown, whole commands,
# subcommands known and unknown, resets, and malformed tokens
_RULE_WORDS = ["+@all", "-@all", "allcommands", "nocommands", "+@read", "-@read", "+@write", "-@write",
               "+@dangerous", "-@dangerous", "+@admin", "-@keyspace", "+@slow", "-@fast", "+@nosuchcat",
               "-@nosuchcat", "+get", "-get", "+config", "-config", "+config|get", "-config|get", "+config|nope",
               "-flushall", "+client|list", "-client", "+dfly", "+", "-", "get", "+GET", "+@", "~x"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_RULE_WORDS), max_size=12), st.lists(st.sampled_from(_RULE_WORDS), max_size=12))
def test_allowed_commands_agrees_with_command_decision(a: list[str], b: list[str]) -> None:
    """The set algebra that judges drift gives, for every known command, command_decision's verdict."""
    ua, ub = AclUser("a", commands=tuple(a)), AclUser("b", commands=tuple(b))
    for user in (ua, ub):
        assert allowed_commands(user.commands) == {c for c in ALL_KNOWN if command_decision(user, c).allowed}
    by_decision = all(command_decision(ua, c).allowed == command_decision(ub, c).allowed for c in ALL_KNOWN)
    assert commands_equivalent(ua, ub) == by_decision  # equal spellings decide alike, so no shortcut differs
    assert set(command_differences(ua, ub)) == {c for c in ALL_KNOWN if command_decision(ua, c).allowed
                                                 != command_decision(ub, c).allowed}
