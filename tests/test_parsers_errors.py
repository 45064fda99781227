"""classify_redis_error for every text in service-facts §3.7 (and ACL DRYRUN answers)."""

from __future__ import annotations

import pytest

from checks.parsers import classify_redis_error


@pytest.mark.parametrize("text,code,noperm,user,cmd,key", [
    ("-WRONGPASS invalid username-password pair or user is disabled.", "WRONGPASS", None, None, None, None),
    ("invalid username-password pair or user is disabled.", "WRONGPASS", None, None, None, None),
    ("-NOAUTH Authentication required.", "NOAUTH", None, None, None, None),
    ("Authentication required.", "NOAUTH", None, None, None, None),
    ("HELLO must be called with the client already authenticated, otherwise …", "NOAUTH", None, None, None, None),
    ("-NOPERM User alice has no permissions to run the 'get' command", "NOPERM", "command", "alice", "get", None),
    ("-NOPERM No permissions to access a key", "NOPERM", "key", None, None, None),
    ("-NOPERM No permissions to access a channel", "NOPERM", "channel", None, None, None),
    ("-NOPERM this user has no permissions to run the 'flushall' command", "NOPERM", "command", None,
     "flushall", None),
    ("NOPERM this user has no permissions to run the 'acl|dryrun' command", "NOPERM", "command", None,
     "acl|dryrun", None),
    ("-NOPERM this user has no permissions to access one of the keys used as arguments", "NOPERM", "key",
     None, None, None),
    ("-NOPERM this user has no permissions to access one of the channels used as arguments", "NOPERM",
     "channel", None, None, None),
    ("-NOPERM litellm has no ACL permissions", "NOPERM", "generic", "litellm", None, None),
    ("NOPERM langfuse has no ACL permissions", "NOPERM", "generic", "langfuse", None, None),
    ("This user has no permissions to run the 'SET' command", "NOPERM", "command", None, "set", None),
    ("This user has no permissions to access the 'b:1' key", "NOPERM", "key", None, None, "b:1"),
    ("-ERR Out of memory", "OOM", None, None, None, None),
    ("OOM command not allowed when used memory > 'maxmemory'.", "OOM", None, None, None, None),
    ("ERR unknown command 'FOO'", None, None, None, None, None),
    ("", None, None, None, None, None),
])
def test_classify(text: str, code: str | None, noperm: str | None, user: str | None, cmd: str | None,
                  key: str | None) -> None:
    info = classify_redis_error(text)
    assert (info.code, info.noperm, info.username, info.command, info.key) == (code, noperm, user, cmd, key)


def test_flow_steps() -> None:
    assert classify_redis_error("WRONGPASS x").flow_step == "D3"
    assert classify_redis_error("NOAUTH x").flow_step == "D2"
    assert classify_redis_error("-NOPERM u has no ACL permissions").flow_step == "D5"
    assert classify_redis_error("-ERR Out of memory").flow_step == "D11"
    assert classify_redis_error(None).flow_step is None
