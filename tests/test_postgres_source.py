"""PostgresSource against a real PostgreSQL 15 (tests/servers.py)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import psycopg
import pytest

from checks.errors import SourceError
from checks.sources.postgres import PostgresSource, classify_pg_error
from tests.servers import LOOPBACK, PgServer, closed_port, pg_server, silent_port  # noqa: F401


def admin(srv: PgServer, user: str = "postgres") -> PostgresSource:
    return PostgresSource(srv.host, srv.port, user, srv.passwords[user], "postgres", 5)


def test_server_version_and_databases(pg_server: PgServer) -> None:
    src = admin(pg_server)
    assert src.server_version().startswith("15")
    dbs = {d.name: d for d in src.databases()}
    assert dbs["appdb"].owner == "app" and dbs["appdb"].allow_connections
    assert "template0" not in dbs


def test_version_and_roles_on_one_connection(pg_server: PgServer) -> None:
    src = admin(pg_server)
    version, roles = src.version_and_roles()
    assert version == src.server_version()
    assert [r.name for r in roles] == [r.name for r in src.roles()]


def test_roles_as_superuser(pg_server: PgServer) -> None:
    roles = {r.name: r for r in admin(pg_server).roles()}
    app = roles["app"]
    assert app.can_login and not app.superuser and app.conn_limit == -1 and app.valid_until is None
    assert app.member_of == ("allowed",) and isinstance(app.xmin, int) and app.has_password is True
    assert roles["nologin"].can_login is False
    expired = roles["expired"]
    assert expired.valid_until == datetime(2001, 1, 1, tzinfo=timezone.utc) and expired.expired()
    assert roles["forever"].valid_until is None and not roles["forever"].expired()
    assert roles["limited"].conn_limit == 1
    assert roles["nopw"].has_password is False
    assert roles["postgres"].superuser
    assert set(roles["viewer"].member_of) == {"allowed", "pg_monitor"}


def test_roles_as_non_superuser_have_no_xmin(pg_server: PgServer) -> None:
    roles = {r.name: r for r in admin(pg_server, "viewer").roles()}
    assert roles["app"].xmin is None and roles["app"].has_password is None
    assert roles["app"].can_login


def test_xmin_changes_after_alter_role(pg_server: PgServer) -> None:
    src = admin(pg_server)
    before = src.role("forever").xmin
    with psycopg.connect(**pg_server.admin_conninfo()) as conn:
        conn.execute("ALTER ROLE forever PASSWORD 'forever-pw'")
    assert src.role("forever").xmin != before


def test_current_connections_and_limit(pg_server: PgServer) -> None:
    src = admin(pg_server)
    held = psycopg.connect(host=pg_server.host, port=pg_server.port, user="limited",
                           password="limited-pw", dbname="appdb")
    try:
        role = src.role("limited")
        assert role.current_connections == 1 and role.at_connection_limit
        probe = src.try_login("limited", "limited-pw", "appdb")
        assert not probe.ok and probe.code == "CNPG_CONNECTION_LIMIT"
        assert "too many connections for role" in probe.message
    finally:
        held.close()


def test_has_connect(pg_server: PgServer) -> None:
    src = admin(pg_server)
    assert src.has_connect("app", "appdb") is True
    assert src.has_connect("noconnect", "appdb") is False
    assert src.has_connect("ghost", "appdb") is None
    assert src.has_connect("app", "nodb") is None


@pytest.mark.parametrize("user,password,db,code", [
    ("app", "app-pw", "appdb", None),
    ("app", "wrong-pw", "appdb", "CNPG_PASSWORD_MISMATCH"),
    ("ghost", "whatever", "appdb", "CNPG_PASSWORD_MISMATCH"),  # missing role looks the same
    ("expired", "expired-pw", "postgres", "CNPG_PASSWORD_MISMATCH"),  # so does an expired one
    ("nopw", "x", "postgres", "CNPG_PASSWORD_MISMATCH"),  # and a NULL password
    ("nologin", "nologin-pw", "postgres", "CNPG_ROLE_NOLOGIN"),
    ("app", "app-pw", "nodb", "CNPG_DATABASE_MISSING"),
    ("nohba", "nohba-pw", "postgres", "CNPG_NO_HBA_ENTRY"),
    ("noconnect", "noconnect-pw", "appdb", "CNPG_NO_CONNECT_PRIVILEGE"),
])
def test_try_login_classification(pg_server: PgServer, user: str, password: str, db: str,
                                  code: str | None) -> None:
    probe = admin(pg_server).try_login(user, password, db)
    assert probe.ok is (code is None)
    assert probe.code == code, probe.message
    assert password not in probe.message


def test_wrong_admin_password(pg_server: PgServer) -> None:
    src = PostgresSource(pg_server.host, pg_server.port, "postgres", "bad-admin-pw", timeout=5,
                         credential_source="Secret db/cluster-superuser")
    with pytest.raises(SourceError) as err:
        src.roles()
    assert err.value.kind == "auth" and err.value.system == "postgres"
    assert "Secret db/cluster-superuser" in err.value.message
    assert "bad-admin-pw" not in str(err.value) and "bad-admin-pw" not in repr(src)


def test_statement_timeout_is_set(pg_server: PgServer) -> None:
    src = PostgresSource(pg_server.host, pg_server.port, "postgres", "pg-admin-pw", timeout=1.5)
    with pytest.raises(SourceError) as err:
        src._query("SELECT pg_sleep(5)")
    assert "statement timeout" in err.value.message


def test_closed_port_is_unreachable(closed_port: int) -> None:
    with pytest.raises(SourceError) as err:  # "unreachable", not "timeout": a refusal is not waited out
        PostgresSource(LOOPBACK, closed_port, "postgres", "pw", timeout=2).server_version()
    assert err.value.kind == "unreachable"
    with pytest.raises(SourceError) as err:
        PostgresSource(LOOPBACK, closed_port, "postgres", "pw", timeout=2).try_login("app", "pw", "x")
    assert err.value.kind == "unreachable"


def test_silent_port_times_out(silent_port: int) -> None:
    timeout = 2.0  # libpq/psycopg never wait less than 2 s
    deadline = time.monotonic() + timeout + 1
    with pytest.raises(SourceError) as err:
        PostgresSource(LOOPBACK, silent_port, "postgres", "pw", timeout=timeout).roles()
    assert err.value.kind == "timeout" and time.monotonic() < deadline


@pytest.mark.parametrize("text,code", [
    ('connection failed: connection to server at "127.0.0.1", port 55432 failed: FATAL:  '
     'password authentication failed for user "app"', "CNPG_PASSWORD_MISMATCH"),
    ('FATAL:  role "x" is not permitted to log in', "CNPG_ROLE_NOLOGIN"),
    ('FATAL:  too many connections for role "x"', "CNPG_CONNECTION_LIMIT"),
    ('FATAL:  no pg_hba.conf entry for host "10.0.0.1", user "u", database "d", no encryption', "CNPG_NO_HBA_ENTRY"),
    ('FATAL:  database "x" does not exist', "CNPG_DATABASE_MISSING"),
    ('FATAL:  permission denied for database "x"\nDETAIL:  User does not have CONNECT privilege.',
     "CNPG_NO_CONNECT_PRIVILEGE"),
    ('FATAL:  role "x" does not exist', "CNPG_ROLE_MISSING_IN_DB"),
    ("FATAL:  sorry, too many clients already", "CNPG_LOGIN_ERROR"),
    ("", "CNPG_LOGIN_ERROR"),
])
def test_classify_pg_error(text: str, code: str) -> None:
    assert classify_pg_error(text) == code
