"""ACL LOG parsing: Dragonfly example (service-facts §3.4), captured Redis 7.0 raw replies, redis-py dicts."""

from __future__ import annotations

from checks.parsers import normalise_epoch, parse_acl_log, parse_client_info

DRAGONFLY_ENTRY = ["reason", "AUTH", "object", "AUTH", "username", "mike", "age-seconds", "2.465420372",
                   "client-info", "id=6 addr=127.0.0.1:40390 laddr=127.0.0.1:6379 fd=24 name= …",
                   "timestamp-created", 1697469722374275368]
# captured from redis-server 7.0.15, RESP2, `ACL LOG` (client-info shortened)
REDIS70_RAW = [
    ["count", 11, "reason", "auth", "context", "toplevel", "object", "AUTH", "username", "litellm",
     "age-seconds", "0", "client-info", "id=15 addr=10.42.0.17:51234 laddr=10.42.1.5:6379 fd=9 name= age=0 "
     "idle=0 flags=U db=0 cmd=auth user=default redir=-1 resp=2"],
    ["count", 1, "reason", "key", "context", "toplevel", "object", "other:1", "username", "litellm",
     "age-seconds", "3.762", "client-info", "id=4 addr=10.42.0.17:51200 laddr=10.42.1.5:6379 fd=8 name=worker-1 "
     "cmd=get user=litellm redir=-1 resp=2"],
]
# redis-py 8.1 acl_log() shape (Redis 7.2+: with timestamps in ms)
REDIS_PY_DICT = {"count": 2, "reason": "command", "context": "toplevel", "object": "flushall", "username": "app",
                 "age-seconds": 1.5, "client-info": {"id": 9, "addr": "10.0.0.9:4000", "name": "svc"},
                 "entry-id": 0, "timestamp-created": 1697469722374, "timestamp-last-updated": 1697469723374}


def test_dragonfly_entry() -> None:
    (e,) = parse_acl_log([DRAGONFLY_ENTRY])
    assert e.reason == "auth" and e.object == "AUTH" and e.username == "mike" and e.count == 1
    assert abs(e.age_seconds - 2.465420372) < 1e-9
    assert e.client_addr == "127.0.0.1:40390" and e.client_name == ""
    assert abs(e.timestamp_created - 1697469722.374275368) < 1e-3


def test_dragonfly_pub_sub_is_channel() -> None:
    (e,) = parse_acl_log([["reason", "PUB_SUB", "object", "PUBLISH", "username", "u"]])
    assert e.reason == "channel" and e.age_seconds is None and e.timestamp_created is None


def test_redis70_raw() -> None:
    auth, key = parse_acl_log(REDIS70_RAW)
    assert auth.count == 11 and auth.reason == "auth" and auth.context == "toplevel"
    assert key.reason == "key" and key.object == "other:1" and key.client_addr == "10.42.0.17:51200"
    assert key.client_name == "worker-1" and key.timestamp_created is None
    assert key.client_info["cmd"] == "get"


def test_redis_py_dict() -> None:
    (e,) = parse_acl_log([REDIS_PY_DICT])
    assert e.reason == "command" and e.count == 2 and e.client_addr == "10.0.0.9:4000" and e.client_name == "svc"
    assert abs(e.timestamp_created - 1697469722.374) < 1e-6


def test_bytes_and_junk() -> None:
    (e,) = parse_acl_log([[b"reason", b"KEY", b"object", b"\xffkey", b"count", b"-3"], 42, "text", None])
    assert e.reason == "key" and e.object == "\ufffdkey" and e.count == 1
    assert parse_acl_log(None) == () and parse_acl_log("ACL LOG") == () and parse_acl_log(7) == ()


def test_epochs_and_client_info() -> None:
    assert normalise_epoch(1697469722) == 1697469722
    assert normalise_epoch("1697469722374") == 1697469722.374
    assert abs(normalise_epoch(1697469722374275) - 1697469722.374275) < 1e-6
    assert normalise_epoch("nan") is None and normalise_epoch("x") is None
    assert parse_client_info("id=1 addr=1.2.3.4:5 name= junk") == {"id": "1", "addr": "1.2.3.4:5", "name": ""}
