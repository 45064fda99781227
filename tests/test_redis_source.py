"""RedisSource against a real redis-server 7.0 with an ACL file (tests/servers.py)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from checks.errors import SourceError
from checks.parsers import command_allowed, key_allowed, password_matches
from checks.sources.redis_source import RedisSource
from tests.servers import LOOPBACK, RedisServer, closed_port, redis_server, silent_port  # noqa: F401


def admin(srv: RedisServer, user: str = "default", timeout: float = 3.0) -> RedisSource:
    return RedisSource(srv.host, srv.port, user, srv.passwords[user], timeout)


def raw(srv: RedisServer, user: str = "default") -> redis.Redis:
    return redis.Redis(host=srv.host, port=srv.port, username=user, password=srv.passwords[user],
                       decode_responses=True)


def test_ping_and_flavor(redis_server: RedisServer) -> None:
    src = admin(redis_server)
    assert src.ping() >= 0
    assert src.server_flavor == "redis"
    assert src.info().version.startswith("7.")


def test_snapshot_one_round_trip(redis_server: RedisServer) -> None:
    # provoke a denial so ACL LOG has an entry
    with pytest.raises(redis.exceptions.NoPermissionError):
        raw(redis_server, "litellm").get("other:key")
    src = admin(redis_server)
    snap = src.snapshot()
    assert snap.whoami == "default"
    assert snap.denied == {} and snap.errors == {}
    assert snap.flavor == "redis" and snap.info is not None and snap.info.role == "master"
    assert snap.info.maxmemory == 0 and snap.info.maxmemory_policy == "noeviction"
    assert {"default", "litellm", "langfuse", "limited", "retired"} <= set(snap.acl.names)
    litellm = snap.acl.get("litellm")
    assert litellm is not None and litellm.enabled and litellm.db is None
    assert password_matches(litellm, "litellm-pw") and not password_matches(litellm, "wrong")
    assert key_allowed(litellm, "litellm:cache:1") and not key_allowed(litellm, "other:key")
    assert command_allowed(litellm, "get") and not command_allowed(litellm, "flushall")
    assert not snap.acl.get("retired").enabled
    entry = next(e for e in snap.acl_log if e.username == "litellm" and e.reason == "key")
    assert entry.object == "other:key" and entry.client_addr.startswith("127.0.0.1:")
    assert entry.timestamp_created is None  # Redis 7.0 has no timestamps
    assert snap.config["maxmemory"] == "0" and snap.config["maxmemory-policy"] == "noeviction"
    assert snap.config["aclfile"] == str(redis_server.aclfile)
    assert "slowlog-log-slower-than" in snap.config and "slowlog-max-len" in snap.config


def test_snapshot_denied_for_restricted_admin(redis_server: RedisServer) -> None:
    snap = admin(redis_server, "limited").snapshot()
    assert snap.whoami == "limited"
    for part in ("ACL LIST", "ACL LOG", "SLOWLOG GET", "INFO", "CONFIG GET maxmemory"):
        assert part in snap.denied, snap.denied
        assert "no permissions" in snap.denied[part]
    assert snap.info is None and snap.acl.users == () and snap.slowlog == ()


def test_slowlog_capture_and_redaction(redis_server: RedisServer) -> None:
    r = raw(redis_server)
    r.config_set("slowlog-log-slower-than", 0)
    try:
        r.slowlog_reset()
        r.set("litellm:session:42", "s3cr3t-value" * 20)
        r.execute_command("RPUSH", "litellm:list", *[f"v{i}" for i in range(40)])
        snap = admin(redis_server).snapshot()
    finally:
        r.config_set("slowlog-log-slower-than", 10000)
    by_cmd = {e.command: e for e in snap.slowlog}
    set_entry = by_cmd["SET"]
    assert set_entry.args[0] == "litellm:session:42" and set_entry.truncated
    assert set_entry.redacted_args() == ("SET", "litellm:session:42", "‹redacted 240 bytes›")
    push = by_cmd["RPUSH"]
    assert push.truncated and push.args[-1] == "... (11 more arguments)"
    red = push.redacted_args()
    assert red[1] == "litellm:list" and "v3" not in red and red[-1] == "... (11 more arguments)"
    assert all("s3cr3t" not in a for e in snap.slowlog for a in e.redacted_args())


def test_acl_getuser(redis_server: RedisServer) -> None:
    src = admin(redis_server)
    user = src.acl_getuser("langfuse")
    assert user is not None and user.enabled
    assert password_matches(user, "langfuse-pw")
    assert user.key_patterns == ("~langfuse:*",)
    assert command_allowed(user, "evalsha") and not command_allowed(user, "keys")
    assert src.acl_getuser("ghost") is None


def test_try_auth(redis_server: RedisServer) -> None:
    src = admin(redis_server)
    assert src.try_auth("litellm", "litellm-pw").ok
    bad = src.try_auth("litellm", "wrong-pw")
    assert not bad.ok and bad.error_kind == "WRONGPASS" and "wrong-pw" not in bad.message
    assert src.try_auth("retired", "retired-pw").error_kind == "WRONGPASS"  # disabled user
    noauth = src.try_auth(None, None)
    assert not noauth.ok and noauth.error_kind == "NOAUTH"
    # the admin connection is untouched by the probes
    assert src.snapshot().whoami == "default"


def test_dryrun(redis_server: RedisServer) -> None:
    src = admin(redis_server)
    ok = src.dryrun("litellm", "SET", "litellm:x", "1")
    assert ok.allowed is True and ok.supported and ok.message == "OK"
    key = src.dryrun("litellm", "GET", "other:x")
    assert key.allowed is False and "'other:x' key" in key.message
    cmd = src.dryrun("litellm", "FLUSHALL")
    assert cmd.allowed is False and "flushall" in cmd.message.lower()
    ghost = src.dryrun("ghost", "GET", "x")
    assert ghost.allowed is False and not ghost.user_found


def test_dryrun_not_permitted_falls_back(redis_server: RedisServer) -> None:
    # redis 7.0.15 does have ACL DRYRUN; an admin without acl|dryrun gets NOPERM -> unsupported
    res = admin(redis_server, "nodryrun").dryrun("litellm", "GET", "litellm:x")
    assert res.supported is False and res.allowed is None and "DRYRUN" in res.message


def _fake_resp_server(reply: bytes) -> tuple[socket.socket, int]:
    """A tiny RESP peer answering every command with `reply` (for servers without DRYRUN)."""
    sock = socket.socket()
    sock.bind((LOOPBACK, 0))
    sock.listen(4)

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                while conn.recv(65536):
                    conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    return sock, sock.getsockname()[1]


def test_dryrun_unknown_subcommand_is_unsupported() -> None:
    sock, port = _fake_resp_server(b"-ERR unknown subcommand 'DRYRUN'. Try ACL HELP.\r\n")
    try:
        res = RedisSource(LOOPBACK, port, None, None, 2).dryrun("litellm", "GET", "x")
    finally:
        sock.close()
    assert res.supported is False and res.allowed is None


def test_wrong_admin_password(redis_server: RedisServer) -> None:
    src = RedisSource(redis_server.host, redis_server.port, "default", "not-the-password", 3)
    with pytest.raises(SourceError) as err:
        src.snapshot()
    assert err.value.kind == "auth" and err.value.system == "dragonfly"
    assert "Secret cache/dragonfly-auth" in err.value.message
    assert "not-the-password" not in str(err.value) and "not-the-password" not in repr(src)


def test_closed_port_is_unreachable(closed_port: int) -> None:
    with pytest.raises(SourceError) as err:  # "unreachable", not "timeout": a refusal is not waited out
        RedisSource(LOOPBACK, closed_port, "default", "pw", 2).ping()
    assert err.value.kind == "unreachable"


def test_silent_port_times_out(silent_port: int) -> None:
    timeout = 1.0
    deadline = time.monotonic() + timeout + 1
    with pytest.raises(SourceError) as err:
        RedisSource(LOOPBACK, silent_port, "default", "pw", timeout).snapshot()
    assert err.value.kind == "timeout"
    assert time.monotonic() < deadline


# -- the admin client kept across refreshes (redis_source.kept_client) ---------------------------------------

@pytest.fixture
def keeper(redis_server: RedisServer) -> Iterator[None]:
    """A user of its own on the session's server, and no kept client before or after."""
    from checks.sources import redis_source

    redis_source.close_kept_clients()
    r = raw(redis_server)
    r.execute_command("ACL", "SETUSER", "keeper", "reset", "on", ">keeper-pw", "~*", "&*", "+@all")
    try:
        yield
    finally:
        redis_source.close_kept_clients()
        r.execute_command("ACL", "DELUSER", "keeper")
        r.close()


def _keeper(srv: RedisServer, password: str = "keeper-pw") -> RedisSource:
    return RedisSource(srv.host, srv.port, "keeper", password, 3.0)


def _logins(srv: RedisServer) -> int:
    """Connections the server accepted so far (INFO stats), minus the one asking."""
    r = raw(srv)
    try:
        return int(r.info("stats")["total_connections_received"])
    finally:
        r.close()


def test_a_steady_refresh_sends_its_pipeline_on_the_connection_kept(redis_server: RedisServer, keeper: None) -> None:
    _keeper(redis_server).snapshot()
    before = _logins(redis_server)
    for _ in range(3):  # as the Dragonfly pane and the Overview each make a source and close it
        src = _keeper(redis_server)
        assert src.snapshot().whoami == "keeper"
        src.close()
    assert _logins(redis_server) - before == 1, "only the INFO asking: no new login for the snapshots"


def test_a_kept_connection_the_server_closed_is_made_again_within_the_call(redis_server: RedisServer,
                                                                           keeper: None) -> None:
    _keeper(redis_server).snapshot()
    r = raw(redis_server)
    assert r.execute_command("CLIENT", "KILL", "USER", "keeper") == 1  # as a restart or `timeout` does
    r.close()
    time.sleep(0.1)
    before = _logins(redis_server)
    assert _keeper(redis_server).snapshot().whoami == "keeper"
    assert _logins(redis_server) - before == 2, "the INFO asking and the snapshot's new login"


def test_a_password_changed_on_the_server_alone_shows_once_the_client_is_past_its_age(
        redis_server: RedisServer, keeper: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from checks.sources import redis_source

    _keeper(redis_server).snapshot()
    r = raw(redis_server)  # not the Secret: only the server's ACL changes (no connection is dropped)
    r.execute_command("ACL", "SETUSER", "keeper", "resetpass", ">changed-by-hand")
    r.close()
    assert _keeper(redis_server).snapshot().whoami == "keeper", "the kept connection logged in before"
    monkeypatch.setattr(redis_source, "KEPT_FOR", 0.0)
    with pytest.raises(SourceError) as err:
        _keeper(redis_server).snapshot()
    assert err.value.kind == "auth" and "keeper-pw" not in str(err.value)
    assert _keeper(redis_server, "changed-by-hand").snapshot().whoami == "keeper"  # the Secret updated too
