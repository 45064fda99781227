"""CloudNativePG / PostgreSQL data source (psycopg 3, imported lazily).

psycopg gives no SQLSTATE on connection failures, so login outcomes are classified
from the message text (service-facts §2). Passwords never appear in messages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from collections.abc import Callable
from typing import Any

from checks.errors import SourceError
from checks.redact import redact, sha256_hex
from checks.sources.postgres_keep import QueryTimeout, bounded, kept_for

SYSTEM = "postgres"
WATCHDOG_MARGIN = 0.5
"""Seconds past the statement_timeout before a query's socket is shut down (postgres_keep.bounded)."""

_LOGIN_CODES = (
    ("password authentication failed", "CNPG_PASSWORD_MISMATCH"),
    ("is not permitted to log in", "CNPG_ROLE_NOLOGIN"),
    ("too many connections for role", "CNPG_CONNECTION_LIMIT"),
    ("no pg_hba.conf entry", "CNPG_NO_HBA_ENTRY"),
    ("pg_hba.conf rejects connection", "CNPG_NO_HBA_ENTRY"),
    ("permission denied for database", "CNPG_NO_CONNECT_PRIVILEGE"),
    ("does not have connect privilege", "CNPG_NO_CONNECT_PRIVILEGE"),
)


def classify_pg_error(text: object) -> str:
    """Map a PostgreSQL login error text to a CNPG_* root-cause code (CNPG_LOGIN_ERROR if unknown)."""
    low = str(text or "").lower()
    for needle, code in _LOGIN_CODES:
        if needle in low:
            return code
    if "database" in low and "does not exist" in low:
        return "CNPG_DATABASE_MISSING"
    if "role" in low and "does not exist" in low:
        return "CNPG_ROLE_MISSING_IN_DB"
    return "CNPG_LOGIN_ERROR"


def connection_failure_kind(text: object) -> str | None:
    """`unreachable` / `timeout` when the text is a transport failure, else None (a server answer)."""
    low = str(text or "").lower()
    if "timeout expired" in low or "timed out" in low:
        return "timeout"
    if any(s in low for s in ("connection refused", "could not translate host name", "no route to host",
                              "network is unreachable", "server closed the connection unexpectedly",
                              "could not connect to server", "name or service not known")):
        return "unreachable"
    return None


_TRANSPORT_REASONS = (
    ("connection refused", "refused the connection"), ("could not translate host name", "could not be resolved"),
    ("name or service not known", "could not be resolved"), ("no route to host", "has no route to it"),
    ("network is unreachable", "is on an unreachable network"),
    ("server closed the connection unexpectedly", "closed the connection unexpectedly"),
    ("timeout expired", "did not answer in time"), ("timed out", "did not answer in time"))


def transport_reason(text: object) -> str:
    """Why a connection failed, in a few words on one line (libpq's own text spans several lines)."""
    low = str(text or "").lower()
    for needle, reason in _TRANSPORT_REASONS:
        if needle in low:
            return reason
    return "could not be reached: " + " ".join(str(text or "").split())[:200]


@dataclass(frozen=True)
class PgRole:
    """A role as the database sees it."""

    name: str
    """rolname."""
    superuser: bool
    """rolsuper (superusers are exempt from the connection limit)."""
    can_login: bool
    """rolcanlogin: False means NOLOGIN."""
    valid_until: datetime | None
    """rolvaliduntil; None = never expires ('infinity' or unset); -infinity becomes year 1."""
    conn_limit: int
    """rolconnlimit; -1 = no limit."""
    current_connections: int
    """Sessions in pg_stat_activity for this role now."""
    member_of: tuple[str, ...]
    """Roles it is a member of."""
    xmin: int | None
    """pg_authid.xmin (CNPG's passwordStatus.transactionID); None unless we are superuser."""
    has_password: bool | None = None
    """pg_authid.rolpassword IS NOT NULL; None unless we are superuser."""

    def expired(self, now: datetime | None = None) -> bool:
        """True when VALID UNTIL is in the past."""
        if self.valid_until is None:
            return False
        return self.valid_until <= (now or datetime.now(timezone.utc))

    @property
    def at_connection_limit(self) -> bool:
        """Non-superuser whose sessions reached rolconnlimit."""
        return not self.superuser and self.conn_limit >= 0 and self.current_connections >= self.conn_limit


@dataclass(frozen=True)
class PgDatabase:
    """A database in pg_database."""

    name: str
    """datname."""
    owner: str
    """Owning role."""
    allow_connections: bool
    """datallowconn."""
    conn_limit: int
    """datconnlimit; -1 = no limit."""


@dataclass(frozen=True)
class LoginProbe:
    """Outcome of logging in as an application role."""

    ok: bool
    """The login (and a SELECT 1) succeeded."""
    code: str | None
    """CNPG_* code from `classify_pg_error` when not ok."""
    message: str
    """The server's text, without the password."""


_ROLE_COLS = """r.rolname, r.rolsuper, r.rolcanlogin,
  CASE WHEN r.rolvaliduntil = '-infinity' THEN '0001-01-01 00:00:00+00'::timestamptz
       WHEN isfinite(r.rolvaliduntil) THEN r.rolvaliduntil END,
  r.rolconnlimit,
  (SELECT count(*) FROM pg_stat_activity s WHERE s.usename = r.rolname)::int,
  ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
        WHERE m.member = r.oid ORDER BY 1)"""
ROLES_SQL = f"SELECT {_ROLE_COLS}, NULL::bigint, NULL::bool FROM pg_roles r ORDER BY r.rolname"
"""Roles query for a non-superuser (pg_authid is superuser-only)."""
ROLES_SQL_SUPERUSER = (f"SELECT {_ROLE_COLS}, a.xmin::text::bigint, a.rolpassword IS NOT NULL "
                       "FROM pg_roles r JOIN pg_authid a ON a.oid = r.oid ORDER BY r.rolname")
"""Roles query for a superuser: adds pg_authid.xmin and whether a password is set."""


class PostgresSource:
    """Admin access to one PostgreSQL (CNPG `<cluster>-rw`) endpoint. Its admin connections are kept between
    queries (checks.sources.postgres_keep): one Connections shares one source per endpoint and credentials."""

    system = SYSTEM

    def __init__(self, host: str, port: int, user: str, password: str | None, dbname: str = "postgres",
                 timeout: float = 5.0, *, credential_source: str = "the superuser Secret") -> None:
        import psycopg  # lazy: heavy client

        self._psycopg = psycopg
        self.host, self.port, self.user, self.dbname = host, int(port), user, dbname
        self.__password = password
        self.timeout = float(timeout)
        self.credential_source = credential_source
        # the watchdog waits a little past statement_timeout, so that a live server's own answer comes first
        key = (self.host, self.port, user, sha256_hex(password or ""), dbname, self.timeout)
        self._kept = kept_for(key, _opener(psycopg, self.host, self.port, user, password, dbname, self.timeout),
                              self.timeout + WATCHDOG_MARGIN)

    def __repr__(self) -> str:
        return f"PostgresSource({self.host}:{self.port}, user={self.user!r}, dbname={self.dbname!r})"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _connect(self, user: str, password: str | None, dbname: str) -> Any:
        return _open(self._psycopg, self.host, self.port, user, password, dbname, self.timeout)

    def _admin_error(self, exc: BaseException) -> SourceError:
        text = redact(str(exc), [self.__password])
        kind = connection_failure_kind(text)
        if kind == "timeout":
            return self._timed_out()
        if kind == "unreachable":
            return SourceError(SYSTEM, "Cannot connect", f"{self.address} {transport_reason(text)}. Is the CNPG "
                               "primary running? Try `kubectl port-forward svc/<cluster>-rw 5432`.", kind="unreachable")
        code = classify_pg_error(text)
        if code == "CNPG_PASSWORD_MISMATCH":
            return SourceError(SYSTEM, "Admin password rejected", f"credentials for '{self.user}' from "
                               f"{self.credential_source} rejected by {self.address}: {text}", kind="auth")
        if code in ("CNPG_NO_HBA_ENTRY", "CNPG_ROLE_NOLOGIN", "CNPG_NO_CONNECT_PRIVILEGE"):
            return SourceError(SYSTEM, "Login refused", f"{self.address}: {text}", kind="forbidden")
        if code == "CNPG_DATABASE_MISSING":
            return SourceError(SYSTEM, "Database missing", f"{self.address}: {text}", kind="notfound")
        if isinstance(exc, self._psycopg.errors.InsufficientPrivilege):
            return SourceError(SYSTEM, "Permission denied", f"{self.address}: {text}", kind="forbidden")
        return SourceError(SYSTEM, "PostgreSQL error", f"{self.address}: {text}")

    def _timed_out(self) -> SourceError:
        return SourceError(SYSTEM, "Timed out", f"{self.address} did not answer within {self.timeout:g}s. "
                           "Check the primary pod and the port-forward to <cluster>-rw.", kind="timeout")

    def _query(self, sql: str | Callable[[Any], str], params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement as admin, on a kept connection; `sql` may be a function choosing the text from
        the connection."""
        def work(conn: Any) -> list[tuple[Any, ...]]:
            with conn.cursor() as cur:
                cur.execute(sql(conn) if callable(sql) else sql, params)
                return list(cur.fetchall())

        try:
            return self._kept.run(work)
        except QueryTimeout:
            raise self._timed_out() from None
        except self._psycopg.Error as exc:
            raise self._admin_error(exc) from None

    def close(self) -> None:
        """Close the admin connections kept."""
        self._kept.close_idle()

    def ping(self) -> str:
        """Connect as admin and return `SHOW server_version`."""
        return self.server_version()

    def server_version(self) -> str:
        """The server's version string, e.g. `15.10 (Debian 15.10-0+deb12u1)`."""
        return str(self._query("SHOW server_version")[0][0])

    def roles(self) -> tuple[PgRole, ...]:
        """All roles in ONE query; xmin and has_password only when the admin is superuser."""

        def pick(conn: Any) -> str:
            return ROLES_SQL_SUPERUSER if conn.info.parameter_status("is_superuser") == "on" else ROLES_SQL

        return _pg_roles(self._query(pick))

    def version_and_roles(self) -> tuple[str, tuple[PgRole, ...]]:
        """`server_version()` and `roles()` on ONE connection (the version as the server reports it at login,
        the same text as `SHOW server_version`)."""
        version: list[str] = []

        def pick(conn: Any) -> str:
            reported = conn.info.parameter_status("server_version")
            if reported is None:
                with conn.cursor() as cur:
                    reported = cur.execute("SHOW server_version").fetchone()[0]
            version.append(str(reported))
            return ROLES_SQL_SUPERUSER if conn.info.parameter_status("is_superuser") == "on" else ROLES_SQL

        roles = _pg_roles(self._query(pick))
        return version[-1], roles  # (a kept connection found gone is asked again: the last one answered)

    def role(self, name: str) -> PgRole | None:
        """One role by name, or None."""
        return next((r for r in self.roles() if r.name == name), None)

    def databases(self) -> tuple[PgDatabase, ...]:
        """Databases other than templates."""
        rows = self._query("SELECT d.datname, pg_get_userbyid(d.datdba), d.datallowconn, d.datconnlimit "
                           "FROM pg_database d WHERE NOT d.datistemplate ORDER BY 1")
        return tuple(PgDatabase(r[0], r[1], bool(r[2]), int(r[3])) for r in rows)

    def has_connect(self, role: str, db: str) -> bool | None:
        """CONNECT privilege of `role` on `db`; None when the role or database does not exist."""
        rows = self._query(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s) "
            "AND EXISTS (SELECT 1 FROM pg_database WHERE datname = %s) "
            "THEN has_database_privilege(%s, %s, 'CONNECT') END", (role, db, role, db))
        return rows[0][0]

    def try_login(self, user: str, password: str | None, dbname: str | None = None) -> LoginProbe:
        """Log in as `user` with `password` (and run SELECT 1); classify a refusal.

        Transport failures (refused, timeout) raise SourceError: they say nothing about the login.
        """
        try:
            with self._connect(user, password, dbname or self.dbname) as conn:
                bounded(conn, self.timeout + WATCHDOG_MARGIN, lambda c: c.execute("SELECT 1"))
            return LoginProbe(True, None, f"logged in as {user!r} to {dbname or self.dbname!r}")
        except QueryTimeout:
            raise SourceError(SYSTEM, "Timed out", f"{self.address} did not answer in time", kind="timeout") from None
        except self._psycopg.Error as exc:
            text = redact(str(exc), [password, self.__password])
            kind = connection_failure_kind(text)
            if kind is not None:
                raise SourceError(SYSTEM, "Timed out" if kind == "timeout" else "Cannot connect",
                                  f"{self.address} {transport_reason(text)}", kind=kind) from None
            _, _, fatal = text.partition("FATAL:")
            return LoginProbe(False, classify_pg_error(text), (fatal.strip() or text).splitlines()[0])


def _opener(psycopg: Any, host: str, port: int, user: str, password: str | None, dbname: str,
            timeout: float) -> Callable[[], Any]:
    """`_open` with these arguments: not a method of the source, which may be let go while its connections are
    kept for the next source of the same parameters; a closure, whose repr does not show the password."""
    return lambda: _open(psycopg, host, port, user, password, dbname, timeout)


def _open(psycopg: Any, host: str, port: int, user: str, password: str | None, dbname: str, timeout: float) -> Any:
    """A new connection, its statements bounded by the server's statement_timeout."""
    return psycopg.connect(
        host=host, port=port, user=user, password=password or "", dbname=dbname,
        connect_timeout=max(2, math.ceil(timeout)),  # libpq/psycopg minimum is 2 s
        options=f"-c statement_timeout={int(timeout * 1000)}",
        application_name="clusterdeck", autocommit=True)


def _pg_roles(rows: list[tuple[Any, ...]]) -> tuple[PgRole, ...]:
    """PgRole records from the rows of ROLES_SQL / ROLES_SQL_SUPERUSER."""
    return tuple(PgRole(name=r[0], superuser=bool(r[1]), can_login=bool(r[2]), valid_until=r[3],
                        conn_limit=int(r[4]), current_connections=int(r[5]), member_of=tuple(r[6] or ()),
                        xmin=None if r[7] is None else int(r[7]),
                        has_password=None if r[8] is None else bool(r[8])) for r in rows)
