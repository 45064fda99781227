"""The superuser's kept PostgreSQL connections (checks.sources.postgres_keep) against a real PostgreSQL 15:
one connection across refreshes, replaced when the server closed it, cut off when the server stops answering,
closed when unused or when the source is closed. A backend is frozen with SIGSTOP (its socket stays open, its
process never answers), as a hung server or a dropped link look to the client."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import psycopg
import pytest

from checks.errors import SourceError
from checks.sources import postgres_keep
from checks.sources.postgres import PostgresSource
from tests.servers import PgServer, pg_server  # noqa: F401

HANG_CHECK = 20.0
"""Seconds after which a call is taken to hang for ever (a check that it returns, not a speed goal)."""


def admin(srv: PgServer, timeout: float = 5) -> PostgresSource:
    return PostgresSource(srv.host, srv.port, "postgres", srv.passwords["postgres"], "postgres", timeout)


def backend(src: PostgresSource) -> int:
    """The server process behind the source's connection (asked through the source: its kept connection)."""
    return int(src._query("SELECT pg_backend_pid()")[0][0])


def sessions(srv: PgServer, wait_for: int | None = None) -> int:
    """clusterdeck's sessions on the server (waiting up to 5 s for `wait_for`: a backend ends after its
    client closed)."""
    deadline = time.monotonic() + 5
    with psycopg.connect(**srv.admin_conninfo()) as c:
        while True:
            n = int(c.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'clusterdeck'")
                    .fetchone()[0])
            if wait_for is None or n == wait_for or time.monotonic() > deadline:
                return n
            time.sleep(0.05)


def in_thread(fn: Any) -> tuple[Any, BaseException | None]:
    """fn()'s value or error; fails the test when it has not returned within HANG_CHECK seconds."""
    out: dict[str, Any] = {}

    def go() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    t = threading.Thread(target=go, daemon=True)
    t.start()
    t.join(HANG_CHECK)
    assert not t.is_alive(), f"still waiting after {HANG_CHECK:g}s: the call hangs"
    return out.get("value"), out.get("error")


def test_a_steady_refresh_asks_on_the_connection_kept(pg_server: PgServer) -> None:
    src = admin(pg_server)
    pid = backend(src)
    src.version_and_roles()
    src.databases()
    assert backend(src) == pid and src._kept.made == 1
    assert sessions(pg_server) == 1
    src.close()
    assert src._kept.idle == 0 and sessions(pg_server, wait_for=0) == 0


def test_panes_asking_at_once_get_a_connection_each_and_two_are_kept(pg_server: PgServer) -> None:
    src = admin(pg_server)
    barrier = threading.Barrier(3)

    def ask() -> None:
        src._query(lambda conn: (barrier.wait(5), "SELECT 1")[1])  # all three connected before any answers

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG_CHECK)
    assert src._kept.made == 3 and src._kept.idle == postgres_keep.KEEP == 2
    assert sessions(pg_server, wait_for=2) == 2
    src.close()


def test_a_connection_the_server_closed_is_replaced_within_the_same_call(pg_server: PgServer) -> None:
    src = admin(pg_server)
    pid = backend(src)
    with psycopg.connect(**pg_server.admin_conninfo()) as c:  # as a restart or idle_session_timeout does
        assert c.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0] is True
    sessions(pg_server, wait_for=0)
    version, roles = src.version_and_roles()
    assert version.startswith("15") and any(r.name == "postgres" for r in roles)
    assert backend(src) != pid and src._kept.made == 2
    src.close()


def test_an_error_of_the_query_is_not_asked_again(pg_server: PgServer) -> None:
    src = admin(pg_server)
    backend(src)
    with pytest.raises(SourceError) as err:
        src._query("SELECT 1/0")
    assert "division by zero" in err.value.message and src._kept.made == 1  # not retried on a new connection
    src.close()


def test_a_server_that_stops_answering_is_cut_off_and_the_next_call_recovers(pg_server: PgServer) -> None:
    src = admin(pg_server, timeout=1)
    pid = backend(src)
    os.kill(pid, signal.SIGSTOP)  # the kept connection's server process: statement_timeout cannot fire
    try:
        _, error = in_thread(src.roles)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert isinstance(error, SourceError) and error.kind == "timeout", error
    assert f"{src.address} did not answer within 1s" in error.message
    assert src._kept.idle == 0, "the connection cut off is not kept"
    assert src.roles() and src._kept.made == 2  # the server answers again: a new connection
    src.close()


def test_the_watchdog_cuts_off_any_connection_whose_server_stops_answering(pg_server: PgServer) -> None:
    """`bounded`, which try_login's SELECT 1 goes through too (a backend that hangs after the login)."""
    with psycopg.connect(host=pg_server.host, port=pg_server.port, user="app", password=pg_server.passwords["app"],
                         dbname="appdb", autocommit=True) as conn:
        assert postgres_keep.bounded(conn, 5, lambda c: c.execute("SELECT 1").fetchone()) == (1,)
        assert not conn.closed, "answered in time: the connection is left as it was"
        pid = conn.info.backend_pid
        os.kill(pid, signal.SIGSTOP)
        try:
            _, error = in_thread(lambda: postgres_keep.bounded(conn, 0.5, lambda c: c.execute("SELECT 1")))
        finally:
            os.kill(pid, signal.SIGCONT)
        assert isinstance(error, postgres_keep.QueryTimeout), error
        assert conn.broken or conn.closed


def test_connections_are_closed_past_their_age(pg_server: PgServer,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = admin(pg_server, timeout=5), admin(pg_server, timeout=6)  # other parameters: kept apart
    backend(old)
    assert old._kept.idle == 1
    monkeypatch.setattr(postgres_keep, "MAX_AGE", 0.0)
    pid = backend(new)  # any source's query closes every source's unused connections past the age
    assert old._kept.idle == 0 and new._kept.idle == 0, "a connection past the age is not kept after its query"
    assert sessions(pg_server, wait_for=0) == 0
    assert backend(new) != pid and new._kept.made == 2, "each query logs in again"
    monkeypatch.setattr(postgres_keep, "MAX_AGE", 60.0)
    backend(new)
    assert new._kept.idle == 1
    new.close()


def test_sources_of_the_same_parameters_use_the_same_connections(pg_server: PgServer) -> None:
    """Two CNPG clusters' sources reaching one server as one user (the lab's two clusters), or a source made
    again for the next refresh, ask on the connection kept before; what the errors name may differ."""
    first = admin(pg_server, timeout=7)
    pid = backend(first)
    again = PostgresSource(pg_server.host, pg_server.port, "postgres", pg_server.passwords["postgres"], "postgres",
                           7, credential_source="Secret ai-system/other-superuser")
    assert backend(again) == pid and again._kept is first._kept
    other_user = PostgresSource(pg_server.host, pg_server.port, "app", pg_server.passwords["app"], "appdb", 7)
    assert other_user._kept is not first._kept
    assert "pg-admin-pw" not in repr(first._kept.__dict__)  # the kept opener does not show the password
    first.close()


def test_one_connections_shares_one_source_per_endpoint_and_credentials(pg_server: PgServer) -> None:
    from checks.config import Config
    from checks.connect import Connections

    conns = Connections(Config())
    args = (pg_server.host, pg_server.port, "postgres", pg_server.passwords["postgres"], "postgres", 5.0)
    src = conns.postgres(*args)
    assert conns.postgres(*args) is src
    assert conns.postgres(*args[:3], "rotated", *args[4:]) is not src  # a rotated Secret: a new source
    backend(src)
    conns.close()
    assert src._kept.idle == 0 and sessions(pg_server, wait_for=0) == 0


def test_a_password_changed_on_the_server_alone_shows_once_the_connection_is_past_its_age(
        pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(**pg_server.admin_conninfo()) as c:
        c.execute("DROP ROLE IF EXISTS keeper")
        c.execute("CREATE ROLE keeper LOGIN PASSWORD 'keeper-pw' IN ROLE allowed")
    src = PostgresSource(pg_server.host, pg_server.port, "keeper", "keeper-pw", "postgres", 5)
    try:
        backend(src)
        with psycopg.connect(**pg_server.admin_conninfo()) as c:
            c.execute("ALTER ROLE keeper PASSWORD 'changed-by-hand'")
        assert src.roles(), "the connection kept was logged in before the change"
        monkeypatch.setattr(postgres_keep, "MAX_AGE", 0.0)
        with pytest.raises(SourceError) as err:
            src.roles()
        assert err.value.kind == "auth" and "keeper-pw" not in str(err.value)
    finally:
        src.close()
        with psycopg.connect(**pg_server.admin_conninfo()) as c:
            c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'keeper'")
            c.execute("DROP ROLE IF EXISTS keeper")
