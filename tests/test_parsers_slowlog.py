"""SLOWLOG parsing and redaction (service-facts §3.5 caps)."""

from __future__ import annotations

from checks.parsers import parse_slowlog, redact_command_args

DRAGONFLY_CAPPED = [
    [7, 1697469722, 15234, ["SET", "cache:user:1", "a" * 128 + "... (872 more bytes)"], "10.42.0.9:50112", "api"],
    [6, 1697469700, 12001, ["MSET", *[f"k{i}" if i % 2 == 0 else f"v{i}" for i in range(31)],
                            "... (9 more arguments)"], "10.42.0.9:50113", ""],
    [5, 1697469600, 11000, ["AUTH", "litellm", "hunter2"], "10.42.0.10:1", ""],
]
REDIS_PY_DICT = {"id": 1, "start_time": 1795530786, "duration": 5,
                 "command": b"SET k vvvvvvvvvv... (172 more bytes)", "client_address": b"127.0.0.1:1",
                 "client_name": b""}


def test_dragonfly_caps() -> None:
    set_e, mset_e, auth_e = parse_slowlog(DRAGONFLY_CAPPED)
    assert set_e.id == 7 and set_e.time == 1697469722 and set_e.duration_us == 15234
    assert set_e.command == "SET" and set_e.args[0] == "cache:user:1" and set_e.truncated
    assert set_e.client == "10.42.0.9:50112" and set_e.client_name == "api"
    assert set_e.redacted_args() == ("SET", "cache:user:1", "‹redacted 1000 bytes›")
    assert mset_e.truncated and mset_e.args[-1] == "... (9 more arguments)"
    red = mset_e.redacted_args()
    assert red[1] == "k0" and red[2] == "‹redacted 2 bytes›" and red[3] == "k2" and red[-1] == "... (9 more arguments)"
    assert not auth_e.truncated and auth_e.redacted_args() == ("AUTH", "‹redacted 7 bytes›", "‹redacted 7 bytes›")


def test_redis_py_dict_and_old_format() -> None:
    (d,) = parse_slowlog([REDIS_PY_DICT])
    assert d.command == "SET" and d.args == ("k", "vvvvvvvvvv... (172 more bytes)") and d.truncated
    assert d.redacted_args() == ("SET", "k", "‹redacted 182 bytes›")
    (old,) = parse_slowlog([[1, 2, 3, ["get", "k"]]])
    assert old.command == "GET" and old.client == "" and old.redacted_args() == ("GET", "k")


def test_redaction_rules() -> None:
    assert redact_command_args("DEL", ["a", "b"]) == ("a", "b")
    assert redact_command_args("EVALSHA", ["abc", "2", "k1", "k2", "secret"]) == (
        "abc", "2", "k1", "k2", "‹redacted 6 bytes›")
    assert redact_command_args("EVAL", ["return 1", "1", "k", "v"])[0] == "‹redacted 8 bytes›"
    assert redact_command_args("CONFIG", ["SET", "requirepass", "pw"]) == ("SET", "requirepass", "‹redacted 2 bytes›")
    assert redact_command_args("ACL", ["SETUSER", "bob", "on", ">pw", "~b:*"]) == (
        "SETUSER", "bob", "on", "‹redacted 3 bytes›", "~b:*")
    assert redact_command_args("HELLO", ["3", "AUTH", "u", "pw"])[3] == "‹redacted 2 bytes›"
    assert redact_command_args("XYZUNKNOWN", ["a"]) == ("‹redacted 1 bytes›",)
    assert redact_command_args("KEYS", ["cache:*"]) == ("cache:*",)


def test_junk() -> None:
    assert parse_slowlog(None) == () and parse_slowlog("x") == () and parse_slowlog(5) == ()
    assert parse_slowlog([[1], "x", {"command": ""}])[0].command == ""
