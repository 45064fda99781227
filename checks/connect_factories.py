"""The one seam where every data source is made: `Connections` factories.

Checks, flows and panes never call a source's constructor; they ask their Connections
(`conns.redis(...)`, `conns.s3(...)`, ...). A recording Connections (checks.capture) wraps what these
return, and a replaying one (checks.replay) answers from a bundle instead; both keep these signatures.
Each factory takes exactly the arguments of the source it makes.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from checks.rustfs_iam_api import IamApiAdapter
    from checks.sources.postgres import PostgresSource
    from checks.sources.prometheus import AlertmanagerSource, PrometheusSource
    from checks.sources.redis_source import RedisSource
    from checks.sources.rustfs_admin import RustfsAdmin
    from checks.sources.s3 import S3Source


def source_class(kind: str) -> type:
    """The class a factory kind makes (imports its module; the client libraries stay lazy)."""
    if kind == "redis":
        from checks.sources.redis_source import RedisSource as cls
    elif kind == "postgres":
        from checks.sources.postgres import PostgresSource as cls
    elif kind == "s3":
        from checks.sources.s3 import S3Source as cls
    elif kind == "rustfs_admin":
        from checks.sources.rustfs_admin import RustfsAdmin as cls
    elif kind == "iam":
        from checks.rustfs_iam_api import IamApiAdapter as cls
    elif kind == "prometheus":
        from checks.sources.prometheus import PrometheusSource as cls
    elif kind == "alertmanager":
        from checks.sources.prometheus import AlertmanagerSource as cls
    elif kind == "kube":
        from checks.sources.kube import KubeSource as cls
    else:
        raise ValueError(f"unknown source kind {kind!r}")
    return cls


SOURCE_KINDS = ("kube", "redis", "postgres", "s3", "rustfs_admin", "iam", "prometheus", "alertmanager")

SHARED_KINDS = frozenset({"s3", "iam", "rustfs_admin", "prometheus", "alertmanager", "postgres"})
"""Sources made once per Connections and constructor arguments, then shared by every caller and thread: they
hold only their arguments and a thread-safe client (boto3's, or a requests Session and its pool of kept-alive
connections; PostgresSource its kept admin connections, checks.sources.postgres_keep). Making a boto3 client
costs ~5-15 ms of CPU (the GIL); an HTTP source made per call paid for a Session, its environment lookup and
a new connection on every refresh, a PostgresSource for a login (four round trips and SCRAM). A RedisSource
is made per call; the module keeps its admin client across calls (`redis_source.kept_client`)."""

_SHARED_LOCK = threading.Lock()


class SourceFactories:
    """Mixin of Connections: one factory per source kind; `make_source` is what subclasses override (a shared
    kind is asked of `make_source` once per arguments: a recording proxy it returns records every call)."""

    def make_source(self, kind: str, *args: Any, **kwargs: Any) -> Any:
        """Build the source of `kind` from its constructor arguments."""
        return source_class(kind)(*args, **kwargs)

    def _shared_source(self, kind: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        key = (kind, args, tuple(sorted(kwargs.items())))
        try:
            hash(key)
        except TypeError:
            return self.make_source(kind, *args, **kwargs)
        with _SHARED_LOCK:
            made: dict[Any, Any] = self.__dict__.setdefault("_shared_sources", {})
            source = made.get(key)
        if source is None:
            source = self.make_source(kind, *args, **kwargs)
            with _SHARED_LOCK:
                source = made.setdefault(key, source)
        return source

    def redis(self, *args: Any, **kwargs: Any) -> RedisSource:
        """A RedisSource (host, port, username, password, timeout, db, *, credential_source)."""
        return self.make_source("redis", *args, **kwargs)

    def postgres(self, *args: Any, **kwargs: Any) -> PostgresSource:
        """A PostgresSource (host, port, user, password, dbname, timeout, ...); shared (SHARED_KINDS)."""
        return self._shared_source("postgres", args, kwargs)

    def close_shared_sources(self) -> None:
        """Close what the sources keep open across refreshes: the PostgreSQL superuser connections and the Redis
        admin clients (each module keeps them; a module not loaded kept nothing)."""
        for module, close in (("checks.sources.redis_source", "close_kept_clients"),
                              ("checks.sources.postgres_keep", "close_kept")):
            loaded = sys.modules.get(module)
            if loaded is not None:
                getattr(loaded, close)()

    def s3(self, *args: Any, **kwargs: Any) -> S3Source:
        """An S3Source (endpoint_url, access_key, secret_key, region, timeout); shared (SHARED_KINDS)."""
        return self._shared_source("s3", args, kwargs)

    def rustfs_admin_client(self, *args: Any, **kwargs: Any) -> RustfsAdmin:
        """A RustfsAdmin client (endpoint_url, access_key, secret_key, region, timeout); shared (SHARED_KINDS)."""
        return self._shared_source("rustfs_admin", args, kwargs)

    def iam(self, *args: Any, **kwargs: Any) -> IamApiAdapter:
        """An IamApiAdapter, the IAM-API fallback of RustfsAdmin (same arguments); shared (SHARED_KINDS)."""
        return self._shared_source("iam", args, kwargs)

    def prometheus(self, *args: Any, **kwargs: Any) -> PrometheusSource:
        """A PrometheusSource (url, timeout, headers); shared (SHARED_KINDS)."""
        return self._shared_source("prometheus", args, kwargs)

    def alertmanager(self, *args: Any, **kwargs: Any) -> AlertmanagerSource:
        """An AlertmanagerSource (url, timeout); shared (SHARED_KINDS)."""
        return self._shared_source("alertmanager", args, kwargs)


T = TypeVar("T")
R = TypeVar("R")


def shared_read(conns: Any, key: Hashable, read: Callable[[], T]) -> T:
    """`read()`, shared by the panes and probes of one refresh through `Connections.recent` (one answer for
    everyone asking `key` within seconds); read directly for a connection object without it. Callers make
    their sources with the same arguments, so a replay finds the call whichever pane made it."""
    recent = getattr(conns, "recent", None)
    return read() if recent is None else recent(key, read)


def read_ahead(conns: Any, key: Hashable, read: Callable[[], T], run: Callable[[T], R]) -> R:
    """`run(read())`, through `Connections.ahead` (run on the last answer while `read` is made again, made
    again when that answer changed); in plain order for a connection object without it."""
    ahead = getattr(conns, "ahead", None)
    return run(read()) if ahead is None else ahead(key, read, run)  # type: ignore[no-any-return]
