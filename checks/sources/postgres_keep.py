"""The superuser's PostgreSQL connections, kept from one refresh to the next, every query under a watchdog.

A new connection costs four round trips before the query (SSLRequest, startup, two SCRAM messages) and the
SCRAM key derivation on both sides (4,096 rounds of PBKDF2: ~3 ms of our CPU, a new backend process on the
server). Through a port-forward or a VPN each round trip may take tens of milliseconds, so the CNPG pane and
the Overview, which ask every few seconds, keep their connection (`KeptConnections`): a steady refresh is
one round trip, the query.

What a kept connection must not change:
- **Time bound.** The server's `statement_timeout` stops a slow query, but not a server that stopped
  answering (a frozen process, a dropped link): the client then waits on its socket for ever. `bounded`
  shuts the socket down when the query has not answered in time, which ends the wait with an error.
- **A server that went away in between** (restart, failover, an idle connection closed by the server or a
  proxy) is not an error of this refresh: the query is asked once more on a new connection, which gives the
  right answer (the rows, or "refused the connection").
- **Credentials.** A connection is kept by the source made for one set of credentials; new credentials (a
  rotated Secret) make new connections. A connection is used for `MAX_AGE` seconds from its login, then
  closed, so a password changed on the server alone (not in the Secret) shows within a minute.

Application logins (the flows' probes) always use new connections: they test the login itself.
psycopg_pool was not used: it opens connections from worker threads of its own per pool, and bounds neither
a query on a connection nor how long an answer may take.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

MAX_AGE = 60.0
"""Seconds a connection is used from its login on; then it is closed and the next query logs in again."""
KEEP = 2
"""Unused connections kept per source (panes asking at once each get one; more are closed after use)."""


class QueryTimeout(Exception):
    """The server did not answer a query within the time allowed; its connection was shut down."""


def bounded(conn: Any, seconds: float, work: Callable[[Any], T]) -> T:
    """`work(conn)`, its socket shut down if it has not returned after `seconds` (QueryTimeout then). The
    socket is found and shut down under a lock the caller's side also takes once `work` returns, so a
    watchdog firing late never touches a socket closed (and its number reused) since."""
    fd = conn.pgconn.socket
    lock = threading.Lock()
    state = {"done": False, "fired": False}

    def fire() -> None:
        with lock:
            if state["done"]:
                return
            state["fired"] = True
            try:
                sock = socket.socket(fileno=os.dup(fd))
            except OSError:
                return
            try:
                sock.shutdown(socket.SHUT_RDWR)  # the blocked read sees the end of the stream
            except OSError:
                pass
            finally:
                sock.close()

    timer = threading.Timer(seconds, fire)
    timer.daemon = True

    def finish() -> bool:
        timer.cancel()
        with lock:
            state["done"] = True
        return state["fired"]

    timer.start()
    try:
        result = work(conn)
    except Exception:
        if finish():
            raise QueryTimeout(f"no answer within {seconds:g}s") from None
        raise
    except BaseException:
        finish()
        raise
    if finish():  # answered as the watchdog fired: the answer is good, the connection is not
        conn.close()
    return result


def _close(conn: Any) -> None:
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - closing a broken connection may fail; it is gone either way
        pass


_ALL: weakref.WeakSet[KeptConnections] = weakref.WeakSet()
_BY_KEY: weakref.WeakValueDictionary[Hashable, KeptConnections] = weakref.WeakValueDictionary()
_ALL_LOCK = threading.RLock()


def kept_for(key: Hashable, connect: Callable[[], Any], limit: float) -> KeptConnections:
    """The KeptConnections of every source made for the same connection parameters `key` (while one of them
    lives): two CNPG clusters' sources that reach one server as one user, or a source made again, use the
    connections kept before (the Overview probes a cluster with a source made for it)."""
    with _ALL_LOCK:
        kept = _BY_KEY.get(key)
        if kept is None:
            kept = _BY_KEY[key] = KeptConnections(connect, limit)
        return kept


class KeptConnections:
    """Connections made by `connect()` and kept between uses: at most KEEP unused, each for MAX_AGE seconds
    from its login."""

    def __init__(self, connect: Callable[[], Any], limit: float) -> None:
        self._connect = connect
        self.limit = float(limit)
        """Seconds one query on a connection may take before the watchdog ends it."""
        self._idle: list[tuple[float, Any]] = []
        """(when it logged in, connection), unused."""
        self._lock = threading.Lock()
        self.made = 0
        """Connections made so far (for tests and the benchmark)."""
        with _ALL_LOCK:
            _ALL.add(self)

    def run(self, work: Callable[[Any], T]) -> T:
        """`work(connection)` on a kept connection, or a new one; on a kept connection that turns out gone
        (its server restarted, or closed it while unused), once more on a new one."""
        sweep()
        kept = self._take()
        if kept is not None:
            born, conn = kept
            try:
                result = bounded(conn, self.limit, work)
            except QueryTimeout:
                _close(conn)
                raise
            except Exception:
                gone = conn.closed or conn.broken  # else the server answered: an error of the query
                _close(conn)
                if not gone:
                    raise
            else:
                self._give_back(born, conn)
                return result
        born, conn = time.monotonic(), self._connect()
        with self._lock:
            self.made += 1
        try:
            result = bounded(conn, self.limit, work)
        except BaseException:
            _close(conn)
            raise
        self._give_back(born, conn)
        return result

    def _take(self) -> tuple[float, Any] | None:
        with self._lock:
            while self._idle:
                born, conn = self._idle.pop()
                if time.monotonic() - born < MAX_AGE and not conn.closed:
                    return born, conn
                _close(conn)
        return None

    def _give_back(self, born: float, conn: Any) -> None:
        if (conn.closed or conn.broken or conn.info.transaction_status != 0  # 0: IDLE, no transaction open
                or time.monotonic() - born >= MAX_AGE):
            _close(conn)
            return
        with self._lock:
            if len(self._idle) < KEEP:
                self._idle.append((born, conn))
                return
        _close(conn)

    def close_idle(self, older_than: float = 0.0) -> None:
        """Close the unused connections (those logged in `older_than` seconds ago or more)."""
        now = time.monotonic()
        with self._lock:
            old = [c for born, c in self._idle if now - born >= older_than]
            self._idle = [(born, c) for born, c in self._idle if now - born < older_than]
        for conn in old:
            _close(conn)

    def __del__(self) -> None:  # every source of its parameters let go: close what is kept
        for _, conn in self.__dict__.get("_idle", ()):
            _close(conn)

    @property
    def idle(self) -> int:
        with self._lock:
            return len(self._idle)


def close_kept() -> None:
    """Close every source's unused connections (`Connections.close`)."""
    with _ALL_LOCK:
        kept = list(_ALL)
    for k in kept:
        k.close_idle()


def sweep() -> None:
    """Close every source's unused connections older than MAX_AGE (those of sources not asked any more too:
    made for credentials since rotated, or a port-forward since replaced)."""
    with _ALL_LOCK:
        kept = list(_ALL)
    for k in kept:
        k.close_idle(MAX_AGE)
