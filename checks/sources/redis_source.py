"""Dragonfly / Redis data source: one-round-trip snapshot, AUTH probes and ACL DRYRUN.

redis-py is imported lazily (in the constructor). Every network failure becomes a
`SourceError("dragonfly", …)`; passwords never appear in reprs or messages.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from checks.errors import SourceError
from checks.parsers.acl import AclListing, AclUser, acl_user_from_getuser, parse_acl_list
from checks.parsers.acl_log import AclLogEntry, parse_acl_log
from checks.parsers.info import ServerInfo, parse_info
from checks.parsers.redis_errors import classify_redis_error
from checks.parsers.slowlog import SlowlogEntry, parse_slowlog
from checks.redact import redact, sha256_hex

SYSTEM = "dragonfly"
CONFIG_KEYS = ("maxmemory", "maxmemory-policy", "slowlog-log-slower-than", "slowlog-max-len", "aclfile")
"""Settings read by `snapshot()` (Dragonfly answers CONFIG GET for its flags too)."""


KEPT_FOR = 60.0
"""Seconds an admin client (and its connection) is used from when it was made; then a new one logs in."""
_KEPT: dict[Any, tuple[float, Any]] = {}
_KEPT_LOCK = threading.Lock()


def kept_client(key: Any, make: Callable[[], Any]) -> Any:
    """The admin client of these connection parameters, kept across refreshes: a steady refresh sends its
    one pipeline on a connection logged in before, without a new AUTH round trip. Made again after KEPT_FOR
    seconds, so that a password changed on the server alone (not in the Secret) shows within a minute. A
    connection the server closed meanwhile is found so by redis-py (it reads the end of the stream) and made
    again before the command; every read stays bounded by the socket timeout."""
    now = time.monotonic()
    stale = []
    with _KEPT_LOCK:
        for k, (made, client) in list(_KEPT.items()):
            if now - made >= KEPT_FOR:
                stale.append(client)
                del _KEPT[k]
        hit = _KEPT.get(key)
        if hit is None:
            hit = _KEPT[key] = (now, make())
    for client in stale:  # connections in use by another thread are left to finish (and closed when let go)
        client.connection_pool.disconnect(inuse_connections=False)
    return hit[1]


def close_kept_clients() -> None:
    """Close every kept admin client's connections."""
    with _KEPT_LOCK:
        clients = [c for _, c in _KEPT.values()]
        _KEPT.clear()
    for client in clients:
        client.connection_pool.disconnect(inuse_connections=False)


@dataclass(frozen=True)
class RedisSnapshot:
    """Everything `snapshot()` read in one pipelined round trip."""

    whoami: str
    """The identity the admin connection runs as ('' when denied)."""
    info: ServerInfo | None
    """Parsed INFO, None when INFO failed."""
    acl: AclListing
    """Parsed ACL LIST (empty when denied)."""
    acl_log: tuple[AclLogEntry, ...]
    """ACL LOG 128, newest first."""
    slowlog: tuple[SlowlogEntry, ...]
    """SLOWLOG GET 128, newest first."""
    config: dict[str, str]
    """CONFIG GET results for `CONFIG_KEYS` that the server knows, keyed with dashes."""
    denied: dict[str, str] = field(default_factory=dict)
    """Command → NOPERM text, for the parts the admin identity may not run."""
    errors: dict[str, str] = field(default_factory=dict)
    """Command → other error text (unknown command, wrong arguments, …)."""

    @property
    def acl_users(self) -> tuple[AclUser, ...]:
        """Users from ACL LIST."""
        return self.acl.users

    @property
    def flavor(self) -> str | None:
        """`dragonfly` or `redis`, None when INFO was not readable."""
        return self.info.flavor if self.info else None


@dataclass(frozen=True)
class AuthProbe:
    """Result of authenticating on a separate, short-lived connection."""

    ok: bool
    """The server accepted the credentials."""
    error_kind: str | None
    """WRONGPASS | NOAUTH | ERROR when not ok."""
    message: str
    """Server answer or a summary; never contains the password."""


@dataclass(frozen=True)
class DryRun:
    """Result of `ACL DRYRUN <user> <command…>`."""

    allowed: bool | None
    """True/False from the server; None when DRYRUN could not answer (see `supported`)."""
    supported: bool
    """False when the server lacks DRYRUN or the admin may not run it: fall back to the parser."""
    user_found: bool
    """False for `User '<u>' not found`."""
    message: str
    """The server's text (`OK`, `This user has no permissions to run the 'set' command`, …)."""


class RedisSource:
    """Read-only access to one Dragonfly/Redis server as the admin identity."""

    system = SYSTEM

    def __init__(self, host: str, port: int, username: str | None = None, password: str | None = None,
                 timeout: float = 5.0, db: int = 0, *,
                 credential_source: str = "Secret cache/dragonfly-auth") -> None:
        import redis  # lazy: heavy client

        self._redis = redis
        self.host = host
        self.port = int(port)
        self.username = username or None
        self.__password = password
        self.timeout = float(timeout)
        self.db = db
        self.credential_source = credential_source
        self._client: Any = None
        self._flavor: str | None = None

    def __repr__(self) -> str:
        return f"RedisSource({self.host}:{self.port}, user={self.username or 'default'!r})"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # ------------------------------------------------------------------ plumbing
    def _kwargs(self) -> dict[str, Any]:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        kw: dict[str, Any] = dict(host=self.host, port=self.port, socket_timeout=self.timeout,
                                  socket_connect_timeout=self.timeout, retry=Retry(NoBackoff(), 0),
                                  decode_responses=True, encoding_errors="replace",
                                  protocol=2)  # RESP2: plain AUTH, same reply shapes on Redis and Dragonfly
        # no CLIENT SETINFO: on a restricted user it would leave NOPERM noise in ACL LOG
        try:
            import redis.driver_info  # noqa: F401  (redis-py >= 7.1)

            kw["driver_info"] = None
        except ImportError:
            kw.update(lib_name=None, lib_version=None)
        return kw

    def _conn(self) -> Any:
        if self._client is None:
            key = (self.host, self.port, self.username, sha256_hex(self.__password or ""), self.db, self.timeout)
            self._client = kept_client(key, self._new_client)
        return self._client

    def _new_client(self) -> Any:
        client = self._redis.Redis(db=self.db, username=self.username, password=self.__password,
                                   **self._kwargs())
        client.set_response_callback("INFO", lambda resp, **_: resp)  # keep INFO as raw text
        return client

    def close(self) -> None:
        """Let go of the admin client; its connection stays kept for the next source (`kept_client`)."""
        self._client = None

    def _error(self, exc: BaseException, *, admin: bool = True) -> SourceError:
        exc_mod = self._redis.exceptions
        text = redact(str(exc), [self.__password])
        where = self.address
        if isinstance(exc, exc_mod.TimeoutError):
            return SourceError(SYSTEM, "Timed out", f"{where} did not answer within {self.timeout:g}s ({text}). "
                               "Check the pod is Ready and the port-forward / endpoint is right.", kind="timeout")
        if isinstance(exc, exc_mod.AuthenticationError) or classify_redis_error(text).code in ("WRONGPASS", "NOAUTH"):
            info = classify_redis_error(text)
            if info.code == "NOAUTH":
                return SourceError(SYSTEM, "Authentication required",
                                   f"{where} requires a password but none was sent; set it from {self.credential_source}.",
                                   kind="auth")
            who = f"user '{self.username or 'default'}'"
            return SourceError(SYSTEM, "Admin password rejected" if admin else "Password rejected",
                               f"admin password from {self.credential_source} rejected by {where} ({who}): "
                               f"WRONGPASS. The Secret and the server's requirepass/ACL file disagree.", kind="auth")
        if isinstance(exc, exc_mod.ConnectionError):
            why = ("refused the connection" if "refused" in text.lower()
                   else f"could not be reached ({text.rstrip('.')})")
            return SourceError(SYSTEM, "Cannot connect", f"{where} {why}. Is the Dragonfly pod running and the "
                               "Service reachable? Try `kubectl -n cache port-forward svc/dragonfly 6379`.",
                               kind="unreachable")
        if isinstance(exc, exc_mod.NoPermissionError) or classify_redis_error(text).code == "NOPERM":
            return SourceError(SYSTEM, "Permission denied",
                               f"the admin identity may not run this on {where}: {text}", kind="forbidden")
        return SourceError(SYSTEM, "Redis error", f"{where}: {text}")

    def _run(self, fn: Any, *, admin: bool = True) -> Any:
        try:
            return fn()
        except self._redis.exceptions.RedisError as exc:
            raise self._error(exc, admin=admin) from None
        except OSError as exc:
            raise SourceError(SYSTEM, "Cannot connect", f"{self.address}: {exc.strerror or exc}",
                              kind="unreachable") from None

    # ------------------------------------------------------------------ reads
    def ping(self) -> float:
        """Round-trip time of PING in seconds."""
        start = time.monotonic()
        self._run(lambda: self._conn().ping())
        return time.monotonic() - start

    def snapshot(self) -> RedisSnapshot:
        """WHOAMI, ACL LIST, ACL LOG, INFO, SLOWLOG and CONFIG GET in ONE pipelined round trip."""
        steps: list[tuple[str, tuple[Any, ...]]] = [
            ("ACL WHOAMI", ("ACL", "WHOAMI")), ("ACL LIST", ("ACL", "LIST")), ("ACL LOG", ("ACL", "LOG", 128)),
            ("INFO", ("INFO",)), ("SLOWLOG GET", ("SLOWLOG", "GET", 128)),
            *((f"CONFIG GET {k}", ("CONFIG", "GET", k)) for k in CONFIG_KEYS)]

        def go() -> list[Any]:
            pipe = self._conn().pipeline(transaction=False)
            for _, args in steps:
                pipe.execute_command(*args)
            return pipe.execute(raise_on_error=False)

        results = self._run(go)
        denied: dict[str, str] = {}
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for (name, _), res in zip(steps, results):
            if isinstance(res, BaseException):
                if isinstance(res, self._redis.exceptions.ConnectionError):
                    raise self._error(res)
                text = redact(str(res), [self.__password])
                (denied if classify_redis_error(text).code == "NOPERM" else errors)[name] = text
            else:
                values[name] = res
        whoami = str(values.get("ACL WHOAMI") or "")
        if whoami.startswith("User is "):
            whoami = whoami[len("User is "):]
        config: dict[str, str] = {}
        for key in CONFIG_KEYS:
            res = values.get(f"CONFIG GET {key}")
            pairs = list(res.items()) if isinstance(res, dict) else (
                [(res[i], res[i + 1]) for i in range(0, len(res) - 1, 2)] if isinstance(res, (list, tuple)) else [])
            # Dragonfly may answer with its flag spelling (slowlog_max_len): key by the Redis spelling
            config.update({str(k).replace("_", "-"): str(v) for k, v in pairs})
        info = parse_info(values["INFO"]) if "INFO" in values else None
        if info is not None:
            self._flavor = info.flavor
        return RedisSnapshot(
            whoami=whoami, info=info, acl=parse_acl_list(values.get("ACL LIST") or []),
            acl_log=parse_acl_log(values.get("ACL LOG") or []),
            slowlog=parse_slowlog(values.get("SLOWLOG GET") or []), config=config, denied=denied, errors=errors)

    def info(self, section: str | None = None) -> ServerInfo:
        """Parsed INFO (all default sections, or one `section`)."""
        args = ("INFO", section) if section else ("INFO",)
        return parse_info(self._run(lambda: self._conn().execute_command(*args)))

    @property
    def server_flavor(self) -> str:
        """`dragonfly` or `redis` (from INFO, cached)."""
        if self._flavor is None:
            self._flavor = self.info().flavor
        return self._flavor

    def acl_getuser(self, name: str) -> AclUser | None:
        """`ACL GETUSER name` as an AclUser, None when the user does not exist."""
        return acl_user_from_getuser(name, self._run(lambda: self._conn().execute_command("ACL", "GETUSER", name)))

    # ------------------------------------------------------------------ probes
    def try_auth(self, username: str | None, password: str | None) -> AuthProbe:
        """AUTH as `username` on a separate short-lived connection (never the admin one).

        With `password=None` nothing is sent and a PING shows whether the server demands
        a password (NOAUTH). A failed AUTH leaves an `auth` entry in the server's ACL LOG.
        """
        exc_mod = self._redis.exceptions
        kwargs = self._kwargs()
        if password is not None:
            kwargs.update(username=username or None, password=password)
        conn = self._redis.Connection(db=self.db, **kwargs)
        try:
            conn.connect()
            if password is None:
                conn.send_command("PING")
                conn.read_response()
            return AuthProbe(True, None, "authenticated" if password is not None else "no password required")
        except (exc_mod.AuthenticationError, exc_mod.ResponseError) as exc:
            text = redact(str(exc), [password, self.__password])
            code = classify_redis_error(text).code
            if code in ("WRONGPASS", "NOAUTH"):
                return AuthProbe(False, code, text)
            if code == "NOPERM":  # authenticated, but the user may not PING
                return AuthProbe(True, None, f"authenticated; {text}")
            return AuthProbe(False, "ERROR", text)
        except exc_mod.RedisError as exc:
            raise self._error(exc, admin=False) from None
        finally:
            conn.disconnect()

    def dryrun(self, username: str, *command: str) -> DryRun:
        """`ACL DRYRUN username command…`; unsupported/not permitted → `supported=False`."""
        exc_mod = self._redis.exceptions
        try:
            res = self._conn().execute_command("ACL", "DRYRUN", username, *command)
        except exc_mod.ResponseError as exc:
            text = redact(str(exc), [self.__password])
            low = text.lower()
            if "not found" in low and "user" in low:
                return DryRun(False, True, False, text)
            if "unknown subcommand" in low or "unknown command" in low or "syntax error" in low:
                return DryRun(None, False, True, f"server has no ACL DRYRUN ({text}); use the offline ACL parser")
            info = classify_redis_error(text)
            if info.code == "NOPERM":
                if info.noperm == "generic" or (info.command or "").startswith("acl"):
                    return DryRun(None, False, True, f"the admin identity may not run ACL DRYRUN ({text})")
                return DryRun(False, True, True, text)
            return DryRun(None, False, True, text)
        except exc_mod.RedisError as exc:
            raise self._error(exc) from None
        text = str(res)
        if text.upper() == "OK":
            return DryRun(True, True, True, "OK")
        return DryRun(False, True, True, text)
