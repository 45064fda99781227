"""A Dragonfly-style `/metrics` exporter fed by the live Redis INFO (real Dragonfly metric names)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

DRAGONFLY_VERSION = "df-v1.36.0"

# name, type, help, INFO field
_SIMPLE = [
    ("dragonfly_uptime_in_seconds", "counter", "Server uptime", "uptime_in_seconds"),
    ("dragonfly_connected_clients", "gauge", "Number of connected clients", "connected_clients"),
    ("dragonfly_max_clients", "gauge", "Maximal number of clients", "maxclients"),
    ("dragonfly_blocked_clients", "gauge", "Number of blocked clients", "blocked_clients"),
    ("dragonfly_memory_used_bytes", "gauge", "Memory used based on malloc stats", "used_memory"),
    ("dragonfly_memory_max_bytes", "gauge", "Maximal memory the server may use", "maxmemory"),
    ("dragonfly_used_memory_rss_bytes", "gauge", "Used memory rss", "used_memory_rss"),
    ("dragonfly_commands_processed_total", "counter", "The number of commands processed",
     "total_commands_processed"),
    ("dragonfly_connections_received_total", "counter", "The number of connections received",
     "total_connections_received"),
    ("dragonfly_keyspace_hits_total", "counter", "The number of keyspace hits", "keyspace_hits"),
    ("dragonfly_keyspace_misses_total", "counter", "The number of keyspace misses", "keyspace_misses"),
    ("dragonfly_expired_keys_total", "counter", "The number of expired keys", "expired_keys"),
]


def _num(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def render(info: dict[str, Any]) -> str:
    """Prometheus text exposition of `info` (redis-py's parsed INFO ALL)."""
    out: list[str] = []

    def metric(name: str, kind: str, help_: str, samples: list[tuple[str, Any]]) -> None:
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            out.append(f"{name}{labels} {_num(value)}")

    metric("dragonfly_version", "gauge", "Dragonfly version", [(f'{{version="{DRAGONFLY_VERSION}"}}', 1)])
    metric("dragonfly_master", "gauge", "1 if master 0 if replica",
           [("", 1 if info.get("role", "master") == "master" else 0)])
    for name, kind, help_, field in _SIMPLE:
        if field in info:
            metric(name, kind, help_, [("", info[field])])
    dbs = sorted(k for k in info if k.startswith("db") and k[2:].isdigit()) or ["db0"]
    metric("dragonfly_evicted_keys_total", "counter", "Evicted keys",
           [(f'{{db="{db}"}}', info.get("evicted_keys", 0) if i == 0 else 0) for i, db in enumerate(dbs)])
    metric("dragonfly_db_keys", "gauge", "Total number of keys by DB",
           [(f'{{db="{db}"}}', (info.get(db) or {}).get("keys", 0)) for db in dbs])
    metric("dragonfly_db_keys_expiring", "gauge", "Total number of expiring keys by DB",
           [(f'{{db="{db}"}}', (info.get(db) or {}).get("expires", 0)) for db in dbs])
    lag = 0
    for key, value in info.items():
        if key.startswith("slave") and isinstance(value, dict):
            lag = max(lag, int(value.get("lag", 0)))
    metric("dragonfly_connected_replica_lag_records", "gauge", "Lag in records of a connected replica.",
           [("", lag)])
    return "\n".join(out) + "\n"


class MetricsServer:
    """GET /metrics -> the exposition; 503 while Redis cannot be reached (so `up` is 0)."""

    def __init__(self, info_source: Callable[[], dict[str, Any]], host: str = "127.0.0.1",
                 port: int = 0) -> None:
        source = info_source

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path.split("?")[0] != "/metrics":
                    self._send(404, b"not found\n", "text/plain")
                    return
                try:
                    body = render(source()).encode()
                except Exception as exc:  # Redis down or refusing: the scrape fails
                    self._send(503, f"cannot read INFO: {type(exc).__name__}\n".encode(), "text/plain")
                    return
                self._send(200, body, "text/plain; version=0.0.4")

            def _send(self, code: int, body: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="metrics", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()


def redis_info_source(host: str, port: int, username: str, password: str) -> Callable[[], dict[str, Any]]:
    import redis

    def source() -> dict[str, Any]:
        client = redis.Redis(host=host, port=port, username=username, password=password,
                             socket_timeout=3, socket_connect_timeout=3)
        try:
            info = client.info("all")
            if "maxclients" not in info:
                info["maxclients"] = int(client.config_get("maxclients").get("maxclients", 0))
            return info
        finally:
            client.close()

    return source
